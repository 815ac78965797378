//! The planner: a pure, deterministic function (configuration, node, inventory) → plan,
//! reproducing KubeVirt's mdev types manager with the differences of docs/kubevirt-differences.md:
//! desired-list round-robin order, top-up of partly filled parents, in-use protection,
//! and deterministic UUIDv5 names.
//!
//! The round-robin runs over *cards*. A card is one mdev parent (a PCI function or a
//! virtual device); or a physical GPU whose SR-IOV virtual functions are its mdev parents
//! (grouped by `physfn`); or a physical GPU whose virtual functions take a vGPU type
//! through NVIDIA's vendor-specific VFIO interface (`nvidia/current_vgpu_type`). KubeVirt
//! treats each VF as a card and so asks one GPU for several types it cannot host in
//! equal-size mode; hostdev gives a GPU one type and one instance per free VF, up to
//! the type's maximum (docs/nvidia.md).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{model::normalize, model::Config, node::Node, selectors::Desired};
use crate::host::inventory::{Inventory, Mdev, MdevType, Parent, ParentKind, PciDevice};
use crate::host::vgpu;

pub const SCHEMA: &str = "hostdev/v1";

/// The fixed namespace of hostdev's mdev UUIDs (UUIDv5 over node, parent, type, index).
pub const UUID_NAMESPACE: Uuid = Uuid::from_u128(0x8f0c5e3a_6b1d_4c52_9a7e_2d4f1b6c9e10);

/// `enabled`, `disabled` (`enabled: false`) or `not-configured` (no section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MdevHandling {
    /// A saved plan without the field was made with mdev handling on.
    #[default]
    Enabled,
    Disabled,
    NotConfigured,
}

/// The document's `"schema": "hostdev/v1"`: written as [`SCHEMA`], and only that is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schema;

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
    pub schema: Schema,
    pub node: Node,
    #[serde(default)]
    pub mdev_handling: MdevHandling,
    #[serde(default)]
    pub desired_types: Vec<String>,
    /// One row per mdev parent (each VF of an SR-IOV GPU is a row of its own).
    pub parents: Vec<ParentPlan>,
    pub actions: Vec<Action>,
    #[serde(default)]
    pub blocked: Vec<Blocked>,
    /// One row per card of the round-robin (see the module documentation).
    #[serde(default)]
    pub cards: Vec<CardPlan>,
    /// GPUs that cannot take vGPUs until a precondition is fixed (only with desired types).
    #[serde(default)]
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Create,
    TopUp,
    Keep,
    Unsupported,
    Unassigned,
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
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
    pub address: String,
    #[serde(rename = "type", default)]
    pub type_id: Option<String>,
    #[serde(default)]
    pub type_name: Option<String>,
    /// mdevs of the assigned type that stay.
    #[serde(default)]
    pub existing: u32,
    /// Instances to create; `null` when it cannot be known before removals run.
    #[serde(deserialize_with = "required_count")]
    pub create: Option<u32>,
    /// mdevs removed from this parent.
    #[serde(default)]
    pub remove: u32,
    pub status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardKind {
    /// One mdev parent: a PCI function (mdev on the PF) or a virtual device.
    MdevParent,
    /// A physical GPU whose SR-IOV virtual functions are mdev parents.
    MdevVfGpu,
    /// A physical GPU whose virtual functions take a type via `nvidia/current_vgpu_type`.
    VendorVfioGpu,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardPlan {
    /// The parent's name, or the physical function's address for a GPU card.
    pub address: String,
    pub kind: CardKind,
    #[serde(rename = "type", default)]
    pub type_id: Option<String>,
    #[serde(default)]
    pub type_name: Option<String>,
    /// Instances (mdevs, or configured VFs) of the assigned type that stay.
    #[serde(default)]
    pub existing: u32,
    /// Instances to create; `null` when it cannot be known before removals run.
    #[serde(deserialize_with = "required_count")]
    pub create: Option<u32>,
    /// `create` is the number of free VFs that list the type as creatable now: the
    /// vendor-VFIO interface publishes no maximum, and `apply` stops on a GPU when the
    /// type is no longer creatable (capacity reached).
    #[serde(default)]
    pub create_is_upper_bound: bool,
    /// Instances removed (mdevs, or VFs whose type is cleared).
    #[serde(default)]
    pub remove: u32,
    pub status: Status,
    /// GPU cards: the number of VFs, and of those free after the removals.
    #[serde(default)]
    pub vfs: Option<u32>,
    #[serde(default)]
    pub free_vfs: Option<u32>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    pub address: String,
    pub message: String,
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
}

impl ActionKind {
    /// The `action` tag of the JSON documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Remove => "remove",
            ActionKind::Create => "create",
            ActionKind::SetVgpuType => "set-vgpu-type",
            ActionKind::ClearVgpuType => "clear-vgpu-type",
        }
    }

    /// Removals (and vGPU type clears) run before creations (and vGPU type sets).
    pub fn is_removal(self) -> bool {
        matches!(self, ActionKind::Remove | ActionKind::ClearVgpuType)
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
    pub gpu: Option<String>,
    /// The type ID, e.g. `nvidia-222`.
    #[serde(rename = "type")]
    pub type_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
}

/// A vendor-VFIO virtual function whose vGPU type is set or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VfAction {
    /// The virtual function.
    pub address: String,
    /// Its physical GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    /// The numeric vGPU type ID (written as a string, e.g. `"1145"`).
    #[serde(rename = "type", with = "vgpu_id")]
    pub type_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
}

/// One write the plan makes (JSON: `{"action": "remove", ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    Remove(MdevAction),
    Create(MdevAction),
    SetVgpuType(VfAction),
    ClearVgpuType(VfAction),
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Remove(_) => ActionKind::Remove,
            Action::Create(_) => ActionKind::Create,
            Action::SetVgpuType(_) => ActionKind::SetVgpuType,
            Action::ClearVgpuType(_) => ActionKind::ClearVgpuType,
        }
    }

    /// The mdev of a remove/create action.
    pub fn mdev(&self) -> Option<&MdevAction> {
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
    pub fn uuid(&self) -> Option<&str> {
        self.mdev().map(|m| m.uuid.as_str())
    }

    /// The mdev parent of a remove/create action.
    pub fn parent(&self) -> Option<&str> {
        self.mdev().map(|m| m.parent.as_str())
    }

    /// The physical GPU, if the action names one.
    pub fn gpu(&self) -> Option<&str> {
        match self {
            Action::Remove(m) | Action::Create(m) => m.gpu.as_deref(),
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => v.gpu.as_deref(),
        }
    }

    /// `<uuid> (<type> on <parent>)`, or `<VF> (vGPU type <id>)`.
    pub fn describe(&self) -> String {
        match self {
            Action::Remove(m) | Action::Create(m) => {
                format!("{} ({} on {})", m.uuid, m.type_id, m.parent)
            }
            Action::SetVgpuType(v) | Action::ClearVgpuType(v) => {
                format!("{} (vGPU type {})", v.address, v.type_id)
            }
        }
    }
}

/// A numeric vGPU type ID, written as a string as sysfs shows it (`"1145"`).
mod vgpu_id {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
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
}

impl Blocked {
    /// The blocked counterpart of a removal action.
    pub fn of(a: &Action, reason: String) -> Blocked {
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
        }
    }

    /// The UUID of a blocked mdev.
    pub fn uuid(&self) -> Option<&str> {
        match self {
            Blocked::Mdev { uuid, .. } => Some(uuid),
            Blocked::Vf { .. } => None,
        }
    }

    /// The mdev parent of a blocked mdev.
    pub fn parent(&self) -> Option<&str> {
        match self {
            Blocked::Mdev { parent, .. } => Some(parent),
            Blocked::Vf { .. } => None,
        }
    }

    pub fn gpu(&self) -> Option<&str> {
        match self {
            Blocked::Mdev { gpu, .. } | Blocked::Vf { gpu, .. } => gpu.as_deref(),
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Blocked::Mdev { reason, .. } | Blocked::Vf { reason, .. } => reason,
        }
    }

    pub fn reason_mut(&mut self) -> &mut String {
        match self {
            Blocked::Mdev { reason, .. } | Blocked::Vf { reason, .. } => reason,
        }
    }

    /// `<uuid> (<type> on <parent>)`, or `<VF> (vGPU type <id>)`.
    pub fn describe(&self) -> String {
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
        }
    }
}

impl Plan {
    pub fn is_noop(&self) -> bool {
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

    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.kind() == kind).count()
    }

    /// The actions of one kind, in plan order.
    pub fn of_kind(&self, kind: ActionKind) -> Vec<Action> {
        self.actions
            .iter()
            .filter(|a| a.kind() == kind)
            .cloned()
            .collect()
    }
}

/// The deterministic UUID of the `index`-th instance of `type_id` on `parent` for `node`.
pub fn mdev_uuid(node: &str, parent: &str, type_id: &str, index: u32) -> Uuid {
    Uuid::new_v5(
        &UUID_NAMESPACE,
        format!("{node}/{parent}/{type_id}/{index}").as_bytes(),
    )
}

