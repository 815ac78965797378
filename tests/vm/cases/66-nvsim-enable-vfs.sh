# vm-nvsim
# vm-nvsim-gpus: 2
# vm-timeout: 480
# hostdev enables the SR-IOV VFs itself (issue 23 item 4; config `hostdev: {virtualFunctions:
# all}`), on two simulated A40s (tests/vm/nvsim mode vf: mdev on the VFs), real kernel:
#  - the driver still starting (enable_fail_ms=3000, apply right after modprobe): the
#    EAGAIN is retried with a warning, the one run converges;
#  - the whole flow, captured as a transcript (lines "TX| ", stdout and stderr together):
#    plan shows the enablement of both GPUs, ONE `apply --yes` enables both (sriov_numvfs 8),
#    waits for the VFs' types and creates the vGPUs (KubeVirt's round-robin: 6x A40-8Q on
#    the first GPU, 8x A40-4Q on the second), state file `sriov` records, audit log
#    `sriov.enable` writes, plan --detailed-exitcode 0, teardown disables both;
#  - a vGPU held open: a lower count (virtualFunctions: 4) is blocked in the plan naming the
#    VF and the pid, apply exits non-zero and changes nothing, teardown keeps the GPU;
#  - a GPU whose VFs were enabled by hand is never disabled by teardown;
#  - slow enablement (enable_delay_ms=1500, ready_delay_ms=1500): one apply converges (timed);
#  - a failure that outlasts --vf-timeout 3 (enable_fail_ms=60000): exit 1 naming the errno
#    and --vf-timeout, no sriov record, sriov_numvfs 0, no mdevs;
#  - mode vfio (two L40S, vendor-specific VFIO, ready_delay_ms=1000): one apply enables both
#    GPUs and sets 6 L40S-8Q on each; teardown keeps the GPU whose VF a process holds.
P1=0000:04:00.0
P2=0000:05:00.0
C=/tests/files/nvsim-a40-two-types-vfs.yaml   # 8Q + 4Q, hostdev.virtualFunctions: all
C4=/tmp/nvsim-a40-vfs4.yaml                   # the same with virtualFunctions: 4
CV=/tests/files/nvsim-l40s-8q-vfs.yaml        # mode vfio: NVIDIA L40S-8Q, virtualFunctions: all
sed 's/virtualFunctions: all/virtualFunctions: 4/' "$C" > "$C4"
STATE=/run/hostdev/state.json

now() { read -r _up _ < /proc/uptime; echo "$_up"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
secs_ge() { awk -v x="$1" -v m="$2" 'BEGIN{exit !(x >= m)}'; }
# tx CODE CMD...: assert_exit, and the command with its output into the transcript ("TX| ");
#   stdout and stderr go to one file, in the order written; OUT is both
tx() {
    _code=$1; shift
    printf 'TX| # %s\n' "$*"
    RC=0
    "$@" >/tmp/.vm-out 2>&1 || RC=$?
    OUT=$(cat /tmp/.vm-out); ERR=
    [ -z "$OUT" ] || printf '%s\n' "$OUT" | sed 's/^/TX| /'
    printf 'TX| [exit %s]\nTX|\n' "$RC"
    [ "$RC" = "$_code" ] || fail "\`$*\`: expected exit $_code, got $RC"
    note "ok: \`$*\` exited $RC"
}
numvfs() { cat "$PCI/$1/sriov_numvfs"; }
# typed_vfs PF: its VFs whose nvidia/current_vgpu_type is 1152 (mode vfio), one per line
typed_vfs() {
    for _v in $PCI/$1/virtfn*; do
        [ "$(cat "$_v/nvidia/current_vgpu_type" 2>/dev/null)" = 1152 ] && basename "$(readlink "$_v")"
    done; return 0
}
# sriov_records: the addresses in the state file's "sriov" section, space-separated
sriov_records() {
    [ -e $STATE ] || return 0
    sed -n '/"sriov": \[/,/^  \]/p' $STATE | sed -n 's/.*"address": "\(.*\)".*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}
# assert_round_robin: 6 A40-8Q on P1's VFs, 8 A40-4Q on P2's, nothing else
assert_round_robin() {
    n1=0; n2=0
    for u in $(ls /sys/bus/mdev/devices); do
        parent=$(basename "$(dirname "$(readlink -f /sys/bus/mdev/devices/$u)")")
        t=$(basename "$(readlink /sys/bus/mdev/devices/$u/mdev_type)")
        case $parent in
            0000:04:1*) [ "$t" = nvidia-558 ] || fail "mdev $u on $parent is $t, not nvidia-558"; n1=$((n1 + 1));;
            0000:05:1*) [ "$t" = nvidia-557 ] || fail "mdev $u on $parent is $t, not nvidia-557"; n2=$((n2 + 1));;
            *) fail "mdev $u on an unexpected parent $parent";;
        esac
    done
    assert_eq 6 "$n1" "A40-8Q vGPUs on the VFs of $P1 (max_instance 6)"
    assert_eq 8 "$n2" "A40-4Q vGPUs on the VFs of $P2 (one per VF)"
}
assert_torn_down() {
    assert_eq 0 "$(mdev_count)" "mdevs"
    assert_eq 0 "$(numvfs $P1)" "sriov_numvfs of $P1"
    assert_eq 0 "$(numvfs $P2)" "sriov_numvfs of $P2"
    assert_eq "" "$(sriov_records)" "sriov records in the state file"
}

