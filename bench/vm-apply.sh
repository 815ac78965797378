#!/usr/bin/env bash
# bench/vm-apply.sh -- hostdev apply on a real kernel (the tests/vm VM), two measurements:
#
#   gpus: `hostdev apply --yes` (one worker per GPU, the default) vs `--jobs 1` on N = 1, 2,
#         4 simulated NVIDIA A40s (tests/vm/nvsim, mode vf, create_delay_ms=100: every vGPU
#         creation sleeps 100 ms in the driver), VFs enabled by the script as
#         `sriov-manage -e` does, a config that fills every GPU (A40-8Q: 6 per GPU), a
#         teardown after every apply. Table: N, sequential s, parallel s, ratio (medians),
#         `hostdev plan` before the applies, the same apply again with nothing left to do,
#         and the best ratio that plan time allows: (plan + 6d) / (plan + 6Nd). The verdict
#         is on the ratio of the medians; "paired ratio" is the median of the rounds' own
#         ratios (both modes run back to back: less exposed to a host whose load drifts).
#         Targets: ratio <= 0.6 at N=2, <= 0.35 at N=4, <= 1.0 (+10 % noise) at N=1.
#   raw:  the kernel's mdev samples (mtty, mdpy, mbochs), 20 mdevs (mtty-2 x12, mdpy-vga x4,
#         mbochs-large x4): `hostdev apply --yes` vs the same 20 `echo UUID > .../create`
#         writes from a shell loop (the lines `apply --dry-run` prints; removed again) vs one
#         `hostdev plan` (and the apply again, converged). Target: apply <= raw + 1.3 x plan.
#
#   bench/vm-apply.sh [-k SERIES] [-r ROUNDS] [-d DELAY_MS] [-g "1 2 4"] [--no-build]
#                     [--only gpus|raw] [--keep-logs DIR]
#
#   -k SERIES      kernel series of the VM (default 6.1; 6.12 if set up)
#   -r ROUNDS      rounds per figure (default 3; medians)
#   -d DELAY_MS    nvsim create_delay_ms (default 100)
#   -g "LIST"      GPU counts (default "1 2 4"; at most 4)
#   --no-build     do not run `cargo build --release` (HOSTDEV_BIN= or target/release/hostdev)
#   --only WHAT    only the gpus or only the raw measurement
#   --keep-logs D  keep the VM consoles in D (default: a temporary directory, removed)
#
# Needs what tests/vm/run.sh needs (root, tests/vm/setup.sh done for the kernel). One VM
# per measurement, one after the other. Guest times come from /proc/uptime (10 ms steps,
# read with shell builtins; busybox date has no %N); figures are medians of the rounds.
# Environment: HOSTDEV_BIN (binary to measure), HOSTDEV_VM_* as for tests/vm/run.sh
# (HOSTDEV_VM_SMP: guest CPUs, default 1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SERIES=${HOSTDEV_VM_KERNEL:-6.1}
ROUNDS=3
DELAY=100
GPUS="1 2 4"
BUILD=1
ONLY=""
LOGS=""

usage() { sed -n '2,34p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 64; }
die() { printf 'vm-apply: ERROR: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        -k) SERIES=$2; shift 2;;
        -r) ROUNDS=$2; shift 2;;
        -d) DELAY=$2; shift 2;;
        -g) GPUS=$2; shift 2;;
        --no-build) BUILD=0; shift;;
        --only) ONLY=$2; shift 2;;
        --keep-logs) LOGS=$2; shift 2;;
        -h|--help) usage;;
        *) printf 'vm-apply: unknown argument %s\n' "$1" >&2; usage;;
    esac
done
case $ROUNDS in ''|*[!0-9]*|0) die "-r needs a positive number";; esac
case $DELAY in ''|*[!0-9]*) die "-d needs a number of milliseconds";; esac
for n in $GPUS; do case $n in 1|2|3|4) ;; *) die "-g: GPU counts are 1 to 4, not $n";; esac; done
case $ONLY in ''|gpus|raw) ;; *) die "--only gpus|raw";; esac

