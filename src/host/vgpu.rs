//! The vGPU framework of each physical GPU (docs/nvidia.md): mdev on the
//! physical function, mdev on SR-IOV virtual functions, NVIDIA's vendor-specific VFIO
//! (`nvidia/current_vgpu_type` on the VFs), or none — decided per GPU, never per host, and
//! the precondition a GPU misses, with the command that fixes it. Pure: reads the inventory.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::host::inventory::{Inventory, ParentKind, PciDevice, NVIDIA_VENDOR};

/// NVIDIA's tool that enables and disables a GPU's virtual functions.
pub(crate) const SRIOV_MANAGE: &str = "/usr/lib/nvidia/sriov-manage";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Framework {
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
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct Gpu {
    pub(crate) address: String,
    pub(crate) vendor_device: String,
    pub(crate) driver: Option<String>,
    pub(crate) framework: Framework,
    pub(crate) sriov_totalvfs: Option<u32>,
    pub(crate) sriov_numvfs: Option<u32>,
    /// The VFs that carry its vGPUs (mdev parents for `mdev-vf`, `nvidia/` VFs for
    /// `vendor-vfio`), ascending.
    pub(crate) vfs: Vec<String>,
    /// A missing precondition and its fix; `None` when the GPU is ready or is not meant
    /// for vGPUs.
    pub(crate) problem: Option<String>,
}

/// Every physical GPU of the host, ascending by address: PCI functions that are mdev
/// parents, that own VF mdev parents or vendor-VFIO VFs, or that are NVIDIA display or 3D
/// controllers (which then report framework `none`).
pub(crate) fn gpus(inv: &Inventory) -> Vec<Gpu> {
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
pub(crate) fn vendor_vfs<'a>(inv: &'a Inventory, pf: &str) -> Vec<&'a PciDevice> {
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
    if is_turing_or_older(d) {
        // the T4 trap: it advertises SR-IOV, but its vGPUs are mdevs on the PF; VFs never help
        let sriov = if total > 0 {
            format!(
                " (it advertises {total} SR-IOV virtual functions, but never uses them for vGPUs: \
                 `{SRIOV_MANAGE}` does not apply)"
            )
        } else {
            String::new()
        };
        return Some(format!(
            "{addr} ({}) is on the nvidia driver and nvidia-vgpu-mgr runs, but it publishes no vGPU types yet: \
             on Turing and older GPUs the types appear on the physical function (mdev_supported_types) once \
             nvidia-vgpud has run{sriov}; start or restart the vGPU manager services \
             (`systemctl restart nvidia-vgpud nvidia-vgpu-mgr`) and check `journalctl -u nvidia-vgpud`",
            d.vendor_device()
        ));
    }
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

/// An NVIDIA GPU of the Maxwell to Turing generations (M10, P40, V100, T4, RTX 6000/8000):
/// PCI device IDs below 0x2000, and Turing's TU116/TU117 at 0x21xx (Ampere starts at 0x20xx
/// with GA100; 0x22xx and up are GA10x, Hopper, Ada, Blackwell). These host vGPUs as mdevs
/// on the physical function only, even when they advertise SR-IOV (the T4:
/// `sriov_totalvfs` 16).
pub(crate) fn is_turing_or_older(d: &PciDevice) -> bool {
    d.vendor == NVIDIA_VENDOR
        && u16::from_str_radix(&d.device, 16).is_ok_and(|id| id < 0x2000 || id >> 8 == 0x21)
}

/// The names of vendor-VFIO vGPU type IDs, per `vendor:device`, gathered from every VF's
/// `creatable_vgpu_types`. A type that no VF can create any more (e.g. on a full card) has
/// no name here and is shown by its ID.
pub(crate) fn vendor_type_names(inv: &Inventory) -> BTreeMap<String, BTreeMap<u32, String>> {
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

/// Memory (GiB) of NVIDIA GPUs that offer vGPUs on SR-IOV virtual functions, by device ID,
/// from NVIDIA's vGPU type tables (the largest time-sliced type is the whole GPU). Used
/// when no GPU of the model on the host is empty (an empty GPU lists every type).
const GPU_MEMORY_GIB: &[(&str, u32)] = &[
    ("2235", 48), // A40
    ("2236", 24), // A10
    ("25b6", 16), // A16 (each of its four GPUs), A2
    ("26b1", 48), // RTX 6000 Ada
    ("26b5", 48), // L40
    ("26b9", 48), // L40S
    ("27b8", 24), // L4
    ("2331", 80), // H100 PCIe
];

/// A type's framebuffer in MiB: `framebuffer=4096M` in an NVIDIA mdev type's description.
pub(crate) fn framebuffer_mib(description: &str) -> Option<u64> {
    description
        .split([',', '\n'])
        .filter_map(|kv| kv.trim().strip_prefix("framebuffer="))
        .find_map(|v| v.trim().strip_suffix('M')?.parse().ok())
}

/// A vendor-VFIO type's framebuffer in GiB, from its name: the number that starts its last
/// `-` part (`NVIDIA L40S-8Q` → 8, `NVIDIA RTX Pro 6000 Blackwell DC-3Q` → 3). `None` for
/// MIG-backed types (`NVIDIA H200X-1-18C`: their count follows the MIG layout) and names
/// without a size.
pub(crate) fn vendor_type_gib(name: &str) -> Option<u32> {
    let (head, last) = name.rsplit_once('-')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if head.rsplit_once('-').is_some_and(|(_, s)| numeric(s)) {
        return None;
    }
    let n = last.bytes().take_while(u8::is_ascii_digit).count();
    if !last[n..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    last[..n].parse().ok().filter(|g| *g > 0)
}

/// What bounds the vGPUs of one vendor-VFIO GPU: its memory and its virtual functions.
/// `creatable_vgpu_types` publishes no maximum, so the maximum of a type is the GPU's
/// memory over the type's framebuffer (equal-size mode), at most one per VF.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VendorLimits {
    pub(crate) memory_gib: Option<u32>,
    pub(crate) vfs: Option<u32>,
}

impl VendorLimits {
    /// The limits of physical GPU `pf`: its memory from the largest type an empty GPU of the
    /// same model lists, else from [`GPU_MEMORY_GIB`].
    pub(crate) fn of(inv: &Inventory, pf: &PciDevice) -> Self {
        let model = pf.vendor_device();
        let listed = inv
            .pci
            .iter()
            .filter(|d| d.physfn.is_none() && d.vendor_device() == model)
            .filter_map(|d| {
                let vfs = vendor_vfs(inv, &d.address);
                let nv: Vec<_> = vfs.iter().filter_map(|v| v.nvidia.as_ref()).collect();
                if nv.is_empty() || nv.iter().any(|n| n.current_vgpu_type != 0) {
                    return None;
                }
                nv.iter()
                    .flat_map(|n| &n.creatable)
                    .filter_map(|(_, name)| vendor_type_gib(name))
                    .max()
            })
            .max();
        let table = || {
            (pf.vendor == NVIDIA_VENDOR)
                .then(|| GPU_MEMORY_GIB.iter().find(|(id, _)| *id == pf.device))
                .flatten()
                .map(|(_, gib)| *gib)
        };
        VendorLimits {
            memory_gib: listed.or_else(table),
            vfs: pf.sriov_totalvfs,
        }
    }

    /// The most vGPUs of the type named `name` one GPU holds; `None` when unknown.
    pub(crate) fn max_instances(&self, name: Option<&str>) -> Option<u32> {
        let per = self.memory_gib? / name.and_then(vendor_type_gib)?;
        Some(self.vfs.map_or(per, |v| per.min(v)))
    }

    /// How many more vGPUs of the type named `name` the GPU holds: its maximum minus the
    /// vGPUs of the same size already on it (`present`: their type names; an unnamed one
    /// counts as the same size). `None` when the maximum is unknown.
    pub(crate) fn room(&self, name: Option<&str>, present: &[Option<&str>]) -> Option<u32> {
        let max = self.max_instances(name)?;
        let size = name.and_then(vendor_type_gib);
        let same = present
            .iter()
            .filter(|p| {
                p.and_then(vendor_type_gib)
                    .map_or(true, |s| Some(s) == size)
            })
            .count() as u32;
        Some(max.saturating_sub(same))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_type_sizes_come_from_the_name() {
        assert_eq!(vendor_type_gib("NVIDIA L40S-48Q"), Some(48));
        assert_eq!(vendor_type_gib("NVIDIA L40S-1B"), Some(1));
        assert_eq!(
            vendor_type_gib("NVIDIA RTX Pro 6000 Blackwell DC-3Q"),
            Some(3)
        );
        assert_eq!(vendor_type_gib("NVIDIA H200X-1-18C"), None);
        assert_eq!(vendor_type_gib("NVIDIA L40S"), None);
        assert_eq!(vendor_type_gib("NVIDIA L40S-Q"), None);
        assert_eq!(
            framebuffer_mib("num_heads=4, frl_config=60, framebuffer=4096M, max_instance=4"),
            Some(4096)
        );
    }

    #[test]
    fn l40s_holds_one_48q_and_four_more_8q_next_to_two() {
        let l = VendorLimits {
            memory_gib: Some(48),
            vfs: Some(32),
        };
        assert_eq!(l.max_instances(Some("NVIDIA L40S-48Q")), Some(1));
        assert_eq!(l.max_instances(Some("NVIDIA L40S-1B")), Some(32));
        let two = [Some("NVIDIA L40S-8Q"), Some("NVIDIA L40S-8Q")];
        assert_eq!(l.room(Some("NVIDIA L40S-8Q"), &two), Some(4));
        assert_eq!(l.room(Some("NVIDIA L40S-8C"), &two), Some(4));
        assert_eq!(l.room(Some("NVIDIA L40S-8Q"), &[None]), Some(5));
        assert_eq!(l.room(Some("NVIDIA H200X-1-18C"), &[]), None);
    }

    fn gpu(device: &str, sriov: Option<u32>) -> PciDevice {
        PciDevice {
            address: "0000:3b:00.0".into(),
            vendor: NVIDIA_VENDOR.into(),
            device: device.into(),
            class: "030200".into(),
            driver: Some("nvidia".into()),
            sriov_totalvfs: sriov,
            sriov_numvfs: sriov.map(|_| 0),
            ..Default::default()
        }
    }

    #[test]
    fn a_t4_waiting_for_its_types_is_sent_to_the_vgpu_manager_not_to_sriov_manage() {
        let inv = Inventory {
            pci: vec![gpu("1eb8", Some(16))],
            vgpu_manager_running: true,
            ..Default::default()
        };
        let g = &gpus(&inv)[0];
        assert_eq!(g.framework, Framework::None);
        let p = g.problem.as_deref().expect("a problem");
        assert!(!p.contains("sriov-manage -e"), "{p}");
        assert!(
            p.contains("systemctl restart nvidia-vgpud nvidia-vgpu-mgr"),
            "{p}"
        );
        // an Ampere GPU with no VFs enabled is still told to enable them
        let inv = Inventory {
            pci: vec![gpu("2235", Some(32))],
            vgpu_manager_running: true,
            ..Default::default()
        };
        let p = gpus(&inv)[0].problem.clone().expect("a problem");
        assert!(p.contains("sriov-manage -e 0000:3b:00.0"), "{p}");
    }

    #[test]
    fn turing_and_older_by_device_id() {
        for old in ["1eb8", "1db4", "1b38", "13bd", "1e30", "2182"] {
            assert!(is_turing_or_older(&gpu(old, None)), "{old}");
        }
        for new in ["20b0", "2235", "25b6", "26b9", "2331", "2bb5"] {
            assert!(!is_turing_or_older(&gpu(new, None)), "{new}");
        }
    }
}
