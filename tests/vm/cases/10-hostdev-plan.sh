# hostdev plan on the real kernel, config with a node override (read-only: nothing changes).
# Node hostdev-vm (the guest's host name) wants [mbochs-large, "Dual port serial"]:
# mbochs gets mbochs-large x4, mdpy supports neither, mtty gets mtty-2 x12.
C=/tests/files/plan-node-override.yaml
step "plan -o json"
assert_exit 0 hostdev plan -f "$C" -o json
printf '%s\n' "$OUT" | head -40
assert_contains "$OUT" '"name": "hostdev-vm"' "plan node"
assert_eq 16 "$(printf '%s\n' "$OUT" | grep -c '"action": "create"')" "create actions"
assert_eq 0 "$(printf '%s\n' "$OUT" | grep -c '"action": "remove"')" "remove actions"
assert_eq 4 "$(printf '%s\n' "$OUT" | grep -A3 '"action": "create"' | grep -c '"type": "mbochs-large"')" "mbochs-large creations"
assert_eq 12 "$(printf '%s\n' "$OUT" | grep -A3 '"action": "create"' | grep -c '"type": "mtty-2"')" "mtty-2 creations"
step "plan is read-only and --detailed-exitcode says changes are pending"
assert_exit 2 hostdev plan -f "$C" --detailed-exitcode
assert_eq 0 "$(mdev_count)" "mdevs after plan"
step "another node name falls back to the global list"
assert_exit 0 hostdev plan -f "$C" -o json --node-name other
assert_eq 4 "$(printf '%s\n' "$OUT" | grep -c '"action": "create"')" "create actions for node other (mdpy-vga x4)"