BIN=${HOSTDEV_BIN:-$REPO/target/release/hostdev}
if [ $BUILD = 1 ] && [ -z "${HOSTDEV_BIN:-}" ]; then
    echo "vm-apply: building: cargo build --release --locked" >&2
    (cd "$REPO" && nice -n 10 cargo build --release --locked --quiet) || die "cargo build --release failed"
fi
[ -x "$BIN" ] || die "no hostdev binary at $BIN (build it or set HOSTDEV_BIN=)"

WORK=$(mktemp -d /tmp/hostdev-vm-apply.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
[ -n "$LOGS" ] || LOGS=$WORK/logs
mkdir -p "$LOGS"

# The guest part shared by both cases: a clock and a timer.
cat > "$WORK/common.sh" <<'EOF'
# clock: sets NOW to the seconds since boot in 10 ms steps (/proc/uptime), as an integer
# count of 10 ms, with shell builtins only (no fork: cheap next to what is measured;
# /proc/timer_list has ns but costs ~15 ms a read under TCG)
clock() { read -r _up _ < /proc/uptime; NOW=${_up%.*}${_up#*.}; }
# secs T0 T1: seconds between two clock readings
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 100 }'; }
# timed CMD...: runs CMD (stdout/stderr to /tmp/out, /tmp/err), sets SECS and RC
timed() {
    clock; _t0=$NOW
    RC=0
    "$@" >/tmp/out 2>/tmp/err || RC=$?
    clock; _t1=$NOW
    SECS=$(secs "$_t0" "$_t1")
}
# the clock's own cost: an empty interval
timed true
note "clock: /proc/uptime (10 ms); an empty interval reads $SECS s; guest CPUs: $(grep -c ^processor /proc/cpuinfo)"
EOF

# ------------------------------------------------------------------ gpus: N GPUs
MAXG=1
for n in $GPUS; do [ "$n" -le "$MAXG" ] || MAXG=$n; done
[ "$MAXG" -le 2 ] || MAXG=4
{
    echo "# vm-nvsim"
    echo "# vm-nvsim-gpus: $MAXG"
    echo "# vm-timeout: 1800"
    echo "ROUNDS=$ROUNDS DELAY=$DELAY GPUS=\"$GPUS\""
    cat "$WORK/common.sh"
    cat <<'EOF'
ALL="0000:04:00.0 0000:05:00.0 0000:06:00.0 0000:07:00.0"
C=/tmp/bench-a40-8q.yaml
cat > "$C" <<'YAML'
mediatedDevicesConfiguration:
  mediatedDeviceTypes: [nvidia-558]
permittedHostDevices:
  mediatedDevices:
  - mdevNameSelector: NVIDIA A40-8Q
    resourceName: nvidia.com/A40_8Q
YAML
start_vgpu_manager
for n in $GPUS; do
    step "$n GPU(s): modprobe nvsim mode=vf create_delay_ms=$DELAY; VFs enabled on $n PF(s)"
    PFS=$(echo $ALL | tr ' ' '\n' | head -n "$n" | tr '\n' ' ')
    # the other PFs stay igbs without a driver: not GPUs for hostdev
    for pf in $ALL; do
        [ -e "$PCI/$pf" ] || continue
        case " $PFS " in *" $pf "*) echo > "$PCI/$pf/driver_override";; *) echo none > "$PCI/$pf/driver_override";; esac
    done
    modprobe nvsim mode=vf create_delay_ms="$DELAY"
    for pf in $PFS; do
        assert_eq nvidia "$(pci_driver $pf)" "driver of $pf"
        assert_write_ok "$PCI/$pf/sriov_numvfs" "$(cat "$PCI/$pf/sriov_totalvfs")"
    done
    for pf in $PFS; do
        last=$(basename "$(readlink "$PCI/$pf/virtfn7")")
        _i=0
        while [ ! -e "$PCI/$last/mdev_supported_types/nvidia-558" ]; do
            _i=$((_i + 1)); [ $_i -lt 100 ] || fail "$last offers no nvidia-558"; sleep 0.1
        done
    done
    assert_exit 0 hostdev list-types
    printf '%s\n' "$OUT" | grep -E '^0000:0[4-7]:00\.0 +10de' || true
    want=$((6 * n))
    plan_creates "$C" "$want"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        # alternate the order, so that neither mode always runs first
        if [ $((r % 2)) = 1 ]; then order="seq par"; else order="par seq"; fi
        # the part both modes share: reading the host and planning (nothing exists yet)
        timed hostdev plan -f "$C"
        case $RC in 0|2) ;; *) cat /tmp/out /tmp/err; fail "plan exited $RC";; esac
        echo "BENCH-GPUS $n plan $r $SECS"
        for mode in $order; do
            if [ $mode = seq ]; then timed hostdev apply -f "$C" --yes --jobs 1
            else timed hostdev apply -f "$C" --yes; fi
            [ "$RC" = 0 ] || { cat /tmp/out /tmp/err; fail "apply ($mode) exited $RC"; }
            grep -q "created $want mdev(s)" /tmp/out || { cat /tmp/out; fail "apply ($mode) did not create $want mdevs"; }
            assert_eq "$want" "$(mdev_count)" "mdevs after apply ($mode)"
            echo "BENCH-GPUS $n $mode $r $SECS"
            # the fixed part: the same apply once more, with nothing left to write
            if [ $mode = seq ]; then timed hostdev apply -f "$C" --yes --jobs 1
            else timed hostdev apply -f "$C" --yes; fi
            [ "$RC" = 0 ] || { cat /tmp/out /tmp/err; fail "the converged apply exited $RC"; }
            echo "BENCH-GPUS $n noop $r $SECS"
            assert_exit 0 hostdev teardown --yes
            assert_eq 0 "$(mdev_count)" "mdevs after teardown"
        done
        r=$((r + 1))
    done
    for pf in $PFS; do assert_write_ok "$PCI/$pf/sriov_numvfs" 0; done
    rmmod nvsim
