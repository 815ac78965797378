#!/usr/bin/env bash
# Run a command in a reproduction of a systemd unit's sandbox, without systemd as PID 1
# (containers, CI), re-rooted at a fixture copy: used by tests/systemd-verify.sh to show that
# hostdev.service and hostdev-status.service still do their work under their hardening.
#
#   bash tests/unit-sandbox.sh UNIT ROOT -- COMMAND [ARG...]      (as root)
#
# COMMAND runs as `hostdev --root ROOT ...` would on a host: the unit's paths below /sys,
# /proc, /dev, /run and /var are applied to ROOT/sys, ROOT/proc, ... (the files hostdev
# reads and writes there), everything else to the real file system:
#   ProtectSystem=strict       every mount read-only; ROOT/sys, ROOT/proc, ROOT/dev writable
#                              (the API file systems strict leaves alone)
#   ProtectKernelTunables=yes  ROOT/sys and ROOT/proc/sys read-only again
#   ReadWritePaths=, ReadOnlyPaths=, RuntimeDirectory=, LogsDirectory=, StateDirectory=
#                              ROOT/<path> writable or read-only (the three directories are
#                              created first, as systemd does); deeper paths win
#   PrivateDevices=yes         an empty ROOT/dev; BindReadOnlyPaths=/dev/... binds the
#                              fixture's node there read-only ("-": skipped when missing)
#   PrivateTmp=yes             empty /tmp and /var/tmp
#   ProtectHome=yes            empty, read-only /home, /root and /run/user
#   ProtectControlGroups=yes   /sys/fs/cgroup read-only
#   ProtectKernelModules=yes   /usr/lib/modules hidden; CAP_SYS_MODULE dropped
#   ProtectProc=, ProcSubset=  ROOT/proc is a new procfs with hidepid=/subset= (the caller
#                              binds the real /proc at ROOT/proc to test the in-use check)
#   PrivateNetwork=yes, ProtectHostname=yes
#                              new network and UTS namespaces
#   CapabilityBoundingSet=     the bounding set (less the capabilities that PrivateDevices=,
#                              ProtectKernelModules=, ProtectClock=, ProtectKernelLogs= drop):
#                              the command runs as root with exactly these
#   NoNewPrivileges=yes, UMask=
#                              setpriv --no-new-privs, umask
# Not reproduced (seccomp, cgroup and BPF filters, which need systemd): SystemCallFilter=,
# SystemCallArchitectures=, RestrictAddressFamilies=, IPAddressDeny=, RestrictNamespaces=,
# RestrictRealtime=, RestrictSUIDSGID=, LockPersonality=, MemoryDenyWriteExecute=, the
# device cgroup of PrivateDevices=/DeviceAllow=; ProtectClock= and ProtectKernelLogs= only
# as the capabilities they drop. Any other sandbox setting in the unit fails the script, so
# that a new one is either reproduced here or named in this list.
# Limits: ROOT is a simulated host (tests/systemd-verify.sh serves a fixture there with
# `hostdev-sim serve`), so the kernel's reaction to a write (an mdev appearing) comes from
# the model behind the FUSE mount, outside the sandbox, as the kernel's does; and
# `modprobe` is never run against a fake root (hostdev only says it would load vfio-pci).
set -euo pipefail

die() { printf 'unit-sandbox: %s\n' "$*" >&2; exit 2; }

