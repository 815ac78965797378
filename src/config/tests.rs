//! Unit tests of the configuration: the accepted shapes, strict validation and its
//! file:line:column errors, deprecated spellings, node selectors and external providers.

use std::path::Path;

use super::load::{load_with, parse, Source};
use super::model::{normalize, Config};
use super::node::Node;
use super::selectors::Desired;

fn err(yaml: &str) -> String {
    let e = parse(yaml, &Source::File("c.yaml".into())).expect_err("must fail");
    assert_eq!(crate::error::exit_code(&e).as_i32(), 65, "{e}");
    e.to_string()
}

fn ok(yaml: &str) -> Config {
    parse(yaml, &Source::File("c.yaml".into())).expect("valid")
}

#[test]
fn four_shapes_are_equivalent() {
    let body = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\npermittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10DE:1EB8\n    resourceName: nvidia.com/T4\n";
    let indent = |n: usize| {
        body.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect::<String>()
    };
    let shapes = [
            format!("apiVersion: kubevirt.io/v1\nkind: KubeVirt\nmetadata: {{name: kubevirt}}\nspec:\n  configuration:\n{}", indent(4)),
            format!("spec:\n  configuration:\n{}", indent(4)),
            format!("configuration:\n{}", indent(2)),
            body.to_string(),
        ];
    for s in &shapes {
        let c = ok(s);
        assert_eq!(
            c.desired_for(&Node::new("n", &[])),
            Desired::Types(vec!["nvidia-222".into()]),
            "{s}"
        );
        assert_eq!(
            c.permitted.pci_host_devices[0]
                .pci_vendor_selector
                .to_string(),
            "10de:1eb8"
        );
    }
}

#[test]
fn other_kubevirt_fields_are_ignored() {
    let c = ok("apiVersion: kubevirt.io/v1\nkind: KubeVirt\nspec:\n  certificateRotateStrategy: {}\n  configuration:\n    developerConfiguration: {featureGates: [GPU]}\n    mediatedDevicesConfiguration: {mediatedDeviceTypes: [a]}\n");
    assert!(c.mdev.is_some());
}

#[test]
fn deprecated_spelling_used_only_when_current_is_empty() {
    let c = ok("mediatedDevicesConfiguration:\n  mediatedDevicesTypes: [old]\n");
    assert_eq!(c.mdev.as_ref().unwrap().types, vec!["old"]);
    assert_eq!(c.warnings, vec!["mediatedDevicesConfiguration.mediatedDevicesTypes is deprecated, use mediatedDeviceTypes"]);
    let c = ok("mediatedDevicesConfiguration:\n  mediatedDevicesTypes: [old]\n  mediatedDeviceTypes: [new]\n");
    assert_eq!(c.mdev.as_ref().unwrap().types, vec!["new"]);
    assert_eq!(c.warnings.len(), 1);
    let c = ok("mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {a: b}\n    mediatedDevicesTypes: [old]\n");
    assert_eq!(c.mdev.as_ref().unwrap().node_types[0].types, vec!["old"]);
    assert_eq!(
            c.warnings,
            vec!["mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].mediatedDevicesTypes is deprecated, use mediatedDeviceTypes"]
        );
}

#[test]
fn unknown_field_names_line_column_and_suggests() {
    let e = err("spec:\n  configuration:\n    mediatedDevicesConfiguration:\n      mediatedDeviceType: [nvidia-222]\n");
    assert!(e.starts_with("c.yaml:4:7: spec.configuration.mediatedDevicesConfiguration: unknown field `mediatedDeviceType`"), "{e}");
    assert!(e.ends_with("(did you mean `mediatedDeviceTypes`?)"), "{e}");
    let e = err("mediatedDevicesConfig:\n  mediatedDeviceTypes: [a]\n");
    assert_eq!(e, "c.yaml:1:1: unknown top-level field `mediatedDevicesConfig` (did you mean `mediatedDevicesConfiguration`?); expected a KubeVirt CR, `spec`, `configuration`, or `mediatedDevicesConfiguration`/`permittedHostDevices`");
    let e = err("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10de:1eb8\n    resourceName: a.com/b\n    externalResourceProvidr: true\n");
    assert!(e.contains("unknown field `externalResourceProvidr`"), "{e}");
    assert!(e.contains("did you mean `externalResourceProvider`"), "{e}");
}

