//! Executing mdev changes: removals (with an in-use re-check right before each write),
//! then creations (a parent that fails is skipped for that type), each through the
//! [`Journal`]; the state file follows every successful write; [`verify`] compares the
//! re-read host with what was done. Stops cleanly between writes when asked to.
//! NVIDIA vendor-VFIO virtual functions take the same road: their type is cleared with
//! the removals (`nvidia/current_vgpu_type` ← `0`) and set with the creations (← the type
//! ID, after re-reading `creatable_vgpu_types`); a VF is never bound or unbound.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::exec::journal::{now_rfc3339, Journal};
use crate::exec::state::{MdevRecord, State, VgpuVfRecord};
use crate::host::inventory::{self, Inventory};
use crate::host::sysfs::{self, Sysfs};
use crate::plan::{Action, ActionKind, Blocked, Plan};

/// An action that was not done, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotDone {
    #[serde(flatten)]
    pub action: Action,
    pub reason: String,
}

/// What a run did and did not do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Writes that succeeded (in a dry run: that would be made).
    pub done: Vec<Action>,
    /// Writes the kernel refused (reason: the write error).
    pub failed: Vec<NotDone>,
    /// Actions not attempted: skipped after a failure on the same parent, or interrupted.
    pub not_done: Vec<NotDone>,
    /// mdevs left alone because a process holds them open.
    pub in_use: Vec<Blocked>,
    /// mdevs already gone when their removal came up.
    pub gone: Vec<Action>,
    /// Differences between the re-read host and what was done.
    pub differences: Vec<String>,
    /// Problems recording the run (state file).
    pub errors: Vec<String>,
    pub interrupted: bool,
    /// Creations were planned again after the removals.
    pub replanned: bool,
    /// A saved plan was applied: exactly its actions, no re-plan after the removals.
    #[serde(skip)]
    pub saved_plan: bool,
    /// vGPU types not set because the GPU no longer lists the type as creatable: its
    /// capacity is reached (the plan's count was an upper bound). Not an error.
    pub capacity_reached: Vec<Action>,
}

impl Outcome {
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
            && self.not_done.is_empty()
            && self.in_use.is_empty()
            && self.differences.is_empty()
            && self.errors.is_empty()
            && !self.interrupted
    }

    pub fn count(&self, kind: ActionKind) -> usize {
        self.done.iter().filter(|a| a.action == kind).count()
    }
}

/// One executor run: the journal, the state it keeps current, and the stop flag.
pub struct Executor<'a> {
    pub journal: &'a mut Journal,
    pub state: &'a mut State,
    /// Checked between writes (SIGINT/SIGTERM in production).
    pub stop: &'a dyn Fn() -> bool,
    pub outcome: Outcome,
}

pub fn remove_path(fs: &Sysfs, uuid: &str) -> PathBuf {
    fs.path(sysfs::MDEV_DEVICES).join(uuid).join("remove")
}

/// `nvidia/<attr>` of a vendor-VFIO virtual function.
pub fn vgpu_path(fs: &Sysfs, vf: &str, attr: &str) -> PathBuf {
    fs.path(sysfs::PCI_DEVICES)
        .join(vf)
        .join("nvidia")
        .join(attr)
}

pub fn create_path(fs: &Sysfs, parent: &str, type_id: &str) -> PathBuf {
    fs.path(sysfs::MDEV_BUS_CLASS)
        .join(parent)
        .join("mdev_supported_types")
        .join(type_id)
        .join("create")
}

impl<'a> Executor<'a> {
    pub fn new(journal: &'a mut Journal, state: &'a mut State, stop: &'a dyn Fn() -> bool) -> Self {
        Executor {
            journal,
            state,
            stop,
            outcome: Outcome::default(),
        }
    }

    fn fs(&self) -> Sysfs {
        self.journal.sysfs.clone()
    }

    /// Stop between writes: the rest is recorded as not done.
    fn stopping(&mut self, rest: &[Action]) -> bool {
        if self.outcome.interrupted || (self.stop)() {
            self.outcome.interrupted = true;
            for a in rest {
                self.outcome.not_done.push(NotDone {
                    action: a.clone(),
                    reason: "interrupted before this write".into(),
                });
            }
            return true;
        }
        false
    }

