//! The plan document: the model every layer shares (`Plan`, its rows, its `Action`s and
//! what is `Blocked`), and its JSON shape (`"schema": "hostdev/v1"`). The planner
//! (`plan::mdev`) builds it, `plan::saved` reads it back, exec carries it out and render
//! prints it; this file only defines it and does not decide, read or write anything.

use serde::{Deserialize, Serialize};

use crate::config::node::Node;

pub(crate) const SCHEMA: &str = "hostdev/v1";

/// `enabled`, `disabled` (`enabled: false`) or `not-configured` (no section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MdevHandling {
    /// A saved plan without the field was made with mdev handling on.
    #[default]
    Enabled,
    Disabled,
    NotConfigured,
}

/// The document's `"schema": "hostdev/v1"`: written as [`SCHEMA`], and only that is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Schema;

impl Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(SCHEMA)
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == SCHEMA {
            Ok(Schema)
        } else {
            Err(serde::de::Error::custom(format!(
                "schema is {s:?}, this hostdev reads {SCHEMA:?}"
            )))
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub(crate) schema: Schema,
    pub node: Node,
    #[serde(default)]
    pub(crate) mdev_handling: MdevHandling,
    #[serde(default)]
    pub(crate) desired_types: Vec<String>,
    /// One row per mdev parent (each VF of an SR-IOV GPU is a row of its own).
    pub parents: Vec<ParentPlan>,
    pub actions: Vec<Action>,
    #[serde(default)]
    pub blocked: Vec<Blocked>,
    /// One row per card of the round-robin (see the module documentation of `plan::mdev`).
    #[serde(default)]
    pub(crate) cards: Vec<CardPlan>,
    /// GPUs that cannot take vGPUs until a precondition is fixed (only with desired types).
    #[serde(default)]
    pub(crate) problems: Vec<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    Create,
    TopUp,
    Keep,
    Unsupported,
    Unassigned,
    Blocked,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Create => "create",
            Status::TopUp => "top-up",
            Status::Keep => "keep",
            Status::Unsupported => "unsupported",
            Status::Unassigned => "unassigned",
            Status::Blocked => "blocked",
        }
    }
}

/// `create`: required in a saved plan, a count or `null` (unknown before the removals
/// run); a missing field must not read as "unknown".
fn required_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<u32>::deserialize(d)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParentPlan {
    pub(crate) address: String,
    #[serde(rename = "type", default)]
    pub(crate) type_id: Option<String>,
    #[serde(default)]
    pub(crate) type_name: Option<String>,
    /// mdevs of the assigned type that stay.
    #[serde(default)]
    pub(crate) existing: u32,
    /// Instances to create; `null` when it cannot be known before removals run.
    #[serde(deserialize_with = "required_count")]
    pub(crate) create: Option<u32>,
    /// mdevs removed from this parent.
    #[serde(default)]
    pub(crate) remove: u32,
    pub(crate) status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum CardKind {
    /// One mdev parent: a PCI function (mdev on the PF) or a virtual device.
    MdevParent,
    /// A physical GPU whose SR-IOV virtual functions are mdev parents.
    MdevVfGpu,
    /// A physical GPU whose virtual functions take a type via `nvidia/current_vgpu_type`.
    VendorVfioGpu,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CardPlan {
    /// The parent's name, or the physical function's address for a GPU card.
    pub(crate) address: String,
    pub(crate) kind: CardKind,
    #[serde(rename = "type", default)]
    pub(crate) type_id: Option<String>,
    #[serde(default)]
    pub(crate) type_name: Option<String>,
    /// Instances (mdevs, or configured VFs) of the assigned type that stay.
    #[serde(default)]
    pub(crate) existing: u32,
    /// Instances to create; `null` when it cannot be known before removals run.
    #[serde(deserialize_with = "required_count")]
    pub(crate) create: Option<u32>,
    /// `create` is the number of free VFs that list the type as creatable now: the
    /// vendor-VFIO interface publishes no maximum, and `apply` stops on a GPU when the
    /// type is no longer creatable (capacity reached).
    #[serde(default)]
    pub(crate) create_is_upper_bound: bool,
    /// Instances removed (mdevs, or VFs whose type is cleared).
    #[serde(default)]
    pub(crate) remove: u32,
    pub(crate) status: Status,
    /// GPU cards: the number of VFs, and of those free after the removals.
    #[serde(default)]
    pub(crate) vfs: Option<u32>,
    #[serde(default)]
    pub(crate) free_vfs: Option<u32>,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Problem {
    pub(crate) address: String,
    pub(crate) message: String,
}

/// What an action does, without its data (for counting and messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// Remove an mdev (`remove` ← `1`).
    Remove,
    /// Create an mdev (`create` ← UUID).
    Create,
    /// Give a free vendor-VFIO VF a vGPU type (`nvidia/current_vgpu_type` ← ID).
    SetVgpuType,
    /// Destroy a vendor-VFIO VF's vGPU (`nvidia/current_vgpu_type` ← `0`).
    ClearVgpuType,
    /// Enable a GPU's SR-IOV virtual functions (`sriov_numvfs` ← count).
    EnableVfs,
    /// Disable them (`sriov_numvfs` ← `0`: every VF goes).
    DisableVfs,
}

impl ActionKind {
    /// The `action` tag of the JSON documents.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ActionKind::Remove => "remove",
            ActionKind::Create => "create",
            ActionKind::SetVgpuType => "set-vgpu-type",
            ActionKind::ClearVgpuType => "clear-vgpu-type",
            ActionKind::EnableVfs => "enable-vfs",
            ActionKind::DisableVfs => "disable-vfs",
        }
    }

    /// Removals (and vGPU type clears) run before creations (and vGPU type sets).
    pub(crate) fn is_removal(self) -> bool {
        matches!(self, ActionKind::Remove | ActionKind::ClearVgpuType)
    }

    /// Enabling or disabling a GPU's VFs: run between the removals and the creations.
    pub(crate) fn is_sriov(self) -> bool {
        matches!(self, ActionKind::EnableVfs | ActionKind::DisableVfs)
    }
}

