//! The few facts re-read right before a write, when the snapshot taken at the start of a
//! run may be stale (a narrow, named view of the host next to [`Inventory`](super::inventory::Inventory)):
//! who holds a device open now, whether an mdev is still there (and its type), a PCI
//! device's driver now, whether a driver is loaded, a vendor-VFIO VF's vGPU type and
//! creatable types now, and a PF's SR-IOV state (routing, `sriov_numvfs`, its VFs, whether
//! they offer vGPU types yet). It alone makes the proof every destructive write needs
//! ([`Unheld`]: [`unheld_mdev`], [`unheld_pci`], [`unbindable`], [`vfs_free`]), found
//! right before the write. Every read goes through the root.

use std::path::Path;

use anyhow::Result;

use crate::host::inventory::{self, device_paths, Holder};
use crate::host::root::Root;

/// The processes holding the device whose sysfs directory is `dir` (an mdev or a PCI
/// function) open now: its IOMMU group's `/dev/vfio/N` and its vfio cdevs, found as the
/// inventory finds them. A device that is gone or unreadable has no nodes, so no holders.
fn holders_of_dir(fs: &Root, dir: &Path) -> Result<Vec<Holder>> {
    let (group, cdevs) = match fs.dir(dir) {
        Ok(attrs) => (
            attrs.link_name("iommu_group").unwrap_or(None),
            inventory::vfio_cdevs(&attrs).unwrap_or_default(),
        ),
        Err(_) => (None, Vec::new()),
    };
    inventory::holders::holders_now(fs, &device_paths(group.as_deref(), &cdevs))
}

/// Who holds mdev `uuid` open now.
pub(crate) fn mdev_holders(fs: &Root, uuid: &str) -> Result<Vec<Holder>> {
    holders_of_dir(fs, &fs.mdev(uuid))
}

/// Who holds PCI function `address` open now.
pub(crate) fn pci_holders(fs: &Root, address: &str) -> Result<Vec<Holder>> {
    holders_of_dir(fs, &fs.pci_device(address))
}

/// Whether mdev `uuid` exists now.
pub(crate) fn mdev_exists(fs: &Root, uuid: &str) -> bool {
    fs.exists(&fs.mdev(uuid))
}

/// mdev `uuid` now: `None` when it is not on the host, else its parent (the directory
/// it lives in) and its type (the `mdev_type` link; `None` when unreadable).
pub(crate) fn mdev_identity(fs: &Root, uuid: &str) -> Option<(String, Option<String>)> {
    let dir = fs.resolve(&fs.mdev(uuid))?;
    let parent = dir.parent()?.file_name()?.to_str()?.to_string();
    let type_id = fs
        .link_name(&fs.mdev(uuid).join("mdev_type"))
        .ok()
        .flatten();
    Some((parent, type_id))
}

/// The driver PCI function `address` is bound to now (`None`: none, or unreadable).
pub(crate) fn pci_driver(fs: &Root, address: &str) -> Option<String> {
    fs.link_name(&fs.pci_device(address).join("driver"))
        .ok()
        .flatten()
}

/// A vendor-VFIO VF's `nvidia/current_vgpu_type` now (`None`: unreadable, e.g. the VF is
/// gone).
pub(crate) fn current_vgpu_type(fs: &Root, vf: &str) -> Option<u32> {
    fs.read_opt(&fs.vgpu_attr(vf, "current_vgpu_type"))
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse().ok())
}

/// The types a vendor-VFIO VF lists as creatable now (none when unreadable).
pub(crate) fn creatable_vgpu_types(fs: &Root, vf: &str) -> Vec<(u32, String)> {
    fs.read_opt(&fs.vgpu_attr(vf, "creatable_vgpu_types"))
        .ok()
        .flatten()
        .map(|s| inventory::pci::parse_creatable(&s))
        .unwrap_or_default()
}

