//! The few facts re-read right before a write, when the snapshot taken at the start of a
//! run may be stale (a narrow, named view of the host next to [`Inventory`](super::inventory::Inventory)):
//! who holds a device open now (the in-use re-check before every destructive write), whether
//! an mdev is still there, a PCI device's driver now, a vendor-VFIO VF's vGPU type and
//! creatable types now, and the SR-IOV routing of a PF. Every read goes through the root.

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
pub fn mdev_holders(fs: &Root, uuid: &str) -> Result<Vec<Holder>> {
    holders_of_dir(fs, &fs.mdev(uuid))
}

/// Who holds PCI function `address` open now.
pub fn pci_holders(fs: &Root, address: &str) -> Result<Vec<Holder>> {
    holders_of_dir(fs, &fs.pci_device(address))
}

/// Whether mdev `uuid` exists now.
pub fn mdev_exists(fs: &Root, uuid: &str) -> bool {
    fs.exists(&fs.mdev(uuid))
}

/// The driver PCI function `address` is bound to now (`None`: none, or unreadable).
pub fn pci_driver(fs: &Root, address: &str) -> Option<String> {
    fs.link_name(&fs.pci_device(address).join("driver"))
        .ok()
        .flatten()
}

/// A vendor-VFIO VF's `nvidia/current_vgpu_type` now (`None`: unreadable, e.g. the VF is
/// gone).
pub fn current_vgpu_type(fs: &Root, vf: &str) -> Option<u32> {
    fs.read_opt(&fs.vgpu_attr(vf, "current_vgpu_type"))
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse().ok())
}

/// The types a vendor-VFIO VF lists as creatable now (none when unreadable).
pub fn creatable_vgpu_types(fs: &Root, vf: &str) -> Vec<(u32, String)> {
    fs.read_opt(&fs.vgpu_attr(vf, "creatable_vgpu_types"))
        .ok()
        .flatten()
        .map(|s| inventory::pci::parse_creatable(&s))
        .unwrap_or_default()
}

/// A PF's `sriov_offset` and `sriov_stride` (`None` when either is unreadable).
pub fn sriov_routing(fs: &Root, pf: &str) -> Option<(u32, u32)> {
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
pub fn driver_loaded(fs: &Root, name: &str) -> bool {
    fs.exists(&fs.pci_driver(name))
}

/// A PF's `sriov_vf_device`: the device ID its VFs will have (`None` when unreadable).
pub fn sriov_vf_device(fs: &Root, pf: &str) -> Option<String> {
    fs.read_opt(&fs.pci_device(pf).join("sriov_vf_device"))
        .ok()
        .flatten()
        .map(|d| d.trim().to_string())
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
pub struct Unheld {
    device: String,
}

impl Unheld {
    /// The device it was found for (an mdev UUID or a PCI address).
    pub fn device(&self) -> &str {
        &self.device
    }
}

/// Why a device may not be destroyed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busy {
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
pub fn unheld_mdev(fs: &Root, uuid: &str) -> Result<std::result::Result<Unheld, Busy>> {
    Ok(proof(uuid, mdev_holders(fs, uuid)?))
}

/// Nothing holds PCI function `address` open now: its vGPU type may be cleared, or (on
/// vfio-pci) it may be unbound.
pub fn unheld_pci(fs: &Root, address: &str) -> Result<std::result::Result<Unheld, Busy>> {
    Ok(proof(address, pci_holders(fs, address)?))
}

/// PCI function `address` may be unbound from its driver now: nothing holds it open, no
/// SR-IOV VF is enabled under it and no mdev is its child.
pub fn unbindable(fs: &Root, address: &str) -> Result<std::result::Result<Unheld, Busy>> {
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