#[test]
fn wrong_types_are_reported_with_location() {
    let e = err("mediatedDevicesConfiguration:\n  enabled: yes-please\n");
    assert!(
        e.starts_with("c.yaml:2:12: mediatedDevicesConfiguration.enabled: invalid type"),
        "{e}"
    );
    let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: nvidia-222\n");
    assert!(e.contains("mediatedDevicesConfiguration.mediatedDeviceTypes: invalid type: string \"nvidia-222\", expected a sequence"), "{e}");
    let e = err("mediatedDevicesConfiguration: [\n");
    assert!(e.starts_with("c.yaml:"), "{e}");
}

#[test]
fn bad_selectors_and_names_are_refused() {
    let e = err("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"10DE:1EB\"\n    resourceName: a.com/b\n");
    assert!(
        e.contains("pciVendorSelector \"10DE:1EB\" is invalid"),
        "{e}"
    );
    assert!(e.starts_with("c.yaml:3:"), "{e}");
    let e = err("permittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: GRID T4-1Q\n    resourceName: GRID_T4-1Q\n");
    assert!(
        e.contains("resourceName \"GRID_T4-1Q\" is invalid: expected domain/name"),
        "{e}"
    );
    let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"../x\"]\n");
    assert!(e.contains("may not contain '/'"), "{e}");
    let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\"..\"]\n");
    assert!(e.contains("invalid mdev type \"..\""), "{e}");
    let e = err("mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {\"bad key\": x}\n");
    assert!(
        e.contains("invalid nodeSelector key: \"bad key\" is not a Kubernetes label key"),
        "{e}"
    );
}

/// Issue 20 item 9: a null selector value and an empty key were a selector that never
/// matched (the plan then removed every removable mdev); numbers and booleans where
/// KubeVirt's CRD has strings were taken as text. Each is 65 at its line and column,
/// naming the field.
#[test]
fn selectors_are_label_syntax_and_strings_are_strings() {
    let sel = |s: &str| {
        err(&format!(
                "mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector:\n      {s}\n    mediatedDeviceTypes: [nvidia-223]\n"
            ))
    };
    let field = "mediatedDevicesConfiguration.nodeMediatedDeviceTypes[0].nodeSelector";
    let e = sel("kubernetes.io/hostname: null");
    assert!(
            e.starts_with(&format!("c.yaml:4:31: {field}.kubernetes.io/hostname: invalid type: unit value, expected a string")),
            "{e}"
        );
    let e = sel("\"\": \"\"");
    assert!(
        e.starts_with(&format!(
            "c.yaml:4:7: {field}: invalid nodeSelector key: \"\" is not a Kubernetes label key"
        )),
        "{e}"
    );
    let e = sel("zone: 5");
    assert!(
        e.starts_with(&format!(
            "c.yaml:4:13: {field}.zone: invalid type: integer `5`, expected a string"
        )),
        "{e}"
    );
    for bad_key in [
        "-a",
        "a_",
        "Kubernetes.io/x",
        "x/",
        "/x",
        "a/b/c",
        &"k".repeat(64),
    ] {
        let e = sel(&format!("\"{bad_key}\": x"));
        assert!(
            e.contains("is not a Kubernetes label key"),
            "{bad_key}: {e}"
        );
    }
    for bad_value in ["a b", "-x", "x.", &"v".repeat(64), "\\u202e"] {
        let e = sel(&format!("zone: \"{bad_value}\""));
        assert!(
            e.contains("is not a Kubernetes label value"),
            "{bad_value}: {e}"
        );
    }
    // what Kubernetes accepts: an empty value, a prefixed key, dots and underscores
    let c = ok("mediatedDevicesConfiguration:\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {kubernetes.io/hostname: node-1.example.com, topology.kubernetes.io/zone: \"\", my_label.x: A-1}\n    mediatedDeviceTypes: [\"222\"]\n");
    let n = &c.mdev.as_ref().unwrap().node_types[0];
    assert_eq!(n.node_selector["topology.kubernetes.io/zone"], "");
    assert_eq!(n.types, vec!["222"]);
    let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [222]\n");
    assert!(
            e.starts_with("c.yaml:2:25: mediatedDevicesConfiguration.mediatedDeviceTypes[0]: invalid type: integer `222`, expected a string"),
            "{e}"
        );
    let e = err("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [true]\n");
    assert!(
        e.contains("invalid type: boolean `true`, expected a string"),
        "{e}"
    );
    let e = err("permittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: 1.5\n    resourceName: a.com/b\n");
    assert!(
            e.contains("permittedHostDevices.mediatedDevices[0].mdevNameSelector: invalid type: floating point `1.5`, expected a string"),
            "{e}"
        );
}

