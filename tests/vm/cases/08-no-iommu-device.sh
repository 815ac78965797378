# vm-no-iommu
# Kernel facts without any IOMMU in the machine: no DMAR, no groups, vfio-pci binds nothing.
step "no IOMMU"
assert_eq "" "$(ls /sys/kernel/iommu_groups)" "/sys/kernel/iommu_groups"
assert_eq "" "$(ls /sys/class/iommu)" "/sys/class/iommu"
assert_missing /sys/firmware/acpi/tables/DMAR
A=0000:00:03.0
rebind_with_override "$A" vfio-pci
assert_eq "" "$(pci_driver $A)" "driver of $A after drivers_probe to vfio-pci"
