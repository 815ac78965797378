#!/usr/bin/env bash
# Verify contrib/systemd/hostdev.service (and hostdev-status.{service,timer}) as installed by contrib/install.sh, without a
# running systemd (containers, CI). Run as root from anywhere:  bash tests/systemd-verify.sh
#
# 1. installs systemd's tooling (systemd-analyze and the stock units) with apt if missing;
# 2. stages an install with `contrib/install.sh --destdir TMP` (the release binary if built,
#    else the debug one; HOSTDEV_BIN overrides);
# 3. `systemd-analyze verify` on a copy of the staged unit whose ExecStart= paths point at
#    the staged binary (verify needs the executables to exist, and checks only the first
#    ExecStart= without a `-` prefix), with MANPATH at the staged man pages so that the
#    Documentation=man:... entries are checked too; any diagnostic fails the step;
# 4. checks every ExecStart= executable, and runs each ExecStart= command line (plus
#    --dry-run) against a copy of a fixture to catch flags the binary does not accept;
# 5. scores the hardening with `systemd-analyze security`;
# 6. runs the units' commands in tests/unit-sandbox.sh's reproduction of their sandboxes on
#    simulated hosts (hostdev-sim serve: fixtures behind FUSE mounts whose writes the model
#    of the kernel answers; hostdev-sim is taken from beside the hostdev binary, or
#    HOSTDEV_SIM_BIN), and compares with unsandboxed runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

say() { printf 'systemd-verify: %s\n' "$*"; }
die() { printf 'systemd-verify: FAIL: %s\n' "$*" >&2; exit 1; }

if ! command -v systemd-analyze >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || die "systemd-analyze is missing and installing it needs root (apt-get install systemd)"
    say "installing systemd (for systemd-analyze)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
say "$(systemd-analyze --version | head -n1)"

bin="${HOSTDEV_BIN:-}"
if [[ -z $bin ]]; then
    for b in target/release/hostdev target/debug/hostdev; do
        if [[ -x $b ]]; then bin="$repo/$b"; break; fi
    done
fi
[[ -n $bin && -x $bin ]] || die "no hostdev binary: cargo build --release --locked (or set HOSTDEV_BIN)"
sim="${HOSTDEV_SIM_BIN:-$(dirname "$bin")/hostdev-sim}"
[[ -x $sim ]] || die "no hostdev-sim binary at $sim: cargo build --release --locked -p hostdev-sim (or set HOSTDEV_SIM_BIN)"
sim="$(realpath "$sim")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stage="$tmp/stage"
bash contrib/install.sh --bin "$bin" --destdir "$stage" >/dev/null
unit="$stage/etc/systemd/system/hostdev.service"
[[ -f $unit ]] || die "install.sh did not install $unit"

# A --prefix that would garble the units (sed's `&` and `|`, systemd's word splitting, a
# newline that adds a line such as ExecStartPre=) is refused before anything is installed.
for bad in '/opt/a&b' '/opt/a b' $'/opt/a\nExecStartPre=/bin/sh -c id' '/opt/a|b' '/opt/../etc' 'opt' '/opt/a;b' '/opt/$x'; do
    rm -rf "$tmp/bad"
    if bash contrib/install.sh --bin "$bin" --destdir "$tmp/bad" --prefix "$bad" >/dev/null 2>"$tmp/err"; then
        die "install.sh accepted --prefix $(printf '%q' "$bad")"
    fi
    grep -q -e '--prefix' "$tmp/err" || die "install.sh --prefix $(printf '%q' "$bad"): no message about --prefix: $(cat "$tmp/err")"
    [[ ! -e $tmp/bad ]] || die "install.sh --prefix $(printf '%q' "$bad") installed files before refusing"
done
bash contrib/install.sh --bin "$bin" --destdir "$tmp/good" --prefix /opt/hostdev-1.0_x+y >/dev/null
grep -qx 'ExecStart=/opt/hostdev-1.0_x+y/bin/hostdev apply --yes --wait-for-parents 120' "$tmp/good/etc/systemd/system/hostdev.service" ||
    die "install.sh --prefix /opt/hostdev-1.0_x+y: the unit does not run /opt/hostdev-1.0_x+y/bin/hostdev"
say "ok: install.sh refuses a --prefix with &, a space, a newline, |, .., ; or \$ (and installs nothing); accepts /opt/hostdev-1.0_x+y"

