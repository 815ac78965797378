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
#    --dry-run) against a copy of a fixture to catch flags the binary does not accept.
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

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stage="$tmp/stage"
bash contrib/install.sh --bin "$bin" --destdir "$stage" >/dev/null
unit="$stage/etc/systemd/system/hostdev.service"
[[ -f $unit ]] || die "install.sh did not install $unit"

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
    set +e
    HOSTDEV_ROOT="$root" "${argv[@]}" --dry-run >"$tmp/out" 2>&1
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
say "PASS"
