#!/usr/bin/env bash
# Benchmark hostdev on a large generated host (8 GPUs x 32 VFs x 25 types, 256 mdevs).
#
#   bench/run.sh [-n RUNS] [--json] [--no-build] [--keep] [-- extra gen_large.py args]
#
# Env: HOSTDEV=/path/to/hostdev (default: target/release/hostdev, built here),
#      RUNS (default 5), BENCH_TMP (parent of the temp dir, default $TMPDIR or /tmp).
# Reports median wall time and peak RSS (MiB) for `list-types -o json` and
# `plan -o json`. Exits 1 if the build or any run fails (the report still prints).
set -euo pipefail

runs=${RUNS:-5}; json=""; build=1; keep=0; gen_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--runs) runs=$2; shift 2 ;;
    --json) json=--json; shift ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    --) shift; gen_args=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 64 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
bin=${HOSTDEV:-$repo/target/release/hostdev}

if [ "$build" = 1 ] && [ -z "${HOSTDEV:-}" ]; then
  echo "building: cargo build --release" >&2
  if ! (cd "$repo" && cargo build --release --quiet); then
    echo "run.sh: cargo build --release failed" >&2
    exit 1
  fi
fi
if [ ! -x "$bin" ]; then
  echo "run.sh: no hostdev binary at $bin (build it or set HOSTDEV=)" >&2
  exit 1
fi

tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/hostdev-bench.XXXXXX")
if [ "$keep" = 1 ]; then
  echo "keeping $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
fi
tree=$tmp/tree
python3 "$here/gen_large.py" "$tree" ${gen_args[@]+"${gen_args[@]}"}

status=0
python3 "$here/measure.py" --label list-types --runs "$runs" $json -- \
  "$bin" --root "$tree" list-types -o json || status=1
python3 "$here/measure.py" --label plan --runs "$runs" $json -- \
  "$bin" --root "$tree" --node-name bench -f "$tree/config.yaml" plan -o json || status=1
exit $status
