//! `hostdev apply` / `teardown` as a user runs them: the real binary on copied fixtures.
//! The fake tree never reacts to writes, so the writes are checked through the audit log
//! and the dry-run output, and verification reports what the "kernel" did not do.

mod common;

use std::path::Path;

use common::{copy_fixture, hostdev, snapshot};

fn run_on(root: &Path, args: &[&str]) -> common::Run {
    let cfg = root.join("config.yaml");
    let mut all = vec![
        "--root",
        root.to_str().unwrap(),
        "-f",
        cfg.to_str().unwrap(),
        "--node-name",
        "node1",
    ];
    all.extend_from_slice(args);
    hostdev(&all)
}

fn audit(root: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(root.join("var/log/hostdev/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn planned_writes(root: &Path) -> Vec<String> {
    let r = run_on(root, &["plan", "-o", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| match a["action"].as_str().unwrap() {
            "remove" => format!(
                "echo 1 > /sys/bus/mdev/devices/{}/remove",
                a["uuid"].as_str().unwrap()
            ),
            _ => format!(
                "echo {} > /sys/class/mdev_bus/{}/mdev_supported_types/{}/create",
                a["uuid"].as_str().unwrap(),
                a["parent"].as_str().unwrap(),
                a["type"].as_str().unwrap()
            ),
        })
        .collect()
}

#[test]
fn dry_run_prints_exactly_the_planned_writes_and_changes_nothing() {
    let dir = copy_fixture("t4-2x");
    let before = snapshot(dir.path());
    let r = run_on(dir.path(), &["apply", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echoed: Vec<String> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("echo "))
        .map(String::from)
        .collect();
    assert_eq!(echoed, planned_writes(dir.path()));
    assert!(!echoed.is_empty());
    assert_eq!(snapshot(dir.path()), before, "a dry run changed the tree");
}

#[test]
fn yes_writes_the_plan_audits_each_write_and_verifies() {
    let dir = copy_fixture("t4-2x");
    let expected = planned_writes(dir.path());
    let r = run_on(dir.path(), &["apply", "--yes"]);
    // The fake tree does not react to writes: verification must notice.
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r
        .stdout
        .contains("host differs from the plan after applying:"));
    assert!(r.stdout.contains("was created but is not on the host"));
    let lines = audit(dir.path());
    let written: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "echo {} > {}",
                l["value"].as_str().unwrap(),
                l["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(written, expected);
    assert!(lines.iter().all(|l| l["result"] == "ok"));
    // The last create wrote its UUID into the plain file of the fixture copy.
    let last = lines.last().unwrap();
    let file = dir
        .path()
        .join(last["path"].as_str().unwrap().trim_start_matches('/'));
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        last["value"].as_str().unwrap()
    );
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/hostdev/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["schema"], "hostdev/v1");
    assert_eq!(state["mdevs"].as_array().unwrap().len(), expected.len());
    assert!(state["vfio"].as_array().unwrap().is_empty());
}

#[test]
fn no_terminal_and_no_yes_refuses_and_changes_nothing() {
    let dir = copy_fixture("t4-2x");
    let before = snapshot(dir.path());
    let r = run_on(dir.path(), &["apply"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("stdin is not a terminal; nothing was changed. Pass --yes"),
        "{}",
        r.stderr
    );
    // Only the (empty) lock and audit files may appear; no attribute was written.
    let after: Vec<_> = snapshot(dir.path())
        .into_iter()
        .filter(|(p, _)| !p.starts_with("run") && !p.starts_with("var"))
        .collect();
    assert_eq!(after, before);
    assert!(audit(dir.path()).is_empty());
}

#[test]
fn converged_host_makes_no_writes() {
    // t4-undesired with the in-use VM gone and only nvidia-230 desired: nothing to do.
    let dir = copy_fixture("t4-undesired-idle");
    std::fs::write(
        dir.path().join("config.yaml"),
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-230]\n",
    )
    .unwrap();
    // 0000:5e:00.0 would still get nvidia-230: pin its types to 0 to model a full host.
    let types = dir
        .path()
        .join("sys/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0/mdev_supported_types");
    for t in std::fs::read_dir(&types).unwrap() {
        std::fs::write(t.unwrap().path().join("available_instances"), "0\n").unwrap();
    }
    let top = dir
        .path()
        .join("sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/mdev_supported_types/nvidia-230/available_instances");
    std::fs::write(top, "0\n").unwrap();
    let r = run_on(dir.path(), &["apply", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "host already matches /config.yaml\n");
    assert!(audit(dir.path()).is_empty());
    assert_eq!(run_on(dir.path(), &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn in_use_mdev_is_reported_and_never_written() {
    let dir = copy_fixture("t4-undesired");
    let r = run_on(dir.path(), &["apply", "--yes"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains(
        "00000000-0000-4000-8000-000000000002 (nvidia-230 on 0000:3b:00.0): in use by pid 4242 (qemu-system-x86)"
    ));
    assert!(!audit(dir.path())
        .iter()
        .any(|l| l["path"].as_str().unwrap().contains("000000000002")));
}

#[test]
fn second_run_waits_for_the_lock_then_exits_75_naming_the_holder() {
    use std::os::fd::AsRawFd;
    let dir = copy_fixture("t4-2x");
    let lock = dir.path().join("run/hostdev/lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "4321\n").unwrap();
    let f = std::fs::File::open(&lock).unwrap();
    // SAFETY: flock on a valid fd.
    assert_eq!(
        unsafe { nix::libc::flock(f.as_raw_fd(), nix::libc::LOCK_EX) },
        0
    );
    let t0 = std::time::Instant::now();
    let r = run_on(dir.path(), &["apply", "--yes", "--lock-timeout", "1"]);
    assert!(t0.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(r.code, 75);
    assert!(
        r.stderr
            .contains("another hostdev run (pid 4321) holds the lock /run/hostdev/lock"),
        "{}",
        r.stderr
    );
    assert!(audit(dir.path()).is_empty());
}

#[test]
fn teardown_removes_only_what_hostdev_created_unless_all() {
    let dir = copy_fixture("t4-undesired-idle");
    let state = dir.path().join("run/hostdev/state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(
        &state,
        r#"{"schema":"hostdev/v1","mdevs":[
            {"uuid":"00000000-0000-4000-8000-000000000003","parent":"0000:3b:00.0","type":"nvidia-230","created_at":"2024-01-01T00:00:00Z"},
            {"uuid":"aaaaaaaa-0000-4000-8000-000000000009","parent":"0000:3b:00.0","type":"nvidia-230","created_at":"2024-01-01T00:00:00Z"}],
           "vfio":[],"vgpu_vfs":[]}"#,
    )
    .unwrap();
    let dry = run_on(dir.path(), &["teardown", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let echoed: Vec<&str> = dry
        .stdout
        .lines()
        .filter(|l| l.starts_with("echo"))
        .collect();
    assert_eq!(
        echoed,
        vec!["echo 1 > /sys/bus/mdev/devices/00000000-0000-4000-8000-000000000003/remove"]
    );
    let r = run_on(dir.path(), &["teardown", "--yes", "--mdevs"]);
    let paths: Vec<String> = audit(dir.path())
        .iter()
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        vec!["/sys/bus/mdev/devices/00000000-0000-4000-8000-000000000003/remove"]
    );
    // The fake kernel keeps it: reported, exit 1.
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("was removed but is still on the host"));
    // The stale record (not on the host) and the removed one were dropped.
    let st = std::fs::read_to_string(&state).unwrap();
    assert!(
        !st.contains("000000000009") && !st.contains("000000000003"),
        "{st}"
    );
    let all = run_on(dir.path(), &["teardown", "--all", "--dry-run"]);
    assert_eq!(
        all.stdout.lines().filter(|l| l.starts_with("echo")).count(),
        4
    );
}

#[test]
fn teardown_vfio_alone_says_what_it_did() {
    let dir = copy_fixture("t4-2x");
    let r = run_on(dir.path(), &["teardown", "--vfio", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .contains("no vfio bindings recorded in the state file; no driver to restore"));
}
