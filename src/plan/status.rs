//! `hostdev status` and `hostdev devices`: the host against the configuration, read-only.
//! Pure: (plan, discovered resources, inventory, iommu checks, which `/dev` nodes are
//! missing) → a report. The resources come from the same discovery as `hostdev env`
//! (KubeVirt's rules, or NVIDIA's plugin with `--provider nvidia`), so `status` and
//! `devices` show exactly the devices `env` names.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::host::inventory::{device_paths, Holder, Inventory};
use crate::host::iommu::check::{Check, CheckStatus};
use crate::plan::env::{Env, EnvDevice, EnvVar, Kind, Unavailable};
use crate::plan::{Action, ActionKind, Blocked, MdevHandling, Plan, SCHEMA};

/// One device a resource hands out, with its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DeviceStatus {
    pub(crate) resource: String,
    pub(crate) kind: Kind,
    /// The PCI address (PCI devices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address: Option<String>,
    /// The mdev UUID (mdevs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) uuid: Option<String>,
    /// The mdev's parent device (mdevs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<String>,
    /// The mdev type ID (mdevs).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub(crate) type_id: Option<String>,
    pub(crate) iommu_group: String,
    /// As the kernel reports it (`-1`: no NUMA affinity); null when unknown.
    pub(crate) numa_node: Option<i32>,
    /// The PCI driver (PCI devices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) driver: Option<String>,
    /// The resource comes from an `externalResourceProvider: true` entry.
    pub(crate) external: bool,
    /// IOMMU group viable and every `/dev/vfio` node present.
    pub(crate) healthy: bool,
    /// What makes it unhealthy, one sentence each.
    pub(crate) problems: Vec<String>,
    /// The `/dev/vfio` nodes a VM opens for it.
    pub(crate) device_nodes: Vec<String>,
    pub(crate) in_use: bool,
    /// Who holds it open.
    pub(crate) holders: Vec<Holder>,
}

impl DeviceStatus {
    /// The PCI address or the mdev UUID.
    pub(crate) fn id(&self) -> &str {
        self.address
            .as_deref()
            .or(self.uuid.as_deref())
            .unwrap_or_default()
    }

    pub(crate) fn is_free(&self) -> bool {
        self.healthy && !self.in_use
    }
}

/// One permitted resource.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ResourceStatus {
    pub(crate) resource_name: String,
    pub(crate) kind: Kind,
    pub(crate) external: bool,
    /// The environment variable KubeVirt's (or NVIDIA's) plugin sets for it.
    pub(crate) variable: String,
    pub(crate) selectors: Vec<String>,
    pub(crate) devices: Vec<DeviceStatus>,
    /// PCI devices a selector matches that the resource does not hand out.
    pub(crate) not_available: Vec<Unavailable>,
}

/// Instances of one type on one card: present now, and after `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MdevRow {
    /// The mdev parent, or the physical GPU for SR-IOV and vendor-VFIO GPUs.
    pub(crate) parent: String,
    #[serde(rename = "type")]
    pub(crate) type_id: String,
    pub(crate) type_name: Option<String>,
    pub(crate) present: u32,
    pub(crate) wanted: u32,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MdevStatus {
    /// `enabled`, `disabled` or `not-configured`, as in `hostdev plan`.
    pub(crate) handling: MdevHandling,
    pub(crate) desired_types: Vec<String>,
    /// The plan is empty: nothing to create, remove or unblock.
    pub(crate) matches: bool,
    /// Actions `hostdev apply` would take now.
    pub(crate) pending_actions: usize,
    /// Undesired mdevs left alone because they are in use.
    pub(crate) blocked: usize,
    /// GPUs not ready for vGPUs (the plan's problems: VFs not enabled, types not
    /// published): the configuration cannot be reached until they are.
    pub(crate) not_ready: usize,
    pub(crate) parents: Vec<MdevRow>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct IommuStatus {
    /// No `iommu check` failed.
    pub(crate) ready: bool,
    pub(crate) pass: usize,
    pub(crate) warn: usize,
    pub(crate) fail: usize,
    pub(crate) skip: usize,
    pub(crate) failing: Vec<String>,
}

/// The `status` document.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusDoc {
    pub(crate) schema: &'static str,
    pub(crate) node: String,
    /// `kubevirt` or `nvidia`: whose discovery names the resources.
    pub(crate) provider: &'static str,
    /// Every device healthy and the host matches the configuration.
    pub(crate) healthy: bool,
    pub(crate) mdev: MdevStatus,
    pub(crate) resources: Vec<ResourceStatus>,
    pub(crate) iommu: IommuStatus,
    /// What is wrong, one sentence each (also on stderr).
    pub(crate) problems: Vec<String>,
}

