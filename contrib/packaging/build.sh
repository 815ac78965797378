#!/usr/bin/env bash
# Build the Debian and RPM packages of hostdev from this tree:
#   target/debian/hostdev_<version>-1_<arch>.deb          (cargo-deb)
#   target/generate-rpm/hostdev-<version>-1.<arch>.rpm    (cargo-generate-rpm)
# The layout is in Cargo.toml ([package.metadata.deb], [package.metadata.generate-rpm]).
#
#   bash contrib/packaging/build.sh            # needs cargo; root only to install the tools below
#
# cargo-deb and cargo-generate-rpm are taken from PATH, else from $HOSTDEV_PKG_TOOLS/bin
# (default /var/cache/hostdev-pkg/cargo), where they are installed with
# `cargo install --locked` (pinned versions) on first use; later runs skip the compile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CARGO_DEB_VERSION=3.8.0
CARGO_GENERATE_RPM_VERSION=0.21.1
tools="${HOSTDEV_PKG_TOOLS:-/var/cache/hostdev-pkg/cargo}"
export PATH="$tools/bin:$PATH"

say() { printf 'build-packages: %s\n' "$*"; }

install_tool() { # crate version
    if command -v "$1" >/dev/null 2>&1; then return; fi
    say "cargo install --locked $1@$2 into $tools (once)"
    mkdir -p "$tools"
    CARGO_TARGET_DIR="$tools/build" nice -n 10 cargo install --quiet --locked --root "$tools" "$1@$2"
    rm -rf "$tools/build"
}
install_tool cargo-deb "$CARGO_DEB_VERSION"
install_tool cargo-generate-rpm "$CARGO_GENERATE_RPM_VERSION"

say "cargo build --release --locked"
nice -n 10 cargo build --release --locked --quiet

# What the RPM takes from target/packaging (cargo-deb compresses and strips by itself):
# gzipped man pages and a stripped binary, as rpmbuild's brp scripts would make them.
stage=target/packaging
rm -rf "$stage"
mkdir -p "$stage/man8"
for page in man/*.8; do
    gzip -9n <"$page" >"$stage/man8/$(basename "$page").gz"
done
strip --strip-unneeded -o "$stage/hostdev" target/release/hostdev

say "cargo deb --no-build"
rm -rf target/debian
deb="$(cargo deb --no-build --quiet)"
say "cargo generate-rpm"
rm -rf target/generate-rpm
cargo generate-rpm
rpm="$(ls target/generate-rpm/*.rpm)"
say "built $deb"
say "built $PWD/$rpm"
