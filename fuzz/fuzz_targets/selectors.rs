//! Selectors: `pciVendorSelector` (`PciSelector::parse`), `--label KEY=VALUE`
//! (`cli::parse_label`), KubeVirt's name normalization (`config::model::normalize`), and a
//! `nodeSelector` label pair read through the configuration loader. The input is split at
//! its first NUL: before it the selector text, after it the label value. Invariants: no
//! panic; a PCI selector prints back as itself; normalization is idempotent; a nodeSelector
//! the loader accepts matches a node that carries exactly that label.
#![no_main]

use hostdev::cli::parse_label;
use hostdev::config::{self, load::Source, model::PciSelector, node::Node, selectors::Desired};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (key, value) = text.split_once('\0').unwrap_or((text, "v"));

    if let Ok(sel) = PciSelector::parse(key) {
        assert_eq!(PciSelector::parse(&sel.to_string()), Ok(sel.clone()));
        assert_eq!(sel.to_string(), key.to_ascii_lowercase());
    }

    let n = config::model::normalize(key);
    assert_eq!(config::model::normalize(&n), n, "{key:?}");

    if let Ok((k, v)) = parse_label(key) {
        assert!(!k.is_empty());
        assert_eq!(format!("{k}={v}"), key);
    }

    // nodeSelector: {KEY: VALUE}, quoted as JSON (which YAML's flow style reads).
    let (Ok(k), Ok(v)) = (serde_json::to_string(key), serde_json::to_string(value)) else {
        return;
    };
    let yaml = format!(
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-1]\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {{{k}: {v}}}\n    mediatedDeviceTypes: [nvidia-2]\n"
    );
    let Ok(cfg) = config::load::parse(&yaml, &Source::Stdin) else {
        return;
    };
    let Some(m) = &cfg.mdev else {
        panic!("no mediatedDevicesConfiguration in {yaml}");
    };
    let selector = &m.node_types[0].node_selector;
    let labels: Vec<(String, String)> = selector
        .iter()
        .filter(|(k, _)| *k != "kubernetes.io/hostname")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let name = selector
        .get("kubernetes.io/hostname")
        .cloned()
        .unwrap_or_else(|| "node1".into());
    let node = Node::new(&name, &labels);
    assert_eq!(
        cfg.desired_for(&node),
        Desired::Types(vec!["nvidia-2".into()]),
        "{yaml}"
    );
});
