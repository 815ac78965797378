# hostdev env on the real kernel: only the vfio-bound e1000e is a PCI resource (the other
# e1000e NICs stay on their driver), the mtty-2 mdevs ("Dual port serial") are an mdev
# resource, in ascending UUID order; --format shell is valid for sh; teardown returns the
# NIC to e1000e.
# vm-timeout: 240
A=0000:00:03.0
C=/tests/files/env-e1000e-mtty.yaml

step "bind $A to vfio-pci"
assert_exit 0 hostdev bind vfio --yes "$A"
assert_eq vfio-pci "$(pci_driver $A)" "driver of $A"
assert_eq e1000e "$(pci_driver 0000:00:02.0)" "driver of 0000:00:02.0"

step "apply: 12 mtty-2"
assert_exit 0 hostdev apply -f "$C" --yes
assert_eq 12 "$(mdev_count)" "mdevs"
UUIDS=$(ls /sys/bus/mdev/devices | sort | tr '\n' ',' | sed 's/,$//')

step "env: exactly the vfio-bound NIC and the mdevs"
assert_exit 0 hostdev env -f "$C"
assert_eq "PCI_RESOURCE_INTEL_COM_E1000E=$A
MDEV_PCI_RESOURCE_EXAMPLE_COM_MTTY=$UUIDS" "$OUT" "hostdev env"

step "env -o json: the device nodes that exist -- /dev/vfio/<group>, a cdev node only where there is one"
assert_exit 0 hostdev env -f "$C" -o json
G=$(iommu_group "$PCI/$A")
assert_contains "$OUT" "\"/dev/vfio/$G\""
for n in $(ls "$PCI/$A/vfio-dev" 2>/dev/null); do
    if [ -e "/dev/vfio/devices/$n" ]; then
        assert_contains "$OUT" "\"/dev/vfio/devices/$n\""
    else
        # stock Debian kernels (no iommufd): vfio-dev/vfioN in sysfs, but no node
        note "sysfs has $PCI/$A/vfio-dev/$n but there is no /dev/vfio/devices/$n"
        assert_not_contains "$OUT" "/dev/vfio/devices/"
    fi
done

step "status: healthy, with or without the vfio cdev nodes"
assert_exit 0 hostdev status -f "$C"
printf '%s\n' "$OUT"
assert_exit 0 hostdev status -f "$C" -o json
assert_contains "$OUT" "\"/dev/vfio/$G\""
[ -d /dev/vfio/devices ] || assert_not_contains "$OUT" "/dev/vfio/devices/"

step "env --format shell, sourced by sh"
hostdev env -f "$C" --format shell >/tmp/env.sh
assert_eq "$A" "$(sh -c '. /tmp/env.sh; echo "$PCI_RESOURCE_INTEL_COM_E1000E"')" "PCI_RESOURCE_INTEL_COM_E1000E from sh"
assert_eq "$UUIDS" "$(sh -c '. /tmp/env.sh; echo "$MDEV_PCI_RESOURCE_EXAMPLE_COM_MTTY"')" "MDEV_PCI_RESOURCE_EXAMPLE_COM_MTTY from sh"

step "teardown returns the NIC and removes the mdevs"
assert_exit 0 hostdev teardown --yes
assert_eq e1000e "$(pci_driver $A)" "driver of $A"
assert_eq 0 "$(mdev_count)" "mdevs"
assert_exit 0 hostdev env -f "$C"
assert_eq "PCI_RESOURCE_INTEL_COM_E1000E=
MDEV_PCI_RESOURCE_EXAMPLE_COM_MTTY=" "$OUT" "hostdev env after teardown"
