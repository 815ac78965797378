# vm-nvsim
# vm-timeout: 240
# hostdev capture on the simulated NVIDIA host (tests/vm/nvsim), mode vf (issue 22 item 6):
# an A40 whose SR-IOV VFs are mdev parents, a vGPU manager running, six vGPUs created by
# apply and one held open. Captured, the host plans (its own configuration and another),
# lists its types and tree, and reports its status the same under --root as live.
PF=0000:04:00.0
C=/tests/files/nvsim-a40-8q.yaml    # nvidia-558 NVIDIA A40-8Q, max_instance=6
C2=/tests/files/nvsim-a40-4q.yaml   # nvidia-557 NVIDIA A40-4Q, max_instance=12

step "an A40 with 7 VFs, six A40-8Q vGPUs, one held open"
modprobe nvsim mode=vf
start_vgpu_manager
assert_write_ok "$PCI/$PF/sriov_numvfs" 7
assert_exit 0 hostdev apply -f "$C" --yes
assert_eq 6 "$(mdev_count)" "mdevs"
HELD=$(first_mdev)
G=$(iommu_group "/sys/bus/mdev/devices/$HELD")
hold_open "/dev/vfio/$G"

step "capture --out DIR"
assert_exit 0 hostdev capture --out /tmp/cap
assert_exists "/tmp/cap/sys/bus/pci/devices/0000:04:10.0/physfn"
assert_exists "/tmp/cap/sys/class/mdev_bus/0000:04:10.0/mdev_supported_types/nvidia-558/description"
assert_exists "/tmp/cap/proc/$MGR/comm"
DANGLING=$(find /tmp/cap -type l ! -path '/tmp/cap/proc/*' ! -exec test -e {} \; -print)
assert_eq "" "$DANGLING" "sysfs links that do not resolve inside the capture"

step "the same output live and on the capture"
same_on /tmp/cap plan -f "$C"
same_on /tmp/cap plan -f "$C2" -o json
same_on /tmp/cap list-types
same_on /tmp/cap list-types -o json
same_on /tmp/cap tree
same_on /tmp/cap iommu groups
same_on /tmp/cap status -f "$C"
same_on /tmp/cap devices -f "$C"
assert_exit 0 hostdev --root /tmp/cap tree
printf '%s\n' "$OUT"
assert_contains "$OUT" "pid $HOLD_PID (vmtool)"

step "cleanup"
release
assert_exit 0 timeout 60 hostdev teardown --yes
assert_write_ok "$PCI/$PF/sriov_numvfs" 0
kill $MGR 2>/dev/null || true
