#!/usr/bin/env bash
# tests/vm/run.sh — boot the test VM once and run one case inside it.
#
#   tests/vm/run.sh [--kernel SERIES] [--binary PATH] [--append "ARGS"] [--no-iommu]
#                   [--timeout SECS] [--mem MB] [--keep] CASE.sh
#
# Needs tests/vm/setup.sh to have run for that kernel (it does not download anything).
# Builds a per-run initramfs = cached base of the kernel (busybox + modules) + /init +
# /tests/{lib.sh,case.sh,files/} + /usr/local/bin/{hostdev,vmtool} (+ the shared libraries
# hostdev needs) [+ QEMU itself, for cases that start a VM inside the guest], boots the
# q35 + intel-iommu VM under QEMU, streams the serial console, and exits with the case's
# status. A boot that does not finish within the timeout is killed (the whole QEMU process
# group) and fails with status 124; a boot that ends without the end marker fails with
# status 1.
#
# The case file may carry header comments that add to the options:
#   # vm-append: intel_iommu=off      extra kernel arguments
#   # vm-no-iommu                     no intel-iommu device in the VM
#   # vm-timeout: 240                 a longer timeout for this case
#   # vm-kernels: 6.12                run only on these kernel series (default: every one)
#   # vm-igb                          add an SR-IOV igb PF (8086:10c9) at 04:00.0
#   # vm-qemu                         put QEMU (binary, libraries, firmware) into the guest
#   # vm-iommufd                      boot the modules rebuilt with iommufd + the vfio cdev
#   # vm-nvsim                        the igb PF without igb/igbvf, for the simulated NVIDIA
#                                     driver (the case runs `modprobe nvsim mode=pf|vf|vfio`)
#   # vm-sim                         put hostdev-sim (HOSTDEV_SIM_BIN, default next to --binary)
#                                     and the model's scenarios (tests/model/*.yaml, at
#                                     /tests/model/) into the guest
#   # vm-nvsim-gpus: 2               with vm-nvsim: a second igb PF on its own root port
#                                     (00:0a.0 -> 05:00.0), so nvsim makes two GPUs; 4: also
#                                     00:0b.0 -> 06:00.0 and 00:0c.0 -> 07:00.0 (bench/)
#
# Environment: HOSTDEV_VM_CACHE (default /var/cache/hostdev-vm), HOSTDEV_VM_KERNEL
# (default 6.1), HOSTDEV_VM_ACCEL=tcg|kvm (default tcg: software emulation; kvm only where
# /dev/kvm can run a stock kernel), HOSTDEV_VM_TIMEOUT (default 120 for tcg, 60 for kvm),
# HOSTDEV_VM_SMP (default 1), HOSTDEV_BIN (default for --binary).
set -euo pipefail
trap 'echo "vm-run: ERROR: unexpected failure at line $LINENO: $BASH_COMMAND" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${HOSTDEV_VM_CACHE:-/var/cache/hostdev-vm}
ACCEL=${HOSTDEV_VM_ACCEL:-tcg}
BINARY=${HOSTDEV_BIN:-}
APPEND=""
NO_IOMMU=0
TIMEOUT=""
MEM=${HOSTDEV_VM_MEM:-1024}
SMP=${HOSTDEV_VM_SMP:-1}
KEEP=0
CASE=""
SERIES=${HOSTDEV_VM_KERNEL:-6.1}

usage() { sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 64; }
die() { printf 'vm-run: ERROR: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --binary) BINARY=$2; shift 2;;
        --kernel) SERIES=$2; shift 2;;
        --append) APPEND="$APPEND $2"; shift 2;;
        --no-iommu) NO_IOMMU=1; shift;;
        --timeout) TIMEOUT=$2; shift 2;;
        --mem) MEM=$2; shift 2;;
        --keep) KEEP=1; shift;;
        -h|--help) usage;;
        -*) printf 'vm-run: unknown option %s\n' "$1" >&2; usage;;
        *) [ -z "$CASE" ] || usage; CASE=$1; shift;;
    esac
