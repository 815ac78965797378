#!/usr/bin/env bash
# The external checks of `hostdev status` and `hostdev devices`, which the cargo tests
# skip when the tools are absent: `promtool check metrics` on every Prometheus output
# (Debian's prometheus package) and `virt-xml-validate` on every libvirt <hostdev>
# element wrapped in a minimal domain (libvirt-clients, with xmllint from libxml2-utils).
# Installs what is missing with apt (once; later runs find the tools), then runs the
# tests with HOSTDEV_REQUIRE_TOOLS=1 so that a missing tool fails instead of skipping.
#   bash tests/status-tools.sh          (as root on a fresh Debian machine)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'status-tools: %s\n' "$*"; }
die() { printf 'status-tools: FAIL: %s\n' "$*" >&2; exit 1; }

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v virt-xml-validate >/dev/null 2>&1 || missing+=(libvirt-clients)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; installing needs root (apt-get install ${missing[*]})"
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
say "$(promtool --version 2>&1 | head -n1)"
say "virt-xml-validate from $(dpkg-query -W -f '${Package} ${Version}' libvirt-clients 2>/dev/null || echo '?')"
# The status/devices module of the integration crate.
HOSTDEV_REQUIRE_TOOLS=1 cargo test --locked --test integration status::
say "PASS"
