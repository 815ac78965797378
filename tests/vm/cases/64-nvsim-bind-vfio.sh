# vm-nvsim
# vm-timeout: 240
# Never unbind an SR-IOV PF whose VFs are enabled (issue 20 item 1), on a real kernel: nvsim
# mode=vfio plays an L40S on `nvidia` (vendor-specific VFIO). With a vGPU type on a VF held by a
# process as a VM holds it, `bind vfio PF` used to unbind the PF (blocked in the kernel, the VF's
# type lost, the PF left on no driver); now it is refused at once, exit 1, naming the VF, its
# type and the holder, and the PF, its VFs and the type stay. Idle VFs are VFs all the same.
PF=0000:04:00.0
V0=0000:04:10.0
C=/tests/files/nvsim-bind-tree.yaml

step "modprobe nvsim mode=vfio; 2 VFs; type 1152 (L40S-8Q) on $V0, held open"
modprobe nvsim mode=vfio
start_vgpu_manager
assert_write_ok "$PCI/$PF/sriov_numvfs" 2
assert_write_ok "$PCI/$V0/nvidia/current_vgpu_type" 1152
vfio_hold "$PCI/$V0" "$V0"

step "hostdev tree shows the PF, its VFs, the vGPU type and the holder (issue 21 item 9)"
assert_exit 0 hostdev tree $PF
printf '%s\n' "$OUT"
assert_match "$OUT" "^$PF +10de:26b9, GPU, vendor-vfio, 2 VFs +nvidia " "the PF's line"
assert_match "$OUT" "^├─$V0 +10de:26b9, vGPU 1152 \(NVIDIA L40S-8Q\) +nvidia +[0-9]+ +pid $HOLD_PID \(vmtool\)" "the held VF"
assert_match "$OUT" "^└─0000:04:10.2 " "the idle VF"

step "bind vfio PF: refused within seconds, naming the VF, its vGPU type and the holder"
assert_exit 1 timeout 20 hostdev bind vfio --yes $PF
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$ERR" "it is an SR-IOV physical function with 2 virtual function(s) enabled: $V0 (vGPU type 1152, held by pid $HOLD_PID (vmtool)), 1 idle"
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_file_eq "$PCI/$PF/sriov_numvfs" 2
assert_file_eq "$PCI/$V0/nvidia/current_vgpu_type" 1152
assert_not_contains "$(cat $AUDIT 2>/dev/null)" "vfio.unbind"

step "--from-config (the boot unit's first step): the PF is skipped with a warning, its VFs are left as they are"
assert_exit 0 timeout 20 hostdev bind vfio -f "$C" --from-config --yes
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$ERR" "not binding $PF to vfio-pci: it is an SR-IOV physical function with 2 virtual function(s) enabled"
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"
assert_eq nvidia "$(pci_driver $V0)" "driver of $V0"
assert_file_eq "$PCI/$V0/nvidia/current_vgpu_type" 1152

step "released and the type cleared: the idle VFs still keep the PF from being unbound"
release
assert_write_ok "$PCI/$V0/nvidia/current_vgpu_type" 0
assert_exit 1 timeout 20 hostdev bind vfio --yes $PF
assert_contains "$ERR" "2 virtual function(s) enabled: 2 idle"
assert_eq nvidia "$(pci_driver $PF)" "driver of $PF"

step "VFs disabled: the PF named on the command line can be bound (dry run)"
assert_write_ok "$PCI/$PF/sriov_numvfs" 0
assert_exit 0 hostdev bind vfio --dry-run $PF
assert_contains "$OUT" "echo $PF > /sys/bus/pci/devices/$PF/driver/unbind"
kill $MGR 2>/dev/null || true
