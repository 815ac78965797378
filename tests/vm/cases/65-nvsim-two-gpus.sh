# vm-nvsim
# vm-nvsim-gpus: 2
# vm-timeout: 240
# Two simulated NVIDIA A40s (tests/vm/nvsim, mode vf: mdev on SR-IOV VFs) on two igb PFs
# behind two root ports, loaded with the field's timing. The module parameters, asserted
# from the shell: enable_fail_ms (enabling VFs right after load fails EAGAIN, later it
# works), enable_delay_ms (the sriov_numvfs write takes that long), ready_delay_ms (the VFs
# exist at once, their mdev types appear later; disabling the VFs meanwhile is safe),
# create_delay_ms (one mdev create takes that long). Then what hostdev does today: VFs
# enabled by hand on both PFs as sriov-manage -e does, plan/apply of two desired types of
# different sizes (KubeVirt's round-robin over cards: one type per GPU), a timed apply,
# re-apply converged, env, teardown. Last, mode vfio: the delayed nvidia/ directory, a
# delayed current_vgpu_type write, and rmmod while a VF's registration is pending.
P1=0000:04:00.0
P2=0000:05:00.0
C=/tests/files/nvsim-a40-two-types.yaml    # [nvidia-558 A40-8Q (max 6), nvidia-557 A40-4Q (max 12)]
NV=/sys/module/nvsim/parameters

