# tests/vm/lib.sh — assertion helpers for real-kernel VM cases (busybox ash, POSIX sh).
#
# The guest init runs every case as:  sh -c 'set -e; . /tests/lib.sh; . /tests/case.sh'
# so a case needs no boilerplate: a failing assertion (or any failing command at top
# level) ends the case with a non-zero status. Every failure prints what was expected
# and what was seen, prefixed "FAIL:".
#
# Paths in the guest: /tests/case.sh, /tests/lib.sh, /tests/files/ (tests/vm/files/),
# /usr/local/bin/hostdev, /usr/local/bin/vmtool.

VM_FAILS=0

# --- output --------------------------------------------------------------------
step() { printf '\n--- %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    exit 1
}

# --- generic assertions --------------------------------------------------------
# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
    [ "$1" = "$2" ] || fail "${3:-value}: expected [$1], got [$2]"
    note "ok: ${3:-value} = [$2]"
}
# assert_ne UNEXPECTED ACTUAL [WHAT]
assert_ne() {
    [ "$1" != "$2" ] || fail "${3:-value}: expected anything but [$1]"
    note "ok: ${3:-value} = [$2] (not [$1])"
}
# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() {
    case $1 in *"$2"*) note "ok: ${3:-output} contains [$2]";;
        *) fail "${3:-output}: expected to contain [$2], got:
$1";;
    esac
}
# assert_not_contains HAYSTACK NEEDLE [WHAT]
assert_not_contains() {
    case $1 in *"$2"*) fail "${3:-output}: expected NOT to contain [$2], got:
$1";;
        *) note "ok: ${3:-output} does not contain [$2]";;
    esac
}
# assert_match HAYSTACK EXTENDED_REGEX [WHAT]   (grep -E on the whole text)
assert_match() {
    printf '%s\n' "$1" | grep -Eq -- "$2" || fail "${3:-output}: expected to match /$2/, got:
$1"
    note "ok: ${3:-output} matches /$2/"
}
# assert_lines HAYSTACK WHAT LINE...   (each LINE is a whole line of HAYSTACK)
assert_lines() {
    _text=$1; _what=$2; shift 2
    for _l in "$@"; do
        printf '%s\n' "$_text" | grep -Fxq -- "$_l" || fail "$_what: expected the line [$_l], got:
$_text"
        note "ok: $_what has the line [$_l]"
    done
}
# assert_int_ge MIN ACTUAL [WHAT]
assert_int_ge() {
    [ "$2" -ge "$1" ] 2>/dev/null || fail "${3:-value}: expected an integer >= $1, got [$2]"
    note "ok: ${3:-value} = $2 (>= $1)"
}

# --- commands ------------------------------------------------------------------
# assert_exit CODE CMD [ARGS...]
#   Runs CMD, expects exit status CODE. Afterwards $OUT and $ERR hold its stdout and
#   stderr, and $RC its status (also when the assertion passes), for further checks.
assert_exit() {
    _want=$1; shift
    RC=0
    "$@" >/tmp/.vm-out 2>/tmp/.vm-err || RC=$?
    OUT=$(cat /tmp/.vm-out); ERR=$(cat /tmp/.vm-err)
    if [ "$RC" != "$_want" ]; then
        fail "\`$*\`: expected exit $_want, got $RC
--- stdout:
$OUT
--- stderr:
$ERR"
    fi
    note "ok: \`$*\` exited $RC"
}
# run CMD [ARGS...]: like assert_exit without the check (sets OUT, ERR, RC); echoes both.
run() {
    RC=0
    "$@" >/tmp/.vm-out 2>/tmp/.vm-err || RC=$?
    OUT=$(cat /tmp/.vm-out); ERR=$(cat /tmp/.vm-err)
    printf '$ %s  (exit %s)\n' "$*" "$RC"
    [ -z "$OUT" ] || printf '%s\n' "$OUT" | sed 's/^/  | /'
    [ -z "$ERR" ] || printf '%s\n' "$ERR" | sed 's/^/  ! /'
    return 0
}

