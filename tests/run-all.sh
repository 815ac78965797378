#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine (run as root: the real-kernel suite
# installs its QEMU, kernel and busybox through apt on first use and caches them):
#   formatting, lints, unit and fixture tests, the parsers fuzzed for a bounded time, the
#   .deb and .rpm packages (built, linted, installed into a Debian 12 chroot) and the
#   Ansible collection, then hostdev against a real Linux kernel (QEMU with a virtual
#   IOMMU, vfio-pci and the kernel's sample mdev drivers).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
# hostdev-sim (sim/) mounts the fixture copies of the integration tests through FUSE: as
# root only the kernel's /dev/fuse is needed (no fusermount3, so no fuse3 package); mdevctl
# lets sim/tests/mdevctl.rs check the mdevs and types a mount shows (skipped without it).
if ! command -v mdevctl >/dev/null && command -v apt-get >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq mdevctl >/dev/null; } || echo "mdevctl not installable: its test is skipped"
fi
step "cargo build -p hostdev-sim (the simulated host)"
cargo build --locked -p hostdev-sim
step "cargo test --workspace (unit, fixture and simulated-host tests)"
cargo test --locked --workspace
step "fixtures (generated identically by fixtures/mkfixture.py, kernel-shaped)"
bash tests/fixtures-check.sh
step "cargo build --release (hostdev, hostdev-sim)"
cargo build --release --locked --workspace
step "fuzz the parsers (tests/fuzz.sh)"
bash tests/fuzz.sh
step "large inputs end with their documented exit codes (bench/large-input.sh)"
bash bench/large-input.sh --no-build
step "status/devices: promtool check metrics, virt-xml-validate"
bash tests/status-tools.sh
step "systemd units (systemd-analyze verify)"
bash tests/systemd-verify.sh
step "packages (tests/packaging.sh: .deb + .rpm, lintian, rpmlint, install test, Ansible)"
bash tests/packaging.sh
step "real-kernel suite (tests/vm)"
HOSTDEV_BIN="$PWD/target/release/hostdev" HOSTDEV_VM_JOBS="${HOSTDEV_VM_JOBS:-2}" bash tests/vm/run-suite.sh
