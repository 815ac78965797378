//! The `bind vfio` planner: which selected devices to bind to vfio-pci, which are already
//! bound, and which are refused and why (NVIDIA vendor-VFIO VFs, bridges, devices the host
//! uses, IOMMU groups that would not be viable). Pure over the inventory and the host-use
//! facts, which the caller reads (`exec::vfio::host_use`) and passes in.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::PciSelector;
use crate::exec::vfio::DeviceArg;
use crate::host::inventory::{Inventory, PciDevice};

pub const VFIO_PCI: &str = "vfio-pci";

/// What the DEVICE arguments or configuration selectors name on this host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Matching addresses, ascending.
    pub addresses: Vec<String>,
    /// Addresses named that are not on this host.
    pub missing_addresses: Vec<String>,
    /// Selectors that match no device on this host.
    pub unmatched: Vec<PciSelector>,
}

/// The addresses the arguments name (ascending), and those that name nothing.
pub fn select(inv: &Inventory, args: &[DeviceArg]) -> Selection {
    let mut out = BTreeSet::new();
    let mut sel = Selection::default();
    for a in args {
        match a {
            DeviceArg::Address(addr) => {
                if inv.pci_device(addr).is_none() {
                    sel.missing_addresses.push(addr.clone());
                } else {
                    out.insert(addr.clone());
                }
            }
            DeviceArg::Selector(s) => {
                let mut any = false;
                for d in inv
                    .pci
                    .iter()
                    .filter(|d| d.vendor == s.vendor && d.device == s.device)
                {
                    any = true;
                    out.insert(d.address.clone());
                }
                if !any {
                    sel.unmatched.push(s.clone());
                }
            }
        }
    }
    sel.addresses = out.into_iter().collect();
    sel
}

/// Why a device is not bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NvidiaVendorVf,
    Bridge,
    /// The host needs it (the reason from `host_use`).
    HostUse(String),
    /// Its IOMMU group keeps other endpoints on host drivers.
    GroupNotViable {
        group: String,
        others: Vec<String>,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NvidiaVendorVf => f.write_str(
                "it is an NVIDIA vendor-VFIO virtual function: the nvidia driver already registers it \
                 with VFIO (use it as it is); vfio-pci's probe fails with EINVAL and a rebind breaks \
                 the VF until an SR-IOV cycle",
            ),
            Refusal::Bridge => f.write_str("it is a PCI bridge; bridges are not assigned to VMs"),
            Refusal::HostUse(why) => write!(f, "the host uses it: {why}"),
            Refusal::GroupNotViable { group, others } => write!(
                f,
                "IOMMU group {group} is not viable: {} still on a host driver; pass --with-group to bind \
                 every endpoint of the group",
                others.join(", ")
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BindPlan {
    /// Devices to bind, ascending.
    pub bind: Vec<String>,
    /// Already on vfio-pci.
    pub already: Vec<String>,
    /// Nothing is changed while this is not empty.
    #[serde(skip)]
    pub refused: Vec<(String, Refusal)>,
}

/// NVIDIA vendor-specific VFIO virtual functions: `nvidia` registers them with VFIO itself;
/// vfio-pci's probe returns -EINVAL and a rebind breaks them until an SR-IOV cycle.
pub fn is_nvidia_vendor_vf(d: &PciDevice) -> bool {
    d.nvidia.is_some() || (d.driver.as_deref() == Some("nvidia") && d.physfn.is_some())
}

/// Decide what `bind vfio` does with the selected devices. `host_use` says why the host
/// itself needs a device, if it does.
pub fn plan(
    inv: &Inventory,
    selected: &[String],
    with_group: bool,
    host_use: &dyn Fn(&PciDevice) -> Option<String>,
) -> BindPlan {
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
        match refusal(inv, d, &want, host_use) {
            Some(r) => plan.refused.push((a.clone(), r)),
            None => plan.bind.push(a.clone()),
        }
    }
    plan
}

fn refusal(
    inv: &Inventory,
    d: &PciDevice,
    want: &BTreeSet<String>,
    host_use: &dyn Fn(&PciDevice) -> Option<String>,
) -> Option<Refusal> {
    if is_nvidia_vendor_vf(d) {
        return Some(Refusal::NvidiaVendorVf);
    }
    if d.is_bridge() {
        return Some(Refusal::Bridge);
    }
    if let Some(why) = host_use(d) {
        return Some(Refusal::HostUse(why));
    }
    let g = inv.group_of(&d.address)?;
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
    (!others.is_empty()).then(|| Refusal::GroupNotViable {
        group: g.id.clone(),
        others,
    })
}