done
[ -n "$CASE" ] || usage
[ -f "$CASE" ] || die "no such case: $CASE"

# header comments of the case
hdr_append=$(sed -n 's/^# *vm-append: *//p' "$CASE" | tr '\n' ' ')
[ -z "$hdr_append" ] || APPEND="$APPEND $hdr_append"
grep -q '^# *vm-no-iommu\b' "$CASE" && NO_IOMMU=1
hdr_timeout=$(sed -n 's/^# *vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$CASE" | head -1)
[ -n "$TIMEOUT" ] || TIMEOUT=${hdr_timeout:-${HOSTDEV_VM_TIMEOUT:-}}

hdr_kernels=$(sed -n 's/^# *vm-kernels: *//p' "$CASE" | head -1)
if [ -n "$hdr_kernels" ]; then
    case " $hdr_kernels " in *" $SERIES "*) ;; *) die "case $(basename "$CASE") runs only on kernel(s) $hdr_kernels, not $SERIES";; esac
fi
IGB=0; grep -q '^# *vm-igb\b' "$CASE" && IGB=1
SIM=0; grep -q '^# *vm-sim\b' "$CASE" && SIM=1
GQEMU=0; grep -q '^# *vm-qemu\b' "$CASE" && GQEMU=1
IOMMUFD=0; grep -q '^# *vm-iommufd\b' "$CASE" && IOMMUFD=1
NVSIM=0; grep -q '^# *vm-nvsim\([^-]\|$\)' "$CASE" && { NVSIM=1; IGB=1; }
# igb PFs: one, or two/four (simulated GPUs) with "# vm-nvsim-gpus: 2" / "4"
IGBS=$IGB
hdr_gpus=$(sed -n 's/^# *vm-nvsim-gpus: *\([0-9][0-9]*\).*/\1/p' "$CASE" | head -1)
if [ -n "$hdr_gpus" ]; then
    [ $NVSIM = 1 ] || die "case $(basename "$CASE"): # vm-nvsim-gpus needs # vm-nvsim"
    case $hdr_gpus in 1|2|4) IGBS=$hdr_gpus;; *) die "case $(basename "$CASE"): # vm-nvsim-gpus: $hdr_gpus (1, 2 or 4)";; esac
fi

ENVF=$CACHE/$SERIES.env
[ -f "$ENVF" ] || die "the VM cache is not set up for kernel $SERIES: run tests/vm/setup.sh $SERIES (as root) first"
envget() { sed -n "s/^$1=//p" "$ENVF"; }
KVER=$(envget kver)
QEMU=$(envget qemu)
QROOT=$(envget qemu_root)
VMLINUZ=$(envget vmlinuz)
BASE=$(envget base)
if [ $IOMMUFD = 1 ]; then
    BASE=$(envget base_iommufd)
    [ -n "$BASE" ] || die "kernel $SERIES ($KVER) has no iommufd variant (case $(basename "$CASE") needs # vm-iommufd)"
fi
GUEST_QEMU=$(envget guest_qemu)
for f in "$QEMU" "$VMLINUZ" "$BASE"; do [ -e "$f" ] || die "missing $f: run tests/vm/setup.sh $SERIES"; done
[ $GQEMU = 0 ] || [ -e "$GUEST_QEMU" ] || die "missing $GUEST_QEMU: run tests/vm/setup.sh $SERIES"
command -v cpio >/dev/null || die "cpio not installed: run tests/vm/setup.sh"

# vmtool: tiny static helper, one binary per version of its source (worktrees with
# different vmtool.c share the cache)
VMTOOL=$CACHE/vmtool-$(sha256sum "$HERE/guest/vmtool.c" | cut -c1-16)
if [ ! -x "$VMTOOL" ]; then
    # parallel runs may build it at the same time: each in its own file, renamed atomically
    gcc -O2 -static -o "$VMTOOL.tmp.$$" "$HERE/guest/vmtool.c" \
        || die "cannot build guest/vmtool.c statically (gcc and libc6-dev needed: run tests/vm/setup.sh)"
    mv -f "$VMTOOL.tmp.$$" "$VMTOOL"
