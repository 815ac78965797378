//! What lives under a PCI device: the relations a host is made of — a physical function →
//! its SR-IOV virtual functions → the mdevs on it or on them, and NVIDIA vendor-VFIO vGPU
//! types set on the VFs → the processes holding any of them open. Unbinding a device's
//! driver destroys everything under it (an mdev parent's mdevs, an SR-IOV PF's VFs), so a
//! caller that would unbind asks here first. Pure: reads the inventory.

use crate::host::inventory::{device_paths, Holder, Inventory, Mdev, PciDevice};

/// An mdev under a device, and who holds it open.
#[derive(Debug, Clone)]
pub(crate) struct MdevNode<'a> {
    pub(crate) mdev: &'a Mdev,
    pub(crate) holders: Vec<Holder>,
}

/// An enabled virtual function under a PF: its vGPU type (vendor-VFIO), its mdevs, and who
/// holds the VF open.
#[derive(Debug, Clone)]
pub(crate) struct VfNode<'a> {
    pub(crate) vf: &'a PciDevice,
    /// `nvidia/current_vgpu_type` when it is set (not 0).
    pub(crate) vgpu_type: Option<u32>,
    pub(crate) mdevs: Vec<MdevNode<'a>>,
    pub(crate) holders: Vec<Holder>,
}

/// Everything under one PCI device.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dependents<'a> {
    /// mdevs whose parent is the device itself, ascending by UUID.
    pub(crate) mdevs: Vec<MdevNode<'a>>,
    /// Its enabled SR-IOV virtual functions (`sriov_numvfs` > 0), ascending.
    pub(crate) vfs: Vec<VfNode<'a>>,
    /// `sriov_numvfs` as read (VFs enabled, even where a VF's directory could not be read).
    pub(crate) numvfs: u32,
}

impl Dependents<'_> {
    /// One phrase per mdev: `UUID (TYPE, held by pid N (qemu))`.
    pub(crate) fn mdev_phrases(&self) -> Vec<String> {
        self.mdevs.iter().map(mdev_phrase).collect()
    }

    /// One phrase per VF that carries something (a vGPU type, mdevs, a holder):
    /// `0000:04:10.0 (vGPU type 1234, held by pid N (qemu))`; then `N idle` for the rest.
    pub(crate) fn vf_phrases(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut idle = 0;
        for v in &self.vfs {
            let mut parts = Vec::new();
            if let Some(t) = v.vgpu_type {
                parts.push(format!("vGPU type {t}"));
            }
            if !v.mdevs.is_empty() {
                parts.push(format!(
                    "mdev {}",
                    v.mdevs
                        .iter()
                        .map(mdev_phrase)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !v.holders.is_empty() {
                parts.push(held_by(&v.holders));
            }
            if parts.is_empty() {
                idle += 1;
            } else {
                out.push(format!("{} ({})", v.vf.address, parts.join(", ")));
            }
        }
        if idle > 0 {
            out.push(format!("{idle} idle"));
        }
        out
    }
}

fn mdev_phrase(m: &MdevNode<'_>) -> String {
    let mut parts = Vec::new();
    if let Some(t) = m.mdev.type_name.as_deref().or(m.mdev.type_id.as_deref()) {
        parts.push(t.to_string());
    }
    if !m.holders.is_empty() {
        parts.push(held_by(&m.holders));
    }
    if parts.is_empty() {
        m.mdev.uuid.clone()
    } else {
        format!("{} ({})", m.mdev.uuid, parts.join(", "))
    }
}

/// `pid 4242 (qemu-system-x86), pid 7 (x)`: the one spelling of who holds a device.
pub(crate) fn holder_list(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(Holder::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `in use by pid 4242 (qemu-system-x86)`.
pub(crate) fn in_use_by(holders: &[Holder]) -> String {
    format!("in use by {}", holder_list(holders))
}

/// `held by pid 4242 (qemu-system-x86), pid 7 (x)`.
pub(crate) fn held_by(holders: &[Holder]) -> String {
    format!("held by {}", holder_list(holders))
}

fn mdev_nodes<'a>(inv: &'a Inventory, parent: &str) -> Vec<MdevNode<'a>> {
    inv.mdevs_of(parent)
        .map(|m| MdevNode {
            mdev: m,
            holders: inv.mdev_holders(m),
        })
        .collect()
}

impl Inventory {
    /// Who holds PCI function `d` open (its `/dev/vfio/<group>` or vfio cdev).
    pub(crate) fn pci_holders(&self, d: &PciDevice) -> Vec<Holder> {
        self.holders_of(&device_paths(d.iommu_group.as_deref(), &d.cdevs))
    }

    /// Who holds mdev `m` open.
    pub(crate) fn mdev_holders(&self, m: &Mdev) -> Vec<Holder> {
        self.holders_of(&device_paths(m.iommu_group.as_deref(), &m.cdevs))
    }

    /// What lives under PCI device `address` (nothing for an unknown address).
    pub(crate) fn dependents(&self, address: &str) -> Dependents<'_> {
        let Some(d) = self.pci_device(address) else {
            return Dependents::default();
        };
        let numvfs = d.sriov_numvfs.unwrap_or(0);
        let vfs = self
            .pci
            .iter()
            .filter(|v| v.physfn.as_deref() == Some(address))
            .map(|v| VfNode {
                vf: v,
                vgpu_type: v
                    .nvidia
                    .as_ref()
                    .map(|n| n.current_vgpu_type)
                    .filter(|t| *t != 0),
                mdevs: mdev_nodes(self, &v.address),
                holders: self.pci_holders(v),
            })
            .collect();
        Dependents {
            mdevs: mdev_nodes(self, address),
            vfs,
            numvfs,
        }
    }
}