/// The health of every device behind the discovered variables.
pub(crate) fn assess(
    env: &Env,
    inv: &Inventory,
    missing: &dyn Fn(&[String]) -> Vec<String>,
) -> Vec<ResourceStatus> {
    env.vars
        .iter()
        .map(|v| ResourceStatus {
            resource_name: v.resource_name.clone(),
            kind: v.kind,
            external: v.external,
            variable: v.name.clone(),
            selectors: v.selectors.clone(),
            devices: v
                .devices
                .iter()
                .map(|d| assess_device(v, d, inv, missing))
                .collect(),
            not_available: env
                .unavailable
                .iter()
                .filter(|u| u.resource_name == v.resource_name && v.kind == Kind::Pci)
                .cloned()
                .collect(),
        })
        .collect()
}

/// Where the vfio cdev nodes live (`/dev/vfio/devices/vfioN`).
const CDEV_DIR: &str = "/dev/vfio/devices";

fn assess_device(
    v: &EnvVar,
    d: &EnvDevice,
    inv: &Inventory,
    missing: &dyn Fn(&[String]) -> Vec<String>,
) -> DeviceStatus {
    let mut problems = Vec::new();
    let mut nodes = match (v.kind, &d.address, &d.uuid) {
        (Kind::Pci, Some(a), _) => {
            let cdevs = inv
                .pci_device(a)
                .map(|p| p.cdevs.clone())
                .unwrap_or_default();
            if let Some(g) = inv.group_of(a) {
                for b in g.blockers() {
                    problems.push(format!(
                        "IOMMU group {} is not viable: {} ({}) is on the host driver {}",
                        g.id,
                        b.address,
                        b.vendor_device(),
                        b.driver.as_deref().unwrap_or("-")
                    ));
                }
            }
            device_paths(Some(&d.iommu_group), &cdevs)
        }
        (_, _, Some(u)) => inv
            .mdevs
            .iter()
            .find(|m| &m.uuid == u)
            .map(|m| m.device_paths())
            .unwrap_or_else(|| device_paths(Some(&d.iommu_group), &[])),
        _ => device_paths(Some(&d.iommu_group), &[]),
    };
    // A kernel without the vfio cdev (built without iommufd: Debian's 6.1 and 6.12) lists
    // vfio-dev/vfioN in sysfs but makes no /dev/vfio/devices/: those nodes are not expected.
    if !missing(&[CDEV_DIR.to_string()]).is_empty() {
        nodes.retain(|n| !n.starts_with(CDEV_DIR));
    }
    for m in missing(&nodes) {
        problems.push(format!("{m} is missing"));
    }
    let holders = inv.holders_of(&nodes);
    DeviceStatus {
        resource: v.resource_name.clone(),
        kind: v.kind,
        address: d.address.clone(),
        uuid: d.uuid.clone(),
        parent: d.parent.clone(),
        type_id: d.type_id.clone(),
        iommu_group: d.iommu_group.clone(),
        numa_node: d.numa_node,
        driver: d.driver.clone(),
        external: v.external,
        healthy: problems.is_empty(),
        problems,
        device_nodes: nodes,
        in_use: !holders.is_empty(),
        holders,
    }
}

/// Instances per (card, type) now, and after the plan's actions.
pub(crate) fn mdev_rows(plan: &Plan, inv: &Inventory) -> Vec<MdevRow> {
    let mut deltas = host_deltas(inv);
    deltas.extend(plan_deltas(plan, inv));
    rows_of(deltas)
}

/// One count towards a (card, type) row: card, type ID, type name if known, instances
/// present, instances wanted.
type Delta = (String, String, Option<String>, i64, i64);