    /// Remove mdevs, never one that a process holds open (re-checked right before each
    /// write, since removing an open mdev blocks in the kernel).
    pub fn remove(&mut self, actions: &[Action]) -> Result<()> {
        let fs = self.fs();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let dev = fs.path(sysfs::MDEV_DEVICES).join(&a.uuid);
            if !fs.exists(&dev) {
                self.outcome.gone.push(a.clone());
                self.forget(&a.uuid);
                continue;
            }
            let group = fs.link_name(&dev.join("iommu_group")).unwrap_or(None);
            let cdevs = fs.list(&dev.join("vfio-dev")).unwrap_or_default();
            let holders =
                inventory::holders_now(&fs, &inventory::device_paths(group.as_deref(), &cdevs))?;
            if !holders.is_empty() {
                let who: Vec<String> = holders.iter().map(|h| h.to_string()).collect();
                self.outcome.in_use.push(Blocked {
                    uuid: a.uuid.clone(),
                    parent: a.parent.clone(),
                    address: None,
                    gpu: None,
                    type_id: a.type_id.clone(),
                    reason: format!("in use by {}", who.join(", ")),
                });
                continue;
            }
            if self.write_action(a, &remove_path(&fs, &a.uuid), "1", "mdev.remove") {
                self.forget(&a.uuid);
            }
        }
        Ok(())
    }

    /// Create mdevs; after a failure on a parent, its remaining creations of that type
    /// are skipped and the rest of the list continues.
    pub fn create(&mut self, actions: &[Action]) {
        let fs = self.fs();
        let mut failed: BTreeSet<(String, String)> = BTreeSet::new();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let key = (a.parent.clone(), a.type_id.clone());
            if failed.contains(&key) {
                self.outcome.not_done.push(NotDone {
                    action: a.clone(),
                    reason: format!(
                        "skipped: an earlier {} creation on {} failed",
                        a.type_id, a.parent
                    ),
                });
                continue;
            }
            let path = create_path(&fs, &a.parent, &a.type_id);
            if !self.write_action(a, &path, &a.uuid, "mdev.create") {
                failed.insert(key);
            } else if !self.journal.dry_run {
                self.state.add_mdev(MdevRecord {
                    uuid: a.uuid.clone(),
                    parent: a.parent.clone(),
                    type_id: a.type_id.clone(),
                    created_at: now_rfc3339(),
                });
                self.save();
            }
        }
    }

    /// Who holds a vendor-VFIO VF open right now.
    fn vf_holders(&self, vf: &str) -> Result<Vec<inventory::Holder>> {
        let fs = self.fs();
        let dev = fs.path(sysfs::PCI_DEVICES).join(vf);
        let group = fs.link_name(&dev.join("iommu_group")).unwrap_or(None);
        let cdevs = fs.list(&dev.join("vfio-dev")).unwrap_or_default();
        inventory::holders_now(&fs, &inventory::device_paths(group.as_deref(), &cdevs))
    }

    /// The VF's `current_vgpu_type` now (`None`: unreadable, e.g. the VF is gone).
    fn current_type(&self, vf: &str) -> Option<u32> {
        let fs = self.fs();
        fs.read_opt(&vgpu_path(&fs, vf, "current_vgpu_type"))
            .ok()
            .flatten()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Destroy the vGPU of vendor-VFIO VFs (`current_vgpu_type` ← `0`), never one a
    /// process holds open (re-checked right before each write).
    pub fn clear_vgpu(&mut self, actions: &[Action]) -> Result<()> {
        let fs = self.fs();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let vf = a.address.clone().unwrap_or_default();
            if matches!(self.current_type(&vf), None | Some(0)) {
                self.outcome.gone.push(a.clone());
                self.forget_vf(&vf);
                continue;
            }
            let holders = self.vf_holders(&vf)?;
            if !holders.is_empty() {
                let who: Vec<String> = holders.iter().map(|h| h.to_string()).collect();
                self.outcome.in_use.push(Blocked {
                    uuid: String::new(),
                    parent: String::new(),
                    address: Some(vf),
                    gpu: a.gpu.clone(),
                    type_id: a.type_id.clone(),
                    reason: format!("in use by {}", who.join(", ")),
                });
                continue;
            }
            let path = vgpu_path(&fs, &vf, "current_vgpu_type");
            if self.write_action(a, &path, "0", "vgpu.clear") {
                self.forget_vf(&vf);
            }
        }
        Ok(())
    }

    /// Give free vendor-VFIO VFs a vGPU type (`current_vgpu_type` ← ID). Before each
    /// write the VF's `creatable_vgpu_types` is read again: once the type is no longer
    /// listed the GPU is full, and its remaining VFs are left free (not an error). After
    /// a failed write, the GPU's remaining VFs are skipped.
    pub fn set_vgpu(&mut self, actions: &[Action]) {
        let fs = self.fs();
        let mut full: BTreeSet<String> = BTreeSet::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let vf = a.address.clone().unwrap_or_default();
            let gpu = a.gpu.clone().unwrap_or_else(|| vf.clone());
            if full.contains(&gpu) {
                self.outcome.capacity_reached.push(a.clone());
                continue;
            }
            if failed.contains(&gpu) {
                self.outcome.not_done.push(NotDone {
                    action: a.clone(),
                    reason: format!("skipped: an earlier vGPU type write on GPU {gpu} failed"),
                });
                continue;
            }
            match self.current_type(&vf) {
                Some(0) => {}
                other => {
                    self.outcome.not_done.push(NotDone {
                        action: a.clone(),
                        reason: match other {
                            Some(t) => format!("{vf} already carries vGPU type {t}"),
                            None => format!(
                                "{vf} has no readable nvidia/current_vgpu_type (is the VF gone?)"
                            ),
                        },
                    });
                    continue;
                }
            }
            let creatable = fs
                .read_opt(&vgpu_path(&fs, &vf, "creatable_vgpu_types"))
                .ok()
                .flatten()
                .map(|s| inventory::parse_creatable(&s))
                .unwrap_or_default();
            let id: u32 = a.type_id.parse().unwrap_or(0);
            if !creatable.iter().any(|(i, _)| *i == id) {
                full.insert(gpu);
                self.outcome.capacity_reached.push(a.clone());
                continue;
            }
            let path = vgpu_path(&fs, &vf, "current_vgpu_type");
            if !self.write_action(a, &path, &a.type_id, "vgpu.set") {
                failed.insert(gpu);
            } else if !self.journal.dry_run {
                self.state.add_vgpu_vf(VgpuVfRecord {
                    address: vf,
                    type_id: id,
                    configured_at: now_rfc3339(),
                });
                self.save();
            }
        }
    }

    /// Write one action's value through the journal and record it as done or failed
    /// (with path, value and the kernel's error); true when the write succeeded.
    fn write_action(&mut self, a: &Action, path: &Path, value: &str, what: &str) -> bool {
        match self.journal.write(path, value, what) {
            Ok(()) => {
                self.outcome.done.push(a.clone());
                true
            }
            Err(e) => {
                self.outcome.failed.push(NotDone {
                    action: a.clone(),
                    reason: e.to_string(),
                });
                false
            }
        }
    }

    fn forget_vf(&mut self, address: &str) {
        if !self.journal.dry_run && self.state.drop_vgpu_vf(address) {
            self.save();
        }
    }

    fn forget(&mut self, uuid: &str) {
        if !self.journal.dry_run && self.state.drop_mdev(uuid) {
            self.save();
        }
    }

    fn save(&mut self) {
        let fs = self.fs();
        if let Err(e) = self.state.save(&fs) {
            let msg = format!("{e:#}");
            if !self.outcome.errors.contains(&msg) {
                self.outcome.errors.push(msg);
            }
        }
    }
}

