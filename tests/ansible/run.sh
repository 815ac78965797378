#!/usr/bin/env bash
# Tests of the Ansible collection contrib/ansible/ansible_collections/hostdev/host, as
# Ansible's own modules are tested: ansible-core from PyPI in a virtualenv (created here,
# cached under $HOSTDEV_PKG_CACHE, default /var/cache/hostdev-pkg), playbooks run on
# localhost (connection local) against copies of the fixtures, one ansible-playbook run per
# play in plays/ (their PLAY RECAP lines are the transcript), then `ansible-test sanity` on
# the collection (the checks that need no containers or extra Python versions).
# Each host the plays work on is a fixture served by hostdev-sim (sim/, `hostdev-sim serve
# FIXTURE MOUNT --background`): a private copy behind a FUSE mount whose every sysfs write is
# answered by the model of the kernel (mdevs appear and go, drivers bind, the kernel's
# errno on a refusal). The mounts are taken down on exit, also on failure.
#
#   HOSTDEV_BIN=target/release/hostdev bash tests/ansible/run.sh     # run by tests/packaging.sh
#   (hostdev-sim is taken from beside HOSTDEV_BIN, or HOSTDEV_SIM_BIN)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo="$PWD"

ANSIBLE_CORE_VERSION=2.18.19
cache="${HOSTDEV_PKG_CACHE:-/var/cache/hostdev-pkg}"
venv="$cache/ansible-core-$ANSIBLE_CORE_VERSION"
python=/usr/bin/python3
bin="$(realpath "${HOSTDEV_BIN:-target/release/hostdev}")"

say() { printf 'ansible: %s\n' "$*"; }
die() { printf 'ansible: FAIL: %s\n' "$*" >&2; exit 1; }

[[ -x $bin ]] || die "no hostdev binary at $bin (cargo build --release --locked, or HOSTDEV_BIN)"
sim="${HOSTDEV_SIM_BIN:-$(dirname "$bin")/hostdev-sim}"
[[ -x $sim ]] || die "no hostdev-sim binary at $sim (cargo build --release --locked -p hostdev-sim, or HOSTDEV_SIM_BIN)"
sim="$(realpath "$sim")"
if [[ ! -x $venv/bin/ansible-playbook ]]; then
    say "python3 -m venv $venv; pip install ansible-core==$ANSIBLE_CORE_VERSION (once)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --cache-dir "$cache/pip" \
        "ansible-core==$ANSIBLE_CORE_VERSION"
fi
version="$("$venv/bin/ansible" --version)"
say "${version%%$'\n'*}"

tmp="$(mktemp -d /tmp/hostdev-ansible.XXXXXX)"
mounts=() servers=()
cleanup() { # every mount down (its server then exits and removes its copy), then the rest
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        "$sim" stop "${mounts[i]}" 2>/dev/null || true
    done
    for pid in "${servers[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
chmod 0755 "$tmp"

work="$tmp/work"
mkdir -p "$work"
for pair in t4-1x:01-t4-1x host-gpu-audio:01-host-gpu-audio t4-1x:02-t4-1x l40s-full:02-l40s-full \
    t4-2x:04-t4-2x t4-undesired:05-t4-undesired host-gpu-audio:05-host-gpu-audio host-gpu-audio:06-host-gpu-audio \
    t4-1x:07-t4-1x host-gpu-audio:07-host-gpu-audio a40-novfs:07-a40-novfs; do
    mp="$work/${pair#*:}"
    pid="$("$sim" serve "fixtures/${pair%%:*}" "$mp" --background 2>>"$tmp/sim.log")" ||
        die "hostdev-sim serve fixtures/${pair%%:*} $mp failed: $(cat "$tmp/sim.log")"
    mounts+=("$mp") servers+=("$pid")
done
say "${#mounts[@]} simulated hosts (hostdev-sim serve) under $work"

cat >"$tmp/vars.json" <<JSON
{
  "work": "$work",
  "hostdev_bin": "$bin",
  "digest": "$repo/tests/ansible/tree-digest.sh",
  "ansible_python_interpreter": "$python"
}
JSON

export ANSIBLE_COLLECTIONS_PATH="$repo/contrib/ansible"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
export ANSIBLE_LOCAL_TEMP="$tmp/ansible-local" ANSIBLE_REMOTE_TEMP="$tmp/ansible-remote"
export ANSIBLE_HOME="$tmp/ansible-home"

recaps=()
for play in tests/ansible/plays/*.yml; do
    name="$(basename "$play" .yml)"
    say "ansible-playbook $play"
    if ! "$venv/bin/ansible-playbook" -i localhost, -c local -e "@$tmp/vars.json" "$play" >"$tmp/$name.log" 2>&1; then
        cat "$tmp/$name.log"
        die "$play failed"
    fi
    [[ ${HOSTDEV_ANSIBLE_VERBOSE:-0} == 1 ]] && cat "$tmp/$name.log"
    recap="$(grep -A1 '^PLAY RECAP' "$tmp/$name.log" | tail -n1 | tr -s ' ')"
    recaps+=("$name: $recap")
    # The module tasks as ansible-playbook reported them (assertions and helpers left out).
    awk '/^TASK \[/ {t=$0; sub(/^TASK \[/, "", t); sub(/\] \**$/, "", t)}
         /^(ok|changed|failed|fatal): / && t ~ /^hostdev/ {split($0, a, ":"); print "ansible:   " a[1] ": " t}' \
        "$tmp/$name.log"
done
say "transcript (PLAY RECAP per play):"
for r in "${recaps[@]}"; do say "  $r"; done

say "the module's documented exit codes (ansible-doc) against hostdev --help"
"$python" tests/ansible/doc-check.py "$bin" "$venv/bin/ansible-doc" || die "doc-check failed"

say "ansible-playbook --syntax-check of the collection's example playbook (site.yml, the role)"
"$venv/bin/ansible-playbook" -i localhost, --syntax-check \
    contrib/ansible/ansible_collections/hostdev/host/playbooks/site.yml >"$tmp/syntax.log" 2>&1 ||
    { cat "$tmp/syntax.log"; die "site.yml: syntax check failed"; }

# ansible-test runs in a copy at ansible_collections/<namespace>/<name> (outside this git
# tree). Each sanity test gets a virtualenv with its pinned requirements (--requirements,
# from PyPI); ansible-test bootstraps pip in them with a get-pip.py from
# ci-files.testing.ansible.com, which CI cannot reach, so its cache path holds
# get-pip-standin.py (ensurepip + PyPI) instead. HOME points ansible-test's cache and
# virtualenvs into $cache/ansible-test-home, so a second run reuses them.
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
say "ansible-test sanity --python $pyver --requirements (every test; tests/sanity/ignore-2.18.txt has one justified entry)"
test_home="$cache/ansible-test-home"
mkdir -p "$test_home/.ansible/test/cache"
cp tests/ansible/get-pip-standin.py "$test_home/.ansible/test/cache/get_pip_24_2.py"
coll="$tmp/sanity/ansible_collections/hostdev/host"
mkdir -p "$coll"
cp -a contrib/ansible/ansible_collections/hostdev/host/. "$coll/"
(cd "$coll" && HOME="$test_home" PIP_CACHE_DIR="$cache/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$venv/bin/ansible-test" sanity --python "$pyver" --requirements >"$tmp/sanity.log" 2>&1) ||
    { cat "$tmp/sanity.log"; die "ansible-test sanity failed"; }
n_tests="$(grep -c '^Running sanity test' "$tmp/sanity.log" || true)"
say "ansible-test sanity: $n_tests tests ran, all passed"
say "PASS"
