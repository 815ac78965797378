//! `hostdev tree`: the host as a tree, as `lsblk` shows disks — each physical function with
//! the SR-IOV virtual functions enabled under it, the mdevs on it or on them, the vGPU type
//! set on a vendor-VFIO VF, and the processes holding any of them. Built from
//! [`Inventory::dependents`](crate::host::inventory::Inventory), the relations every safety
//! rule asks.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::host::inventory::{Holder, Inventory, PciDevice};
use crate::host::tree::MdevNode;
use crate::host::vgpu;
use crate::plan::SCHEMA;

#[derive(Debug, Serialize)]
pub(crate) struct TreeDoc {
    pub(crate) schema: &'static str,
    pub(crate) devices: Vec<DeviceNode>,
}

/// A PCI function and what lives under it.
#[derive(Debug, Serialize)]
pub(crate) struct DeviceNode {
    pub(crate) address: String,
    pub(crate) vendor_device: String,
    pub(crate) driver: Option<String>,
    pub(crate) iommu_group: Option<String>,
    /// Its vGPU framework, for a physical GPU (`mdev-pf`, `mdev-vf`, `vendor-vfio`, `none`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) framework: Option<&'static str>,
    /// `sriov_numvfs`, for an SR-IOV physical function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sriov_numvfs: Option<u32>,
    /// The vGPU type set on a vendor-VFIO VF (`nvidia/current_vgpu_type`), and its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vgpu_type: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vgpu_type_name: Option<String>,
    pub(crate) holders: Vec<Holder>,
    pub(crate) mdevs: Vec<MdevDoc>,
    pub(crate) vfs: Vec<DeviceNode>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MdevDoc {
    pub(crate) uuid: String,
    pub(crate) type_id: Option<String>,
    pub(crate) type_name: Option<String>,
    pub(crate) iommu_group: Option<String>,
    pub(crate) holders: Vec<Holder>,
}

fn mdev_doc(m: &MdevNode<'_>) -> MdevDoc {
    MdevDoc {
        uuid: m.mdev.uuid.clone(),
        type_id: m.mdev.type_id.clone(),
        type_name: m.mdev.type_name.clone(),
        iommu_group: m.mdev.iommu_group.clone(),
        holders: m.holders.clone(),
    }
}

/// Whether a physical function belongs in the whole-host tree: a GPU, an mdev parent, an
/// SR-IOV PF with VFs enabled, or a device on vfio-pci (what hostdev deals in).
fn listed(inv: &Inventory, d: &PciDevice) -> bool {
    d.is_gpu()
        || inv.parent(&d.address).is_some()
        || d.sriov_numvfs.unwrap_or(0) > 0
        || d.driver.as_deref() == Some(crate::host::inventory::VFIO_PCI)
        || d.nvidia_dir
}

/// The tree of the whole host (`only`: `None`), or of one PCI function.
pub(crate) fn tree_doc(inv: &Inventory, only: Option<&str>) -> TreeDoc {
    let frameworks: Vec<vgpu::Gpu> = vgpu::gpus(inv);
    let names = vgpu::vendor_type_names(inv);
    let node = |d: &PciDevice| -> DeviceNode {
        let deps = inv.dependents(&d.address);
        let type_name = |vd: &str, id: u32| names.get(vd).and_then(|m| m.get(&id)).cloned();
        DeviceNode {
            address: d.address.clone(),
            vendor_device: d.vendor_device(),
            driver: d.driver.clone(),
            iommu_group: d.iommu_group.clone(),
            framework: frameworks
                .iter()
                .find(|g| g.address == d.address)
                .map(|g| g.framework.as_str()),
            sriov_numvfs: d.sriov_numvfs.filter(|_| d.sriov_totalvfs.is_some()),
            vgpu_type: d
                .nvidia
                .as_ref()
                .map(|n| n.current_vgpu_type)
                .filter(|t| *t != 0),
            vgpu_type_name: d
                .nvidia
                .as_ref()
                .map(|n| n.current_vgpu_type)
                .filter(|t| *t != 0)
                .and_then(|t| type_name(&d.vendor_device(), t)),
            holders: inv.pci_holders(d),
            mdevs: deps.mdevs.iter().map(mdev_doc).collect(),
            vfs: deps
                .vfs
                .iter()
                .map(|v| DeviceNode {
                    address: v.vf.address.clone(),
                    vendor_device: v.vf.vendor_device(),
                    driver: v.vf.driver.clone(),
                    iommu_group: v.vf.iommu_group.clone(),
                    framework: None,
                    sriov_numvfs: None,
                    vgpu_type: v.vgpu_type,
                    vgpu_type_name: v
                        .vgpu_type
                        .and_then(|t| type_name(&v.vf.vendor_device(), t)),
                    holders: v.holders.clone(),
                    mdevs: v.mdevs.iter().map(mdev_doc).collect(),
                    vfs: Vec::new(),
                })
                .collect(),
        }
    };
    let devices = match only {
        Some(a) => inv.pci_device(a).map(node).into_iter().collect(),
        None => inv
            .pci
            .iter()
            .filter(|d| d.physfn.is_none() && listed(inv, d))
            .map(node)
            .collect(),
    };
    TreeDoc {
        schema: SCHEMA,
        devices,
    }
}

/// One line of the picture: the tree prefix and name, then the columns.
struct Row {
    name: String,
    what: String,
    driver: String,
    group: String,
    held: String,
}

fn held(holders: &[Holder]) -> String {
    if holders.is_empty() {
        "-".into()
    } else {
        crate::host::tree::holder_list(holders)
    }
}

fn mdev_row(prefix: &str, m: &MdevDoc) -> Row {
    Row {
        name: format!("{prefix}{}", m.uuid),
        what: match (&m.type_name, &m.type_id) {
            (Some(n), Some(id)) => format!("mdev {id} ({n})"),
            (None, Some(id)) => format!("mdev {id}"),
            (Some(n), None) => format!("mdev ({n})"),
            (None, None) => "mdev".into(),
        },
        driver: "-".into(),
        group: m.iommu_group.clone().unwrap_or_else(|| "-".into()),
        held: held(&m.holders),
    }
}

/// `prefix` for this node's own line, `indent` for the lines under it.
fn rows(out: &mut Vec<Row>, d: &DeviceNode, prefix: &str, indent: &str) {
    let mut what = vec![d.vendor_device.clone()];
    if let Some(f) = d.framework {
        what.push(format!("GPU, {f}"));
    }
    if let Some(n) = d.sriov_numvfs.filter(|n| *n > 0) {
        what.push(format!("{n} VFs"));
    }
    if let Some(t) = d.vgpu_type {
        what.push(match &d.vgpu_type_name {
            Some(n) => format!("vGPU {t} ({n})"),
            None => format!("vGPU {t}"),
        });
    }
    out.push(Row {
        name: format!("{prefix}{}", d.address),
        what: what.join(", "),
        driver: d.driver.clone().unwrap_or_else(|| "-".into()),
        group: d.iommu_group.clone().unwrap_or_else(|| "-".into()),
        held: held(&d.holders),
    });
    let n = d.mdevs.len() + d.vfs.len();
    let mut i = 0;
    for m in &d.mdevs {
        i += 1;
        let last = i == n;
        out.push(mdev_row(
            &format!("{indent}{}", if last { "└─" } else { "├─" }),
            m,
        ));
    }
    for v in &d.vfs {
        i += 1;
        let last = i == n;
        rows(
            out,
            v,
            &format!("{indent}{}", if last { "└─" } else { "├─" }),
            &format!("{indent}{}", if last { "  " } else { "│ " }),
        );
    }
}

/// The tree as text: one line per device, its children indented under it.
pub(crate) fn tree_table(out: &mut dyn Write, doc: &TreeDoc) -> Result<()> {
    let mut all = vec![Row {
        name: "DEVICE".into(),
        what: "WHAT".into(),
        driver: "DRIVER".into(),
        group: "GROUP".into(),
        held: "HELD BY".into(),
    }];
    for d in &doc.devices {
        rows(&mut all, d, "", "");
    }
    let w = |f: fn(&Row) -> &str| all.iter().map(|r| f(r).chars().count()).max().unwrap_or(0);
    let (wn, ww, wd, wg) = (
        w(|r| &r.name),
        w(|r| &r.what),
        w(|r| &r.driver),
        w(|r| &r.group),
    );
    let pad = |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(s.chars().count())));
    for r in &all {
        writeln!(
            out,
            "{}  {}  {}  {}  {}",
            pad(&r.name, wn),
            pad(&r.what, ww),
            pad(&r.driver, wd),
            pad(&r.group, wg),
            r.held
        )?;
    }
    Ok(())
}
