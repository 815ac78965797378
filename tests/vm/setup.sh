#!/usr/bin/env bash
# tests/vm/setup.sh — idempotent set-up of the real-kernel VM test harness.
#
# Installs (as root, Debian 12) the few packages the harness needs, downloads and
# unpacks QEMU + the Debian 6.1 kernel + busybox into a cache directory (never into
# the repository), builds the vfio-mdev sample drivers (mtty, mdpy, mbochs) against
# the matching kernel headers, and prepares the cached base initramfs.
#
#   HOSTDEV_VM_CACHE   cache directory (default /var/cache/hostdev-vm)
#   HOSTDEV_VM_KVER    kernel ABI to use (default: what linux-image-amd64 depends on)
#   HOSTDEV_VM_REBUILD=1  rebuild the modules and base initramfs even if cached
#
# Exit status: 0 ready; 1 a prerequisite is missing or a step failed (message on
# stderr); 3 this host cannot possibly run the harness (not Linux x86_64 / not Debian).
set -euo pipefail

SETUP_VERSION=3   # bump when the cached layout changes
CACHE=${HOSTDEV_VM_CACHE:-/var/cache/hostdev-vm}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s.%N)

log()  { printf 'vm-setup: %s\n' "$*" >&2; }
die()  { printf 'vm-setup: ERROR: %s\n' "$*" >&2; exit 1; }
cant() { printf 'vm-setup: CANNOT RUN HERE: %s\n' "$*" >&2; exit 3; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# ---------------------------------------------------------------- host checks
[ "$(uname -s)" = Linux ] || cant "needs Linux (this is $(uname -s))"
[ "$(uname -m)" = x86_64 ] || cant "needs x86_64 (this is $(uname -m))"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || cant "needs a Debian system with apt-get and dpkg-deb"
if [ -r /etc/debian_version ]; then
    case $(cat /etc/debian_version) in 12*|bookworm*) ;;
        *) log "warning: tested on Debian 12 only; this is Debian $(cat /etc/debian_version)";;
    esac
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, cache in $CACHE): sudo $0"

mkdir -p "$CACHE"
STAMP=$CACHE/setup.stamp

RUNTIME_PKGS="cpio kmod libcapstone4 libfdt1 libibverbs1 libpmem1 librdmacm1 libslirp0 libvdeplug2"
DL_PKGS_BASE="qemu-system-x86 qemu-system-common qemu-system-data seabios linux-source-6.1 busybox-static"

missing_pkgs() {
    local p out=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
            || out="$out $p"
    done
    printf '%s' "${out# }"
}

APT_UPDATED=0
apt_update_once() {
    [ $APT_UPDATED = 1 ] && return 0
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed (no access to the Debian mirror?)"
    APT_UPDATED=1
}

# ------------------------------------------------------------- kernel version
if [ -n "${HOSTDEV_VM_KVER:-}" ]; then
    KVER=$HOSTDEV_VM_KVER
elif [ -f "$STAMP" ] && grep -q "^version=$SETUP_VERSION$" "$STAMP"; then
    KVER=$(sed -n 's/^kver=//p' "$STAMP")
else
    KVER=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(6\.1\.[0-9-]*-amd64\)$/\1/p' | head -1)
    if [ -z "$KVER" ]; then
        apt_update_once
        KVER=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(6\.1\.[0-9-]*-amd64\)$/\1/p' | head -1)
    fi
    [ -n "$KVER" ] || die "cannot tell which kernel linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
fi
log "kernel $KVER, cache $CACHE"

# -------------------------------------------------------- installed packages
NEED=$(missing_pkgs $RUNTIME_PKGS "linux-headers-$KVER")
if [ -n "$NEED" ]; then
    apt_update_once
    log "apt-get install --no-install-recommends $NEED"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $NEED >/dev/null \
        || die "apt-get install $NEED failed"
    NEED=$(missing_pkgs $RUNTIME_PKGS "linux-headers-$KVER")
    [ -z "$NEED" ] || die "still missing after install: $NEED"
