# hostdev list-types on the real kernel: the three virtual parents and their real types.
step "table"
assert_exit 0 hostdev list-types
printf '%s\n' "$OUT"
assert_match "$OUT" '^mtty +[a-z-]+ +mtty-1 +Single port serial +24 +0 +vfio-pci' "list-types table"
assert_match "$OUT" '^mtty +[a-z-]+ +mtty-2 +Dual port serial +12 +0 +vfio-pci' "list-types table"
for t in vga xga hd; do assert_match "$OUT" "^mdpy +[a-z-]+ +mdpy-$t +mdpy-$t +4 +0 +vfio-pci" "list-types table"; done
assert_match "$OUT" '^mbochs +[a-z-]+ +mbochs-small +mbochs-small +64 +0 +vfio-pci +virtual display, 4 MB video memory' "list-types table"
assert_match "$OUT" '^mbochs +[a-z-]+ +mbochs-medium +mbochs-medium +16 ' "list-types table"
assert_match "$OUT" '^mbochs +[a-z-]+ +mbochs-large +mbochs-large +4 ' "list-types table"

step "json"
assert_exit 0 hostdev list-types -o json
assert_contains "$OUT" '"schema": "hostdev/v1"'
for p in mtty mdpy mbochs; do assert_contains "$OUT" "\"address\": \"$p\""; done
for t in mtty-1 mtty-2 mdpy-vga mdpy-xga mdpy-hd mbochs-small mbochs-medium mbochs-large; do
    assert_contains "$OUT" "\"id\": \"$t\""
done
assert_contains "$OUT" '"name": "Single port serial"'

step "existing instances are counted"
U=$(uuid 1)
mdev_create mtty mtty-2 "$U"
assert_exit 0 hostdev list-types
assert_match "$OUT" '^mtty +[a-z-]+ +mtty-2 +Dual port serial +11 +1 ' "list-types after one mtty-2"
assert_match "$OUT" '^mtty +[a-z-]+ +mtty-1 +Single port serial +22 +0 ' "list-types after one mtty-2"
mdev_remove "$U"