done
kill $MGR 2>/dev/null || true
EOF
} > "$WORK/gpus.sh"

# ------------------------------------------------------------------ raw: 20 sample mdevs
{
    echo "# vm-timeout: 900"
    echo "ROUNDS=$ROUNDS"
    cat "$WORK/common.sh"
    cat <<'EOF'
C=/tmp/bench-samples.yaml
cat > "$C" <<'YAML'
mediatedDevicesConfiguration:
  mediatedDeviceTypes: [mtty-2, mdpy-vga, mbochs-large]
YAML
step "20 mdevs on the kernel's samples: mtty-2 x12, mdpy-vga x4, mbochs-large x4"
plan_creates "$C" 20
assert_exit 0 hostdev apply -f "$C" --dry-run
printf '%s\n' "$OUT" | grep '^echo .* > /sys/class/mdev_bus/.*/create$' > /tmp/writes.sh
assert_eq 20 "$(grep -c . /tmp/writes.sh)" "the dry run's create writes"
head -2 /tmp/writes.sh
# the raw loop: each line is `echo UUID > PATH`, one write per mdev
raw_create() { while read -r _e _u _gt _p; do echo "$_u" > "$_p"; done < /tmp/writes.sh; }
raw_remove() { for _u in $(ls /sys/bus/mdev/devices); do echo 1 > "/sys/bus/mdev/devices/$_u/remove"; done; }
r=1
while [ $r -le "$ROUNDS" ]; do
    case $((r % 3)) in 1) order="plan apply raw";; 2) order="raw plan apply";; 0) order="apply raw plan";; esac
    for what in $order; do
        case $what in
            plan)
                timed hostdev plan -f "$C"
                case $RC in 0|2) ;; *) cat /tmp/out /tmp/err; fail "plan exited $RC";; esac
                grep -q . /tmp/out || fail "plan printed nothing";;
            apply)
                timed hostdev apply -f "$C" --yes
                [ "$RC" = 0 ] || { cat /tmp/out /tmp/err; fail "apply exited $RC"; }
                assert_eq 20 "$(mdev_count)" "mdevs after apply"
                _apply=$SECS
                # the fixed part: the same apply once more, with nothing left to write
                timed hostdev apply -f "$C" --yes
                [ "$RC" = 0 ] || { cat /tmp/out /tmp/err; fail "the converged apply exited $RC"; }
                echo "BENCH-RAW noop $r $SECS"
                SECS=$_apply
                assert_exit 0 hostdev teardown --yes;;
            raw)
                timed raw_create
                [ "$RC" = 0 ] || { cat /tmp/err; fail "the raw writes failed"; }
                assert_eq 20 "$(mdev_count)" "mdevs after the raw writes"
                raw_remove;;
        esac
        assert_eq 0 "$(mdev_count)" "mdevs after $what"
        echo "BENCH-RAW $what $r $SECS"
    done
    r=$((r + 1))
