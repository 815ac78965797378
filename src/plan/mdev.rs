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
//!
//! This file holds the steps (removals, round-robin, creations), the cards and the type
//! matcher; each card kind's state after the removals is `mdev/parents.rs` (a single mdev
//! parent, a GPU whose VFs are mdev parents) or `mdev/vendor.rs` (vendor-VFIO GPUs), the
//! rows when mdev handling is off `mdev/hands_off.rs`, the VF counts it adds to the plan
//! `plan/sriov.rs`, and the document it returns `plan/document.rs`.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::config::{model::normalize, model::Config, node::Node, selectors::Desired};
use crate::host::inventory::{Inventory, Mdev, MdevType, Parent, ParentKind, PciDevice};
use crate::host::vgpu;
use crate::plan::document::{
    Action, Blocked, CardKind, CardPlan, MdevAction, MdevHandling, ParentPlan, Plan, Problem,
    Schema, Status, VfAction,
};

mod hands_off;
mod parents;
mod vendor;

/// The fixed namespace of hostdev's mdev UUIDs (UUIDv5 over node, parent, type, index).
pub(crate) const UUID_NAMESPACE: Uuid = Uuid::from_u128(0x8f0c5e3a_6b1d_4c52_9a7e_2d4f1b6c9e10);

/// The deterministic UUID of the `index`-th instance of `type_id` on `parent` for `node`.
pub(crate) fn mdev_uuid(node: &str, parent: &str, type_id: &str, index: u32) -> Uuid {
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
pub(crate) fn plan(config: &Config, node: &Node, inv: &Inventory) -> Plan {
    let (mut plan, list) = empty_plan(config, node);
    let names = vgpu::vendor_type_names(inv);
    let Some(list) = list else {
        plan.parents = inv
            .parents
            .iter()
            .map(|p| hands_off::hands_off(p, inv))
            .collect();
        plan.cards = cards(inv)
            .into_iter()
            .map(|c| hands_off::hands_off_card(c, inv, &names))
            .collect();
        return plan;
    };
    if !list.is_empty() {
        plan.problems = gpu_problems(inv);
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
    assess(&mut cards, inv, &removed, &names, &m, &mut plan);

    // Step C: round-robin in desired-list order (ties by type ID), one type per card.
    round_robin(&mut cards);

    // Step D: creations, with deterministic UUIDs that skip any already on the host.
    creations(&cards, node, inv, &removed, &mut plan);
    plan.cards = cards.iter().map(card_row).collect();
    virtual_functions(config, node, inv, &kept, &mut plan);
    plan
}

/// Step E (a hostdev extension): the GPUs whose VFs `hostdev.virtualFunctions` has hostdev
/// enable go between the removals and the creations; a GPU whose VFs will be enabled no
/// longer has the problem of having none, and gets no creations now (its vGPUs are
/// planned once its new VFs exist).
fn virtual_functions(
    config: &Config,
    node: &Node,
    inv: &Inventory,
    kept: &[String],
    plan: &mut Plan,
) {
    let vfs = crate::plan::sriov::plan(config.vfs_for(node), kept, inv);
    let enabled: Vec<&str> = vfs
        .actions
        .iter()
        .filter(|a| a.kind() == crate::plan::document::ActionKind::EnableVfs)
        .map(|a| a.gpu_key())
        .collect();
    plan.problems
        .retain(|p| !enabled.contains(&p.address.as_str()));
    // a GPU whose count changes loses its VFs first: nothing is created on them now
    plan.actions
        .retain(|a| a.kind().is_removal() || !enabled.contains(&a.gpu_key()));
    plan.problems.extend(vfs.problems);
    plan.blocked.extend(vfs.blocked);
    let at = plan
        .actions
        .iter()
        .position(|a| !a.kind().is_removal())
        .unwrap_or(plan.actions.len());
    plan.actions.splice(at..at, vfs.actions);
}

/// The plan before any step: its header (node, mdev handling, desired types) and no rows.
/// Also returns the desired list, `None` when mdev handling is off.
fn empty_plan(config: &Config, node: &Node) -> (Plan, Option<Vec<String>>) {
    let desired = config.desired_for(node);
    let (handling, list) = match &desired {
        Desired::NotConfigured => (MdevHandling::NotConfigured, None),
        Desired::Disabled => (MdevHandling::Disabled, None),
        Desired::Types(list) => (MdevHandling::Enabled, Some(list.clone())),
    };
    let plan = Plan {
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
    (plan, list)
}

/// The GPUs that cannot take vGPUs until a precondition is fixed.
fn gpu_problems(inv: &Inventory) -> Vec<Problem> {
    vgpu::gpus(inv)
        .into_iter()
        .filter_map(|g| {
            g.problem.map(|message| Problem {
                address: g.address,
                message,
            })
        })
        .collect()
}

/// Step B: each card's state after the removals, and the desired types it offers.
fn assess(
    cards: &mut [Card],
    inv: &Inventory,
    removed: &BTreeSet<&str>,
    names: &BTreeMap<String, BTreeMap<u32, String>>,
    m: &Matcher,
    plan: &mut Plan,
) {
    for card in cards {
        match &card.unit {
            Unit::Parent(p) => {
                let p = *p;
                parents::parent_card(card, p, inv, removed, &plan.blocked, m)
            }
            Unit::VfGpu(vfs) => {
                let vfs = vfs.clone();
                parents::vf_gpu_card(card, &vfs, inv, removed, &plan.blocked, m)
            }
            Unit::Vendor(_) => vendor::vendor_card(card, inv, names, m, plan),
        }
    }
}

/// Step D: the create and set-vgpu-type actions of the assigned cards (after the
/// removals, creations before type sets), and the `parents` rows in address order.
fn creations(
    cards: &[Card],
    node: &Node,
    inv: &Inventory,
    removed: &BTreeSet<&str>,
    plan: &mut Plan,
) {
    let mut emit = Emit {
        node,
        inv,
        removed,
        blocked: &plan.blocked,
        taken: inv.mdevs.iter().map(|x| x.uuid.as_str()).collect(),
        creates: Vec::new(),
        sets: Vec::new(),
        rows: Vec::new(),
    };
    for card in cards {
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
        let chosen = parents::chosen_vfs(card, vfs, self.inv, self.removed);
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

const MIXED_SIZES_NOTE: &str =
    "an in-use vGPU of an undesired type stays, so this GPU takes no new type: \
     in equal-size mode a GPU hosts one vGPU size; mixed sizes need heterogeneous mode \
     (`nvidia-smi vgpu -i <gpu> -shm 1`, after `sriov-manage -e` and before any vGPU is created)";
const SEVERAL_TYPES_NOTE: &str =
    "carries several desired or external vGPU types (heterogeneous mode): left alone";

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
mod tests;
