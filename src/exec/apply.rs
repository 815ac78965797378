//! Executing mdev changes: removals (with an in-use re-check right before each write),
//! then the GPUs' SR-IOV VF counts (disables, then enables: [`sriov`]), then creations
//! (planned again after any of those writes; a parent that fails is skipped for that
//! type), each through the [`Journal`]; [`verify`] compares the re-read host with what was done. Stops cleanly
//! between writes when asked to, and before the next host write once the state file or
//! the audit log cannot be written (what was done is reported).
//! NVIDIA vendor-VFIO virtual functions take the same road: their type is cleared with
//! the removals (`nvidia/current_vgpu_type` ← `0`) and set with the creations (← the type
//! ID, after re-reading `creatable_vgpu_types`); a VF is never bound or unbound.
//!
//! The state file is written once per batch, never after the host write it records:
//! creations are recorded *before* their batch runs (write-ahead; a record of an mdev
//! that was then not created is harmless — `teardown` drops records of mdevs that are not
//! on the host), and records of failed creations are dropped after the batch. Removals
//! are forgotten after their batch. So a crash never leaves an mdev hostdev created
//! without a record, and a batch of n creations costs two state writes, not n.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Result;

use crate::exec::journal::{now_rfc3339, Destroy, Journal, WriteError};
use crate::host::inventory::Inventory;
use crate::host::live;
use crate::host::root::Root;
use crate::outcome::{Halt, NotDone, Outcome};
use crate::plan::state::{MdevRecord, SriovRecord, State, VgpuVfRecord};
use crate::plan::{Action, ActionKind, Blocked, MdevAction, Plan, VfAction};

/// The stop flag an executor checks between writes; shared with its workers.
pub(crate) type Stop<'a> = &'a (dyn Fn() -> bool + Sync);

/// One executor run: the journal, the state it keeps current, and the stop flag.
pub struct Executor<'a> {
    pub(crate) journal: &'a mut Journal,
    pub(crate) state: &'a mut State,
    /// Checked between writes (SIGINT/SIGTERM in production).
    pub(crate) stop: Stop<'a>,
    /// Workers for the creations of a batch: one physical GPU each at a time (`--jobs`;
    /// 1 keeps every write on this thread).
    pub(crate) jobs: usize,
    /// How long enabling one GPU's VFs may take: retries and the wait for their vGPU
    /// types (`--vf-timeout`).
    pub(crate) vf_timeout: std::time::Duration,
    pub outcome: Outcome,
    halt: Option<Halt>,
    /// The state changed since it was last written.
    unsaved: bool,
}

pub(crate) fn remove_path(fs: &Root, uuid: &str) -> PathBuf {
    fs.mdev_remove(uuid)
}

/// `nvidia/<attr>` of a vendor-VFIO virtual function.
pub(crate) fn vgpu_path(fs: &Root, vf: &str, attr: &str) -> PathBuf {
    fs.vgpu_attr(vf, attr)
}

pub(crate) fn create_path(fs: &Root, parent: &str, type_id: &str) -> PathBuf {
    fs.mdev_create(parent, type_id)
}

impl<'a> Executor<'a> {
    pub fn new(journal: &'a mut Journal, state: &'a mut State, stop: Stop<'a>) -> Self {
        Executor {
            journal,
            state,
            stop,
            jobs: 1,
            vf_timeout: VF_TIMEOUT,
            outcome: Outcome::default(),
            halt: None,
            unsaved: false,
        }
    }

    fn fs(&self) -> Root {
        self.journal.root.clone()
    }

    /// Whether the run has stopped (and will make no further write).
    pub(crate) fn halted(&self) -> bool {
        self.halt.is_some()
    }

    /// Whether to stop before the next write, and why: a signal arrived, or the state
    /// file or audit log could not be written.
    pub(crate) fn should_stop(&mut self) -> Option<Halt> {
        if self.halt.is_none() {
            if (self.stop)() {
                self.halt = Some(Halt::Interrupted);
                self.outcome.interrupted = true;
            } else if let Some(e) = self.journal.audit_error() {
                self.halt = Some(Halt::AuditUnwritable);
                let e = e.to_string();
                self.record_error(e);
            }
        }
        self.halt
    }