# busybox date has no %N: seconds since boot, 10 ms resolution
now() { read -r _up _ < /proc/uptime; echo "$_up"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
secs_ge() { awk -v x="$1" -v m="$2" 'BEGIN{exit !(x >= m)}'; }
# assert_secs_ge MIN SECS WHAT
assert_secs_ge() {
    secs_ge "$2" "$1" || fail "$3: expected >= $1 s, took $2 s"
    note "ok: $3 took $2 s (>= $1 s)"
}
# wait_exists SECS PATH: PATH appears within SECS seconds; WAITED is how long it took
wait_exists() {
    _t=$(now)
    while [ ! -e "$2" ]; do
        secs_ge "$(since "$_t")" "$1" && fail "$2 did not appear within $1 s"
        sleep 0.1
    done
    WAITED=$(since "$_t")
}
# vfs PF: the PF's VFs (virtfn0, virtfn1, ...), one per line
vfs() { for _i in 0 1 2 3 4 5 6 7; do [ -e "$PCI/$1/virtfn$_i" ] && basename "$(readlink "$PCI/$1/virtfn$_i")"; done; return 0; }

step "modprobe nvsim mode=vf enable_fail_ms=3000 ...: right away, enabling VFs fails EAGAIN and enables nothing"
T_LOAD=$(now)
modprobe nvsim mode=vf enable_fail_ms=3000 enable_delay_ms=1500 ready_delay_ms=2500 create_delay_ms=200
assert_write_fails EAGAIN "$PCI/$P1/sriov_numvfs" 7
secs_ge "$(since "$T_LOAD")" 2.5 && fail "modprobe + write took $(since "$T_LOAD") s: too slow to tell enable_fail_ms=3000 apart"
note "failed $(since "$T_LOAD") s after modprobe"
assert_contains "$WRITE_ERR" "Resource temporarily unavailable"
assert_file_eq "$PCI/$P1/sriov_numvfs" 0
assert_missing "$PCI/$P1/virtfn0"

step "two A40s on their own buses and groups"
for pf in $P1 $P2; do
    assert_eq nvidia "$(pci_driver $pf)" "driver of $pf"
    assert_file_eq "$PCI/$pf/vendor" 0x10de
    assert_file_eq "$PCI/$pf/device" 0x2235
    assert_file_eq "$PCI/$pf/sriov_numvfs" 0
    assert_file_eq "$PCI/$pf/sriov_totalvfs" 8
    assert_file_eq "$PCI/$pf/sriov_offset" 128
    assert_file_eq "$PCI/$pf/sriov_stride" 2
done
assert_eq "$P1 $P2" "$(grep -l 0x10de $PCI/*/vendor | sed 's,.*/\(0000:[^/]*\)/vendor,\1,' | tr '\n' ' ' | sed 's/ $//')" "the NVIDIA functions"
assert_ne "$(iommu_group $PCI/$P1)" "$(iommu_group $PCI/$P2)" "IOMMU groups of the two GPUs"
assert_file_eq "$NV/enable_fail_ms" 3000
assert_file_eq "$NV/enable_fail_errno" 11
start_vgpu_manager

step "3 s after load it works (sriov-manage -e: sriov_totalvfs to sriov_numvfs); enable_delay_ms=1500: the write takes >= 1.5 s"
while ! secs_ge "$(since "$T_LOAD")" 3.1; do sleep 0.2; done
T=$(now)
assert_write_ok "$PCI/$P1/sriov_numvfs" "$(cat "$PCI/$P1/sriov_totalvfs")"
D=$(since "$T")
T=$(now)
step "ready_delay_ms=2500: the eight VFs exist at once, bound to nvidia, but are no mdev parents yet"
assert_missing "$PCI/0000:04:11.6/mdev_supported_types"    # the last VF probed: its work is due last
VF1=$(vfs $P1)
for v in $VF1; do assert_missing "$PCI/$v/mdev_supported_types"; done
assert_eq 0 "$(ls $MDEV_BUS 2>/dev/null | wc -l | tr -d ' ')" "mdev parents right after the enable"
assert_secs_ge 1.5 "$D" "sriov_numvfs=8 on $P1 (enable_delay_ms=1500)"
assert_eq "0000:04:10.0 0000:04:10.2 0000:04:10.4 0000:04:10.6 0000:04:11.0 0000:04:11.2 0000:04:11.4 0000:04:11.6" "$(echo $VF1)" "VFs of $P1"
for v in $VF1; do
    assert_eq nvidia "$(pci_driver $v)" "driver of $v"
    assert_file_eq "$PCI/$v/device" 0x2235
done
wait_exists 10 "$PCI/0000:04:11.6/mdev_supported_types/nvidia-558"
note "the last VF's mdev types appeared $(since "$T") s after the enable returned"
for v in $VF1; do assert_link_name "$MDEV_BUS/$v" "$v"; done

step "disabling VFs whose registration is still pending cancels it safely"
T=$(now)
assert_write_ok "$PCI/$P2/sriov_numvfs" 7
assert_secs_ge 1.5 "$(since "$T")" "sriov_numvfs=7 on $P2"
assert_missing "$PCI/0000:05:10.0/mdev_supported_types"
assert_write_ok "$PCI/$P2/sriov_numvfs" 0
assert_missing "$PCI/0000:05:10.0"
sleep 2
assert_eq 8 "$(ls $MDEV_BUS | wc -l | tr -d ' ')" "mdev parents (only the first GPU's)"
assert_not_contains "$(dmesg)" "BUG:"
assert_not_contains "$(dmesg)" "WARNING:"

step "enable the second GPU again; while its types are pending, hostdev sees (informational):"
assert_write_ok "$PCI/$P2/sriov_numvfs" "$(cat "$PCI/$P2/sriov_totalvfs")"
run hostdev list-types
VF2=$(vfs $P2)
assert_eq "0000:05:10.0 0000:05:10.2 0000:05:10.4 0000:05:10.6 0000:05:11.0 0000:05:11.2 0000:05:11.4 0000:05:11.6" "$(echo $VF2)" "VFs of $P2"
wait_exists 10 "$PCI/0000:05:11.6/mdev_supported_types/nvidia-557"
for v in $VF2; do assert_link_name "$MDEV_BUS/$v" "$v"; done

step "create_delay_ms=200: one mdev create takes >= 0.2 s"
T=$(now)
mdev_create 0000:04:10.0 nvidia-558 "$(uuid 1)"
assert_secs_ge 0.2 "$(since "$T")" "one mdev create"
mdev_remove "$(uuid 1)"
assert_eq 0 "$(mdev_count)" "mdevs"

step "list-types: two mdev-vf GPUs with 8 free VFs each"
assert_exit 0 hostdev list-types
printf '%s\n' "$OUT"
for pf in $P1 $P2; do
    assert_match "$OUT" "^$pf +10de:2235 +nvidia +mdev-vf +8/8 +0" "GPU table: $pf"
done

step "plan: KubeVirt's round-robin over cards gives each GPU one type (8Q on $P1, 4Q on $P2)"
plan_creates "$C" 14
CARDS=$(printf '%s\n' "$OUT" | sed -n '/"cards"/,/^  \]/p' | grep -E '"(address|kind|type|create)"' | tr -d ' \n')
assert_eq '"address":"0000:04:00.0","kind":"mdev-vf-gpu","type":"nvidia-558","create":6,"status":"create","address":"0000:05:00.0","kind":"mdev-vf-gpu","type":"nvidia-557","create":8,"status":"create",' "$CARDS" "plan -o json: cards[]"
assert_exit 0 hostdev plan -f "$C"
printf '%s\n' "$OUT" | sed -n '/^PARENT/,/^$/p'
assert_match "$OUT" "^$P1 \(8 VFs, mdev\) +nvidia-558 +NVIDIA A40-8Q +0 +0 +6 +create" "plan: $P1"
assert_match "$OUT" "^$P2 \(8 VFs, mdev\) +nvidia-557 +NVIDIA A40-4Q +0 +0 +8 +create" "plan: $P2"

step "apply (create_delay_ms=200, 14 vGPUs on 16 VFs): timed"
T=$(now)
assert_exit 0 hostdev apply -f "$C" --yes
D=$(since "$T")
printf '%s\n' "$OUT" | tail -1
note "TIMING: hostdev apply creating 14 vGPUs on 2 GPUs with create_delay_ms=200 took $D s (kernel $(uname -r))"
assert_contains "$OUT" "created 14 mdev(s)"
assert_eq "$PLANNED" "$(ls /sys/bus/mdev/devices | sort)" "mdevs on the bus"
n1=0; n2=0
for u in $(ls /sys/bus/mdev/devices); do
    parent=$(basename "$(dirname "$(readlink -f /sys/bus/mdev/devices/$u)")")
    t=$(basename "$(readlink /sys/bus/mdev/devices/$u/mdev_type)")
    case $parent in
        0000:04:*) assert_eq nvidia-558 "$t" "type of $u on $parent"; n1=$((n1 + 1));;
        0000:05:*) assert_eq nvidia-557 "$t" "type of $u on $parent"; n2=$((n2 + 1));;
        *) fail "mdev $u on an unexpected parent $parent";;
    esac