step "modprobe nvsim mode=vf enable_fail_ms=3000, then at once apply: the EAGAIN is retried"
T_LOAD=$(now)
modprobe nvsim mode=vf enable_fail_ms=3000
start_vgpu_manager
for pf in $P1 $P2; do assert_eq 0 "$(numvfs $pf)" "sriov_numvfs of $pf"; done
D=$(since "$T_LOAD")
secs_ge "$D" 2.5 && fail "apply would start $D s after modprobe: too late to meet enable_fail_ms=3000"
run hostdev apply -f "$C" --yes
note "apply started $D s after modprobe, ended $(since "$T_LOAD") s after it"
assert_eq 0 "$RC" "exit of apply while the driver starts"
assert_contains "$ERR" "Resource temporarily unavailable" "stderr"
assert_contains "$ERR" "trying again in 0.25 s" "stderr"
for pf in $P1 $P2; do assert_eq 8 "$(numvfs $pf)" "sriov_numvfs of $pf"; done
assert_round_robin
assert_exit 0 hostdev plan -f "$C" --detailed-exitcode
assert_exit 0 hostdev teardown --yes
assert_torn_down

step "transcript: two GPUs, enable + plan + apply in one run, then teardown"
cp $AUDIT /tmp/audit.before
tx 0 cat "$C"
tx 0 hostdev list-types
assert_match "$OUT" "^$P1 +10de:2235 +nvidia +none +0/8" "list-types: $P1"
assert_match "$OUT" "^$P2 +10de:2235 +nvidia +none +0/8" "list-types: $P2"
tx 2 hostdev plan -f "$C" --detailed-exitcode
assert_contains "$OUT" "enable the VFs of 2 GPUs:"
assert_contains "$OUT" "enable 8 VFs on $P1 (sriov_numvfs 0 -> 8)"
assert_contains "$OUT" "enable 8 VFs on $P2 (sriov_numvfs 0 -> 8)"
assert_eq 0 "$(mdev_count)" "mdevs after plan"
T=$(now)
tx 0 hostdev apply -f "$C" --yes
D=$(since "$T")
note "TIMING: apply enabling 2x8 VFs and creating 14 vGPUs took $D s (kernel $(uname -r))"
assert_contains "$OUT" "created 14 mdev(s)"
for pf in $P1 $P2; do assert_eq 8 "$(numvfs $pf)" "sriov_numvfs of $pf"; done
assert_round_robin
tx 0 cat $STATE
assert_eq "$P1 $P2" "$(sriov_records)" "sriov records in the state file"
assert_match "$(sed -n '/"sriov": \[/,/^  \]/p' $STATE)" '"numvfs": 8' "state file: numvfs"
assert_match "$(sed -n '/"sriov": \[/,/^  \]/p' $STATE)" '"enabled_at": "20[0-9][0-9]-' "state file: enabled_at"
NEW=$(tail -n +$(($(wc -l < /tmp/audit.before) + 1)) $AUDIT)
printf 'TX| # grep sriov %s  (the lines this apply added)\n' "$AUDIT"
printf '%s\n' "$NEW" | grep sriov | sed 's/^/TX| /'
printf 'TX|\n'
assert_eq 2 "$(printf '%s\n' "$NEW" | grep '"sriov.enable"' | grep -c '"ok"')" "sriov.enable writes (ok) in the audit log"
assert_contains "$NEW" "/sys/bus/pci/devices/$P1/sriov_numvfs" "audit log"
assert_contains "$NEW" "/sys/bus/pci/devices/$P2/sriov_numvfs" "audit log"
tx 0 hostdev plan -f "$C" --detailed-exitcode
tx 0 hostdev status -f "$C"
tx 0 hostdev teardown --yes
tx 0 cat "$PCI/$P1/sriov_numvfs" "$PCI/$P2/sriov_numvfs"
assert_torn_down
assert_contains "$(tail -n 4 $AUDIT)" "sriov.disable" "audit log after teardown"