/// How a desired list matches types (also asked by `plan::bind::offered`, so that what
/// `bind vfio --from-config` thinks a device offers is what the planner would create).
pub(crate) struct Matcher<'a> {
    desired: &'a [String],
    desired_norm: Vec<String>,
    external: Vec<String>,
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(desired: &'a [String], external: Vec<String>) -> Self {
        Matcher {
            desired,
            desired_norm: desired.iter().map(|d| normalize(d)).collect(),
            external,
        }
    }

    /// The position of the earliest desired entry naming this type (by ID or normalized name).
    pub(crate) fn position(&self, id: &str, name: Option<&str>) -> Option<usize> {
        let name = name.map(normalize).filter(|n| !n.is_empty());
        self.desired
            .iter()
            .zip(&self.desired_norm)
            .position(|(d, dn)| d == id || name.as_deref() == Some(dn.as_str()))
    }

    fn is_external(&self, id: &str, name: Option<&str>) -> bool {
        let name = name.map(normalize);
        self.external
            .iter()
            .any(|e| *e == normalize(id) || name.as_deref() == Some(e.as_str()))
    }

    fn keeps(&self, id: &str, name: Option<&str>) -> bool {
        self.position(id, name).is_some() || self.is_external(id, name)
    }

    /// Whether every desired and external entry is a numeric vendor-VFIO type ID or a name
    /// in `names` (what the GPU's VFs list): then a type outside them is undesired even when
    /// its own name can no longer be read (a full card lists only the header).
    fn all_resolved(&self, names: &BTreeMap<u32, String>) -> bool {
        let known = |e: &str| {
            e.parse::<u32>().is_ok() || names.values().any(|n| normalize(n) == normalize(e))
        };
        self.desired.iter().all(|d| known(d)) && self.external.iter().all(|e| known(e))
    }
}

/// A desired type a card can take, and how many instances it would get.
struct Offer {
    id: String,
    pos: usize,
    name: Option<String>,
    count: Option<u32>,
}

/// What a card is made of.
enum Unit<'a> {
    Parent(&'a Parent),
    VfGpu(Vec<&'a Parent>),
    Vendor(Vec<VfSlot<'a>>),
}

/// A vendor-VFIO virtual function and what the removals leave of it.
struct VfSlot<'a> {
    dev: &'a PciDevice,
    /// The type it carries after the removals (0: none).
    current: u32,
    /// Its type is cleared first (so `creatable_vgpu_types` read now is stale).
    cleared: bool,
    /// Held open by a process: never touched.
    in_use: bool,
}

impl VfSlot<'_> {
    fn is_free(&self) -> bool {
        self.current == 0 && !self.in_use
    }

    fn can_create(&self, id: u32) -> bool {
        self.dev.nvidia.as_ref().is_some_and(|n| n.can_create(id))
    }
}

struct Card<'a> {
    address: String,
    unit: Unit<'a>,
    status: Status,
    type_id: Option<String>,
    type_name: Option<String>,
    existing: u32,
    create: Option<u32>,
    upper_bound: bool,
    remove: u32,
    /// Free only after removals: availability read now may not tell what fits.
    freed: bool,
    note: Option<String>,
    offers: Vec<Offer>,
}

impl<'a> Card<'a> {
    fn new(address: String, unit: Unit<'a>) -> Self {
        Card {
            address,
            unit,
            status: Status::Unsupported,
            type_id: None,
            type_name: None,
            existing: 0,
            create: Some(0),
            upper_bound: false,
            remove: 0,
            freed: false,
            note: None,
            offers: Vec::new(),
        }
    }

    fn kind(&self) -> CardKind {
        match self.unit {
            Unit::Parent(_) => CardKind::MdevParent,
            Unit::VfGpu(_) => CardKind::MdevVfGpu,
            Unit::Vendor(_) => CardKind::VendorVfioGpu,
        }
    }

    fn creates(&self) -> bool {
        matches!(self.status, Status::Create | Status::TopUp)
    }
}

/// Group the inventory into cards, ascending by address.
fn cards(inv: &Inventory) -> Vec<Card<'_>> {
    let mut by_gpu: BTreeMap<&str, Vec<&Parent>> = BTreeMap::new();
    let mut out: Vec<Card> = Vec::new();
    for p in &inv.parents {
        match (&p.kind, &p.physfn) {
            (ParentKind::Vf, Some(pf)) => by_gpu.entry(pf.as_str()).or_default().push(p),
            _ => out.push(Card::new(p.name.clone(), Unit::Parent(p))),
        }
    }
    for (pf, parents) in by_gpu {
        out.push(Card::new(pf.to_string(), Unit::VfGpu(parents)));
    }
    for gpu in vgpu::gpus(inv) {
        if gpu.framework == vgpu::Framework::VendorVfio {
            let vfs = vgpu::vendor_vfs(inv, &gpu.address)
                .into_iter()
                .map(|dev| VfSlot {
                    current: dev.nvidia.as_ref().map_or(0, |n| n.current_vgpu_type),
                    in_use: !inv.pci_holders(dev).is_empty(),
                    cleared: false,
                    dev,
                })
                .collect();
            out.push(Card::new(gpu.address, Unit::Vendor(vfs)));
        }
    }
    out.sort_by(|a, b| a.address.cmp(&b.address));
    out
}

/// Compute the plan. Pure: reads nothing but its arguments.
pub fn plan(config: &Config, node: &Node, inv: &Inventory) -> Plan {
    let desired = config.desired_for(node);
    let (handling, list) = match &desired {
        Desired::NotConfigured => (MdevHandling::NotConfigured, None),
        Desired::Disabled => (MdevHandling::Disabled, None),
        Desired::Types(list) => (MdevHandling::Enabled, Some(list.clone())),
    };
    let mut plan = Plan {
        schema: Schema,
        node: node.clone(),
        mdev_handling: handling,
        desired_types: list.clone().unwrap_or_default(),
        parents: Vec::new(),
        actions: Vec::new(),
        blocked: Vec::new(),
        cards: Vec::new(),
        problems: Vec::new(),
    };
    let names = vgpu::vendor_type_names(inv);
    let Some(list) = list else {
        plan.parents = inv.parents.iter().map(|p| hands_off(p, inv)).collect();
        plan.cards = cards(inv)
            .into_iter()
            .map(|c| hands_off_card(c, inv, &names))
            .collect();
        return plan;
    };
    if !list.is_empty() {
        plan.problems = vgpu::gpus(inv)
            .into_iter()
            .filter_map(|g| {
                g.problem.map(|message| Problem {
                    address: g.address,
                    message,
                })
            })
            .collect();
    }
    let m = Matcher::new(&list, config.external_mdev_selectors());

    // Step A: removals of undesired, non-external mdevs; in-use ones are blocked.
    let removed = removals(inv, &m, &mut plan);

    // Step B: each card's state after the removals, and the desired types it can take.
    // Devices the configuration keeps for passthrough (hostdev.passthroughAddresses) are
    // no cards: they get no vGPUs.
    let kept = config.passthrough_for(node);
    let mut cards = cards(inv);
    cards.retain(|c| !kept.contains(&c.address));
    for card in &mut cards {
        match &card.unit {
            Unit::Parent(p) => {
                let p = *p;
                parent_card(card, p, inv, &removed, &plan.blocked, &m)
            }
            Unit::VfGpu(vfs) => {
                let vfs = vfs.clone();
                vf_gpu_card(card, &vfs, inv, &removed, &plan.blocked, &m)
            }
            Unit::Vendor(_) => vendor_card(card, inv, &names, &m, &mut plan),
        }
    }

    // Step C: round-robin in desired-list order (ties by type ID), one type per card.
    round_robin(&mut cards);

    // Step D: creations, with deterministic UUIDs that skip any already on the host.
    let mut emit = Emit {
        node,
        inv,
        removed: &removed,
        blocked: &plan.blocked,
        taken: inv.mdevs.iter().map(|x| x.uuid.as_str()).collect(),
        creates: Vec::new(),
        sets: Vec::new(),
        rows: Vec::new(),
    };
    for card in &cards {
        match &card.unit {
            Unit::Parent(p) => emit.parent(card, p),
            Unit::VfGpu(vfs) => emit.vf_gpu(card, vfs),
            Unit::Vendor(vfs) => emit.vendor(card, vfs),
        }
    }
    let Emit {
        creates,
        sets,
        mut rows,
        ..
    } = emit;
    plan.actions.extend(creates);
    plan.actions.extend(sets);
    rows.sort_by(|a, b| a.address.cmp(&b.address));
    plan.parents = rows;
    plan.cards = cards.iter().map(card_row).collect();
    plan
}

/// Step A: undesired, non-external mdevs are removed; in-use ones are blocked. Returns the
/// UUIDs removed.
fn removals<'i>(inv: &'i Inventory, m: &Matcher, plan: &mut Plan) -> BTreeSet<&'i str> {
    let mut removed: BTreeSet<&str> = BTreeSet::new();
    for mdev in &inv.mdevs {
        let Some(type_id) = &mdev.type_id else {
            continue; // unreadable type link: never removed (as KubeVirt)
        };
        if m.keeps(type_id, mdev.type_name.as_deref()) {
            continue;
        }
        let holders = inv.mdev_holders(mdev);
        if holders.is_empty() {
            removed.insert(&mdev.uuid);
            plan.actions.push(Action::Remove(MdevAction {
                uuid: mdev.uuid.clone(),
                parent: mdev.parent.clone(),
                gpu: None,
                type_id: type_id.clone(),
                type_name: None,
            }));
        } else {
            plan.blocked.push(Blocked::Mdev {
                uuid: mdev.uuid.clone(),
                parent: mdev.parent.clone(),
                gpu: None,
                type_id: type_id.clone(),
                reason: crate::host::tree::in_use_by(&holders),
            });
        }
    }
    removed
}