    /// Stop between writes: the rest is recorded as not done.
    fn stopping(&mut self, rest: &[Action]) -> bool {
        let Some(halt) = self.should_stop() else {
            return false;
        };
        let reason = halt.reason();
        for a in rest {
            self.outcome.not_done(a, reason);
        }
        true
    }

    /// Write the state file now (records changed by the caller); false when that failed,
    /// and the run stops before its next write.
    pub(crate) fn save_state(&mut self) -> bool {
        self.unsaved = true;
        self.save();
        !matches!(self.halt, Some(Halt::StateUnwritable))
    }

    /// Remove mdevs, never one that a process holds open (re-checked right before each
    /// write, since removing an open mdev blocks in the kernel).
    pub(crate) fn remove(&mut self, actions: &[Action]) -> Result<()> {
        let fs = self.fs();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let Action::Remove(m) = a else { continue };
            if !live::mdev_exists(&fs, &m.uuid) {
                self.outcome.gone.push(a.clone());
                self.forget(a);
                continue;
            }
            let proof = match live::unheld_mdev(&fs, &m.uuid)? {
                Ok(proof) => proof,
                Err(busy) => {
                    self.outcome.in_use.push(Blocked::of(a, busy_reason(&busy)));
                    continue;
                }
            };
            let done =
                self.journal
                    .destroy(proof, Destroy::MdevRemove, &remove_path(&fs, &m.uuid), "1");
            if self.record(a, done) {
                self.forget(a);
            }
        }
        self.save();
        Ok(())
    }

    /// Create mdevs; after a failure on a parent, its remaining creations of that type
    /// are skipped and the rest of the list continues.
    pub(crate) fn create(&mut self, actions: &[Action]) {
        if !self.record_ahead(actions) {
            return;
        }
        self.per_gpu(actions, &|e, a| e.create_writes(a));
        self.settle_records(actions);
    }

    /// The writes of [`Executor::create`] (one GPU's, on a worker).
    fn create_writes(&mut self, actions: &[Action]) {
        let fs = self.fs();
        let mut failed: BTreeSet<(String, String)> = BTreeSet::new();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let Action::Create(m) = a else { continue };
            let key = (m.parent.clone(), m.type_id.clone());
            if failed.contains(&key) {
                let reason = format!(
                    "skipped: an earlier {} creation on {} failed",
                    m.type_id, m.parent
                );
                self.outcome.not_done(a, reason);
                continue;
            }
            let path = create_path(&fs, &m.parent, &m.type_id);
            if !self.write_action(a, &path, &m.uuid, "mdev.create") {
                failed.insert(key);
            }
        }
    }

    /// Destroy the vGPU of vendor-VFIO VFs (`current_vgpu_type` ← `0`), never one a
    /// process holds open (re-checked right before each write).
    pub(crate) fn clear_vgpu(&mut self, actions: &[Action]) -> Result<()> {
        let fs = self.fs();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let Action::ClearVgpuType(v) = a else {
                continue;
            };
            if matches!(live::current_vgpu_type(&fs, &v.address), None | Some(0)) {
                self.outcome.gone.push(a.clone());
                self.forget(a);
                continue;
            }
            let proof = match live::unheld_pci(&fs, &v.address)? {
                Ok(proof) => proof,
                Err(busy) => {
                    self.outcome.in_use.push(Blocked::of(a, busy_reason(&busy)));
                    continue;
                }
            };
            let path = vgpu_path(&fs, &v.address, "current_vgpu_type");
            let done = self.journal.destroy(proof, Destroy::VgpuClear, &path, "0");
            if self.record(a, done) {
                self.forget(a);
            }
        }
        self.save();
        Ok(())
    }

    /// Give free vendor-VFIO VFs a vGPU type (`current_vgpu_type` ← ID). Before each
    /// write the VF's `creatable_vgpu_types` is read again: once the type is no longer
    /// listed the GPU is full, and its remaining VFs are left free (not an error). After
    /// a failed write, the GPU's remaining VFs are skipped.
    pub fn set_vgpu(&mut self, actions: &[Action]) {
        if !self.record_ahead(actions) {
            return;
        }
        self.per_gpu(actions, &|e, a| e.set_vgpu_writes(a));
        self.settle_records(actions);
    }

    /// The writes of [`Executor::set_vgpu`] (one GPU's, on a worker).
    fn set_vgpu_writes(&mut self, actions: &[Action]) {
        let fs = self.fs();
        let mut full: BTreeSet<String> = BTreeSet::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let Action::SetVgpuType(v) = a else { continue };
            let gpu = v.gpu.clone().unwrap_or_else(|| v.address.clone());
            if full.contains(&gpu) {
                self.outcome.capacity_reached.push(a.clone());
                continue;
            }
            if failed.contains(&gpu) {
                let reason = format!("skipped: an earlier vGPU type write on GPU {gpu} failed");
                self.outcome.not_done(a, reason);
                continue;
            }
            match live::current_vgpu_type(&fs, &v.address) {
                Some(0) => {}
                Some(t) => {
                    let reason = format!("{} already carries vGPU type {t}", v.address);
                    self.outcome.not_done(a, reason);
                    continue;
                }
                None => {
                    let reason = format!(
                        "{} has no readable nvidia/current_vgpu_type (is the VF gone?)",
                        v.address
                    );
                    self.outcome.not_done(a, reason);
                    continue;
                }
            }
            if !live::creatable_vgpu_types(&fs, &v.address)
                .iter()
                .any(|(i, _)| *i == v.type_id)
            {
                full.insert(gpu);
                self.outcome.capacity_reached.push(a.clone());
                continue;
            }
            let path = vgpu_path(&fs, &v.address, "current_vgpu_type");
            if !self.write_action(a, &path, &v.type_id.to_string(), "vgpu.set") {
                failed.insert(gpu);
            }
        }
    }

    /// Run `work` over `actions` split by physical GPU (plan order kept within each): on
    /// this thread, or — with `jobs` > 1 and more than one GPU — on up to `jobs` worker
    /// threads, a GPU each at a time, each writing through its own [`Journal::worker`].
    /// Every worker checks the stop flag before each of its writes. Their outcomes,
    /// writes, audit-log and dry-run lines are then taken in the order of the GPUs in the
    /// plan, so the report, the audit log and the state file do not depend on timing.
    fn per_gpu(&mut self, actions: &[Action], work: &(dyn Fn(&mut Executor, &[Action]) + Sync)) {
        let groups = by_gpu(actions);
        if self.jobs <= 1 || groups.len() <= 1 {
            return work(self, actions);
        }
        let Some(journals) = groups
            .iter()
            .map(|_| self.journal.worker())
            .collect::<Option<Vec<Journal>>>()
        else {
            return work(self, actions);
        };
        let slots: Vec<Mutex<Option<Journal>>> =
            journals.into_iter().map(|j| Mutex::new(Some(j))).collect();
        let done: Vec<Finished> = groups.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let stop = self.stop;
        let vf_timeout = self.vf_timeout;
        std::thread::scope(|s| {
            for _ in 0..self.jobs.min(groups.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(group) = groups.get(i) else { break };
                    let Some(mut journal) = slots[i].lock().ok().and_then(|mut j| j.take()) else {
                        break;
                    };
                    let mut state = State::default();
                    let mut worker = Executor::new(&mut journal, &mut state, stop);
                    worker.vf_timeout = vf_timeout;
                    work(&mut worker, group);
                    let (outcome, halt) = (worker.outcome, worker.halt);
                    if let Ok(mut d) = done[i].lock() {
                        *d = Some((journal, outcome, halt));
                    }
                });
            }
        });
        for (d, group) in done.into_iter().zip(&groups) {
            match d.into_inner().ok().flatten() {
                Some((journal, outcome, halt)) => {
                    self.journal.absorb(journal);
                    self.outcome.absorb(outcome);
                    if self.halt.is_none() {
                        self.halt = halt;
                    }
                }
                // a worker that panicked: its GPU's writes are not known to be made
                None => {
                    for a in group {
                        self.outcome.not_done(
                            a,
                            "a worker thread failed; this write may not have been made",
                        );
                    }
                }
            }
        }
    }

    /// Write one action's value through the journal and record it as done or failed
    /// (with path, value and the kernel's error); true when the write succeeded.
    fn write_action(&mut self, a: &Action, path: &Path, value: &str, what: &str) -> bool {
        let done = self.journal.write(path, value, what);
        self.record(a, done)
    }

    /// Record one action's write as done or failed; true when it succeeded.
    fn record(&mut self, a: &Action, done: Result<(), WriteError>) -> bool {
        match done {
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

    /// Record a batch of creations (or of GPUs whose VFs are enabled) in the state file
    /// before any of them is made. When that fails, nothing of the batch is attempted.
    fn record_ahead(&mut self, actions: &[Action]) -> bool {
        if self.journal.dry_run || actions.is_empty() {
            return true;
        }
        let now = now_rfc3339();
        let mut mdevs = Vec::new();
        let mut vfs = Vec::new();
        for a in actions {
            match a {
                Action::Create(m) => mdevs.push(mdev_record(m, &now)),
                Action::SetVgpuType(v) => vfs.push(vf_record(v, &now)),
                Action::EnableVfs(s) => self.state.add_sriov(SriovRecord {
                    address: s.address.clone(),
                    numvfs: s.count,
                    enabled_at: now.clone(),
                    unknown: Default::default(),
                }),
                _ => {}
            }
        }
        self.state.add_mdevs(mdevs);
        self.state.add_vgpu_vfs(vfs);
        self.unsaved = true;
        self.save();
        if self.halted() {
            // stopping() reports the batch as not done
            self.stopping(actions);
            return false;
        }
        true
    }

    /// After a batch of creations: drop the records written ahead for what was not made.
    fn settle_records(&mut self, actions: &[Action]) {
        if self.journal.dry_run || actions.is_empty() {
            return;
        }
        let made: BTreeSet<&str> = self.outcome.done.iter().map(record_key).collect();
        let unmade: Vec<Action> = actions
            .iter()
            .filter(|a| !made.contains(record_key(a)))
            .cloned()
            .collect();
        for a in &unmade {
            self.drop_record(a);
        }
        self.save();
    }

    fn forget(&mut self, a: &Action) {
        if !self.journal.dry_run {
            self.drop_record(a);
        }
    }

    fn drop_record(&mut self, a: &Action) {
        self.unsaved |= match a {
            Action::Remove(m) | Action::Create(m) => self.state.drop_mdev(&m.uuid),
            Action::ClearVgpuType(v) | Action::SetVgpuType(v) => {
                self.state.drop_vgpu_vf(&v.address)
            }
            Action::EnableVfs(s) | Action::DisableVfs(s) => self.state.drop_sriov(&s.address),
        };
    }

    /// Write the state file if it changed; a failure stops the run before the next write.
    fn save(&mut self) {
        if self.journal.dry_run || !self.unsaved {
            return;
        }
        self.unsaved = false;
        let fs = self.fs();
        if let Err(e) = self.state.save(&fs) {
            self.record_error(format!("{e:#}"));
            if self.halt.is_none() {
                self.halt = Some(Halt::StateUnwritable);
            }
        }
    }

    fn record_error(&mut self, msg: String) {
        if !self.outcome.errors.contains(&msg) {
            self.outcome.errors.push(msg);
        }
    }
}

/// A worker's journal, outcome and halt, once its GPU is done.
type Finished = Mutex<Option<(Journal, Outcome, Option<Halt>)>>;

/// `actions` split by physical GPU, in the order the plan names the GPUs.
fn by_gpu(actions: &[Action]) -> Vec<Vec<Action>> {
    let mut groups: Vec<(&str, Vec<Action>)> = Vec::new();
    for a in actions {
        let gpu = a.gpu_key();
        match groups.iter_mut().find(|(g, _)| *g == gpu) {
            Some((_, list)) => list.push(a.clone()),
            None => groups.push((gpu, vec![a.clone()])),
        }
    }
    groups.into_iter().map(|(_, list)| list).collect()
}

/// What a state record is keyed by: the mdev's UUID, or the VF's address.
fn record_key(a: &Action) -> &str {
    match a {
        Action::Remove(m) | Action::Create(m) => &m.uuid,
        Action::ClearVgpuType(v) | Action::SetVgpuType(v) => &v.address,
        Action::EnableVfs(s) | Action::DisableVfs(s) => &s.address,
    }
}

fn mdev_record(m: &MdevAction, now: &str) -> MdevRecord {
    MdevRecord {
        uuid: m.uuid.clone(),
        parent: m.parent.clone(),
        type_id: m.type_id.clone(),
        created_at: now.to_string(),
        unknown: Default::default(),
    }
}

fn vf_record(v: &VfAction, now: &str) -> VgpuVfRecord {
    VgpuVfRecord {
        address: v.address.clone(),
        type_id: v.type_id,
        configured_at: now.to_string(),
        unknown: Default::default(),
    }
}

/// `in use by pid 4242 (qemu-system-x86), ...`
/// Why a destructive write was not made: `in use by pid …`, or what lives under it.
fn busy_reason(busy: &live::Busy) -> String {
    match busy {
        live::Busy::Held(h) => crate::host::tree::in_use_by(h),
        live::Busy::Carries(what) => format!("it carries {what}"),
    }
}

/// Parents and GPUs that still carry what was meant to go: creations there would fail.
#[derive(Default)]
struct Stuck {
    parents: BTreeSet<String>,
    gpus: BTreeSet<String>,
}

impl Stuck {
    fn add_action(&mut self, a: &Action) {
        match a {
            Action::Remove(m) | Action::Create(m) => {
                self.parents.insert(m.parent.clone());
            }
            Action::ClearVgpuType(v) | Action::SetVgpuType(v) => self.gpus.extend(v.gpu.clone()),
            Action::EnableVfs(s) | Action::DisableVfs(s) => {
                self.gpus.insert(s.address.clone());
            }
        }
    }

    fn add_blocked(&mut self, b: &Blocked) {
        match b {
            Blocked::Mdev { parent, .. } => {
                self.parents.insert(parent.clone());
            }
            Blocked::Vf { gpu, .. } => self.gpus.extend(gpu.clone()),
            Blocked::Vfs { address, .. } => {
                self.gpus.insert(address.clone());
            }
        }
    }

    /// Split creations into those to attempt and those skipped (recorded as not done).
    fn filter(&self, outcome: &mut Outcome, creations: Vec<Action>) -> Vec<Action> {
        let mut keep = Vec::new();
        for a in creations {
            let reason = match &a {
                Action::Create(m) if self.parents.contains(&m.parent) => format!(
                    "skipped: {} still carries mdevs that could not be removed",
                    m.parent
                ),
                Action::SetVgpuType(VfAction { gpu: Some(g), .. }) if self.gpus.contains(g) => {
                    format!("skipped: GPU {g} still carries vGPU types that could not be cleared")
                }
                _ => {
                    keep.push(a);
                    continue;
                }
            };
            outcome.not_done(&a, reason);
        }
        keep
    }
}

/// Run the removals (mdevs, then vGPU type clears) of a plan; true when one was made.
/// Then the GPUs' VF counts: disabling (a count that changes), then enabling (one worker
/// per GPU, each waiting until its VFs offer vGPU types). True when a write was made: the
/// creations are then planned again against the host as it is now.
fn removals(exec: &mut Executor, plan: &Plan, remove: Vec<Action>) -> Result<bool> {
    exec.remove(&remove)?;
    exec.clear_vgpu(&plan.of_kind(ActionKind::ClearVgpuType))?;
    exec.disable_vfs(&plan.of_kind(ActionKind::DisableVfs))?;
    exec.enable_vfs(&plan.of_kind(ActionKind::EnableVfs));
    Ok([
        ActionKind::Remove,
        ActionKind::ClearVgpuType,
        ActionKind::DisableVfs,
        ActionKind::EnableVfs,
    ]
    .into_iter()
    .any(|k| exec.outcome.count(k) > 0))
}

/// The creations (mdevs, vGPU types) among `actions`.
fn creations_of(actions: impl IntoIterator<Item = Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !a.kind().is_removal() && !a.kind().is_sriov())
        .collect()
}

