# Kernel facts: an mdev is created by writing a UUID to create, appears on the mdev bus
# with an mdev_type link and its own IOMMU group and /dev/vfio/<group>, and goes away
# when 1 is written to its remove file.
U=$(uuid 1 11111111)
step "create $U as mtty-2"
avail0=$(mdev_avail mtty mtty-2)
mdev_create mtty mtty-2 "$U"
D=/sys/bus/mdev/devices/$U
assert_exists "$D"
assert_eq "../../../devices/virtual/mtty/mtty/$U" "$(readlink "$D")" "bus link"
assert_link_name "$D/mdev_type" mtty-2
assert_link_name "$D/driver" mtty
assert_exists "$MDEV_BUS/mtty/mdev_supported_types/mtty-2/devices/$U"
G=$(iommu_group "$D")
assert_match "$G" '^[0-9]+$' "iommu group of $U"
assert_eq "$U" "$(ls /sys/kernel/iommu_groups/$G/devices)" "members of group $G"
assert_exists "/dev/vfio/$G"
assert_eq $((avail0 - 1)) "$(mdev_avail mtty mtty-2)" "mtty-2 available after one"
# mtty-1 and mtty-2 share 24 ports: a dual-port instance takes two single ports
assert_eq 22 "$(mdev_avail mtty mtty-1)" "mtty-1 available after one mtty-2"

step "each mdev gets its own group; upper-case UUID is accepted and lower-cased"
U2=$(uuid 2 AAAAAAAA)
u2=$(echo "$U2" | tr A-F a-f)
mdev_create mdpy mdpy-vga "$U2"
assert_missing "/sys/bus/mdev/devices/$U2"
assert_exists "/sys/bus/mdev/devices/$u2"
G2=$(iommu_group "/sys/bus/mdev/devices/$u2")
assert_ne "$G" "$G2" "group of the second mdev"
assert_exists "/dev/vfio/$G2"
assert_eq 3 "$(mdev_avail mdpy mdpy-vga)" "mdpy-vga available"
assert_eq 3 "$(mdev_avail mdpy mdpy-hd)" "mdpy-hd available (shared pool)"
U3=$(uuid 3 11111111)
mdev_create mbochs mbochs-large "$U3"
assert_eq 3 "$(mdev_avail mbochs mbochs-large)" "mbochs-large available"
assert_eq 48 "$(mdev_avail mbochs mbochs-small)" "mbochs-small available (shared memory)"

step "malformed UUID -> EINVAL; remove of a missing mdev -> ENOENT"
assert_write_fails EINVAL "$MDEV_BUS/mtty/mdev_supported_types/mtty-1/create" "not-a-uuid"
assert_write_fails ENOENT "/sys/bus/mdev/devices/$(uuid 99)/remove" 1

step "remove them"
mdev_remove "$U"
mdev_remove "$u2"
mdev_remove "$U3"
assert_missing "$D"
assert_missing "/dev/vfio/$G"
assert_missing "/dev/vfio/$G2"
assert_eq 0 "$(mdev_count)" "mdevs left"
assert_eq 12 "$(mdev_avail mtty mtty-2)" "mtty-2 available again"
assert_eq 24 "$(mdev_avail mtty mtty-1)" "mtty-1 available again"
