# Kernel facts: the three sample mdev parents, their types, names and instance counts.
step "mdev parents are the virtual sample devices"
for p in mbochs mdpy mtty; do
    assert_exists "$MDEV_BUS/$p"
    assert_eq "../../devices/virtual/$p/$p" "$(readlink "$MDEV_BUS/$p")" "link $MDEV_BUS/$p"
done
assert_eq "mbochs mdpy mtty" "$(ls "$MDEV_BUS" | tr '\n' ' ' | sed 's/ $//')" "parents"

step "types of each parent"
assert_eq "mtty-1 mtty-2" "$(ls "$MDEV_BUS/mtty/mdev_supported_types" | tr '\n' ' ' | sed 's/ $//')" "mtty types"
assert_eq "mdpy-hd mdpy-vga mdpy-xga" "$(ls "$MDEV_BUS/mdpy/mdev_supported_types" | tr '\n' ' ' | sed 's/ $//')" "mdpy types"
assert_eq "mbochs-large mbochs-medium mbochs-small" "$(ls "$MDEV_BUS/mbochs/mdev_supported_types" | tr '\n' ' ' | sed 's/ $//')" "mbochs types"

step "names, descriptions, device_api, available_instances"
T=$MDEV_BUS/mtty/mdev_supported_types
assert_file_eq "$T/mtty-1/name" "Single port serial"
assert_file_eq "$T/mtty-2/name" "Dual port serial"
assert_missing "$T/mtty-1/description"
assert_missing "$T/mtty-2/description"
assert_file_eq "$T/mtty-1/available_instances" 24
assert_file_eq "$T/mtty-2/available_instances" 12
T=$MDEV_BUS/mdpy/mdev_supported_types
assert_file_eq "$T/mdpy-vga/description" "virtual display, 640x480 framebuffer"
assert_file_eq "$T/mdpy-xga/description" "virtual display, 1024x768 framebuffer"
assert_file_eq "$T/mdpy-hd/description" "virtual display, 1920x1080 framebuffer"
for t in vga xga hd; do
    assert_file_eq "$T/mdpy-$t/name" "mdpy-$t"
    assert_file_eq "$T/mdpy-$t/available_instances" 4
done
T=$MDEV_BUS/mbochs/mdev_supported_types
assert_file_eq "$T/mbochs-small/available_instances" 64
assert_file_eq "$T/mbochs-medium/available_instances" 16
assert_file_eq "$T/mbochs-large/available_instances" 4
assert_file_eq "$T/mbochs-small/description" "virtual display, 4 MB video memory"
assert_file_eq "$T/mbochs-large/description" "virtual display, 64 MB video memory"
for p in mtty mdpy mbochs; do
    for t in "$MDEV_BUS/$p/mdev_supported_types"/*; do
        assert_file_eq "$t/device_api" vfio-pci
        assert_exists "$t/create"
        assert_eq "" "$(ls "$t/devices")" "$t/devices (empty)"
    done
done
assert_eq 0 "$(mdev_count)" "mdevs after boot"