/// A PF's `sriov_offset` and `sriov_stride` (`None` when either is unreadable).
pub(crate) fn sriov_routing(fs: &Root, pf: &str) -> Option<(u32, u32)> {
    let num = |f: &str| -> Option<u32> {
        fs.read_opt(&fs.pci_device(pf).join(f))
            .ok()
            .flatten()?
            .trim()
            .parse()
            .ok()
    };
    Some((num("sriov_offset")?, num("sriov_stride")?))
}

/// Whether the PCI driver `name` is registered now (its directory under `bus/pci/drivers`).
pub(crate) fn driver_loaded(fs: &Root, name: &str) -> bool {
    fs.exists(&fs.pci_driver(name))
}

/// A PF's `sriov_vf_device`: the device ID its VFs will have (`None` when unreadable).
pub(crate) fn sriov_vf_device(fs: &Root, pf: &str) -> Option<String> {
    fs.read_opt(&fs.pci_device(pf).join("sriov_vf_device"))
        .ok()
        .flatten()
        .map(|d| d.trim().to_string())
}

/// A PF's `sriov_numvfs` now (`None`: unreadable, or not an SR-IOV device).
pub(crate) fn sriov_numvfs(fs: &Root, pf: &str) -> Option<u32> {
    fs.read_opt(&fs.pci_device(pf).join("sriov_numvfs"))
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse().ok())
}

/// The VFs of `pf` now: the targets of its `virtfnN` links, in N order.
pub(crate) fn virtfns(fs: &Root, pf: &str) -> Vec<String> {
    let mut vfs: Vec<(u32, String)> = fs
        .read_links(&fs.pci_device(pf))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, target)| {
            let n = name.strip_prefix("virtfn")?.parse().ok()?;
            Some((n, crate::host::root::last_component(&target)?))
        })
        .collect();
    vfs.sort();
    vfs.into_iter().map(|(_, a)| a).collect()
}

/// Whether VF `vf` offers vGPU types now: it is an mdev parent with types, or it has
/// NVIDIA's vendor-VFIO `nvidia/creatable_vgpu_types` with at least one type (or a vGPU
/// type already set).
pub(crate) fn vf_offers_vgpus(fs: &Root, vf: &str) -> bool {
    !fs.list(&fs.mdev_types(vf)).unwrap_or_default().is_empty()
        || !creatable_vgpu_types(fs, vf).is_empty()
        || current_vgpu_type(fs, vf).is_some_and(|t| t > 0)
}

/// Whether `count` VFs of `pf` exist now and each offers vGPU types (the driver sets a
/// VF up some time after it appears); else what is still missing, in words.
pub(crate) fn vfs_ready(fs: &Root, pf: &str, count: u32) -> std::result::Result<(), String> {
    let numvfs = sriov_numvfs(fs, pf).unwrap_or(0);
    let vfs = virtfns(fs, pf);
    if numvfs < count || (vfs.len() as u64) < u64::from(count) {
        return Err(format!(
            "sriov_numvfs reads {numvfs} and {} VF(s) exist, {count} wanted",
            vfs.len()
        ));
    }
    let waiting: Vec<&String> = vfs.iter().filter(|v| !vf_offers_vgpus(fs, v)).collect();
    match waiting.len() {
        0 => Ok(()),
        n => Err(format!(
            "{n} of {} VF(s) offer no vGPU types yet (first: {})",
            vfs.len(),
            waiting[0]
        )),
    }
}

/// What lives under PCI function `address` now, re-read right before its driver is
/// unbound: `sriov_numvfs` (VFs enabled) and the mdevs that are its children (directories
/// named by UUID). An unreadable count is 0; an unreadable directory has no children.
fn dependents_now(fs: &Root, address: &str) -> (u32, Vec<String>) {
    let dir = fs.pci_device(address);
    let numvfs = fs
        .read_opt(&dir.join("sriov_numvfs"))
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let mdevs = fs
        .list(&dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| uuid::Uuid::try_parse(n).is_ok() && n.len() == 36)
        .collect();
    (numvfs, mdevs)
}

