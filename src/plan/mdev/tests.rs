//! Unit tests of the planner on hand-made inventories: the round-robin, top-ups, in-use
//! protection, deterministic UUIDs, GPUs whose VFs are mdev parents, vendor-VFIO GPUs.

use super::*;
use crate::config::load::{parse, Source};
use crate::host::inventory::{Holder, Mdev, NvidiaVf, ParentKind, PciDevice};
use crate::plan::document::*;

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
    let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222, nvidia-228]\n");
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
    let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222, nvidia-228]\n");
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
        assert_eq!(
            summary(&p),
            vec![row("0000:3b:00.0", Some("nvidia-230"), Some(0), "keep")]
        );
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
    let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-108, nvidia-222]\n");
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
            Action::EnableVfs(s) | Action::DisableVfs(s) => s.address.clone(),
        })
        .collect()
}

#[test]
fn a40_gets_one_type_per_gpu_up_to_max_instance() {
    let i = inv(a40("0000:41:00.0", 32));
    let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-558, nvidia-557]\n");
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
    let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-558, nvidia-557]\n");
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
    let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-557, nvidia-558]\n");
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
    let c = cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-557, nvidia-558]\n");
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
    let c = cfg(
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [NVIDIA L40S-1B, NVIDIA L40S-8Q]\n",
    );
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
    let c =
        cfg("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"1150\", NVIDIA L40S-4Q]\n");
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