/// Step C: KubeVirt's round-robin over the desired types (desired-list order, ties by
/// type ID): each type in turn takes the next unconfigured card that offers it.
fn round_robin(cards: &mut [Card]) {
    let mut candidates: BTreeMap<&str, (usize, Vec<usize>)> = BTreeMap::new();
    for (i, card) in cards.iter().enumerate() {
        for o in &card.offers {
            let e = candidates
                .entry(o.id.as_str())
                .or_insert((o.pos, Vec::new()));
            e.1.push(i);
        }
    }
    let mut ring: Vec<(usize, String)> = candidates
        .iter()
        .map(|(id, (pos, _))| (*pos, id.to_string()))
        .collect();
    ring.sort();
    let mut lists: Vec<Vec<usize>> = ring
        .iter()
        .map(|(_, id)| candidates[id.as_str()].1.clone())
        .collect();
    drop(candidates);
    let mut unconfigured: BTreeSet<usize> = lists.iter().flatten().copied().collect();
    let mut i = 0;
    while !unconfigured.is_empty() && lists.iter().any(|l| !l.is_empty()) {
        let k = i % ring.len();
        i += 1;
        let list = std::mem::take(&mut lists[k]);
        if let Some(at) = list.iter().position(|s| unconfigured.contains(s)) {
            let s = list[at];
            unconfigured.remove(&s);
            lists[k] = list[at + 1..].to_vec();
            let type_id = &ring[k].1;
            let card = &mut cards[s];
            let (count, name) = card
                .offers
                .iter()
                .find(|o| &o.id == type_id)
                .map(|o| (o.count, o.name.clone()))
                .unwrap_or((None, None));
            card.status = Status::Create;
            card.type_id = Some(type_id.clone());
            card.type_name = name;
            card.create = count;
            card.upper_bound = matches!(card.unit, Unit::Vendor(_)) && count.is_some();
        }
    }
}

/// Step D: the creations and `parents` rows of each card.
struct Emit<'a> {
    node: &'a Node,
    inv: &'a Inventory,
    removed: &'a BTreeSet<&'a str>,
    blocked: &'a [Blocked],
    taken: BTreeSet<&'a str>,
    creates: Vec<Action>,
    sets: Vec<Action>,
    rows: Vec<ParentPlan>,
}

impl Emit<'_> {
    fn parent(&mut self, card: &Card, p: &Parent) {
        if let (true, Some(type_id), Some(n)) = (card.creates(), &card.type_id, card.create) {
            let c = mdev_creates(self.node, &p.name, None, type_id, n, &self.taken);
            self.creates.extend(c);
        }
        self.rows.push(ParentPlan {
            address: p.name.clone(),
            type_name: card
                .type_id
                .as_ref()
                .and_then(|id| type_of(p, id))
                .and_then(|t| t.name.clone()),
            type_id: card.type_id.clone(),
            existing: card.existing,
            create: if card.creates() { card.create } else { Some(0) },
            remove: card.remove,
            status: card.status,
        });
    }

    fn vf_gpu(&mut self, card: &Card, vfs: &[&Parent]) {
        let chosen = chosen_vfs(card, vfs, self.inv, self.removed);
        for vf in vfs {
            let (here, gone) = mdevs_on(self.inv, &vf.name, self.removed);
            let kept = single(here.iter().map(|x| x.type_id.clone()));
            let blocked = self
                .blocked
                .iter()
                .any(|b| b.parent() == Some(vf.name.as_str()));
            let take = chosen.contains(&vf.name.as_str());
            let (status, type_id, create) = if blocked {
                (Status::Blocked, None, Some(0))
            } else if !here.is_empty() {
                (Status::Keep, kept, Some(0))
            } else if take {
                (Status::Create, card.type_id.clone(), Some(1))
            } else if card.status == Status::Unsupported {
                (Status::Unsupported, None, Some(0))
            } else {
                (Status::Unassigned, None, Some(0))
            };
            if let (true, Some(t)) = (take, &card.type_id) {
                let c = mdev_creates(self.node, &vf.name, Some(&card.address), t, 1, &self.taken);
                self.creates.extend(c);
            }
            self.rows.push(ParentPlan {
                address: vf.name.clone(),
                type_name: type_id
                    .as_ref()
                    .and_then(|id| type_of(vf, id))
                    .and_then(|t| t.name.clone()),
                existing: if type_id.is_some() {
                    here.len() as u32
                } else {
                    0
                },
                type_id,
                create,
                remove: gone,
                status,
            });
        }
    }

    fn vendor(&mut self, card: &Card, vfs: &[VfSlot]) {
        // a vendor card's type ID is always a number (it came from sysfs as one)
        let id = card.type_id.as_deref().and_then(|t| t.parse::<u32>().ok());
        let (true, Some(id), Some(n)) = (card.creates(), id, card.create) else {
            return;
        };
        for vf in vfs
            .iter()
            .filter(|v| v.is_free() && !v.cleared && v.can_create(id))
            .take(n as usize)
        {
            self.sets.push(Action::SetVgpuType(VfAction {
                address: vf.dev.address.clone(),
                gpu: Some(card.address.clone()),
                type_id: id,
                type_name: card.type_name.clone(),
            }));
        }
    }
}

fn type_of<'p>(p: &'p Parent, id: &str) -> Option<&'p MdevType> {
    p.types.iter().find(|t| t.id == id)
}

/// The mdevs that stay on a parent, and how many are removed from it.
fn mdevs_on<'i>(
    inv: &'i Inventory,
    parent: &str,
    removed: &BTreeSet<&str>,
) -> (Vec<&'i Mdev>, u32) {
    let here: Vec<&Mdev> = inv.mdevs_of(parent).collect();
    let gone = here
        .iter()
        .filter(|x| removed.contains(x.uuid.as_str()))
        .count() as u32;
    let stay = here
        .into_iter()
        .filter(|x| !removed.contains(x.uuid.as_str()))
        .collect();
    (stay, gone)
}

/// `n` create actions on `parent` with deterministic UUIDs not already on the host.
fn mdev_creates(
    node: &Node,
    parent: &str,
    gpu: Option<&str>,
    type_id: &str,
    n: u32,
    taken: &BTreeSet<&str>,
) -> Vec<Action> {
    let mut out = Vec::new();
    let mut index = 0;
    while (out.len() as u32) < n {
        let uuid = mdev_uuid(&node.name, parent, type_id, index).to_string();
        index += 1;
        if taken.contains(uuid.as_str()) {
            continue;
        }
        out.push(Action::Create(MdevAction {
            uuid,
            parent: parent.to_string(),
            gpu: gpu.map(String::from),
            type_id: type_id.to_string(),
            type_name: None,
        }));
    }
    out
}

/// A single mdev parent: KubeVirt's card.
fn parent_card(
    card: &mut Card,
    parent: &Parent,
    inv: &Inventory,
    removed: &BTreeSet<&str>,
    blocked: &[Blocked],
    m: &Matcher,
) {
    let (remaining, remove) = mdevs_on(inv, &parent.name, removed);
    card.remove = remove;
    card.freed = remove > 0 && remaining.is_empty();
    if blocked
        .iter()
        .any(|b| b.parent() == Some(parent.name.as_str()))
    {
        card.status = Status::Blocked;
    } else if !remaining.is_empty() {
        card.status = Status::Keep;
        if let Some(only) = single(remaining.iter().map(|x| x.type_id.as_ref())) {
            card.type_id = Some(only.clone());
            card.existing = remaining.len() as u32;
            let t = type_of(parent, only);
            card.type_name = t.and_then(|t| t.name.clone());
            if let Some(t) = t.filter(|t| m.position(&t.id, t.name.as_deref()).is_some()) {
                if t.available_instances > 0 {
                    card.status = Status::TopUp;
                    card.create = Some(t.available_instances);
                }
            }
        }
    } else {
        for t in &parent.types {
            let Some(pos) = m.position(&t.id, t.name.as_deref()) else {
                continue;
            };
            card.status = Status::Unassigned;
            let fits = if card.freed {
                t.max_instances != Some(0)
            } else {
                t.available_instances > 0
            };
            if fits {
                card.offers.push(Offer {
                    id: t.id.clone(),
                    pos,
                    name: t.name.clone(),
                    count: creatable(t, card.freed),
                });
            }
        }
    }
}

/// A physical GPU whose VFs are mdev parents: one type for the whole GPU, one instance
/// per free VF, at most the type's `max_instance` in all.
fn vf_gpu_card(
    card: &mut Card,
    vfs: &[&Parent],
    inv: &Inventory,
    removed: &BTreeSet<&str>,
    blocked: &[Blocked],
    m: &Matcher,
) {
    let mut remaining: Vec<&Mdev> = Vec::new();
    let mut free: Vec<&Parent> = Vec::new();
    for vf in vfs {
        let (stay, gone) = mdevs_on(inv, &vf.name, removed);
        card.remove += gone;
        if stay.is_empty() {
            free.push(vf);
        }
        remaining.extend(stay);
    }
    card.freed = card.remove > 0 && remaining.is_empty();
    // the GPU's types, described by the first VF that offers each
    let mut types: BTreeMap<&str, &MdevType> = BTreeMap::new();
    for vf in vfs {
        for t in &vf.types {
            types.entry(t.id.as_str()).or_insert(t);
        }
    }
    let available = |id: &str| {
        free.iter()
            .filter(|vf| type_of(vf, id).is_some_and(|t| t.available_instances > 0))
            .count() as u32
    };
    if vfs
        .iter()
        .any(|vf| blocked.iter().any(|b| b.parent() == Some(vf.name.as_str())))
    {
        card.status = Status::Blocked;
        card.note = Some(MIXED_SIZES_NOTE.into());
    } else if !remaining.is_empty() {
        card.status = Status::Keep;
        match single(remaining.iter().map(|x| x.type_id.as_ref())) {
            Some(only) => {
                card.type_id = Some(only.clone());
                card.existing = remaining.len() as u32;
                let t = types.get(only.as_str()).copied();
                card.type_name = t.and_then(|t| t.name.clone());
                if let Some(t) = t.filter(|t| m.position(&t.id, t.name.as_deref()).is_some()) {
                    let room = t
                        .max_instances
                        .map_or(u32::MAX, |mx| mx.saturating_sub(card.existing));
                    let n = available(&t.id).min(room);
                    if n > 0 {
                        card.status = Status::TopUp;
                        card.create = Some(n);
                    }
                }
            }
            _ => card.note = Some(SEVERAL_TYPES_NOTE.into()),
        }
    } else {
        for t in types.values() {
            let Some(pos) = m.position(&t.id, t.name.as_deref()) else {
                continue;
            };
            card.status = Status::Unassigned;
            let (fits, count) = if card.freed {
                (
                    t.max_instances != Some(0),
                    t.max_instances.map(|mx| mx.min(free.len() as u32)),
                )
            } else {
                let n = available(&t.id).min(t.max_instances.unwrap_or(u32::MAX));
                (n > 0, Some(n))
            };
            if fits {
                card.offers.push(Offer {
                    id: t.id.clone(),
                    pos,
                    name: t.name.clone(),
                    count,
                });
            }
        }
    }
}

