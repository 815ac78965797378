#!/usr/bin/env bash
# tests/vm/run-suite.sh — the real-kernel suite: build hostdev, set up the VM cache,
# boot one VM per case in tests/vm/cases/*.sh, report PASS/FAIL per case with timing,
# and end with exactly one line "vm-suite: N passed, N failed".
#
#   tests/vm/run-suite.sh [-j JOBS] [-k KERNEL]... [CASE...]
#       CASE: a file, or a name/prefix such as 04; KERNEL: 6.1 or 6.12 (default both)
#
# Every case runs once per kernel series (a case's "# vm-kernels:" header narrows that),
# labelled with its kernel: "PASS  6.12  22-bind-vfio". The last line counts the whole
# kernel x case matrix.
#
#   HOSTDEV_BIN=PATH      use this binary instead of `cargo build --release --locked`
#   HOSTDEV_VM_JOBS=N     VMs booted in parallel (default 1; each TCG VM uses one core)
#   HOSTDEV_VM_KERNELS    kernel series (default "6.1 6.12"; -k adds to an explicit list)
#   HOSTDEV_VM_VERBOSE=1  stream every console (default: only failing cases' consoles)
#   HOSTDEV_VM_LOGS=DIR   per-case console logs (default target/vm-logs)
#   CI=true               a missing prerequisite is a failure, never a skip
# plus everything tests/vm/setup.sh and tests/vm/run.sh take (HOSTDEV_VM_CACHE,
# HOSTDEV_VM_ACCEL=tcg|kvm, HOSTDEV_VM_TIMEOUT, ...).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
JOBS=${HOSTDEV_VM_JOBS:-1}
LOGS=${HOSTDEV_VM_LOGS:-$REPO/target/vm-logs}
KERNELS=${HOSTDEV_VM_KERNELS:-}
IS_CI=0; case ${CI:-} in true|1|yes) IS_CI=1;; esac
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# A prerequisite is missing: under CI a failure, otherwise a loud skip.
unavailable() {
    if [ $IS_CI = 1 ]; then
        printf 'vm-suite: ERROR (CI): %s\n' "$*" >&2
        echo "vm-suite: 0 passed, 1 failed"
        exit 1
    fi
    printf '\nvm-suite: ********************************************************\n' >&2
    printf 'vm-suite: SKIPPED: %s\n' "$*" >&2
    printf 'vm-suite: ********************************************************\n' >&2
    echo "vm-suite: 0 passed, 0 failed (skipped)"
    exit 0
}

CASES=()
while [ $# -gt 0 ]; do
    case $1 in
        -j) JOBS=$2; shift 2;;
        -j*) JOBS=${1#-j}; shift;;
        -k) KERNELS="$KERNELS $2"; shift 2;;
        -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0;;
        *) if [ -f "$1" ]; then CASES+=("$1")
           else
               m=("$HERE"/cases/"$1"*.sh)
               [ -f "${m[0]}" ] || { echo "vm-suite: no case matches $1" >&2; exit 64; }
               CASES+=("${m[@]}")
           fi
           shift;;
    esac
done
[ ${#CASES[@]} -gt 0 ] || CASES=("$HERE"/cases/*.sh)
KERNELS=$(echo ${KERNELS:-6.1 6.12})

# ------------------------------------------------------------------ prerequisites
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || unavailable "needs Linux x86_64 (this is $(uname -s) $(uname -m))"

# 1. the binary
if [ -n "${HOSTDEV_BIN:-}" ]; then
    BIN=$HOSTDEV_BIN
    [ -x "$BIN" ] || { echo "vm-suite: ERROR: HOSTDEV_BIN=$BIN is not executable" >&2; echo "vm-suite: 0 passed, 1 failed"; exit 1; }
else
    command -v cargo >/dev/null || unavailable "cargo not found (or set HOSTDEV_BIN)"
    echo "vm-suite: cargo build --release --locked"
    tb=$(date +%s.%N)
    (cd "$REPO" && cargo build --release --locked --bin hostdev && cargo build --release --locked -p hostdev-sim) \
        || { echo "vm-suite: ERROR: cargo build failed" >&2; echo "vm-suite: 0 passed, 1 failed"; exit 1; }
    BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/hostdev
    echo "vm-suite: built $BIN in $(since "$tb") s"
fi

# 2. the VM cache
ts=$(date +%s.%N)
if [ "$(id -u)" -eq 0 ]; then
    bash "$HERE/setup.sh" $KERNELS; src=$?
    case $src in
        0) ;;
        3) unavailable "tests/vm/setup.sh says this host cannot run the VM (see above)";;
        *) [ $IS_CI = 1 ] && unavailable "tests/vm/setup.sh failed (status $src, see above)"
           echo "vm-suite: ERROR: tests/vm/setup.sh failed (status $src, see above)" >&2
           echo "vm-suite: 0 passed, 1 failed"; exit 1;;
    esac
elif [ -f "${HOSTDEV_VM_CACHE:-/var/cache/hostdev-vm}/${KERNELS%% *}.env" ]; then
    echo "vm-suite: not root: using the existing VM cache without running setup.sh"
else
    unavailable "the VM cache is not set up and setup needs root: run sudo tests/vm/setup.sh"
fi
echo "vm-suite: setup took $(since "$ts") s"