/// What the host has now: one present and wanted instance per mdev of a readable type and
/// per configured vendor-VFIO VF.
fn host_deltas(inv: &Inventory) -> Vec<Delta> {
    let mut deltas: Vec<Delta> = Vec::new();
    for m in &inv.mdevs {
        let Some(t) = &m.type_id else { continue };
        deltas.push((inv.card_of(&m.parent), t.clone(), m.type_name.clone(), 1, 1));
    }
    for d in &inv.pci {
        if let Some(nv) = d.nvidia.as_ref().filter(|n| n.current_vgpu_type != 0) {
            let card = d.physfn.clone().unwrap_or_else(|| d.address.clone());
            deltas.push((card, nv.current_vgpu_type.to_string(), None, 1, 1));
        }
    }
    deltas
}

/// What the plan changes: its actions, the undesired instances it leaves alone because
/// they are in use, and (for their names) the types its cards are given.
fn plan_deltas(plan: &Plan, inv: &Inventory) -> Vec<Delta> {
    let mut deltas: Vec<Delta> = Vec::new();
    for a in plan.actions.iter().filter(|a| !a.kind().is_sriov()) {
        let (card, type_id, name) = match a {
            Action::Remove(m) | Action::Create(m) => (
                m.gpu.clone().unwrap_or_else(|| inv.card_of(&m.parent)),
                m.type_id.clone(),
                m.type_name.clone(),
            ),
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => (
                v.gpu.clone().unwrap_or_else(|| v.address.clone()),
                v.type_id.to_string(),
                v.type_name.clone(),
            ),
            // VFs to enable or disable change no vGPU count (filtered out above)
            Action::EnableVfs(_) | Action::DisableVfs(_) => continue,
        };
        let w = match a.kind() {
            ActionKind::Create | ActionKind::SetVgpuType => 1,
            ActionKind::Remove | ActionKind::ClearVgpuType => -1,
            ActionKind::EnableVfs | ActionKind::DisableVfs => 0,
        };
        deltas.push((card, type_id, name, 0, w));
    }
    // Undesired instances left alone because they are in use: present, not wanted.
    for b in &plan.blocked {
        let (card, type_id) = match b {
            Blocked::Mdev {
                parent,
                gpu,
                type_id,
                ..
            } => (
                gpu.clone().unwrap_or_else(|| inv.card_of(parent)),
                type_id.clone(),
            ),
            Blocked::Vf {
                address,
                gpu,
                type_id,
                ..
            } => (
                gpu.clone().unwrap_or_else(|| address.clone()),
                type_id.to_string(),
            ),
            Blocked::Vfs { .. } => continue,
        };
        deltas.push((card, type_id, None, 0, -1));
    }
    for c in &plan.cards {
        if let (Some(t), Some(n)) = (&c.type_id, &c.type_name) {
            deltas.push((c.address.clone(), t.clone(), Some(n.clone()), 0, 0));
        }
    }
    deltas
}

/// The rows of the (card, type) pairs the host or the plan has instances of, summed.
fn rows_of(deltas: Vec<Delta>) -> Vec<MdevRow> {
    let mut rows: BTreeMap<(String, String), MdevRow> = BTreeMap::new();
    /// Per (card, type): name, present, wanted, seen in the host or the plan.
    #[derive(Default)]
    struct Acc {
        name: Option<String>,
        present: i64,
        wanted: i64,
        real: bool,
    }
    let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for (card, t, name, p, w) in deltas {
        let e = acc.entry((card, t)).or_default();
        if e.name.is_none() {
            e.name = name;
        }
        e.present += p;
        e.wanted += w;
        e.real |= p != 0 || w != 0;
    }
    for ((card, t), e) in acc {
        if !e.real {
            continue;
        }
        rows.insert(
            (card.clone(), t.clone()),
            MdevRow {
                parent: card,
                type_id: t,
                type_name: e.name,
                present: e.present.max(0) as u32,
                wanted: e.wanted.max(0) as u32,
            },
        );
    }
    rows.into_values().collect()
}

/// Counts and failing IDs of `iommu check`.
pub(crate) fn iommu_status(checks: &[Check]) -> IommuStatus {
    let count = |s: CheckStatus| checks.iter().filter(|c| c.status == s).count();
    let failing: Vec<String> = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| c.id.to_string())
        .collect();
    IommuStatus {
        ready: failing.is_empty(),
        pass: count(CheckStatus::Pass),
        warn: count(CheckStatus::Warn),
        fail: count(CheckStatus::Fail),
        skip: count(CheckStatus::Skip),
        failing,
    }
}

