//! What the host itself uses a PCI device for (a narrow, named view of the host next to
//! [`Inventory`]): the boot VGA console, disks mounted or used as swap, the interface of
//! the default route, open VFIO handles. `bind vfio` refuses such a device. Every read
//! goes through the root ([`Root`]), like the inventory's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::host::inventory::{Inventory, PciDevice};
use crate::host::root::Root;

/// Why the host itself needs this device, if it does.
pub(crate) fn host_use(fs: &Root, inv: &Inventory, dev: &PciDevice) -> Option<String> {
    let dir = fs.pci_device(&dev.address);
    // the boot VGA device with an active framebuffer or connected display
    if fs.read_opt(&dir.join("boot_vga")).ok().flatten().as_deref() == Some("1") {
        let fb = fs
            .resolve(&fs.framebuffer("fb0"))
            .zip(fs.resolve(&dir))
            .is_some_and(|(fb, d)| fb.starts_with(d));
        let connected = connected_outputs(fs, &dir.join("drm"));
        if fb || !connected.is_empty() {
            let mut why = vec![];
            if fb {
                why.push("framebuffer fb0".to_string());
            }
            if !connected.is_empty() {
                why.push(format!("connected display {}", connected.join(", ")));
            }
            return Some(format!(
                "it is the boot VGA device with an active console ({})",
                why.join(", ")
            ));
        }
    }
    // block devices below it that are mounted or used as swap
    let blocks = block_devices_below(fs, &dir);
    if !blocks.is_empty() {
        let mounts = fs
            .read_opt(&fs.proc_file("mounts"))
            .ok()
            .flatten()
            .unwrap_or_default();
        let swaps = fs
            .read_opt(&fs.proc_file("swaps"))
            .ok()
            .flatten()
            .unwrap_or_default();
        for (src, what) in
            mounts
                .lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    Some((w.next()?, format!("mounted on {}", w.next()?)))
                })
                .chain(swaps.lines().skip(1).filter_map(|l| {
                    Some((l.split_whitespace().next()?, "used as swap".to_string()))
                }))
        {
            if let Some(name) = src.strip_prefix("/dev/") {
                let name = name.strip_prefix("mapper/").unwrap_or(name);
                if blocks.contains(name) {
                    return Some(format!(
                        "its disk /dev/{} is {what}",
                        src.trim_start_matches("/dev/")
                    ));
                }
            }
        }
    }
    // the interface of the default route
    let routes = fs
        .read_opt(&fs.proc_file("net/route"))
        .ok()
        .flatten()
        .unwrap_or_default();
    for l in routes.lines().skip(1) {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() > 1 && w[1] == "00000000" && fs.exists(&dir.join("net").join(w[0])) {
            return Some(format!(
                "its network interface {} carries the default route",
                w[0]
            ));
        }
    }
    // open VFIO handles (only possible once bound to a VFIO driver)
    let holders = inv.pci_holders(dev);
    if !holders.is_empty() {
        return Some(format!("it is {}", crate::host::tree::in_use_by(&holders)));
    }
    None
}

fn connected_outputs(fs: &Root, drm: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for card in fs.list(drm).unwrap_or_default() {
        for conn in fs.list(&drm.join(&card)).unwrap_or_default() {
            let st = drm.join(&card).join(&conn).join("status");
            if fs.read_opt(&st).ok().flatten().as_deref() == Some("connected") {
                out.push(conn);
            }
        }
    }
    out
}

/// Names of the block devices (disks, partitions, and what holds them, e.g. `dm-0` and its
/// mapper name) in the device's sysfs subtree.
fn block_devices_below(fs: &Root, dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<(PathBuf, usize)> = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(names) = fs.subdirs(&d) else {
            continue;
        };
        for name in names {
            let p = d.join(&name);
            if fs.exists(&p.join("size")) || fs.exists(&p.join("partition")) {
                out.insert(name.clone());
                for h in fs.list(&p.join("holders")).unwrap_or_default() {
                    if let Some(n) = fs
                        .read_opt(&fs.block_device(&h).join("dm/name"))
                        .ok()
                        .flatten()
                    {
                        out.insert(n);
                    }
                    out.insert(h);
                }
            }
            if depth < 8 {
                stack.push((p, depth + 1));
            }
        }
    }
    out
}