else
    log "installed packages present (cpio kmod linux-headers-$KVER qemu runtime libs)"
fi

# ---------------------------------------------- downloaded + unpacked packages
DEBS=$CACHE/debs
ROOT=$CACHE/root
mkdir -p "$DEBS" "$ROOT"
for p in $DL_PKGS_BASE "linux-image-$KVER"; do
    if ! ls "$DEBS/${p}_"*.deb >/dev/null 2>&1; then
        apt_update_once
        log "apt-get download $p"
        (cd "$DEBS" && apt-get download -qq "$p" >/dev/null 2>&1) || die "apt-get download $p failed"
    fi
    deb=$(ls "$DEBS/${p}_"*.deb | sort | tail -1)
    if [ ! -f "$ROOT/.unpacked-$(basename "$deb")" ]; then
        case $p in
            linux-source-6.1) : ;;   # only a few files are taken from it, below
            *) log "unpack $(basename "$deb")"
               dpkg-deb -x "$deb" "$ROOT" || die "dpkg-deb -x $deb failed";;
        esac
        touch "$ROOT/.unpacked-$(basename "$deb")"
    fi
done

QEMU=$ROOT/usr/bin/qemu-system-x86_64
VMLINUZ=$ROOT/boot/vmlinuz-$KVER
BUSYBOX=$ROOT/bin/busybox
[ -x "$QEMU" ] || die "no $QEMU after unpacking qemu-system-x86"
[ -f "$VMLINUZ" ] || die "no $VMLINUZ after unpacking linux-image-$KVER"
[ -x "$BUSYBOX" ] || die "no $BUSYBOX after unpacking busybox-static"
QV=$("$QEMU" --version 2>&1 | head -1) || die "QEMU does not start: $QV (missing runtime library? ldd $QEMU)"
log "$QV"