/// Put the report together and list its problems.
pub(crate) fn report(
    plan: &Plan,
    provider: &'static str,
    resources: Vec<ResourceStatus>,
    inv: &Inventory,
    checks: &[Check],
    conflicts: &[String],
) -> StatusDoc {
    let iommu = iommu_status(checks);
    let parents = mdev_rows(plan, inv);
    let matches = plan.is_noop() && plan.blocked.is_empty() && plan.problems.is_empty();
    let mut problems = Vec::new();
    if !iommu.ready {
        problems.push(format!(
            "the host is not ready for passthrough: `hostdev iommu check` fails {}",
            iommu.failing.join(", ")
        ));
    }
    problems.extend(drift_problems(plan, &parents));
    for p in &plan.problems {
        problems.push(format!("{}: {}", p.address, p.message));
    }
    problems.extend(conflicts.iter().cloned());
    problems.extend(resource_problems(&resources));
    StatusDoc {
        schema: SCHEMA,
        node: plan.node.name.clone(),
        provider,
        healthy: problems.is_empty(),
        mdev: MdevStatus {
            handling: plan.mdev_handling,
            desired_types: plan.desired_types.clone(),
            matches,
            pending_actions: plan.actions.len(),
            blocked: plan.blocked.len(),
            not_ready: plan.problems.len(),
            parents,
        },
        resources,
        iommu,
        problems,
    }
}

/// The drift the report names: each (card, type) row whose count is not the wanted one,
/// each unwanted instance in use, and otherwise the plan's pending actions.
fn drift_problems(plan: &Plan, parents: &[MdevRow]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut drift = 0;
    for r in parents.iter().filter(|r| r.present != r.wanted) {
        drift += 1;
        problems.push(format!(
            "drift on {}: {} {}{} present, {} wanted (`hostdev apply` converges)",
            r.parent,
            r.present,
            r.type_id,
            r.type_name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            r.wanted
        ));
    }
    for b in &plan.blocked {
        drift += 1;
        let (what, reason) = match b {
            Blocked::Vf {
                address,
                type_id,
                reason,
                ..
            } => (format!("the vGPU type {type_id} of {address}"), reason),
            Blocked::Mdev {
                uuid,
                parent,
                type_id,
                reason,
                ..
            } => (format!("mdev {uuid} ({type_id}) on {parent}"), reason),
            Blocked::Vfs {
                address,
                numvfs,
                reason,
            } => (format!("the {numvfs} VFs of {address}"), reason),
        };
        problems.push(format!(
            "drift: {what} is not wanted but cannot be removed: {reason}"
        ));
    }
    if !plan.is_noop() && drift == 0 {
        problems.push(format!(
            "drift: the host does not match the configuration ({} pending actions; see `hostdev plan`)",
            plan.actions.len()
        ));
    }
    problems
}