fi

# accelerator
case $ACCEL in
    tcg) ACCEL_ARGS=(-accel tcg -cpu max); TIMEOUT=${TIMEOUT:-120};;
    kvm) [ -w /dev/kvm ] || die "HOSTDEV_VM_ACCEL=kvm but /dev/kvm is not usable"
         ACCEL_ARGS=(-accel kvm -cpu host); TIMEOUT=${TIMEOUT:-60};;
    *) die "HOSTDEV_VM_ACCEL must be tcg or kvm, not $ACCEL";;
esac

WORK=$(mktemp -d /tmp/hostdev-vm.XXXXXX)
QPID=""
cleanup() {
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
        kill -KILL -- "-$QPID" 2>/dev/null || kill -KILL "$QPID" 2>/dev/null || true
    fi
    [ "$KEEP" = 1 ] && printf 'vm-run: kept %s\n' "$WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------ per-run initramfs
S=$WORK/stage
mkdir -p "$S/tests/files" "$S/usr/local/bin"
install -m 0755 "$HERE/guest/init" "$S/init"
install -m 0644 "$HERE/lib.sh" "$S/tests/lib.sh"
install -m 0644 "$CASE" "$S/tests/case.sh"
if [ -d "$HERE/files" ]; then cp -a "$HERE/files/." "$S/tests/files/"; fi
install -m 0755 "$VMTOOL" "$S/usr/local/bin/vmtool"
if [ -n "$BINARY" ]; then
    [ -x "$BINARY" ] || die "--binary $BINARY is not an executable file"
    install -m 0755 "$BINARY" "$S/usr/local/bin/hostdev"
    # the loader and shared libraries it needs, at the same paths
    { ldd "$BINARY" 2>/dev/null || true; } | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
        [ -n "$lib" ] || continue
        mkdir -p "$S$(dirname "$lib")"
        cp -L "$lib" "$S$lib"
    done
fi
if [ $SIM = 1 ]; then
    SIM_BIN=${HOSTDEV_SIM_BIN:-$(dirname "${BINARY:-.}")/hostdev-sim}
    [ -x "$SIM_BIN" ] || die "case $(basename "$CASE") needs hostdev-sim: set HOSTDEV_SIM_BIN or build it next to --binary ($SIM_BIN)"
    install -m 0755 "$SIM_BIN" "$S/usr/local/bin/hostdev-sim"
    { ldd "$SIM_BIN" 2>/dev/null || true; } | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
        [ -n "$lib" ] && [ ! -e "$S$lib" ] || continue
        mkdir -p "$S$(dirname "$lib")"
        cp -L "$lib" "$S$lib"
    done
    mkdir -p "$S/tests/model"
    cp "$HERE/../model/"*.yaml "$S/tests/model/"
    # FUSE, for `hostdev-sim serve` in the guest: a module on 6.1 (insmod /lib/fuse.ko),
    # built in on 6.12
    for f in "$(dirname "$(dirname "$VMLINUZ")")/lib/modules/$KVER/kernel/fs/fuse/fuse.ko"*; do
        case $f in
            *.ko.xz) xz -dc "$f" > "$S/lib/fuse.ko";;
            *.ko.zst) zstd -qdc "$f" > "$S/lib/fuse.ko";;
            *.ko) cp "$f" "$S/lib/fuse.ko";;
        esac
    done
