#!/usr/bin/env bash
# Benchmark hostdev on a large generated host (8 GPUs x 32 VFs x 25 types, 256 mdevs).
#
#   bench/run.sh [-n RUNS] [--json] [--no-build] [--keep] [--files] [--mdevctl]
#                [--scaling] [--all] [-- extra gen_large.py args]
#
# Env: HOSTDEV=/path/to/hostdev (default: target/release/hostdev, built here),
#      RUNS (default 5), BENCH_TMP (parent of the temp dir, default /dev/shm when it
#      exists, else $TMPDIR or /tmp).
# Always: median wall time and peak RSS (MiB) of `list-types -o json` and `plan -o json`.
# --files:   files opened by each (strace -f -c -e trace=openat,openat2; installs strace
#            with apt-get when it is missing and we are root).
# --mdevctl: `mdevctl types --dumpjson` on the same tree (mdevctl reads /sys only, so it
#            runs in a private mount namespace with <tree>/sys bind-mounted over /sys;
#            needs root and unshare(1); installs the Debian package when missing) and the
#            ratio plan / mdevctl (goal: <= 0.2).
# --scaling: the host generated at 1x, 4x and 16x (gen_large.py --scale) and the time of
#            `plan -o json` and `list-types -o json` per type directory (goal: flat within
#            1.3x of the 1x figure).
# Exits 1 if the build or any run fails (the report still prints). See bench/README.md.
set -euo pipefail

runs=${RUNS:-5}; json=""; build=1; keep=0; gen_args=()
files=0; mdevctl=0; scaling=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--runs) runs=$2; shift 2 ;;
    --json) json=--json; shift ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    --files) files=1; shift ;;
    --mdevctl) mdevctl=1; shift ;;
    --scaling) scaling=1; shift ;;
    --all) files=1; mdevctl=1; scaling=1; shift ;;
    --) shift; gen_args=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 64 ;;
  esac
done

. "$(dirname "$0")/common.sh"
hostdev_binary run.sh "$build"

# install a Debian package for a tool we need, when we can
need() {
  local tool=$1 pkg=$2
  command -v "$tool" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $pkg (for $tool)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 || true
  fi
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not available; skipping" >&2; return 1; }
}

default_tmp=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && default_tmp=/dev/shm
tmp=$(mktemp -d "${BENCH_TMP:-$default_tmp}/hostdev-bench.XXXXXX")
if [ "$keep" = 1 ]; then
  echo "keeping $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
fi
tree=$tmp/tree
python3 "$here/gen_large.py" "$tree" ${gen_args[@]+"${gen_args[@]}"}

hd() { "$bin" --root "$1" --node-name bench -f "$1/config.yaml" "${@:2}"; }

status=0
python3 "$here/measure.py" --label list-types --runs "$runs" $json -- \
  "$bin" --root "$tree" list-types -o json || status=1
python3 "$here/measure.py" --label plan --runs "$runs" $json -- \
  "$bin" --root "$tree" --node-name bench -f "$tree/config.yaml" plan -o json || status=1

# files opened: the "total" calls of openat/openat2 in strace's summary
opened() {
  local out=$tmp/strace.txt
  strace -f -c -e trace=openat,openat2 -o "$out" "$@" >/dev/null 2>&1 || true
  awk '/total$/ {print $(NF-2) + 0; found=1} END {if (!found) print "?"}' "$out"
}

if [ "$files" = 1 ] && need strace strace; then
  for cmd in "list-types -o json" "plan -o json" "plan"; do
    # shellcheck disable=SC2086
    echo "files opened: $cmd: $(opened "$bin" --root "$tree" --node-name bench -f "$tree/config.yaml" $cmd)"
  done
fi

cat >"$tmp/cpu.py" <<'EOF'
import os, statistics, subprocess, sys
runs, cmd = int(sys.argv[1]), sys.argv[2:]
xs = []
for _ in range(runs):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    xs.append((ru.ru_utime + ru.ru_stime) * 1000)
print(f"{statistics.median(xs):.1f}")
EOF
cpu_ms() { # median CPU time (user + system, all threads) in ms of the command
  python3 "$tmp/cpu.py" "$runs" "$@"
}

