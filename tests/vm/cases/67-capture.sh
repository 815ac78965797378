# vm-timeout: 240
# vm-sim
# hostdev capture on the real kernel (issue 22 item 6): with the mdev samples' parents, an
# mdev held open and the IOMMU on, `capture --out DIR` copies what hostdev reads, never
# config space, BARs, ROM or VPD; plan, list-types, iommu check, iommu groups, tree, env
# and status read the same on the capture (`--root DIR`) as on the live host; the tar on
# stdout (`--out -`) extracts to the same tree; a non-empty --out is refused (64); the
# capture, served by hostdev-sim (FUSE in the guest), plans the same and takes an apply.
C=/tests/files/apply-node-override.yaml

step "an mdev exists and a process holds it open"
U=$(uuid 1 67676767)
mdev_create mtty mtty-2 "$U"
G=$(iommu_group "/sys/bus/mdev/devices/$U")
hold_open "/dev/vfio/$G"

step "capture --out DIR"
assert_exit 0 hostdev capture --out /tmp/cap
printf '%s\n' "$ERR"
assert_exists "/tmp/cap/sys/bus/mdev/devices/$U"
assert_exists "/tmp/cap/sys/class/mdev_bus/mtty"
assert_exists "/tmp/cap/proc/cmdline"
assert_eq 0 "$(find /tmp/cap \( -name config -o -name rom -o -name vpd -o -name 'resource*' \) | wc -l | tr -d ' ')" \
    "config/rom/vpd/resource files in the capture"
DANGLING=$(find /tmp/cap -type l ! -path '/tmp/cap/proc/*' ! -exec test -e {} \; -print)
assert_eq "" "$DANGLING" "sysfs links that do not resolve inside the capture"

step "a non-empty --out is refused and left alone"
assert_exit 64 hostdev capture --out /tmp/cap
assert_contains "$ERR" "not empty"

step "the same output live and on the capture"
same_on /tmp/cap plan -f "$C"
same_on /tmp/cap plan -f "$C" -o json
same_on /tmp/cap list-types
same_on /tmp/cap list-types -o json
same_on /tmp/cap iommu check
same_on /tmp/cap iommu groups
same_on /tmp/cap iommu groups -o json
same_on /tmp/cap tree
same_on /tmp/cap env -f "$C"
same_on /tmp/cap status -f "$C"
assert_exists "/tmp/cap/proc/$HOLD_PID/comm"
assert_contains "$(ls -l /tmp/cap/proc/$HOLD_PID/fd)" "/dev/vfio/$G"
assert_exists "/tmp/cap/dev/vfio/$G"

step "the capture served through hostdev-sim reads the same, and takes an apply"
[ -e /lib/fuse.ko ] && { insmod /lib/fuse.ko || fail "insmod fuse"; }
[ -e /dev/fuse ] || mknod /dev/fuse c 10 229
SIMPID=$(hostdev-sim serve /tmp/cap /tmp/sim --background) || fail "hostdev-sim serve /tmp/cap failed"
note "hostdev-sim serves /tmp/cap at /tmp/sim (pid $SIMPID)"
same_on /tmp/sim plan -f "$C"
same_on /tmp/sim list-types -o json
same_on /tmp/sim iommu groups
same_on /tmp/sim status -f "$C"
LIVE_BEFORE=$(ls /sys/bus/mdev/devices | sort)
assert_exit 0 hostdev --root /tmp/sim -f "$C" apply --yes
assert_exit 0 hostdev --root /tmp/sim -f "$C" plan --detailed-exitcode
assert_eq "$LIVE_BEFORE" "$(ls /sys/bus/mdev/devices | sort)" "the live host's mdevs (untouched by the apply on the served capture)"
assert_exit 0 hostdev-sim stop /tmp/sim

step "--out - writes a tar that extracts to the same tree"
hostdev capture --out - > /tmp/cap.tar || fail "capture --out - failed"
mkdir /tmp/cap2
tar -xf /tmp/cap.tar -C /tmp/cap2 || fail "tar -x failed"
listing() {
    (cd "$1" && find . -type d | sort; find . -type l | sort | while read -r l; do echo "$l -> $(readlink "$l")"; done
     find . -type f | sort | xargs md5sum)
}
assert_eq "$(listing /tmp/cap)" "$(listing /tmp/cap2)" "the extracted tar"

release
mdev_remove "$U"
