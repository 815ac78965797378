//! Binding PCI devices to vfio-pci and returning them to their original drivers: device
//! selection, refusal rules (group viability, host use, NVIDIA vendor-VFIO VFs) and the
//! driver_override + unbind + drivers_probe sequence.

/// `0000:65:00.0` or `65:00.0` → `0000:65:00.0` (lower-case); `None` if not an address.
/// Out-of-range addresses (`0000:65:00.8`) are `None` too: see [`crate::cli::pci_address`].
pub fn normalize_address(s: &str) -> Option<String> {
    crate::cli::pci_address(s).ok()
}

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::config::PciSelector;
use crate::error::{fail, Code};
use crate::exec::journal::{now_rfc3339, Journal};
use crate::exec::state::{State, VfioRecord};
use crate::host::inventory::{device_paths, Inventory, PciDevice};
use crate::host::sysfs::{self, Sysfs};

pub const VFIO_PCI: &str = "vfio-pci";

/// A DEVICE argument: an address or a `vendor:device` selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceArg {
    Address(String),
    Selector(PciSelector),
}

impl DeviceArg {
    pub fn parse(s: &str) -> Result<DeviceArg> {
        if let Some(a) = normalize_address(s) {
            return Ok(DeviceArg::Address(a));
        }
        PciSelector::parse(s).map(DeviceArg::Selector).map_err(|_| {
            fail(
                Code::Usage,
                match crate::cli::pci_address(s) {
                    Err(Some(why)) => format!("DEVICE {s:?}: {why}"),
                    _ => format!(
                        "DEVICE {s:?}: expected a PCI address (0000:65:00.0 or 65:00.0) or a vendor:device selector (10de:1eb8)"
                    ),
                },
            )
        })
    }
}