# The staged unit, with its executables pointing into the stage.
mkdir -p "$tmp/units"
sed "s|/usr/local/bin/hostdev|$stage/usr/local/bin/hostdev|g" "$unit" >"$tmp/units/hostdev.service"

man_opt=--man=yes
if ! command -v man >/dev/null 2>&1; then
    say "note: no man(1) here; Documentation= entries not checked (--man=no)"
    man_opt=--man=no
fi
say "systemd-analyze verify $man_opt (unit as installed, ExecStart= in the stage)"
out="$(MANPATH="$stage/usr/local/share/man" SYSTEMD_LOG_LEVEL=notice \
    systemd-analyze verify "$man_opt" "$tmp/units/hostdev.service" 2>&1)" ||
    die "systemd-analyze verify failed:"$'\n'"$out"
[[ -z $out ]] || die "systemd-analyze verify reported:"$'\n'"$out"

# Every ExecStart= command: its executable exists, and the binary accepts its arguments.
root="$tmp/root"
mkdir -p "$root"
cp -a fixtures/t4-3x/. "$root/"
mkdir -p "$root/etc/hostdev"
cp fixtures/t4-3x/config.yaml "$root/etc/hostdev/config.yaml"
echo node1 >"$root/etc/hostname"
n=0
while IFS= read -r line; do
    cmd="${line#ExecStart=}"
    cmd="${cmd#[-@:+!]}"
    read -r -a argv <<<"$cmd"
    [[ -x ${argv[0]} ]] || die "ExecStart= executable ${argv[0]} is missing in the stage"
    # --yes and --dry-run contradict each other (exit 64): the dry run drops --yes
    args=()
    for a in "${argv[@]}"; do [[ $a == --yes ]] || args+=("$a"); done
    set +e
    HOSTDEV_ROOT="$root" "${args[@]}" --dry-run >"$tmp/out" 2>&1
    rc=$?
    set -e
    # 64 = usage error: the unit passes something the binary does not accept.
    [[ $rc -ne 64 ]] || die "'${line}' is not accepted by hostdev:"$'\n'"$(cat "$tmp/out")"
    say "ok: ${line//$stage/} (dry run on fixtures/t4-3x: exit $rc)"
    n=$((n + 1))
done < <(grep '^ExecStart=' "$tmp/units/hostdev.service")
[[ $n -ge 2 ]] || die "expected the bind and apply ExecStart= lines, found $n"
grep -q '^ConditionPathExists=/etc/hostdev/config.yaml$' "$unit" || die "ConditionPathExists=/etc/hostdev/config.yaml missing"
if grep -Eq '^(Wants|Requires)=' "$unit"; then die "the unit must not Want/Require units that may be missing"; fi

# hostdev-status.{service,timer}: the metrics for node_exporter, every minute.
for u in hostdev-status.service hostdev-status.timer; do
    [[ -f $stage/etc/systemd/system/$u ]] || die "install.sh did not install $u"
    sed "s|/usr/local/bin/hostdev|$stage/usr/local/bin/hostdev|g" "$stage/etc/systemd/system/$u" >"$tmp/units/$u"
done
say "systemd-analyze verify $man_opt hostdev-status.timer hostdev-status.service"
out="$(MANPATH="$stage/usr/local/share/man" SYSTEMD_LOG_LEVEL=notice \
    systemd-analyze verify "$man_opt" "$tmp/units/hostdev-status.timer" "$tmp/units/hostdev-status.service" 2>&1)" ||
    die "systemd-analyze verify failed:"$'\n'"$out"
[[ -z $out ]] || die "systemd-analyze verify reported:"$'\n'"$out"
grep -q '^OnUnitActiveSec=1min$' "$tmp/units/hostdev-status.timer" || die "hostdev-status.timer must run every minute"
grep -q '^SuccessExitStatus=1$' "$tmp/units/hostdev-status.service" || die "hostdev-status.service: exit 1 (unhealthy) must not fail the unit"
line="$(grep '^ExecStart=' "$tmp/units/hostdev-status.service")"
read -r -a argv <<<"${line#ExecStart=}"
prom="$tmp/metrics/hostdev.prom"
mkdir -p "$tmp/metrics"
argv=("${argv[@]/\/var\/lib\/prometheus\/node-exporter\/hostdev.prom/$prom}")
set +e
HOSTDEV_ROOT="$root" "${argv[@]}" >"$tmp/out" 2>&1
rc=$?
set -e
[[ $rc -eq 0 || $rc -eq 1 ]] || die "'${line//$stage/}' exited $rc:"$'\n'"$(cat "$tmp/out")"
grep -q '^hostdev_plan_pending_actions ' "$prom" || die "'${line//$stage/}' wrote no metrics to the textfile"
say "ok: ${line//$stage/} (on fixtures/t4-3x: exit $rc, $(grep -c '^hostdev_' "$prom") samples)"