# ------------------------------------------------------------------ the cases
# the matrix: every case on every kernel it allows (# vm-kernels: narrows it)
# Long cases first (those with a "# vm-timeout:" above the default), so that two VMs at a
# time do not end with one long case running alone; otherwise in name order.
JOB_CASE=(); JOB_KERNEL=()
ORDERED=()
while read -r _ c; do ORDERED+=("$c"); done < <(
    i=0
    for c in "${CASES[@]}"; do
        t=$(sed -n 's/^# *vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$c" | head -1)
        printf '%06d %04d %s\n' "$((999999 - ${t:-120}))" "$i" "$c"; i=$((i + 1))
    done | sort | cut -d' ' -f1,3-)
for c in "${ORDERED[@]}"; do
    only=$(sed -n 's/^# *vm-kernels: *//p' "$c" | head -1)
    for k in $KERNELS; do
        if [ -n "$only" ]; then case " $only " in *" $k "*) ;; *) continue;; esac; fi
        JOB_CASE+=("$c"); JOB_KERNEL+=("$k")
    done
done
for k in $KERNELS; do mkdir -p "$LOGS/$k"; done
RES=$(mktemp -d)
trap 'rm -rf "$RES"' EXIT
run_case() {   # INDEX
    local c=${JOB_CASE[$1]} k=${JOB_KERNEL[$1]} n log t rc
    n=$(basename "$c" .sh); log=$LOGS/$k/$n.log
    t=$(date +%s.%N)
    if [ "${HOSTDEV_VM_VERBOSE:-0}" = 1 ] && [ "$JOBS" = 1 ]; then
        bash "$HERE/run.sh" --kernel "$k" --binary "$BIN" "$c" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
    else
        bash "$HERE/run.sh" --kernel "$k" --binary "$BIN" "$c" >"$log" 2>&1; rc=$?
    fi
    # A VM that never reached the case (the kernel did not boot under TCG on a loaded
    # host) is booted once more; the first console stays in the log, and the retry is said.
    if [ "$rc" != 0 ] && ! grep -q '^vm-guest: running case' "$log"; then
        mv "$log" "$log.boot-failed"
        { echo "vm-suite: the first boot did not reach the case (status $rc; console in $log.boot-failed): booting once more"
          bash "$HERE/run.sh" --kernel "$k" --binary "$BIN" "$c"; } >"$log" 2>&1; rc=$?
        echo "vm-suite: note: $k $n: the first boot failed before the case started (console $log.boot-failed); retried, status $rc" >> "$RES/retries"
    fi
    printf '%s %s %s %s\n' "$rc" "$(since "$t")" "$k" "$n" > "$RES/$1.tmp"
    mv "$RES/$1.tmp" "$RES/$1"
}
report() {   # INDEX
    local rc dt k n
    read -r rc dt k n < "$RES/$1"
    if [ "$rc" = 0 ]; then
        printf 'PASS  %-5s %-36s %6s s\n' "$k" "$n" "$dt"
    else
        if [ "${HOSTDEV_VM_VERBOSE:-0}" != 1 ] || [ "$JOBS" != 1 ]; then
            printf '%s\n' "---- console of $n on kernel $k (status $rc) ----"
            cat "$LOGS/$k/$n.log"
            printf '%s\n' "---- end of $n on kernel $k ----"
        fi
        printf 'FAIL  %-5s %-36s %6s s  (status %s%s; log %s)\n' "$k" "$n" "$dt" "$rc" \
            "$([ "$rc" = 124 ] && echo ', timeout')" "$LOGS/$k/$n.log"
    fi
}

N=${#JOB_CASE[@]}
echo "vm-suite: ${#CASES[@]} case(s) x kernels [$KERNELS] = $N run(s), $JOBS at a time, accel=${HOSTDEV_VM_ACCEL:-tcg}, binary $BIN"
tc=$(date +%s.%N)
i=0; running=0; next=0
while [ "$i" -lt "$N" ]; do
    run_case "$i" &
    i=$((i + 1)); running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
    # report finished runs in order
    while [ "$next" -lt "$i" ] && [ -f "$RES/$next" ]; do report "$next"; next=$((next + 1)); done
done
wait
while [ "$next" -lt "$i" ]; do report "$next"; next=$((next + 1)); done

pass=0; failed=0
for k in $KERNELS; do
    kp=0; kf=0
    for f in "$RES"/[0-9]*; do
        [ -f "$f" ] || continue
        read -r rc _ fk _ < "$f"
        [ "$fk" = "$k" ] || continue
        if [ "$rc" = 0 ]; then kp=$((kp + 1)); else kf=$((kf + 1)); fi
    done
    echo "vm-suite: kernel $k ($(sed -n 's/^kver=//p' "${HOSTDEV_VM_CACHE:-/var/cache/hostdev-vm}/$k.env" 2>/dev/null)): $kp passed, $kf failed"
    pass=$((pass + kp)); failed=$((failed + kf))
done
[ $((pass + failed)) = "$N" ] || { echo "vm-suite: ERROR: $N runs but $((pass + failed)) results" >&2; failed=$((N - pass)); }
[ ! -f "$RES/retries" ] || cat "$RES/retries"
echo "vm-suite: cases took $(since "$tc") s; total $(since "$T0") s (logs in $LOGS/<kernel>/)"
echo "vm-suite: $pass passed, $failed failed"
[ "$failed" = 0 ]