/// Proof, found right before a destructive write, that no process holds the device open
/// (and, for a driver unbind, that nothing lives under it). The journal's destructive
/// writes ([`Journal::destroy`](crate::exec::journal::Journal::destroy)) take one by value,
/// and only the functions below make one: a removal, a vGPU-type clear or an unbind cannot
/// be issued on the strength of an older snapshot.
#[derive(Debug)]
#[must_use = "a proof is spent by the destructive write it allows"]
pub(crate) struct Unheld {
    device: String,
}

impl Unheld {
    /// The device it was found for (an mdev UUID or a PCI address).
    pub(crate) fn device(&self) -> &str {
        &self.device
    }
}

/// Why a device may not be destroyed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Busy {
    /// These processes hold it open.
    Held(Vec<Holder>),
    /// Something lives under it (an unbind would destroy it): what, in words.
    Carries(String),
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Busy::Held(h) => f.write_str(&crate::host::tree::holder_list(h)),
            Busy::Carries(what) => f.write_str(what),
        }
    }
}

fn proof(device: &str, holders: Vec<Holder>) -> std::result::Result<Unheld, Busy> {
    if holders.is_empty() {
        Ok(Unheld {
            device: device.to_string(),
        })
    } else {
        Err(Busy::Held(holders))
    }
}

/// Nothing holds mdev `uuid` open now: it may be removed.
pub(crate) fn unheld_mdev(fs: &Root, uuid: &str) -> Result<std::result::Result<Unheld, Busy>> {
    Ok(proof(uuid, mdev_holders(fs, uuid)?))
}

/// Nothing holds PCI function `address` open now: its vGPU type may be cleared, or (on
/// vfio-pci) it may be unbound.
pub(crate) fn unheld_pci(fs: &Root, address: &str) -> Result<std::result::Result<Unheld, Busy>> {
    Ok(proof(address, pci_holders(fs, address)?))
}

/// The VFs of `pf` may be disabled now (`sriov_numvfs` ← 0 destroys every VF, and every
/// vGPU on them): no VF is held open, carries an mdev or has a vGPU type set.
pub(crate) fn vfs_free(fs: &Root, pf: &str) -> Result<std::result::Result<Unheld, Busy>> {
    let mut carried = Vec::new();
    for vf in virtfns(fs, pf) {
        let holders = pci_holders(fs, &vf)?;
        if !holders.is_empty() {
            return Ok(Err(Busy::Held(holders)));
        }
        let (_, mdevs) = dependents_now(fs, &vf);
        for m in &mdevs {
            let holders = mdev_holders(fs, m)?;
            if !holders.is_empty() {
                return Ok(Err(Busy::Held(holders)));
            }
        }
        if !mdevs.is_empty() {
            carried.push(format!("mdev(s) {} on VF {vf}", mdevs.join(", ")));
        }
        if let Some(t) = current_vgpu_type(fs, &vf).filter(|t| *t > 0) {
            carried.push(format!("vGPU type {t} on VF {vf}"));
        }
    }
    if carried.is_empty() {
        Ok(Ok(Unheld {
            device: pf.to_string(),
        }))
    } else {
        Ok(Err(Busy::Carries(carried.join(", "))))
    }
}

/// PCI function `address` may be unbound from its driver now: nothing holds it open, no
/// SR-IOV VF is enabled under it and no mdev is its child.
pub(crate) fn unbindable(fs: &Root, address: &str) -> Result<std::result::Result<Unheld, Busy>> {
    let (numvfs, mdevs) = dependents_now(fs, address);
    if numvfs > 0 || !mdevs.is_empty() {
        let mut parts = Vec::new();
        if numvfs > 0 {
            parts.push(format!("{numvfs} enabled VF(s)"));
        }
        if !mdevs.is_empty() {
            parts.push(format!("mdev(s) {}", mdevs.join(", ")));
        }
        return Ok(Err(Busy::Carries(parts.join(" and "))));
    }
    unheld_pci(fs, address)
}