# 5. The hardening: `systemd-analyze security` scores at most the targets.
for pair in hostdev.service:5.0 hostdev-status.service:3.5; do
    u="${pair%%:*}" max="${pair#*:}"
    score="$(systemd-analyze security --offline=true --no-pager "contrib/systemd/$u" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')"
    [[ -n $score ]] || die "systemd-analyze security gave no overall exposure level for $u"
    awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' ||
        die "systemd-analyze security rates $u $score, above $max: harden it again (see the comments in the unit)"
    say "ok: systemd-analyze security $u: $score (at most $max)"
done

# 6. The sandboxes still let the units do their work: each unit's commands run on a simulated
#    host (fixtures/t4-undesired-idle served by `hostdev-sim serve`: hostdev's writes are
#    answered by the model of the kernel, which runs outside the sandbox, as the kernel does)
#    unsandboxed and in tests/unit-sandbox.sh's reproduction of the unit's sandbox, and must
#    do the same. The real /proc is bound at ROOT/proc, where a process of another user
#    (nobody) holds /dev/vfio/15 (mdev ...0002's group) open: the in-use check must still see
#    it through the sandbox. Then broken variants of the units must fail the comparison.
sw="$(mktemp -d /var/lib/hostdev-unit-sandbox.XXXXXX)" # not below /tmp: PrivateTmp= covers it
holder=""
cleanup() { # the /proc binds and the FUSE mounts (deepest first; each server then exits), then the rest
    [[ -n $holder ]] && kill "$holder" 2>/dev/null
    for m in $(awk -v d="$sw/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
    if [[ -f $tmp/servers ]]; then
        while read -r pid; do
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill "$pid" 2>/dev/null || true
        done <"$tmp/servers"
    fi
    rm -rf "$tmp" "$sw"
}
trap cleanup EXIT
cp "$bin" "$sw/hostdev"
unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /dev && mkdir /dev/vfio && : >/dev/vfio/15 &&
    exec setpriv --reuid=65534 --regid=65534 --clear-groups sleep 900 </dev/vfio/15' &
holder=$!
for _ in $(seq 50); do [[ $(readlink "/proc/$holder/fd/0" 2>/dev/null) == /dev/vfio/15 ]] && break; sleep 0.1; done
[[ $(readlink "/proc/$holder/fd/0") == /dev/vfio/15 ]] || die "the holder of /dev/vfio/15 did not start"

new_root() { # DIR: a simulated host at DIR (a fixture with the configuration, served from DIR.src), the real /proc, the metrics directory
    local src="$1.src"
    mkdir -p "$src"
    cp -a fixtures/t4-undesired-idle/. "$src/"
    mkdir -p "$src/etc/hostdev" "$src/proc"
    cp fixtures/t4-undesired-idle/config.yaml "$src/etc/hostdev/config.yaml"
    echo node1 >"$src/etc/hostname"
    rm -rf "${src:?}/proc"/*
    "$sim" serve "$src" "$1" --in-place --background >>"$tmp/servers" 2>>"$tmp/sim.log" ||
        die "hostdev-sim serve $src $1 failed: $(cat "$tmp/sim.log")"
    mount --bind /proc "$1/proc"
}
run_unit() { # UNIT ROOT sandbox|plain: the unit's ExecStartPre=/ExecStart= lines on ROOT; prints the exit codes
    local unit="$1" r="$2" how="$3" line cmd argv rc codes=""
    while IFS= read -r line; do
        cmd="${line#*=}"
        read -r -a argv <<<"${cmd#[-@:+!]}"
        argv=("${argv[@]/#\/var\//$r/var/}")
        if [[ ${argv[0]} == */hostdev ]]; then argv[0]="$sw/hostdev"; fi
        set +e
        if [[ $how == plain || $cmd == +* ]]; then
            HOSTDEV_ROOT="$r" "${argv[@]}"
        else
            HOSTDEV_ROOT="$r" bash tests/unit-sandbox.sh "$unit" "$r" -- "${argv[@]}"
        fi
        rc=$?
        set -e
        codes="$codes $rc"
    done < <(grep -E '^ExecStart(Pre)?=' "$unit") >"$r.log" 2>&1
    echo "${codes# }"
}
plain_run() { # UNIT NAME: the unsandboxed reference run
    new_root "$sw/$2"
    run_unit "$1" "$sw/$2" plain
}
same_work() { # UNIT REFERENCE NAME: run UNIT sandboxed on a new root NAME; 0 when it did what REFERENCE did
    local unit="$1" ref="$2" r="$sw/$3" codes
    new_root "$r"
    codes="$(run_unit "$unit" "$r" sandbox)"
    [[ $codes == "$(cat "$sw/$ref.codes")" ]] || { echo "exit codes: $codes, unsandboxed: $(cat "$sw/$ref.codes")"; cat "$r.log"; return 1; }
    diff -r --no-dereference "$sw/$ref/sys" "$r/sys" >/dev/null || { echo "the sysfs trees differ"; diff -r --no-dereference "$sw/$ref/sys" "$r/sys" | head; return 1; }
    local prom=var/lib/prometheus/node-exporter/hostdev.prom
    if [[ -f $sw/$ref/$prom || -f $r/$prom ]]; then
        diff <(grep -v '^hostdev_status_last_run_timestamp_seconds ' "$sw/$ref/$prom") \
            <(grep -v '^hostdev_status_last_run_timestamp_seconds ' "$r/$prom") || { echo "the metrics differ"; return 1; }
    fi
    for f in run/hostdev/state.json var/log/hostdev/audit.jsonl; do
        if [[ -f $sw/$ref/$f ]]; then
            [[ -f $r/$f && $(wc -l <"$sw/$ref/$f") == $(wc -l <"$r/$f") ]] || { echo "$f differs"; return 1; }
        fi
    done
}

