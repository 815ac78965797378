#!/usr/bin/env bash
# Packaging test (run as root; part of tests/run-all.sh):
#   1. builds the .deb and the .rpm from the tree (contrib/packaging/build.sh);
#   2. checks the .deb: its file list, `lintian --pedantic` (every tag fails the step unless
#      contrib/debian/lintian-overrides justifies it);
#   3. checks the .rpm: rpm -qip / -qlp / --scripts, `rpmlint` with contrib/rpm/rpmlint.toml
#      (0 errors, 0 warnings), and an install + erase into a scratch rpm root;
#   4. installs the .deb into a throwaway Debian 12 root (mmdebstrap tarball, cached) with
#      dpkg -i in a chroot: hostdev --version, man -w 8, bash completion, systemd-analyze
#      verify of the installed unit, the unit enabled; then dpkg --purge leaves no file;
#   5. tests the Ansible collection (tests/ansible/run.sh);
#   6. runs the collection's role twice in a fresh Debian 12 root whose /sys is the sys/ of
#      a simulated host (fixtures/t4-1x served by hostdev-sim, bound in): installs the .deb,
#      drops the configuration, enables the unit, creates the mdevs; the second run must
#      change nothing.
# Steps 5 and 6 build hostdev-sim (cargo build --release --locked -p hostdev-sim).
# Caches (never in the repo): $HOSTDEV_PKG_CACHE, default /var/cache/hostdev-pkg: the
# cargo-deb/cargo-generate-rpm binaries, the Debian 12 base tarball, the ansible-core venv.
# HOSTDEV_PKG_SKIP_ANSIBLE=1 skips steps 5 and 6 (local runs only; CI runs everything).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

cache="${HOSTDEV_PKG_CACHE:-/var/cache/hostdev-pkg}"
mirror="${HOSTDEV_PKG_MIRROR:-http://deb.debian.org/debian}"
export HOSTDEV_PKG_TOOLS="$cache/cargo"