[[ $# -ge 4 && $3 == -- ]] || die "usage: unit-sandbox.sh UNIT ROOT -- COMMAND [ARG...]"
unit="$1"
root="$(realpath "$2")"
shift 3
[[ -f $unit ]] || die "no unit file $unit"
[[ -d $root ]] || die "no root directory $root"
[[ $(id -u) -eq 0 ]] || die "needs root (mount namespaces)"

# [Service] settings, in order (a setting given twice: the values add up, as systemd's do for lists).
declare -A one=()
caps=""; have_caps=0
rw=(); ro=(); bind_ro=(); mkdirs=()
while IFS= read -r line; do
    [[ $line =~ ^([A-Za-z]+)=(.*)$ ]] || continue
    key="${BASH_REMATCH[1]}"; val="${BASH_REMATCH[2]}"
    case "$key" in
        CapabilityBoundingSet) caps="$caps $val"; have_caps=1 ;;
        ReadWritePaths) read -r -a v <<<"$val"; rw+=("${v[@]}") ;;
        ReadOnlyPaths) read -r -a v <<<"$val"; ro+=("${v[@]}") ;;
        BindReadOnlyPaths) read -r -a v <<<"$val"; bind_ro+=("${v[@]}") ;;
        RuntimeDirectory) read -r -a v <<<"$val"; for d in "${v[@]}"; do mkdirs+=("/run/$d"); done ;;
        StateDirectory) read -r -a v <<<"$val"; for d in "${v[@]}"; do mkdirs+=("/var/lib/$d"); done ;;
        LogsDirectory) read -r -a v <<<"$val"; for d in "${v[@]}"; do mkdirs+=("/var/log/$d"); done ;;
        ProtectSystem | ProtectKernelTunables | PrivateDevices | PrivateTmp | ProtectHome | \
            ProtectControlGroups | ProtectKernelModules | ProtectProc | ProcSubset | PrivateNetwork | \
            ProtectHostname | NoNewPrivileges | UMask | ProtectClock | ProtectKernelLogs | PrivateMounts)
            one[$key]="$val" ;;
        # Not reproduced (see the header); not part of the sandbox.
        SystemCallFilter | SystemCallArchitectures | SystemCallErrorNumber | RestrictAddressFamilies | \
            IPAddressDeny | RestrictNamespaces | RestrictRealtime | RestrictSUIDSGID | LockPersonality | \
            MemoryDenyWriteExecute | DevicePolicy | DeviceAllow) ;;
        Type | RemainAfterExit | ExecStart | ExecStartPre | SuccessExitStatus | TimeoutStartSec | Nice | \
            RuntimeDirectoryPreserve | RuntimeDirectoryMode | StateDirectoryMode | LogsDirectoryMode | \
            Description | Documentation | ConditionPathExists | After | Before | WantedBy) ;;
        *) die "$unit: $key= is not reproduced by tests/unit-sandbox.sh: reproduce it there or list it as not reproduced" ;;
    esac
done < <(sed -n '/^\[Service\]/,/^\[/p' "$unit")

yes_() { [[ ${one[$1]:-no} =~ ^(yes|true|on|1)$ ]]; }
[[ ${one[ProtectSystem]:-no} == strict ]] || die "only ProtectSystem=strict is reproduced (got '${one[ProtectSystem]:-no}')"
[[ ${one[ProtectHome]:-no} =~ ^(no|yes|true)$ ]] || die "ProtectHome=${one[ProtectHome]} is not reproduced"

# The capabilities the command keeps.
bounding="-all"
if [[ $have_caps == 1 ]]; then
    for c in $caps; do
        [[ $c == CAP_* ]] || die "CapabilityBoundingSet=$c is not reproduced (only a list of CAP_...)"
        c="${c#CAP_}"; c="${c,,}"
        case "$c" in
            mknod | sys_rawio) yes_ PrivateDevices && continue ;;
            sys_module) yes_ ProtectKernelModules && continue ;;
            sys_time | wake_alarm) yes_ ProtectClock && continue ;;
            syslog) yes_ ProtectKernelLogs && continue ;;
        esac
        bounding="$bounding,+$c"
    done
else
    die "no CapabilityBoundingSet=: the full set is not reproduced"
fi

