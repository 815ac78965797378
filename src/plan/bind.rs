//! The `bind vfio` planner: which selected devices to bind to vfio-pci, which are already
//! bound, and which are refused and why (NVIDIA vendor-VFIO VFs, bridges, devices the host
//! uses, IOMMU groups that would not be viable). Pure over the inventory and the host-use
//! facts, which the caller reads (`host::usage::host_use`) and passes in.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::config::{model::Config, model::PciSelector, node::Node, selectors::Desired};
use crate::host::inventory::{Inventory, PciDevice, VFIO_PCI};

/// A DEVICE argument: an address or a `vendor:device` selector (the command line parses
/// it, `cli::device_arg`; `--from-config` makes selectors of the configuration's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceArg {
    Address(String),
    Selector(PciSelector),
}

/// What the DEVICE arguments or configuration selectors name on this host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Matching addresses, ascending.
    pub(crate) addresses: Vec<String>,
    /// Addresses named that are not on this host.
    pub(crate) missing_addresses: Vec<String>,
    /// Selectors that match no device on this host.
    pub(crate) unmatched: Vec<PciSelector>,
}

/// The addresses the arguments name (ascending), and those that name nothing.
pub(crate) fn select(inv: &Inventory, args: &[DeviceArg]) -> Selection {
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
pub(crate) enum Refusal {
    NvidiaVendorVf,
    Bridge,
    /// It is the parent of these mdevs (one phrase each: UUID, type, holders): unbinding
    /// its driver destroys them.
    CarriesMdevs(Vec<String>),
    /// It is an SR-IOV physical function with `numvfs` VFs enabled (one phrase each:
    /// address, vGPU type or mdevs, holders): unbinding it destroys them.
    HasVfs {
        pf: String,
        numvfs: u32,
        vfs: Vec<String>,
    },
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
            Refusal::CarriesMdevs(mdevs) => write!(
                f,
                "it is the parent of {} mdev(s): {}; unbinding its driver would destroy them. Remove \
                 them first (`hostdev teardown --mdevs` for those hostdev created; stop the VMs that \
                 hold any), then bind it",
                mdevs.len(),
                mdevs.join(", ")
            ),
            Refusal::HasVfs { pf, numvfs, vfs } => write!(
                f,
                "it is an SR-IOV physical function with {numvfs} virtual function(s) enabled{}; \
                 unbinding its driver would destroy them and every vGPU on them. Disable its VFs \
                 first, once no VM uses them (write 0 to its sriov_numvfs; NVIDIA GPUs: \
                 `{} -d {pf}`), then bind it",
                if vfs.is_empty() {
                    String::new()
                } else {
                    format!(": {}", vfs.join(", "))
                },
                crate::host::vgpu::SRIOV_MANAGE,
            ),
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
pub(crate) struct BindPlan {
    /// Devices to bind, ascending.
    pub(crate) bind: Vec<String>,
    /// Already on vfio-pci.
    pub(crate) already: Vec<String>,
    /// Nothing is changed while this is not empty.
    #[serde(skip)]
    pub(crate) refused: Vec<(String, Refusal)>,
}

/// NVIDIA vendor-specific VFIO virtual functions: `nvidia` registers them with VFIO itself;
/// vfio-pci's probe returns -EINVAL and a rebind breaks them until an SR-IOV cycle.
pub(crate) fn is_nvidia_vendor_vf(d: &PciDevice) -> bool {
    d.nvidia.is_some() || (d.driver.as_deref() == Some("nvidia") && d.physfn.is_some())
}

/// Decide what `bind vfio` does with the selected devices. `host_use` says why the host
/// itself needs a device, if it does.
pub(crate) fn plan(
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
    if let Some(r) = destroys(inv, &d.address) {
        return Some(r);
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

/// Why unbinding `address` from its driver would destroy what lives under it (the host
/// tree: its mdevs, its enabled VFs and their vGPUs), or `None` when nothing does.
pub(crate) fn destroys(inv: &Inventory, address: &str) -> Option<Refusal> {
    let deps = inv.dependents(address);
    if deps.numvfs > 0 || !deps.vfs.is_empty() {
        return Some(Refusal::HasVfs {
            pf: address.to_string(),
            numvfs: deps.numvfs.max(deps.vfs.len() as u32),
            vfs: deps.vf_phrases(),
        });
    }
    if !deps.mdevs.is_empty() {
        return Some(Refusal::CarriesMdevs(deps.mdev_phrases()));
    }
    None
}

/// A device that `pciHostDevices` permits for passthrough while the node's mdev
/// configuration would give it vGPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub(crate) address: String,
    pub(crate) vendor_device: String,
    /// The desired types it (or its VFs) offers, as the configuration names them; empty
    /// when its vGPU types are not published yet (see `not_ready`).
    pub(crate) types: Vec<String>,
    /// A vGPU-capable GPU whose types cannot be seen yet (VFs not enabled, vGPU manager
    /// not started): it may take a desired type once they are.
    pub(crate) not_ready: bool,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = if self.types.is_empty() {
            "its vGPU types are not published yet and the node's mediatedDevicesConfiguration asks for vGPUs".to_string()
        } else {
            format!(
                "the node's mediatedDevicesConfiguration gives it vGPUs ({} offered there)",
                self.types.join(", ")
            )
        };
        write!(
            f,
            "{} ({}) is permitted for passthrough by pciHostDevices, but {why}; say which devices \
             of this model are for passthrough in hostdev.passthroughAddresses \
             (docs/kubevirt-differences.md)",
            self.address, self.vendor_device
        )
    }
}

/// Which desired entries `address` offers: as an mdev parent, through its VFs' mdev types,
/// or through its vendor-VFIO VFs' creatable types (matched as the planner matches: by ID
/// or normalized name).
pub(crate) fn offered(inv: &Inventory, address: &str, desired: &[String]) -> Vec<String> {
    let m = crate::plan::mdev::Matcher::new(desired, Vec::new());
    let mut found = BTreeSet::new();
    for p in inv
        .parents
        .iter()
        .filter(|p| p.name == address || p.physfn.as_deref() == Some(address))
    {
        for t in &p.types {
            if let Some(i) = m.position(&t.id, t.name.as_deref()) {
                found.insert(i);
            }
        }
    }
    for v in inv
        .pci
        .iter()
        .filter(|v| v.physfn.as_deref() == Some(address))
    {
        for (id, name) in v.nvidia.iter().flat_map(|n| n.creatable.iter()) {
            if let Some(i) = m.position(&id.to_string(), Some(name)) {
                found.insert(i);
            }
        }
    }
    found.into_iter().map(|i| desired[i].clone()).collect()
}

/// The non-external `pciHostDevices` selectors, as DEVICE arguments.
pub(crate) fn permitted_selectors(cfg: &Config) -> Vec<DeviceArg> {
    cfg.permitted
        .pci_host_devices
        .iter()
        .filter(|p| !p.external_resource_provider)
        .map(|p| DeviceArg::Selector(p.pci_vendor_selector.clone()))
        .collect()
}

/// The addresses the node keeps for passthrough, and their models (`vendor:device`).
fn kept_for_passthrough(
    cfg: &Config,
    node: &Node,
    inv: &Inventory,
) -> (Vec<String>, BTreeSet<String>) {
    let kept = cfg.passthrough_for(node);
    let models = kept
        .iter()
        .filter_map(|a| inv.pci_device(a))
        .map(|d| d.vendor_device())
        .collect();
    (kept, models)
}

/// The devices `pciHostDevices` permits (non-external selectors) that the node's mdev
/// configuration would give vGPUs, except those the configuration keeps for passthrough
/// (`hostdev.passthroughAddresses`, which for a model it names decides for every device of
/// that model). Ascending by address.
pub(crate) fn conflicts(cfg: &Config, node: &Node, inv: &Inventory) -> Vec<Conflict> {
    let Desired::Types(desired) = cfg.desired_for(node) else {
        return Vec::new();
    };
    if desired.is_empty() {
        return Vec::new();
    }
    let (_, kept_models) = kept_for_passthrough(cfg, node, inv);
    let sels = permitted_selectors(cfg);
    let gpus = crate::host::vgpu::gpus(inv);
    select(inv, &sels)
        .addresses
        .iter()
        .filter_map(|a| inv.pci_device(a))
        .filter(|d| !kept_models.contains(&d.vendor_device()))
        .filter_map(|d| {
            let types = offered(inv, &d.address, &desired);
            let not_ready = types.is_empty()
                && gpus
                    .iter()
                    .any(|g| g.address == d.address && g.problem.is_some());
            (!types.is_empty() || not_ready).then(|| Conflict {
                address: d.address.clone(),
                vendor_device: d.vendor_device(),
                types,
                not_ready,
            })
        })
        .collect()
}

/// What `bind vfio --from-config` leaves alone, and why: devices under which mdevs or VFs
/// live (the host tree), devices the configuration gives vGPUs ([`conflicts`]), and the
/// devices of a model with addresses in `hostdev.passthroughAddresses` that are not named
/// there (they are for vGPUs). Returns (address, reason), ascending.
pub(crate) fn from_config_skips(
    cfg: &Config,
    node: &Node,
    inv: &Inventory,
    selected: &[String],
) -> Vec<(String, String)> {
    let (kept, kept_models) = kept_for_passthrough(cfg, node, inv);
    let conflicts = conflicts(cfg, node, inv);
    let mut out = Vec::new();
    for a in selected {
        let Some(d) = inv.pci_device(a) else { continue };
        if d.driver.as_deref() == Some(VFIO_PCI) {
            continue;
        }
        if is_nvidia_vendor_vf(d) {
            // the nvidia driver registers it with VFIO itself: usable as it is
            out.push((a.clone(), Refusal::NvidiaVendorVf.to_string()));
        } else if let Some(r) = destroys(inv, a) {
            out.push((a.clone(), r.to_string()));
        } else if let Some(c) = conflicts.iter().find(|c| &c.address == a) {
            out.push((a.clone(), c.to_string()));
        } else if kept_models.contains(&d.vendor_device()) && !kept.contains(a) {
            out.push((
                a.clone(),
                format!(
                    "hostdev.passthroughAddresses names other {} devices for passthrough, not this one (it is for vGPUs)",
                    d.vendor_device()
                ),
            ));
        }
    }
    out
}
