//! The `teardown` planner: from the state file (what hostdev created) and the inventory,
//! the mdevs to remove and the vGPU types to clear (`--all`: every one not in use), the
//! ones left alone because a process holds them, the GPUs whose VFs hostdev enabled to
//! disable again, the records of things already gone, and what becomes of each vfio
//! binding hostdev recorded. Pure: reads nothing.

use crate::host::inventory::{Inventory, VFIO_PCI};
use crate::plan::state::{State, VfioRecord};
use crate::plan::{Action, Blocked, MdevAction, SriovAction, VfAction};

/// Which parts to tear down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) mdevs: bool,
    pub(crate) vfio: bool,
    /// Every removable mdev and configured VF, not only hostdev's.
    pub(crate) all: bool,
}

/// What happens to one recorded vfio binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Restore {
    /// Return it to its original driver.
    Return(VfioRecord),
    /// The device is gone: the record is dropped.
    Gone(VfioRecord),
    /// No longer on vfio-pci (on this driver, if any): the record is dropped.
    Moved(VfioRecord, Option<String>),
    /// Held open (by whom): left on vfio-pci, the record kept.
    InUse(VfioRecord, String),
}

impl Restore {
    pub(crate) fn record(&self) -> &VfioRecord {
        match self {
            Restore::Return(r) | Restore::Gone(r) | Restore::Moved(r, _) | Restore::InUse(r, _) => {
                r
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TeardownPlan {
    /// Removals (mdevs), vGPU type clears (VFs), then VFs to disable, in that order.
    pub(crate) remove: Vec<Action>,
    /// Left alone: held open by a process.
    pub(crate) in_use: Vec<Blocked>,
    /// State records of mdevs no longer on the host (dropped, nothing to write).
    pub(crate) stale_mdevs: Vec<String>,
    /// State records of VFs that no longer carry a vGPU type (dropped).
    pub(crate) stale_vfs: Vec<String>,
    /// State records of GPUs whose VF count is no longer the one hostdev enabled (dropped).
    pub(crate) stale_sriov: Vec<String>,
    /// One entry per recorded vfio binding (empty without the vfio part).
    pub(crate) vfio: Vec<Restore>,
    pub(crate) scope: Option<Scope>,
}

impl TeardownPlan {
    /// Only state records to drop, or nothing at all.
    pub(crate) fn records_only(&self) -> bool {
        !self.stale_mdevs.is_empty()
            || !self.stale_vfs.is_empty()
            || !self.stale_sriov.is_empty()
            || self
                .vfio
                .iter()
                .any(|r| matches!(r, Restore::Gone(_) | Restore::Moved(..)))
    }
}

/// Plan a teardown.
pub(crate) fn plan(state: &State, inv: &Inventory, scope: Scope) -> TeardownPlan {
    let mut p = TeardownPlan {
        scope: Some(scope),
        ..TeardownPlan::default()
    };
    if scope.mdevs {
        mdevs(&mut p, state, inv, scope.all);
        vgpu_vfs(&mut p, state, inv, scope.all);
        sriov(&mut p, state, inv);
    }
    if scope.vfio {
        p.vfio = state.vfio.iter().map(|r| restore(r, inv)).collect();
    }
    p
}

fn mdevs(p: &mut TeardownPlan, state: &State, inv: &Inventory, all: bool) {
    let ours: std::collections::HashSet<&str> =
        state.mdevs.iter().map(|r| r.uuid.as_str()).collect();
    let present: std::collections::HashSet<&str> =
        inv.mdevs.iter().map(|m| m.uuid.as_str()).collect();
    p.stale_mdevs = state
        .mdevs
        .iter()
        .filter(|r| !present.contains(r.uuid.as_str()))
        .map(|r| r.uuid.clone())
        .collect();
    for m in &inv.mdevs {
        if !all && !ours.contains(m.uuid.as_str()) {
            continue;
        }
        let action = Action::Remove(MdevAction {
            uuid: m.uuid.clone(),
            parent: m.parent.clone(),
            gpu: None,
            type_id: m.type_id.clone().unwrap_or_else(|| "(unknown type)".into()),
            type_name: None,
        });
        let holders = inv.mdev_holders(m);
        if holders.is_empty() {
            p.remove.push(action);
        } else {
            p.in_use
                .push(Blocked::of(&action, crate::host::tree::in_use_by(&holders)));
        }
    }
}

/// NVIDIA vendor-VFIO VFs: the ones hostdev configured (`--all`: every configured VF) get
/// `current_vgpu_type` ← 0; the VF stays bound to `nvidia`.
fn vgpu_vfs(p: &mut TeardownPlan, state: &State, inv: &Inventory, all: bool) {
    let current = |addr: &str| {
        inv.pci_device(addr)
            .and_then(|d| d.nvidia.as_ref())
            .map_or(0, |n| n.current_vgpu_type)
    };
    p.stale_vfs = state
        .vgpu_vfs
        .iter()
        .filter(|r| current(&r.address) == 0)
        .map(|r| r.address.clone())
        .collect();
    let ours: std::collections::HashSet<&str> =
        state.vgpu_vfs.iter().map(|r| r.address.as_str()).collect();
    for d in &inv.pci {
        let Some(cur) = d
            .nvidia
            .as_ref()
            .map(|n| n.current_vgpu_type)
            .filter(|c| *c != 0)
        else {
            continue;
        };
        if !all && !ours.contains(d.address.as_str()) {
            continue;
        }
        let action = Action::ClearVgpuType(VfAction {
            address: d.address.clone(),
            gpu: d.physfn.clone(),
            type_id: cur,
            type_name: None,
        });
        let holders = inv.pci_holders(d);
        if holders.is_empty() {
            p.remove.push(action);
        } else {
            p.in_use
                .push(Blocked::of(&action, crate::host::tree::in_use_by(&holders)));
        }
    }
}

/// GPUs whose VFs hostdev enabled: disabled again (`sriov_numvfs` ← 0) after the mdevs
/// and vGPU types above are gone — the executor checks right before the write that no VF
/// is in use or still carries a vGPU. A GPU whose count is no longer the one hostdev
/// wrote (0: already disabled, or changed by someone else) is not touched; its record goes.
fn sriov(p: &mut TeardownPlan, state: &State, inv: &Inventory) {
    for r in &state.sriov {
        let now = inv.pci_device(&r.address).and_then(|d| d.sriov_numvfs);
        if now != Some(r.numvfs) {
            p.stale_sriov.push(r.address.clone());
            continue;
        }
        p.remove.push(Action::DisableVfs(SriovAction {
            address: r.address.clone(),
            from: r.numvfs,
            count: 0,
        }));
    }
}

fn restore(rec: &VfioRecord, inv: &Inventory) -> Restore {
    let Some(dev) = inv.pci_device(&rec.address) else {
        return Restore::Gone(rec.clone());
    };
    if dev.driver.as_deref() != Some(VFIO_PCI) {
        return Restore::Moved(rec.clone(), dev.driver.clone());
    }
    let holders = inv.pci_holders(dev);
    if !holders.is_empty() {
        return Restore::InUse(rec.clone(), crate::host::tree::holder_list(&holders));
    }
    Restore::Return(rec.clone())
}
