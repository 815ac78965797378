#!/usr/bin/env bash
# Large-input timings for the configuration reader (issue 12 item 5): each input must be
# handled in time linear in its size.
#
#   bench/large-input.sh [--no-build]
#
# Env: HOSTDEV=/path/to/hostdev (default: target/release/hostdev, built here).
# Prints, for 1x and 2x sizes of each input, the exit code and the wall time:
#   nested-[    N bytes of `[` (refused with exit 65 after 64 levels; was quadratic in libyaml)
#   nested-{    N/4 `{a: ` (refused likewise)
#   types       N desired mdev types in a block list (`plan`; the dedup was Vec::contains;
#               2x stays under the 1 MiB configuration limit)
# The 2x time should be about twice the 1x time (or both negligible). Exits 1 if a run
# ends with an unexpected exit code.
set -euo pipefail

build=1
case "${1:-}" in
  --no-build) build=0 ;;
  "") ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  *) echo "large-input.sh: unknown argument: $1" >&2; exit 64 ;;
esac

. "$(dirname "$0")/common.sh"
hostdev_binary large-input.sh "$build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$repo/fixtures/t4-1x
status=0

gen() { # KIND SIZE FILE
  python3 - "$1" "$2" "$3" <<'PY'
import sys
kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    if kind == "nested-[":
        f.write("a: " + "[" * n + "\n")
    elif kind == "nested-{":
        f.write("a: " + "{a: " * (n // 4) + "\n")
    else:
        f.write("mediatedDevicesConfiguration:\n  mediatedDeviceTypes:\n")
        f.writelines(f"  - nvidia-{i}\n" for i in range(n))
PY
}

printf '%-10s %10s %5s %9s\n' input size exit seconds
for spec in "nested-[ 200000 65" "nested-{ 200000 65" "types 25000 0"; do
  read -r kind size want <<<"$spec"
  for mult in 1 2; do
    n=$((size * mult))
    gen "$kind" "$n" "$tmp/config.yaml"
    start=$(date +%s.%N)
    set +e
    "$bin" --root "$root" -f "$tmp/config.yaml" --node-name bench plan >/dev/null 2>&1
    code=$?
    set -e
    end=$(date +%s.%N)
    printf '%-10s %10d %5d %9.3f\n' "$kind" "$n" "$code" "$(echo "$end - $start" | bc)"
    [ "$code" = "$want" ] || { echo "large-input.sh: $kind x$mult exited $code, expected $want" >&2; status=1; }
  done
done
exit $status