/// Run a plan: removals and VF counts, then (after a real write) re-read the host and
/// plan the creations again with the same planner, then creations. In-use mdevs the plan already
/// blocked are reported as in use.
pub(crate) fn execute(
    exec: &mut Executor,
    plan: &Plan,
    replan: &mut dyn FnMut() -> Result<Plan>,
) -> Result<()> {
    exec.outcome.in_use.extend(plan.blocked.iter().cloned());
    let removed_any = removals(exec, plan, plan.of_kind(ActionKind::Remove))?;
    let creations = if removed_any && !exec.journal.dry_run && !exec.halted() {
        exec.outcome.replanned = true;
        let again = replan()?;
        // A parent the new plan still wants to empty kept mdevs whose removal failed or
        // was refused: creating there would fail, so those creations are not attempted
        // (the same for GPUs whose vGPU types could not all be cleared).
        let mut stuck = Stuck::default();
        again
            .actions
            .iter()
            .filter(|a| a.kind().is_removal())
            .for_each(|a| stuck.add_action(a));
        again.blocked.iter().for_each(|b| stuck.add_blocked(b));
        stuck.filter(&mut exec.outcome, creations_of(again.actions))
    } else {
        creations_of(plan.actions.iter().cloned())
    };
    creations_in_order(exec, &creations);
    Ok(())
}