# --- files and links -------------------------------------------------------------
# assert_file_eq PATH VALUE   (file content, trailing newline stripped)
assert_file_eq() {
    [ -e "$1" ] || fail "$1: expected content [$2], but it does not exist"
    _got=$(cat "$1" 2>&1) || fail "$1: expected content [$2], read failed: $_got"
    [ "$_got" = "$2" ] || fail "$1: expected content [$2], got [$_got]"
    note "ok: $1 = [$2]"
}
assert_exists()  { [ -e "$1" ] || [ -L "$1" ] || fail "expected $1 to exist"; note "ok: exists $1"; }
assert_missing() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "expected $1 NOT to exist"; note "ok: absent $1"; }
# assert_link_name PATH NAME   (basename of the symlink's target)
assert_link_name() {
    [ -L "$1" ] || fail "expected $1 to be a symlink (to .../$2)"
    _t=$(readlink "$1"); _b=${_t##*/}
    [ "$_b" = "$2" ] || fail "$1: expected a link to .../$2, got $_t"
    note "ok: $1 -> .../$2"
}

# --- sysfs writes with the exact errno (vmtool: open O_WRONLY + one write) ------------
# sysfs_write PATH VALUE  -> status 0/1; $WRITE_ERR is "" or e.g. "ENOSPC: No space left on device (write PATH)"
sysfs_write() {
    WRITE_ERR=$(vmtool write "$1" "$2") && { WRITE_ERR=; return 0; }
    return 1
}
# assert_write_ok PATH VALUE
assert_write_ok() {
    sysfs_write "$1" "$2" || fail "write [$2] > $1: expected success, got $WRITE_ERR"
    note "ok: write [$2] > $1"
}
# assert_write_fails ERRNO PATH VALUE   (ERRNO like ENOSPC)
assert_write_fails() {
    if sysfs_write "$2" "$3"; then fail "write [$3] > $2: expected $1, but it succeeded"; fi
    case $WRITE_ERR in "$1:"*) ;; *) fail "write [$3] > $2: expected $1, got $WRITE_ERR";; esac
    note "ok: write [$3] > $2 failed: $WRITE_ERR"
}

# --- kernel-object helpers ------------------------------------------------------------
PCI=/sys/bus/pci/devices
MDEV_BUS=/sys/class/mdev_bus
# pci_driver ADDR -> driver name or "" (unbound)
pci_driver() { [ -L "$PCI/$1/driver" ] && basename "$(readlink "$PCI/$1/driver")" || true; }
# iommu_group DEV_SYSFS_DIR -> group number or ""
iommu_group() { [ -L "$1/iommu_group" ] && basename "$(readlink "$1/iommu_group")" || true; }
# mdev_avail PARENT TYPE -> available_instances
mdev_avail() { cat "$MDEV_BUS/$1/mdev_supported_types/$2/available_instances"; }
# mdev_count -> number of mdevs on the mdev bus; first_mdev -> the first UUID (sorted)
mdev_count() { ls /sys/bus/mdev/devices 2>/dev/null | wc -l | tr -d ' '; }
first_mdev() { ls /sys/bus/mdev/devices | sort | head -1; }
# assert_mdev_types TYPE: every mdev on the bus is of TYPE
assert_mdev_types() {
    for _u in $(ls /sys/bus/mdev/devices); do assert_link_name "/sys/bus/mdev/devices/$_u/mdev_type" "$1"; done
}
# comma_list LINES -> the lines joined by commas (as hostdev env lists UUIDs)
comma_list() { printf '%s\n' "$1" | tr '\n' ',' | sed 's/,$//'; }
# uuid N [PREFIX] -> a deterministic test UUID, e.g. uuid 7 -> 00000000-0000-4000-8000-000000000007
uuid() { printf '%s-0000-4000-8000-%012d\n' "${2:-00000000}" "$1"; }
# mdev_create PARENT TYPE UUID / mdev_remove UUID  (assert success)
mdev_create() { assert_write_ok "$MDEV_BUS/$1/mdev_supported_types/$2/create" "$3"; }
mdev_remove() { assert_write_ok "/sys/bus/mdev/devices/$1/remove" 1; }
# hold_open PATH -> starts a background process holding PATH open (O_RDWR); sets HOLD_PID
hold_open() {
    vmtool hold "$1" >/tmp/.vm-hold 2>&1 &
    HOLD_PID=$!
    await_hold "$1 open" "could not hold $1 open"
}
# await_hold WHAT FAILURE: waits (5 s) until the vmtool of $HOLD_PID says it holds what it
#   was asked to ("held" in /tmp/.vm-hold): "ok: pid N holds WHAT", or fails with FAILURE
await_hold() {
    _i=0
    while [ $_i -lt 50 ]; do
        grep -q held /tmp/.vm-hold 2>/dev/null && { note "ok: pid $HOLD_PID holds $1"; return 0; }
        kill -0 $HOLD_PID 2>/dev/null || break
        sleep 0.1; _i=$((_i + 1))
    done
    fail "$2: $(cat /tmp/.vm-hold)"
}
release() { kill "${1:-$HOLD_PID}" 2>/dev/null || true; wait "${1:-$HOLD_PID}" 2>/dev/null || true; }