/// Which VFs of an mdev-VF GPU get the new instances: the first free ones (ascending)
/// on which the type is available (any free one when the GPU is emptied first).
fn chosen_vfs<'p>(
    card: &Card,
    vfs: &[&'p Parent],
    inv: &Inventory,
    removed: &BTreeSet<&str>,
) -> Vec<&'p str> {
    let (true, Some(t), Some(n)) = (card.creates(), &card.type_id, card.create) else {
        return Vec::new();
    };
    vfs.iter()
        .filter(|vf| mdevs_on(inv, &vf.name, removed).0.is_empty())
        .filter(|vf| card.freed || type_of(vf, t).is_some_and(|t| t.available_instances > 0))
        .take(n as usize)
        .map(|vf| vf.name.as_str())
        .collect()
}

const MIXED_SIZES_NOTE: &str =
    "an in-use vGPU of an undesired type stays, so this GPU takes no new type: \
     in equal-size mode a GPU hosts one vGPU size; mixed sizes need heterogeneous mode \
     (`nvidia-smi vgpu -i <gpu> -shm 1`, after `sriov-manage -e` and before any vGPU is created)";
const SEVERAL_TYPES_NOTE: &str =
    "carries several desired or external vGPU types (heterogeneous mode): left alone";

/// A GPU on NVIDIA's vendor-specific VFIO: clears undesired types on free VFs, then one
/// type for the whole GPU, set on free VFs that list it as creatable.
fn vendor_card(
    card: &mut Card,
    inv: &Inventory,
    names: &BTreeMap<String, BTreeMap<u32, String>>,
    m: &Matcher,
    plan: &mut Plan,
) {
    let Unit::Vendor(vfs) = &mut card.unit else {
        return;
    };
    let no_names = BTreeMap::new();
    let names = vfs
        .first()
        .and_then(|v| names.get(&v.dev.vendor_device()))
        .unwrap_or(&no_names);
    let name_of = |id: u32| names.get(&id).cloned();
    let Clears {
        remove,
        blocked,
        unnamed,
    } = vendor_clears(vfs, &card.address, inv, names, m, plan);
    card.remove = remove;
    let remaining: Vec<u32> = vfs
        .iter()
        .filter(|v| v.current != 0)
        .map(|v| v.current)
        .collect();
    let remaining_types: BTreeSet<u32> = remaining.iter().copied().collect();
    card.freed = remove > 0 && remaining.is_empty();
    // the GPU's maximum of a type (its memory over the type's size, one per VF) minus the
    // vGPUs of that size it keeps: the same figure as `list-types`
    let limits = inv
        .pci_device(&card.address)
        .map(|pf| vgpu::VendorLimits::of(inv, pf));
    let present: Vec<Option<&str>> = remaining
        .iter()
        .map(|id| names.get(id).map(String::as_str))
        .collect();
    let room = |name: Option<&str>| {
        limits
            .and_then(|l| l.room(name, &present))
            .unwrap_or(u32::MAX)
    };
    let free = |id: u32| {
        let n = vfs
            .iter()
            .filter(|v| v.is_free() && !v.cleared && v.can_create(id))
            .count() as u32;
        n.min(room(names.get(&id).map(String::as_str)))
    };
    if blocked {
        card.status = Status::Blocked;
        card.note = Some(MIXED_SIZES_NOTE.into());
    } else if !remaining.is_empty() {
        card.status = Status::Keep;
        if let [only] = remaining_types.iter().copied().collect::<Vec<_>>()[..] {
            let id = only.to_string();
            card.type_id = Some(id.clone());
            card.type_name = name_of(only);
            card.existing = remaining.len() as u32;
            if m.position(&id, card.type_name.as_deref()).is_some() {
                let n = free(only);
                if n > 0 {
                    card.status = Status::TopUp;
                    card.create = Some(n);
                    card.upper_bound = true;
                }
            }
        } else {
            card.note = Some(SEVERAL_TYPES_NOTE.into());
        }
        if !unnamed.is_empty() && card.note.is_none() {
            let ids: Vec<String> = unnamed.iter().map(u32::to_string).collect();
            card.note = Some(format!(
                "vGPU type {} cannot be named from sysfs (no VF lists it in creatable_vgpu_types any more): \
                 kept; to manage it, name it by its numeric ID in the configuration",
                ids.join(", ")
            ));
        }
    } else {
        // the types this GPU can create now, or (emptied first) every type known for the model
        let offered: BTreeMap<u32, String> = if card.freed {
            names.clone()
        } else {
            vfs.iter()
                .filter(|v| v.is_free())
                .filter_map(|v| v.dev.nvidia.as_ref())
                .flat_map(|n| n.creatable.iter().cloned())
                .collect()
        };
        if card.freed && !m.desired.is_empty() {
            card.status = Status::Unassigned;
            card.note = Some(
                "its vGPU types are cleared first; which desired type it can take is known only \
                 then (creatable_vgpu_types): apply re-plans after the clearing"
                    .into(),
            );
        }
        for (id, name) in offered {
            let Some(pos) = m.position(&id.to_string(), Some(&name)) else {
                continue;
            };
            card.note = None;
            card.status = Status::Unassigned;
            let count = if card.freed { None } else { Some(free(id)) };
            if count != Some(0) {
                card.offers.push(Offer {
                    id: id.to_string(),
                    pos,
                    name: Some(name),
                    count,
                });
            }
        }
    }
}

/// What clearing the undesired vGPU types of a vendor card's VFs did.
struct Clears {
    remove: u32,
    blocked: bool,
    /// Types no VF lists any more (cannot be named, so never cleared).
    unnamed: BTreeSet<u32>,
}

/// Clear the vGPU type of every VF that carries an undesired one (never one in use).
fn vendor_clears(
    vfs: &mut [VfSlot],
    gpu: &str,
    inv: &Inventory,
    names: &BTreeMap<u32, String>,
    m: &Matcher,
    plan: &mut Plan,
) -> Clears {
    let mut c = Clears {
        remove: 0,
        blocked: false,
        unnamed: BTreeSet::new(),
    };
    for vf in vfs.iter_mut() {
        if vf.current == 0 {
            continue;
        }
        let id = vf.current.to_string();
        let name = names.get(&vf.current).cloned();
        if name.is_none() && (m.keeps(&id, None) || !m.all_resolved(names)) {
            // cannot tell whether it is desired: never cleared (as an unreadable mdev type)
            if m.position(&id, None).is_none() {
                c.unnamed.insert(vf.current);
            }
            continue;
        }
        if m.keeps(&id, name.as_deref()) {
            continue;
        }
        let holders = inv.pci_holders(vf.dev);
        if holders.is_empty() {
            plan.actions.push(Action::ClearVgpuType(VfAction {
                address: vf.dev.address.clone(),
                gpu: Some(gpu.to_string()),
                type_id: vf.current,
                type_name: name,
            }));
            vf.current = 0;
            vf.cleared = true;
            vf.in_use = false;
            c.remove += 1;
        } else {
            c.blocked = true;
            plan.blocked.push(Blocked::Vf {
                address: vf.dev.address.clone(),
                gpu: Some(gpu.to_string()),
                type_id: vf.current,
                reason: crate::host::tree::in_use_by(&holders),
            });
        }
    }
    c
}

fn card_row(card: &Card) -> CardPlan {
    let (vfs, free) = match &card.unit {
        Unit::Parent(_) => (None, None),
        Unit::VfGpu(v) => (Some(v.len() as u32), None),
        Unit::Vendor(v) => (
            Some(v.len() as u32),
            Some(v.iter().filter(|x| x.is_free()).count() as u32),
        ),
    };
    CardPlan {
        address: card.address.clone(),
        kind: card.kind(),
        type_id: card.type_id.clone(),
        type_name: card.type_name.clone(),
        existing: card.existing,
        create: if card.creates() { card.create } else { Some(0) },
        create_is_upper_bound: card.upper_bound && card.creates(),
        remove: card.remove,
        status: card.status,
        vfs,
        free_vfs: free,
        note: card.note.clone(),
    }
}

/// How many instances of `t` can be created: what the kernel says now, or, on a parent
/// whose mdevs are removed first, the driver's published maximum (unknown without one).
fn creatable(t: &MdevType, freed: bool) -> Option<u32> {
    if freed {
        t.max_instances
    } else {
        Some(t.available_instances)
    }
}

/// The row of a parent when mdev handling is off: nothing changes.
fn hands_off(parent: &Parent, inv: &Inventory) -> ParentPlan {
    let here: Vec<&Mdev> = inv.mdevs_of(&parent.name).collect();
    let type_id = single(here.iter().map(|x| x.type_id.clone()));
    ParentPlan {
        type_name: type_id
            .as_ref()
            .and_then(|id| parent.types.iter().find(|t| &t.id == id))
            .and_then(|t| t.name.clone()),
        address: parent.name.clone(),
        type_id,
        existing: here.len() as u32,
        create: Some(0),
        remove: 0,
        status: Status::Keep,
    }
}