fn of_kind(plan: &Plan, kind: ActionKind) -> Vec<Action> {
    plan.actions
        .iter()
        .filter(|a| a.action == kind)
        .cloned()
        .collect()
}

/// Run a plan: removals, then (after a real removal) re-read the host and plan the
/// creations again with the same planner, then creations. In-use mdevs the plan already
/// blocked are reported as in use.
pub fn execute(
    exec: &mut Executor,
    plan: &Plan,
    replan: &mut dyn FnMut() -> Result<Plan>,
) -> Result<()> {
    exec.outcome.in_use.extend(plan.blocked.iter().cloned());
    exec.remove(&of_kind(plan, ActionKind::Remove))?;
    exec.clear_vgpu(&of_kind(plan, ActionKind::ClearVgpuType))?;
    let removed_any = exec.outcome.count(ActionKind::Remove) > 0
        || exec.outcome.count(ActionKind::ClearVgpuType) > 0;
    let mut sets = of_kind(plan, ActionKind::SetVgpuType);
    let creations = if removed_any && !exec.journal.dry_run && !exec.outcome.interrupted {
        exec.outcome.replanned = true;
        let again = replan()?;
        // A parent the new plan still wants to empty kept mdevs whose removal failed or
        // was refused: creating there would fail, so those creations are not attempted.
        let stuck: BTreeSet<String> = of_kind(&again, ActionKind::Remove)
            .into_iter()
            .map(|a| a.parent)
            .chain(again.blocked.iter().map(|b| b.parent.clone()))
            .collect();
        // the same for GPUs whose vGPU types could not all be cleared
        let stuck_gpus: BTreeSet<String> = of_kind(&again, ActionKind::ClearVgpuType)
            .into_iter()
            .filter_map(|a| a.gpu)
            .chain(again.blocked.iter().filter_map(|b| b.gpu.clone()))
            .collect();
        sets.clear();
        for a in of_kind(&again, ActionKind::SetVgpuType) {
            let gpu = a.gpu.clone().unwrap_or_default();
            if stuck_gpus.contains(&gpu) {
                exec.outcome.not_done.push(NotDone {
                    reason: format!(
                        "skipped: GPU {gpu} still carries vGPU types that could not be cleared"
                    ),
                    action: a,
                });
            } else {
                sets.push(a);
            }
        }
        let mut creations = Vec::new();
        for a in of_kind(&again, ActionKind::Create) {
            if stuck.contains(a.parent.as_str()) {
                exec.outcome.not_done.push(NotDone {
                    reason: format!(
                        "skipped: {} still carries mdevs that could not be removed",
                        a.parent
                    ),
                    action: a,
                });
            } else {
                creations.push(a);
            }
        }
        creations
    } else {
        of_kind(plan, ActionKind::Create)
    };
    exec.create(&creations);
    exec.set_vgpu(&sets);
    Ok(())
}