for u in hostdev.service hostdev-status.service; do
    plain_run "contrib/systemd/$u" "ref-$u" >"$sw/ref-$u.codes"
done
grep -qx 'hostdev_plan_blocked_actions 1' "$sw/ref-hostdev-status.service/var/lib/prometheus/node-exporter/hostdev.prom" ||
    die "unsandboxed, hostdev status did not see /dev/vfio/15 in use (see $sw/ref-hostdev-status.service.log)"
[[ -d $sw/ref-hostdev.service/sys/bus/mdev/devices/00000000-0000-4000-8000-000000000002 &&
    ! -e $sw/ref-hostdev.service/sys/bus/mdev/devices/00000000-0000-4000-8000-000000000001 ]] ||
    die "unsandboxed, hostdev apply did not keep the held mdev and remove the others"
for u in hostdev.service hostdev-status.service; do
    out="$(same_work "contrib/systemd/$u" "ref-$u" "sb-$u")" ||
        die "$u does not do its work in its sandbox (tests/unit-sandbox.sh):"$'\n'"$out"
    say "ok: $u in its sandbox does what it does without (exit codes $(cat "$sw/ref-$u.codes"); held mdev seen in use)"
done
# The comparison can fail: variants that break what the units must do.
broken() { # NAME SED-SCRIPT UNIT WHAT
    sed "$2" "contrib/systemd/$3" >"$sw/$1.service"
    if same_work "$sw/$1.service" "ref-$3" "$1" >/dev/null 2>&1; then
        die "the sandbox check did not notice $4"
    fi
    say "ok: the check fails when $4"
}
broken st-nocaps 's/^CapabilityBoundingSet=.*/CapabilityBoundingSet=CAP_DAC_READ_SEARCH/' hostdev-status.service \
    "hostdev-status.service loses CAP_SYS_PTRACE (the held device looks free)"
broken hd-noptrace 's/^CapabilityBoundingSet=.*/CapabilityBoundingSet=CAP_SYS_MODULE CAP_DAC_READ_SEARCH/' hostdev.service \
    "hostdev.service loses CAP_SYS_PTRACE (the held mdev would be removed)"
broken hd-rosys 's|^ReadWritePaths=.*|ReadWritePaths=/sys/bus/pci/drivers /sys/bus/pci/drivers_probe|' hostdev.service \
    "hostdev.service cannot write /sys/devices"
broken hd-nolog 's|^LogsDirectory=.*||' hostdev.service "hostdev.service cannot write its audit log"
say "PASS"