say() { printf 'packaging: %s\n' "$*"; }
step() { printf '\npackaging: == %s\n' "$*"; }
die() { printf 'packaging: FAIL: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (installs its tools with apt, uses chroot)"
t0=$SECONDS

# -- tools ---------------------------------------------------------------------------------
need=()
for p in lintian rpm rpmlint mmdebstrap python3-venv gcc; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *'install ok installed'* ]] || need+=("$p")
done
if [[ ${#need[@]} -gt 0 ]]; then
    say "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp="$(mktemp -d /tmp/hostdev-packaging.XXXXXX)"
chroot_dir=""
mounts=() sim_server=""
cleanup() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
    stop_sim_server
    rm -rf "$tmp"
}
stop_sim_server() { # the hostdev-sim server exits once its mount is down; wait for it (it removes its copy)
    [[ -n $sim_server ]] || return 0
    for _ in $(seq 50); do kill -0 "$sim_server" 2>/dev/null || break; sleep 0.1; done
    kill "$sim_server" 2>/dev/null || true
    sim_server=""
}
trap cleanup EXIT

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"
[[ -n $version ]] || die "no version in Cargo.toml"

# -- 1. build ------------------------------------------------------------------------------
step "build both packages (contrib/packaging/build.sh)"
bash contrib/packaging/build.sh
deb="$(ls target/debian/hostdev_"$version"-1_*.deb)"
rpm="$(ls target/generate-rpm/hostdev-"$version"-1.*.rpm)"

# The installed layout both packages must have (the RPM: zsh's site-functions, the
# license file under /usr/share/licenses, no Debian changelog/lintian overrides).
common_files() {
    echo /usr/sbin/hostdev
    for page in man/*.8; do echo "/usr/share/man/man8/$(basename "$page").gz"; done
    echo /usr/share/bash-completion/completions/hostdev
    echo /usr/share/fish/vendor_completions.d/hostdev.fish
    echo /usr/lib/systemd/system/hostdev.service
    echo /usr/lib/systemd/system/hostdev-status.service
    echo /usr/lib/systemd/system/hostdev-status.timer
    echo /usr/share/doc/hostdev/examples/config.yaml
    echo /usr/share/doc/hostdev/README.md
}
{
    common_files
    echo /usr/share/zsh/vendor-completions/_hostdev
    echo /usr/share/doc/hostdev/copyright
    echo /usr/share/doc/hostdev/changelog.Debian.gz
    echo /usr/share/lintian/overrides/hostdev
} | sort >"$tmp/want-deb"
{
    common_files
    echo /usr/share/zsh/site-functions/_hostdev
    echo /usr/share/licenses/hostdev/copyright
} | sort >"$tmp/want-rpm"

# -- 2. the .deb ---------------------------------------------------------------------------
step "deb: $deb"
dpkg-deb -I "$deb" | sed -n '/Package:/,$p'
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort >"$tmp/got-deb"
diff -u "$tmp/want-deb" "$tmp/got-deb" || die "the .deb's file list differs from the expected layout"
# (grep reads captured output: with pipefail, `cmd | grep -q` fails when grep exits early)
grep -Eq '^-rwxr-xr-x (root/root|0/0) .* \./usr/sbin/hostdev$' <<<"$(dpkg-deb -c "$deb")" ||
    die "/usr/sbin/hostdev is not 0755 root"
say "file list: $(wc -l <"$tmp/got-deb") files, as expected"
for u in hostdev.service hostdev-status.service hostdev-status.timer; do
    dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/lib/systemd/system/$u" >"$tmp/deb-$u"
    cmp -s "$tmp/deb-$u" "contrib/systemd/$u" || die "packaged $u differs from contrib/systemd/$u"
done
cp "$tmp/deb-hostdev.service" "$tmp/deb-unit"
grep -q '^ExecStart=/usr/sbin/hostdev --quiet status ' "$tmp/deb-hostdev-status.service" ||
    die "hostdev-status.service does not run /usr/sbin/hostdev"
grep -q '^ExecStart=-/usr/sbin/hostdev bind vfio' "$tmp/deb-unit" || die "unit ExecStart= does not run /usr/sbin/hostdev"
if grep -E '^ExecStart=' "$tmp/deb-unit" | grep -v '/usr/sbin/hostdev '; then die "an ExecStart= is not /usr/sbin/hostdev"; fi

say "lintian $(lintian --version | awk '{print $2}') --pedantic (fails on any tag that is not overridden)"
# lintian warns when run as root; it only reads the package.
install -d -m 0755 "$tmp/lintian"
install -m 0644 "$deb" "$tmp/lintian/"
chmod 0755 "$tmp"
lintian_cmd=(lintian --pedantic --info --tag-display-limit 0)
if command -v runuser >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
    lintian_cmd=(runuser -u nobody -- "${lintian_cmd[@]}")
fi
(cd "$tmp/lintian" && "${lintian_cmd[@]}" --fail-on error,warning,info,pedantic "$(basename "$deb")") ||
    die "lintian reported tags (see above)"
(cd "$tmp/lintian" && "${lintian_cmd[@]}" --show-overrides "$(basename "$deb")") >"$tmp/lintian.out" 2>&1 || true
grep '^O:' "$tmp/lintian.out" |
    sed 's|^|packaging: lintian, overridden with a reason in contrib/debian/lintian-overrides: |' || true
say "lintian: no errors, warnings, info or pedantic tags beyond the justified overrides"

# -- 3. the .rpm ---------------------------------------------------------------------------
step "rpm: $rpm"
rpm -qip "$rpm"
rpm -qlp "$rpm" | sort >"$tmp/got-rpm"
diff -u "$tmp/want-rpm" "$tmp/got-rpm" || die "the .rpm's file list differs from the expected layout"
say "file list: $(wc -l <"$tmp/got-rpm") files, as expected"
grep -q '^-rwxr-xr-x .* root *root .* /usr/sbin/hostdev$' <<<"$(rpm -qlvp "$rpm")" || die "/usr/sbin/hostdev is not 0755 root in the rpm"
grep -q 'systemctl --no-reload preset hostdev.service hostdev-status.timer' <<<"$(rpm -qp --scripts "$rpm")" || die "no %post preset in the rpm"
# glibc only: libc, libm and the dynamic loader (indicatif's float formatting links libm), and libgcc_s.
if rpm -qpR "$rpm" | grep -v -E '^(/bin/sh|libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|libgcc_s\.so\.1|rpmlib\(|rtld\()'; then
    die "unexpected rpm requirement (above)"
fi
say "rpmlint $(rpmlint --version 2>/dev/null | tail -n1) -c contrib/rpm/rpmlint.toml"
rpmlint -c contrib/rpm/rpmlint.toml "$rpm" | tee "$tmp/rpmlint"
grep -q ' 0 errors, 0 warnings' "$tmp/rpmlint" || die "rpmlint reported errors or warnings"
say "rpm install + erase into a scratch rpm database (--nodeps --noscripts: no systemd there)"
rroot="$tmp/rpmroot"
mkdir -p "$rroot"
# Debian's rpm keeps its database in ~/.rpmdb and warns that alien is the way to install
# RPMs on Debian; here the database goes inside the scratch root and the warning is dropped.
rpm_s() { rpm --root "$rroot" --dbpath /var/lib/rpm "$@" 2> >(grep -v -e 'use Alien instead' -e 'assuming you know what' >&2); }
rpm_s --initdb
rpm_s -i --nodeps --noscripts "$rpm"
for f in $(cat "$tmp/want-rpm"); do [[ -f $rroot$f ]] || die "rpm -i did not install $f"; done
[[ $("$rroot/usr/sbin/hostdev" --version) == "hostdev $version" ]] || die "rpm's hostdev --version is not $version"
rpm_s -e --noscripts hostdev
left="$(find "$rroot" -path "$rroot/var/lib/rpm" -prune -o -type f -print)"
[[ -z $left ]] || die "rpm -e left files: $left"
say "rpm: installed, hostdev $version ran, erased without leftovers"

# -- 4. install the .deb into a throwaway Debian 12 root ----------------------------------
step "deb: dpkg -i into a throwaway Debian 12 root"
# python3 and python3-apt: the role test (step 6) runs Ansible modules inside the root.
base_pkgs="man-db,bash-completion,systemd,python3,python3-apt"
base="$cache/debian12-minbase-$(printf '%s' "bookworm $base_pkgs $mirror" | sha256sum | cut -c1-12).tar"
if [[ ! -s $base ]]; then
    say "mmdebstrap bookworm (minbase + $base_pkgs) -> $base (once; later runs reuse it)"
    mkdir -p "$cache"
    mmdebstrap --quiet --mode=root --format=tar --variant=minbase --include="$base_pkgs" \
        --aptopt='Acquire::Retries "3"' bookworm "$base.part" "$mirror"
    mv "$base.part" "$base"
fi
chroot_dir="$tmp/root"
mkdir -p "$chroot_dir"
tar -C "$chroot_dir" -xf "$base"
mount -t proc proc "$chroot_dir/proc"
mounts+=("$chroot_dir/proc")
in_root() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
snapshot() { # every path in the root but dpkg's database and log, the man-db cache, and /run
    # (a tmpfs on a booted host, where systemd-analyze below leaves its runtime files)
    (cd "$chroot_dir" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./dev -o -path ./run -o -path ./var/lib/dpkg \
        -o -path ./var/log/dpkg.log -o -path ./var/cache/man -o -path ./var/cache/ldconfig \) -prune -o -print | sort)
}
# node_exporter's textfile directory exists before hostdev (hostdev-status.service writes
# hostdev.prom there); the purge must remove the file and leave the directory.
mkdir -p "$chroot_dir/var/lib/prometheus/node-exporter"
snapshot >"$tmp/before"
cp "$deb" "$chroot_dir/tmp/hostdev.deb"
in_root dpkg -i /tmp/hostdev.deb
grep -q '^Status: install ok installed$' <<<"$(in_root dpkg -s hostdev)" || die "dpkg -s: hostdev not installed"

got="$(in_root hostdev --version)"
[[ $got == "hostdev $version" ]] || die "hostdev --version says '$got', Cargo.toml has $version"
say "ok: hostdev --version -> $got"
[[ $(in_root sh -c 'command -v hostdev') == /usr/sbin/hostdev ]] || die "hostdev is not /usr/sbin/hostdev on PATH"

page="$(in_root man -w 8 hostdev)"
[[ $page == /usr/share/man/man8/hostdev.8.gz ]] || die "man -w 8 hostdev: '$page'"
sub="$(in_root man -w 8 hostdev-apply)"
[[ $sub == /usr/share/man/man8/hostdev-apply.8.gz ]] || die "man -w 8 hostdev-apply: '$sub'"
grep -q "EXIT STATUS" <<<"$(in_root env MANWIDTH=80 man 8 hostdev 2>/dev/null)" || die "man 8 hostdev does not render"
say "ok: man -w 8 hostdev -> $page; man -w 8 hostdev-apply -> $sub"

# bash-completion loads /usr/share/bash-completion/completions/hostdev on the first <TAB>.
complete_words() { # the words bash would offer after `hostdev <args...>`
    in_root bash --norc --noprofile -c '
        . /usr/share/bash-completion/bash_completion
        _completion_loader hostdev
        spec="$(complete -p hostdev)" || exit 1
        fn="${spec#*-F }"; fn="${fn%% *}"
        COMP_WORDS=(hostdev "$@"); COMP_CWORD=$#
        COMP_LINE="hostdev $*"; COMP_POINT=${#COMP_LINE}
        "$fn" hostdev "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
[[ $(complete_words pl) == plan ]] || die "bash completion of 'hostdev pl': '$(complete_words pl)'"
all="$(complete_words "" | tr '\n' ' ')"
for s in apply plan teardown list-types env iommu bind; do
    [[ " $all " == *" $s "* ]] || die "bash completion of 'hostdev ': no $s in: $all"
done
say "ok: bash completion: 'hostdev pl<TAB>' -> plan; 'hostdev <TAB>' -> $all"
[[ -f $chroot_dir/usr/share/zsh/vendor-completions/_hostdev && -f $chroot_dir/usr/share/fish/vendor_completions.d/hostdev.fish ]] ||
    die "zsh/fish completions missing"

units=(/usr/lib/systemd/system/hostdev.service /usr/lib/systemd/system/hostdev-status.timer /usr/lib/systemd/system/hostdev-status.service)
out="$(in_root env SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=yes "${units[@]}" 2>&1)" ||
    die "systemd-analyze verify failed: $out"
[[ -z $out ]] || die "systemd-analyze verify reported: $out"
say "ok: systemd-analyze verify --man=yes ${units[*]} (silent)"
[[ $(in_root systemctl is-enabled hostdev.service) == enabled ]] || die "hostdev.service is not enabled after install"
[[ -L $chroot_dir/etc/systemd/system/multi-user.target.wants/hostdev.service ]] || die "no multi-user.target.wants link"
[[ $(in_root systemctl is-enabled hostdev-status.timer) == disabled ]] || die "hostdev-status.timer should not be enabled on install"
say "ok: hostdev.service enabled on install (runs at boot only once /etc/hostdev/config.yaml exists); hostdev-status.timer not enabled"
# An administrator enables the metrics timer; the purge below must remove that link too.
in_root systemctl enable hostdev-status.timer 2>/dev/null

# The annotated example is a valid configuration: plan it on a copy of a bundled fixture.
mkdir -p "$chroot_dir/tmp/fixture"
cp -a fixtures/t4-1x/. "$chroot_dir/tmp/fixture/"
in_root hostdev --root /tmp/fixture -f /usr/share/doc/hostdev/examples/config.yaml --node-name node1 plan >/dev/null ||
    die "the example configuration does not plan"
rm -rf "$chroot_dir/tmp/fixture"
say "ok: /usr/share/doc/hostdev/examples/config.yaml plans on fixtures/t4-1x"

# The rpm's %postun, run here (rpm -e above ran --noscripts): an upgrade ($1 = 1) keeps the
# Prometheus textfile, the final erase ($1 = 0) removes it.
prom=/var/lib/prometheus/node-exporter/hostdev.prom
rpm -qp --qf '%{POSTUN}' "$rpm" >"$chroot_dir/tmp/postun" 2>/dev/null
echo 'hostdev_plan_pending_actions 0' >"$chroot_dir$prom"
in_root sh /tmp/postun 1
[[ -f $chroot_dir$prom ]] || die "the rpm's %postun removed $prom on an upgrade"
in_root sh /tmp/postun 0
[[ ! -e $chroot_dir$prom ]] || die "the rpm's %postun left $prom on erase (node_exporter would export stale metrics)"
rm -f "$chroot_dir/tmp/postun"
say "ok: the rpm's %postun removes $prom on erase, keeps it on an upgrade"

# What a run on the host leaves behind (the audit log, the textfile and a temporary file of
# hostdev-status.service), which the purge must remove too.
mkdir -p "$chroot_dir/var/log/hostdev"
echo '{}' >"$chroot_dir/var/log/hostdev/audit.jsonl"
echo 'hostdev_plan_pending_actions 0' >"$chroot_dir$prom"
echo 'hostdev_plan_pending_actions 0' >"$chroot_dir/var/lib/prometheus/node-exporter/.hostdev.prom.4242.tmp"
in_root dpkg --purge hostdev
rm -f "$chroot_dir/tmp/hostdev.deb"
snapshot >"$tmp/after"
diff -u "$tmp/before" "$tmp/after" || die "dpkg --purge left files behind (above)"
say "ok: dpkg --purge hostdev left no file behind (the audit log, $prom and the enablement links included)"
umount "$chroot_dir/proc"
mounts=()
rm -rf "$chroot_dir"

# -- 5. Ansible ----------------------------------------------------------------------------
if [[ ${HOSTDEV_PKG_SKIP_ANSIBLE:-0} == 1 ]]; then
    say "Ansible tests skipped (HOSTDEV_PKG_SKIP_ANSIBLE=1)"
    say "PASS ($((SECONDS - t0)) s)"
    exit 0
fi
step "Ansible collection (tests/ansible/run.sh)"
say "cargo build --release --locked -p hostdev-sim (the simulated hosts of steps 5 and 6)"
nice -n 10 cargo build --release --locked --quiet -p hostdev-sim
sim="$repo/target/release/hostdev-sim"
HOSTDEV_BIN="$repo/target/release/hostdev" bash tests/ansible/run.sh

# -- 6. the role in a Debian 12 root --------------------------------------------------------
step "the role hostdev.host.hostdev, twice, in a fresh Debian 12 root (/sys: fixtures/t4-1x, simulated)"
venv="$(ls -d "$cache"/ansible-core-*/ | head -n1)"
venv="${venv%/}"
r="$tmp/role-root"
mkdir -p "$r"
tar -C "$r" -xf "$base"
mount -t proc proc "$r/proc"; mounts+=("$r/proc")
mount --bind /dev "$r/dev"; mounts+=("$r/dev")
# The host's sysfs: the sys/ of fixtures/t4-1x served by hostdev-sim (outside the chroot; the
# model answers hostdev's writes there as the kernel would), bound at the chroot's /sys.
host="$tmp/role-host"
sim_server="$("$sim" serve fixtures/t4-1x "$host" --background 2>"$tmp/sim.log")" ||
    die "hostdev-sim serve fixtures/t4-1x $host failed: $(cat "$tmp/sim.log")"
mounts+=("$host")
mount --bind "$host/sys" "$r/sys"; mounts+=("$r/sys")
mkdir -p "$r$venv"
mount --bind "$venv" "$r$venv"; mounts+=("$r$venv")
cp "$deb" "$r/tmp/hostdev.deb"
mkdir -p "$r/tmp/collections"
cp -a contrib/ansible/ansible_collections "$r/tmp/collections/"
cp tests/ansible/role-in-chroot.yml "$r/tmp/site.yml"
role_run() { # $1: log name
    chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
        ANSIBLE_COLLECTIONS_PATH=/tmp/collections ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 \
        ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_RETRY_FILES_ENABLED=0 \
        "$venv/bin/ansible-playbook" -i localhost, -c local -e ansible_python_interpreter=/usr/bin/python3 \
        /tmp/site.yml >"$tmp/$1.log" 2>&1 || { cat "$tmp/$1.log"; die "the role failed ($1)"; }
    awk '/^TASK \[/ {t=$0; sub(/^TASK \[/, "", t); sub(/\] \**$/, "", t)}
         /^(ok|changed|failed|fatal|skipping): / {split($0, a, ":"); print "packaging:   " a[1] ": " t}' "$tmp/$1.log"
    printf 'packaging:   PLAY RECAP %s\n' "$(grep -A1 '^PLAY RECAP' "$tmp/$1.log" | tail -n1 | tr -s ' ')"
}
say "first run:"
out1="$(role_run role-1)"
printf '%s\n' "$out1"
recap1="${out1##*$'\n'}"
[[ $recap1 =~ changed=([0-9]+) && ${BASH_REMATCH[1]} -ge 4 && $recap1 == *" failed=0 "* ]] ||
    die "first run of the role: expected changes and no failure: $recap1"
in_root_r() { chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
grep -q '^Status: install ok installed$' <<<"$(in_root_r dpkg -s hostdev)" || die "the role did not install the package"
grep -q 'nvidia-223' "$r/etc/hostdev/config.yaml" || die "the role did not drop /etc/hostdev/config.yaml"
[[ $(in_root_r systemctl is-enabled hostdev.service) == enabled ]] || die "hostdev.service not enabled"
n="$(find "$r/sys/bus/mdev/devices" -mindepth 1 -maxdepth 1 -name '*-*' | wc -l)"
[[ $n -eq 8 ]] || die "expected 8 mdevs on the fixture after the role, found $n"
[[ $(wc -l <"$r/var/log/hostdev/audit.jsonl") -eq 8 ]] || die "expected 8 audit lines"
say "second run:"
out2="$(role_run role-2)"
printf '%s\n' "$out2"
recap2="${out2##*$'\n'}"
[[ $recap2 == *" changed=0 "* && $recap2 == *" failed=0 "* ]] || die "second run of the role changed something: $recap2"
[[ $(wc -l <"$r/var/log/hostdev/audit.jsonl") -eq 8 ]] || die "the second run wrote to the audit log"
say "ok: the role installed the .deb, dropped the configuration, enabled the unit and created 8 mdevs; run again: changed=0"
for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}"; done
mounts=()
stop_sim_server

say "PASS ($((SECONDS - t0)) s)"
