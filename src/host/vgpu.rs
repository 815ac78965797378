//! The vGPU framework of each physical GPU (docs/nvidia.md): mdev on the
//! physical function, mdev on SR-IOV virtual functions, NVIDIA's vendor-specific VFIO
//! (`nvidia/current_vgpu_type` on the VFs), or none — decided per GPU, never per host, and
//! the precondition a GPU misses, with the command that fixes it. Pure: reads the inventory.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::host::inventory::{Inventory, ParentKind, PciDevice, NVIDIA_VENDOR};

/// NVIDIA's tool that enables and disables a GPU's virtual functions.
pub const SRIOV_MANAGE: &str = "/usr/lib/nvidia/sriov-manage";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// mdev types on the physical function (Maxwell to Turing; Intel GVT-g).
    MdevPf,
    /// mdev types on the SR-IOV virtual functions, one instance per VF (Ampere and newer).
    MdevVf,
    /// No mdev: a vGPU type is set per VF through `nvidia/current_vgpu_type` (vGPU 17+).
    VendorVfio,
    /// No vGPU support found (passthrough only, or a precondition is missing).
    None,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::MdevPf => "mdev-pf",
            Framework::MdevVf => "mdev-vf",
            Framework::VendorVfio => "vendor-vfio",
            Framework::None => "none",
        }
    }
}

/// One physical GPU and how it offers vGPUs.
#[derive(Debug, Clone, Serialize)]
pub struct Gpu {
    pub address: String,
    pub vendor_device: String,
    pub driver: Option<String>,
    pub framework: Framework,
    pub sriov_totalvfs: Option<u32>,
    pub sriov_numvfs: Option<u32>,
    /// The VFs that carry its vGPUs (mdev parents for `mdev-vf`, `nvidia/` VFs for
    /// `vendor-vfio`), ascending.
    pub vfs: Vec<String>,
    /// A missing precondition and its fix; `None` when the GPU is ready or is not meant
    /// for vGPUs.
    pub problem: Option<String>,
}

/// Every physical GPU of the host, ascending by address: PCI functions that are mdev
/// parents, that own VF mdev parents or vendor-VFIO VFs, or that are NVIDIA display or 3D
/// controllers (which then report framework `none`).
pub fn gpus(inv: &Inventory) -> Vec<Gpu> {
    let mut out = Vec::new();
    for d in inv.pci.iter().filter(|d| d.physfn.is_none()) {
        let own_parent = inv
            .parents
            .iter()
            .any(|p| p.name == d.address && p.kind == ParentKind::Pci);
        let vf_parents: Vec<String> = inv
            .parents
            .iter()
            .filter(|p| p.kind == ParentKind::Vf && p.physfn.as_deref() == Some(&d.address))
            .map(|p| p.name.clone())
            .collect();
        let vendor_vfs = vendor_vfs(inv, &d.address);
        let nvidia_gpu = d.vendor == NVIDIA_VENDOR && d.class.starts_with("03");
        let (framework, vfs) = if own_parent {
            (Framework::MdevPf, Vec::new())
        } else if !vf_parents.is_empty() {
            (Framework::MdevVf, vf_parents)
        } else if d.driver.as_deref() == Some("nvidia")
            && d.sriov_totalvfs.is_some()
            && vendor_vfs
                .iter()
                .any(|v| v.nvidia.as_ref().is_some_and(|n| n.is_vgpu_capable()))
        {
            (
                Framework::VendorVfio,
                vendor_vfs.iter().map(|v| v.address.clone()).collect(),
            )
        } else if nvidia_gpu {
            (Framework::None, Vec::new())
        } else {
            continue;
        };
        let problem = if framework == Framework::None {
            precondition(inv, d, &vendor_vfs)
        } else {
            None
        };
        out.push(Gpu {
            address: d.address.clone(),
            vendor_device: d.vendor_device(),
            driver: d.driver.clone(),
            framework,
            sriov_totalvfs: d.sriov_totalvfs,
            sriov_numvfs: d.sriov_numvfs,
            vfs,
            problem,
        });
    }
    out
}

/// The VFs of `pf` that have NVIDIA's vendor-VFIO `nvidia/` directory, ascending.
pub fn vendor_vfs<'a>(inv: &'a Inventory, pf: &str) -> Vec<&'a PciDevice> {
    inv.pci
        .iter()
        .filter(|v| v.physfn.as_deref() == Some(pf) && v.nvidia.is_some())
        .filter(|v| inv.parent(&v.address).is_none())
        .collect()
}

/// Why an NVIDIA GPU on the `nvidia` driver shows no vGPU types, and what fixes it.
fn precondition(inv: &Inventory, d: &PciDevice, vendor_vfs: &[&PciDevice]) -> Option<String> {
    if d.vendor != NVIDIA_VENDOR || d.driver.as_deref() != Some("nvidia") {
        return None;
    }
    let addr = &d.address;
    if !inv.vgpu_manager_running {
        return Some(format!(
            "{addr} is on the nvidia driver but publishes no vGPU types and no nvidia-vgpu-mgr process runs: \
             install the NVIDIA vGPU Manager (host driver) and start its services \
             (`systemctl start nvidia-vgpud nvidia-vgpu-mgr`)"
        ));
    }
    let total = d.sriov_totalvfs.unwrap_or(0);
    if total > 0 && d.virtfns.is_empty() {
        return Some(format!(
            "{addr} supports SR-IOV ({total} virtual functions) but none is enabled, and vGPUs on Ampere and \
             newer GPUs live on the virtual functions: run `{SRIOV_MANAGE} -e {addr}` (Proxmox: \
             `systemctl start pve-nvidia-sriov@{addr}.service`), then check that sriov_numvfs reads {total}"
        ));
    }
    if !d.virtfns.is_empty() {
        let what = if vendor_vfs.is_empty() {
            "no mdev_supported_types and no nvidia/ directory"
        } else {
            "an empty nvidia/creatable_vgpu_types"
        };
        return Some(format!(
            "the {} virtual functions of {addr} show {what}: the vGPU manager has not set this GPU up yet; \
             check `journalctl -u nvidia-vgpu-mgr` and, if it stays so, cycle SR-IOV with \
             `{SRIOV_MANAGE} -d {addr}` and `{SRIOV_MANAGE} -e {addr}` (needs every VF free)",
            d.virtfns.len()
        ));
    }
    None
}

/// The names of vendor-VFIO vGPU type IDs, per `vendor:device`, gathered from every VF's
/// `creatable_vgpu_types`. A type that no VF can create any more (e.g. on a full card) has
/// no name here and is shown by its ID.
pub fn vendor_type_names(inv: &Inventory) -> BTreeMap<String, BTreeMap<u32, String>> {
    let mut names: BTreeMap<String, BTreeMap<u32, String>> = BTreeMap::new();
    for d in &inv.pci {
        if let Some(n) = &d.nvidia {
            let m = names.entry(d.vendor_device()).or_default();
            for (id, name) in &n.creatable {
                m.entry(*id).or_insert_with(|| name.clone());
            }
        }
    }
    names
}
