#!/usr/bin/env bash
# tests/vm/setup.sh — idempotent set-up of the real-kernel VM test harness.
#
#   tests/vm/setup.sh [KERNEL...]     KERNEL: 6.1, 6.12 (default: $HOSTDEV_VM_KERNELS or both)
#
# Installs (as root, Debian 12) the few packages the harness needs (cpio, kmod, gcc-12,
# make, and the shared libraries the QEMU backport's Depends names), downloads with
# `apt-get download` and unpacks with `dpkg-deb -x` (never installs) QEMU 10 + seabios from bookworm-backports (through a
# private apt directory in the cache; the machine's own apt configuration is not changed),
# busybox-static, and for each kernel series the Debian kernel image, its headers, kbuild
# and source; builds the vfio-mdev sample drivers (mtty, mdpy, mbochs) against those
# headers; on 6.12 also rebuilds iommufd + the vfio/mdev modules with CONFIG_IOMMUFD=m
# CONFIG_VFIO_DEVICE_CDEV=y (Debian ships 6.12 without iommufd); and prepares the cached
# base initramfs of each kernel plus the QEMU bundle that cases run inside the guest.
#
#   HOSTDEV_VM_CACHE      cache directory (default /var/cache/hostdev-vm)
#   HOSTDEV_VM_KERNELS    kernel series to prepare (default "6.1 6.12")
#   HOSTDEV_VM_REBUILD=1  rebuild the modules and initramfs images even if cached
#   HOSTDEV_VM_REFRESH=1  ask apt again which kernel each series is (default: reuse the
#                         one set up last time; a fresh cache always asks)
#
# Cache layout (everything keyed by version, so kernels and QEMU can move independently):
#   $CACHE/qemu-<qemu version>/   QEMU + seabios unpacked (root/), guest.cpio (QEMU for the guest)
#   $CACHE/kernel-<kernel ABI>/   debs/, root/ (image, headers, kbuild), src/, build/, base*.cpio
#   $CACHE/<series>.env           what run.sh reads: kver, qemu, vmlinuz, base, ...
#
# Exit status: 0 ready; 1 a prerequisite is missing or a step failed (message on
# stderr); 3 this host cannot possibly run the harness (not Linux x86_64 / not Debian).
set -euo pipefail

SETUP_VERSION=4   # bump when the cached layout changes
CACHE=${HOSTDEV_VM_CACHE:-/var/cache/hostdev-vm}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s.%N)
REBUILD=${HOSTDEV_VM_REBUILD:-0}

log()  { printf 'vm-setup: %s\n' "$*" >&2; }
die()  { printf 'vm-setup: ERROR: %s\n' "$*" >&2; exit 1; }
cant() { printf 'vm-setup: CANNOT RUN HERE: %s\n' "$*" >&2; exit 3; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

KERNELS=${*:-${HOSTDEV_VM_KERNELS:-6.1 6.12}}
for k in $KERNELS; do
    case $k in 6.1|6.12) ;; *) die "unknown kernel series $k (known: 6.1 6.12)";; esac
done

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

# Installed: what building modules and the initramfs needs (QEMU's libraries: below).
# Never qemu-system-x86 (that would remove the newer qemu-utils backport on our image) and
# never linux-headers-* (they pull in a kernel image and run initramfs-tools on the host).
RUNTIME_PKGS="cpio kmod xz-utils make gcc-12 libc6-dev"

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

# install_missing WHAT PKG...   (apt-get install --no-install-recommends what is not installed)
install_missing() {
    local what=$1 need; shift
    need=$(missing_pkgs "$@")
    if [ -z "$need" ]; then
        log "installed packages present ($what)"
        return 0
    fi
    apt_update_once
    log "apt-get install --no-install-recommends $need ($what)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null \
        || die "apt-get install $need failed"
    need=$(missing_pkgs "$@")
    [ -z "$need" ] || die "still missing after install: $need"
}

install_missing "$RUNTIME_PKGS" $RUNTIME_PKGS