fi
GUEST_MODULES="vfio vfio_pci vfio_iommu_type1 mdev e1000e e1000 igb igbvf virtio_pci virtio_rng mtty mdpy mbochs"
[ $IOMMUFD = 0 ] || GUEST_MODULES="iommufd $GUEST_MODULES"
# the simulated NVIDIA driver binds the igb PF and VFs: igb and igbvf must not be loaded
# (and the sample mdev drivers are left out, so that its GPU is the host's only mdev parent)
[ $NVSIM = 0 ] || GUEST_MODULES=$(printf '%s\n' $GUEST_MODULES | grep -vx 'igb\|igbvf\|mtty\|mdpy\|mbochs' | tr '\n' ' ')
case_name=$(basename "$CASE" .sh)
{
    printf 'VM_MODULES=%q\n' "$GUEST_MODULES"
    printf 'VM_CASE=%q\n' "$case_name"
    printf 'VM_KERNEL=%q\n' "$SERIES"
    printf 'VM_KVER=%q\n' "$KVER"
    printf 'VM_IOMMUFD=%q\n' "$IOMMUFD"
    printf 'VM_ACCEL=%q\n' "$ACCEL"
    printf 'VM_IOMMU=%q\n' "$([ $NO_IOMMU = 1 ] && echo none || echo intel)"
} > "$S/tests/env"
(cd "$S" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 > "$WORK/run.cpio")
if [ $GQEMU = 1 ]; then
    cat "$BASE" "$GUEST_QEMU" "$WORK/run.cpio" > "$WORK/initrd.cpio"
else
    cat "$BASE" "$WORK/run.cpio" > "$WORK/initrd.cpio"
fi

# ------------------------------------------------------------------ the machine
# Same layout as shared/spec/real-sysfs-qemu-guest.txt:
#   00:02.0 e1000e, 00:03.0 e1000e (own groups)   00:04.0 edu 1234:11e8 (no driver)
#   00:05.0 virtio-rng          00:06.0 root port -> 01:00.0 e1000e
#   00:07.0 e1000e + 00:07.1 edu (multifunction)
#   00:08.0 root port -> 02:00.0 pcie-pci-bridge -> 03:01.0 edu, 03:02.0 e1000 (one group)
#   with # vm-igb: 00:09.0 root port -> 04:00.0 igb 8086:10c9 (SR-IOV PF, 7 VFs possible;
#   VFs 8086:10ca at 04:10.0, 04:10.2, ... once sriov_numvfs is written)
#   with # vm-nvsim-gpus: 2 also 00:0a.0 root port -> 05:00.0 igb (VFs 05:10.0, 05:10.2, ...)
#   with # vm-nvsim-gpus: 4 also 00:0b.0 -> 06:00.0 and 00:0c.0 -> 07:00.0 (igb)
# NICs hang on a hub with no host side; no option ROMs.
MACHINE=(-machine q35,kernel-irqchip=split)
IOMMU=(-device intel-iommu,intremap=on,caching-mode=on)
[ "$NO_IOMMU" = 1 ] && IOMMU=()
DEVICES=(
    -netdev hubport,id=n0,hubid=0 -device e1000e,netdev=n0,addr=02.0,romfile=
    -netdev hubport,id=n1,hubid=0 -device e1000e,netdev=n1,addr=03.0,romfile=
    -device edu,addr=04.0
    -device virtio-rng-pci,addr=05.0
    -device pcie-root-port,id=rp1,chassis=1,addr=06.0
    -netdev hubport,id=n2,hubid=0 -device e1000e,netdev=n2,bus=rp1,romfile=
    -netdev hubport,id=n3,hubid=0 -device e1000e,netdev=n3,addr=07.0,multifunction=on,romfile=
    -device edu,addr=07.1
    -device pcie-root-port,id=rp2,chassis=2,addr=08.0
    -device pcie-pci-bridge,id=br1,bus=rp2
    -device edu,bus=br1,addr=01.0
    -netdev hubport,id=n4,hubid=0 -device e1000,netdev=n4,bus=br1,addr=02.0,romfile=
)
[ $IGB = 0 ] || DEVICES+=(
    -device pcie-root-port,id=rp3,chassis=3,addr=09.0
    -netdev hubport,id=n5,hubid=0 -device igb,netdev=n5,bus=rp3,romfile=
)
[ $IGBS -lt 2 ] || DEVICES+=(
    -device pcie-root-port,id=rp4,chassis=4,addr=0a.0
    -netdev hubport,id=n6,hubid=0 -device igb,netdev=n6,bus=rp4,romfile=
)
[ $IGBS -lt 4 ] || DEVICES+=(
    -device pcie-root-port,id=rp5,chassis=5,addr=0b.0
    -netdev hubport,id=n7,hubid=0 -device igb,netdev=n7,bus=rp5,romfile=
    -device pcie-root-port,id=rp6,chassis=6,addr=0c.0
    -netdev hubport,id=n8,hubid=0 -device igb,netdev=n8,bus=rp6,romfile=
)
# default: as in the sysfs dump; a case's own intel_iommu=/iommu= replaces the default
IOMMU_ARGS="intel_iommu=on iommu=pt"
case " $APPEND " in *" intel_iommu="*|*" iommu="*) IOMMU_ARGS="";; esac
[ "$NO_IOMMU" = 1 ] && IOMMU_ARGS=""
# no_timer_check: under TCG on a loaded host the IO-APIC timer check can miss its window
# and panic ("timer doesn't work through Interrupt-remapped IO-APIC")
CMDLINE="console=ttyS0 ${IOMMU_ARGS:+$IOMMU_ARGS }panic=-1 quiet no_timer_check${APPEND}"