/// Run a saved plan exactly: its removals (and vGPU type clears), then its creations
/// (and vGPU type sets), with no re-plan in between. `inv` is the host read under the lock: a removal whose UUID now names an mdev
/// of another type or parent than the plan says is not done (the plan is stale). A parent
/// whose removals failed or were refused gets none of its planned creations, as in
/// [`execute`]. Everything else the host has changed since the plan was made shows up as
/// the kernel's own error on the write (`ENOSPC`, `EEXIST`, ...).
pub fn execute_saved(exec: &mut Executor, plan: &Plan, inv: &Inventory) -> Result<()> {
    exec.outcome.saved_plan = true;
    exec.outcome.in_use.extend(plan.blocked.iter().cloned());
    let mut removals = Vec::new();
    for a in of_kind(plan, ActionKind::Remove) {
        match inv.mdevs.iter().find(|m| m.uuid == a.uuid) {
            Some(m) if m.parent != a.parent || m.type_id.as_deref() != Some(a.type_id.as_str()) => {
                exec.outcome.not_done.push(NotDone {
                    reason: format!(
                        "stale plan: mdev {} is now {} on {}, not {} on {}; re-run `hostdev plan`",
                        a.uuid,
                        m.type_id.as_deref().unwrap_or("(unknown type)"),
                        m.parent,
                        a.type_id,
                        a.parent
                    ),
                    action: a,
                })
            }
            _ => removals.push(a),
        }
    }
    exec.remove(&removals)?;
    exec.clear_vgpu(&of_kind(plan, ActionKind::ClearVgpuType))?;
    if exec.outcome.interrupted {
        exec.create(&of_kind(plan, ActionKind::Create));
        exec.set_vgpu(&of_kind(plan, ActionKind::SetVgpuType));
        return Ok(());
    }
    // Parents and GPUs that still carry what the plan meant to remove.
    let left: Vec<(&Action, Option<&String>)> = exec
        .outcome
        .failed
        .iter()
        .chain(exec.outcome.not_done.iter())
        .map(|f| (&f.action, f.action.gpu.as_ref()))
        .collect();
    let mut stuck: BTreeSet<String> = BTreeSet::new();
    let mut stuck_gpus: BTreeSet<String> = BTreeSet::new();
    for (a, gpu) in left {
        match a.action {
            ActionKind::ClearVgpuType => stuck_gpus.extend(gpu.cloned()),
            _ => {
                stuck.insert(a.parent.clone());
            }
        }
    }
    for b in &exec.outcome.in_use {
        match &b.address {
            Some(_) => stuck_gpus.extend(b.gpu.clone()),
            None => {
                stuck.insert(b.parent.clone());
            }
        }
    }
    let mut creations = Vec::new();
    for a in of_kind(plan, ActionKind::Create) {
        if stuck.contains(a.parent.as_str()) {
            exec.outcome.not_done.push(NotDone {
                reason: format!(
                    "skipped: {} still carries mdevs that could not be removed",
                    a.parent
                ),
                action: a,
            });
        } else {
            creations.push(a);
        }
    }
    let mut sets = Vec::new();
    for a in of_kind(plan, ActionKind::SetVgpuType) {
        let gpu = a.gpu.clone().unwrap_or_default();
        if stuck_gpus.contains(&gpu) {
            exec.outcome.not_done.push(NotDone {
                reason: format!(
                    "skipped: GPU {gpu} still carries vGPU types that could not be cleared"
                ),
                action: a,
            });
        } else {
            sets.push(a);
        }
    }
    exec.create(&creations);
    exec.set_vgpu(&sets);
    Ok(())
}

