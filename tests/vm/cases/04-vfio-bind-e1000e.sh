# Kernel facts: driver_override + unbind + drivers_probe moves an e1000e to vfio-pci,
# /dev/vfio/<group> appears; clearing the override + unbind + drivers_probe returns it.
A=0000:00:03.0
D=$PCI/$A
step "$A is an e1000e in its own group"
assert_file_eq "$D/vendor" 0x8086
assert_file_eq "$D/device" 0x10d3
assert_eq e1000e "$(pci_driver $A)" "driver of $A"
assert_file_eq "$D/driver_override" "(null)"
G=$(iommu_group "$D")
assert_eq "$A" "$(ls /sys/kernel/iommu_groups/$G/devices)" "members of group $G"
assert_missing "/dev/vfio/$G"
assert_exists /dev/vfio/vfio

step "bind of a bound device -> EBUSY (matching driver) / ENODEV (vfio-pci: no override, no match)"
# the kernel checks the match before "already bound": vfio-pci matches nothing without an override
assert_write_fails ENODEV /sys/bus/pci/drivers/vfio-pci/bind "$A"
assert_write_fails EBUSY /sys/bus/pci/drivers/e1000e/bind "$A"
step "bind without override -> ENODEV"
assert_write_ok "$D/driver/unbind" "$A"
assert_eq "" "$(pci_driver $A)" "driver after unbind"
assert_write_fails ENODEV /sys/bus/pci/drivers/vfio-pci/bind "$A"
assert_write_ok /sys/bus/pci/drivers/e1000e/bind "$A"
assert_eq e1000e "$(pci_driver $A)" "driver after bind"

step "drivers_probe of a bound device is a no-op; of a missing one -> ENODEV"
assert_write_ok /sys/bus/pci/drivers_probe "$A"
assert_eq e1000e "$(pci_driver $A)" "driver"
assert_write_fails ENODEV /sys/bus/pci/drivers_probe 0000:00:1e.0

step "override + unbind + drivers_probe -> vfio-pci"
rebind_with_override "$A" vfio-pci
assert_file_eq "$D/driver_override" vfio-pci
assert_eq vfio-pci "$(pci_driver $A)" "driver"
assert_exists "/dev/vfio/$G"
assert_exists "$D/vfio-dev"
step "the group file opens once; a second open -> EBUSY"
hold_open "/dev/vfio/$G"
R=$(vmtool open "/dev/vfio/$G" || true)
assert_contains "$R" "EBUSY" "second open of /dev/vfio/$G"
release
R=$(vmtool open "/dev/vfio/$G" && echo opened)
assert_eq opened "$R" "open after release"

step "clear the override (newline) + unbind + drivers_probe -> e1000e"
assert_write_ok "$D/driver_override" "
"
assert_file_eq "$D/driver_override" "(null)"
assert_write_ok "$D/driver/unbind" "$A"
assert_write_ok /sys/bus/pci/drivers_probe "$A"
assert_eq e1000e "$(pci_driver $A)" "driver"
assert_missing "/dev/vfio/$G"
