# vm-nvsim
# vm-timeout: 240
# The simulated NVIDIA host (tests/vm/nvsim), mode vfio: the igb PF plays an L40S (10de:26b9)
# on NVIDIA's vendor-specific VFIO (interface C of docs/nvidia.md): no mdev; each VF has
# nvidia/creatable_vgpu_types and nvidia/current_vgpu_type and is a vfio device on `nvidia`.
# hostdev detects vendor-vfio, sets one type per GPU up to capacity, re-applies nothing,
# changes the type in one apply (the full card's type is named by nobody: cleared because the
# configuration names IDs), never touches a VF a process holds open, and tears down.
PF=0000:04:00.0
C=/tests/files/nvsim-l40s-8q.yaml    # NVIDIA L40S-8Q (1152), at most 6 per GPU
C2=/tests/files/nvsim-l40s-4q.yaml   # "1150" (L40S-4Q), at most 12 per GPU
C3=/tests/files/nvsim-l40s-8q-id.yaml  # "1152"
VFS="0000:04:10.0 0000:04:10.2 0000:04:10.4 0000:04:10.6 0000:04:11.0 0000:04:11.2 0000:04:11.4"
V0=0000:04:10.0; V6=0000:04:11.4
HEADER="ID    : vGPU Name"

step "modprobe nvsim mode=vfio: an L40S on nvidia, no VFs yet, no mdev anywhere"
modprobe nvsim mode=vfio
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_file_eq "$PCI/$PF/device" 0x26b9
TOTAL=$(cat $PCI/$PF/sriov_totalvfs)
start_vgpu_manager
assert_exit 0 hostdev list-types
assert_match "$OUT" "^$PF +10de:26b9 +nvidia +none +0/$TOTAL +0" "GPU table"
assert_contains "$OUT" "/usr/lib/nvidia/sriov-manage -e $PF"

step "sriov-manage -e: 7 VFs on nvidia with nvidia/ and a vfio registration each"
assert_write_ok "$PCI/$PF/sriov_numvfs" 7
for v in $VFS; do
    assert_eq nvidia "$(pci_driver $v)" "driver of $v"
    assert_file_eq "$PCI/$v/nvidia/current_vgpu_type" 0
    assert_exists "$PCI/$v/vfio-dev"
    assert_exists "/dev/vfio/$(iommu_group $PCI/$v)"
done
assert_eq 0 "$(ls $MDEV_BUS 2>/dev/null | wc -l | tr -d ' ')" "mdev parents"
assert_eq "$HEADER" "$(head -1 $PCI/$V0/nvidia/creatable_vgpu_types)" "creatable_vgpu_types header"
assert_contains "$(cat $PCI/$V0/nvidia/creatable_vgpu_types)" "1152  : NVIDIA L40S-8Q"
assert_eq 15 "$(wc -l < $PCI/$V0/nvidia/creatable_vgpu_types | tr -d ' ')" "header + 14 types"
assert_file_eq "$PCI/$V0/nvidia/placement_id" "Not Applicable"
assert_exit 0 hostdev list-types
printf '%s\n' "$OUT" | grep -E '1152|GPU|vendor-vfio'
assert_match "$OUT" "^$PF +vendor-vfio +1152 +NVIDIA L40S-8Q +6 +0 " "list-types table: at most 6 8Q on a 48 GB GPU"
assert_match "$OUT" "^$PF +10de:26b9 +nvidia +vendor-vfio +7/$TOTAL +0" "GPU table"

step "the driver's rules: a non-creatable ID is EINVAL, an assigned VF must be freed first"
assert_write_ok "$PCI/$V0/nvidia/current_vgpu_type" 1156            # L40S-48Q: the whole GPU
assert_eq "$HEADER" "$(cat $PCI/$V6/nvidia/creatable_vgpu_types)" "a full card lists only the header"
assert_write_fails EINVAL "$PCI/$V6/nvidia/current_vgpu_type" 1145
assert_write_fails EBUSY "$PCI/$V0/nvidia/current_vgpu_type" 1152
assert_write_ok "$PCI/$V0/nvidia/current_vgpu_type" 0
assert_eq 15 "$(wc -l < $PCI/$V6/nvidia/creatable_vgpu_types | tr -d ' ')" "freed: every type again"

