# vm-igb
# vm-qemu
# vm-timeout: 300
# The user's last step: a VM (QEMU inside the guest, TCG) starts with the devices hostdev
# configured -- an mtty mdev by the UUID `hostdev env` hands out, an e1000e and an igb VF
# bound by `hostdev bind vfio` -- and realises them. While it runs, apply with a
# configuration that drops mtty-2 and teardown report the devices in use by QEMU's pid and
# leave them alone (exit 1, no hang); after QEMU exits both succeed.
C=/tests/files/consume.yaml
D=/tests/files/consume-drop.yaml
NIC=0000:00:03.0; PF=0000:04:00.0; VF=0000:04:10.0

step "the administrator enables one VF; hostdev binds the NIC and the VF, creates the mdevs"
assert_write_ok "$PCI/$PF/sriov_numvfs" 1
assert_exit 0 hostdev bind vfio --yes $NIC $VF
assert_exit 0 hostdev apply -f "$C" --yes
assert_eq 12 "$(mdev_count)" "mtty-2 mdevs"
hostdev env -f "$C" --format shell >/tmp/env.sh
. /tmp/env.sh
assert_eq "$NIC" "$PCI_RESOURCE_INTEL_COM_E1000E" "PCI_RESOURCE_INTEL_COM_E1000E"
assert_eq "$VF" "$PCI_RESOURCE_INTEL_COM_IGB_VF" "PCI_RESOURCE_INTEL_COM_IGB_VF"
U=${MDEV_PCI_RESOURCE_EXAMPLE_COM_MTTY%%,*}
assert_match "$U" '^[0-9a-f-]{36}$' "first UUID of MDEV_PCI_RESOURCE_EXAMPLE_COM_MTTY"
GM=$(iommu_group "/sys/bus/mdev/devices/$U"); GN=$(iommu_group "$PCI/$NIC"); GV=$(iommu_group "$PCI/$VF")

step "QEMU starts with the mdev, the NIC and the VF and realises all three"
qemu_start -device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$U,id=mdev0" \
    -device "vfio-pci,host=$PCI_RESOURCE_INTEL_COM_E1000E,id=nic0,romfile=" \
    -device "vfio-pci,host=$PCI_RESOURCE_INTEL_COM_IGB_VF,id=vf0,romfile="
qemu_info_pci 'id "vf0"'
assert_match "$INFO" 'PCI device 4348:3253' "info pci: the mtty mdev"
assert_match "$INFO" 'PCI device 8086:10d3' "info pci: the e1000e"
assert_match "$INFO" 'PCI device 8086:10ca' "info pci: the igb VF"
for id in mdev0 nic0 vf0; do assert_contains "$INFO" "id \"$id\"" "info pci"; done
qemu_fds
for p in /dev/vfio/vfio /dev/vfio/$GM /dev/vfio/$GN /dev/vfio/$GV; do
    assert_contains "$FDS" "$p" "QEMU's open files"
done
assert_contains "$FDS" "anon_inode:[vfio-device]" "QEMU's open files"

step "while QEMU runs: apply without mtty-2 reports the mdev in use by QEMU and removes nothing of it"
assert_exit 1 timeout 60 hostdev apply -f "$D" --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$OUT" "$U"
assert_contains "$OUT" "in use by pid $QEMU_PID (qemu-system-x86"
assert_exists "/sys/bus/mdev/devices/$U"

step "while QEMU runs: teardown leaves the mdev, the NIC and the VF alone, exit 1"
assert_exit 1 timeout 60 hostdev teardown --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$OUT" "in use by pid $QEMU_PID (qemu-system-x86"
assert_contains "$OUT" "$NIC"
assert_contains "$OUT" "$VF"
assert_exists "/sys/bus/mdev/devices/$U"
assert_eq vfio-pci "$(pci_driver $NIC)" "driver of $NIC"
assert_eq vfio-pci "$(pci_driver $VF)" "driver of $VF"
kill -0 $QEMU_PID || fail "QEMU died"
qemu_monitor "info pci" 'id "vf0"'
note "ok: QEMU still answers and still has its devices"

step "QEMU exits: apply and teardown now succeed"
qemu_quit
assert_exit 0 timeout 60 hostdev apply -f "$D" --yes
assert_missing "/sys/bus/mdev/devices/$U"
assert_exit 0 timeout 60 hostdev teardown --yes
printf '%s\n' "$OUT"
assert_eq 0 "$(mdev_count)" "mdevs after teardown"
assert_eq e1000e "$(pci_driver $NIC)" "driver of $NIC"
assert_eq igbvf "$(pci_driver $VF)" "driver of $VF"
assert_file_eq "$PCI/$PF/sriov_numvfs" 1
