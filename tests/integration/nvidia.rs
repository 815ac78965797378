//! NVIDIA vGPU frameworks against the fixtures: mdev on SR-IOV virtual functions (A40),
//! vendor-specific VFIO (L40S), a full card, and a GPU whose VFs are not enabled.

use serde_json::Value;

use crate::util::{assert_golden, json, on_fixture, Host, Run};

#[test]
fn golden_list_types_and_plan() {
    for fx in [
        "a40-2x",
        "a40-novfs",
        "a2-sriov",
        "l40s-vfio",
        "l40s-full",
        "t4-novgpud",
    ] {
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
                4.into()
            ),
        ]
    );
    let actions = p["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 36);
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

/// `(type, available_instances)` of `gpus[i].capacity` in a list-types document.
fn capacity(doc: &Value, gpu: usize) -> Vec<(String, u64)> {
    doc["gpus"][gpu]["capacity"]
        .as_array()
        .expect("capacity")
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or("").to_string(),
                c["available_instances"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[test]
fn an_sriov_gpu_shows_what_it_can_still_hold_as_plan_does() {
    // A2: three 4 GB vGPUs of max_instance 4; each of the 13 free VFs reads 1 for 4Q and 4C
    let doc = json(&on_fixture("a2-sriov", &["list-types", "-o", "json"]).stdout);
    let c = capacity(&doc, 0);
    assert!(c.contains(&("nvidia-745".into(), 1)), "{c:?}");
    assert!(c.contains(&("nvidia-748".into(), 1)), "{c:?}");
    assert!(c.contains(&("nvidia-743".into(), 0)), "{c:?}");
    let lt = on_fixture("a2-sriov", &["list-types"]).stdout;
    let row = lt
        .lines()
        .find(|l| l.contains("NVIDIA A2-4Q "))
        .expect("an A2-4Q row");
    assert_eq!(row.split_whitespace().nth(6), Some("1"), "AVAILABLE: {row}");
    let p = json(&on_fixture("a2-sriov", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    assert_eq!(
        cards(&p),
        vec![(
            "0000:41:00.0".into(),
            "top-up".into(),
            "nvidia-745".into(),
            1.into()
        )]
    );
    // L40S (48 GB): one 48Q per GPU, 4 more 8Q next to two
    let doc = json(&on_fixture("l40s-vfio", &["list-types", "-o", "json"]).stdout);
    assert!(capacity(&doc, 0).contains(&("1156".into(), 1)));
    assert!(capacity(&doc, 0).contains(&("1145".into(), 32)));
    assert!(capacity(&doc, 1).contains(&("1152".into(), 4)));
    assert_eq!(doc["gpus"][0]["capacity"][11]["max_instances"], 1);
    let c = cfg_plan("l40s-vfio", "[\"1156\"]");
    assert_eq!(c[0].3, Value::from(1), "{c:?}");
}

/// The cards of a plan on a copy of `fx` whose desired list is `list`.
fn cfg_plan(fx: &str, list: &str) -> Vec<(String, String, Value, Value)> {
    let host = Host::copy(fx);
    std::fs::write(
        host.config(),
        format!("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: {list}\n"),
    )
    .expect("write the configuration");
    cards(&json(&on_copy(&host, &["plan", "-o", "json"]).stdout))
}

#[test]
fn a_t4_without_published_types_is_sent_to_the_vgpu_manager_not_to_sriov_manage() {
    let doc = json(&on_fixture("t4-novgpud", &["list-types", "-o", "json"]).stdout);
    let g = &doc["gpus"][0];
    assert_eq!(g["framework"], "none");
    assert_eq!(g["sriov_totalvfs"], 16);
    let msg = g["problem"].as_str().expect("a problem");
    assert!(!msg.contains("sriov-manage -e"), "{msg}");
    assert!(
        msg.contains("systemctl restart nvidia-vgpud nvidia-vgpu-mgr"),
        "{msg}"
    );
    let p = json(&on_fixture("t4-novgpud", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    assert_eq!(p["problems"][0]["message"].as_str(), Some(msg));
    assert_eq!(p["actions"], serde_json::json!([]));
}

/// `--root <copy> -f <copy>/config.yaml --node-name n` followed by `args`.
fn on_copy(host: &Host, args: &[&str]) -> Run {
    host.on_node("n", args)
}

#[test]
fn apply_writes_the_type_id_to_free_vfs_and_never_touches_configured_ones() {
    let host = Host::copy("l40s-vfio");
    let dry = on_copy(&host, &["apply", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry
        .stdout
        .contains("echo 1145 > /sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type"));
    assert!(host.audit().is_empty(), "a dry run writes nothing");

    let r = on_copy(&host, &["apply", "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let lines = host.audit();
    // 32 on the empty GPU, 4 next to the two 8Q (48 GB over 8 GB: 6 per GPU)
    assert_eq!(lines.len(), 36, "{}\n{}", r.stdout, r.stderr);
    assert!(lines.iter().all(|l| l["action"] == "vgpu.set"));
    assert!(!lines.iter().any(|l| {
        let p = l["path"].as_str().unwrap_or("");
        p.contains("0000:61:00.4") || p.contains("0000:61:00.5")
    }));
    let read = |vf: &str| {
        std::fs::read_to_string(host.path(&format!(
            "sys/bus/pci/devices/{vf}/nvidia/current_vgpu_type"
        )))
        .expect("read")
    };
    assert_eq!(read("0000:41:00.4").trim(), "1145");
    assert_eq!(read("0000:61:00.4").trim(), "1152");
    // no driver was touched: the VFs stay on nvidia
    assert!(!lines
        .iter()
        .any(|l| l["path"].as_str().unwrap_or("").contains("/drivers")));
    let state = host.state();
    assert_eq!(state["vgpu_vfs"].as_array().map(Vec::len), Some(36));
    assert_eq!(state["vgpu_vfs"][0]["address"], "0000:41:00.4");
    assert_eq!(state["vgpu_vfs"][0]["type_id"], 1145);

    // teardown clears exactly what apply set (writes 0), never the VFs it did not configure
    let t = on_copy(&host, &["teardown", "--mdevs", "--yes"]);
    let clears: Vec<Value> = host
        .audit()
        .into_iter()
        .filter(|l| l["action"] == "vgpu.clear")
        .collect();
    assert_eq!(clears.len(), 36, "{}\n{}", t.stdout, t.stderr);
    assert!(clears.iter().all(|l| l["value"] == "0"));
    assert!(!clears
        .iter()
        .any(|l| l["path"].as_str().unwrap_or("").contains("0000:61:00.4")));
}

#[test]
fn apply_stops_on_a_gpu_when_the_type_is_no_longer_creatable() {
    use hostdev::exec::apply::Executor;
    use hostdev::exec::journal::Journal;
    use hostdev::host::root::Root;
    use hostdev::plan::state::State;
    use hostdev::plan::ActionKind;

    let host = Host::copy("l40s-vfio");
    let fs = Root::new(host.root());
    let plan = on_copy(&host, &["plan", "-o", "json"]).json();
    let sets: Vec<hostdev::plan::Action> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["gpu"] == "0000:61:00.0")
        .map(|a| serde_json::from_value(a.clone()).expect("a plan action"))
        .collect();
    // room for 6 8Q per GPU, two present
    assert_eq!(sets.len(), 4);
    // two more 8Q vGPUs are made elsewhere meanwhile (on two other free VFs, through the
    // simulated driver): the GPU then has room for two of the four
    for vf in ["0000:61:04.2", "0000:61:04.3"] {
        assert!(!sets
            .iter()
            .any(|a| a.vf().expect("a vGPU action").address == vf));
        std::fs::write(
            host.path(&format!(
                "sys/bus/pci/devices/{vf}/nvidia/current_vgpu_type"
            )),
            "1152\n",
        )
        .expect("another vGPU made meanwhile");
    }
    let mut journal = Journal::new(&fs, false).expect("journal");
    let mut state = State::default();
    let stop = || false;
    let mut exec = Executor::new(&mut journal, &mut state, &stop);
    exec.set_vgpu(&sets);
    let o = exec.outcome;
    assert_eq!(o.count(ActionKind::SetVgpuType), 2);
    assert_eq!(o.capacity_reached.len(), 2);
    assert!(o.failed.is_empty() && o.not_done.is_empty());
    assert!(o.complete(), "capacity reached is not an error");
    assert_eq!(journal.writes().len(), 2);
}

#[test]
fn teardown_leaves_an_in_use_vf_alone() {
    let host = Host::copy("l40s-vfio");
    let r = on_copy(&host, &["teardown", "--mdevs", "--all", "--yes"]);
    let clears: Vec<String> = host
        .audit()
        .iter()
        .filter(|l| l["action"] == "vgpu.clear")
        .filter_map(|l| l["path"].as_str().map(String::from))
        .collect();
    // .4 is held by pid 4343; .5 is free and configured
    assert_eq!(
        clears,
        vec!["/sys/bus/pci/devices/0000:61:00.5/nvidia/current_vgpu_type".to_string()]
    );
    assert_eq!(r.code, 1, "in use: incomplete");
    assert!(
        r.stdout
            .contains("0000:61:00.4 (vGPU type 1152): in use by pid 4343"),
        "{}",
        r.stdout
    );
}

#[test]
fn env_exposes_configured_vendor_vfio_vfs_as_pci_devices() {
    // KubeVirt's shouldPermitNvidia: driver nvidia, not a PF, non-zero current_vgpu_type
    let r = on_fixture("l40s-vfio", &["env"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "PCI_RESOURCE_NVIDIA_COM_AD102GL_L40S=0000:61:00.4,0000:61:00.5\n"
    );
    let r = on_fixture("l40s-full", &["env"]);
    assert_eq!(
        r.stdout,
        "PCI_RESOURCE_NVIDIA_COM_AD102GL_L40S=0000:41:00.4\n"
    );
}

#[test]
fn an_in_use_vendor_vfio_vf_is_reported_as_a_vgpu_vf_not_an_mdev() {
    // only 1B desired: the 8Q on 0000:61:00.4 (held by pid 4343) stays, .5 is cleared
    let host = Host::copy("l40s-vfio");
    std::fs::write(
        host.config(),
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [NVIDIA L40S-1B]\n",
    )
    .expect("write the configuration");
    let r = on_copy(&host, &["apply", "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 vGPU VF(s) in use left alone"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("mdev(s)"), "{}", r.stderr);
}

#[test]
fn the_pci_ids_warning_names_a_device_id_of_this_host() {
    let host = Host::copy("l40s-vfio");
    let r = host.cmd().args(["env", "--provider", "nvidia"]).run();
    assert!(
        r.stderr
            .contains("as NVIDIA's plugin does without it (nvidia.com/26b9)"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("1eb8"), "{}", r.stderr);
}

/// `hostdev.virtualFunctions` on a copy of `fixture`, and the node's plan.
fn vf_plan(fixture: &str, hostdev: &str, args: &[&str]) -> Run {
    let host = Host::copy(fixture);
    let config = std::fs::read_to_string(host.config()).unwrap();
    std::fs::write(host.config(), format!("{config}hostdev:\n{hostdev}")).unwrap();
    host.on_node("node1", args)
}

/// Issue 23 item 1: VFs as desired state. An A40 with none enabled gets a typed action in
/// the text plan, the JSON plan and the dry run (which writes nothing); `plan
/// --detailed-exitcode` counts it as a pending change (2), not as a GPU not ready (3).
#[test]
fn virtual_functions_are_planned_as_typed_actions() {
    let text = vf_plan("a40-novfs", "  virtualFunctions: all\n", &["plan"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(
            "enable the VFs of 1 GPU:\n  enable 32 VFs on 0000:41:00.0 (sriov_numvfs 0 -> 32)"
        ),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains("sriov-manage -e"),
        "the problem is gone: {}",
        text.stdout
    );
    let doc = json(
        &vf_plan(
            "a40-novfs",
            "  virtualFunctions: all\n",
            &["plan", "-o", "json"],
        )
        .stdout,
    );
    assert_eq!(
        doc["actions"][0],
        serde_json::json!({"action": "enable-vfs", "address": "0000:41:00.0", "from": 0, "count": 32})
    );
    let r = vf_plan(
        "a40-novfs",
        "  virtualFunctions: 8\n",
        &["plan", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let dry = vf_plan(
        "a40-novfs",
        "  virtualFunctions: all\n",
        &["apply", "--dry-run"],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout
            .contains("echo 32 > /sys/bus/pci/devices/0000:41:00.0/sriov_numvfs"),
        "{}",
        dry.stdout
    );
    // without the extension: the problem and exit 3, as before
    let r = on_fixture(
        "a40-novfs",
        &["--node-name", "node1", "plan", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
}

/// The T4 trap: a Turing GPU advertises 16 VFs but hosts its vGPUs on the physical
/// function; hostdev never touches its `sriov_numvfs`. Nor a device kept for passthrough,
/// nor a GPU whose VFs are already enabled at the count asked.
#[test]
fn virtual_functions_leave_turing_passthrough_and_enabled_gpus_alone() {
    for (fx, hostdev) in [
        ("t4-novgpud", "  virtualFunctions: all\n"),
        ("t4-3x", "  virtualFunctions: all\n"),
        (
            "a40-novfs",
            "  virtualFunctions: all\n  passthroughAddresses: [\"0000:41:00.0\"]\n",
        ),
        ("a40-sriov", "  virtualFunctions: all\n"),
    ] {
        let doc = json(&vf_plan(fx, hostdev, &["plan", "-o", "json"]).stdout);
        let acts = doc["actions"].as_array().unwrap();
        assert!(
            acts.iter()
                .all(|a| !a["action"].as_str().unwrap().contains("vfs")),
            "{fx}: {acts:?}"
        );
    }
}

/// A count the GPU cannot have is a problem naming both numbers; a count that changes
/// disables every VF first, so it is refused while a VF carries a vGPU (named), and
/// planned as disable-then-enable when every VF is free.
#[test]
fn virtual_function_counts_are_checked() {
    let r = vf_plan("a40-novfs", "  virtualFunctions: 64\n", &["plan"]);
    assert!(
        r.stdout
            .contains("hostdev.virtualFunctions asks 64 VFs, but 0000:41:00.0 supports 32"),
        "{}",
        r.stdout
    );
    let busy = vf_plan("t4-undesired", "", &["plan"]); // no SR-IOV GPU: nothing
    assert_eq!(busy.code, 0, "{}", busy.stderr);
    let doc = json(
        &vf_plan(
            "a40-sriov",
            "  virtualFunctions: 16\n",
            &["plan", "-o", "json"],
        )
        .stdout,
    );
    let kinds: Vec<&str> = doc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .filter(|k| k.contains("vfs"))
        .collect();
    // every VF of a40-sriov is free: disable, then enable, and nothing created meanwhile
    assert_eq!(kinds, ["disable-vfs", "enable-vfs"]);
    assert_eq!(
        doc["actions"].as_array().unwrap().len(),
        2,
        "{}",
        doc["actions"]
    );
    // a2-sriov: three VFs carry an A2-4Q mdev: the change is refused, named
    let r = vf_plan(
        "a2-sriov",
        "  virtualFunctions: 8\n",
        &["plan", "-o", "json"],
    );
    let doc = json(&r.stdout);
    let blocked: Vec<&Value> = doc["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b.get("numvfs").is_some())
        .collect();
    assert!(!blocked.is_empty(), "{}", r.stdout);
    let why = blocked[0]["reason"].as_str().unwrap();
    assert!(
        why.contains("changing the count disables every VF first")
            && why.contains("VF 0000:41:00.4 carries mdev 00000000-0000-4000-8000-000000000041"),
        "{why}"
    );
}

/// A count change blocked by a vGPU a VM holds open names the VF and the holder's pid,
/// even when an idle vGPU sits on an earlier VF (found in the VM: case
/// 66-nvsim-enable-vfs named only the first VF's idle mdev).
#[test]
fn virtual_function_count_change_names_the_holder_of_a_vgpu() {
    let host = Host::copy("a2-sriov");
    // mdev ...42 (on VF 0000:41:00.5, IOMMU group 39) held by a VM; ...41 on .4 is idle
    std::fs::write(host.new_path("proc/4242/comm"), "qemu-system-x86\n").unwrap();
    std::fs::write(host.new_path("proc/4242/cmdline"), "qemu-system-x86_64\0").unwrap();
    std::os::unix::fs::symlink("/dev/vfio/39", host.new_path("proc/4242/fd/28")).unwrap();
    let config = std::fs::read_to_string(host.config()).unwrap();
    std::fs::write(
        host.config(),
        format!("{config}hostdev:\n  virtualFunctions: 8\n"),
    )
    .unwrap();
    let r = host.on_node("node1", &["plan", "-o", "json"]);
    let doc = json(&r.stdout);
    let why = doc["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b.get("numvfs").is_some())
        .and_then(|b| b["reason"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        why.contains(
            "VF 0000:41:00.5 carries mdev 00000000-0000-4000-8000-000000000042, in use by pid 4242 (qemu-system-x86)"
        ),
        "{why}\n{}",
        r.stdout
    );
}

/// Bad values of the extension are configuration errors (exit 65) naming the field.
#[test]
fn virtual_functions_values_are_validated() {
    for (bad, says) in [
        (
            "  virtualFunctions: 0\n",
            "0 is not a number of virtual functions",
        ),
        (
            "  virtualFunctions: some\n",
            "\"some\" is not a number of virtual functions",
        ),
        (
            "  nodeVirtualFunctions:\n  - virtualFunctions: all\n    nodeSelectr: {}\n",
            "unknown field `nodeSelectr`",
        ),
    ] {
        let r = vf_plan("a40-novfs", bad, &["plan"]);
        assert_eq!(r.code, 65, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{bad}: {}", r.stderr);
    }
    let node = vf_plan(
        "a40-novfs",
        "  virtualFunctions: all\n  nodeVirtualFunctions:\n  - nodeSelector: {kubernetes.io/hostname: node1}\n    virtualFunctions: 4\n",
        &["plan", "-o", "json"],
    );
    assert_eq!(
        json(&node.stdout)["actions"][0]["count"],
        4,
        "the node entry wins"
    );
}

/// A saved plan carries the VF actions as they are: `apply --plan` on the host it was made
/// for writes `sriov_numvfs` (here a fixture: the VFs never come, so it fails after
/// `--vf-timeout`, recorded); on a host without that GPU it is refused (66) before any write.
#[test]
fn saved_plans_carry_the_vf_actions() {
    let host = Host::copy("a40-novfs");
    let config = std::fs::read_to_string(host.config()).unwrap();
    std::fs::write(
        host.config(),
        format!("{config}hostdev:\n  virtualFunctions: 4\n"),
    )
    .unwrap();
    let saved = host.on_node("node1", &["plan", "-o", "json"]);
    let file = host.path("plan.json");
    std::fs::write(&file, &saved.stdout).unwrap();
    let f = file.to_str().unwrap();
    let dry = host.on_node("node1", &["apply", "--plan", f, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout
            .contains("echo 4 > /sys/bus/pci/devices/0000:41:00.0/sriov_numvfs"),
        "{}",
        dry.stdout
    );
    let other = Host::copy("t4-1x");
    let r = other.on_node("node1", &["apply", "--plan", f, "--yes"]);
    assert_eq!(r.code, 66, "{}", r.stderr);
    assert!(r.stderr.contains("names GPU 0000:41:00.0"), "{}", r.stderr);
}
