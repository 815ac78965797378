"""The module's documented exit codes against the binary's (run by tests/ansible/run.sh).

    python3 tests/ansible/doc-check.py HOSTDEV_BIN ANSIBLE_DOC

`ansible-doc --json hostdev.host.hostdev` gives the module's RETURN; its `rc` description
lists the codes as `N words`. `hostdev --help` ends with `Exit codes: 0 success, 1 ...`
(from src/error.rs Code::ALL). Every code hostdev can exit with from the commands the module
runs (all but 2, which only `plan --detailed-exitcode` returns) must be documented, and the
module documents no code hostdev does not have, except 3 (not ready), announced ahead of the
binary (documented always; once hostdev has it, it is checked like the others).
"""

import json
import re
import subprocess
import sys

MODULE = "hostdev.host.hostdev"
ONLY_DETAILED_EXITCODE = {2}
ANNOUNCED = {3}


def die(msg):
    print("doc-check: FAIL: %s" % msg, file=sys.stderr)
    sys.exit(1)


def binary_codes(binary):
    text = " ".join(subprocess.run([binary, "--help"], check=True, capture_output=True, text=True).stdout.split())
    m = re.search(r"Exit codes: (.*?)\.(?: |$)", text)
    if not m:
        die("no `Exit codes:` line in `%s --help`" % binary)
    return {int(n) for n in re.findall(r"(?:^|, )(\d+) ", m.group(1))}


def documented_codes(ansible_doc):
    out = subprocess.run([ansible_doc, "--json", MODULE], check=True, capture_output=True, text=True).stdout
    rc = json.loads(out)[MODULE]["return"]["rc"]["description"]
    first = rc[0] if isinstance(rc, list) else rc
    m = re.search(r"\((.*)\)", first)
    if not m:
        die("the rc description has no (N meaning, ...) list: %r" % first)
    return {int(n) for n in re.findall(r"(?:^|, )(\d+) ", m.group(1))}


def main():
    binary, ansible_doc = sys.argv[1:3]
    have = binary_codes(binary)
    doc = documented_codes(ansible_doc)
    missing = sorted(((have - ONLY_DETAILED_EXITCODE) | ANNOUNCED) - doc)
    unknown = sorted(doc - have - ANNOUNCED)
    if missing:
        die("hostdev exits (or will exit) with %s; the module's rc documentation does not say so" % missing)
    if unknown:
        die("the module documents exit codes %s that hostdev does not have" % unknown)
    print("doc-check: rc documents %s; hostdev --help has %s" % (sorted(doc), sorted(have)))


if __name__ == "__main__":
    main()