# download_into DIR APT-OPTIONS... -- PKG...   (apt-get download, only what is missing)
download_into() {
    local dir=$1; shift
    local opts=() p
    while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
    mkdir -p "$dir"
    for p in "$@"; do
        local name=${p%%=*}
        ls "$dir/${name}_"*.deb >/dev/null 2>&1 && continue
        [ ${#opts[@]} -gt 0 ] || apt_update_once
        log "apt-get download $p"
        # apt's _apt user must be able to write the partial download there
        (cd "$dir" && apt-get download -qq "${opts[@]}" "$p" >/dev/null 2>"$dir/.apt-err") \
            || { cat "$dir/.apt-err" >&2; die "apt-get download $p failed"; }
    done
}
deb_of() { ls "$1/${2}_"*.deb 2>/dev/null | sort | tail -1; }
# unpack_into ROOT DEB...   (dpkg-deb -x, once per deb)
unpack_into() {
    local root=$1 deb; shift
    mkdir -p "$root"
    for deb in "$@"; do
        [ -f "$root/.unpacked-$(basename "$deb")" ] && continue
        log "unpack $(basename "$deb")"
        dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed"
        touch "$root/.unpacked-$(basename "$deb")"
    done
}

# ------------------------------------------------------ QEMU 10 (bookworm-backports)
# A private apt directory naming the bookworm-backports suite of the mirror this machine
# already uses; used only for `apt-get download`, never for install.
APTB=$CACHE/apt-backports
QDEBS=$CACHE/qemu-debs
QEMU_PKGS="qemu-system-x86 qemu-system-common qemu-system-data seabios"
have_qdebs=1
for p in $QEMU_PKGS; do [ -n "$(deb_of "$QDEBS" "$p")" ] || have_qdebs=0; done
if [ $have_qdebs = 0 ]; then
    mirror=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null | grep -v -- '-security' | grep '/debian/\?$' | head -1)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian/
    mkdir -p "$APTB/lists/partial"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bookworm-backports main\n' "${mirror%/}" \
        > "$APTB/sources.list"
    APTB_OPTS=(-o "Dir::Etc::SourceList=$APTB/sources.list" -o Dir::Etc::SourceParts=/nonexistent
               -o "Dir::State::Lists=$APTB/lists" -o APT::Get::List-Cleanup=0)
    log "apt-get update of bookworm-backports (private list directory $APTB)"
    apt-get update -qq "${APTB_OPTS[@]}" >/dev/null 2>"$APTB/update.err" \
        || { cat "$APTB/update.err" >&2; die "apt-get update of bookworm-backports ($mirror) failed"; }
    download_into "$QDEBS" "${APTB_OPTS[@]}" -- $QEMU_PKGS
fi
QDEB=$(deb_of "$QDEBS" qemu-system-x86)
QVERSION=$(dpkg-deb -f "$QDEB" Version)
# QEMU's shared libraries: what the backport's Depends names (all in bookworm itself),
# installed from the machine's own suites when missing
QLIBS=$(dpkg-deb -f "$QDEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/^ *//; s/ *$//' \
        | grep -v -e '^qemu-' -e '^seabios' -e '^ipxe' -e '^<' -e '^$' | sort -u | tr '\n' ' ')
install_missing "QEMU's libraries" $QLIBS
case $QVERSION in *:[89].*|*:1[0-9].*) ;; *) die "QEMU $QVERSION from $QDEB: the SR-IOV cases need QEMU >= 8 (igb)";; esac
QDIR=$CACHE/qemu-$(printf '%s' "$QVERSION" | tr -c 'A-Za-z0-9.+~-' '_')
unpack_into "$QDIR/root" $(for p in $QEMU_PKGS; do deb_of "$QDEBS" "$p"; done)
QEMU=$QDIR/root/usr/bin/qemu-system-x86_64
[ -x "$QEMU" ] || die "no $QEMU after unpacking qemu-system-x86"
QV=$("$QEMU" --version 2>&1 | head -1) || die "QEMU does not start: $QV (missing runtime library? ldd $QEMU)"
log "$QV"