# same_on ROOT ARGS...: `hostdev ARGS` reads the same (output and exit status) on the live
# host and with `--root ROOT` (a capture, or a capture served by hostdev-sim)
same_on() {
    _root=$1; shift
    _live=$(hostdev "$@" 2>&1; echo "exit $?")
    _there=$(hostdev --root "$_root" "$@" 2>&1; echo "exit $?")
    [ "$_live" = "$_there" ] || fail "hostdev $*: differs under --root $_root
--- live:
$_live
--- --root $_root:
$_there"
    note "ok: hostdev $* reads the same under --root $_root ($(printf '%s\n' "$_live" | wc -l | tr -d ' ') lines)"
}
# bind_driver_override ADDR DRIVER : driver_override + unbind + drivers_probe (the hostdev way)
rebind_with_override() {
    assert_write_ok "$PCI/$1/driver_override" "$2"
    if [ -L "$PCI/$1/driver" ]; then assert_write_ok "$PCI/$1/driver/unbind" "$1"; fi
    assert_write_ok /sys/bus/pci/drivers_probe "$1"
}

# --- a VM inside the guest (cases with "# vm-qemu": QEMU is at /usr/bin/qemu-system-x86_64) ---
# qemu_start ARGS...  starts a paused (-S) TCG machine with its monitor on a fifo, plus ARGS
#   (e.g. -device vfio-pci,host=0000:00:03.0); sets QEMU_PID; the monitor's output collects in
#   /tmp/qemu.out. qemu_monitor CMD [WAIT_FOR] sends CMD and waits (30 s) until WAIT_FOR (default:
#   the next "(qemu)" prompt) appears in the output after it; $QEMU_REPLY is what it printed.
#   qemu_quit ends it and waits for the process.
qemu_start() {
    rm -f /tmp/qemu.in /tmp/qemu.out; mkfifo /tmp/qemu.in; : > /tmp/qemu.out
    printf '$ qemu-system-x86_64 -S ... %s\n' "$*"
    qemu-system-x86_64 -S -display none -nodefaults -no-user-config -machine q35 \
        -accel tcg,tb-size=16 -m 32M -monitor stdio "$@" </tmp/qemu.in >/tmp/qemu.out 2>&1 &
    QEMU_PID=$!
    exec 7>/tmp/qemu.in
    _i=0
    until grep -q '(qemu)' /tmp/qemu.out; do
        kill -0 "$QEMU_PID" 2>/dev/null || { cat /tmp/qemu.out; fail "QEMU exited during start-up"; }
        [ $_i -lt 300 ] || { cat /tmp/qemu.out; fail "QEMU did not start its monitor within 30 s"; }
        sleep 0.1; _i=$((_i + 1))
    done
    note "ok: QEMU pid $QEMU_PID is up (monitor prompt)"
}
qemu_monitor() {
    _before=$(wc -c < /tmp/qemu.out)
    printf '%s\n' "$1" >&7
    _i=0
    while :; do
        QEMU_REPLY=$(tail -c +$((_before + 1)) /tmp/qemu.out)
        case $QEMU_REPLY in *"${2:-(qemu)}"*) break;; esac
        kill -0 "$QEMU_PID" 2>/dev/null || { printf '%s\n' "$QEMU_REPLY"; fail "QEMU exited after '$1'"; }
        [ $_i -lt 300 ] || { printf '%s\n' "$QEMU_REPLY"; fail "no '${2:-(qemu)}' from QEMU within 30 s after '$1'"; }
        sleep 0.1; _i=$((_i + 1))
    done
}
qemu_quit() {
    printf 'quit\n' >&7 2>/dev/null || true
    exec 7>&-
    _i=0
    while kill -0 "$QEMU_PID" 2>/dev/null; do
        [ $_i -lt 100 ] || { kill -9 "$QEMU_PID"; break; }
        sleep 0.1; _i=$((_i + 1))
    done
    wait "$QEMU_PID" 2>/dev/null || true
    note "ok: QEMU pid $QEMU_PID has exited"
}
# fds_of PID -> the targets of its open file descriptors, one per line, sorted
fds_of() { for f in /proc/$1/fd/*; do readlink "$f"; done 2>/dev/null | sort -u; }
# qemu_info_pci WAIT_FOR: `info pci` until WAIT_FOR (e.g. 'id "vf0"'), then the rest of the
#   answer up to the prompt; INFO is the monitor's whole output, its device lines are echoed
qemu_info_pci() {
    qemu_monitor "info pci" "$1"
    qemu_monitor ""
    INFO=$(cat /tmp/qemu.out)
    printf '%s\n' "$INFO" | grep -E 'Bus +[0-9]+, device|PCI device|id "' | sed 's/^/  qemu| /'
}
# qemu_fds: FDS is what QEMU holds open (fds_of $QEMU_PID); its vfio and iommu files are echoed
qemu_fds() {
    FDS=$(fds_of "$QEMU_PID")
    printf '%s\n' "$FDS" | grep -E 'vfio|iommu' | sed 's/^/  fd| /'
}

# --- a process that opens a vfio device as a VM does (the simulated NVIDIA driver's cases) ---
# vfio_hold SYSFSDIR NAME: a background `vmtool vfio-hold` opens /dev/vfio/<group of SYSFSDIR>,
#   attaches it to a container with the type1 IOMMU and holds the device fd of NAME (an mdev
#   UUID or a PCI address) until killed; sets HOLD_PID (end it with `release`).
vfio_hold() {
    _g=$(iommu_group "$1")
    [ -n "$_g" ] || fail "$1 has no IOMMU group"
    vmtool vfio-hold "/dev/vfio/$_g" "$2" >/tmp/.vm-hold 2>&1 &
    HOLD_PID=$!
    await_hold "/dev/vfio/$_g and the device fd of $2" "could not open $2 through /dev/vfio/$_g"
}
# hold_first_mdev: vfio_hold of the first mdev on the bus; sets HELD (its UUID) and HOLD_PID
hold_first_mdev() {
    HELD=$(first_mdev)
    vfio_hold "/sys/bus/mdev/devices/$HELD" "$HELD"
}
# start_vgpu_manager: a process named nvidia-vgpu-mgr (hostdev looks for NVIDIA's vGPU
#   manager by its name); sets MGR (end it with `kill $MGR`)
start_vgpu_manager() {
    cp /usr/local/bin/vmtool /tmp/nvidia-vgpu-mgr
    /tmp/nvidia-vgpu-mgr hold /dev/null >/dev/null 2>&1 &
    MGR=$!
}

# --- hostdev plan / apply / status ---------------------------------------------------
AUDIT=/var/log/hostdev/audit.jsonl
# plan_creates CONFIG N: the plan of CONFIG (exit 2: changes pending) creates N mdevs;
#   PLANNED is their UUIDs, sorted, one per line
plan_creates() {
    assert_exit 2 hostdev plan -f "$1" -o json --detailed-exitcode
    PLANNED=$(printf '%s\n' "$OUT" | grep -A1 '"action": "create"' | sed -n 's/.*"uuid": "\(.*\)".*/\1/p' | sort)
    assert_eq "$2" "$(printf '%s\n' "$PLANNED" | grep -c .)" "planned creations"
}
# assert_converged CONFIG: a second apply of CONFIG writes nothing (the audit log is
#   unchanged) and plan --detailed-exitcode is 0
assert_converged() {
    cp "$AUDIT" /tmp/audit.before
    assert_exit 0 hostdev apply -f "$1" --yes
    assert_contains "$OUT" "host already matches $1"
    cmp "$AUDIT" /tmp/audit.before || fail "audit log changed on a converged host"
    assert_exit 0 hostdev plan -f "$1" --detailed-exitcode
}
# assert_type_change CONFIG REMOVED CREATED TYPE: one apply of CONFIG removes REMOVED mdevs
#   and creates CREATED of TYPE, the only mdevs left; CONFIG is then converged
assert_type_change() {
    assert_exit 0 hostdev apply -f "$1" --yes
    printf '%s\n' "$OUT"
    assert_contains "$OUT" "removed $2 mdev(s), created $3 mdev(s)"
    assert_eq "$3" "$(mdev_count)" "mdevs"
    assert_mdev_types "$4"
    assert_exit 0 hostdev plan -f "$1" --detailed-exitcode
}
# status_device ID: the JSON object of device ID (PCI address or UUID) in $OUT (`status -o
#   json`), from its address/uuid line to the end of its holders list.
status_device() {
    printf '%s\n' "$OUT" | awk -v id="$1" '
        $0 ~ "\"(address|uuid)\": \"" id "\"" { on = 1 }
        on { print }
        on && /"holders": \[\]/ { exit }
        on && h && /^ *\]/ { exit }
        on && /"holders": \[$/ { h = 1 }'
}
# assert_status_held ID PID COMMAND: in $OUT (`status -o json`) device ID is healthy and in
#   use by PID, whose command starts with COMMAND
assert_status_held() {
    _d=$(status_device "$1")
    printf '%s\n' "$_d" | sed 's/^/  json| /'
    assert_contains "$_d" '"healthy": true' "status -o json, device $1"
    assert_contains "$_d" '"in_use": true' "status -o json, device $1"
    assert_contains "$_d" "\"pid\": $2," "status -o json, device $1"
    assert_contains "$_d" "\"command\": \"$3" "status -o json, device $1"
}