done
EOF
} > "$WORK/raw.sh"

# ------------------------------------------------------------------ run the VMs
run_vm() { # NAME: boots the VM on $WORK/NAME.sh; the console in $LOGS/NAME.log
    local name=$1 rc=0
    cp "$WORK/$name.sh" "$WORK/vm-apply-$name.sh"
    echo "vm-apply: booting the $SERIES VM for '$name' (console: $LOGS/$name.log)" >&2
    "$REPO/tests/vm/run.sh" --kernel "$SERIES" --binary "$BIN" "$WORK/vm-apply-$name.sh" \
        > "$LOGS/$name.log" 2>&1 || rc=$?
    if [ $rc != 0 ]; then
        tail -40 "$LOGS/$name.log" >&2
        die "the '$name' VM failed (status $rc); console: $LOGS/$name.log"
    fi
    grep -E '^vm-run: case|clock:' "$LOGS/$name.log" | tr -d '\r' >&2 || true
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
kver() { tr -d '\r' < "$1" | sed -n 's/^vm-guest: kernel \([^;]*\);.*/\1/p' | head -1; }
FAILED=0
ok() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

if [ "$ONLY" != raw ]; then
    run_vm gpus
    L=$LOGS/gpus.log
    echo
    echo "apply on N simulated A40s (nvsim vf, create_delay_ms=$DELAY, A40-8Q x6 per GPU), kernel $(kver "$L"), medians of $ROUNDS"
    printf '| %2s | %5s | %12s | %10s | %5s | %12s | %-13s | %6s | %13s | %10s |\n' N vGPUs "sequential s" "parallel s" ratio "paired ratio" target "plan s" "no-op apply s" "best ratio"
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---: ------: -------------: -----------: ------: -------------: --------------- -------: --------------: -----------:
    for n in $GPUS; do
        s=$(tr -d '\r' < "$L" | awk -v n="$n" '$1 == "BENCH-GPUS" && $2 == n && $3 == "seq" { print $5 }' | median)
        p=$(tr -d '\r' < "$L" | awk -v n="$n" '$1 == "BENCH-GPUS" && $2 == n && $3 == "par" { print $5 }' | median)
        f=$(tr -d '\r' < "$L" | awk -v n="$n" '$1 == "BENCH-GPUS" && $2 == n && $3 == "noop" { print $5 }' | median)
        q=$(tr -d '\r' < "$L" | awk -v n="$n" '$1 == "BENCH-GPUS" && $2 == n && $3 == "plan" { print $5 }' | median)
        # the best ratio possible with that plan time and the driver's sleeps alone
        best=$(awk -v q="$q" -v n="$n" -v d="$DELAY" 'BEGIN { printf "%.2f", (q + 6 * d / 1000) / (q + 6 * n * d / 1000) }')
        ratio=$(awk -v s="$s" -v p="$p" 'BEGIN { printf "%.2f", p / s }')
        # paired: the ratio of each round (both modes ran back to back), then the median
        rr=$(tr -d '\r' < "$L" | awk -v n="$n" '$1 == "BENCH-GPUS" && $2 == n && $3 == "seq" { s[$4] = $5 } $1 == "BENCH-GPUS" && $2 == n && $3 == "par" { p[$4] = $5 } END { for (r in s) if (r in p) printf "%.3f\n", p[r] / s[r] }' | median)
        rr=$(awk -v x="$rr" 'BEGIN { printf "%.2f", x }')
        case $n in 1) lim=1.10;; 2) lim=0.60;; 4) lim=0.35;; *) lim="";; esac
        if [ -z "$lim" ]; then verdict="-"
        elif ok "$ratio" "$lim"; then verdict="<=$lim ok"
        else verdict="<=$lim MISSED"; FAILED=1; fi
        printf '| %2s | %5s | %12s | %10s | %5s | %12s | %-13s | %6s | %13s | %10s |\n' "$n" $((6 * n)) "$s" "$p" "$ratio" "$rr" "$verdict" "$q" "$f" "$best"
    done
    echo "per round (s): $(tr -d '\r' < "$L" | awk '$1 == "BENCH-GPUS" { printf "%sN%s/%s#%s=%s", sep, $2, $3, $4, $5; sep = " " }')"