# QEMU for the guest: the same binary, its shared libraries and firmware, at the paths
# Debian installs them to, as one cpio appended to the initramfs of cases that ask for it.
GUEST_QEMU=$QDIR/guest.cpio
if [ "$REBUILD" = 1 ] || [ ! -f "$GUEST_QEMU" ]; then
    GS=$QDIR/guest-stage
    rm -rf "$GS"; mkdir -p "$GS/usr/bin" "$GS/usr/share"
    cp "$QEMU" "$GS/usr/bin/qemu-system-x86_64"
    cp -a "$QDIR/root/usr/share/qemu" "$QDIR/root/usr/share/seabios" "$GS/usr/share/"
    rm -rf "$GS/usr/share/qemu/keymaps"
    ldd "$QEMU" | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r lib; do
        mkdir -p "$GS$(dirname "$lib")"; cp -L "$lib" "$GS$lib"
    done
    (cd "$GS" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 > "$GUEST_QEMU.tmp") \
        || die "cpio of the guest QEMU failed"
    mv "$GUEST_QEMU.tmp" "$GUEST_QEMU"; rm -rf "$GS"
    log "guest QEMU bundle: $(du -h "$GUEST_QEMU" | cut -f1)"
fi

# ------------------------------------------------------------------- busybox
BBDEBS=$CACHE/busybox-debs
download_into "$BBDEBS" -- busybox-static
BBDEB=$(deb_of "$BBDEBS" busybox-static)
BBDIR=$CACHE/busybox-$(dpkg-deb -f "$BBDEB" Version | tr -c 'A-Za-z0-9.+~-' '_')
unpack_into "$BBDIR" "$BBDEB"
BUSYBOX=$BBDIR/bin/busybox
[ -x "$BUSYBOX" ] || die "no $BUSYBOX after unpacking busybox-static"

# ------------------------------------------------------------------- kernels
# What every guest loads (the dependency closure is resolved with the real modprobe).
GUEST_MODULES="vfio vfio_pci vfio_iommu_type1 mdev e1000e e1000 igb igbvf virtio_pci virtio_rng"
MODS="mtty mdpy mbochs"

# make_cpio STAGE OUT
make_cpio() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 > "$2.tmp") \
        || die "cpio of $1 failed"
    mv "$2.tmp" "$2"
}

# build_base KDIR KVER EXTRA_DIR OUT [REPLACED_MODULE_NAMES]
#   busybox + the closure of GUEST_MODULES (uncompressed) + the .ko files of EXTRA_DIR
#   in extra/ (replacing same-named stock modules), depmod'ed.
build_base() {
    local kdir=$1 kver=$2 extra=$3 out=$4 root=$1/root
    local stage=$kdir/stage-$(basename "$out" .cpio) f rel m files
    rm -rf "$stage"
    mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,root,lib/modules/"$kver"/extra}
    cp "$BUSYBOX" "$stage/bin/busybox"
    for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$stage/bin/$a"; done
    files=$(for m in $GUEST_MODULES; do
                modprobe -d "$root" -S "$kver" --show-depends "$m" 2>/dev/null || echo "MISSING $m"
            done | awk '$1=="insmod"{print $2} $1=="MISSING"{print "MISSING:" $2}' | sort -u)
    case $files in *MISSING:*) die "kernel modules not found in $kver: $(echo "$files" | grep MISSING: | tr '\n' ' ')";; esac
    local replaced=" $(cd "$extra" && ls *.ko | sed 's/\.ko$//' | tr '\n' ' ') "
    for f in $files; do
        rel=${f#"$root"/lib/modules/"$kver"/}
        m=$(basename "$rel" | tr - _); m=${m%%.ko*}
        case $replaced in *" $m "*) continue;; esac   # rebuilt below
        mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
        case $f in
            *.ko.xz) xz -dc "$f" > "$stage/lib/modules/$kver/${rel%.xz}";;
            *.ko.zst) zstd -qdc "$f" > "$stage/lib/modules/$kver/${rel%.zst}";;
            *.ko.gz) gzip -dc "$f" > "$stage/lib/modules/$kver/${rel%.gz}";;
            *) cp "$f" "$stage/lib/modules/$kver/$rel";;
        esac
    done
    for f in "$extra"/*.ko; do
        strip --strip-debug -o "$stage/lib/modules/$kver/extra/$(basename "$f")" "$f" || die "strip $f failed"
    done
    for f in modules.builtin modules.builtin.modinfo modules.order; do
        [ -f "$root/lib/modules/$kver/$f" ] && cp "$root/lib/modules/$kver/$f" "$stage/lib/modules/$kver/"
    done
    depmod -b "$stage" "$kver" || die "depmod of the initramfs module subset failed"
    echo "$kver" > "$stage/etc/hostdev-vm-kver"
    make_cpio "$stage" "$out"
    log "$(basename "$out") ($kver): $(du -h "$out" | cut -f1), modules: $(cd "$stage/lib/modules/$kver" && find . -name '*.ko' | sed 's,.*/,,; s,\.ko$,,' | sort | tr '\n' ' ')"
    rm -rf "$stage"
}

