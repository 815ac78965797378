#!/usr/bin/env python3
"""Test-only: what the kernel does after a write to an mdev `create` or `remove` file, on a
fixture copy (layout as fixtures/mkfixture.py writes it). Run by fake-kernel.c (LD_PRELOAD in
hostdev) with the path hostdev just closed; the tree root is $HOSTDEV_FAKE_KERNEL_ROOT.

create (.../<parent>/mdev_supported_types/<type>/create, holding a UUID): the mdev directory
  under the parent with its links (mdev_type, iommu_group, driver, subsystem), its entries in
  the type's devices/, /sys/bus/mdev/devices and the driver, a new emulated IOMMU group, and
  available_instances of every type on the GPU, by NVIDIA's equal-size rule (docs/nvidia.md,
  "Which vGPU types can share a GPU"): the GPU's vGPUs (n, all of F MB) fix its size; a type
  of F MB (any series: T4-1Q, T4-1B and T4-1A share a GPU) reads its max_instance minus n
  (not below 0), a type of another size reads 0, and with n = 0 every type reads its
  max_instance. The GPU is the parent itself (Turing and older: the PF), or, when the parent
  is an SR-IOV VF (Ampere: `physfn`), all the VF parents of its PF: there each VF holds one
  vGPU, so an occupied VF reads 0 everywhere and a free VF reads 1 for each type of F MB
  with n < max_instance, else 0. Types whose description has no framebuffer=/max_instance=
  (not NVIDIA's) keep the plain count: the created type drops by one, the others read 0.
  Creating a type the rule forbids is not refused here (hostdev reads available_instances
  first; nvsim, in the VM suite, fails such a create with ENOSPC).
remove (.../<uuid>/remove): the reverse, recomputed by the same rule (the last vGPU gone, every
  type reads its max_instance again).
unbind (/sys/bus/pci/drivers/<driver>/unbind, holding an address): the device leaves the
  driver (the driver it had first is remembered as the one its ID table matches).
drivers_probe (/sys/bus/pci/drivers_probe, holding an address): a device without a driver
  binds to its driver_override or, when that is empty, to the driver it had first.
"""
import json
import os
import re
import shutil
import sys

root = os.path.realpath(os.environ["HOSTDEV_FAKE_KERNEL_ROOT"])


def rel_link(link, target):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.relpath(target, os.path.dirname(link)), link)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def max_instance(type_dir):
    try:
        with open(os.path.join(type_dir, "description")) as f:
            m = re.search(r"max_instance=(\d+)", f.read())
        return int(m.group(1)) if m else None
    except OSError:
        return None


def framebuffer(type_dir):
    try:
        with open(os.path.join(type_dir, "description")) as f:
            m = re.search(r"framebuffer=(\d+)M", f.read())
        return int(m.group(1)) if m else None
    except OSError:
        return None


def type_dirs(parent):
    d = os.path.join(parent, "mdev_supported_types")
    if not os.path.isdir(d):
        return []
    return [os.path.join(d, t) for t in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, t))]


def instances(type_dir):
    d = os.path.join(type_dir, "devices")
    return [n for n in os.listdir(d) if not n.startswith(".")] if os.path.isdir(d) else []


def gpu_parents(parent):
    """The mdev parents of the parent's physical GPU: all the VFs of its PF (`physfn`) that
    are mdev parents, or the parent alone."""
    physfn = os.path.join(parent, "physfn")
    if not os.path.lexists(physfn):
        return [parent], False
    pf = os.path.realpath(physfn)
    vfs = sorted(os.path.realpath(os.path.join(pf, n)) for n in os.listdir(pf)
                 if n.startswith("virtfn"))
    return [v for v in vfs if type_dirs(v)], True


def equal_size(parent):
    """Rewrite available_instances of every type on the parent's GPU by the equal-size rule
    (module docstring). False, writing nothing, when a type is not NVIDIA-described."""
    parents, sriov = gpu_parents(parent)
    all_types = [t for p in parents for t in type_dirs(p)]
    if not all_types or any(framebuffer(t) is None or max_instance(t) is None for t in all_types):
        return False
    used = [(framebuffer(t), len(instances(t))) for t in all_types if instances(t)]
    n = sum(c for _fb, c in used)
    size = used[0][0] if used else None
    for p in parents:
        occupied = any(instances(t) for t in type_dirs(p))
        for t in type_dirs(p):
            m = max_instance(t)
            if n == 0:
                a = 1 if sriov else m
            elif framebuffer(t) != size or (sriov and occupied):
                a = 0
            elif sriov:
                a = 1 if n < m else 0
            else:
                a = max(m - n, 0)
            write(os.path.join(t, "available_instances"), "%d\n" % a)
    return True


def mdev_driver():
    d = os.path.join(root, "sys/bus/mdev/drivers")
    names = sorted(n for n in os.listdir(d) if not n.startswith("."))
    return names[0]


def new_group():
    d = os.path.join(root, "sys/kernel/iommu_groups")
    nums = [int(n) for n in os.listdir(d) if n.isdigit()]
    return max(nums, default=0) + 1