fi

if [ "$ONLY" != gpus ]; then
    run_vm raw
    L=$LOGS/raw.log
    a=$(tr -d '\r' < "$L" | awk '$1 == "BENCH-RAW" && $2 == "apply" { print $4 }' | median)
    w=$(tr -d '\r' < "$L" | awk '$1 == "BENCH-RAW" && $2 == "raw" { print $4 }' | median)
    p=$(tr -d '\r' < "$L" | awk '$1 == "BENCH-RAW" && $2 == "plan" { print $4 }' | median)
    lim=$(awk -v w="$w" -v p="$p" 'BEGIN { printf "%.3f", w + 1.3 * p }')
    echo
    echo "apply --yes vs raw writes (mdev samples, 20 mdevs), kernel $(kver "$L"), medians of $ROUNDS"
    printf '| %-34s | %7s | %s |\n' what "wall s" rounds
    printf '|%s|%s|%s|\n' ------------------------------------ --------: --------
    f=$(tr -d '\r' < "$L" | awk '$1 == "BENCH-RAW" && $2 == "noop" { print $4 }' | median)
    for k in apply raw plan noop; do
        case $k in
            apply) label='`hostdev apply --yes`'; v=$a;;
            raw) label='20 `echo UUID > …/create` (shell)'; v=$w;;
            plan) label='one `hostdev plan`'; v=$p;;
            noop) label='`apply --yes`, nothing to do'; v=$f;;
        esac
        printf '| %-34s | %7s | %s |\n' "$label" "$v" "$(tr -d '\r' < "$L" | awk -v k="$k" '$1 == "BENCH-RAW" && $2 == k { printf "%s%s", sep, $4; sep = " " }')"
    done
    # paired: apply - (raw + 1.3 x plan) of each round (measured back to back), median
    pm=$(tr -d '\r' < "$L" | awk '$1 == "BENCH-RAW" { v[$2, $3] = $4; r[$3] = 1 } END { for (i in r) printf "%.3f\n", v["apply", i] - v["raw", i] - 1.3 * v["plan", i] }' | median)
    echo "paired, per round: apply - (raw + 1.3 x plan), median $pm s ($([ "${pm#-}" != "$pm" ] && echo "apply is below the limit" || echo "apply is above the limit"))"
    if ok "$a" "$lim"; then
        echo "apply $a s <= raw + 1.3 x plan = $lim s: target met"
    else
        echo "apply $a s > raw + 1.3 x plan = $lim s: target MISSED by $(awk -v a="$a" -v l="$lim" 'BEGIN { printf "%.3f s (%.0f %%)", a - l, 100 * (a - l) / l }')"
        FAILED=1
    fi
fi
exit $FAILED