# kmake HEADERS DIR [VAR=VALUE...]   build the external modules in DIR
kmake() {
    local hdr=$1 dir=$2; shift 2
    # CONFIG_DEBUG_INFO_BTF_MODULES=: the 6.12 headers ship vmlinux and would run pahole
    make -s -C "$hdr" M="$dir" -j"$(nproc)" CONFIG_DEBUG_INFO_BTF_MODULES= "$@" modules \
        >"$dir/build.log" 2>&1 \
        || { tail -40 "$dir/build.log" >&2; die "building the modules in $dir failed (log $dir/build.log)"; }
}

setup_kernel() {   # SERIES
    local series=$1 ts kver meta kdir root ver hdr srcdeb d
    ts=$(date +%s.%N)
    case $series in
        6.1) meta=linux-image-amd64;;
        *) meta=linux-image-$series-amd64;;
    esac
    # the kernel resolved last time, unless HOSTDEV_VM_REFRESH=1 asks apt again
    kver=""
    if [ "${HOSTDEV_VM_REFRESH:-0}" != 1 ] && [ -f "$CACHE/$series.env" ] \
        && grep -qx "version=$SETUP_VERSION" "$CACHE/$series.env"; then
        kver=$(sed -n 's/^kver=//p' "$CACHE/$series.env")
        [ -f "$CACHE/kernel-$kver/.downloaded" ] || kver=""
    fi
    [ -n "$kver" ] || kver=$(apt-cache depends "$meta" 2>/dev/null | sed -n "s/.*Depends: linux-image-\(${series//./\\.}\.[0-9a-z.+-]*-amd64\)$/\1/p" | head -1)
    if [ -z "$kver" ]; then
        apt_update_once
        kver=$(apt-cache depends "$meta" 2>/dev/null | sed -n "s/.*Depends: linux-image-\(${series//./\\.}\.[0-9a-z.+-]*-amd64\)$/\1/p" | head -1)
    fi
    [ -n "$kver" ] || die "cannot tell which kernel $meta depends on (apt-cache depends $meta)"
    kdir=$CACHE/kernel-$kver; root=$kdir/root
    # the image, the headers with their -common and kbuild, the source of the same version
    if [ ! -f "$kdir/.downloaded" ]; then
        local deps
        deps=$(apt-cache depends "linux-headers-$kver" 2>/dev/null | sed -n 's/^ *Depends: \(linux-\(headers\|kbuild\)-[^ <>]*\)$/\1/p' | sort -u | tr '\n' ' ')
        [ -n "$deps" ] || { apt_update_once; deps=$(apt-cache depends "linux-headers-$kver" 2>/dev/null | sed -n 's/^ *Depends: \(linux-\(headers\|kbuild\)-[^ <>]*\)$/\1/p' | sort -u | tr '\n' ' '); }
        [ -n "$deps" ] || die "cannot resolve what linux-headers-$kver depends on"
        ver=$(apt-cache show "linux-image-$kver" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
        [ -n "$ver" ] || die "no version for linux-image-$kver"
        download_into "$kdir/debs" -- "linux-image-$kver" "linux-headers-$kver" $deps "linux-source-$series=$ver"
        unpack_into "$root" $(for p in "linux-image-$kver" "linux-headers-$kver" $deps; do deb_of "$kdir/debs" "$p"; done)
        touch "$kdir/.downloaded"
    fi
    hdr=$root/usr/src/linux-headers-$kver
    [ -f "$hdr/Makefile" ] || die "no $hdr/Makefile after unpacking linux-headers-$kver"
    # the headers' Makefile includes the -common tree by its absolute, installed path
    grep -q "^include $root/" "$hdr/Makefile" || sed -i "s,^include /usr/src/,include $root/usr/src/," "$hdr/Makefile"
    [ -f "$root/boot/vmlinuz-$kver" ] || die "no vmlinuz-$kver after unpacking linux-image-$kver"
    [ -f "$root/lib/modules/$kver/modules.dep" ] && [ "$root/lib/modules/$kver/modules.dep" -nt "$root/lib/modules/$kver/modules.order" ] \
        || { log "depmod the unpacked $kver modules"; depmod -b "$root" "$kver" || die "depmod -b $root $kver failed"; }

    # iommufd: Debian builds its kernels without it; on >= 6.6 (vfio cdev) rebuild it
    local iommufd=0
    case $series in 6.1) ;; *) grep -q '^# CONFIG_IOMMUFD is not set' "$hdr/.config" && iommufd=1;; esac

    # the few source files we build, from linux-source-<series>
    local src=$kdir/src
    if [ ! -f "$src/.extracted" ]; then
        srcdeb=$(deb_of "$kdir/debs" "linux-source-$series")
        rm -rf "$src"; mkdir -p "$src"
        log "extract samples/vfio-mdev$([ $iommufd = 1 ] && echo ', drivers/vfio, drivers/iommu, lib/interval_tree.c') from $(basename "$srcdeb")"
        local want=("linux-source-$series/samples/vfio-mdev/*")
        [ $iommufd = 1 ] && want+=("linux-source-$series/drivers/vfio/*" "linux-source-$series/drivers/iommu/*" "linux-source-$series/lib/interval_tree.c")
        dpkg-deb --fsys-tarfile "$srcdeb" | tar -xO "./usr/src/linux-source-$series.tar.xz" \
            | tar -xJ -C "$src" --strip-components=1 --wildcards "${want[@]}" \
            || die "extracting the sources from linux-source-$series.tar.xz failed"
        touch "$src/.extracted"
    fi

    # sample mdev drivers
    # + nvsim, the simulated NVIDIA vGPU host driver (tests/vm/nvsim), rebuilt when it changes
    local build=$kdir/build/vfio-mdev
    if [ "$REBUILD" = 1 ] || [ ! -f "$build/.built" ] || [ "$HERE/nvsim/nvsim.c" -nt "$build/.built" ]; then
        rm -rf "$build"; mkdir -p "$build"
        cp "$src"/samples/vfio-mdev/{mtty.c,mdpy.c,mbochs.c,mdpy-defs.h} "$build/"
        cp "$HERE/nvsim/nvsim.c" "$build/"
        echo 'obj-m := mtty.o mdpy.o mbochs.o nvsim.o' > "$build/Kbuild"
        log "build $MODS nvsim against linux-headers-$kver"
        kmake "$hdr" "$build"
        for m in $MODS nvsim; do [ -f "$build/$m.ko" ] || die "$m.ko was not built"; done
        touch "$build/.built"
    fi
    if [ "$REBUILD" = 1 ] || [ ! -f "$kdir/base.cpio" ] || [ "$kdir/base.cpio" -ot "$build/.built" ]; then
        build_base "$kdir" "$kver" "$build" "$kdir/base.cpio"
    fi

    # iommufd + vfio (cdev) + mdev + the samples, rebuilt with CONFIG_IOMMUFD=m
    # CONFIG_VFIO_DEVICE_CDEV=y; the span-iterator helpers of lib/interval_tree.c (built
    # into the kernel only when something selects INTERVAL_TREE_SPAN_ITER) go into iommufd.ko
    local ibuild=$kdir/build/iommufd base_iommufd=""
    if [ $iommufd = 1 ]; then
        base_iommufd=$kdir/base-iommufd.cpio
        if [ "$REBUILD" = 1 ] || [ ! -f "$ibuild/.built" ]; then
            rm -rf "$ibuild"; mkdir -p "$ibuild"
            cp -a "$src/drivers" "$ibuild/"
            cp "$src"/samples/vfio-mdev/{mtty.c,mdpy.c,mbochs.c,mdpy-defs.h} "$ibuild/"
            { echo '#include <linux/interval_tree.h>'
              sed -n '/^#ifdef CONFIG_INTERVAL_TREE_SPAN_ITER/,/^#endif/p' "$src/lib/interval_tree.c" | grep -v '^EXPORT_SYMBOL'
            } > "$ibuild/drivers/iommu/iommufd/span_iter.c"
            grep -q interval_tree_span_iter_first "$ibuild/drivers/iommu/iommufd/span_iter.c" \
                || die "no interval_tree_span_iter_* in lib/interval_tree.c of $kver"
            local v=drivers/vfio
            cat > "$ibuild/Kbuild" <<EOF