step "a vGPU held open: a lower count is blocked, named; apply changes nothing; teardown keeps the GPU"
assert_exit 0 hostdev apply -f "$C" --yes
assert_round_robin
HELD=$(for u in $(ls /sys/bus/mdev/devices); do
    [ "$(basename "$(dirname "$(readlink -f /sys/bus/mdev/devices/$u)")")" = 0000:04:10.2 ] && echo $u; done; true)
[ -n "$HELD" ] || fail "no mdev on 0000:04:10.2"
vfio_hold "/sys/bus/mdev/devices/$HELD" "$HELD"
run hostdev plan -f "$C4"
assert_contains "$OUT$ERR" "$P1" "plan"
assert_contains "$OUT$ERR" "changing the count disables every VF first" "plan"
assert_contains "$OUT$ERR" "VF 0000:04:10.2" "plan names the VF"
assert_contains "$OUT$ERR" "pid $HOLD_PID (vmtool)" "plan names the holder"
cp $AUDIT /tmp/audit.before
run hostdev apply -f "$C4" --yes
assert_ne 0 "$RC" "exit of apply with a blocked count change"
assert_contains "$OUT$ERR" "pid $HOLD_PID (vmtool)" "apply names the holder"
assert_eq 8 "$(numvfs $P1)" "sriov_numvfs of $P1 (unchanged)"
assert_eq 8 "$(numvfs $P2)" "sriov_numvfs of $P2 (unchanged)"
assert_eq 14 "$(mdev_count)" "mdevs (unchanged)"
run hostdev teardown --yes
assert_eq 1 "$RC" "exit of teardown with a vGPU held"
assert_contains "$OUT$ERR" "pid $HOLD_PID (vmtool)" "teardown names the holder"
assert_eq "$HELD" "$(ls /sys/bus/mdev/devices)" "the only mdev left: the held one"
assert_eq 8 "$(numvfs $P1)" "sriov_numvfs of $P1 (kept: a vGPU is held)"
assert_eq 0 "$(numvfs $P2)" "sriov_numvfs of $P2 (disabled)"
assert_eq "$P1" "$(sriov_records)" "sriov records in the state file"
release
assert_exit 0 hostdev teardown --yes
printf '%s\n' "$OUT"
assert_torn_down

step "teardown never disables VFs enabled by hand (echo 8 > sriov_numvfs of $P2)"
echo 8 > "$PCI/$P2/sriov_numvfs"
assert_eq 8 "$(numvfs $P2)" "sriov_numvfs of $P2 (by hand)"
i=0; until [ -e "$PCI/0000:05:11.6/mdev_supported_types" ]; do [ $i -lt 50 ] || fail "VFs of $P2 offer no types"; sleep 0.1; i=$((i + 1)); done
assert_exit 2 hostdev plan -f "$C" --detailed-exitcode
assert_contains "$OUT" "enable the VFs of 1 GPU:"
assert_contains "$OUT" "enable 8 VFs on $P1 (sriov_numvfs 0 -> 8)"
assert_not_contains "$OUT" "VFs on $P2"
assert_exit 0 hostdev apply -f "$C" --yes
assert_round_robin
assert_eq "$P1" "$(sriov_records)" "sriov records: only what hostdev enabled"
assert_exit 0 hostdev teardown --yes
printf '%s\n' "$OUT"
assert_eq 0 "$(mdev_count)" "mdevs"
assert_eq 0 "$(numvfs $P1)" "sriov_numvfs of $P1 (hostdev enabled it)"
assert_eq 8 "$(numvfs $P2)" "sriov_numvfs of $P2 (enabled by hand: left)"
echo 0 > "$PCI/$P2/sriov_numvfs"
rmmod nvsim

