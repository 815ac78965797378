//! What a mutating run did, typed: the mdev and vGPU-type actions done, failed, not done
//! or left alone ([`Outcome`], with why a run stopped early: [`Halt`]), and what became of
//! each device of `bind vfio` and `teardown` ([`DeviceResult`]). `exec` fills them in;
//! `render::run` prints them; nothing matches on message text.

use serde::Serialize;

use crate::host::inventory::Inventory;
use crate::plan::bind::Refusal;
use crate::plan::{Action, ActionKind, Blocked};

/// An action that was not done, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotDone {
    #[serde(flatten)]
    pub(crate) action: Action,
    pub(crate) reason: String,
}

/// What a run did and did not do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Writes that succeeded (in a dry run: that would be made).
    pub(crate) done: Vec<Action>,
    /// Writes the kernel refused (reason: the write error).
    pub failed: Vec<NotDone>,
    /// Actions not attempted: skipped after a failure on the same parent, interrupted, or
    /// stopped because the run could not be recorded.
    pub not_done: Vec<NotDone>,
    /// mdevs and vGPU VFs left alone because a process holds them open.
    pub(crate) in_use: Vec<Blocked>,
    /// mdevs already gone when their removal came up.
    pub(crate) gone: Vec<Action>,
    /// Differences between the re-read host with what was done.
    pub(crate) differences: Vec<String>,
    /// Problems recording the run (state file, audit log).
    pub(crate) errors: Vec<String>,
    pub(crate) interrupted: bool,
    /// Creations were planned again after the removals.
    pub(crate) replanned: bool,
    /// A saved plan was applied: exactly its actions, no re-plan after the removals.
    #[serde(skip)]
    pub(crate) saved_plan: bool,
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

    /// Take in what a worker did (one GPU's share of a batch), after what is here.
    pub(crate) fn absorb(&mut self, o: Outcome) {
        self.done.extend(o.done);
        self.failed.extend(o.failed);
        self.not_done.extend(o.not_done);
        self.in_use.extend(o.in_use);
        self.gone.extend(o.gone);
        self.differences.extend(o.differences);
        for e in o.errors {
            if !self.errors.contains(&e) {
                self.errors.push(e);
            }
        }
        self.interrupted |= o.interrupted;
        self.capacity_reached.extend(o.capacity_reached);
    }

    pub fn count(&self, kind: ActionKind) -> usize {
        self.done.iter().filter(|a| a.kind() == kind).count()
    }

    pub(crate) fn not_done(&mut self, action: &Action, reason: impl Into<String>) {
        self.not_done.push(NotDone {
            action: action.clone(),
            reason: reason.into(),
        });
    }
}

/// Why the executor stopped before the end of its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    /// SIGINT/SIGTERM.
    Interrupted,
    /// The state file could not be written: a further write could not be undone by
    /// `teardown`.
    StateUnwritable,
    /// The audit log could not be appended to.
    AuditUnwritable,
}

impl Halt {
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Halt::Interrupted => "interrupted before this write",
            Halt::StateUnwritable => {
                "not attempted: the state file could not be written, so this change could not be undone by `teardown`"
            }
            Halt::AuditUnwritable => {
                "not attempted: the audit log could not be written, so this change would go unrecorded"
            }
        }
    }
}

/// What happened to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceOutcome {
    Bound,
    AlreadyBound,
    WouldBind,
    Restored,
    WouldRestore,
    /// The kernel refused a write, or the device did not end up where it should.
    Failed(String),
    Refused(Refusal),
    Skipped(Skip),
}

/// Why a device was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// The run stopped before this device (a signal, or the run could not be recorded).
    Stopped(Halt),
    /// The recorded device is gone: its record is dropped.
    Gone,
    /// No longer on vfio-pci (its driver now): the record is dropped.
    Moved(Option<String>),
    /// Held open (by whom): left on vfio-pci.
    InUse(String),
}

impl DeviceOutcome {
    /// The `result` token of the JSON document and the table.
    pub(crate) fn result(&self) -> &'static str {
        match self {
            DeviceOutcome::Bound => "bound",
            DeviceOutcome::AlreadyBound => "already-bound",
            DeviceOutcome::WouldBind => "would-bind",
            DeviceOutcome::Restored => "restored",
            DeviceOutcome::WouldRestore => "would-restore",
            DeviceOutcome::Failed(_) => "failed",
            DeviceOutcome::Refused(_) => "refused",
            DeviceOutcome::Skipped(_) => "skipped",
        }
    }

    pub(crate) fn detail(&self) -> Option<String> {
        match self {
            DeviceOutcome::Failed(e) => Some(e.clone()),
            DeviceOutcome::Refused(r) => Some(r.to_string()),
            DeviceOutcome::Skipped(Skip::Stopped(Halt::Interrupted)) => {
                Some("interrupted before this device".into())
            }
            DeviceOutcome::Skipped(Skip::Stopped(halt)) => Some(halt.reason().to_string()),
            DeviceOutcome::Skipped(Skip::Gone) => {
                Some("the device is gone; dropped from the state file".into())
            }
            DeviceOutcome::Skipped(Skip::Moved(d)) => Some(format!(
                "no longer on vfio-pci (driver {}); dropped from the state file",
                d.as_deref().unwrap_or("none")
            )),
            DeviceOutcome::Skipped(Skip::InUse(who)) => {
                Some(format!("in use by {who}; left on vfio-pci"))
            }
            _ => None,
        }
    }

    /// The device stays on vfio-pci although a teardown meant to return it.
    pub(crate) fn left_bound(&self) -> bool {
        matches!(
            self,
            DeviceOutcome::Failed(_)
                | DeviceOutcome::Skipped(Skip::InUse(_))
                | DeviceOutcome::Skipped(Skip::Stopped(_))
        )
    }
}

/// One device and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceResult {
    pub(crate) address: String,
    pub(crate) vendor_device: String,
    pub(crate) original_driver: Option<String>,
    pub(crate) outcome: DeviceOutcome,
}

impl DeviceResult {
    /// A result for a device of the inventory (`original_driver`: its driver now).
    pub(crate) fn of(inv: &Inventory, address: &str, outcome: DeviceOutcome) -> DeviceResult {
        let d = inv.pci_device(address);
        DeviceResult {
            address: address.to_string(),
            vendor_device: d.map(|d| d.vendor_device()).unwrap_or_default(),
            original_driver: d.and_then(|d| d.driver.clone()),
            outcome,
        }
    }
}

impl Serialize for DeviceResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("DeviceResult", 5)?;
        st.serialize_field("address", &self.address)?;
        st.serialize_field("vendor_device", &self.vendor_device)?;
        st.serialize_field("original_driver", &self.original_driver)?;
        st.serialize_field("result", self.outcome.result())?;
        st.serialize_field("detail", &self.outcome.detail())?;
        st.end()
    }
}