obj-m := iommufd.o vfio.o vfio_iommu_type1.o vfio-pci-core.o vfio-pci.o mdev.o mtty.o mdpy.o mbochs.o
iommufd-y := $(cd "$ibuild" && for f in device fault hw_pagetable io_pagetable ioas main pages vfio_compat span_iter; do
                 [ -f drivers/iommu/iommufd/$f.c ] && printf 'drivers/iommu/iommufd/%s.o ' $f; done)
vfio-y := $v/vfio_main.o $v/device_cdev.o $v/group.o $v/iommufd.o $v/container.o $v/virqfd.o
vfio_iommu_type1-y := $v/vfio_iommu_type1.o
vfio-pci-core-y := $v/pci/vfio_pci_core.o $v/pci/vfio_pci_intrs.o $v/pci/vfio_pci_rdwr.o $v/pci/vfio_pci_config.o
vfio-pci-y := $v/pci/vfio_pci.o $v/pci/vfio_pci_igd.o
mdev-y := $v/mdev/mdev_core.o $v/mdev/mdev_sysfs.o $v/mdev/mdev_driver.o
EOF
            log "build iommufd, vfio (cdev), vfio-pci, mdev and $MODS for $kver with CONFIG_IOMMUFD=m CONFIG_VFIO_DEVICE_CDEV=y"
            kmake "$hdr" "$ibuild" CONFIG_IOMMUFD=m CONFIG_VFIO_DEVICE_CDEV=y CONFIG_INTERVAL_TREE_SPAN_ITER=y \
                KCPPFLAGS="-DCONFIG_IOMMUFD_MODULE=1 -DCONFIG_VFIO_DEVICE_CDEV=1 -DCONFIG_INTERVAL_TREE_SPAN_ITER=1"
            for m in iommufd vfio vfio_iommu_type1 vfio-pci-core vfio-pci mdev $MODS; do
                [ -f "$ibuild/$m.ko" ] || die "$m.ko was not built (log $ibuild/build.log)"
            done
            # module names use _ (vfio-pci.ko is module vfio_pci): rename so that the
            # stock files of the same modules are left out of this initramfs
            mkdir -p "$ibuild/ko"
            for f in "$ibuild"/*.ko; do
                cp "$f" "$ibuild/ko/$(basename "$f" | tr - _)"
            done
            touch "$ibuild/.built"
        fi
        if [ "$REBUILD" = 1 ] || [ ! -f "$base_iommufd" ] || [ "$base_iommufd" -ot "$ibuild/.built" ]; then
            build_base "$kdir" "$kver" "$ibuild/ko" "$base_iommufd"
        fi
    fi

    cat > "$CACHE/$series.env.tmp" <<EOF
version=$SETUP_VERSION
series=$series
kver=$kver
qemu=$QEMU
qemu_root=$QDIR/root
guest_qemu=$GUEST_QEMU
vmlinuz=$root/boot/vmlinuz-$kver
base=$kdir/base.cpio
base_iommufd=$base_iommufd
EOF
    mv "$CACHE/$series.env.tmp" "$CACHE/$series.env"
    log "kernel $series: $kver ready in $(elapsed "$ts") s$([ $iommufd = 1 ] && echo ' (with the iommufd variant)')"
}

for k in $KERNELS; do setup_kernel "$k"; done
log "ready in $(elapsed "$T0") s (kernels $KERNELS, $QV, cache $CACHE)"
