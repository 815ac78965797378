# Kernel facts: creation failures. Beyond available_instances -> ENOSPC (mtty, mbochs)
# or EUSERS (mdpy); a duplicate UUID, even on another parent -> EEXIST.
T=$MDEV_BUS/mtty/mdev_supported_types
step "fill mtty with 12 x mtty-2 (24 ports)"
i=1
while [ $i -le 12 ]; do
    sysfs_write "$T/mtty-2/create" "$(uuid $i)" || fail "create #$i: $WRITE_ERR"
    i=$((i + 1))
done
assert_eq 12 "$(mdev_count)" "mdevs"
assert_file_eq "$T/mtty-2/available_instances" 0
assert_file_eq "$T/mtty-1/available_instances" 0
step "one more -> ENOSPC, on either type"
assert_write_fails ENOSPC "$T/mtty-2/create" "$(uuid 13)"
assert_write_fails ENOSPC "$T/mtty-1/create" "$(uuid 14)"
assert_missing "/sys/bus/mdev/devices/$(uuid 13)"

# exhaust PARENT TYPE OTHER ERRNO N: four TYPE (UUIDs N1..N4) use PARENT up; then neither
# type has an instance left and creating an OTHER (UUID N5) fails with ERRNO
exhaust() {
    _types=$MDEV_BUS/$1/mdev_supported_types
    for _i in 1 2 3 4; do mdev_create "$1" "$2" "$(uuid "$5$_i")"; done
    assert_file_eq "$_types/$2/available_instances" 0
    assert_file_eq "$_types/$3/available_instances" 0
    assert_write_fails "$4" "$_types/$3/create" "$(uuid "${5}5")"
}

step "mdpy beyond its pool of 4 -> EUSERS"
exhaust mdpy mdpy-xga mdpy-vga EUSERS 2

step "mbochs beyond its memory -> ENOSPC"
exhaust mbochs mbochs-large mbochs-small ENOSPC 3
B=$MDEV_BUS/mbochs/mdev_supported_types

step "duplicate UUID -> EEXIST, on the same and on another parent"
mdev_remove "$(uuid 34)"
assert_write_fails EEXIST "$B/mbochs-large/create" "$(uuid 33)"
assert_write_fails EEXIST "$B/mbochs-large/create" "$(uuid 1)"
assert_file_eq "$B/mbochs-large/available_instances" 1

step "remove everything"
for d in /sys/bus/mdev/devices/*; do assert_write_ok "$d/remove" 1; done
assert_eq 0 "$(mdev_count)" "mdevs left"