# ---------------------------------------------- sample mdev drivers (built once)
BUILD=$CACHE/build/vfio-mdev
MODS="mtty mdpy mbochs"
if [ "${HOSTDEV_VM_REBUILD:-0}" = 1 ] || [ ! -f "$BUILD/.built-$KVER" ]; then
    rm -rf "$BUILD"; mkdir -p "$BUILD"
    SRC_DEB=$(ls "$DEBS"/linux-source-6.1_*.deb | sort | tail -1)
    TMPX=$(mktemp -d)
    trap 'rm -rf "$TMPX"' EXIT
    log "extract samples/vfio-mdev from $(basename "$SRC_DEB")"
    dpkg-deb --fsys-tarfile "$SRC_DEB" | tar -x -C "$TMPX" --wildcards './usr/src/linux-source-6.1.tar.xz' \
        || die "linux-source-6.1.tar.xz not found in $SRC_DEB"
    tar -xJf "$TMPX/usr/src/linux-source-6.1.tar.xz" -C "$TMPX" \
        linux-source-6.1/samples/vfio-mdev/mtty.c linux-source-6.1/samples/vfio-mdev/mdpy.c \
        linux-source-6.1/samples/vfio-mdev/mbochs.c linux-source-6.1/samples/vfio-mdev/mdpy-defs.h \
        || die "samples/vfio-mdev sources not found in linux-source-6.1.tar.xz"
    cp "$TMPX"/linux-source-6.1/samples/vfio-mdev/* "$BUILD/"
    rm -rf "$TMPX"; trap - EXIT
    echo 'obj-m := mtty.o mdpy.o mbochs.o' > "$BUILD/Kbuild"
    [ -d "/lib/modules/$KVER/build" ] || die "no /lib/modules/$KVER/build (linux-headers-$KVER)"
    log "build $MODS against linux-headers-$KVER"
    make -s -C "/lib/modules/$KVER/build" M="$BUILD" -j"$(nproc)" modules >"$BUILD/build.log" 2>&1 \
        || { tail -30 "$BUILD/build.log" >&2; die "building the sample modules failed (log $BUILD/build.log)"; }
    for m in $MODS; do [ -f "$BUILD/$m.ko" ] || die "$m.ko was not built"; done
    touch "$BUILD/.built-$KVER"
    rm -f "$CACHE/base.cpio"
else
    log "sample modules cached ($BUILD)"
fi

# ------------------------------------------------------ base initramfs (cached)
# busybox + a depmod'ed subset of /lib/modules (uncompressed .ko) + sample modules.
GUEST_MODULES="vfio vfio_pci vfio_iommu_type1 mdev e1000e e1000 virtio_pci virtio_rng"
if [ "${HOSTDEV_VM_REBUILD:-0}" = 1 ] || [ ! -f "$CACHE/base.cpio" ] || [ "$CACHE/base.cpio" -ot "$BUILD/.built-$KVER" ]; then
    MODROOT=$ROOT/lib/modules/$KVER
    [ -d "$MODROOT" ] || die "no $MODROOT"
    [ -f "$MODROOT/modules.dep" ] && [ "$MODROOT/modules.dep" -nt "$MODROOT/modules.order" ] \
        || { log "depmod the unpacked kernel's modules"; depmod -b "$ROOT" "$KVER" || die "depmod -b $ROOT failed"; }
    STAGE=$CACHE/initramfs-base
    rm -rf "$STAGE"
    mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,root,lib/modules/"$KVER"/extra}
    cp "$BUSYBOX" "$STAGE/bin/busybox"
    for a in $("$BUSYBOX" --list); do
        [ "$a" = busybox ] || ln -sf busybox "$STAGE/bin/$a"
    done
    # the dependency closure, as the real modprobe resolves it
    files=$(for m in $GUEST_MODULES; do
                modprobe -d "$ROOT" -S "$KVER" --show-depends "$m" 2>/dev/null \
                    || { echo "MISSING $m"; }
            done | awk '$1=="insmod"{print $2} $1=="MISSING"{print "MISSING:" $2}' | sort -u)
    case $files in *MISSING:*) die "kernel modules not found in $KVER: $(echo "$files" | grep MISSING: | tr '\n' ' ')";; esac
    for f in $files; do
        rel=${f#"$ROOT"/lib/modules/"$KVER"/}
        mkdir -p "$STAGE/lib/modules/$KVER/$(dirname "$rel")"
        case $f in
            *.ko.xz) xz -dc "$f" > "$STAGE/lib/modules/$KVER/${rel%.xz}";;
            *.ko.zst) zstd -qdc "$f" > "$STAGE/lib/modules/$KVER/${rel%.zst}";;
            *.ko.gz) gzip -dc "$f" > "$STAGE/lib/modules/$KVER/${rel%.gz}";;
            *) cp "$f" "$STAGE/lib/modules/$KVER/$rel";;
        esac
    done
    for m in $MODS; do cp "$BUILD/$m.ko" "$STAGE/lib/modules/$KVER/extra/"; done
    for f in modules.builtin modules.builtin.modinfo modules.order; do
        [ -f "$MODROOT/$f" ] && cp "$MODROOT/$f" "$STAGE/lib/modules/$KVER/"
    done
    depmod -b "$STAGE" "$KVER" || die "depmod of the initramfs module subset failed"
    echo "$KVER" > "$STAGE/etc/hostdev-vm-kver"
    (cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet > "$CACHE/base.cpio.tmp") \
        || die "cpio of the base initramfs failed"
    mv "$CACHE/base.cpio.tmp" "$CACHE/base.cpio"
    log "base initramfs: $(du -h "$CACHE/base.cpio" | cut -f1), modules: $(cd "$STAGE/lib/modules/$KVER" && find . -name '*.ko' | sed 's,.*/,,; s,\.ko$,,' | sort | tr '\n' ' ')"
else
    log "base initramfs cached ($CACHE/base.cpio)"
fi

cat > "$STAMP" <<EOF
version=$SETUP_VERSION
kver=$KVER
qemu=$QEMU
vmlinuz=$VMLINUZ
base=$CACHE/base.cpio
EOF
log "ready in $(elapsed) s (cache $(du -sh "$CACHE" 2>/dev/null | cut -f1))"