/// mdev creations, then vGPU type sets.
fn creations_in_order(exec: &mut Executor, creations: &[Action]) {
    let (creates, sets): (Vec<Action>, Vec<Action>) = creations
        .iter()
        .cloned()
        .partition(|a| a.kind() == ActionKind::Create);
    exec.create(&creates);
    exec.set_vgpu(&sets);
}

/// Run a saved plan exactly: its removals (and vGPU type clears), then its creations
/// (and vGPU type sets), with no re-plan in between. `inv` is the host read under the
/// lock: a removal whose UUID now names an mdev of another type or parent than the plan
/// says is not done (the plan is stale). A parent whose removals failed or were refused
/// gets none of its planned creations, as in [`execute`]. Everything else the host has
/// changed since the plan was made shows up as the kernel's own error on the write
/// (`ENOSPC`, `EEXIST`, ...).
pub(crate) fn execute_saved(exec: &mut Executor, plan: &Plan, inv: &Inventory) -> Result<()> {
    exec.outcome.saved_plan = true;
    exec.outcome.in_use.extend(plan.blocked.iter().cloned());
    let mut remove = Vec::new();
    for a in plan.of_kind(ActionKind::Remove) {
        match stale_removal(&a, inv) {
            Some(reason) => exec.outcome.not_done(&a, reason),
            None => remove.push(a),
        }
    }
    removals(exec, plan, remove)?;
    let creations = creations_of(plan.actions.iter().cloned());
    if exec.halted() {
        creations_in_order(exec, &creations);
        return Ok(());
    }
    let mut stuck = Stuck::default();
    let outcome = &exec.outcome;
    outcome
        .failed
        .iter()
        .chain(&outcome.not_done)
        .for_each(|f| stuck.add_action(&f.action));
    outcome.in_use.iter().for_each(|b| stuck.add_blocked(b));
    let creations = stuck.filter(&mut exec.outcome, creations);
    creations_in_order(exec, &creations);
    Ok(())
}

/// Why a saved plan's removal no longer fits the host, if it does not.
fn stale_removal(a: &Action, inv: &Inventory) -> Option<String> {
    let Action::Remove(r) = a else { return None };
    let m = inv.mdevs.iter().find(|m| m.uuid == r.uuid)?;
    if m.parent == r.parent && m.type_id.as_deref() == Some(r.type_id.as_str()) {
        return None;
    }
    Some(format!(
        "stale plan: mdev {} is now {} on {}, not {} on {}; re-run `hostdev plan`",
        r.uuid,
        m.type_id.as_deref().unwrap_or("(unknown type)"),
        m.parent,
        r.type_id,
        r.parent
    ))
}

mod job;
mod sriov;
mod verify;
pub(crate) use job::{ApplyJob, PlanSource, MAX_JOBS};
pub(crate) use sriov::VF_TIMEOUT;
pub(crate) use verify::{verify, verify_touched};

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
