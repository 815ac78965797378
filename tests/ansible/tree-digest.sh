#!/usr/bin/env bash
# Digest of a fixture tree (names, types, link targets and file contents): equal digests
# mean nothing was written. Used by the Ansible test plays. run/hostdev/lock is left out:
# every mutating run takes the lock and writes its pid there, changing nothing on the host.
set -euo pipefail
cd "$1"
{
    find . -path ./run/hostdev/lock -prune -o -printf '%y %p %l\n' | LC_ALL=C sort
    find . -path ./run/hostdev/lock -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
} | sha256sum | cut -d' ' -f1