QCMD=("$QEMU" -L "$QROOT/usr/share/qemu" -L "$QROOT/usr/share/seabios"
      "${MACHINE[@]}" "${ACCEL_ARGS[@]}" -smp "$SMP" -m "$MEM"
      -nodefaults -no-user-config -vga none -display none -no-reboot
      -chardev stdio,id=con,signal=off -serial chardev:con
      "${IOMMU[@]}" "${DEVICES[@]}"
      -kernel "$VMLINUZ" -initrd "$WORK/initrd.cpio" -append "$CMDLINE")

printf 'vm-run: case %s | kernel %s (%s%s) | accel=%s (%s) | iommu=%s | timeout %ss\n' \
    "$case_name" "$SERIES" "$KVER" "$([ $IOMMUFD = 1 ] && echo ', iommufd modules')" "$ACCEL" "$([ "$ACCEL" = tcg ] && echo 'software emulation' || echo 'hardware')" \
    "$([ "$NO_IOMMU" = 1 ] && echo none || echo intel-iommu)" "$TIMEOUT"
printf 'vm-run: append: %s\n' "$CMDLINE"
LOG=$WORK/console.log
: > "$LOG"
T0=$(date +%s.%N)
# setsid: QEMU (under timeout) runs in its own process group, killed as one on timeout or
# clean-up; pdeathsig: if this script dies anyhow (even SIGKILL), timeout and QEMU die too
setsid -w setpriv --pdeathsig TERM timeout -k 5 "$TIMEOUT" setpriv --pdeathsig KILL "${QCMD[@]}" </dev/null >"$LOG" 2>&1 &
QPID=$!
tail -n +1 -f --pid="$QPID" "$LOG" 2>/dev/null | tr -d '\r' &
TPID=$!
# poll rather than block in `wait`, so that INT/TERM/HUP run the clean-up promptly
while kill -0 "$QPID" 2>/dev/null && ! grep -q '^@@HOSTDEV-VM-EXIT' "$LOG" 2>/dev/null; do sleep 0.3; done
QRC=0
wait "$QPID" || QRC=$?
wait "$TPID" 2>/dev/null || true
QPID=""
DT=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')

RC=$(tr -d '\r' < "$LOG" | sed -n 's/^@@HOSTDEV-VM-EXIT \([0-9][0-9]*\)@@$/\1/p' | tail -1)
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    printf 'vm-run: TIMEOUT: the VM did not finish within %ss; QEMU killed (case %s)\n' "$TIMEOUT" "$case_name"
    exit 124
fi
if [ -z "$RC" ]; then
    printf 'vm-run: FAILED: the VM ended (QEMU status %s) without the end marker after %ss (case %s)\n' "$QRC" "$DT" "$case_name"
    exit 1
fi
printf 'vm-run: case %s exited %s after %ss (boot + case, kernel %s, accel=%s)\n' "$case_name" "$RC" "$DT" "$SERIES" "$ACCEL"
exit "$RC"