/// The resources' problems: one that hands out nothing, a matching device that is not
/// usable (unbound, no IOMMU group), and each device's own problems.
fn resource_problems(resources: &[ResourceStatus]) -> Vec<String> {
    let mut problems = Vec::new();
    for r in resources {
        if r.devices.is_empty() && !r.external {
            problems.push(format!(
                "{} hands out no device: nothing usable matches {} (`hostdev env -v` says why)",
                r.resource_name,
                r.selectors
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for u in &r.not_available {
            match u.reason {
                "unbound" => problems.push(format!(
                    "{}: {} ({}) matches but is not bound to any driver (`hostdev bind vfio {}`)",
                    r.resource_name, u.address, u.vendor_device, u.address
                )),
                "no-iommu-group" => problems.push(format!(
                    "{}: {} ({}) has no IOMMU group (see `hostdev iommu check`)",
                    r.resource_name, u.address, u.vendor_device
                )),
                _ => {}
            }
        }
        for d in &r.devices {
            for p in &d.problems {
                problems.push(format!("{}: {}: {p}", r.resource_name, d.id()));
            }
        }
    }
    problems
}

/// `hostdev devices`: which devices, in which order.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeviceQuery {
    pub(crate) free: bool,
    pub(crate) count: Option<usize>,
    pub(crate) numa_node: Option<i32>,
}

/// The devices of `resources` (ascending address/UUID; with a NUMA node, that node's
/// first), only free ones with `free`, at most `count`. `Err` carries how many qualified
/// when fewer than `count` do.
pub(crate) fn select(
    resources: &[ResourceStatus],
    sel: &DeviceQuery,
) -> Result<Vec<DeviceStatus>, usize> {
    let mut v: Vec<DeviceStatus> = resources
        .iter()
        .flat_map(|r| r.devices.iter().cloned())
        .filter(|d| !sel.free || d.is_free())
        .collect();
    v.sort_by(|a, b| {
        let near = |d: &DeviceStatus| sel.numa_node.is_some() && d.numa_node != sel.numa_node;
        (near(a), a.id(), &a.resource).cmp(&(near(b), b.id(), &b.resource))
    });
    if let Some(n) = sel.count {
        if v.len() < n {
            return Err(v.len());
        }
        v.truncate(n);
    }
    Ok(v)
}

/// The variables the device plugins' Allocate would set for exactly these devices: one
/// per resource that has a selected device, values in ascending address/UUID order.
pub(crate) fn allocate_env(resources: &[ResourceStatus], devices: &[DeviceStatus]) -> Vec<EnvVar> {
    let mut out = Vec::new();
    for r in resources {
        let mut ids: Vec<&str> = devices
            .iter()
            .filter(|d| d.resource == r.resource_name && d.kind == r.kind)
            .map(|d| d.id())
            .collect();
        if ids.is_empty() {
            continue;
        }
        ids.sort();
        out.push(EnvVar {
            name: r.variable.clone(),
            value: ids.join(","),
            resource_name: r.resource_name.clone(),
            kind: r.kind,
            external: r.external,
            selectors: r.selectors.clone(),
            devices: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(resource: &str, id: &str, numa: Option<i32>, healthy: bool, held: bool) -> DeviceStatus {
        DeviceStatus {
            resource: resource.into(),
            kind: Kind::Pci,
            address: Some(id.into()),
            uuid: None,
            parent: None,
            type_id: None,
            iommu_group: "1".into(),
            numa_node: numa,
            driver: Some("vfio-pci".into()),
            external: false,
            healthy,
            problems: vec![],
            device_nodes: vec![],
            in_use: held,
            holders: vec![],
        }
    }

    fn res(name: &str, devices: Vec<DeviceStatus>) -> ResourceStatus {
        ResourceStatus {
            resource_name: name.into(),
            kind: Kind::Pci,
            external: false,
            variable: format!("PCI_RESOURCE_{}", name.to_ascii_uppercase()),
            selectors: vec![],
            devices,
            not_available: vec![],
        }
    }

    fn ids(v: &[DeviceStatus]) -> Vec<&str> {
        v.iter().map(|d| d.id()).collect()
    }

    #[test]
    fn select_orders_filters_and_counts() {
        let rs = vec![
            res("b", vec![dev("b", "0000:86:00.0", Some(1), true, false)]),
            res(
                "a",
                vec![
                    dev("a", "0000:5e:00.0", Some(0), true, true),
                    dev("a", "0000:3b:00.0", Some(0), true, false),
                    dev("a", "0000:af:00.0", Some(1), false, false),
                ],
            ),
        ];
        let all = select(&rs, &DeviceQuery::default()).unwrap();
        assert_eq!(
            ids(&all),
            [
                "0000:3b:00.0",
                "0000:5e:00.0",
                "0000:86:00.0",
                "0000:af:00.0"
            ]
        );
        let free = DeviceQuery {
            free: true,
            ..Default::default()
        };
        assert_eq!(
            ids(&select(&rs, &free).unwrap()),
            ["0000:3b:00.0", "0000:86:00.0"]
        );
        let near = DeviceQuery {
            numa_node: Some(1),
            count: Some(3),
            ..Default::default()
        };
        assert_eq!(
            ids(&select(&rs, &near).unwrap()),
            ["0000:86:00.0", "0000:af:00.0", "0000:3b:00.0"]
        );
        let too_many = DeviceQuery {
            free: true,
            count: Some(3),
            ..Default::default()
        };
        assert_eq!(select(&rs, &too_many).unwrap_err(), 2);
        let env = allocate_env(&rs, &select(&rs, &free).unwrap());
        let pairs: Vec<(&str, &str)> = env
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("PCI_RESOURCE_B", "0000:86:00.0"),
                ("PCI_RESOURCE_A", "0000:3b:00.0")
            ]
        );
    }
}
