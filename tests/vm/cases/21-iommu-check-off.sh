# vm-append: intel_iommu=off
# iommu check fails with the remedy for the intel IOMMU; bind vfio reports that the
# probe bound nothing and returns the device to e1000e.
step "iommu check fails"
assert_exit 1 hostdev iommu check
printf '%s\n' "$OUT"
assert_match "$OUT" 'iommu.kernel-enabled +FAIL' "iommu.kernel-enabled"
assert_match "$OUT" 'kernel.cmdline +FAIL' "kernel.cmdline"
assert_contains "$OUT" 'replace `intel_iommu=off` with `intel_iommu=on iommu=pt`' "remedy"
step "bind vfio: the probe binds nothing"
A=0000:00:03.0
assert_exit 1 hostdev bind vfio --yes $A
printf '%s\n%s\n' "$OUT" "$ERR"
assert_contains "$ERR" "drivers_probe of $A succeeded but bound no driver" "failure"
assert_contains "$ERR" "the IOMMU is off" "hint"
assert_eq e1000e "$(pci_driver $A)" "driver of $A after the failed bind"
assert_file_eq "$PCI/$A/driver_override" "(null)"