/// Compare the re-read host with what was done: every created mdev present on its parent
/// with its type, every removed one gone.
pub fn verify(inv: &Inventory, outcome: &Outcome) -> Vec<String> {
    let mut diffs = Vec::new();
    for a in &outcome.done {
        if let Some(vf) = &a.address {
            let now = inv
                .pci_device(vf)
                .and_then(|d| d.nvidia.as_ref())
                .map(|n| n.current_vgpu_type);
            let want = match a.action {
                ActionKind::SetVgpuType => a.type_id.parse().ok(),
                _ => Some(0),
            };
            if now != want {
                diffs.push(format!(
                    "VF {vf} should carry vGPU type {} but reads {}",
                    want.map_or_else(|| a.type_id.clone(), |w: u32| w.to_string()),
                    now.map_or_else(
                        || "nothing (no nvidia/current_vgpu_type)".into(),
                        |n| n.to_string()
                    )
                ));
            }
            continue;
        }
        let found = inv.mdevs.iter().find(|m| m.uuid == a.uuid);
        match (a.action, found) {
            (ActionKind::Create, None) => diffs.push(format!(
                "mdev {} ({} on {}) was created but is not on the host",
                a.uuid, a.type_id, a.parent
            )),
            (ActionKind::Create, Some(m))
                if m.parent != a.parent || m.type_id.as_deref() != Some(a.type_id.as_str()) =>
            {
                diffs.push(format!(
                    "mdev {} should be {} on {} but is {} on {}",
                    a.uuid,
                    a.type_id,
                    a.parent,
                    m.type_id.as_deref().unwrap_or("(unknown type)"),
                    m.parent
                ))
            }
            (ActionKind::Remove, Some(_)) => diffs.push(format!(
                "mdev {} ({} on {}) was removed but is still on the host",
                a.uuid, a.type_id, a.parent
            )),
            _ => {}
        }
    }
    diffs
}

#[cfg(test)]
mod tests;
