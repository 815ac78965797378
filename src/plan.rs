//! The planner: a pure, deterministic function (configuration, node, inventory) → plan,
//! reproducing KubeVirt's mdev types manager with the differences of contract §5:
//! desired-list round-robin order, top-up of partly filled parents, in-use protection,
//! and deterministic UUIDv5 names.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use uuid::Uuid;

use crate::config::{normalize, Config, Desired, Node};
use crate::inventory::{Inventory, MdevType, Parent};

pub const SCHEMA: &str = "hostdev/v1";

/// The fixed namespace of hostdev's mdev UUIDs (UUIDv5 over node, parent, type, index).
pub const UUID_NAMESPACE: Uuid = Uuid::from_u128(0x8f0c5e3a_6b1d_4c52_9a7e_2d4f1b6c9e10);

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub schema: &'static str,
    pub node: Node,
    /// `enabled`, `disabled` (`enabled: false`) or `not-configured` (no section).
    pub mdev_handling: &'static str,
    pub desired_types: Vec<String>,
    pub parents: Vec<ParentPlan>,
    pub actions: Vec<Action>,
    pub blocked: Vec<Blocked>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct ParentPlan {
    pub address: String,
    #[serde(rename = "type")]
    pub type_id: Option<String>,
    pub type_name: Option<String>,
    /// mdevs of the assigned type that stay.
    pub existing: u32,
    /// Instances to create; `null` when it cannot be known before removals run.
    pub create: Option<u32>,
    /// mdevs removed from this parent.
    pub remove: u32,
    pub status: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Remove,
    Create,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub action: ActionKind,
    pub uuid: String,
    pub parent: String,
    #[serde(rename = "type")]
    pub type_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Blocked {
    pub uuid: String,
    pub parent: String,
    #[serde(rename = "type")]
    pub type_id: String,
    pub reason: String,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.actions.is_empty()
            && !self
                .parents
                .iter()
                .any(|p| p.create.is_none() && p.status == Status::Create)
    }

    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.action == kind).count()
    }
}

/// The deterministic UUID of the `index`-th instance of `type_id` on `parent` for `node`.
pub fn mdev_uuid(node: &str, parent: &str, type_id: &str, index: u32) -> Uuid {
    Uuid::new_v5(
        &UUID_NAMESPACE,
        format!("{node}/{parent}/{type_id}/{index}").as_bytes(),
    )
}

/// How a desired list matches types.
struct Matcher<'a> {
    desired: &'a [String],
    desired_norm: Vec<String>,
    external: Vec<String>,
}

impl<'a> Matcher<'a> {
    fn new(desired: &'a [String], external: Vec<String>) -> Self {
        Matcher {
            desired,
            desired_norm: desired.iter().map(|d| normalize(d)).collect(),
            external,
        }
    }

    /// The position of the earliest desired entry naming this type (by ID or normalized name).
    fn position(&self, id: &str, name: Option<&str>) -> Option<usize> {
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
}

/// Compute the plan. Pure: reads nothing but its arguments.
pub fn plan(config: &Config, node: &Node, inv: &Inventory) -> Plan {
    let desired = config.desired_for(node);
    let (handling, list) = match &desired {
        Desired::NotConfigured => ("not-configured", None),
        Desired::Disabled => ("disabled", None),
        Desired::Types(list) => ("enabled", Some(list.clone())),
    };
    let mut plan = Plan {
        schema: SCHEMA,
        node: node.clone(),
        mdev_handling: handling,
        desired_types: list.clone().unwrap_or_default(),
        parents: Vec::new(),
        actions: Vec::new(),
        blocked: Vec::new(),
    };
    let Some(list) = list else {
        plan.parents = inv.parents.iter().map(|p| hands_off(p, inv)).collect();
        return plan;
    };
    let m = Matcher::new(&list, config.external_mdev_selectors());

    // Step A: removals of undesired, non-external mdevs; in-use ones are blocked.
    let mut removed: BTreeSet<&str> = BTreeSet::new();
    for mdev in &inv.mdevs {
        let Some(type_id) = &mdev.type_id else {
            continue; // unreadable type link: never removed (as KubeVirt)
        };
        if m.keeps(type_id, mdev.type_name.as_deref()) {
            continue;
        }
        let holders = inv.holders_of(&mdev.device_paths());
        if holders.is_empty() {
            removed.insert(&mdev.uuid);
            plan.actions.push(Action {
                action: ActionKind::Remove,
                uuid: mdev.uuid.clone(),
                parent: mdev.parent.clone(),
                type_id: type_id.clone(),
            });
        } else {
            let who: Vec<String> = holders.iter().map(|h| h.to_string()).collect();
            plan.blocked.push(Blocked {
                uuid: mdev.uuid.clone(),
                parent: mdev.parent.clone(),
                type_id: type_id.clone(),
                reason: format!("in use by {}", who.join(", ")),
            });
        }
    }

    // Step B: each parent's state after the removals, and the round-robin candidates.
    struct Slot<'p> {
        parent: &'p Parent,
        status: Status,
        type_id: Option<String>,
        existing: u32,
        create: Option<u32>,
        remove: u32,
        /// Free after removals; `available_instances` read now may not tell what fits.
        freed: bool,
    }
    let mut slots: Vec<Slot> = Vec::new();
    // type ID → (ring position key, candidate parents in ascending order)
    let mut candidates: BTreeMap<&str, (usize, Vec<usize>)> = BTreeMap::new();
    for parent in &inv.parents {
        let here: Vec<_> = inv
            .mdevs
            .iter()
            .filter(|x| x.parent == parent.name)
            .collect();
        let remove = here
            .iter()
            .filter(|x| removed.contains(x.uuid.as_str()))
            .count() as u32;
        let remaining: Vec<_> = here
            .iter()
            .filter(|x| !removed.contains(x.uuid.as_str()))
            .collect();
        let blocked = plan.blocked.iter().any(|b| b.parent == parent.name);
        let mut slot = Slot {
            parent,
            status: Status::Unsupported,
            type_id: None,
            existing: 0,
            create: Some(0),
            remove,
            freed: remove > 0 && remaining.is_empty(),
        };
        let remaining_types: BTreeSet<Option<&String>> =
            remaining.iter().map(|x| x.type_id.as_ref()).collect();
        if blocked {
            slot.status = Status::Blocked;
        } else if !remaining.is_empty() {
            slot.status = Status::Keep;
            if let [Some(only)] = remaining_types.iter().copied().collect::<Vec<_>>()[..] {
                slot.type_id = Some(only.clone());
                slot.existing = remaining.len() as u32;
                let t = parent.types.iter().find(|t| &t.id == only);
                if let Some(t) = t.filter(|t| m.position(&t.id, t.name.as_deref()).is_some()) {
                    if t.available_instances > 0 {
                        slot.status = Status::TopUp;
                        slot.create = Some(t.available_instances);
                    }
                }
            }
        } else {
            for t in &parent.types {
                let Some(pos) = m.position(&t.id, t.name.as_deref()) else {
                    continue;
                };
                slot.status = Status::Unassigned;
                let fits = if slot.freed {
                    t.max_instances != Some(0)
                } else {
                    t.available_instances > 0
                };
                if fits {
                    let e = candidates.entry(t.id.as_str()).or_insert((pos, Vec::new()));
                    e.1.push(slots.len());
                }
            }
        }
        slots.push(slot);
    }