/// An mdev to remove or create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MdevAction {
    /// The mdev's UUID (lower case).
    pub uuid: String,
    /// The mdev parent.
    pub parent: String,
    /// The physical GPU of a VF mdev parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gpu: Option<String>,
    /// The type ID, e.g. `nvidia-222`.
    #[serde(rename = "type")]
    pub type_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) type_name: Option<String>,
}

/// A vendor-VFIO virtual function whose vGPU type is set or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VfAction {
    /// The virtual function.
    pub address: String,
    /// Its physical GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gpu: Option<String>,
    /// The numeric vGPU type ID (written as a string, e.g. `"1145"`).
    #[serde(rename = "type", with = "vgpu_id")]
    pub(crate) type_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) type_name: Option<String>,
}

/// A GPU's SR-IOV virtual functions to enable or disable (`sriov_numvfs`), as the
/// configuration's `hostdev.virtualFunctions` asks (docs/nvidia.md "Virtual functions").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SriovAction {
    /// The physical GPU.
    pub(crate) address: String,
    /// VFs enabled when the plan was made (`sriov_numvfs`).
    pub(crate) from: u32,
    /// VFs it will have (0 to disable).
    pub(crate) count: u32,
}

/// One write the plan makes (JSON: `{"action": "remove", ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    Remove(MdevAction),
    Create(MdevAction),
    SetVgpuType(VfAction),
    ClearVgpuType(VfAction),
    EnableVfs(SriovAction),
    DisableVfs(SriovAction),
}

impl Action {
    pub(crate) fn kind(&self) -> ActionKind {
        match self {
            Action::Remove(_) => ActionKind::Remove,
            Action::Create(_) => ActionKind::Create,
            Action::SetVgpuType(_) => ActionKind::SetVgpuType,
            Action::ClearVgpuType(_) => ActionKind::ClearVgpuType,
            Action::EnableVfs(_) => ActionKind::EnableVfs,
            Action::DisableVfs(_) => ActionKind::DisableVfs,
        }
    }

    /// The mdev of a remove/create action.
    pub(crate) fn mdev(&self) -> Option<&MdevAction> {
        match self {
            Action::Remove(m) | Action::Create(m) => Some(m),
            _ => None,
        }
    }

    /// The virtual function of a set/clear-vgpu-type action.
    pub fn vf(&self) -> Option<&VfAction> {
        match self {
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => Some(v),
            _ => None,
        }
    }

    /// The mdev's UUID of a remove/create action.
    #[cfg(test)]
    pub(crate) fn uuid(&self) -> Option<&str> {
        self.mdev().map(|m| m.uuid.as_str())
    }

    /// The mdev parent of a remove/create action.
    #[cfg(test)]
    pub(crate) fn parent(&self) -> Option<&str> {
        self.mdev().map(|m| m.parent.as_str())
    }

    /// The physical GPU, if the action names one.
    pub(crate) fn gpu(&self) -> Option<&str> {
        match self {
            Action::Remove(m) | Action::Create(m) => m.gpu.as_deref(),
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => v.gpu.as_deref(),
            Action::EnableVfs(s) | Action::DisableVfs(s) => Some(&s.address),
        }
    }

