# vm-igb
# vm-sim
# vm-timeout: 240
# The kernel model (sim/, hostdev-sim) checked against this kernel: the scenarios of
# tests/model/ for the mdev samples (mtty, mdpy, mbochs), PCI binding (e1000e, vfio-pci) and
# SR-IOV on igb run with plain writes on the real sysfs; every step must answer as the
# scenario (and so the model, which runs the same files on fixtures/vm-* in CI) says.
BAD=""
for kind in samples igb-sriov; do
    step "hostdev-sim scenarios --host $kind"
    run hostdev-sim scenarios --root / --host $kind /tests/model/*.yaml
    [ "$RC" = 0 ] || BAD="$BAD $kind"
done
[ -z "$BAD" ] || fail "mismatches between the scenarios and this kernel:$BAD"
