# vm-append: intel_iommu=off
# Kernel facts with the IOMMU switched off on the command line (the intel-iommu device
# is still there): no IOMMU groups; driver_override + drivers_probe to vfio-pci
# "succeeds" but binds nothing; mdevs can still be created and get an (emulated) group.
step "no IOMMU groups"
assert_contains "$(cat /proc/cmdline)" "intel_iommu=off" "/proc/cmdline"
assert_eq "" "$(ls /sys/kernel/iommu_groups)" "/sys/kernel/iommu_groups"
assert_eq "" "$(ls /sys/class/iommu)" "/sys/class/iommu"
assert_missing "$PCI/0000:00:03.0/iommu_group"
assert_exists /dev/vfio/vfio
step "vfio-pci binds nothing"
A=0000:00:03.0
rebind_with_override "$A" vfio-pci
assert_eq "" "$(pci_driver $A)" "driver of $A after drivers_probe to vfio-pci"
assert_write_ok "$PCI/$A/driver_override" "
"
assert_write_ok /sys/bus/pci/drivers_probe "$A"
assert_eq e1000e "$(pci_driver $A)" "driver of $A after clearing the override"
step "mdevs still work"
run ls -l /dev/vfio
U=$(uuid 1)
mdev_create mtty mtty-1 "$U"
G=$(iommu_group "/sys/bus/mdev/devices/$U")
# mdev devices get an emulated IOMMU group, with /dev/vfio/<group>, even without an IOMMU
assert_match "$G" '^[0-9]+$' "iommu group of the mdev"
assert_exists "/dev/vfio/$G"
mdev_remove "$U"