/// The row of a card when mdev handling is off: nothing changes.
fn hands_off_card(
    mut card: Card,
    inv: &Inventory,
    names: &BTreeMap<String, BTreeMap<u32, String>>,
) -> CardPlan {
    card.status = Status::Keep;
    match &card.unit {
        Unit::Parent(p) => {
            let here: Vec<&Mdev> = inv.mdevs_of(&p.name).collect();
            card.existing = here.len() as u32;
            if let Some(t) = single(here.iter().map(|x| x.type_id.as_deref())) {
                card.type_name = type_of(p, t).and_then(|t| t.name.clone());
                card.type_id = Some(t.to_string());
            }
        }
        Unit::VfGpu(vfs) => {
            let here: Vec<&Mdev> = vfs.iter().flat_map(|v| inv.mdevs_of(&v.name)).collect();
            card.existing = here.len() as u32;
            if let Some(t) = single(here.iter().map(|x| x.type_id.as_deref())) {
                card.type_name = vfs
                    .iter()
                    .find_map(|v| type_of(v, t))
                    .and_then(|t| t.name.clone());
                card.type_id = Some(t.to_string());
            }
        }
        Unit::Vendor(vfs) => {
            let here: Vec<u32> = vfs.iter().map(|v| v.current).filter(|c| *c != 0).collect();
            card.existing = here.len() as u32;
            if let Some(t) = single(here.iter().map(|c| Some(*c))) {
                card.type_name = vfs
                    .first()
                    .and_then(|v| names.get(&v.dev.vendor_device()))
                    .and_then(|n| n.get(&t))
                    .cloned();
                card.type_id = Some(t.to_string());
            }
        }
    }
    card_row(&card)
}