    /// The physical GPU the action belongs to: its own, else the device it writes to
    /// (one worker per GPU).
    pub(crate) fn gpu_key(&self) -> &str {
        match self {
            Action::Remove(m) | Action::Create(m) => m.gpu.as_deref().unwrap_or(&m.parent),
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => {
                v.gpu.as_deref().unwrap_or(&v.address)
            }
            Action::EnableVfs(s) | Action::DisableVfs(s) => &s.address,
        }
    }

    /// `<uuid> (<type> on <parent>)`, `<VF> (vGPU type <id>)`, or `<GPU> (N VFs)`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Action::Remove(m) | Action::Create(m) => {
                format!("{} ({} on {})", m.uuid, m.type_id, m.parent)
            }
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => {
                format!("{} (vGPU type {})", v.address, v.type_id)
            }
            Action::EnableVfs(s) => format!("{} VFs on {}", s.count, s.address),
            Action::DisableVfs(s) => format!("the {} VFs of {}", s.from, s.address),
        }
    }
}

/// A numeric vGPU type ID, written as a string as sysfs shows it (`"1145"`).
mod vgpu_id {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(id: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| {
            serde::de::Error::custom(format!("vGPU type {s:?} is not a numeric type ID"))
        })
    }
}

/// Something the plan leaves alone because a process holds it open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Blocked {
    /// An mdev that would be removed.
    Mdev {
        uuid: String,
        parent: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gpu: Option<String>,
        #[serde(rename = "type")]
        type_id: String,
        reason: String,
    },
    /// A vendor-VFIO virtual function whose type would be cleared.
    Vf {
        address: String,
        /// Its physical GPU.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gpu: Option<String>,
        #[serde(rename = "type", with = "vgpu_id")]
        type_id: u32,
        reason: String,
    },
    /// A GPU whose VFs would be disabled (a count changed) while one is in use.
    Vfs {
        address: String,
        /// Its VFs enabled now.
        numvfs: u32,
        reason: String,
    },
}

impl Blocked {
    /// The blocked counterpart of a removal action.
    pub(crate) fn of(a: &Action, reason: String) -> Blocked {
        match a {
            Action::Remove(m) | Action::Create(m) => Blocked::Mdev {
                uuid: m.uuid.clone(),
                parent: m.parent.clone(),
                gpu: m.gpu.clone(),
                type_id: m.type_id.clone(),
                reason,
            },
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => Blocked::Vf {
                address: v.address.clone(),
                gpu: v.gpu.clone(),
                type_id: v.type_id,
                reason,
            },
            Action::EnableVfs(s) | Action::DisableVfs(s) => Blocked::Vfs {
                address: s.address.clone(),
                numvfs: s.from,
                reason,
            },
        }
    }

    /// The UUID of a blocked mdev.
    #[cfg(test)]
    pub(crate) fn uuid(&self) -> Option<&str> {
        match self {
            Blocked::Mdev { uuid, .. } => Some(uuid),
            Blocked::Vf { .. } | Blocked::Vfs { .. } => None,
        }
    }

    /// The mdev parent of a blocked mdev.
    pub(crate) fn parent(&self) -> Option<&str> {
        match self {
            Blocked::Mdev { parent, .. } => Some(parent),
            Blocked::Vf { .. } | Blocked::Vfs { .. } => None,
        }
    }

    pub(crate) fn reason(&self) -> &str {
        match self {
            Blocked::Mdev { reason, .. }
            | Blocked::Vf { reason, .. }
            | Blocked::Vfs { reason, .. } => reason,
        }
    }

    pub(crate) fn reason_mut(&mut self) -> &mut String {
        match self {
            Blocked::Mdev { reason, .. }
            | Blocked::Vf { reason, .. }
            | Blocked::Vfs { reason, .. } => reason,
        }
    }

    /// `<uuid> (<type> on <parent>)`, or `<VF> (vGPU type <id>)`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Blocked::Mdev {
                uuid,
                parent,
                type_id,
                ..
            } => format!("{uuid} ({type_id} on {parent})"),
            Blocked::Vf {
                address, type_id, ..
            } => format!("{address} (vGPU type {type_id})"),
            Blocked::Vfs {
                address, numvfs, ..
            } => format!("{address} ({numvfs} VFs)"),
        }
    }
}

impl Plan {
    pub(crate) fn is_noop(&self) -> bool {
        self.actions.is_empty()
            && !self
                .parents
                .iter()
                .any(|p| p.create.is_none() && p.status == Status::Create)
            && !self
                .cards
                .iter()
                .any(|c| c.create.is_none() && c.status == Status::Create)
    }

    pub(crate) fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.kind() == kind).count()
    }

    /// The actions of one kind, in plan order.
    pub(crate) fn of_kind(&self, kind: ActionKind) -> Vec<Action> {
        self.actions
            .iter()
            .filter(|a| a.kind() == kind)
            .cloned()
            .collect()
    }
}
