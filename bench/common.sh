# bench/common.sh -- sourced by bench/run.sh and bench/large-input.sh (bash).
#
# hostdev_binary NAME BUILD: sets here (bench/), repo and bin, the binary to measure:
# $HOSTDEV, else target/release/hostdev, built first with `cargo build --release` when
# BUILD is 1. Exits 1 with a message naming NAME when the build fails or there is no
# binary.
hostdev_binary() {
  local name=$1 build=$2
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  repo=$(cd "$here/.." && pwd)
  bin=${HOSTDEV:-$repo/target/release/hostdev}
  if [ "$build" = 1 ] && [ -z "${HOSTDEV:-}" ]; then
    echo "building: cargo build --release" >&2
    if ! (cd "$repo" && cargo build --release --quiet); then
      echo "$name: cargo build --release failed" >&2
      exit 1
    fi
  fi
  if [ ! -x "$bin" ]; then
    echo "$name: no hostdev binary at $bin (build it or set HOSTDEV=)" >&2
    exit 1
  fi
}
