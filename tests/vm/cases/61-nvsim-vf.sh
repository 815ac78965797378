# vm-nvsim
# vm-timeout: 240
# The simulated NVIDIA host (tests/vm/nvsim), mode vf: the igb PF plays an A40 (10de:2235)
# whose SR-IOV VFs are the mdev parents (interface B of docs/nvidia.md). Without VFs hostdev
# names the sriov-manage step; with them it detects mdev-vf, fills the GPU with one size up to
# the type's max_instance (6 of 7 VFs for A40-8Q), re-applies nothing, changes the type in one
# apply, never touches a vGPU a process holds open, and tears down what is idle.
PF=0000:04:00.0
C=/tests/files/nvsim-a40-8q.yaml    # nvidia-558 NVIDIA A40-8Q, max_instance=6
C2=/tests/files/nvsim-a40-4q.yaml   # nvidia-557 NVIDIA A40-4Q, max_instance=12
VFS="0000:04:10.0 0000:04:10.2 0000:04:10.4 0000:04:10.6 0000:04:11.0 0000:04:11.2 0000:04:11.4"

step "modprobe nvsim mode=vf: an A40 on nvidia, no VFs yet; a vGPU manager runs"
modprobe nvsim mode=vf
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_file_eq "$PCI/$PF/vendor" 0x10de
assert_file_eq "$PCI/$PF/device" 0x2235
assert_file_eq "$PCI/$PF/sriov_numvfs" 0
TOTAL=$(cat $PCI/$PF/sriov_totalvfs)
assert_missing "$PCI/$PF/mdev_supported_types"
start_vgpu_manager

step "VFs not enabled: list-types and plan name the sriov-manage step, nothing is written"
assert_exit 0 hostdev list-types
printf '%s\n' "$OUT"
assert_match "$OUT" "^$PF +10de:2235 +nvidia +none +0/$TOTAL +0" "GPU table"
assert_contains "$OUT" "$PF supports SR-IOV ($TOTAL virtual functions) but none is enabled"
assert_contains "$OUT" "/usr/lib/nvidia/sriov-manage -e $PF"
assert_exit 3 hostdev plan -f "$C" --detailed-exitcode
assert_contains "$OUT" "not ready for vGPUs"
step "not converged (issue 20 item 2): apply exits 3 (not ready), result not-ready; status says so"
assert_exit 3 hostdev apply -f "$C" --yes
assert_contains "$OUT" "nothing to do now, but the host does not match"
assert_not_contains "$OUT" "already matches"
assert_exit 3 hostdev apply -f "$C" --yes -o json
assert_contains "$OUT" '"result": "not-ready"'
run hostdev status -f "$C" --format prometheus
assert_ne 0 "$RC" "status exit code"
assert_contains "$OUT" "hostdev_gpus_not_ready 1"
assert_file_eq "$PCI/$PF/sriov_numvfs" 0

step "sriov-manage -e (a sriov_numvfs write): 7 VFs on nvidia, each an mdev parent"
assert_write_ok "$PCI/$PF/sriov_numvfs" 7
for v in $VFS; do
    assert_eq nvidia "$(pci_driver $v)" "driver of $v"
    assert_link_name "$PCI/$v/physfn" $PF
    assert_link_name "$MDEV_BUS/$v" $v
done
V0=$MDEV_BUS/0000:04:10.0/mdev_supported_types
assert_file_eq "$V0/nvidia-558/name" "NVIDIA A40-8Q"
assert_file_eq "$V0/nvidia-558/description" "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=6"
assert_file_eq "$V0/nvidia-558/available_instances" 1
assert_exit 0 hostdev list-types
printf '%s\n' "$OUT" | grep -E 'nvidia-55[78]|GPU|mdev-vf'
assert_match "$OUT" "^$PF +7 vfs +nvidia-558 +NVIDIA A40-8Q +6 +0 +vfio-pci" "list-types table: 7 free VFs, at most 6 (max_instance) on the GPU"
assert_match "$OUT" "^$PF +10de:2235 +nvidia +mdev-vf +7/$TOTAL +0" "GPU table"

step "plan, then apply: exactly the planned UUIDs, one per VF, six (max_instance)"
plan_creates "$C" 6
assert_exit 0 hostdev apply -f "$C" --yes
printf '%s\n' "$OUT"
assert_eq "$PLANNED" "$(ls /sys/bus/mdev/devices | sort)" "mdevs on the bus"
for v in $VFS; do
    assert_file_eq "$MDEV_BUS/$v/mdev_supported_types/nvidia-558/available_instances" 0
    assert_file_eq "$MDEV_BUS/$v/mdev_supported_types/nvidia-557/available_instances" 0
done
step "the equal-size rule in the kernel: the free VF takes no other size either"
assert_write_fails ENOSPC "$MDEV_BUS/0000:04:11.4/mdev_supported_types/nvidia-557/create" "$(uuid 9)"

step "a second apply writes nothing; plan --detailed-exitcode is 0; env"
assert_converged "$C"
assert_exit 0 hostdev env -f "$C"
printf '%s\n' "$OUT"
assert_eq "MDEV_PCI_RESOURCE_NVIDIA_COM_A40_8Q=$(comma_list "$PLANNED")" "$OUT" "env"

step "sriov-manage -d is refused while vGPUs exist"
assert_write_fails EBUSY "$PCI/$PF/sriov_numvfs" 0

step "type change: one apply removes the six 8Q and creates seven 4Q"
assert_type_change "$C2" 6 7 nvidia-557

step "a process holds one 4Q open: apply back to 8Q leaves it alone, says why, creates nothing"
hold_first_mdev
assert_exit 0 hostdev plan -f "$C"
printf '%s\n' "$OUT"
assert_contains "$OUT" "in equal-size mode a GPU hosts one vGPU size"
assert_match "$OUT" "$HELD +0000:04:1[01]\.[0-6] +nvidia-557 +in use by pid $HOLD_PID \(vmtool\)" "plan: blocked"
assert_exit 1 timeout 60 hostdev apply -f "$C" --yes
assert_contains "$OUT" "in use by pid $HOLD_PID (vmtool)"
assert_contains "$OUT" "removed 6 mdev(s), created 0 mdev(s)"
assert_eq "$HELD" "$(ls /sys/bus/mdev/devices)" "mdevs left"
assert_eq 1 "$(grep -c "$HELD" "$AUDIT")" "audit lines naming the held vGPU (its creation only)"
assert_exit 1 timeout 60 hostdev teardown --yes
assert_contains "$OUT" "in use by pid $HOLD_PID"
assert_write_fails EBUSY "$PCI/$PF/sriov_numvfs" 0

step "released: teardown frees the GPU, and the VFs can be disabled"
release
assert_exit 0 timeout 60 hostdev teardown --yes
assert_eq 0 "$(mdev_count)" "mdevs after teardown"
assert_write_ok "$PCI/$PF/sriov_numvfs" 0
assert_missing "$PCI/0000:04:10.0"
kill $MGR 2>/dev/null || true