/// The one type every instance has; `None` when there are none, several types, or an
/// instance of unknown type. Every card and parent row asks this of what stays on it.
fn single<T: PartialEq>(mut types: impl Iterator<Item = Option<T>>) -> Option<T> {
    let first = types.next()??;
    for t in types {
        if t.as_ref() != Some(&first) {
            return None;
        }
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load::parse, load::Source};
    use crate::host::inventory::{Holder, Mdev, NvidiaVf, ParentKind, PciDevice};

    /// (id, name, max) of the T4 types the documentation's examples use.
    const T4: &[(&str, &str, u32)] = &[
        ("nvidia-222", "GRID T4-1B", 16),
        ("nvidia-223", "GRID T4-2B", 8),
        ("nvidia-224", "GRID T4-2B4", 8),
        ("nvidia-228", "GRID T4-8A", 2),
        ("nvidia-230", "GRID T4-1Q", 16),
        ("nvidia-234", "GRID T4-16Q", 1),
    ];
    const V100: &[(&str, &str, u32)] = &[
        ("nvidia-105", "GRID V100-1B", 16),
        ("nvidia-108", "GRID V100-8Q", 2),
        ("nvidia-217", "GRID V100-1Q", 16),
    ];

    fn card(addr: &str, types: &[(&str, &str, u32)]) -> Parent {
        Parent {
            name: addr.into(),
            kind: ParentKind::Pci,
            physfn: None,
            types: types
                .iter()
                .map(|(id, name, max)| MdevType {
                    id: id.to_string(),
                    name: Some(name.to_string()),
                    available_instances: *max,
                    device_api: Some("vfio-pci".into()),
                    description: Some(format!("max_instance={max}")),
                    max_instances: Some(*max),
                    partial: false,
                })
                .collect(),
        }
    }

    /// Put `n` mdevs of `type_id` on `parent`, applying the equal-size rule.
    fn with_mdevs(inv: &mut Inventory, parent: &str, type_id: &str, n: u32, first_group: u32) {
        let p = inv
            .parents
            .iter_mut()
            .find(|p| p.name == parent)
            .expect("parent");
        for t in &mut p.types {
            if t.id == type_id {
                t.available_instances -= n;
            } else {
                t.available_instances = 0;
            }
        }
        let name = p
            .types
            .iter()
            .find(|t| t.id == type_id)
            .and_then(|t| t.name.clone());
        for i in 0..n {
            inv.mdevs.push(Mdev {
                uuid: format!(
                    "{:08x}-0000-4000-8000-{:012x}",
                    first_group + i,
                    first_group + i
                ),
                parent: parent.into(),
                type_id: Some(type_id.into()),
                type_name: name.clone(),
                iommu_group: Some((first_group + i).to_string()),
                cdevs: vec![],
            });
        }
        inv.mdevs.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    }

    /// Process `pid` (`command`) holds `node` open.
    fn hold(inv: &mut Inventory, node: &str, pid: u32, command: &str) {
        inv.holders.insert(
            node.into(),
            vec![Holder {
                pid,
                command: command.into(),
            }],
        );
    }

    fn inv(parents: Vec<Parent>) -> Inventory {
        Inventory {
            parents,
            ..Default::default()
        }
    }

    fn cfg(yaml: &str) -> Config {
        parse(yaml, &Source::Stdin).expect("valid config")
    }

    fn node(name: &str) -> Node {
        Node::new(name, &[])
    }

    /// (address, type, create, status) per parent.
    fn summary(p: &Plan) -> Vec<(String, Option<String>, Option<u32>, &'static str)> {
        p.parents
            .iter()
            .map(|x| {
                (
                    x.address.clone(),
                    x.type_id.clone(),
                    x.create,
                    x.status.as_str(),
                )
            })
            .collect()
    }

    fn row(
        a: &str,
        t: Option<&str>,
        n: Option<u32>,
        s: &'static str,
    ) -> (String, Option<String>, Option<u32>, &'static str) {
        (a.into(), t.map(String::from), n, s)
    }

    #[test]
    fn three_t4_round_robin_in_desired_order() {
        let i = inv(vec![
            card("0000:3b:00.0", T4),
            card("0000:5e:00.0", T4),
            card("0000:86:00.0", T4),
        ]);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222, nvidia-228, nvidia-105, nvidia-108]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            summary(&p),
            vec![
                row("0000:3b:00.0", Some("nvidia-222"), Some(16), "create"),
                row("0000:5e:00.0", Some("nvidia-228"), Some(2), "create"),
                row("0000:86:00.0", Some("nvidia-222"), Some(16), "create"),
            ]
        );
        assert_eq!(p.count(ActionKind::Create), 34);
    }

    #[test]
    fn two_v100_get_105_then_108() {
        let i = inv(vec![card("0000:3b:00.0", V100), card("0000:5e:00.0", V100)]);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222, nvidia-228, nvidia-105, nvidia-108]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            summary(&p),
            vec![
                row("0000:3b:00.0", Some("nvidia-105"), Some(16), "create"),
                row("0000:5e:00.0", Some("nvidia-108"), Some(2), "create"),
            ]
        );
    }

    #[test]
    fn single_card_takes_first_supported_type() {
        let i = inv(vec![card("0000:3b:00.0", T4)]);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-22, nvidia-223, nvidia-224]\n");
        assert_eq!(
            summary(&plan(&c, &node("n"), &i)),
            vec![row("0000:3b:00.0", Some("nvidia-223"), Some(8), "create")]
        );
    }

    #[test]
    fn node_override_replaces_global_list() {
        let i = inv(vec![card("0000:3b:00.0", T4), card("0000:5e:00.0", T4)]);
        let c = cfg(concat!(
            "mediatedDevicesConfiguration:\n",
            "  mediatedDeviceTypes: [nvidia-230, nvidia-223, nvidia-224]\n",
            "  nodeMediatedDeviceTypes:\n",
            "  - nodeSelector: {kubernetes.io/hostname: node2}\n",
            "    mediatedDeviceTypes: [nvidia-234]\n"
        ));
        assert_eq!(
            summary(&plan(&c, &node("node1"), &i)),
            vec![
                row("0000:3b:00.0", Some("nvidia-230"), Some(16), "create"),
                row("0000:5e:00.0", Some("nvidia-223"), Some(8), "create"),
            ]
        );
        assert_eq!(
            summary(&plan(&c, &node("node2"), &i)),
            vec![
                row("0000:3b:00.0", Some("nvidia-234"), Some(1), "create"),
                row("0000:5e:00.0", Some("nvidia-234"), Some(1), "create"),
            ]
        );
    }

    #[test]
    fn matching_node_entries_are_merged_in_entry_order() {
        let c = cfg(concat!(
            "mediatedDevicesConfiguration:\n",
            "  mediatedDeviceTypes: [nvidia-230]\n",
            "  nodeMediatedDeviceTypes:\n",
            "  - nodeSelector: {gpu: t4}\n",
            "    mediatedDeviceTypes: [nvidia-234, nvidia-222]\n",
            "  - nodeSelector: {}\n",
            "    mediatedDeviceTypes: [nvidia-222, nvidia-223]\n",
            "  - nodeSelector: {gpu: v100}\n",
            "    mediatedDeviceTypes: [nvidia-105]\n",
        ));
        let n = Node::new("x", &[("gpu".into(), "t4".into())]);
        assert_eq!(
            c.desired_for(&n),
            Desired::Types(vec![
                "nvidia-234".into(),
                "nvidia-222".into(),
                "nvidia-223".into()
            ])
        );
    }

    #[test]
    fn empty_node_list_falls_back_to_global() {
        let c = cfg(concat!(
            "mediatedDevicesConfiguration:\n",
            "  mediatedDeviceTypes: [nvidia-230]\n",
            "  nodeMediatedDeviceTypes:\n",
            "  - nodeSelector: {kubernetes.io/hostname: x}\n",
            "    mediatedDeviceTypes: []\n",
        ));
        assert_eq!(
            c.desired_for(&node("x")),
            Desired::Types(vec!["nvidia-230".into()])
        );
    }

    #[test]
    fn desired_entry_matches_normalized_name() {
        let i = inv(vec![card("0000:3b:00.0", T4)]);
        for entry in ["GRID_T4-1B", "GRID T4-1B"] {
            let c = cfg(&format!(
                "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"{entry}\"]\n"
            ));
            assert_eq!(
                summary(&plan(&c, &node("n"), &i)),
                vec![row("0000:3b:00.0", Some("nvidia-222"), Some(16), "create")],
                "{entry}"
            );
        }
    }

    #[test]
    fn zero_available_is_not_a_candidate_so_the_parent_takes_another_type() {
        let mut c1 = card("0000:3b:00.0", T4);
        c1.types
            .iter_mut()
            .find(|t| t.id == "nvidia-222")
            .unwrap()
            .available_instances = 0;
        let i = inv(vec![c1]);
        let c =
            cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222, nvidia-228]\n");
        assert_eq!(
            summary(&plan(&c, &node("n"), &i)),
            vec![row("0000:3b:00.0", Some("nvidia-228"), Some(2), "create")]
        );
    }

    #[test]
    fn parent_with_one_desired_type_is_topped_up_and_full_one_kept() {
        let mut i = inv(vec![card("0000:3b:00.0", T4), card("0000:5e:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-222", 4, 100);
        with_mdevs(&mut i, "0000:5e:00.0", "nvidia-228", 2, 200);
        let c =
            cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222, nvidia-228]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            summary(&p),
            vec![
                row("0000:3b:00.0", Some("nvidia-222"), Some(12), "top-up"),
                row("0000:5e:00.0", Some("nvidia-228"), Some(0), "keep"),
            ]
        );
        assert_eq!(p.parents[0].existing, 4);
        assert_eq!(p.count(ActionKind::Create), 12);
        assert_eq!(p.count(ActionKind::Remove), 0);
    }

    #[test]
    fn parent_with_several_desired_types_is_left_alone() {
        let mut i = inv(vec![card(
            "mtty",
            &[
                ("mtty-1", "Single port serial", 24),
                ("mtty-2", "Dual port serial", 12),
            ],
        )]);
        i.parents[0].kind = ParentKind::Virtual;
        for (n, t) in [(1u32, "mtty-1"), (2, "mtty-2")] {
            i.mdevs.push(Mdev {
                uuid: format!("00000000-0000-4000-8000-00000000000{n}"),
                parent: "mtty".into(),
                type_id: Some(t.into()),
                type_name: None,
                iommu_group: Some(n.to_string()),
                cdevs: vec![],
            });
        }
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [mtty-1, mtty-2]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(summary(&p), vec![row("mtty", None, Some(0), "keep")]);
        assert!(p.actions.is_empty());
    }

    #[test]
    fn undesired_mdevs_are_removed_and_the_parent_reassigned_with_estimate() {
        let mut i = inv(vec![card("0000:3b:00.0", T4), card("0000:5e:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-230", 4, 100);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            summary(&p),
            vec![
                row("0000:3b:00.0", Some("nvidia-222"), Some(16), "create"),
                row("0000:5e:00.0", Some("nvidia-222"), Some(16), "create"),
            ]
        );
        assert_eq!(p.count(ActionKind::Remove), 4);
        // removals come first
        assert_eq!(p.actions[0].kind(), ActionKind::Remove);
        assert_eq!(p.actions[4].kind(), ActionKind::Create);
        assert_eq!(p.parents[0].remove, 4);
    }

    #[test]
    fn freed_parent_without_published_maximum_has_unknown_count() {
        let mut i = inv(vec![card("0000:3b:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-230", 1, 100);
        for t in &mut i.parents[0].types {
            t.max_instances = None;
        }
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            summary(&p),
            vec![row("0000:3b:00.0", Some("nvidia-222"), None, "create")]
        );
        assert_eq!(p.count(ActionKind::Create), 0);
        assert!(!p.is_noop());
    }

    #[test]
    fn in_use_mdev_is_blocked_not_removed() {
        let mut i = inv(vec![card("0000:3b:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-230", 2, 100);
        hold(&mut i, "/dev/vfio/101", 4242, "qemu-system-x86");
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(p.count(ActionKind::Remove), 1);
        assert_eq!(p.count(ActionKind::Create), 0);
        assert_eq!(p.blocked.len(), 1);
        assert_eq!(
            p.blocked[0].reason(),
            "in use by pid 4242 (qemu-system-x86)"
        );
        assert_eq!(
            summary(&p),
            vec![row("0000:3b:00.0", None, Some(0), "blocked")]
        );
    }

    #[test]
    fn external_provider_types_are_kept() {
        let mut i = inv(vec![card("0000:3b:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-230", 2, 100);
        let c = cfg(concat!(
            "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n",
            "permittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: GRID T4-1Q\n",
            "    resourceName: nvidia.com/GRID_T4-1Q\n    externalResourceProvider: true\n",
        ));
        let p = plan(&c, &node("n"), &i);
        assert!(p.actions.is_empty());
        assert_eq!(
            summary(&p),
            vec![row("0000:3b:00.0", Some("nvidia-230"), Some(0), "keep")]
        );
    }

    #[test]
    fn a_hands_off_card_shows_a_type_only_when_every_instance_has_it() {
        assert_eq!(single([Some("a"), Some("a")].into_iter()), Some("a"));
        assert_eq!(single([Some("a"), Some("b")].into_iter()), None);
        assert_eq!(single([Some("a"), None].into_iter()), None);
        assert_eq!(single([None, Some("a")].into_iter()), None);
        assert_eq!(single(std::iter::empty::<Option<u32>>()), None);
        let mut i = inv(vec![card("0000:3b:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-230", 1, 100);
        // a second type on the same card (a heterogeneous host, or one changed by hand)
        let mut other = i.mdevs[0].clone();
        other.uuid = "000000c8-0000-4000-8000-0000000000c8".into();
        other.type_id = Some("nvidia-222".into());
        i.mdevs.push(other);
        let p = plan(&cfg("permittedHostDevices: {}\n"), &node("n"), &i);
        assert_eq!(
            summary(&p),
            vec![row("0000:3b:00.0", None, Some(0), "keep")]
        );
        assert_eq!(p.cards[0].existing, 2);
    }

    #[test]
    fn no_section_or_disabled_changes_nothing() {
        let mut i = inv(vec![card("0000:3b:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-230", 2, 100);
        for yaml in [
            "permittedHostDevices: {}\n",
            "mediatedDevicesConfiguration:\n  enabled: false\n  mediatedDeviceTypes: [nvidia-222]\n",
        ] {
            let p = plan(&cfg(yaml), &node("n"), &i);
            assert!(p.actions.is_empty(), "{yaml}");
            assert!(p.is_noop());
            assert_eq!(summary(&p), vec![row("0000:3b:00.0", Some("nvidia-230"), Some(0), "keep")]);
        }
    }

    #[test]
    fn explicit_empty_list_removes_every_removable_mdev() {
        let mut i = inv(vec![card("0000:3b:00.0", T4)]);
        with_mdevs(&mut i, "0000:3b:00.0", "nvidia-230", 3, 100);
        let p = plan(
            &cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: []\n"),
            &node("n"),
            &i,
        );
        assert_eq!(p.count(ActionKind::Remove), 3);
        assert_eq!(p.count(ActionKind::Create), 0);
        assert_eq!(
            summary(&p),
            vec![row("0000:3b:00.0", None, Some(0), "unsupported")]
        );
    }

    #[test]
    fn unsupported_and_unassigned_statuses() {
        let i = inv(vec![
            card("0000:3b:00.0", T4),
            card("0000:5e:00.0", V100),
            card("0000:86:00.0", T4),
        ]);
        let mut c2 = i.clone();
        c2.parents[2]
            .types
            .iter_mut()
            .for_each(|t| t.available_instances = 0);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n");
        assert_eq!(
            summary(&plan(&c, &node("n"), &c2)),
            vec![
                row("0000:3b:00.0", Some("nvidia-222"), Some(16), "create"),
                row("0000:5e:00.0", None, Some(0), "unsupported"),
                row("0000:86:00.0", None, Some(0), "unassigned"),
            ]
        );
    }

    #[test]
    fn uuids_are_deterministic_v5_and_skip_existing() {
        let u = mdev_uuid("node1", "0000:3b:00.0", "nvidia-222", 0);
        assert_eq!(u.get_version_num(), 5);
        assert_eq!(u, mdev_uuid("node1", "0000:3b:00.0", "nvidia-222", 0));
        assert_ne!(u, mdev_uuid("node2", "0000:3b:00.0", "nvidia-222", 0));
        assert_ne!(u, mdev_uuid("node1", "0000:3b:00.0", "nvidia-222", 1));
        // the pinned value: a change here changes every host's UUIDs after an upgrade
        assert_eq!(u.to_string(), "a93387bc-bac0-59d5-815b-cd277e566f7f");

        let mut i = inv(vec![card(
            "0000:3b:00.0",
            &[("nvidia-222", "GRID T4-1B", 3)],
        )]);
        let first = mdev_uuid("n", "0000:3b:00.0", "nvidia-222", 0).to_string();
        i.parents[0].types[0].available_instances = 2;
        i.mdevs.push(Mdev {
            uuid: first.clone(),
            parent: "0000:3b:00.0".into(),
            type_id: Some("nvidia-222".into()),
            type_name: Some("GRID T4-1B".into()),
            iommu_group: Some("7".into()),
            cdevs: vec![],
        });
        let p = plan(
            &cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n"),
            &node("n"),
            &i,
        );
        let created: Vec<String> = p
            .actions
            .iter()
            .filter_map(|a| a.uuid())
            .map(String::from)
            .collect();
        assert_eq!(
            created,
            vec![
                mdev_uuid("n", "0000:3b:00.0", "nvidia-222", 1).to_string(),
                mdev_uuid("n", "0000:3b:00.0", "nvidia-222", 2).to_string()
            ]
        );
    }

    #[test]
    fn plan_is_byte_identical_across_runs() {
        let mut i = inv(vec![
            card("0000:3b:00.0", T4),
            card("0000:5e:00.0", T4),
            card("0000:86:00.0", V100),
        ]);
        with_mdevs(&mut i, "0000:5e:00.0", "nvidia-230", 3, 100);
        let c =
            cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-108, nvidia-222]\n");
        let a = serde_json::to_string(&plan(&c, &node("n"), &i)).unwrap();
        let b = serde_json::to_string(&plan(&c, &node("n"), &i)).unwrap();
        assert_eq!(a, b);
    }
    // ---- cards: SR-IOV GPUs (mdev on VFs) and vendor-specific VFIO ----------------

    const A40: &[(&str, &str, u32)] = &[
        ("nvidia-557", "NVIDIA A40-4Q", 12),
        ("nvidia-558", "NVIDIA A40-8Q", 6),
        ("nvidia-562", "NVIDIA A40-48Q", 1),
    ];

    /// The VFs of an A40 at `pf` (`00.0` of its bus): `n` mdev parents, one instance each.
    fn a40(pf: &str, n: u32) -> Vec<Parent> {
        let bus = &pf[..pf.len() - 4];
        (0..n)
            .map(|i| {
                let devfn = 4 + i;
                let mut p = card(&format!("{bus}{:02x}.{}", devfn >> 3, devfn & 7), A40);
                p.kind = ParentKind::Vf;
                p.physfn = Some(pf.into());
                p.types.iter_mut().for_each(|t| t.available_instances = 1);
                p
            })
            .collect()
    }

    /// One mdev of `type_id` on the VF `vf`; then the equal-size rule on the GPU's VFs:
    /// occupied VFs offer nothing, free ones only that type while it has room.
    fn vf_mdev(inv: &mut Inventory, vf: &str, type_id: &str, group: u32) {
        inv.mdevs.push(Mdev {
            uuid: format!("{group:08x}-0000-4000-8000-{group:012x}"),
            parent: vf.into(),
            type_id: Some(type_id.into()),
            type_name: None,
            iommu_group: Some(group.to_string()),
            cdevs: vec![],
        });
        inv.mdevs.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        let pf = inv.parent(vf).and_then(|p| p.physfn.clone()).unwrap();
        let on_gpu: Vec<(String, Option<String>)> = inv
            .mdevs
            .iter()
            .filter(|m| {
                inv.parent(&m.parent)
                    .is_some_and(|p| p.physfn.as_deref() == Some(pf.as_str()))
            })
            .map(|m| (m.parent.clone(), m.type_id.clone()))
            .collect();
        for p in inv
            .parents
            .iter_mut()
            .filter(|p| p.physfn.as_deref() == Some(pf.as_str()))
        {
            let busy = on_gpu.iter().any(|(parent, _)| *parent == p.name);
            for t in &mut p.types {
                let used = on_gpu
                    .iter()
                    .filter(|(_, x)| x.as_deref() == Some(t.id.as_str()))
                    .count() as u32;
                let others = on_gpu.len() as u32 - used;
                t.available_instances =
                    u32::from(!busy && others == 0 && used < t.max_instances.unwrap());
            }
        }
    }

    fn cards_summary(p: &Plan) -> Vec<(String, Option<String>, Option<u32>, &'static str)> {
        p.cards
            .iter()
            .map(|c| {
                (
                    c.address.clone(),
                    c.type_id.clone(),
                    c.create,
                    c.status.as_str(),
                )
            })
            .collect()
    }

    /// The VFs whose vGPU type the plan clears.
    fn cleared_on(p: &Plan) -> Vec<String> {
        p.actions
            .iter()
            .filter_map(|a| match a {
                Action::ClearVgpuType(v) => Some(v.address.clone()),
                _ => None,
            })
            .collect()
    }

    fn created_on(p: &Plan) -> Vec<String> {
        p.actions
            .iter()
            .filter(|a| !a.kind().is_removal())
            .map(|a| match a {
                Action::Remove(m) | Action::Create(m) => m.parent.clone(),
                Action::SetVgpuType(v) | Action::ClearVgpuType(v) => v.address.clone(),
            })
            .collect()
    }

    #[test]
    fn a40_gets_one_type_per_gpu_up_to_max_instance() {
        let i = inv(a40("0000:41:00.0", 32));
        let c =
            cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-558, nvidia-557]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            cards_summary(&p),
            vec![row("0000:41:00.0", Some("nvidia-558"), Some(6), "create")]
        );
        assert_eq!(p.cards[0].kind, CardKind::MdevVfGpu);
        assert_eq!(p.cards[0].vfs, Some(32));
        assert_eq!(
            created_on(&p),
            vec![
                "0000:41:00.4",
                "0000:41:00.5",
                "0000:41:00.6",
                "0000:41:00.7",
                "0000:41:01.0",
                "0000:41:01.1"
            ]
        );
        assert!(p.actions.iter().all(|a| a.gpu() == Some("0000:41:00.0")));
        // parents[] stays one row per VF: six create, the rest unassigned
        assert_eq!(p.parents.len(), 32);
        assert_eq!(
            p.parents
                .iter()
                .filter(|r| r.status == Status::Create)
                .count(),
            6
        );
        assert_eq!(p.parents[6].status, Status::Unassigned);
        assert_eq!(p.parents[0].create, Some(1));
    }

    #[test]
    fn fewer_free_vfs_than_max_instance_limit_the_count() {
        let i = inv(a40("0000:41:00.0", 4));
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-557]\n");
        assert_eq!(
            cards_summary(&plan(&c, &node("n"), &i)),
            vec![row("0000:41:00.0", Some("nvidia-557"), Some(4), "create")]
        );
    }

    #[test]
    fn two_a40_round_robin_over_gpus_not_vfs() {
        let mut parents = a40("0000:41:00.0", 32);
        parents.extend(a40("0000:c1:00.0", 32));
        let i = inv(parents);
        let c =
            cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-558, nvidia-557]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            cards_summary(&p),
            vec![
                row("0000:41:00.0", Some("nvidia-558"), Some(6), "create"),
                row("0000:c1:00.0", Some("nvidia-557"), Some(12), "create"),
            ]
        );
        assert_eq!(p.count(ActionKind::Create), 18);
        // no GPU is asked for two types
        for gpu in ["0000:41:", "0000:c1:"] {
            let types: BTreeSet<&str> = p
                .actions
                .iter()
                .filter_map(|a| a.mdev())
                .filter(|a| a.parent.starts_with(gpu))
                .map(|a| a.type_id.as_str())
                .collect();
            assert_eq!(types.len(), 1, "{gpu}");
        }
    }

    #[test]
    fn gpu_whose_vfs_carry_one_desired_type_is_topped_up() {
        let mut i = inv(a40("0000:41:00.0", 32));
        vf_mdev(&mut i, "0000:41:00.5", "nvidia-558", 100);
        vf_mdev(&mut i, "0000:41:01.0", "nvidia-558", 101);
        let c =
            cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-557, nvidia-558]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            cards_summary(&p),
            vec![row("0000:41:00.0", Some("nvidia-558"), Some(4), "top-up")]
        );
        assert_eq!(p.cards[0].existing, 2);
        assert_eq!(
            created_on(&p),
            vec![
                "0000:41:00.4",
                "0000:41:00.6",
                "0000:41:00.7",
                "0000:41:01.1"
            ]
        );
        let kept: Vec<_> = p
            .parents
            .iter()
            .filter(|r| r.status == Status::Keep)
            .map(|r| r.address.as_str())
            .collect();
        assert_eq!(kept, vec!["0000:41:00.5", "0000:41:01.0"]);
    }

    #[test]
    fn gpu_with_mixed_desired_types_is_left_alone() {
        let mut i = inv(a40("0000:41:00.0", 8));
        // heterogeneous: set up by hand, the equal-size rule does not apply
        for (vf, t, g) in [
            ("0000:41:00.4", "nvidia-557", 100),
            ("0000:41:00.5", "nvidia-558", 101),
        ] {
            i.mdevs.push(Mdev {
                uuid: format!("{g:08x}-0000-4000-8000-{g:012x}"),
                parent: vf.into(),
                type_id: Some(t.into()),
                type_name: None,
                iommu_group: Some(g.to_string()),
                cdevs: vec![],
            });
        }
        let c =
            cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-557, nvidia-558]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            cards_summary(&p),
            vec![row("0000:41:00.0", None, Some(0), "keep")]
        );
        assert!(p.actions.is_empty());
        assert!(p.cards[0].note.as_deref().unwrap().contains("several"));
    }

    #[test]
    fn in_use_undesired_vf_mdev_blocks_its_gpu_only() {
        let mut parents = a40("0000:41:00.0", 8);
        parents.extend(a40("0000:c1:00.0", 8));
        let mut i = inv(parents);
        vf_mdev(&mut i, "0000:41:00.4", "nvidia-562", 100);
        vf_mdev(&mut i, "0000:c1:00.4", "nvidia-562", 200);
        hold(&mut i, "/dev/vfio/100", 77, "qemu-system-x86");
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-557]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            cards_summary(&p),
            vec![
                row("0000:41:00.0", None, Some(0), "blocked"),
                row("0000:c1:00.0", Some("nvidia-557"), Some(8), "create"),
            ]
        );
        assert_eq!(p.blocked.len(), 1);
        assert_eq!(p.blocked[0].parent(), Some("0000:41:00.4"));
        assert_eq!(p.count(ActionKind::Remove), 1);
        assert!(p.cards[0]
            .note
            .as_deref()
            .unwrap()
            .contains("heterogeneous mode"));
        // the freed GPU: estimated from max_instance, capped by its VFs
        assert_eq!(p.cards[1].remove, 1);
    }

    /// An L40S-like GPU on vendor-specific VFIO: `n` VFs; `configured` (index, type ID).
    fn l40s(inv: &mut Inventory, pf: &str, n: u32, configured: &[(u32, u32)], group: u32) {
        const TYPES: &[(u32, &str, u32)] = &[
            (1145, "NVIDIA L40S-1B", 1),
            (1152, "NVIDIA L40S-8Q", 8),
            (1156, "NVIDIA L40S-48Q", 48),
        ];
        let bus = &pf[..pf.len() - 4];
        let fb: Option<u32> = configured
            .first()
            .map(|(_, t)| TYPES.iter().find(|x| x.0 == *t).unwrap().2);
        let room = fb.map(|f| (48 / f).min(n) as usize > configured.len());
        inv.pci.push(PciDevice {
            address: pf.into(),
            vendor: "10de".into(),
            device: "26b9".into(),
            class: "030200".into(),
            driver: Some("nvidia".into()),
            sriov_totalvfs: Some(32),
            sriov_numvfs: Some(n),
            ..Default::default()
        });
        for i in 0..n {
            let devfn = 4 + i;
            let cur = configured
                .iter()
                .find(|(x, _)| *x == i)
                .map_or(0, |(_, t)| *t);
            let creatable = TYPES
                .iter()
                .filter(|(_, _, f)| {
                    cur == 0
                        && match (fb, room) {
                            (Some(x), Some(true)) => *f == x,
                            (Some(_), _) => false,
                            (None, _) => true,
                        }
                })
                .map(|(id, name, _)| (*id, name.to_string()))
                .collect();
            inv.pci.push(PciDevice {
                address: format!("{bus}{:02x}.{}", devfn >> 3, devfn & 7),
                vendor: "10de".into(),
                device: "26b9".into(),
                class: "030200".into(),
                driver: Some("nvidia".into()),
                physfn: Some(pf.into()),
                iommu_group: Some((group + i).to_string()),
                nvidia: Some(NvidiaVf {
                    current_vgpu_type: cur,
                    creatable,
                }),
                ..Default::default()
            });
        }
        inv.pci.sort_by(|a, b| a.address.cmp(&b.address));
    }

    #[test]
    fn vendor_vfio_type_by_name_or_id_sets_free_vfs() {
        for entry in ["NVIDIA L40S-1B", "NVIDIA_L40S-1B", "1145"] {
            let mut i = inv(vec![]);
            l40s(&mut i, "0000:41:00.0", 4, &[], 100);
            let c = cfg(&format!(
                "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"{entry}\"]\n"
            ));
            let p = plan(&c, &node("n"), &i);
            assert_eq!(
                cards_summary(&p),
                vec![row("0000:41:00.0", Some("1145"), Some(4), "create")],
                "{entry}"
            );
            assert!(p.cards[0].create_is_upper_bound);
            assert_eq!(p.cards[0].kind, CardKind::VendorVfioGpu);
            assert_eq!(p.count(ActionKind::SetVgpuType), 4);
            let a = &p.actions[0];
            let a = a.vf().unwrap();
            assert_eq!(a.address, "0000:41:00.4");
            assert_eq!(a.type_name.as_deref(), Some("NVIDIA L40S-1B"));
            assert!(p.parents.is_empty());
        }
    }

    #[test]
    fn vendor_vfio_top_up_skips_configured_and_in_use_vfs() {
        let mut i = inv(vec![]);
        l40s(&mut i, "0000:61:00.0", 8, &[(0, 1152), (1, 1152)], 100);
        hold(&mut i, "/dev/vfio/100", 9, "qemu");
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [NVIDIA L40S-1B, NVIDIA L40S-8Q]\n");
        let p = plan(&c, &node("n"), &i);
        // six free VFs list 8Q, but 48 GB hold six 8 GB vGPUs and two are there
        assert_eq!(
            cards_summary(&p),
            vec![row("0000:61:00.0", Some("1152"), Some(4), "top-up")]
        );
        assert_eq!(p.cards[0].existing, 2);
        assert!(!created_on(&p)
            .iter()
            .any(|a| a == "0000:61:00.4" || a == "0000:61:00.5"));
        assert!(p.blocked.is_empty());
    }

    #[test]
    fn vendor_vfio_count_is_bounded_by_what_the_gpu_holds() {
        let mut i = inv(vec![]);
        l40s(&mut i, "0000:41:00.0", 32, &[], 100);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [NVIDIA L40S-48Q]\n");
        let p = plan(&c, &node("n"), &i);
        // 32 free VFs list 48Q, but an L40S holds one
        assert_eq!(
            cards_summary(&p),
            vec![row("0000:41:00.0", Some("1156"), Some(1), "create")]
        );
        assert_eq!(p.count(ActionKind::SetVgpuType), 1);
    }

    #[test]
    fn vendor_vfio_undesired_type_is_cleared_unless_in_use() {
        let mut i = inv(vec![]);
        l40s(&mut i, "0000:41:00.0", 4, &[(0, 1152), (1, 1152)], 100);
        l40s(&mut i, "0000:61:00.0", 4, &[(0, 1152)], 200);
        hold(&mut i, "/dev/vfio/200", 9, "qemu");
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [NVIDIA L40S-1B]\n");
        let p = plan(&c, &node("n"), &i);
        let clears = cleared_on(&p);
        assert_eq!(clears, vec!["0000:41:00.4", "0000:41:00.5"]);
        assert_eq!(p.blocked.len(), 1);
        assert!(matches!(&p.blocked[0], Blocked::Vf { address, .. } if address == "0000:61:00.4"));
        assert_eq!(p.blocked[0].reason(), "in use by pid 9 (qemu)");
        // no VF on the host lists 1145 now (equal-size mode): known only after the clearing
        assert_eq!(
            cards_summary(&p),
            vec![
                row("0000:41:00.0", None, Some(0), "unassigned"),
                row("0000:61:00.0", None, Some(0), "blocked"),
            ]
        );
        assert!(p.cards[0].note.as_deref().unwrap().contains("re-plans"));
        assert!(!p.is_noop());

        // with a fresh GPU of the same model that names 1145, the emptied one takes it too,
        // its count unknown until the clearing (creatable_vgpu_types read now is stale)
        l40s(&mut i, "0000:81:00.0", 4, &[], 300);
        let p = plan(&c, &node("n"), &i);
        assert_eq!(
            cards_summary(&p),
            vec![
                row("0000:41:00.0", Some("1145"), None, "create"),
                row("0000:61:00.0", None, Some(0), "blocked"),
                row("0000:81:00.0", Some("1145"), Some(4), "create"),
            ]
        );
        assert_eq!(p.count(ActionKind::SetVgpuType), 4);
    }

    #[test]
    fn vendor_vfio_type_that_cannot_be_named_is_kept_and_shown_by_id() {
        let mut i = inv(vec![]);
        l40s(&mut i, "0000:41:00.0", 4, &[(0, 1156)], 100);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [NVIDIA L40S-1B]\n");
        let p = plan(&c, &node("n"), &i);
        assert!(p.actions.is_empty());
        assert_eq!(
            cards_summary(&p),
            vec![row("0000:41:00.0", Some("1156"), Some(0), "keep")]
        );
        assert_eq!(p.cards[0].type_name, None);
        assert!(p.cards[0]
            .note
            .as_deref()
            .unwrap()
            .contains("cannot be named"));
        // named by ID in the configuration, it is simply kept
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"1156\"]\n");
        let p = plan(&c, &node("n"), &i);
        assert!(p.is_noop());
        assert_eq!(p.cards[0].note, None);
    }

    #[test]
    fn vendor_vfio_unnamed_type_is_cleared_when_every_desired_entry_is_an_id() {
        // a full card (only the header is listed): its type has no name, but a desired list
        // of type IDs cannot mean it, so it is undesired: cleared on idle VFs (type change)
        let mut i = inv(vec![]);
        l40s(&mut i, "0000:41:00.0", 4, &[(0, 1156)], 100);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"1150\"]\n");
        let p = plan(&c, &node("n"), &i);
        let clears = cleared_on(&p);
        assert_eq!(clears, vec!["0000:41:00.4"]);
        assert!(!p.is_noop());
        // a desired name no VF lists could be that type: kept, as before
        let c = cfg(
            "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"1150\", NVIDIA L40S-4Q]\n",
        );
        let p = plan(&c, &node("n"), &i);
        assert!(p.actions.is_empty());
        assert!(p.cards[0]
            .note
            .as_deref()
            .unwrap()
            .contains("cannot be named"));
    }

    #[test]
    fn pf_and_vf_cards_share_one_ring_in_address_order() {
        let mut parents = vec![card("0000:3b:00.0", T4)];
        parents.extend(a40("0000:41:00.0", 8));
        let mut i = inv(parents);
        l40s(&mut i, "0000:61:00.0", 4, &[], 100);
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222, nvidia-558, \"1145\"]\n");
        assert_eq!(
            cards_summary(&plan(&c, &node("n"), &i)),
            vec![
                row("0000:3b:00.0", Some("nvidia-222"), Some(16), "create"),
                row("0000:41:00.0", Some("nvidia-558"), Some(6), "create"),
                row("0000:61:00.0", Some("1145"), Some(4), "create"),
            ]
        );
    }
}