done
assert_eq 6 "$n1" "A40-8Q vGPUs on $P1 (max_instance 6)"
assert_eq 8 "$n2" "A40-4Q vGPUs on $P2 (one per VF)"

step "status, a second apply writes nothing, env names both resources"
assert_exit 0 hostdev status -f "$C"
printf '%s\n' "$OUT" | sed -n '1,/^$/p;/^PARENT/,/^$/p'
assert_match "$OUT" "^$P1 +nvidia-558 +NVIDIA A40-8Q +6 +6 +ok" "status: $P1"
assert_match "$OUT" "^$P2 +nvidia-557 +NVIDIA A40-4Q +8 +8 +ok" "status: $P2"
assert_converged "$C"
assert_exit 0 hostdev env -f "$C"
printf '%s\n' "$OUT"
assert_contains "$OUT" "MDEV_PCI_RESOURCE_NVIDIA_COM_A40_8Q="
assert_contains "$OUT" "MDEV_PCI_RESOURCE_NVIDIA_COM_A40_4Q="

step "teardown frees both GPUs; the VFs can be disabled; rmmod gives the igbs back"
assert_exit 0 timeout 60 hostdev teardown --yes
assert_eq 0 "$(mdev_count)" "mdevs after teardown"
assert_write_ok "$PCI/$P1/sriov_numvfs" 0
assert_write_ok "$PCI/$P2/sriov_numvfs" 0
kill $MGR 2>/dev/null || true
rmmod nvsim
for pf in $P1 $P2; do assert_file_eq "$PCI/$pf/vendor" 0x8086; done

step "mode vfio (L40S): ready_delay_ms delays the VF's nvidia/, create_delay_ms a current_vgpu_type write"
modprobe nvsim mode=vfio ready_delay_ms=1500 create_delay_ms=200
assert_file_eq "$PCI/$P1/device" 0x26b9
assert_file_eq "$PCI/$P2/device" 0x26b9
assert_write_ok "$PCI/$P1/sriov_numvfs" 1
assert_eq nvidia "$(pci_driver 0000:04:10.0)" "driver of 0000:04:10.0"
assert_missing "$PCI/0000:04:10.0/nvidia"
wait_exists 10 "$PCI/0000:04:10.0/nvidia/current_vgpu_type"
note "nvidia/ appeared after $WAITED s"
assert_contains "$(cat "$PCI/0000:04:10.0/nvidia/creatable_vgpu_types")" "1152  : NVIDIA L40S-8Q"
T=$(now)
assert_write_ok "$PCI/0000:04:10.0/nvidia/current_vgpu_type" 1152
assert_secs_ge 0.2 "$(since "$T")" "current_vgpu_type=1152"
assert_file_eq "$PCI/0000:04:10.0/nvidia/current_vgpu_type" 1152
assert_write_ok "$PCI/0000:04:10.0/nvidia/current_vgpu_type" 0

step "rmmod while the second GPU's VF is still pending (its work is cancelled) and the first has a VF"
assert_write_ok "$PCI/$P2/sriov_numvfs" 1
assert_missing "$PCI/0000:05:10.0/nvidia"
rmmod nvsim
assert_missing "$PCI/0000:05:10.0"
for pf in $P1 $P2; do assert_file_eq "$PCI/$pf/vendor" 0x8086; done
sleep 2
assert_not_contains "$(dmesg)" "BUG:"
assert_not_contains "$(dmesg)" "WARNING:"
