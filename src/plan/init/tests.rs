//! Unit tests of `init`'s pure part: YAML scalars, types resolved by ID or name, mdevctl's
//! definitions read into choices, and the generated file read back by the loader.

use super::existing::*;
use super::yaml::*;
use super::*;

#[test]
fn scalars_are_plain_only_when_unambiguous() {
    assert_eq!(scalar("GRID T4-2Q"), "GRID T4-2Q");
    assert_eq!(scalar("nvidia-231"), "nvidia-231");
    assert_eq!(scalar("1152"), "\"1152\"");
    assert_eq!(scalar("no"), "\"no\"");
    assert_eq!(scalar("a: b"), "\"a: b\"");
    assert_eq!(scalar("x #y"), "\"x #y\"");
    assert_eq!(comment("a\nb\x1bc"), "a?b?c");
}

fn model(vd: &str, framework: Framework, types: &[(&str, &str)]) -> Model {
    Model {
        vendor_device: vd.into(),
        framework,
        description: None,
        gpus: vec![GpuInfo {
            address: "0000:3b:00.0".into(),
            driver: Some("nvidia".into()),
            group: String::new(),
        }],
        types: types
            .iter()
            .map(|(id, name)| TypeOption {
                id: id.to_string(),
                name: Some(name.to_string()),
                framebuffer_mib: Some(2048),
                per_gpu: Some(8),
                gpus: 1,
            })
            .collect(),
        problem: None,
        resource: "nvidia.com/1eb8".into(),
    }
}

#[test]
fn types_resolve_by_id_or_name_and_ambiguity_lists_the_candidates() {
    let models = vec![
        model(
            "10de:1eb8",
            Framework::MdevPf,
            &[("nvidia-231", "GRID T4-2Q"), ("nvidia-222", "GRID T4-1B")],
        ),
        model(
            "10de:26b9",
            Framework::VendorVfio,
            &[("1152", "NVIDIA L40S-8Q")],
        ),
        model("10de:9999", Framework::MdevPf, &[("nvidia-900", "Same")]),
        model("10de:9998", Framework::MdevPf, &[("nvidia-901", "Same")]),
    ];
    let id = |w: &str| resolve_type(&models, w).map(|(_, t)| t.id.clone());
    assert_eq!(id("nvidia-231").unwrap(), "nvidia-231");
    assert_eq!(id("GRID T4-2Q").unwrap(), "nvidia-231");
    assert_eq!(id("GRID_T4-2Q").unwrap(), "nvidia-231");
    assert_eq!(id("grid t4-2q").unwrap(), "nvidia-231");
    assert_eq!(id("NVIDIA L40S-8Q").unwrap(), "1152");
    let (m, t) = resolve_type(&models, "1152").unwrap();
    assert_eq!(entry_of(m, t), "NVIDIA L40S-8Q");
    let e = id("Same").unwrap_err();
    assert!(
        e.contains("is ambiguous") && e.contains("nvidia-900") && e.contains("nvidia-901"),
        "{e}"
    );
    let e = id("T4-3Q").unwrap_err();
    assert!(
        e.contains("did you mean") && e.contains("GRID T4-2Q (nvidia-231)"),
        "{e}"
    );
    assert!(resolve_type(&[], "x")
        .unwrap_err()
        .contains("offers no vGPU"));
}

#[test]
fn mdevctl_definitions_are_read() {
    let d = parse_mdevctl(
        "0000:3b:00.0",
        "11111111-1111-4111-8111-111111111111",
        r#"{"mdev_type": "nvidia-222", "start": "manual", "attrs": [{"frl": "60"}]}"#,
    )
    .unwrap();
    assert_eq!(d.mdev_type, "nvidia-222");
    assert_eq!(d.start, "manual");
    assert_eq!(d.attrs, ["frl=60"]);
    assert!(parse_mdevctl("p", "u", "{}").is_err());
    assert!(parse_mdevctl("p", "u", r#"{"mdev_type": "../x"}"#).is_err());
    assert!(parse_mdevctl("p", "u", "not json").is_err());
}

#[test]
fn the_file_parses_with_the_loader() {
    let mut c = Choices {
        node: Some(BTreeMap::from([(
            "kubernetes.io/hostname".to_string(),
            "node1".to_string(),
        )])),
        ..Default::default()
    };
    c.types.push(ChosenType {
        entry: "1152".into(),
        comment: "evil\n- nvidia-1".into(),
        mdev: Some(("no".into(), "nvidia.com/x".into())),
    });
    c.add_pci("10de:1eb8", "nvidia.com/T4".into(), "x".into());
    c.add_address("0000:3b:00.0");
    let text = render(&c);
    let cfg = config::load::parse(&text, &config::load::Source::Stdin).unwrap();
    let node = config::node::Node::new("node1", &[]);
    assert_eq!(
        cfg.desired_for(&node),
        config::selectors::Desired::Types(vec!["1152".into()])
    );
    assert_eq!(cfg.passthrough_for(&node), ["0000:3b:00.0"]);
    assert_eq!(cfg.permitted.mediated_devices[0].mdev_name_selector.0, "no");
}