# Mount entries, re-rooted: "mode path" with mode rw, ro, tmpfs or bind-ro:SOURCE.
entries=()
for p in /sys /proc /dev; do entries+=("rw $root$p"); done
if yes_ ProtectKernelTunables; then entries+=("ro $root/sys" "ro $root/proc/sys" "ro /sys" "ro /proc/sys"); fi
yes_ ProtectControlGroups && entries+=("ro /sys/fs/cgroup")
yes_ ProtectKernelModules && entries+=("tmpfs /usr/lib/modules")
if yes_ PrivateTmp; then entries+=("tmpfs /tmp" "tmpfs /var/tmp"); fi
if yes_ ProtectHome; then entries+=("tmpfs /home" "tmpfs /root" "tmpfs /run/user"); fi
# Where the fixture's /dev stays reachable once PrivateDevices= covers ROOT/dev: beside ROOT.
save="$(dirname "$root")/.unit-sandbox-dev.$$"
for p in /tmp /var/tmp /home /root /run/user; do
    case "$root/" in "$p"/*) die "ROOT must not be below $p (the sandbox covers it)" ;; esac
done
yes_ PrivateDevices && entries+=("tmpfs $root/dev")
for p in "${bind_ro[@]}"; do
    opt=0; [[ $p == -* ]] && { opt=1; p="${p#-}"; }
    [[ $p == /dev/* ]] || die "BindReadOnlyPaths=$p: only paths below /dev are reproduced"
    src="$save${p#/dev}"
    if [[ ! -e $root$p ]]; then [[ $opt == 1 ]] && continue; die "BindReadOnlyPaths=$p: $root$p is missing"; fi
    entries+=("bind-ro:$src $root$p")
done
for d in "${mkdirs[@]}"; do mkdir -p "$root$d"; entries+=("rw $root$d"); done
for p in "${rw[@]}"; do
    opt=0; [[ $p == -* ]] && { opt=1; p="${p#-}"; }
    if [[ ! -e $root$p ]]; then [[ $opt == 1 ]] && continue; die "ReadWritePaths=$p: $root$p is missing (systemd fails the unit: 226/NAMESPACE)"; fi
    entries+=("rw $root$p")
done
for p in "${ro[@]}"; do
    opt=0; [[ $p == -* ]] && { opt=1; p="${p#-}"; }
    if [[ ! -e $root$p ]]; then [[ $opt == 1 ]] && continue; die "ReadOnlyPaths=$p: $root$p is missing"; fi
    entries+=("ro $root$p")
done
hidepid=""
case "${one[ProtectProc]:-default}" in
    default) ;;
    invisible | ptraceable | noaccess) hidepid="hidepid=${one[ProtectProc]}" ;;
    *) die "ProtectProc=${one[ProtectProc]} is not reproduced" ;;
esac
[[ ${one[ProcSubset]:-all} == pid ]] && hidepid="${hidepid:+$hidepid,}subset=pid"
[[ -n $hidepid ]] && entries+=("proc:$hidepid $root/proc")

# Shallower paths first, so that a deeper entry overrides (as systemd sorts its mounts).
sorted="$(for e in "${entries[@]}"; do printf '%s\t%s\n' "${e#* }" "${e%% *}"; done |
    awk -F'\t' '{ p = $1; n = gsub("/", "/", p); print n "\t" $0 }' | sort -s -n -k1,1 | cut -f2-)"

ns=(--mount --propagation private)
yes_ PrivateNetwork && ns+=(--net)
yes_ ProtectHostname && ns+=(--uts)
nnp=()
yes_ NoNewPrivileges && nnp=(--no-new-privs)
umask_="${one[UMask]:-0022}"

# shellcheck disable=SC2016
exec unshare "${ns[@]}" -- bash -euo pipefail -c '
    root="$1" save="$2" sorted="$3" bounding="$4" umask_="$5" nnp="$6"; shift 6
    # Keep the fixture'"'"'s /dev where PrivateDevices= can bind from it.
    mkdir -p "$save"
    mount --bind "$root/dev" "$save"
    # ProtectSystem=strict: every mount read-only (the API file systems come back below).
    while read -r _ _ _ _ target _; do
        target="${target//\\040/ }"
        case "$target" in /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;; esac
        mount -o remount,bind,ro "$target" 2>/dev/null || true
    done </proc/self/mountinfo
    while IFS=$'"'"'\t'"'"' read -r path mode; do
        if [[ $mode == bind-ro:* ]]; then
            mkdir -p "$path"
            mount --bind "${mode#bind-ro:}" "$path"; mount -o remount,bind,ro "$path"
            continue
        fi
        [[ -e $path ]] || continue
        case "$mode" in
            rw) mount --bind "$path" "$path"; mount -o remount,bind,rw "$path" ;;
            ro) mount --bind "$path" "$path"; mount -o remount,bind,ro "$path" ;;
            tmpfs) mount -t tmpfs -o mode=0755 tmpfs "$path" ;;
            proc:*) mount -t proc -o "${mode#proc:}" proc "$path" ;;
        esac
    done <<<"$sorted"
    umask "$umask_"
    exec setpriv $nnp --inh-caps=-all --ambient-caps=-all --bounding-set="$bounding" -- "$@"
' unit-sandbox "$root" "$save" "$sorted" "$bounding" "$umask_" "${nnp[*]}" "$@"