step "slow enablement (enable_delay_ms=1500 ready_delay_ms=1500): one apply converges"
modprobe nvsim mode=vf enable_delay_ms=1500 ready_delay_ms=1500
T=$(now)
assert_exit 0 hostdev apply -f "$C" --yes
D=$(since "$T")
printf '%s\n' "$ERR" | grep 'offering vGPU types after' || true     # each GPU's worker, timed
printf '%s\n' "$OUT" | tail -1
note "TIMING: apply with enable_delay_ms=1500 ready_delay_ms=1500 (2 GPUs, one worker each) took $D s (kernel $(uname -r))"
secs_ge "$D" 3.0 || fail "apply took $D s: less than enable_delay_ms + ready_delay_ms"
assert_contains "$OUT" "created 14 mdev(s)"
for pf in $P1 $P2; do assert_eq 8 "$(numvfs $pf)" "sriov_numvfs of $pf"; done
assert_round_robin
assert_exit 0 hostdev plan -f "$C" --detailed-exitcode
assert_exit 0 hostdev teardown --yes
assert_torn_down
rmmod nvsim

step "a failure that outlasts --vf-timeout 3 (enable_fail_ms=60000): exit 1, nothing left"
modprobe nvsim mode=vf enable_fail_ms=60000
T=$(now)
run hostdev apply -f "$C" --yes --vf-timeout 3
D=$(since "$T")
note "apply gave up after $D s"
secs_ge "$D" 20 && fail "apply took $D s: --vf-timeout 3 was not honoured"
assert_eq 1 "$RC" "exit of apply"
assert_contains "$OUT$ERR" "Resource temporarily unavailable"
assert_contains "$OUT$ERR" "--vf-timeout"
assert_eq "" "$(sriov_records)" "sriov records in the state file"
for pf in $P1 $P2; do assert_eq 0 "$(numvfs $pf)" "sriov_numvfs of $pf"; done
assert_eq 0 "$(mdev_count)" "mdevs"
assert_missing "$PCI/0000:04:10.0"
rmmod nvsim

step "mode vfio (L40S, vendor-specific VFIO; ready_delay_ms=1000): one apply enables both GPUs, sets 6 L40S-8Q on each"
modprobe nvsim mode=vfio ready_delay_ms=1000
assert_exit 2 hostdev plan -f "$CV" --detailed-exitcode
printf '%s\n' "$OUT"
assert_contains "$OUT" "enable 8 VFs on $P1 (sriov_numvfs 0 -> 8)"
assert_contains "$OUT" "enable 8 VFs on $P2 (sriov_numvfs 0 -> 8)"
T=$(now)
assert_exit 0 hostdev apply -f "$CV" --yes
D=$(since "$T")
printf '%s\n' "$ERR" "$OUT" | tail -4
note "TIMING: vfio-mode apply (ready_delay_ms=1000) enabling 2x8 VFs and setting 12 vGPU types took $D s"
assert_contains "$OUT" "set the vGPU type of 12 VF(s)"
for pf in $P1 $P2; do
    assert_eq 8 "$(numvfs $pf)" "sriov_numvfs of $pf"
    assert_eq 6 "$(typed_vfs $pf | wc -l | tr -d ' ')" "VFs of $pf with type 1152"
done
assert_eq "$P1 $P2" "$(sriov_records)" "sriov records in the state file"
assert_exit 0 hostdev plan -f "$CV" --detailed-exitcode
HV=$(typed_vfs $P2 | head -1)
vfio_hold "$PCI/$HV" "$HV"
assert_exit 1 timeout 60 hostdev teardown --yes
printf '%s\n' "$OUT" "$ERR"
assert_contains "$OUT$ERR" "pid $HOLD_PID (vmtool)" "teardown names the holder"
assert_eq 0 "$(numvfs $P1)" "sriov_numvfs of $P1 (disabled)"
assert_eq 8 "$(numvfs $P2)" "sriov_numvfs of $P2 (kept: $HV is held)"
assert_file_eq "$PCI/$HV/nvidia/current_vgpu_type" 1152
assert_eq "$P2" "$(sriov_records)" "sriov records in the state file"
release
assert_exit 0 timeout 60 hostdev teardown --yes
assert_torn_down
rmmod nvsim
kill $MGR 2>/dev/null || true
assert_not_contains "$(dmesg)" "BUG:"
assert_not_contains "$(dmesg)" "WARNING:"
