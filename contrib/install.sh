#!/usr/bin/env bash
# Install hostdev system-wide (run as root): the binary, the man pages, the shell
# completions and the systemd unit, in their standard places, so that `man hostdev` and
# `hostdev <TAB>` work and `systemctl enable hostdev.service` re-creates the devices at boot.
#
#   cargo build --release --locked && sudo contrib/install.sh [--prefix /usr/local] [--enable]
#
# For a package-managed install use the .deb/.rpm instead (README, "Install"); this script
# is for source installs.
#
# Options:
#   --prefix DIR    binary in DIR/bin, man pages in DIR/share/man/man8   [/usr/local]
#                   (absolute; letters, digits and / . _ + - only; no .. component)
#   --bin PATH      the hostdev binary to install          [target/release/hostdev]
#   --unitdir DIR   where the systemd unit goes             [/etc/systemd/system]
#   --destdir DIR   stage everything under DIR (packaging, tests); paths inside the
#                   installed files stay the final ones      [$DESTDIR]
#   --enable        systemctl daemon-reload, then systemctl enable hostdev.service
# Completions go where bash-completion, zsh and fish look for vendor completions:
#   /usr/share/bash-completion/completions/hostdev, /usr/share/zsh/vendor-completions/_hostdev,
#   /usr/share/fish/vendor_completions.d/hostdev.fish
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix=/usr/local
bin="$repo/target/release/hostdev"
unitdir=/etc/systemd/system
destdir="${DESTDIR:-}"
enable=0
args=("$@")

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) need_value "$@"; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --bin) need_value "$@"; bin="$2"; shift 2 ;;
        --bin=*) bin="${1#*=}"; shift ;;
        --unitdir) need_value "$@"; unitdir="$2"; shift 2 ;;
        --unitdir=*) unitdir="${1#*=}"; shift ;;
        --destdir) need_value "$@"; destdir="$2"; shift 2 ;;
        --destdir=*) destdir="${1#*=}"; shift ;;
        --enable) enable=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[[ $prefix == /* ]] || die "--prefix must be an absolute path, got '$prefix'"
# The prefix is written into the units (sed replacement, ExecStart= lines): only characters
# that mean nothing to sed, to systemd's command-line parser or to the shell, and no `..`.
[[ $prefix =~ ^[A-Za-z0-9/._+-]+$ ]] ||
    die "--prefix may contain only letters, digits and / . _ + - (it goes into the systemd units), got '$prefix'"
[[ /$prefix/ != */../* ]] || die "--prefix must not contain '..', got '$prefix'"
[[ $unitdir == /* ]] || die "--unitdir must be an absolute path, got '$unitdir'"
[[ -x $bin ]] || die "no hostdev binary at $bin: build it first (cargo build --release --locked) or pass --bin PATH"
if [[ -z $destdir && $(id -u) -ne 0 ]]; then
    die "installing into $prefix and /usr/share needs root: sudo $0 ${args[*]}  (or --destdir DIR to stage)"
fi
if [[ $enable == 1 && -n $destdir ]]; then
    die "--enable cannot be combined with --destdir (the unit is not installed on this system)"
fi

# Paths as the installed system sees them, and where we write them now.
bindir="$prefix/bin"
mandir="$prefix/share/man/man8"
bash_dir=/usr/share/bash-completion/completions
zsh_dir=/usr/share/zsh/vendor-completions
fish_dir=/usr/share/fish/vendor_completions.d
d() { printf '%s%s' "$destdir" "$1"; }

step() { printf 'install.sh: %s\n' "$*"; }

step "binary -> $(d "$bindir")/hostdev"
install -D -m 0755 "$bin" "$(d "$bindir")/hostdev"

step "man pages -> $(d "$mandir")/"
install -d -m 0755 "$(d "$mandir")"
shopt -s nullglob
pages=("$repo"/man/*.8)
[[ ${#pages[@]} -gt 0 ]] || die "no man pages in $repo/man (regenerate: HOSTDEV_REGEN=1 cargo test --test integration generated)"
install -m 0644 "${pages[@]}" "$(d "$mandir")/"

step "completions -> $(d "$bash_dir")/hostdev, $(d "$zsh_dir")/_hostdev, $(d "$fish_dir")/hostdev.fish"
install -D -m 0644 "$repo/completions/hostdev.bash" "$(d "$bash_dir")/hostdev"
install -D -m 0644 "$repo/completions/_hostdev" "$(d "$zsh_dir")/_hostdev"
install -D -m 0644 "$repo/completions/hostdev.fish" "$(d "$fish_dir")/hostdev.fish"

step "systemd unit -> $(d "$unitdir")/hostdev.service (ExecStart=$bindir/hostdev)"
install -d -m 0755 "$(d "$unitdir")"
sed "s|/usr/sbin/hostdev|$bindir/hostdev|g" "$repo/contrib/systemd/hostdev.service" \
    >"$(d "$unitdir")/hostdev.service"
chmod 0644 "$(d "$unitdir")/hostdev.service"
step "systemd units -> $(d "$unitdir")/hostdev-status.{service,timer} (Prometheus metrics every minute)"
for u in hostdev-status.service hostdev-status.timer; do
    sed "s|/usr/sbin/hostdev|$bindir/hostdev|g" "$repo/contrib/systemd/$u" >"$(d "$unitdir")/$u"
    chmod 0644 "$(d "$unitdir")/$u"
done

install -d -m 0755 "$(d /etc/hostdev)"
if [[ $enable == 1 ]]; then
    step "systemctl daemon-reload && systemctl enable hostdev.service"
    systemctl daemon-reload
    systemctl enable hostdev.service
fi

cat <<MSG
install.sh: done. Next:
  - write /etc/hostdev/config.yaml (see CONFIGURATION in man 8 hostdev), check it with: hostdev plan
  - at boot: systemctl enable hostdev.service (runs only when /etc/hostdev/config.yaml exists)
  - metrics for node_exporter every minute: systemctl enable --now hostdev-status.timer
  - completions load in new shells (bash needs the bash-completion package)
MSG
