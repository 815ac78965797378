# vm-nvsim
# vm-timeout: 240
# The simulated NVIDIA host (tests/vm/nvsim), mode pf: the igb PF plays a T4 (10de:1eb8) on
# the driver `nvidia`, an mdev parent with the T4's type table (interface A of docs/nvidia.md).
# hostdev detects mdev-pf despite sriov_totalvfs (the T4 trap), creates exactly the planned
# UUIDs, re-applies nothing, changes the type in one apply, never touches a vGPU a process
# holds open (group + VFIO_GROUP_GET_DEVICE_FD, as a VM), and tears down what is idle.
PF=0000:04:00.0
T=$PCI/$PF/mdev_supported_types
C=/tests/files/nvsim-t4-2q.yaml     # nvidia-231 GRID T4-2Q, max_instance=8
C2=/tests/files/nvsim-t4-4q.yaml    # nvidia-232 GRID T4-4Q, max_instance=4

step "modprobe nvsim mode=pf: the igb PF reads as a T4 on nvidia, an mdev parent"
modprobe nvsim mode=pf
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_file_eq "$PCI/$PF/vendor" 0x10de
assert_file_eq "$PCI/$PF/device" 0x1eb8
assert_file_eq "$PCI/$PF/class" 0x030200
assert_link_name "$MDEV_BUS/$PF" $PF
assert_file_eq "$T/nvidia-231/name" "GRID T4-2Q"
assert_file_eq "$T/nvidia-231/description" "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8"
assert_file_eq "$T/nvidia-231/device_api" vfio-pci
assert_file_eq "$T/nvidia-231/available_instances" 8
assert_eq 16 "$(ls $T | wc -l | tr -d ' ')" "T4 types"
step "the T4 trap: the PF advertises SR-IOV but takes no sriov_numvfs write"
assert_int_ge 1 "$(cat $PCI/$PF/sriov_totalvfs)" "sriov_totalvfs"
assert_write_fails ENOENT "$PCI/$PF/sriov_numvfs" 1

step "the kernel's equal-size rule: one 2 GB vGPU leaves only 2 GB types creatable"
U=$(uuid 1)
mdev_create $PF nvidia-231 "$U"
assert_file_eq "$T/nvidia-231/available_instances" 7
assert_file_eq "$T/nvidia-224/available_instances" 7     # GRID T4-2B4, also 2048M
assert_file_eq "$T/nvidia-232/available_instances" 0     # GRID T4-4Q, 4096M
assert_file_eq "$T/nvidia-230/available_instances" 0     # GRID T4-1Q, 1024M
assert_write_fails ENOSPC "$T/nvidia-232/create" "$(uuid 2)"
assert_link_name "/sys/bus/mdev/devices/$U/driver" nvidia-vgpu-vfio
assert_link_name "/sys/bus/mdev/devices/$U/mdev_type" nvidia-231
assert_file_eq "/sys/bus/mdev/devices/$U/nvidia/placement_id" "Not Applicable"
mdev_remove "$U"
assert_file_eq "$T/nvidia-232/available_instances" 4

step "list-types: framework mdev-pf (sriov_totalvfs does not decide)"
assert_exit 0 hostdev list-types
printf '%s\n' "$OUT" | grep -E 'nvidia-23[12]|GPU|mdev-pf'
assert_match "$OUT" "^$PF +pci +nvidia-231 +GRID T4-2Q +8 +0 +vfio-pci +num_heads=4" "list-types table"
assert_match "$OUT" "^$PF +10de:1eb8 +nvidia +mdev-pf " "GPU table"
assert_exit 0 hostdev list-types -o json
assert_contains "$OUT" '"framework": "mdev-pf"'

step "plan, then apply creates exactly the planned UUIDs"
plan_creates "$C" 8
assert_exit 0 hostdev apply -f "$C" --yes
printf '%s\n' "$OUT"
assert_eq "$PLANNED" "$(ls /sys/bus/mdev/devices | sort)" "mdevs on the bus"
assert_mdev_types nvidia-231
assert_file_eq "$T/nvidia-231/available_instances" 0
assert_eq 8 "$(grep -c '"result":"ok"' "$AUDIT")" "audit lines"

step "a second apply writes nothing; plan --detailed-exitcode is 0"
assert_converged "$C"

step "env: MDEV_PCI_RESOURCE_ with the UUIDs"
assert_exit 0 hostdev env -f "$C"
printf '%s\n' "$OUT"
assert_eq "MDEV_PCI_RESOURCE_NVIDIA_COM_T4_2Q=$(comma_list "$PLANNED")" "$OUT" "env"

step "type change: one apply removes the eight 2Q and creates four 4Q"
assert_type_change "$C2" 8 4 nvidia-232

step "a process holds one 4Q open as a VM would: apply back to 2Q leaves it alone and creates no 2Q"
hold_first_mdev
assert_exit 0 hostdev plan -f "$C"
assert_match "$OUT" "$HELD +$PF +nvidia-232 +in use by pid $HOLD_PID \(vmtool\)" "plan: blocked"
assert_exit 1 timeout 60 hostdev apply -f "$C" --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$OUT" "$HELD (nvidia-232 on $PF): in use by pid $HOLD_PID (vmtool)"
assert_contains "$OUT" "removed 3 mdev(s), created 0 mdev(s)"
assert_eq "$HELD" "$(ls /sys/bus/mdev/devices)" "mdevs left"
grep "$HELD" "$AUDIT"
assert_eq 1 "$(grep -c "$HELD" "$AUDIT")" "audit lines naming the held vGPU (its creation only)"
assert_exit 1 timeout 60 hostdev teardown --yes
assert_contains "$OUT" "in use by pid $HOLD_PID"
assert_exists "/sys/bus/mdev/devices/$HELD"

step "released: teardown frees the GPU"
release
assert_exit 0 timeout 60 hostdev teardown --yes
assert_eq 0 "$(mdev_count)" "mdevs after teardown"
assert_file_eq "$T/nvidia-230/available_instances" 16
