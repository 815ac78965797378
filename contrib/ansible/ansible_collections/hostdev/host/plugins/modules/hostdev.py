#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: 2026 hostdev developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hostdev
short_description: Bind passthrough devices to vfio-pci and create mediated devices (vGPUs) with hostdev
version_added: "0.1.0"
description:
  - Makes a hypervisor host match a KubeVirt-style hostdev configuration
    (C(mediatedDevicesConfiguration), C(permittedHostDevices)), or undoes what hostdev did.
  - Drives the C(hostdev) binary (the hostdev package installs it in C(/usr/sbin)) through its
    JSON documents (C(-o json)) and exit codes; it never parses tables.
  - C(state=present) runs C(hostdev bind vfio --from-config --yes) (when O(vfio)) and then
    C(hostdev apply --yes) (when O(mdevs)), the same two commands C(hostdev.service) runs at boot.
  - C(state=absent) runs C(hostdev teardown --yes), which removes the mdevs hostdev created
    (O(all) also every other removable mdev) and returns vfio-bound devices to their original
    drivers.
  - In check mode nothing is written; C(hostdev plan) and C(hostdev bind vfio --dry-run)
    (present) or C(hostdev teardown --dry-run) (absent) say what would change.
  - C(changed) is true exactly when hostdev made (or, in check mode, would make) a write.
  - In-use mdevs are never touched; hostdev then exits 1 and the task fails, naming the
    process that holds the device.
  - When the configuration cannot be reached yet (SR-IOV VFs not enabled, vGPU types not
    published by the driver), hostdev exits 3 (not ready, C(result) V(not-ready) in its
    document); the task fails with hostdev's message and RV(rc) 3, so that a later run (or a
    retry with C(until)) can converge.
  - hostdev's warnings (its C(warning) lines on stderr) become the task's warnings.
