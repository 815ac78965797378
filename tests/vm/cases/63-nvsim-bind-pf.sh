# vm-nvsim
# vm-timeout: 240
# Never unbind an mdev parent that carries mdevs (issue 20 item 1), on a real kernel: nvsim
# mode=pf plays a T4 on `nvidia`. With a vGPU on it — idle, then held open as a VM holds it —
# `bind vfio PF` is refused (exit 1) naming the mdev and the holder, and nothing moves: the PF
# stays on nvidia, the vGPU stays. `--from-config` skips it with a warning; before any vGPU
# exists (after a reboot), the configuration alone keeps it from being bound.
PF=0000:04:00.0
T=$PCI/$PF/mdev_supported_types
C=/tests/files/nvsim-bind-tree.yaml

step "modprobe nvsim mode=pf: a T4 on nvidia; no vGPU yet"
modprobe nvsim mode=pf
start_vgpu_manager
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"

step "no vGPU yet, as after a reboot: the configuration gives the T4 vGPUs, so --from-config leaves it"
assert_exit 0 hostdev bind vfio -f "$C" --from-config --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$ERR" "not binding $PF to vfio-pci: $PF (10de:1eb8) is permitted for passthrough by pciHostDevices, but the node's mediatedDevicesConfiguration gives it vGPUs (nvidia-231 offered there)"
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_exit 0 hostdev plan -f "$C"
assert_contains "$ERR" "is permitted for passthrough by pciHostDevices"

step "a vGPU on the T4: bind vfio is refused, nothing is written"
U=$(uuid 1)
mdev_create $PF nvidia-231 "$U"
assert_exit 1 timeout 20 hostdev bind vfio --yes $PF
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$ERR" "refusing to bind $PF to vfio-pci: it is the parent of 1 mdev(s): $U (GRID T4-2Q)"
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_exists "/sys/bus/mdev/devices/$U"
assert_not_contains "$(cat $AUDIT 2>/dev/null)" "vfio.unbind"

step "the vGPU held open as a VM holds it: refused, naming the holder; --from-config skips it"
vfio_hold "/sys/bus/mdev/devices/$U" "$U"
assert_exit 1 timeout 20 hostdev bind vfio --yes $PF
assert_contains "$ERR" "$U (GRID T4-2Q, held by pid $HOLD_PID (vmtool))"
assert_exit 0 timeout 20 hostdev bind vfio -f "$C" --from-config --yes
assert_contains "$ERR" "not binding $PF to vfio-pci: it is the parent of 1 mdev(s)"
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_exists "/sys/bus/mdev/devices/$U"
release

step "the vGPU removed: the T4 named on the command line can be bound (dry run)"
mdev_remove "$U"
assert_exit 0 hostdev bind vfio --dry-run $PF
assert_contains "$OUT" "echo $PF > /sys/bus/pci/devices/$PF/driver/unbind"
kill $MGR 2>/dev/null || true
