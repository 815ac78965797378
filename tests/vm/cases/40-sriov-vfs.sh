# vm-igb
# SR-IOV on real virtual functions: QEMU's igb (PF 8086:10c9 at 04:00.0, 7 VFs possible,
# VFs 8086:10ca at offset 128 stride 2: 04:10.0, 04:10.2, ...). hostdev never writes
# sriov_numvfs: a VF that is not enabled is reported with the PF and the exact write.
PF=0000:04:00.0; VF0=0000:04:10.0; VF1=0000:04:10.2
step "the PF: igb, 7 VFs possible, none enabled"
assert_eq igb "$(pci_driver $PF)" "driver of $PF"
assert_file_eq "$PCI/$PF/device" 0x10c9
assert_file_eq "$PCI/$PF/sriov_totalvfs" 7
assert_file_eq "$PCI/$PF/sriov_numvfs" 0
assert_file_eq "$PCI/$PF/sriov_offset" 128
assert_file_eq "$PCI/$PF/sriov_stride" 2
assert_missing "$PCI/$VF0"

step "bind vfio of a VF whose PF has sriov_numvfs=0: reported with the remedy, nothing written"
assert_exit 66 hostdev bind vfio --yes 04:10.0
printf '%s\n' "$ERR"
assert_contains "$ERR" "no PCI device $VF0"
assert_contains "$ERR" "virtual function 0 (virtfn0) of the SR-IOV PF $PF (8086:10c9, driver igb), which has 0 of 7 VFs enabled"
assert_contains "$ERR" "echo 1 > /sys/bus/pci/devices/$PF/sriov_numvfs"
assert_contains "$ERR" "bind vfio\` never changes sriov_numvfs"
assert_exit 66 hostdev bind vfio --yes 8086:10ca
assert_contains "$ERR" "no PCI device matches 8086:10ca"
assert_contains "$ERR" "SR-IOV PF $PF (8086:10c9, driver igb), which has 0 of 7 VFs enabled"
assert_file_eq "$PCI/$PF/sriov_numvfs" 0
assert_exit 0 hostdev iommu groups --device $PF
printf '%s\n' "$OUT"
assert_match "$OUT" "$PF +8086:10c9 +0200 +igb \(host driver\); SR-IOV PF, 0 of 7 VFs enabled"

step "the administrator enables 2 VFs: igbvf, physfn/virtfn links, one IOMMU group each"
assert_write_ok "$PCI/$PF/sriov_numvfs" 2
assert_link_name "$PCI/$PF/virtfn0" $VF0
assert_link_name "$PCI/$PF/virtfn1" $VF1
for v in $VF0 $VF1; do
    assert_link_name "$PCI/$v/physfn" $PF
    assert_file_eq "$PCI/$v/device" 0x10ca
    assert_eq igbvf "$(pci_driver $v)" "driver of $v"
done
G0=$(iommu_group "$PCI/$VF0"); G1=$(iommu_group "$PCI/$VF1"); GP=$(iommu_group "$PCI/$PF")
assert_ne "$GP" "$G0" "group of $VF0"
assert_ne "$G0" "$G1" "group of $VF1"
assert_eq "$VF0" "$(ls /sys/kernel/iommu_groups/$G0/devices)" "members of group $G0"

step "iommu groups shows the VFs under their PF"
assert_exit 0 hostdev iommu groups
printf '%s\n' "$OUT"
assert_match "$OUT" "$PF +8086:10c9 +0200 +igb \(host driver\); SR-IOV PF, 2 of 7 VFs enabled"
assert_match "$OUT" "$VF0 +8086:10ca +0200 +igbvf \(host driver\); VF of $PF"
assert_match "$OUT" "$VF1 +8086:10ca +0200 +igbvf \(host driver\); VF of $PF"
assert_eq "$PF $VF0 $VF1" "$(printf '%s\n' "$OUT" | awk '{for (i = 1; i < NF; i++) if ($i ~ /^0000:04:/ && $(i+1) ~ /^8086:/) print $i}' | tr '\n' ' ' | sed 's/ $//')" "order: the PF, then its VFs"
assert_exit 0 hostdev iommu groups -o json
assert_contains "$OUT" "\"physfn\": \"$PF\""
assert_contains "$OUT" '"sriov_totalvfs": 7'
assert_contains "$OUT" '"sriov_numvfs": 2'
step "list-types: a NIC's VFs are no mdev parents"
assert_exit 0 hostdev list-types
assert_not_contains "$OUT" "0000:04:"

step "bind vfio of one VF"
assert_exit 0 hostdev bind vfio --yes 04:10.0
printf '%s\n' "$OUT"
assert_eq vfio-pci "$(pci_driver $VF0)" "driver of $VF0"
assert_eq igbvf "$(pci_driver $VF1)" "driver of $VF1"
assert_eq igb "$(pci_driver $PF)" "driver of $PF"
assert_exists "/dev/vfio/$G0"
assert_contains "$(cat /run/hostdev/state.json)" '"original_driver": "igbvf"' "state file"
step "teardown --vfio returns it to igbvf; sriov_numvfs untouched"
assert_exit 0 hostdev teardown --vfio --yes
assert_eq igbvf "$(pci_driver $VF0)" "driver of $VF0"
assert_missing "/dev/vfio/$G0"
assert_file_eq "$PCI/$PF/sriov_numvfs" 2

step "bind vfio of two VFs at once (by vendor:device)"
assert_exit 0 hostdev bind vfio --yes 8086:10ca
printf '%s\n' "$OUT"
assert_eq vfio-pci "$(pci_driver $VF0)" "driver of $VF0"
assert_eq vfio-pci "$(pci_driver $VF1)" "driver of $VF1"
assert_exists "/dev/vfio/$G0"
assert_exists "/dev/vfio/$G1"
assert_exit 0 hostdev bind vfio --yes $VF0 $VF1
assert_contains "$OUT" "already-bound"
step "teardown --vfio restores both to igbvf"
assert_exit 0 hostdev teardown --vfio --yes
printf '%s\n' "$OUT"
assert_eq igbvf "$(pci_driver $VF0)" "driver of $VF0"
assert_eq igbvf "$(pci_driver $VF1)" "driver of $VF1"
assert_missing "/dev/vfio/$G1"
assert_file_eq "$PCI/$PF/sriov_numvfs" 2

step "VFs disabled again: the second VF is reported with the count that brings it back"
assert_write_ok "$PCI/$PF/sriov_numvfs" 0
assert_missing "$PCI/$VF1"
assert_exit 66 hostdev bind vfio --yes 04:10.2
assert_contains "$ERR" "virtual function 1 (virtfn1) of the SR-IOV PF $PF"
assert_contains "$ERR" "echo 2 > /sys/bus/pci/devices/$PF/sriov_numvfs"