author: hostdev developers (!UNKNOWN)
options:
  state:
    description: V(present) applies the configuration, V(absent) tears down.
    type: str
    choices: [present, absent]
    default: present
  config:
    description:
      - The configuration inline, as YAML text or as a mapping (written to a temporary file
        passed with C(-f); error messages name that file, line and column).
      - V(absent) does not need it (C(hostdev teardown) works from hostdev's state file).
      - Mutually exclusive with O(config_path). Without either, hostdev reads
        C(/etc/hostdev/config.yaml) under O(root).
    type: raw
  config_path:
    description: A configuration file on the managed host (C(hostdev -f PATH)).
    type: path
  vfio:
    description:
      - V(present) also binds the C(permittedHostDevices.pciHostDevices) devices to vfio-pci;
        V(absent) also returns vfio-bound devices to their original drivers.
      - As for C(hostdev bind vfio --from-config), a selector that matches no device on this
        host is not an error; hostdev warns (the warning becomes the task's) and binds the
        devices the other selectors match. A configuration without C(pciHostDevices) binds
        nothing.
      - State V(absent) reads the original drivers from hostdev's state file
        (C(run/hostdev/state.json) under O(root)) for the diff and RV(devices); a state file
        that is not a regular file or not hostdev's JSON object fails the task (RV(rc) 1, as
        hostdev's own check of that file does) naming the file.
    type: bool
    default: true
  vfio_with_group:
    description: Bind every endpoint of a device's IOMMU group too (C(bind vfio --with-group)).
    type: bool
    default: false
  mdevs:
    description: V(present) creates/removes mdevs (C(hostdev apply)); V(absent) removes them.
    type: bool
    default: true
  all:
    description: With V(absent), also remove mdevs hostdev did not create (C(teardown --all)).
    type: bool
    default: false
  node_name:
    description: Node identity for C(nodeSelector) matching (C(--node-name)); default the host name.
    type: str
  labels:
    description: Extra node labels for C(nodeSelector) matching (C(--label KEY=VALUE) each).
    type: dict
    default: {}
  root:
    description: Filesystem root under which hostdev reads and writes sysfs (C(--root)); for tests.
    type: path
  wait_for_parents:
    description: V(present) waits up to this many seconds for the mdev parents (C(apply --wait-for-parents)).
    type: int
    default: 0
  lock_timeout:
    description: Seconds to wait for another hostdev run to release its lock (C(--lock-timeout)).
    type: int
  binary:
    description: The hostdev executable; default C(hostdev) from PATH, C(/usr/sbin) or C(/usr/local/sbin).
    type: path
notes:
  - Supports C(check_mode) and C(diff_mode). The diff lists mdevs (C(mdev UUID TYPE on PARENT))
    and PCI devices with their driver (C(pci ADDRESS VENDOR:DEVICE driver DRIVER)), before and after.
  - Failures carry hostdev's message (C(msg)) and exit code (RV(rc)); see C(man 8 hostdev), EXIT STATUS.
requirements:
  - hostdev on the managed host (the hostdev .deb or .rpm).
"""

EXAMPLES = r"""
- name: Create the vGPUs of /etc/hostdev/config.yaml and bind the passthrough devices
  hostdev.host.hostdev:
    state: present

- name: Inline configuration, node labels for nodeSelector
  hostdev.host.hostdev:
    config:
      mediatedDevicesConfiguration:
        mediatedDeviceTypes: [nvidia-222]
        nodeMediatedDeviceTypes:
          - nodeSelector: {gpu: t4-large}
            mediatedDeviceTypes: [nvidia-223]
    labels:
      gpu: t4-large
    vfio: false

- name: Tear down what hostdev created
  hostdev.host.hostdev:
    state: absent
"""

RETURN = r"""
rc:
  description:
    - Exit code of the last hostdev command (0 success, 1 failed or incomplete, 3 not ready,
      64 usage, 65 invalid configuration, 66 not found, 75 locked, 77 permission denied).
      Every code but 0 fails the task.
    - 3 (not ready) - the configuration cannot be reached yet (VFs not enabled, vGPU types not
      published); hostdev's document says C(result) V(not-ready) and the task fails with
      hostdev's message.
    - 1 also when the module refuses hostdev's state file (not a regular file, not a JSON
      object, a C(vfio) section that is not a list of records) before hostdev runs.
  returned: always
  type: int
commands:
  description: The hostdev command lines that ran.
  returned: always
  type: list
  elements: str
actions:
  description: The mdev actions planned (check mode) or done, as in hostdev's plan (C(action), C(uuid), C(parent), C(type)).
  returned: always
  type: list
  elements: dict
devices:
  description: PCI devices of the vfio step, as hostdev reports them (C(address), C(original_driver), C(result)).
  returned: always
  type: list
  elements: dict
blocked:
  description: mdevs left alone because they are in use (C(uuid), C(reason)).
  returned: always
  type: list
  elements: dict
writes:
  description: The sysfs writes hostdev made (check mode - would make), with C(path), C(value), C(result).
  returned: always
  type: list
  elements: dict
hostdev:
  description: hostdev's JSON documents, by command (C(plan), C(apply), C(bind), C(teardown)).
  returned: always
  type: dict
"""

import errno
import json
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six import string_types


# hostdev's state file under the root, and the most of it hostdev itself reads (STATE_MAX).
STATE_FILE = "run/hostdev/state.json"
STATE_MAX = 16 << 20

WARNING = "hostdev: warning: "


class HostdevFailed(Exception):
    """hostdev exited non-zero; `doc` is the JSON document it printed anyway, if any."""

    def __init__(self, msg, rc, stdout, stderr, name, doc):
        super(HostdevFailed, self).__init__(msg)
        self.msg = msg
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.name = name
        self.doc = doc


class Hostdev(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        self.binary = p["binary"] or module.get_bin_path(
            "hostdev", required=True, opt_dirs=["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"]
        )
        # An inline configuration goes to a file in the module's temporary directory (removed
        # when the module exits), so hostdev's messages name a file, line and column.
        self.config_file = None
        config = p["config"]
        if config is not None:
            if not isinstance(config, string_types):
                # JSON is YAML: no YAML library needed on the managed host.
                config = json.dumps(config, indent=2)
            self.config_file = os.path.join(module.tmpdir, "config.yaml")
            with open(self.config_file, "w") as f:
                f.write(config)
        self.commands = []
        self.documents = {}
        self.rc = 0

    def global_args(self, reads_config=True):
        p = self.module.params
        args = [self.binary]
        if p["root"]:
            args += ["--root", p["root"]]
        if p["node_name"]:
            args += ["--node-name", p["node_name"]]
        for key in sorted(p["labels"] or {}):
            args += ["--label", "%s=%s" % (key, p["labels"][key])]
        if not reads_config:
            return args
        if self.config_file is not None:
            args += ["-f", self.config_file]
        elif p["config_path"]:
            args += ["-f", p["config_path"]]
        return args

    def run(self, name, sub):
        """Run `hostdev <globals> <sub> -o json`; return its JSON document (or None)."""
        # teardown works from hostdev's state file and reads no configuration.
        reads_config = sub[0] != "teardown"
        cmd = self.global_args(reads_config) + sub + ["-o", "json"]
        if self.module.params["lock_timeout"] is not None and sub[0] in ("apply", "teardown", "bind"):
            cmd += ["--lock-timeout", str(self.module.params["lock_timeout"])]
        self.commands.append(" ".join(cmd))
        rc, out, err = self.module.run_command(cmd, check_rc=False)
        self.rc = rc
        doc = None
        if out.strip():
            try:
                doc = json.loads(out)
            except ValueError:
                doc = None
            if not isinstance(doc, dict):
                doc = None
        if doc is not None:
            self.documents[name] = doc
        lines = err.strip().splitlines()
        # hostdev's warnings (e.g. a pciHostDevices selector that matches nothing here) are
        # the task's warnings.
        for line in lines:
            if line.startswith(WARNING):
                self.module.warn("hostdev: " + line[len(WARNING):])
        if rc != 0:
            ours = [line for line in lines if line.startswith("hostdev:")]
            errors = [line for line in ours if not line.startswith((WARNING, "hostdev: note: "))]
            msg = "\n".join(errors or ours) or err.strip() or ("hostdev exited with %d" % rc)
            raise HostdevFailed(msg, rc, out, err, name, doc)
        if doc is None:
            raise HostdevFailed("hostdev printed no JSON document: %s" % out[:200], rc, out, err, name, None)
        return doc


def mdev_line(a):
    return "mdev %s %s on %s" % (a.get("uuid"), a.get("type"), a.get("parent"))


def pci_line(d, driver):
    words = ["pci", d.get("address") or "?"]
    if d.get("vendor_device"):
        words.append(d["vendor_device"])
    return " ".join(words + ["driver", driver or "none"])


class Result(object):
    def __init__(self):
        self.actions = []
        self.devices = []
        self.blocked = []
        self.writes = []
        self.before = []
        self.after = []
        # address -> original driver, from hostdev's state file (absent: what a restore returns to)
        self.recorded_vfio = {}

    def add_mdev_actions(self, actions):
        for a in actions:
            self.actions.append(a)
            if a.get("action") == "remove":
                self.before.append(mdev_line(a))
            else:
                self.after.append(mdev_line(a))

    def add_devices(self, devices, bound_results, restore=False):
        for d in devices:
            self.devices.append(d)
            if d.get("result") in bound_results:
                if restore:
                    self.before.append(pci_line(d, "vfio-pci"))
                    self.after.append(pci_line(d, d.get("original_driver")))
                else:
                    self.before.append(pci_line(d, d.get("original_driver")))
                    self.after.append(pci_line(d, "vfio-pci"))

    def diff(self):
        return {
            "before_header": "host",
            "after_header": "host (hostdev)",
            "before": "".join(line + "\n" for line in sorted(self.before)),
            "after": "".join(line + "\n" for line in sorted(self.after)),
        }


def absorb(name, doc, module, res):
    """Add what one hostdev JSON document says was (or would be) done to the result."""
    res.writes += doc.get("writes") or []
    if name == "bind":
        res.add_devices(doc.get("devices") or [], ("would-bind", "bound"))
    elif name == "plan":
        res.add_mdev_actions(doc.get("actions") or [])
        res.blocked += doc.get("blocked") or []
    elif name == "apply":
        res.add_mdev_actions(doc.get("done") or [])
        res.blocked += (doc.get("plan") or {}).get("blocked") or []
    elif name == "teardown":
        removed = doc.get("remove") if module.check_mode else doc.get("done")
        res.add_mdev_actions([dict(a, action="remove") for a in (removed or [])])
        # Each device returned to its driver ends with a drivers_probe write of its address.
        left = (doc.get("vfio") or {}).get("left_bound") or []
        restored = []
        for w in doc.get("writes") or []:
            address = (w.get("value") or "").strip()
            if w.get("action") == "vfio.probe" and address not in left:
                restored.append(dict(
                    address=address,
                    original_driver=res.recorded_vfio.get(address),
                    result="would-restore" if module.check_mode else "restored",
                ))
        res.add_devices(restored, ("would-restore", "restored"), restore=True)
        res.blocked += doc.get("in_use") or []


def present(module, hd, res):
    p = module.params
    check = module.check_mode
    if p["vfio"]:
        sub = ["bind", "vfio", "--from-config"]
        if p["vfio_with_group"]:
            sub.append("--with-group")
        sub.append("--dry-run" if check else "--yes")
        absorb("bind", hd.run("bind", sub), module, res)
    if p["mdevs"]:
        if check:
            absorb("plan", hd.run("plan", ["plan"]), module, res)
        else:
            sub = ["apply", "--yes"]
            if p["wait_for_parents"]:
                sub += ["--wait-for-parents", str(p["wait_for_parents"])]
            absorb("apply", hd.run("apply", sub), module, res)


class BadStateFile(Exception):
    """hostdev's state file cannot be used; the message names it."""


def file_kind(mode):
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "mode %o" % stat.S_IFMT(mode)


def read_state_file(path, limit=STATE_MAX):
    """The bytes of hostdev's state file, None when there is none. Opened as hostdev opens
    it: no symlink followed, non-blocking (a FIFO does not hang the module), a regular file
    only, at most `limit` bytes."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None
        if e.errno == errno.ELOOP:
            raise BadStateFile("refusing to use the state file %s: it is a symlink; remove it and re-run" % path)
        raise BadStateFile("reading the state file %s: %s" % (path, e.strerror))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BadStateFile("refusing to use the state file %s: %s, not a regular file" % (path, file_kind(mode)))
        chunks = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise BadStateFile("the state file %s is larger than %d bytes; move it aside and re-run" % (path, limit))
            chunks.append(chunk)
    except OSError as e:
        raise BadStateFile("reading the state file %s: %s" % (path, e.strerror))
    finally:
        os.close(fd)
    return b"".join(chunks)


def json_kind(value):
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, string_types):
        return "a string"
    if value is None:
        return "null"
    return "a %s" % type(value).__name__


def recorded_vfio(root):
    """The vfio bindings recorded in hostdev's state file: address -> original driver.
    Raises BadStateFile (naming the file) when it is not hostdev's JSON object."""
    path = os.path.join(root or "/", STATE_FILE)
    data = read_state_file(path)
    if data is None:
        return {}
    corrupt = "the state file %s is corrupt (%s); hostdev cannot tell what it created. " \
        "Inspect it, then fix it or move it aside and re-run"
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadStateFile(corrupt % (path, e))
    if not isinstance(state, dict):
        raise BadStateFile(corrupt % (path, "%s, not a JSON object" % json_kind(state)))
    records = state.get("vfio")
    if records is None:
        return {}
    if not isinstance(records, list):
        raise BadStateFile(corrupt % (path, "its vfio section is %s, not a list" % json_kind(records)))
    recorded = {}
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise BadStateFile(corrupt % (path, "vfio[%d] is %s, not an object" % (i, json_kind(r))))
        address, driver = r.get("address"), r.get("original_driver")
        if not isinstance(address, string_types):
            raise BadStateFile(corrupt % (path, "vfio[%d].address is %s, not a string" % (i, json_kind(address))))
        if driver is not None and not isinstance(driver, string_types):
            raise BadStateFile(corrupt % (path, "vfio[%d].original_driver is %s, not a string" % (i, json_kind(driver))))
        recorded[address] = driver
    return recorded


def absent(module, hd, res):
    p = module.params
    if not p["vfio"] and not p["mdevs"]:
        return
    if p["vfio"]:
        res.recorded_vfio = recorded_vfio(p["root"])
    sub = ["teardown", "--dry-run" if module.check_mode else "--yes"]
    if p["all"]:
        sub.append("--all")
    if p["mdevs"] and not p["vfio"]:
        sub.append("--mdevs")
    elif p["vfio"] and not p["mdevs"]:
        sub.append("--vfio")
    absorb("teardown", hd.run("teardown", sub), module, res)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            config=dict(type="raw"),
            config_path=dict(type="path"),
            vfio=dict(type="bool", default=True),
            vfio_with_group=dict(type="bool", default=False),
            mdevs=dict(type="bool", default=True),
            all=dict(type="bool", default=False),
            node_name=dict(type="str"),
            labels=dict(type="dict", default={}),
            root=dict(type="path"),
            wait_for_parents=dict(type="int", default=0),
            lock_timeout=dict(type="int"),
            binary=dict(type="path"),
        ),
        mutually_exclusive=[["config", "config_path"]],
        supports_check_mode=True,
    )
    hd = Hostdev(module)
    res = Result()
    failure = None
    try:
        if module.params["state"] == "present":
            present(module, hd, res)
        else:
            absent(module, hd, res)
    except HostdevFailed as e:
        failure = e
        if e.doc is not None:
            # What the failed command did before it failed (writes made count as changes).
            absorb(e.name, e.doc, module, res)
    except BadStateFile as e:
        # Refused before hostdev ran; hostdev exits 1 on such a state file too.
        hd.rc = 1
        failure = HostdevFailed(str(e), 1, "", "", None, None)

    # changed: hostdev made a write (in check mode: plans an action or a write).
    changed = bool(res.writes) or (module.check_mode and bool(res.actions))
    result = dict(
        changed=changed,
        rc=hd.rc,
        commands=hd.commands,
        actions=res.actions,
        devices=res.devices,
        blocked=res.blocked,
        writes=res.writes,
        hostdev=hd.documents,
    )
    if module._diff:
        result["diff"] = res.diff()
    if failure is not None:
        module.fail_json(msg=failure.msg, stdout=failure.stdout, stderr=failure.stderr, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
