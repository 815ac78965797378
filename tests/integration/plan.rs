//! list-types and plan: the real binary against the fixtures, with golden outputs, and the
//! four scenarios of KubeVirt's documentation reproduced exactly.

use serde_json::Value;

use crate::util::{assert_golden, fixture, hostdev, json, on_fixture, Cmd, Host};

/// (parent, type, create) for each parent that gets a type.
fn assigned(plan: &Value) -> Vec<(String, String, u64)> {
    plan["parents"]
        .as_array()
        .expect("parents")
        .iter()
        .filter(|p| !p["type"].is_null())
        .map(|p| {
            (
                p["address"].as_str().unwrap_or_default().to_string(),
                p["type"].as_str().unwrap_or_default().to_string(),
                p["create"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn row(a: &str, t: &str, n: u64) -> (String, String, u64) {
    (a.into(), t.into(), n)
}

#[test]
fn doc_scenario_three_t4_gives_222_228_222() {
    let r = on_fixture("t4-3x", &["--node-name", "node1", "plan", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = json(&r.stdout);
    assert_eq!(
        assigned(&p),
        vec![
            row("0000:3b:00.0", "nvidia-222", 16),
            row("0000:5e:00.0", "nvidia-228", 2),
            row("0000:86:00.0", "nvidia-222", 16)
        ]
    );
    assert_eq!(p["actions"].as_array().map(Vec::len), Some(34));
    assert_eq!(p["schema"], "hostdev/v1");
}

#[test]
fn doc_scenario_two_v100_gives_105_then_108() {
    let r = on_fixture("v100-2x", &["--node-name", "node1", "plan", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        assigned(&json(&r.stdout)),
        vec![
            row("0000:3b:00.0", "nvidia-105", 16),
            row("0000:d8:00.0", "nvidia-108", 2)
        ]
    );
}

#[test]
fn doc_scenario_single_card_takes_first_supported() {
    let r = on_fixture("t4-1x", &["--node-name", "node1", "plan", "-o", "json"]);
    assert_eq!(
        assigned(&json(&r.stdout)),
        vec![row("0000:3b:00.0", "nvidia-223", 8)]
    );
}

#[test]
fn doc_scenario_node_override() {
    let r1 = on_fixture("t4-2x", &["--node-name", "node1", "plan", "-o", "json"]);
    assert_eq!(
        assigned(&json(&r1.stdout)),
        vec![
            row("0000:3b:00.0", "nvidia-230", 16),
            row("0000:5e:00.0", "nvidia-223", 8)
        ]
    );
    let r2 = on_fixture("t4-2x", &["--node-name", "node2", "plan", "-o", "json"]);
    assert_eq!(
        assigned(&json(&r2.stdout)),
        vec![
            row("0000:3b:00.0", "nvidia-234", 1),
            row("0000:5e:00.0", "nvidia-234", 1)
        ]
    );
    // A label given with --label is matched like the hostname label; the hostname label
    // itself is always the node name (see the_hostname_label_is_refused).
    let cfg = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n  nodeMediatedDeviceTypes:\n  - nodeSelector: {zone: b}\n    mediatedDeviceTypes: [nvidia-234]\n";
    let r3 = Host::bundled("t4-2x")
        .cmd()
        .args([
            "-f",
            "-",
            "--node-name",
            "x",
            "--label",
            "zone=b",
            "plan",
            "-o",
            "json",
        ])
        .stdin(cfg)
        .run();
    assert_eq!(
        json(&r3.stdout)["desired_types"],
        serde_json::json!(["nvidia-234"])
    );
}

#[test]
fn mixed_t4_v100() {
    let r = on_fixture(
        "mixed-t4-v100",
        &["--node-name", "node1", "plan", "-o", "json"],
    );
    assert_eq!(
        assigned(&json(&r.stdout)),
        vec![
            row("0000:3b:00.0", "nvidia-222", 16),
            row("0000:5e:00.0", "nvidia-105", 16)
        ]
    );
}

#[test]
fn undesired_mdevs_removed_in_use_one_blocked() {
    let r = on_fixture(
        "t4-undesired",
        &["--node-name", "node1", "plan", "-o", "json"],
    );
    let p = json(&r.stdout);
    let removes: Vec<&str> = p["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["action"] == "remove")
        .filter_map(|a| a["uuid"].as_str())
        .collect();
    assert_eq!(
        removes,
        vec![
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000003",
            "00000000-0000-4000-8000-000000000004"
        ]
    );
    assert_eq!(
        p["blocked"][0]["uuid"],
        "00000000-0000-4000-8000-000000000002"
    );
    assert_eq!(
        p["blocked"][0]["reason"],
        "in use by pid 4242 (qemu-system-x86)"
    );
    assert_eq!(p["parents"][0]["status"], "blocked");
    assert_eq!(p["parents"][1]["status"], "create");
}

#[test]
fn golden_outputs() {
    for (fx, node) in [
        ("t4-3x", "node1"),
        ("t4-undesired", "node1"),
        ("t4-undesired-idle", "node1"),
        ("gvtg", "node1"),
        ("a40-sriov", "node1"),
        ("t4-2x", "node2"),
    ] {
        let lt = on_fixture(fx, &["list-types"]);
        assert_eq!(lt.code, 0, "{fx}: {}", lt.stderr);
        assert_golden(&format!("list-types-{fx}.txt"), &lt.stdout);
        let lj = on_fixture(fx, &["list-types", "-o", "json"]);
        assert_golden(&format!("list-types-{fx}.json"), &lj.stdout);
        let pt = on_fixture(fx, &["--node-name", node, "plan"]);
        assert_eq!(pt.code, 0, "{fx}: {}", pt.stderr);
        assert_golden(&format!("plan-{fx}.txt"), &pt.stdout);
        let pj = on_fixture(fx, &["--node-name", node, "plan", "-o", "json"]);
        assert_golden(&format!("plan-{fx}.json"), &pj.stdout);
    }
}

#[test]
fn yaml_output_is_the_same_document() {
    let j = on_fixture("t4-1x", &["--node-name", "n", "plan", "-o", "json"]);
    let y = on_fixture("t4-1x", &["--node-name", "n", "plan", "-o", "yaml"]);
    let from_yaml: Value = yaml_serde::from_str(&y.stdout).expect("valid YAML");
    assert_eq!(from_yaml, json(&j.stdout));
    let ly = on_fixture("gvtg", &["list-types", "-o", "yaml"]);
    assert!(
        ly.stdout.starts_with("schema: hostdev/v1\n"),
        "{}",
        ly.stdout
    );
}

#[test]
fn gvtg_types_have_no_name_and_match_by_id() {
    let r = on_fixture("gvtg", &["list-types", "-o", "json"]);
    let doc = json(&r.stdout);
    let types = doc["parents"][0]["types"].as_array().expect("types");
    assert!(types.iter().all(|t| t["name"].is_null()));
    let p = json(&on_fixture("gvtg", &["--node-name", "n", "plan", "-o", "json"]).stdout);
    assert_eq!(assigned(&p), vec![row("0000:00:02.0", "i915-GVTg_V5_8", 4)]);
}

#[test]
fn host_without_mdev_support() {
    let r = on_fixture("no-mdev", &["list-types"]);
    assert_eq!(r.code, 0);
    // no type rows; the T4 on vfio-pci is listed as a GPU without vGPU framework
    assert_eq!(
        r.stdout.lines().next(),
        Some("PARENT  KIND  TYPE  NAME  AVAILABLE  EXISTING  API  DESCRIPTION")
    );
    assert!(
        r.stdout.contains("0000:3b:00.0  10de:1eb8  vfio-pci  none"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("no mdev parents under /sys/class/mdev_bus"),
        "{}",
        r.stderr
    );
    let j = json(&on_fixture("no-mdev", &["list-types", "-o", "json"]).stdout);
    assert_eq!(j["parents"], serde_json::json!([]));
}

#[test]
fn detailed_exitcode() {
    let r = on_fixture(
        "t4-1x",
        &["--node-name", "n", "plan", "--detailed-exitcode"],
    );
    assert_eq!(r.code, 2, "changes pending");
    // a host that already matches: no mdev configuration means nothing to change
    let host = Host::bundled("t4-undesired-idle");
    let plan_stdin = |config: &str| {
        host.cmd()
            .args(["-f", "-", "--node-name", "n", "plan", "--detailed-exitcode"])
            .stdin(config)
            .run()
    };
    let r = plan_stdin("mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-230]\n");
    assert_eq!(
        r.code, 2,
        "12 more nvidia-230 fit: top-up pending\n{}",
        r.stdout
    );
    assert!(r.stdout.contains("top-up"), "{}", r.stdout);
    let r = plan_stdin("mediatedDevicesConfiguration:\n  enabled: false\n");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("host already matches the configuration"),
        "{}",
        r.stdout
    );
}

#[test]
fn plan_never_writes() {
    let host = Host::bundled("t4-undesired-idle");
    let before = host.snapshot();
    let r = host.on_node("n", &["plan"]);
    assert_eq!(r.code, 0);
    assert_eq!(before, host.snapshot());
}

#[test]
fn config_errors_exit_65_and_name_the_place() {
    let r = Host::bundled("t4-1x")
        .cmd()
        .args(["-f", "-", "--node-name", "n", "plan"])
        .stdin("mediatedDevicesConfiguration:\n  mediatedDeviceTypez: [nvidia-222]\n")
        .run();
    assert_eq!(r.code, 65);
    assert_eq!(
        r.stderr,
        "hostdev: error: <stdin>:2:3: mediatedDevicesConfiguration: unknown field `mediatedDeviceTypez`, expected one of `enabled`, `mediatedDeviceTypes`, `mediatedDevicesTypes`, `nodeMediatedDeviceTypes` (did you mean `mediatedDeviceTypes`?)\n"
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn deprecated_spelling_warns_on_stderr() {
    let host = Host::bundled("t4-1x");
    let config = "mediatedDevicesConfiguration:\n  mediatedDevicesTypes: [nvidia-223]\n";
    let r = host
        .cmd()
        .args(["-f", "-", "--node-name", "n", "plan", "-o", "json"])
        .stdin(config)
        .run();
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stderr,
        "hostdev: warning: mediatedDevicesConfiguration.mediatedDevicesTypes is deprecated, use mediatedDeviceTypes\n"
    );
    assert_eq!(
        assigned(&json(&r.stdout)),
        vec![row("0000:3b:00.0", "nvidia-223", 8)]
    );
    let q = host
        .cmd()
        .args(["-q", "-f", "-", "--node-name", "n", "plan", "-o", "json"])
        .stdin(config)
        .run();
    assert_eq!(q.stderr, "");
}

#[test]
fn missing_config_and_usage_errors() {
    let r = Host::bundled("t4-1x")
        .cmd()
        .args(["--node-name", "n", "plan"])
        .run();
    assert_eq!(r.code, 66, "default config under the root does not exist");
    assert!(
        r.stderr.contains("etc/hostdev/config.yaml not found"),
        "{}",
        r.stderr
    );
    assert_eq!(hostdev(&["plan", "--no-such-flag"]).code, 64);
    assert_eq!(hostdev(&["--output", "xml", "list-types"]).code, 64);
    assert_eq!(hostdev(&["--label", "novalue", "list-types"]).code, 64);
    let r = hostdev(&["--root", "/nonexistent-root", "list-types"]);
    assert_eq!(r.code, 66);
    assert_eq!(hostdev(&["--version"]).code, 0);
}

#[test]
fn node_name_is_required_under_a_fake_root_without_hostname() {
    let r = on_fixture("t4-1x", &["plan"]);
    r.assert_stderr(64, "pass --node-name NAME");
}

#[test]
fn verbose_traces_every_sysfs_path() {
    let r = on_fixture("t4-1x", &["-vv", "list-types", "-o", "json"]);
    assert!(r.stderr.contains("read "), "{}", r.stderr);
    assert!(r.stderr.contains(
        "/sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types/nvidia-222/available_instances"
    ));
    assert!(!on_fixture("t4-1x", &["list-types"])
        .stderr
        .contains("read "));
}

#[test]
fn hostdev_root_from_the_environment_is_the_root() {
    let r = Cmd::default()
        .env("HOSTDEV_ROOT", fixture("t4-3x"))
        .arg("list-types")
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_golden("list-types-t4-3x.txt", &r.stdout);
}

/// Issue 12 item 10: `--label kubernetes.io/hostname=...` cannot override the label that is
/// always the node name: exit 64, naming --node-name.
#[test]
fn the_hostname_label_is_refused() {
    let r = Host::bundled("t4-1x").run(&["--label", "kubernetes.io/hostname=other", "plan"]);
    r.assert_stderr(64, "use --node-name instead");
}

/// Issue 12 item 10: control characters from the host (a type name, the host name) are
/// escaped in tables and text (`\e`, `\x0d`, a newline in a cell as `\n`), never written raw;
/// JSON keeps its own escaping.
#[test]
fn control_characters_from_the_host_are_escaped_in_tables() {
    let host = Host::copy("t4-1x");
    let types = host.backing_path("sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types");
    std::fs::write(
        types.join("nvidia-222/name"),
        "GRID T4-1B\x1b]0;pwned\x07\r\nfake row\n",
    )
    .unwrap();
    std::fs::create_dir_all(host.path("etc")).unwrap();
    std::fs::write(
        host.path("etc/hostname"),
        "node\x1b[2J\u{9b}1\nfake: line\n",
    )
    .unwrap();
    for args in [&["list-types"][..], &["plan"][..]] {
        let r = host.run(args);
        assert!(r.code == 0 || r.code == 2, "{args:?}: {}", r.stderr);
        assert!(
            !r.stdout.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?}: raw control characters in {:?}",
            r.stdout
        );
        if args == ["list-types"] {
            assert!(
                r.stdout
                    .contains("GRID T4-1B\\e]0;pwned\\x07\\x0d\\nfake row"),
                "{}",
                r.stdout
            );
        } else {
            assert!(
                r.stdout.contains("node: node\\e[2J\\x9b1\\nfake: line ("),
                "{}",
                r.stdout
            );
        }
    }
    let r = host.run(&["list-types", "-o", "json"]);
    assert!(
        r.stdout
            .contains("GRID T4-1B\\u001b]0;pwned\\u0007\\r\\nfake row"),
        "{}",
        r.stdout
    );
}

/// Issue 12 item 10: a configuration file that is not UTF-8 is invalid (65, was 66), with
/// the line and column of the first bad byte.
#[test]
fn a_non_utf8_configuration_is_65_with_a_position() {
    let host = Host::copy("t4-1x");
    std::fs::write(
        host.config(),
        b"mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvi\xffdia-222]\n",
    )
    .unwrap();
    let r = host.on_node("node1", &["plan"]);
    r.assert_stderr(65, "config.yaml:2:28: not UTF-8 (byte 0xff at offset 57)");
}

#[test]
fn a_full_stdout_is_exit_1_naming_it_and_a_closed_pipe_is_a_quiet_0() {
    use std::process::{Command, Stdio};
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = Command::new(crate::util::BIN)
        .args(["--root", "fixtures/t4-3x", "list-types"])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run hostdev");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output: No space left on device"),
        "{stderr}"
    );

    // `hostdev man | head -1`: the reader goes away; hostdev ends quietly with 0.
    let mut child = Command::new(crate::util::BIN)
        .arg("man")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hostdev man");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
