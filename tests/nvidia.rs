//! NVIDIA vGPU frameworks against the fixtures: mdev on SR-IOV virtual functions (A40),
//! vendor-specific VFIO (L40S), a full card, and a GPU whose VFs are not enabled.

mod common;

use common::{assert_golden, on_fixture};
use serde_json::Value;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("invalid JSON ({e}): {s}"))
}

#[test]
fn golden_list_types_and_plan() {
    for fx in ["a40-2x", "a40-novfs", "l40s-vfio", "l40s-full"] {
        let lt = on_fixture(fx, &["list-types"]);
        assert_eq!(lt.code, 0, "{fx}: {}", lt.stderr);
        assert_golden(&format!("list-types-{fx}.txt"), &lt.stdout);
        let lj = on_fixture(fx, &["list-types", "-o", "json"]);
        assert_golden(&format!("list-types-{fx}.json"), &lj.stdout);
        let pt = on_fixture(fx, &["--node-name", "node1", "plan"]);
        assert_eq!(pt.code, 0, "{fx}: {}", pt.stderr);
        assert_golden(&format!("plan-{fx}.txt"), &pt.stdout);
        let pj = on_fixture(fx, &["--node-name", "node1", "plan", "-o", "json"]);
        assert_golden(&format!("plan-{fx}.json"), &pj.stdout);
    }
}

/// (card address, framework or kind, type, create) from a plan document.
fn cards(plan: &Value) -> Vec<(String, String, Value, Value)> {
    plan["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap_or("").to_string(),
                c["status"].as_str().unwrap_or("").to_string(),
                c["type"].clone(),
                c["create"].clone(),
            )
        })
        .collect()
}

#[test]
fn framework_is_detected_per_gpu() {
    let cases = [
        ("t4-3x", "0000:3b:00.0", "mdev-pf"),
        ("a40-sriov", "0000:41:00.0", "mdev-vf"),
        ("l40s-vfio", "0000:61:00.0", "vendor-vfio"),
        ("l40s-full", "0000:41:00.0", "vendor-vfio"),
        ("a40-novfs", "0000:41:00.0", "none"),
        ("no-mdev", "0000:3b:00.0", "none"),
    ];
    for (fx, gpu, framework) in cases {
        let doc = json(&on_fixture(fx, &["list-types", "-o", "json"]).stdout);
        let g = doc["gpus"]
            .as_array()
            .expect("gpus")
            .iter()
            .find(|g| g["address"] == gpu)
            .unwrap_or_else(|| panic!("{fx}: no GPU {gpu}"));
        assert_eq!(g["framework"], framework, "{fx}");
    }
    // the T4 trap: sriov_totalvfs is advertised, yet its vGPUs are mdevs on the PF
    let doc = json(&on_fixture("t4-3x", &["list-types", "-o", "json"]).stdout);
    assert_eq!(doc["gpus"][0]["sriov_totalvfs"], 16);
    assert_eq!(doc["gpus"][0]["vfs"], serde_json::json!([]));
}

#[test]
fn a40_vfs_are_grouped_under_their_gpu() {
    let doc = json(&on_fixture("a40-sriov", &["list-types", "-o", "json"]).stdout);
    let vfs = doc["gpus"][0]["vfs"].as_array().expect("vfs");
    assert_eq!(vfs.len(), 32);
    assert_eq!(vfs[0]["address"], "0000:41:00.4");
    assert_eq!(vfs[31]["address"], "0000:41:04.3");
    let p = json(&on_fixture("a40-sriov", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    assert_eq!(
        cards(&p),
        vec![(
            "0000:41:00.0".into(),
            "create".into(),
            "nvidia-558".into(),
            6.into()
        )]
    );
    // parents[] keeps one row per VF parent
    assert_eq!(p["parents"].as_array().map(Vec::len), Some(32));
}

#[test]
fn two_a40_get_one_type_each() {
    let p = json(&on_fixture("a40-2x", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    assert_eq!(
        cards(&p),
        vec![
            (
                "0000:41:00.0".into(),
                "create".into(),
                "nvidia-558".into(),
                6.into()
            ),
            (
                "0000:c1:00.0".into(),
                "create".into(),
                "nvidia-557".into(),
                12.into()
            ),
        ]
    );
}

#[test]
fn l40s_vendor_vfio_plan() {
    let p = json(&on_fixture("l40s-vfio", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    assert_eq!(
        cards(&p),
        vec![
            (
                "0000:41:00.0".into(),
                "create".into(),
                "1145".into(),
                32.into()
            ),
            (
                "0000:61:00.0".into(),
                "top-up".into(),
                "1152".into(),
                30.into()
            ),
        ]
    );
    let actions = p["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 62);
    assert_eq!(
        actions[0],
        serde_json::json!({"action": "set-vgpu-type", "address": "0000:41:00.4",
            "gpu": "0000:41:00.0", "type": "1145", "type_name": "NVIDIA L40S-1B"})
    );
    // the configured (one of them in use) VFs are never touched
    assert!(!actions
        .iter()
        .any(|a| a["address"] == "0000:61:00.4" || a["address"] == "0000:61:00.5"));
    assert_eq!(p["parents"], serde_json::json!([]));
}

#[test]
fn full_card_shows_its_type_by_id_and_changes_nothing() {
    let r = on_fixture(
        "l40s-full",
        &["--node-name", "n", "plan", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let p = json(&on_fixture("l40s-full", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    assert_eq!(p["cards"][0]["type"], "1156");
    assert_eq!(p["cards"][0]["type_name"], Value::Null);
    assert_eq!(p["cards"][0]["status"], "keep");
}

#[test]
fn vfs_not_enabled_is_reported_with_the_fix() {
    let p = json(&on_fixture("a40-novfs", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    let msg = p["problems"][0]["message"].as_str().expect("a problem");
    assert!(
        msg.contains("/usr/lib/nvidia/sriov-manage -e 0000:41:00.0"),
        "{msg}"
    );
    let lt = on_fixture("a40-novfs", &["list-types"]);
    assert!(
        lt.stdout.contains("sriov-manage -e 0000:41:00.0"),
        "{}",
        lt.stdout
    );
}