    // Step C: round-robin in desired-list order (ties by type ID), one type per parent.
    let mut ring: Vec<(usize, &str)> = candidates
        .iter()
        .map(|(id, (pos, _))| (*pos, *id))
        .collect();
    ring.sort();
    let mut lists: Vec<Vec<usize>> = ring
        .iter()
        .map(|(_, id)| candidates[id].1.clone())
        .collect();
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
            let type_id = ring[k].1;
            let slot = &mut slots[s];
            let t = slot.parent.types.iter().find(|t| t.id == type_id);
            slot.status = Status::Create;
            slot.type_id = Some(type_id.to_string());
            slot.create = t.and_then(|t| creatable(t, slot.freed));
        }
    }

    // Creations, with deterministic UUIDs that skip any already on the host.
    let taken: BTreeSet<&str> = inv.mdevs.iter().map(|x| x.uuid.as_str()).collect();
    for slot in &slots {
        if let (Some(type_id), Some(n)) = (&slot.type_id, slot.create) {
            if !matches!(slot.status, Status::Create | Status::TopUp) {
                continue;
            }
            let mut index = 0;
            let mut made = 0;
            while made < n {
                let uuid = mdev_uuid(&node.name, &slot.parent.name, type_id, index).to_string();
                index += 1;
                if taken.contains(uuid.as_str()) {
                    continue;
                }
                made += 1;
                plan.actions.push(Action {
                    action: ActionKind::Create,
                    uuid,
                    parent: slot.parent.name.clone(),
                    type_id: type_id.clone(),
                });
            }
        }
    }
    plan.parents = slots
        .iter()
        .map(|s| ParentPlan {
            address: s.parent.name.clone(),
            type_name: s
                .type_id
                .as_ref()
                .and_then(|id| s.parent.types.iter().find(|t| &t.id == id))
                .and_then(|t| t.name.clone()),
            type_id: s.type_id.clone(),
            existing: s.existing,
            create: if matches!(s.status, Status::Create | Status::TopUp) {
                s.create
            } else {
                Some(0)
            },
            remove: s.remove,
            status: s.status,
        })
        .collect();
    plan
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
    let here: Vec<_> = inv
        .mdevs
        .iter()
        .filter(|x| x.parent == parent.name)
        .collect();
    let types: BTreeSet<Option<&String>> = here.iter().map(|x| x.type_id.as_ref()).collect();
    let type_id = match types.iter().copied().collect::<Vec<_>>()[..] {
        [Some(t)] => Some(t.clone()),
        _ => None,
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse, Source};
    use crate::inventory::{Holder, Mdev, ParentKind};

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
        assert_eq!(p.actions[0].action, ActionKind::Remove);
        assert_eq!(p.actions[4].action, ActionKind::Create);
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
        i.holders.insert(
            "/dev/vfio/101".into(),
            vec![Holder {
                pid: 4242,
                command: "qemu-system-x86".into(),
            }],
        );
        let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n");
        let p = plan(&c, &node("n"), &i);
        assert_eq!(p.count(ActionKind::Remove), 1);
        assert_eq!(p.count(ActionKind::Create), 0);
        assert_eq!(p.blocked.len(), 1);
        assert_eq!(p.blocked[0].reason, "in use by pid 4242 (qemu-system-x86)");
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
        let created: Vec<String> = p.actions.iter().map(|a| a.uuid.clone()).collect();
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
}