#[test]
fn duplicate_resource_names_are_refused_at_the_second_entry() {
    let e = err("permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: 10de:1eb8\n    resourceName: a.com/x\n  - pciVendorSelector: 10de:1db4\n    resourceName: a.com/x\n");
    assert_eq!(e, "c.yaml:6:5: permittedHostDevices.pciHostDevices[1].resourceName: duplicate resource name \"a.com/x\" (also used by entry 0); give each entry its own resourceName");
}

#[test]
fn empty_or_meaningless_documents_are_refused() {
    assert!(err("").contains("the configuration is empty"));
    assert!(err("kind: KubeVirt\napiVersion: kubevirt.io/v1\n")
        .contains("no mediatedDevicesConfiguration or permittedHostDevices"));
    assert!(err("kind: Pod\n").contains("is not a KubeVirt CR"));
    assert!(err("configuration: {}\nmediatedDevicesConfiguration: {}\n")
        .contains("more than one place"));
}

/// Issue 12 item 5: 100,000 desired types (each twice) are de-duplicated in order, in
/// linear time (the Vec::contains version took 25 s; bench/large-input.sh times it).
#[test]
fn a_hundred_thousand_desired_types_dedup_in_order() {
    let n = 100_000;
    let items: String = (0..2 * n)
        .map(|i| format!("  - nvidia-{}\n", i % n))
        .collect();
    let cfg = ok(&format!(
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes:\n{items}"
    ));
    let Desired::Types(types) = cfg.desired_for(&Node::new("n", &[])) else {
        panic!("types expected");
    };
    assert_eq!(types.len(), n);
    assert_eq!(types[0], "nvidia-0");
    assert_eq!(types[n - 1], format!("nvidia-{}", n - 1));
}

/// Issue 12 item 5: absurd nesting is refused with exit 65 and its position (it took
/// seconds per 40 KB, quadratic, inside libyaml).
#[test]
fn absurd_nesting_is_refused_with_a_position() {
    let e = err(&format!("a: {}", "[".repeat(200_000)));
    assert_eq!(
        e,
        "c.yaml:1:67: nested more than 64 levels deep: a configuration is a few levels deep"
    );
}

/// Issue 12 item 10: non-UTF-8 text is an invalid configuration (65, was 66) with the
/// line and column of the first bad byte, from a file and from stdin alike.
#[test]
fn non_utf8_is_65_with_a_position() {
    let bytes = b"mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [\xc3\xa9, nvi\xffdia]\n";
    for path in ["c.yaml", "-"] {
        let e = load_with(Path::new(path), &|_| Ok(bytes.to_vec())).unwrap_err();
        assert_eq!(crate::error::exit_code(&e).as_i32(), 65, "{e}");
        assert!(
            e.to_string().ends_with(
                ":2:31: not UTF-8 (byte 0xff at offset 61): the configuration must be UTF-8 text"
            ),
            "{e}"
        );
    }
}