def create(path):
    with open(path) as f:
        uuid = f.read().strip()
    type_dir = os.path.dirname(path)
    parent = os.path.dirname(os.path.dirname(type_dir))
    mp = os.path.join(parent, uuid)
    if os.path.exists(mp):
        return
    drv = mdev_driver()
    group = new_group()
    gp = os.path.join(root, "sys/kernel/iommu_groups", str(group))
    os.makedirs(mp)
    rel_link(os.path.join(mp, "mdev_type"), type_dir)
    rel_link(os.path.join(mp, "iommu_group"), gp)
    rel_link(os.path.join(mp, "driver"), os.path.join(root, "sys/bus/mdev/drivers", drv))
    rel_link(os.path.join(mp, "subsystem"), os.path.join(root, "sys/bus/mdev"))
    write(os.path.join(mp, "remove"), "")
    write(os.path.join(mp, "uevent"), "DRIVER=%s\nMDEV_TYPE=%s\n" % (drv, os.path.basename(type_dir)))
    rel_link(os.path.join(type_dir, "devices", uuid), mp)
    rel_link(os.path.join(root, "sys/bus/mdev/devices", uuid), mp)
    rel_link(os.path.join(root, "sys/bus/mdev/drivers", drv, uuid), mp)
    rel_link(os.path.join(gp, "devices", uuid), mp)
    write(os.path.join(gp, "name"), "vfio-noiommu\n")
    write(os.path.join(gp, "type"), "unknown\n")
    write(os.path.join(gp, "reserved_regions"), "")
    write(os.path.join(root, "dev/vfio", str(group)), "")
    if not equal_size(parent):
        avail = os.path.join(type_dir, "available_instances")
        write(avail, "%d\n" % max(read_int(avail) - 1, 0))
        for other in os.listdir(os.path.dirname(type_dir)):
            od = os.path.join(os.path.dirname(type_dir), other)
            if od != type_dir and os.path.isdir(od):
                write(os.path.join(od, "available_instances"), "0\n")


def remove(path):
    mp = os.path.dirname(path)
    uuid = os.path.basename(mp)
    type_dir = os.path.realpath(os.path.join(mp, "mdev_type"))
    gp = os.path.realpath(os.path.join(mp, "iommu_group"))
    drv = os.path.basename(os.path.realpath(os.path.join(mp, "driver")))
    for link in (os.path.join(type_dir, "devices", uuid),
                 os.path.join(root, "sys/bus/mdev/devices", uuid),
                 os.path.join(root, "sys/bus/mdev/drivers", drv, uuid),
                 os.path.join(root, "dev/vfio", os.path.basename(gp))):
        if os.path.lexists(link):
            os.remove(link)
    shutil.rmtree(gp, ignore_errors=True)
    shutil.rmtree(mp)
    if equal_size(os.path.dirname(os.path.dirname(type_dir))):
        return
    avail = os.path.join(type_dir, "available_instances")
    write(avail, "%d\n" % (read_int(avail) + 1))
    types = os.path.dirname(type_dir)
    def instances(t):
        d = os.path.join(types, t, "devices")
        return [n for n in os.listdir(d) if not n.startswith(".")] if os.path.isdir(d) else []

    if not any(instances(t) for t in os.listdir(types)):
        for t in os.listdir(types):
            td = os.path.join(types, t)
            n = max_instance(td)
            if td != type_dir and n is not None:
                write(os.path.join(td, "available_instances"), "%d\n" % n)


MEMO = os.path.join(root, ".fake-kernel-drivers.json")


def memo():
    try:
        with open(MEMO) as f:
            return json.load(f)
    except OSError:
        return {}


def pci_dev(bdf):
    return os.path.realpath(os.path.join(root, "sys/bus/pci/devices", bdf))


def unbind(path):
    with open(path) as f:
        bdf = f.read().strip()
    drv = os.path.basename(os.path.dirname(path))
    dev = pci_dev(bdf)
    m = memo()
    if drv != "vfio-pci" and bdf not in m:
        m[bdf] = drv
        with open(MEMO, "w") as f:
            json.dump(m, f)
    for link in (os.path.join(dev, "driver"), os.path.join(root, "sys/bus/pci/drivers", drv, bdf)):
        if os.path.lexists(link):
            os.remove(link)


def drivers_probe(path):
    with open(path) as f:
        bdf = f.read().strip()
    dev = pci_dev(bdf)
    if os.path.lexists(os.path.join(dev, "driver")):
        return
    with open(os.path.join(dev, "driver_override")) as f:
        override = f.read().strip()
    drv = override if override not in ("", "(null)") else memo().get(bdf)
    if not drv:
        return
    dp = os.path.join(root, "sys/bus/pci/drivers", drv)
    for name in ("bind", "unbind", "new_id", "remove_id", "uevent"):
        if not os.path.exists(os.path.join(dp, name)):
            write(os.path.join(dp, name), "")
    rel_link(os.path.join(dev, "driver"), dp)
    rel_link(os.path.join(dp, bdf), dev)


def main():
    path = os.path.realpath(sys.argv[1])
    if path.endswith("/create"):
        create(path)
    elif path.endswith("/remove"):
        remove(path)
    elif path.endswith("/unbind"):
        unbind(path)
    elif path.endswith("/drivers_probe"):
        drivers_probe(path)


if __name__ == "__main__":
    main()