step "plan, then apply sets 1152 on free VFs until the type is no longer creatable (6)"
assert_exit 2 hostdev plan -f "$C" --detailed-exitcode
printf '%s\n' "$OUT"
assert_match "$OUT" "$PF \(7 VFs, vendor-vfio\) +1152 +NVIDIA L40S-8Q +0 +0 +<=6 +create" "plan"
assert_exit 0 hostdev apply -f "$C" --yes
printf '%s\n' "$OUT"
assert_contains "$OUT" "set the vGPU type of 6 VF(s)"
assert_not_contains "$OUT" "capacity reached on $PF"   # the plan sets exactly what fits (6 8Q on 48 GB)
SET=""
for v in $VFS; do [ "$(cat $PCI/$v/nvidia/current_vgpu_type)" = 1152 ] && SET="$SET $v"; done
assert_eq " 0000:04:10.0 0000:04:10.2 0000:04:10.4 0000:04:10.6 0000:04:11.0 0000:04:11.2" "$SET" "VFs set to 1152"
assert_file_eq "$PCI/$V6/nvidia/current_vgpu_type" 0
assert_eq "$HEADER" "$(cat $PCI/$V6/nvidia/creatable_vgpu_types)" "the full card's free VF"

step "a second apply writes nothing; plan --detailed-exitcode is 0; env gives PCI_RESOURCE_"
assert_converged "$C"
printf '%s\n' "$OUT"
assert_exit 0 hostdev env -f "$C"
printf '%s\n' "$OUT"
assert_eq "PCI_RESOURCE_NVIDIA_COM_L40S=$(echo $SET | tr ' ' ',')" "$OUT" "env"
assert_write_fails EBUSY "$PCI/$PF/sriov_numvfs" 0

step "type change to \"1150\": one apply clears the six 1152 and sets 1150 on all seven VFs"
assert_exit 0 hostdev apply -f "$C2" --yes
printf '%s\n' "$OUT"
for v in $VFS; do assert_file_eq "$PCI/$v/nvidia/current_vgpu_type" 1150; done
assert_exit 0 hostdev plan -f "$C2" --detailed-exitcode

step "the full card's type has no name: a configuration by name keeps it, and says why"
assert_exit 0 hostdev plan -f "$C" --detailed-exitcode
printf '%s\n' "$OUT"
assert_contains "$OUT" "vGPU type 1150 cannot be named from sysfs"

step "a process holds a VF open as a VM does: apply back to 8Q (by ID) and teardown leave it alone"
vfio_hold "$PCI/$V0" "$V0"
assert_write_fails EBUSY "$PCI/$V0/nvidia/current_vgpu_type" 0
assert_exit 1 timeout 60 hostdev apply -f "$C3" --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$OUT" "in use by pid $HOLD_PID (vmtool)"
assert_file_eq "$PCI/$V0/nvidia/current_vgpu_type" 1150
assert_file_eq "$PCI/$V6/nvidia/current_vgpu_type" 0
assert_exit 1 timeout 60 hostdev teardown --yes
assert_contains "$OUT" "in use by pid $HOLD_PID"
assert_file_eq "$PCI/$V0/nvidia/current_vgpu_type" 1150

step "released: teardown clears every VF hostdev configured; the VFs can be disabled"
release
assert_exit 0 timeout 60 hostdev teardown --yes
printf '%s\n' "$OUT"
for v in $VFS; do assert_file_eq "$PCI/$v/nvidia/current_vgpu_type" 0; done
assert_write_ok "$PCI/$PF/sriov_numvfs" 0
kill $MGR 2>/dev/null || true
