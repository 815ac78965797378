# hostdev apply / teardown on the real kernel, config with a node override.
# Node hostdev-vm wants [mbochs-small, "Dual port serial" (mtty-2), mdpy-vga]:
# mbochs-small x64, mtty-2 x12, mdpy-vga x4 = 80 mdevs with the planned UUIDs.
C=/tests/files/apply-node-override.yaml

step "plan: the UUIDs apply will create"
plan_creates "$C" 80

step "apply --dry-run prints the 80 writes and makes none"
assert_exit 0 hostdev apply -f "$C" --dry-run
assert_eq 80 "$(printf '%s\n' "$OUT" | grep -c '^echo .* > /sys/class/mdev_bus/.*/create$')" "dry-run writes"
assert_eq 0 "$(mdev_count)" "mdevs after dry run"
assert_missing "$AUDIT"

step "apply without a terminal and without --yes refuses"
assert_exit 1 hostdev apply -f "$C" </dev/null
assert_contains "$ERR" "nothing was changed"
assert_eq 0 "$(mdev_count)" "mdevs after refusal"

step "apply --yes creates exactly the planned UUIDs"
assert_exit 0 hostdev apply -f "$C" --yes
assert_eq "$PLANNED" "$(ls /sys/bus/mdev/devices | sort)" "mdevs on the bus"
assert_eq 80 "$(grep -c '"result":"ok"' "$AUDIT")" "audit lines"
assert_eq 80 "$(grep -c '"uuid"' /run/hostdev/state.json)" "state records"

step "second apply changes nothing"
assert_converged "$C"

step "teardown leaves an mdev held open alone, reports it, exits 1 without hanging"
HELD=$(printf '%s\n' "$PLANNED" | head -1)
G=$(iommu_group "/sys/bus/mdev/devices/$HELD")
hold_open "/dev/vfio/$G"
assert_exit 1 hostdev teardown --yes
assert_contains "$OUT" "$HELD"
assert_contains "$OUT" "in use by pid $HOLD_PID"
assert_exists "/sys/bus/mdev/devices/$HELD"
assert_eq 1 "$(mdev_count)" "mdevs left (the held one)"
grep -q "$HELD" /run/hostdev/state.json || fail "the held mdev was dropped from the state"

step "released: teardown removes it"
release
assert_exit 0 hostdev teardown --yes
assert_eq 0 "$(mdev_count)" "mdevs after teardown"
assert_eq 0 "$(grep -c '"uuid"' /run/hostdev/state.json)" "state records after teardown"

step "apply with an undesired mdev held open: everything else is done, exit 1"
U=$(uuid 7 77777777)
mdev_create mtty mtty-1 "$U"
G=$(iommu_group "/sys/bus/mdev/devices/$U")
hold_open "/dev/vfio/$G"
assert_exit 1 hostdev apply -f "$C" --yes
assert_contains "$OUT" "in use by pid $HOLD_PID"
assert_exists "/sys/bus/mdev/devices/$U"
# mtty keeps its in-use mtty-1 (blocked); mbochs and mdpy are filled.
assert_eq 69 "$(mdev_count)" "mdevs: 64 + 4 created, 1 held"
release
assert_exit 0 hostdev teardown --all --yes
assert_eq 0 "$(mdev_count)" "mdevs after teardown --all"
