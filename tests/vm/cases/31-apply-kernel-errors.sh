# hostdev apply --plan FILE on the real kernel: a saved plan that went stale is reported
# with the kernel's own errors -- ENOSPC (mtty, mbochs), EUSERS (mdpy), EEXIST (a planned
# UUID taken on another parent) -- naming path, value and error; that parent is skipped
# for that type, the rest of the plan still runs, exit 1 with what was and was not done.
# Once the cause is removed, a plain `hostdev apply` converges.
# vm-timeout: 400
C=/tests/files/apply-three-types.yaml
C2=/tests/files/apply-mtty-mdpy.yaml
P=/tmp/p.json

# planned PARENT -> the UUIDs the saved plan creates on PARENT, in plan order
# (`plan -o json` prints one field per line inside each action).
planned() {
    awk -v p="\"parent\": \"$1\"" '
        /"action": "create"/ { c = 1; next }
        c && /"uuid":/ { u = $0; sub(/.*"uuid": "/, "", u); sub(/".*/, "", u); next }
        c && index($0, p) { print u; c = 0; next }
        /}/ { c = 0 }' "$P"
}
count() { printf '%s\n' "$1" | grep -c . || true; }
# nth N LIST
nth() { printf '%s\n' "$2" | sed -n "${1}p"; }
# all_exist LIST WHAT
all_exist() {
    for u in $1; do [ -e "/sys/bus/mdev/devices/$u" ] || fail "$2: $u was not created"; done
    note "ok: $2: all $(count "$1") exist"
}
converge() {
    assert_exit 0 hostdev apply -f "$1" --yes
    assert_exit 0 hostdev plan -f "$1" --detailed-exitcode
    note "converged"
}
clean() {
    assert_exit 0 hostdev teardown --all --yes
    assert_eq 0 "$(mdev_count)" "mdevs after teardown --all"
    rm -f "$AUDIT"
}

step "save a plan for [mtty-2, mdpy-vga, mbochs-small]"
hostdev plan -f "$C" -o json >"$P"
MBOCHS=$(planned mbochs); MDPY=$(planned mdpy); MTTY=$(planned mtty)
assert_eq 64 "$(count "$MBOCHS")" "planned mbochs-small"
assert_eq 4 "$(count "$MDPY")" "planned mdpy-vga"
assert_eq 12 "$(count "$MTTY")" "planned mtty-2"

step "a saved plan for another node is refused (65), nothing written"
assert_exit 65 hostdev --node-name other-node apply --plan "$P" --yes
assert_contains "$ERR" "plan was made for node hostdev-vm, this is node other-node; use --node-name or re-run plan"
assert_eq 0 "$(mdev_count)" "mdevs"

step "ENOSPC: two mtty-2 made by hand take 4 of mtty's 24 ports"
H1=$(uuid 1 aaaaaaaa); H2=$(uuid 2 aaaaaaaa)
mdev_create mtty mtty-2 "$H1"
mdev_create mtty mtty-2 "$H2"
F=$(nth 11 "$MTTY"); S=$(nth 12 "$MTTY")
assert_exit 1 hostdev apply --plan "$P" --yes
ALL="$OUT
$ERR"
assert_contains "$ALL" "write '$F' to /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create: No space left on device (os error 28)"
assert_contains "$OUT" "created 78 mdev(s)" "summary"
assert_contains "$OUT" "not done:
  create $S (mtty-2 on mtty): skipped: an earlier mtty-2 creation on mtty failed" "summary"
assert_contains "$ERR" "apply incomplete: 1 write(s) failed, 1 change(s) not done"
all_exist "$MBOCHS" "mbochs-small"
all_exist "$MDPY" "mdpy-vga"
all_exist "$(printf '%s\n' "$MTTY" | head -10)" "first 10 mtty-2"
assert_missing "/sys/bus/mdev/devices/$F"
assert_missing "/sys/bus/mdev/devices/$S"
assert_eq 80 "$(mdev_count)" "mdevs: 78 + 2 by hand"
assert_match "$(cat "$AUDIT")" "\"value\":\"$F\",\"result\":\"error\",\"error\":\"No space left on device"
step "ENOSPC fixed (hand-made mdevs removed): plain apply creates the 2 missing, converges"
mdev_remove "$H1"; mdev_remove "$H2"
converge "$C"
assert_exists "/sys/bus/mdev/devices/$F"
assert_exists "/sys/bus/mdev/devices/$S"
assert_eq 80 "$(mdev_count)" "mdevs"
clean

step "EUSERS (mdpy) and ENOSPC (mbochs): one slot of each taken by hand"
hostdev plan -f "$C" -o json >"$P"
assert_eq "$MDPY" "$(planned mdpy)" "planned mdpy UUIDs (deterministic)"
mdev_create mdpy mdpy-vga "$H1"
mdev_create mbochs mbochs-small "$H2"
LB=$(nth 64 "$MBOCHS"); LD=$(nth 4 "$MDPY")
assert_exit 1 hostdev apply --plan "$P" --yes
ALL="$OUT
$ERR"
assert_contains "$ALL" "write '$LB' to /sys/class/mdev_bus/mbochs/mdev_supported_types/mbochs-small/create: No space left on device (os error 28)"
assert_contains "$ALL" "write '$LD' to /sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/create: Too many users (os error 87)"
assert_contains "$OUT" "created 78 mdev(s)" "summary"
assert_contains "$ERR" "apply incomplete: 2 write(s) failed"
all_exist "$MTTY" "mtty-2 (after both failures)"
all_exist "$(printf '%s\n' "$MDPY" | head -3)" "first 3 mdpy-vga"
assert_missing "/sys/bus/mdev/devices/$LD"
assert_missing "/sys/bus/mdev/devices/$LB"
step "fixed: plain apply converges"
mdev_remove "$H1"; mdev_remove "$H2"
converge "$C"
assert_exists "/sys/bus/mdev/devices/$LD"
assert_exists "/sys/bus/mdev/devices/$LB"
assert_eq 80 "$(mdev_count)" "mdevs"
clean

step "EEXIST: a planned mdpy UUID taken by an mbochs mdev (another parent)"
P2=/tmp/p2.json
hostdev plan -f "$C2" -o json >"$P2"
P=$P2
MDPY=$(planned mdpy); MTTY=$(planned mtty)
assert_eq 0 "$(count "$(planned mbochs)")" "planned on mbochs"
D=$(nth 1 "$MDPY")
mdev_create mbochs mbochs-small "$D"
assert_exit 1 hostdev apply --plan "$P2" --yes
ALL="$OUT
$ERR"
assert_contains "$ALL" "write '$D' to /sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/create: File exists (os error 17)"
assert_contains "$OUT" "created 12 mdev(s)" "summary"
assert_contains "$OUT" "skipped: an earlier mdpy-vga creation on mdpy failed" "summary"
assert_contains "$ERR" "apply incomplete: 1 write(s) failed, 3 change(s) not done"
all_exist "$MTTY" "mtty-2 (after the mdpy failure)"
assert_link_name "/sys/bus/mdev/devices/$D/mdev_type" mbochs-small
assert_eq 4 "$(mdev_avail mdpy mdpy-vga)" "mdpy-vga available (nothing created on mdpy)"
assert_eq 13 "$(mdev_count)" "mdevs: 12 + 1 by hand"
step "EEXIST fixed: plain apply converges"
mdev_remove "$D"
converge "$C2"
all_exist "$MDPY" "mdpy-vga"
assert_eq 16 "$(mdev_count)" "mdevs"
clean