/// Issue 12 item 10 (YAML parity): KubeVirt's reader (go-yaml v2, YAML 1.1) takes
/// yes/no, on/off, y/n as booleans; so does hostdev, for its boolean fields.
#[test]
fn yaml_1_1_booleans_are_accepted() {
    let node = Node::new("n", &[]);
    for (word, on) in [
        ("yes", true),
        ("No", false),
        ("ON", true),
        ("off", false),
        ("y", true),
        ("N", false),
        ("True", true),
    ] {
        let cfg = ok(&format!(
                "mediatedDevicesConfiguration:\n  enabled: {word}\n  mediatedDeviceTypes: [nvidia-222]\npermittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: GRID T4-1Q\n    resourceName: nvidia.com/GRID_T4-1Q\n    externalResourceProvider: {word}\n"
            ));
        assert_eq!(cfg.desired_for(&node) != Desired::Disabled, on, "{word}");
        assert_eq!(
            cfg.permitted.mediated_devices[0].external_resource_provider, on,
            "{word}"
        );
    }
    let e = err("mediatedDevicesConfiguration:\n  enabled: yes-please\n");
    assert!(e.starts_with("c.yaml:2:12: mediatedDevicesConfiguration.enabled: invalid type: string \"yes-please\", expected a boolean"), "{e}");
}

/// Issue 12 item 10 (YAML parity): merge keys (`<<: *anchor`), which KubeVirt's reader
/// resolves, are resolved (explicit keys win), also merges inside merged mappings.
#[test]
fn merge_keys_are_resolved() {
    let cfg = ok("mediatedDevicesConfiguration:
  nodeMediatedDeviceTypes:
  - &n1
    nodeSelector: {kubernetes.io/hostname: node1}
    mediatedDeviceTypes: [nvidia-222]
  - &n2
    <<: *n1
    nodeSelector: {kubernetes.io/hostname: node2}
  - <<: [*n2]
    nodeSelector: {kubernetes.io/hostname: node3}
permittedHostDevices:
  pciHostDevices:
  - &t4
    pciVendorSelector: 10DE:1EB8
    resourceName: nvidia.com/T4
  - <<: *t4
    resourceName: nvidia.com/T4-again
");
    for n in ["node1", "node2", "node3"] {
        assert_eq!(
            cfg.desired_for(&Node::new(n, &[])),
            Desired::Types(vec!["nvidia-222".into()]),
            "{n}"
        );
    }
    assert_eq!(
        cfg.permitted.pci_host_devices[1].pci_vendor_selector.device,
        "1eb8"
    );
    assert_eq!(
        cfg.permitted.pci_host_devices[1].resource_name.0,
        "nvidia.com/T4-again"
    );
    // An unknown field in a merged document is still named with its line.
    let e = err("permittedHostDevices:\n  pciHostDevices:\n  - &a\n    pciVendorSelector: 10de:1eb8\n    resourceName: a.com/b\n  - <<: *a\n    resourceNam: a.com/c\n");
    assert!(
        e.starts_with("c.yaml:7:5: unknown field `resourceNam`"),
        "{e}"
    );
    assert!(e.contains("did you mean `resourceName`"), "{e}");
}

#[test]
fn normalization_is_kubevirts() {
    assert_eq!(normalize("GRID T4-1B\n"), "GRID_T4-1B");
    assert_eq!(normalize("A  B"), "A__B");
    assert_eq!(normalize(" X "), "_X_");
    assert_eq!(normalize("\tX\n"), "X");
}

#[test]
fn missing_file_exits_66() {
    let e = load_with(Path::new("/nonexistent/hostdev.yaml"), &|p| {
        std::fs::read(p)
    })
    .expect_err("missing");
    assert_eq!(crate::error::exit_code(&e).as_i32(), 66);
}
