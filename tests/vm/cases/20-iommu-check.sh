# hostdev iommu check passes in the normal VM (intel-iommu with interrupt remapping).
step "iommu check"
assert_exit 0 hostdev iommu check
printf '%s\n' "$OUT"
assert_match "$OUT" 'iommu.kernel-enabled +PASS' "iommu.kernel-enabled"
assert_match "$OUT" 'iommu.interrupt-remapping +PASS' "interrupt remapping (ecap bit 3)"
assert_match "$OUT" 'vfio.modules +PASS' "vfio modules"
assert_exit 0 hostdev iommu check -o json
assert_contains "$OUT" '"schema": "hostdev/v1"'
step "iommu groups: the bridge group is not viable"
assert_exit 0 hostdev iommu groups --device 03:01.0
printf '%s\n' "$OUT"
assert_match "$OUT" 'no +0000:02:00.0' "shared group not viable"
