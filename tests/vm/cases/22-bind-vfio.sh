# bind vfio of an e1000e, refusal of the edu in the shared bridge group, --with-group,
# and teardown returning every device to its original driver.
A=0000:00:03.0
G=$(iommu_group "$PCI/$A")
step "bind vfio $A"
assert_exit 0 hostdev bind vfio --yes 00:03.0
printf '%s\n' "$OUT"
assert_eq vfio-pci "$(pci_driver $A)" "driver of $A"
assert_exists "/dev/vfio/$G"
assert_contains "$(cat /run/hostdev/state.json)" '"original_driver": "e1000e"' "state file"
step "already bound: no-op"
assert_exit 0 hostdev bind vfio --yes $A
assert_contains "$OUT" "already-bound"
E=0000:03:01.0; N=0000:03:02.0
step "edu in the shared group is refused"
assert_exit 1 hostdev bind vfio --yes $E
printf '%s\n' "$ERR"
EG=$(iommu_group "$PCI/$E")
assert_contains "$ERR" "IOMMU group $EG is not viable: $N (8086:100e, e1000)" "refusal"
assert_eq "" "$(pci_driver $E)" "edu untouched"
step "--with-group binds the edu and the e1000"
assert_exit 0 hostdev bind vfio --yes --with-group $E
printf '%s\n' "$OUT"
assert_eq vfio-pci "$(pci_driver $E)" "driver of $E"
assert_eq vfio-pci "$(pci_driver $N)" "driver of $N"
step "teardown returns every device"
run hostdev teardown --vfio --yes
if [ "$RC" = 0 ]; then
    assert_eq e1000e "$(pci_driver $A)" "driver of $A"
    assert_eq e1000 "$(pci_driver $N)" "driver of $N"
    assert_eq "" "$(pci_driver $E)" "driver of $E"
    assert_missing "/dev/vfio/$G"
else
    note "teardown --vfio not wired in this build (exit $RC)"
    exit 1
fi