median_ms() { # median wall time in ms of the command, from measure.py --json
  python3 "$here/measure.py" --label x --runs "$runs" --json -- "$@" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])'
}

if [ "$mdevctl" = 1 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
    echo "run.sh: --mdevctl needs root and unshare(1) (to bind-mount the tree over /sys); skipped" >&2
  elif need mdevctl mdevctl; then
    m=$(unshare -m --propagation private sh -c \
      'mount --bind "$1/sys" /sys && exec python3 "$2/measure.py" --label x --runs "$3" --json -- mdevctl types --dumpjson' \
      sh "$tree" "$here" "$runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])') || m=""
    mc=$(unshare -m --propagation private sh -c \
      'mount --bind "$1/sys" /sys && exec python3 "$2" "$3" mdevctl types --dumpjson' \
      sh "$tree" "$tmp/cpu.py" "$runs") || mc=""
    p=$(median_ms "$bin" --root "$tree" --node-name bench -f "$tree/config.yaml" plan -o json)
    pc=$(cpu_ms "$bin" --root "$tree" --node-name bench -f "$tree/config.yaml" plan -o json)
    l=$(median_ms "$bin" --root "$tree" list-types -o json)
    lc=$(cpu_ms "$bin" --root "$tree" list-types -o json)
    if [ -n "$m" ] && [ -n "$mc" ]; then
      python3 - "$m" "$p" "$l" "$mc" "$pc" "$lc" <<'EOF'
import sys
m, p, l, mc, pc, lc = map(float, sys.argv[1:])
print(f"wall: mdevctl types --dumpjson {m:.1f} ms; plan -o json {p:.1f} ms ({p / m:.2f}x); "
      f"list-types -o json {l:.1f} ms ({l / m:.2f}x)")
print(f"cpu:  mdevctl types --dumpjson {mc:.1f} ms; plan -o json {pc:.1f} ms ({pc / mc:.2f}x); "
      f"list-types -o json {lc:.1f} ms ({lc / mc:.2f}x)")
EOF
    else
      echo "run.sh: mdevctl under a bind mount failed" >&2; status=1
    fi
  fi
fi

if [ "$scaling" = 1 ]; then
  # wall time on a shared machine is mostly waiting for a CPU: CPU time per type directory
  # is the figure that shows the algorithm (both are printed)
  echo "scale  type dirs | plan: wall ms  cpu ms  cpu us/type  x1x | list-types: wall ms  cpu ms  cpu us/type  x1x"
  base_p=""; base_l=""
  for s in 1 4 16; do
    t=$tmp/scale$s
    python3 "$here/gen_large.py" "$t" --scale "$s" ${gen_args[@]+"${gen_args[@]}"} 2>"$tmp/gen.txt"
    n=$(sed -n 's/.* \([0-9]*\) type dirs.*/\1/p' "$tmp/gen.txt")
    pw=$(median_ms "$bin" --root "$t" --node-name bench -f "$t/config.yaml" plan -o json)
    pc=$(cpu_ms "$bin" --root "$t" --node-name bench -f "$t/config.yaml" plan -o json)
    lw=$(median_ms "$bin" --root "$t" list-types -o json)
    lc=$(cpu_ms "$bin" --root "$t" list-types -o json)
    out=$(python3 - "$s" "$n" "$pw" "$pc" "$lw" "$lc" "${base_p:-}" "${base_l:-}" <<'EOF'
import sys
s, n = int(sys.argv[1]), int(sys.argv[2])
pw, pc, lw, lc = map(float, sys.argv[3:7])
pt, lt = pc * 1000 / n, lc * 1000 / n
bp = float(sys.argv[7]) if sys.argv[7] else pt
bl = float(sys.argv[8]) if sys.argv[8] else lt
print(f"{bp} {bl}")
print(f"{s:>4}x  {n:>9} | {pw:>13.1f}  {pc:>6.1f}  {pt:>11.2f}  {pt / bp:>4.2f} | "
      f"{lw:>19.1f}  {lc:>6.1f}  {lt:>11.2f}  {lt / bl:>4.2f}")
EOF
)
    read -r base_p base_l <<<"$(head -1 <<<"$out")"
    tail -1 <<<"$out"
    rm -rf "$t"
  done
fi
exit $status
