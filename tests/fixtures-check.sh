#!/usr/bin/env bash
# The committed fixture trees are exactly what fixtures/mkfixture.py generates, and each
# passes the generator's consistency check (the kernel's sysfs shape).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen=$PWD/fixtures/mkfixture.py
scenarios=$(python3 "$gen" --list)
python3 "$gen" --all --out "$tmp" >/dev/null
status=0
for s in $scenarios; do
  if ! diff -r --no-dereference "fixtures/$s" "$tmp/$s" >"$tmp/$s.diff" 2>&1; then
    echo "fixtures/$s differs from what mkfixture.py generates (run fixtures/regen.sh):" >&2
    head -20 "$tmp/$s.diff" >&2
    status=1
  fi
done
# shellcheck disable=SC2086 # one argument per scenario
if ! (cd "$tmp" && python3 "$gen" --check $scenarios >"$tmp/check.out" 2>&1); then
  grep -v ": OK:" "$tmp/check.out" | head -40 >&2
  status=1
fi
[ "$status" = 0 ] && echo "fixtures: $(echo $scenarios | wc -w) scenarios generated identically and consistent"
exit "$status"