/// The addresses the arguments name, ascending; an argument that matches nothing is exit 66.
pub fn select(inv: &Inventory, fs: &Sysfs, args: &[DeviceArg]) -> Result<Vec<String>> {
    let mut out = BTreeSet::new();
    for a in args {
        let before = out.len();
        match a {
            DeviceArg::Address(addr) => {
                if inv.pci_device(addr).is_none() {
                    return Err(fail(
                        Code::NotFound,
                        format!(
                            "no PCI device {addr} under {}; `hostdev iommu groups` lists the devices",
                            fs.display(&fs.path(sysfs::PCI_DEVICES))
                        ),
                    ));
                }
                out.insert(addr.clone());
            }
            DeviceArg::Selector(sel) => {
                out.extend(
                    inv.pci
                        .iter()
                        .filter(|d| d.vendor == sel.vendor && d.device == sel.device)
                        .map(|d| d.address.clone()),
                );
                if out.len() == before
                    && !inv
                        .pci
                        .iter()
                        .any(|d| d.vendor == sel.vendor && d.device == sel.device)
                {
                    return Err(fail(
                        Code::NotFound,
                        format!("no PCI device matches {sel} (vendor:device) on this host"),
                    ));
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Why the host itself needs this device, if it does.
pub fn host_use(fs: &Sysfs, inv: &Inventory, dev: &PciDevice) -> Option<String> {
    let dir = fs.path(sysfs::PCI_DEVICES).join(&dev.address);
    // the boot VGA device with an active framebuffer or connected display
    if fs.read_opt(&dir.join("boot_vga")).ok().flatten().as_deref() == Some("1") {
        let fb = fs
            .resolve(&fs.path(sysfs::CLASS_GRAPHICS).join("fb0"))
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
            .read_opt(&fs.path("proc/mounts"))
            .ok()
            .flatten()
            .unwrap_or_default();
        let swaps = fs
            .read_opt(&fs.path("proc/swaps"))
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
        .read_opt(&fs.path("proc/net/route"))
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
    let holders = inv.holders_of(&device_paths(dev.iommu_group.as_deref(), &dev.cdevs));
    if !holders.is_empty() {
        let who: Vec<String> = holders.iter().map(|h| h.to_string()).collect();
        return Some(format!("it is in use by {}", who.join(", ")));
    }
    None
}

fn connected_outputs(fs: &Sysfs, drm: &Path) -> Vec<String> {
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
fn block_devices_below(fs: &Sysfs, dir: &Path) -> BTreeSet<String> {
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
                        .read_opt(&fs.path(sysfs::SYS_BLOCK).join(&h).join("dm/name"))
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

/// NVIDIA vendor-specific VFIO virtual functions: `nvidia` registers them with VFIO itself;
/// vfio-pci's probe returns -EINVAL and a rebind breaks them until an SR-IOV cycle.
pub fn is_nvidia_vendor_vf(d: &PciDevice) -> bool {
    d.nvidia.is_some() || (d.driver.as_deref() == Some("nvidia") && d.physfn.is_some())
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BindPlan {
    /// Devices to bind, ascending.
    pub bind: Vec<String>,
    /// Already on vfio-pci.
    pub already: Vec<String>,
    /// (address, reason): nothing is changed while this is not empty.
    pub refused: Vec<(String, String)>,
}

/// Decide what `bind vfio` does with the selected devices. Pure over the inventory and
/// the host-use facts.
pub fn plan_bind(fs: &Sysfs, inv: &Inventory, selected: &[String], with_group: bool) -> BindPlan {
    let mut plan = BindPlan::default();
    let mut want: BTreeSet<String> = selected.iter().cloned().collect();
    if with_group {
        for a in selected {
            if let Some(g) = inv.group_of(a) {
                want.extend(g.endpoints().iter().map(|d| d.address.clone()));
            }
        }
    }
    for a in &want {
        let Some(d) = inv.pci_device(a) else { continue };
        if d.driver.as_deref() == Some(VFIO_PCI) {
            plan.already.push(a.clone());
            continue;
        }
        if is_nvidia_vendor_vf(d) {
            plan.refused.push((
                a.clone(),
                "it is an NVIDIA vendor-VFIO virtual function: the nvidia driver already registers it \
                 with VFIO (use it as it is); vfio-pci's probe fails with EINVAL and a rebind breaks \
                 the VF until an SR-IOV cycle"
                    .into(),
            ));
            continue;
        }
        if d.is_bridge() {
            plan.refused.push((
                a.clone(),
                "it is a PCI bridge; bridges are not assigned to VMs".into(),
            ));
            continue;
        }
        if let Some(why) = host_use(fs, inv, d) {
            plan.refused
                .push((a.clone(), format!("the host uses it: {why}")));
            continue;
        }
        if let Some(g) = inv.group_of(a) {
            let others: Vec<String> = g
                .blockers()
                .iter()
                .filter(|o| !want.contains(&o.address))
                .map(|o| {
                    format!(
                        "{} ({}, {})",
                        o.address,
                        o.vendor_device(),
                        o.driver.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            if !others.is_empty() {
                plan.refused.push((
                    a.clone(),
                    format!(
                        "IOMMU group {} is not viable: {} still on a host driver; pass --with-group to bind \
                         every endpoint of the group",
                        g.id,
                        others.join(", ")
                    ),
                ));
                continue;
            }
        }
        plan.bind.push(a.clone());
    }
    plan
}

/// What happened to one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceResult {
    pub address: String,
    pub vendor_device: String,
    pub original_driver: Option<String>,
    /// `bound`, `already-bound`, `would-bind`, `failed`, `refused`, `restored`,
    /// `would-restore`, `skipped`.
    pub result: String,
    pub detail: Option<String>,
}

fn dev_dir(fs: &Sysfs, addr: &str) -> PathBuf {
    fs.path(sysfs::PCI_DEVICES).join(addr)
}

fn current_driver(fs: &Sysfs, addr: &str) -> Option<String> {
    fs.link_name(&dev_dir(fs, addr).join("driver"))
        .ok()
        .flatten()
}

/// Bind one device: driver_override ← vfio-pci, unbind from its driver, drivers_probe ←
/// address, then verify the `driver` link. On a failed verification the override is
/// cleared and the device re-probed, so it returns to its own driver.
pub fn bind_one(journal: &mut Journal, fs: &Sysfs, dev: &PciDevice) -> Result<(), String> {
    let a = &dev.address;
    let dir = dev_dir(fs, a);
    let probe = fs.path(sysfs::PCI_DRIVERS_PROBE);
    journal
        .write(&dir.join("driver_override"), VFIO_PCI, "vfio.override")
        .map_err(|e| format!("{e}; nothing was changed on {a}"))?;
    if dev.driver.is_some() {
        if let Err(e) = journal.write(&dir.join("driver/unbind"), a, "vfio.unbind") {
            let undo = journal.write(&dir.join("driver_override"), "\n", "vfio.override-clear");
            return Err(format!(
                "{e}; {}",
                match undo {
                    Ok(()) => format!("driver_override of {a} cleared again; {a} is unchanged"),
                    Err(u) => format!("{u}: driver_override of {a} is still vfio-pci"),
                }
            ));
        }
    }
    let probed = journal.write(&probe, a, "vfio.probe");
    if journal.dry_run {
        return Ok(());
    }
    let now = current_driver(fs, a);
    if probed.is_ok() && now.as_deref() == Some(VFIO_PCI) {
        return Ok(());
    }
    let what = match (&probed, &now) {
        (Err(e), _) => format!("{e}"),
        (Ok(()), None) => format!(
            "drivers_probe of {a} succeeded but bound no driver{}",
            if dev.iommu_group.is_none() {
                " ({a} has no IOMMU group: the IOMMU is off; see `hostdev iommu check`)"
            } else {
                ""
            }
        ),
        (Ok(()), Some(other)) => {
            format!("after drivers_probe {a} is bound to {other}, not vfio-pci")
        }
    };
    // put it back: clear the override, re-probe (the original driver matches again)
    let back = journal
        .write(&dir.join("driver_override"), "\n", "vfio.override-clear")
        .and_then(|_| {
            if current_driver(fs, a).is_some() {
                Ok(())
            } else {
                journal.write(&probe, a, "vfio.probe")
            }
        });
    let after = current_driver(fs, a);
    let state = match (back, &after) {
        (Ok(()), d) if d == &dev.driver => {
            format!("{a} is back on {}", d.as_deref().unwrap_or("no driver"))
        }
        (Ok(()), d) => format!(
            "driver_override cleared; {a} is now on {} (was {})",
            d.as_deref().unwrap_or("no driver"),
            dev.driver.as_deref().unwrap_or("no driver")
        ),
        (Err(e), _) => format!(
            "returning it failed too: {e}; {a} is on {}",
            after.as_deref().unwrap_or("no driver")
        ),
    };
    Err(format!("{what}; {state}"))
}

/// Return one recorded device to its original driver: clear `driver_override` (or restore
/// the original one), unbind from vfio-pci, drivers_probe, verify.
pub fn restore_one(journal: &mut Journal, fs: &Sysfs, rec: &VfioRecord) -> Result<(), String> {
    let a = &rec.address;
    let dir = dev_dir(fs, a);
    let probe = fs.path(sysfs::PCI_DRIVERS_PROBE);
    let ov = rec.original_override.clone().unwrap_or_else(|| "\n".into());
    journal
        .write(&dir.join("driver_override"), &ov, "vfio.override-restore")
        .map_err(|e| e.to_string())?;
    if current_driver(fs, a).as_deref() == Some(VFIO_PCI) {
        journal
            .write(&dir.join("driver/unbind"), a, "vfio.unbind")
            .map_err(|e| e.to_string())?;
    }
    journal
        .write(&probe, a, "vfio.probe")
        .map_err(|e| e.to_string())?;
    if journal.dry_run {
        return Ok(());
    }
    let now = current_driver(fs, a);
    if now == rec.original_driver {
        Ok(())
    } else {
        Err(format!(
            "after drivers_probe {a} is on {}, expected {}",
            now.as_deref().unwrap_or("no driver"),
            rec.original_driver.as_deref().unwrap_or("no driver")
        ))
    }
}

/// The vfio part of `teardown`: every device in the state's `vfio` section goes back to
/// its original driver, except devices in use (open VFIO handles), which are skipped.
/// Returns one result per record; restored records leave the state (saved by the caller).
pub fn restore_all(
    journal: &mut Journal,
    fs: &Sysfs,
    inv: &Inventory,
    state: &mut State,
) -> Vec<DeviceResult> {
    let mut results = Vec::new();
    let mut keep = Vec::new();
    for rec in std::mem::take(&mut state.vfio) {
        let dev = inv.pci_device(&rec.address);
        let mut r = DeviceResult {
            address: rec.address.clone(),
            vendor_device: dev.map(|d| d.vendor_device()).unwrap_or_default(),
            original_driver: rec.original_driver.clone(),
            result: String::new(),
            detail: None,
        };
        let Some(dev) = dev else {
            r.result = "skipped".into();
            r.detail = Some("the device is gone; dropped from the state file".into());
            results.push(r);
            continue;
        };
        if dev.driver.as_deref() != Some(VFIO_PCI) {
            r.result = "skipped".into();
            r.detail = Some(format!(
                "no longer on vfio-pci (driver {}); dropped from the state file",
                dev.driver.as_deref().unwrap_or("none")
            ));
            results.push(r);
            continue;
        }
        let holders = inv.holders_of(&device_paths(dev.iommu_group.as_deref(), &dev.cdevs));
        if !holders.is_empty() {
            let who: Vec<String> = holders.iter().map(|h| h.to_string()).collect();
            r.result = "skipped".into();
            r.detail = Some(format!("in use by {}; left on vfio-pci", who.join(", ")));
            results.push(r);
            keep.push(rec);
            continue;
        }
        match restore_one(journal, fs, &rec) {
            Ok(()) if journal.dry_run => {
                r.result = "would-restore".into();
                keep.push(rec);
            }
            Ok(()) => r.result = "restored".into(),
            Err(e) => {
                r.result = "failed".into();
                r.detail = Some(e);
                keep.push(rec);
            }
        }
        results.push(r);
    }
    state.vfio = keep;
    results
}

/// Record a binding (replacing an older record of the same device, keeping its original).
pub fn record(state: &mut State, dev: &PciDevice) {
    if state.vfio.iter().any(|r| r.address == dev.address) {
        return;
    }
    state.vfio.push(VfioRecord {
        address: dev.address.clone(),
        original_driver: dev.driver.clone(),
        original_override: dev.driver_override.clone(),
        bound_at: now_rfc3339(),
        unknown: Default::default(),
    });
    state.vfio.sort_by(|a, b| a.address.cmp(&b.address));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::journal::Kernel;
    use std::collections::HashMap;
    use std::io;

    /// In-memory kernel model for PCI driver binding: driver links move on unbind and
    /// drivers_probe (to the override, else to the device's native driver), unless
    /// `bind_on_probe` is false (a vfio-pci probe that "succeeds" without binding, as
    /// with the IOMMU off).
    struct Model {
        root: PathBuf,
        bind_on_probe: bool,
        native: HashMap<String, Option<String>>,
    }

    impl Model {
        fn new(root: &Path, bind_on_probe: bool) -> Model {
            let mut native = HashMap::new();
            let devs = root.join(sysfs::PCI_DEVICES);
            for e in std::fs::read_dir(&devs).unwrap() {
                let a = e.unwrap().file_name().to_string_lossy().into_owned();
                let drv = std::fs::read_link(devs.join(&a).join("driver"))
                    .ok()
                    .and_then(|t| crate::host::sysfs::last_component(&t));
                native.insert(a, drv);
            }
            Model {
                root: root.to_path_buf(),
                bind_on_probe,
                native,
            }
        }
    }

    impl Kernel for Model {
        fn write(&mut self, path: &Path, value: &str) -> io::Result<()> {
            let rel = path.strip_prefix(&self.root).unwrap().to_path_buf();
            let devs = self.root.join(sysfs::PCI_DEVICES);
            if rel.ends_with("driver_override") {
                let v = value.trim();
                let v = if v.is_empty() { "(null)" } else { v };
                return std::fs::write(path, format!("{v}\n"));
            }
            if rel.ends_with("driver/unbind") {
                let link = devs.join(value).join("driver");
                if link.symlink_metadata().is_err() {
                    return Err(io::Error::from_raw_os_error(nix::libc::ENODEV));
                }
                return std::fs::remove_file(link);
            }
            if rel == Path::new(sysfs::PCI_DRIVERS_PROBE) {
                let dir = devs.join(value);
                if !dir.exists() {
                    return Err(io::Error::from_raw_os_error(nix::libc::ENODEV));
                }
                if dir.join("driver").symlink_metadata().is_ok() {
                    return Ok(());
                }
                let ov = std::fs::read_to_string(dir.join("driver_override")).unwrap();
                let ov = ov.trim();
                let target = if ov != "(null)" && !ov.is_empty() {
                    self.bind_on_probe.then(|| ov.to_string())
                } else {
                    self.native.get(value).cloned().flatten()
                };
                if let Some(d) = target {
                    let t = self.root.join(sysfs::PCI_DRIVERS).join(d);
                    std::os::unix::fs::symlink(t, dir.join("driver"))?;
                }
                return Ok(());
            }
            Err(io::Error::other(format!(
                "model: unexpected write to {}",
                rel.display()
            )))
        }
    }

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let (src, dst) = (e.path(), to.join(e.file_name()));
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
            } else if ft.is_dir() {
                copy_tree(&src, &dst);
            } else {
                std::fs::copy(&src, &dst).unwrap();
            }
        }
    }

    fn host(name: &str) -> (tempfile::TempDir, Sysfs) {
        let d = tempfile::tempdir().unwrap();
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
            d.path(),
        );
        let fs = Sysfs::new(d.path());
        (d, fs)
    }

    fn journal(fs: &Sysfs, bind: bool) -> Journal {
        Journal::with_kernel(
            fs,
            false,
            Box::new(Model::new(fs.root(), bind)),
            Box::new(io::sink()),
        )
        .unwrap()
    }

    #[test]
    fn bind_then_restore_with_the_kernel_model() {
        let (_d, fs) = host("host-intel");
        let inv = Inventory::scan(&fs).unwrap();
        let plan = plan_bind(&fs, &inv, &["0000:19:00.0".into()], false);
        assert_eq!(plan.bind, vec!["0000:19:00.0"]);
        let mut j = journal(&fs, true);
        let dev = inv.pci_device("0000:19:00.0").unwrap();
        bind_one(&mut j, &fs, dev).unwrap();
        assert_eq!(
            current_driver(&fs, "0000:19:00.0").as_deref(),
            Some("vfio-pci")
        );
        let w: Vec<(String, String)> = j
            .writes()
            .iter()
            .map(|w| (w.path.clone(), w.value.clone()))
            .collect();
        assert_eq!(
            w,
            vec![
                (
                    "/sys/bus/pci/devices/0000:19:00.0/driver_override".into(),
                    "vfio-pci".into()
                ),
                (
                    "/sys/bus/pci/devices/0000:19:00.0/driver/unbind".into(),
                    "0000:19:00.0".into()
                ),
                ("/sys/bus/pci/drivers_probe".into(), "0000:19:00.0".into()),
            ]
        );
        let mut state = State::default();
        record(&mut state, dev);
        assert_eq!(state.vfio[0].original_driver.as_deref(), Some("e1000e"));
        let inv = Inventory::scan(&fs).unwrap();
        let res = restore_all(&mut j, &fs, &inv, &mut state);
        assert_eq!(res[0].result, "restored", "{res:?}");
        assert!(state.vfio.is_empty());
        assert_eq!(
            current_driver(&fs, "0000:19:00.0").as_deref(),
            Some("e1000e")
        );
        let ov =
            std::fs::read_to_string(fs.path("sys/bus/pci/devices/0000:19:00.0/driver_override"))
                .unwrap();
        assert_eq!(ov, "(null)\n");
        assert_eq!(
            j.writes()[3].value,
            "\n",
            "restore clears driver_override with a newline"
        );
    }

    #[test]
    fn probe_that_binds_nothing_is_a_failure_and_rolls_back() {
        let (_d, fs) = host("host-intel");
        let inv = Inventory::scan(&fs).unwrap();
        let mut j = journal(&fs, false);
        let err = bind_one(&mut j, &fs, inv.pci_device("0000:19:00.0").unwrap()).unwrap_err();
        assert_eq!(
            err,
            "drivers_probe of 0000:19:00.0 succeeded but bound no driver; 0000:19:00.0 is back on e1000e"
        );
        assert_eq!(
            current_driver(&fs, "0000:19:00.0").as_deref(),
            Some("e1000e")
        );
    }

    #[test]
    fn restore_skips_devices_in_use() {
        let (d, fs) = host("host-intel");
        // the T4 already on vfio-pci, recorded as ours, held open by a VM
        let inv = Inventory::scan(&fs).unwrap();
        let t4 = inv.pci_device("0000:5e:00.0").unwrap().clone();
        let g = t4.iommu_group.clone().unwrap();
        std::fs::create_dir_all(d.path().join("proc/4242/fd")).unwrap();
        std::fs::write(d.path().join("proc/4242/comm"), "qemu-system-x86\n").unwrap();
        std::os::unix::fs::symlink(format!("/dev/vfio/{g}"), d.path().join("proc/4242/fd/28"))
            .unwrap();
        let inv = Inventory::scan(&fs).unwrap();
        let mut state = State::default();
        state.vfio.push(VfioRecord {
            address: t4.address.clone(),
            original_driver: Some("nouveau".into()),
            original_override: None,
            bound_at: "2024-01-01T00:00:00Z".into(),
            unknown: Default::default(),
        });
        let mut j = journal(&fs, true);
        let res = restore_all(&mut j, &fs, &inv, &mut state);
        assert_eq!(res[0].result, "skipped");
        assert_eq!(
            res[0].detail.as_deref(),
            Some("in use by pid 4242 (qemu-system-x86); left on vfio-pci")
        );
        assert_eq!(state.vfio.len(), 1);
        assert!(j.writes().is_empty());
    }

    #[test]
    fn refusals() {
        let (_d, fs) = host("host-intel");
        let inv = Inventory::scan(&fs).unwrap();
        let p = plan_bind(
            &fs,
            &inv,
            &[
                "0000:86:00.4".into(),
                "0000:01:00.0".into(),
                "0000:03:00.0".into(),
                "0000:18:00.0".into(),
                "0000:5e:00.0".into(),
            ],
            false,
        );
        assert!(p.bind.is_empty());
        assert_eq!(p.already, vec!["0000:5e:00.0"]);
        let why: Vec<&str> = p.refused.iter().map(|(_, w)| w.as_str()).collect();
        assert!(
            why[0].contains("disk /dev/nvme0n1p2 is mounted on /"),
            "{why:?}"
        );
        assert!(why[1].contains("boot VGA device"), "{why:?}");
        assert!(why[2].contains("eno1 carries the default route"), "{why:?}");
        assert!(
            why[3].starts_with("it is an NVIDIA vendor-VFIO virtual function"),
            "{why:?}"
        );
        let (_d2, fs2) = host("host-gpu-audio");
        let inv2 = Inventory::scan(&fs2).unwrap();
        let p = plan_bind(&fs2, &inv2, &["0000:65:00.0".into()], false);
        assert_eq!(p.refused[0].1, "IOMMU group 2 is not viable: 0000:65:00.1 (10de:1aef, snd_hda_intel) still on a host driver; pass --with-group to bind every endpoint of the group");
        let p = plan_bind(&fs2, &inv2, &["0000:65:00.0".into()], true);
        assert_eq!(p.bind, vec!["0000:65:00.0", "0000:65:00.1"]);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            normalize_address("65:00.0").as_deref(),
            Some("0000:65:00.0")
        );
        assert_eq!(
            normalize_address("0000:3B:00.1").as_deref(),
            Some("0000:3b:00.1")
        );
        assert_eq!(normalize_address("10de:1eb8"), None);
        assert_eq!(normalize_address("65:00"), None);
    }
}
