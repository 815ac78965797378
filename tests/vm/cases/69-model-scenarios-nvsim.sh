# vm-nvsim
# vm-sim
# vm-timeout: 300
# The kernel model checked against the simulated NVIDIA driver (tests/vm/nvsim) in each of its
# modes, one after the other (rmmod between): the scenarios of tests/model/ for nvsim-pf,
# nvsim-vf and nvsim-vfio, with plain writes on the real sysfs.
BAD=""
for mode in pf vf vfio; do
    step "modprobe nvsim mode=$mode; hostdev-sim scenarios --host nvsim-$mode"
    modprobe nvsim mode=$mode
    run hostdev-sim scenarios --root / --host nvsim-$mode /tests/model/*.yaml
    [ "$RC" = 0 ] || BAD="$BAD nvsim-$mode"
    # a scenario that failed half-way may leave VFs or vGPUs behind: clear them for the next mode
    for d in /sys/bus/mdev/devices/*; do [ -e "$d/remove" ] && echo 1 > "$d/remove" 2>/dev/null || true; done
    echo 0 > /sys/bus/pci/devices/0000:04:00.0/sriov_numvfs 2>/dev/null || true
    rmmod nvsim || fail "rmmod nvsim (mode $mode)"
done
[ -z "$BAD" ] || fail "mismatches between the scenarios and this kernel:$BAD"
