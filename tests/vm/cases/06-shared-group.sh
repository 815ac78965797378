# Kernel facts: the edu behind the pcie-pci-bridge shares one IOMMU group with the
# bridge and the e1000; edu has no native driver.
E=0000:03:01.0; N=0000:03:02.0; B=0000:02:00.0
step "group membership"
G=$(iommu_group "$PCI/$E")
assert_eq "$B $E $N" "$(ls /sys/kernel/iommu_groups/$G/devices | tr '\n' ' ' | sed 's/ $//')" "members of group $G"
assert_file_eq "$PCI/$E/vendor" 0x1234
assert_file_eq "$PCI/$E/device" 0x11e8
assert_eq "" "$(pci_driver $E)" "driver of edu $E"
assert_eq e1000 "$(pci_driver $N)" "driver of $N"
assert_eq "" "$(pci_driver $B)" "driver of the pcie-pci-bridge $B"
assert_file_eq "$PCI/$B/class" 0x060400
assert_eq "" "$(pci_driver 0000:00:04.0)" "driver of edu 00:04.0"

step "the kernel itself lets the edu bind to vfio-pci although the e1000 is on a host driver"
rebind_with_override "$E" vfio-pci
assert_eq vfio-pci "$(pci_driver $E)" "driver of $E"
assert_exists "/dev/vfio/$G"
step "the e1000 too (whole group on vfio-pci; bridges need no driver)"
rebind_with_override "$N" vfio-pci
assert_eq vfio-pci "$(pci_driver $N)" "driver of $N"
step "and back: e1000 returns to e1000, edu to no driver"
for d in $N $E; do
    assert_write_ok "$PCI/$d/driver_override" "
"
    assert_write_ok "$PCI/$d/driver/unbind" "$d"
    assert_write_ok /sys/bus/pci/drivers_probe "$d"
done
assert_eq e1000 "$(pci_driver $N)" "driver of $N"
assert_eq "" "$(pci_driver $E)" "driver of $E"
assert_missing "/dev/vfio/$G"
