//! `hostdev apply` / `teardown` as a user runs them: the real binary on copied fixtures.
//! The fake tree never reacts to writes, so the writes are checked through the audit log
//! and the dry-run output, and verification reports what the "kernel" did not do.

use std::path::{Path, PathBuf};

use crate::util::{Cmd, Host, Run, BIN};

/// `hostdev --root ROOT -f ROOT/config.yaml --node-name node1 ARGS`.
fn run_on(host: &Host, args: &[&str]) -> Run {
    host.on_node("node1", args)
}

/// Each audit line as the `echo VALUE > PATH` it records.
fn audited_writes(host: &Host) -> Vec<String> {
    host.audit()
        .iter()
        .map(|l| {
            format!(
                "echo {} > {}",
                l["value"].as_str().unwrap(),
                l["path"].as_str().unwrap()
            )
        })
        .collect()
}

fn planned_writes(host: &Host) -> Vec<String> {
    let plan = run_on(host, &["plan", "-o", "json"]).json();
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
    let host = Host::copy("t4-2x");
    let before = host.snapshot();
    let r = run_on(&host, &["apply", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echoed = r.echoes();
    assert_eq!(echoed, planned_writes(&host));
    assert!(!echoed.is_empty());
    assert_eq!(host.snapshot(), before, "a dry run changed the tree");
}

#[test]
fn yes_writes_the_plan_audits_each_write_and_verifies() {
    let host = Host::copy("t4-2x");
    let expected = planned_writes(&host);
    let r = run_on(&host, &["apply", "--yes"]);
    // The simulated kernel creates the mdevs: verification finds them.
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains("host differs from the plan"),
        "{}",
        r.stdout
    );
    let lines = host.audit();
    assert_eq!(audited_writes(&host), expected);
    assert!(lines.iter().all(|l| l["result"] == "ok"));
    // Each create made its mdev, and the host now matches the plan.
    for l in &lines {
        let uuid = l["value"].as_str().unwrap().trim();
        assert!(
            host.backing_path(&format!("sys/bus/mdev/devices/{uuid}"))
                .exists(),
            "{uuid}"
        );
    }
    assert!(planned_writes(&host).is_empty());
    let state = host.state();
    assert_eq!(state["schema"], "hostdev/v1");
    assert_eq!(state["mdevs"].as_array().unwrap().len(), expected.len());
    assert!(state["vfio"].as_array().unwrap().is_empty());
}

#[test]
fn no_terminal_and_no_yes_refuses_and_changes_nothing() {
    let host = Host::copy("t4-2x");
    let before = host.snapshot();
    let r = run_on(&host, &["apply"]);
    r.assert_stderr(
        1,
        "stdin is not a terminal; nothing was changed. Pass --yes",
    );
    // Only the (empty) lock and audit files may appear; no attribute was written.
    assert_eq!(host.snapshot_of_host(), before);
    assert!(host.audit().is_empty());
}

#[test]
fn converged_host_makes_no_writes() {
    // t4-undesired with the in-use VM gone and only nvidia-230 desired: nothing to do.
    let host = Host::copy("t4-undesired-idle");
    std::fs::write(
        host.config(),
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-230]\n",
    )
    .unwrap();
    // 0000:5e:00.0 would still get nvidia-230: pin its types to 0 to model a full host.
    let types =
        host.backing_path("sys/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0/mdev_supported_types");
    for t in std::fs::read_dir(&types).unwrap() {
        std::fs::write(t.unwrap().path().join("available_instances"), "0\n").unwrap();
    }
    let top = host.backing_path("sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/mdev_supported_types/nvidia-230/available_instances");
    std::fs::write(top, "0\n").unwrap();
    let r = run_on(&host, &["apply", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "host already matches /config.yaml\n");
    assert!(host.audit().is_empty());
    assert_eq!(run_on(&host, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn in_use_mdev_is_reported_and_never_written() {
    let host = Host::copy("t4-undesired");
    let r = run_on(&host, &["apply", "--yes"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains(
        "00000000-0000-4000-8000-000000000002 (nvidia-230 on 0000:3b:00.0): in use by pid 4242 (qemu-system-x86)"
    ));
    assert!(!host
        .audit()
        .iter()
        .any(|l| l["path"].as_str().unwrap().contains("000000000002")));
}

#[test]
fn second_run_waits_for_the_lock_then_exits_75_naming_the_holder() {
    use std::os::fd::AsRawFd;
    let host = Host::copy("t4-2x");
    let lock = host.new_path("run/hostdev/lock");
    std::fs::write(&lock, "4321\n").unwrap();
    let f = std::fs::File::open(&lock).unwrap();
    // SAFETY: flock on a valid fd.
    assert_eq!(
        unsafe { nix::libc::flock(f.as_raw_fd(), nix::libc::LOCK_EX) },
        0
    );
    let t0 = std::time::Instant::now();
    let r = run_on(&host, &["apply", "--yes", "--lock-timeout", "1"]);
    assert!(t0.elapsed() >= std::time::Duration::from_secs(1));
    assert_refused(
        &host,
        &r,
        75,
        "another hostdev run (pid 4321) holds the lock /run/hostdev/lock",
    );
}

/// Issue 23 item 3: `apply --yes` has nothing to confirm, so it takes the lock before it
/// reads the host (one read, under the lock): waiting for a held lock, it has shown no
/// plan yet (it used to plan, print the plan, then wait and plan again under the lock).
#[test]
fn apply_yes_takes_the_lock_before_it_reads_the_host() {
    use std::os::fd::AsRawFd;
    let host = Host::copy("t4-2x");
    let lock = host.new_path("run/hostdev/lock");
    std::fs::write(&lock, "4321\n").unwrap();
    let f = std::fs::File::open(&lock).unwrap();
    // SAFETY: flock on a valid fd.
    assert_eq!(
        unsafe { nix::libc::flock(f.as_raw_fd(), nix::libc::LOCK_EX) },
        0
    );
    let r = run_on(&host, &["apply", "--yes", "--lock-timeout", "1"]);
    assert_eq!(r.code, 75, "{}", r.stderr);
    assert_eq!(r.stdout, "", "no plan shown before the lock is held");
    // without --yes the plan is shown (and confirmed) before the lock is taken
    let r = run_on(&host, &["apply", "--dry-run"]);
    assert!(r.stdout.contains("desired types:"), "{}", r.stdout);
}

#[test]
fn teardown_removes_only_what_hostdev_created_unless_all() {
    let host = Host::copy("t4-undesired-idle");
    let state = host.new_path("run/hostdev/state.json");
    std::fs::write(
        &state,
        r#"{"schema":"hostdev/v1","mdevs":[
            {"uuid":"00000000-0000-4000-8000-000000000003","parent":"0000:3b:00.0","type":"nvidia-230","created_at":"2024-01-01T00:00:00Z"},
            {"uuid":"aaaaaaaa-0000-4000-8000-000000000009","parent":"0000:3b:00.0","type":"nvidia-230","created_at":"2024-01-01T00:00:00Z"}],
           "vfio":[],"vgpu_vfs":[]}"#,
    )
    .unwrap();
    let dry = run_on(&host, &["teardown", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let echoed = dry.echoes();
    assert_eq!(
        echoed,
        vec!["echo 1 > /sys/bus/mdev/devices/00000000-0000-4000-8000-000000000003/remove"]
    );
    let r = run_on(&host, &["teardown", "--yes", "--mdevs"]);
    let paths: Vec<String> = host
        .audit()
        .iter()
        .map(|l| l["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        vec!["/sys/bus/mdev/devices/00000000-0000-4000-8000-000000000003/remove"]
    );
    // The simulated kernel removes it: verified, exit 0.
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!r.stdout.contains("was removed but is still on the host"));
    assert!(!host
        .path("sys/bus/mdev/devices/00000000-0000-4000-8000-000000000003")
        .exists());
    // The stale record (not on the host) and the removed one were dropped.
    let st = std::fs::read_to_string(&state).unwrap();
    assert!(
        !st.contains("000000000009") && !st.contains("000000000003"),
        "{st}"
    );
    let all = run_on(&host, &["teardown", "--all", "--dry-run"]);
    assert_eq!(all.echoes().len(), 3, "{}", all.stdout);
}

#[test]
fn teardown_vfio_alone_says_what_it_did() {
    let host = Host::copy("t4-2x");
    let r = run_on(&host, &["teardown", "--vfio", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .contains("no vfio bindings recorded in the state file; no driver to restore"));
}

/// Refused with exit `code` and `part` in stderr, before any write (the audit log empty).
fn assert_refused(host: &Host, r: &Run, code: i32, part: &str) {
    r.assert_stderr(code, part);
    assert!(
        host.audit().is_empty(),
        "nothing may be written before the check"
    );
}

// ---- saved plans (`apply --plan FILE`) -----------------------------------------------

/// `plan -o json` saved to `<tmp>/plan.json` (outside the root), as the document value.
fn save_plan(host: &Host) -> (PathBuf, serde_json::Value) {
    let r = run_on(host, &["plan", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let file = host.outside().join("plan.json");
    std::fs::write(&file, &r.stdout).unwrap();
    (file, r.json())
}

fn write_plan(host: &Host, doc: &serde_json::Value) -> PathBuf {
    let file = host.outside().join("edited-plan.json");
    std::fs::write(&file, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    file
}

#[test]
fn saved_plan_dry_run_prints_exactly_its_writes() {
    let host = Host::copy("t4-undesired-idle");
    let (file, _) = save_plan(&host);
    let expected = planned_writes(&host);
    let before = host.snapshot();
    let r = run_on(
        &host,
        &["apply", "--plan", file.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let echoed = r.echoes();
    assert_eq!(echoed, expected);
    assert_eq!(echoed.len(), 36);
    assert!(r.stdout.contains(
        "would remove 4 mdev(s), would create 32 mdev(s) (saved plan: creations as planned, not re-planned after the removals)"
    ));
    assert!(r
        .stderr
        .contains("its creations are not re-planned after its removals"));
    assert_eq!(host.snapshot(), before, "a dry run changed the tree");
}

#[test]
fn saved_plan_is_applied_write_for_write_from_a_file_or_stdin() {
    let host = Host::copy("t4-2x");
    let (file, doc) = save_plan(&host);
    let expected = planned_writes(&host);
    let r = run_on(&host, &["apply", "--plan", file.to_str().unwrap(), "--yes"]);
    // The simulated kernel creates them: verified (as for plain apply).
    r.assert_stdout(0, "created 24 mdev(s)");
    assert_eq!(audited_writes(&host), expected);
    // From stdin, JSON document out: names the saved plan, not a configuration.
    let host2 = Host::copy("t4-2x");
    let r = host2
        .cmd()
        .arg("-f")
        .arg(host2.config())
        .args(["--node-name", "node1", "-o", "json"])
        .args(["apply", "--plan", "-", "--dry-run"])
        .stdin(&serde_json::to_string(&doc).unwrap())
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = r.json();
    assert_eq!(out["saved_plan"], "stdin");
    assert!(out.get("config").is_none());
    assert_eq!(out["result"], "dry-run");
    assert_eq!(out["writes"].as_array().unwrap().len(), 24);
    assert_eq!(out["plan"]["actions"], doc["actions"]);
}

#[test]
fn saved_plan_for_another_node_is_65() {
    let host = Host::copy("t4-2x");
    let (file, _) = save_plan(&host);
    let r = host.on_node(
        "node2",
        &["apply", "--plan", file.to_str().unwrap(), "--yes"],
    );
    assert_refused(
        &host,
        &r,
        65,
        "plan was made for node node1, this is node node2; use --node-name or re-run plan",
    );
}

#[test]
fn saved_plan_naming_a_missing_parent_is_66() {
    let host = Host::copy("t4-2x");
    let (_, mut doc) = save_plan(&host);
    let last = doc["actions"].as_array_mut().unwrap().last_mut().unwrap();
    last["parent"] = "0000:99:00.0".into();
    let file = write_plan(&host, &doc);
    let r = run_on(&host, &["apply", "--plan", file.to_str().unwrap(), "--yes"]);
    assert_refused(&host, &r, 66, &format!(
        "plan {} names mdev parent 0000:99:00.0, which is not on this host (/sys/class/mdev_bus/0000:99:00.0 does not exist)",
        file.display()
    ));
}

#[test]
fn malformed_or_missing_saved_plan_is_refused() {
    let host = Host::copy("t4-2x");
    let file = host.outside().join("bad.json");
    std::fs::write(
        &file,
        "{\"schema\": \"hostdev/v1\", \"node\": {\"name\": \"node1\"}}",
    )
    .unwrap();
    let r = run_on(&host, &["apply", "--plan", file.to_str().unwrap(), "--yes"]);
    r.assert_stderr(
        65,
        &format!(
            "plan {} is not a usable hostdev plan: missing field `parents`",
            file.display()
        ),
    );
    // The configuration is not a plan either.
    let cfg = host.config();
    let r = run_on(&host, &["apply", "--plan", cfg.to_str().unwrap(), "--yes"]);
    r.assert_stderr(65, "no \"schema\": \"hostdev/v1\" field");
    let r = run_on(
        &host,
        &["apply", "--plan", "/nonexistent/plan.json", "--yes"],
    );
    assert_refused(&host, &r, 66, "plan file /nonexistent/plan.json not found");
}

#[test]
fn saved_plan_with_an_unknown_count_is_refused() {
    let host = Host::copy("t4-2x");
    let (_, mut doc) = save_plan(&host);
    // What a plan looks like when a freed parent's capacity is unknown before removals.
    doc["parents"][0]["create"] = serde_json::Value::Null;
    let p0 = doc["parents"][0]["address"].as_str().unwrap().to_string();
    doc["actions"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["parent"] != p0.as_str());
    let file = write_plan(&host, &doc);
    let r = run_on(&host, &["apply", "--plan", file.to_str().unwrap(), "--yes"]);
    r.assert_stderr(65, &p0);
    assert_refused(&host, &r, 65, "run `hostdev apply` without --plan (it re-plans after the removals), or apply the removals first");
}

#[test]
fn saved_plan_round_trips_every_fixture_plan() {
    // Every plan shape (mdev on PFs, on SR-IOV VFs, vendor-VFIO vGPU types, removals):
    // `apply --plan saved --dry-run` prints exactly the writes of `apply --dry-run`, or,
    // where a count is unknown before the removals, is refused with 65.
    let mut applied = 0;
    for fx in [
        "t4-2x",
        "t4-3x",
        "t4-undesired-idle",
        "a40-sriov",
        "a40-2x",
        "l40s-vfio",
        "gvtg",
    ] {
        let host = Host::copy(fx);
        let (file, doc) = save_plan(&host);
        let plain = run_on(&host, &["apply", "--dry-run"]);
        assert_eq!(plain.code, 0, "{fx}: {}", plain.stderr);
        let saved = run_on(
            &host,
            &["apply", "--plan", file.to_str().unwrap(), "--dry-run"],
        );
        let unknown = doc["parents"]
            .as_array()
            .unwrap()
            .iter()
            .chain(doc["cards"].as_array().unwrap())
            .any(|p| p["create"].is_null());
        if unknown {
            assert_eq!(saved.code, 65, "{fx}: {}", saved.stderr);
            assert!(
                saved.stderr.contains("`create: null`"),
                "{fx}: {}",
                saved.stderr
            );
            continue;
        }
        assert_eq!(saved.code, 0, "{fx}: {}", saved.stderr);
        assert_eq!(saved.echoes(), plain.echoes(), "{fx}");
        applied += usize::from(!saved.echoes().is_empty());
    }
    assert!(applied >= 5, "only {applied} fixtures had a plan to apply");
}

/// Start `hostdev --root ROOT -f ROOT/config.yaml --node-name node1 apply` on a pty
/// (util-linux `script`), its stdin, stdout and stderr piped.
fn apply_on_pty(root: &Path) -> std::process::Child {
    let cmd = format!(
        "{} --root {} -f {} --node-name node1 apply",
        BIN,
        root.display(),
        root.join("config.yaml").display()
    );
    std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` (package bsdutils) runs the command on a pty")
}

/// Run `hostdev ... apply` on a terminal (util-linux `script` gives it a pty) answering
/// `answer`.
fn on_terminal(root: &Path, answer: &str) -> (i32, String) {
    let mut child = apply_on_pty(root);
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("answer");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn terminal_prompt_no_changes_nothing_and_yes_applies() {
    let host = Host::copy("t4-1x");
    let root = host.root();
    let before = host.snapshot();
    let (code, out) = on_terminal(root, "n\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("apply 8 changes to this host (0 removals, 8 creations)? [y/N]"),
        "{out}"
    );
    assert!(
        out.contains("hostdev: aborted; nothing was changed"),
        "{out}"
    );
    // Only the (empty) lock and audit files may appear; no attribute was written.
    assert!(
        before == host.snapshot_of_host(),
        "declining must not change the tree"
    );
    assert!(host.audit().is_empty());

    let planned = planned_writes(&host);
    let (code, out) = on_terminal(root, "y\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(audited_writes(&host), planned, "{out}");
}

#[test]
fn progress_bar_on_a_terminal_for_more_than_a_handful_of_writes() {
    // t4-1x plans 8 creations: more than a handful, so a terminal run shows the bar
    // ("N/8 writes") on stderr while it writes, then clears it before the summary.
    let host = Host::copy("t4-1x");
    let planned = planned_writes(&host);
    let (code, out) = on_terminal(host.root(), "y\n");
    assert!(
        out.contains("/8 writes"),
        "no progress bar on the terminal:\n{out}"
    );
    assert_eq!(audited_writes(&host), planned, "{out}");
    assert_eq!(code, 0, "{out}");

    // Not a terminal (and -o json): nothing extra on stderr.
    let host = Host::copy("t4-1x");
    let run = host.on_node("node1", &["apply", "--yes"]);
    assert!(!run.stderr.contains("writes"), "{}", run.stderr);
    let host = Host::copy("t4-1x");
    let run = host.on_node("node1", &["-o", "json", "apply", "--yes"]);
    assert!(!run.stderr.contains("writes"), "{}", run.stderr);
}

/// Start `hostdev --root ROOT -f ROOT/config.yaml --node-name node1 ARGS`, send `sig` after
/// ~300 ms, and return its exit code and stderr. The generous 20 s limit only catches a
/// run that ignores the signal; it is not a timing assertion.
fn signal_after_start(root: &Path, args: &[&str], sig: nix::sys::signal::Signal) -> (i32, String) {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = Cmd::default()
        .arg("--root")
        .arg(root)
        .arg("-f")
        .arg(root.join("config.yaml"))
        .args(["--node-name", "node1"])
        .args(args)
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hostdev");
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, sig).expect("send the signal");
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("hostdev {args:?} still running 20 s after {sig}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (status.code().unwrap_or(-1), stderr)
}

/// Issue 12 item 3: a run waiting for the lock ends on SIGINT, SIGTERM and SIGHUP with
/// exit 1 and says that nothing was changed (it used to wait out --lock-timeout).
#[test]
fn signals_end_the_wait_for_the_lock() {
    use nix::fcntl::{Flock, FlockArg};
    use nix::sys::signal::Signal;
    let host = Host::copy("t4-1x");
    let root = host.root();
    let lock_path = host.new_path("run/hostdev/lock");
    let file = std::fs::File::create(&lock_path).unwrap();
    let _held = Flock::lock(file, FlockArg::LockExclusiveNonblock).expect("hold the lock");
    let before = host.snapshot();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        let (code, stderr) =
            signal_after_start(root, &["apply", "--yes", "--lock-timeout", "3600"], sig);
        assert_eq!(code, 1, "{sig}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "interrupted ({sig}) while waiting for the run lock"
            )) && stderr.contains("nothing was changed"),
            "{sig}: {stderr}"
        );
        assert_eq!(host.snapshot(), before, "{sig} changed the tree");
    }
}

/// Issue 12 item 3: `apply --wait-for-parents` interrupted exits 1 (it went on to plan and
/// exited 0), in a real run (under the lock) and in a dry run (no lock, same handling).
#[test]
fn signals_end_the_wait_for_parents_with_exit_1() {
    use nix::sys::signal::Signal;
    // No parent offers the desired type: the wait would last the whole timeout.
    let host = Host::copy("no-mdev");
    let root = host.root();
    std::fs::write(
        root.join("config.yaml"),
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n",
    )
    .unwrap();
    for (sig, extra) in [(Signal::SIGTERM, "--yes"), (Signal::SIGHUP, "--dry-run")] {
        let (code, stderr) =
            signal_after_start(root, &["apply", extra, "--wait-for-parents", "3600"], sig);
        assert_eq!(code, 1, "{sig} {extra}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "interrupted ({sig}) while waiting for mdev parents"
            )) && stderr.contains("nothing was changed"),
            "{sig} {extra}: {stderr}"
        );
    }
}

/// Issue 12 item 3: a FIFO as the lock file blocks nothing; it is refused at once.
#[test]
fn a_fifo_lock_file_is_refused_at_once() {
    let host = Host::copy("t4-1x");
    let lock_path = host.new_path("run/hostdev/lock");
    nix::unistd::mkfifo(&lock_path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let run = run_on(&host, &["apply", "--yes", "--lock-timeout", "3600"]);
    run.assert_stderr(1, "is not a regular file (it is a FIFO)");
}

/// Issue 12 item 4: the largest --lock-timeout and --wait-for-parents values do not panic.
#[test]
fn the_largest_timeouts_do_not_panic() {
    let host = Host::copy("t4-1x");
    let max = u64::MAX.to_string();
    let run = run_on(&host, &["apply", "--dry-run", "--lock-timeout", &max]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = run_on(
        &host,
        &[
            "apply",
            "--yes",
            "--lock-timeout",
            &max,
            "--wait-for-parents",
            &max,
        ],
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.code == 0 || run.code == 1,
        "{}: {}",
        run.code,
        run.stderr
    );
}

/// Issue 12 item 10: a refusal (no terminal, no --yes) and early errors create no lock
/// file and no audit log: the lock is taken and the audit log opened only once there is
/// something to do and it was confirmed.
#[test]
fn refusal_and_early_errors_create_no_lock_or_audit_file() {
    let host = Host::copy("t4-2x");
    let lock = host.path("run/hostdev/lock");
    let audit = host.path("var/log/hostdev/audit.jsonl");
    let with_mdevs = Host::copy("t4-undesired-idle");
    for (host, args) in [
        (&host, &["apply"][..]),
        (&with_mdevs, &["teardown", "--all"][..]),
        (
            &host,
            &["apply", "--yes", "--plan", "/nonexistent/plan.json"][..],
        ),
    ] {
        let (lock, audit) = (
            host.path("run/hostdev/lock"),
            host.path("var/log/hostdev/audit.jsonl"),
        );
        let r = run_on(host, args);
        assert_ne!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!lock.exists(), "{args:?} created the lock file");
        assert!(!audit.exists(), "{args:?} created the audit log");
    }
    // a configuration error
    std::fs::write(host.config(), "mediatedDevicesConfiguration: [").unwrap();
    let r = run_on(&host, &["apply", "--yes"]);
    assert_eq!(r.code, 65, "{}", r.stderr);
    assert!(!lock.exists() && !audit.exists());
}

/// Issue 12 item 10: Ctrl-C at the confirmation prompt ends cleanly: no "IO error: read
/// interrupted", the cursor shown again, exit 1 "aborted; nothing was changed".
#[test]
fn ctrl_c_at_the_prompt_aborts_cleanly() {
    let host = Host::copy("t4-1x");
    let before = host.snapshot();
    let (code, out) = ctrl_c_at_prompt(host.root());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("hostdev: aborted; nothing was changed"),
        "{out}"
    );
    assert!(!out.contains("read interrupted"), "{out}");
    assert!(out.contains("\x1b[?25h"), "cursor shown again: {out:?}");
    assert_eq!(
        before,
        host.snapshot(),
        "nothing written, no lock, no audit log"
    );
}

/// Issue 12 item 9: on an SR-IOV GPU whose virtual functions are not enabled, `apply`
/// shows the `sriov-manage -e` step as `plan` does. Issue 20 item 2: and it does not call
/// the host converged: exit 3 (not ready), `"result": "not-ready"`, the same in
/// `plan --detailed-exitcode`, `status` and its metrics.
#[test]
fn apply_on_a_gpu_that_is_not_ready_is_not_converged() {
    let host = Host::copy("a40-novfs");
    let r = run_on(&host, &["apply", "--yes"]);
    r.assert_stdout(3, "nothing to do now, but the host does not match");
    assert!(!r.stdout.contains("already matches"), "{}", r.stdout);
    assert!(
        r.stdout.contains("sriov-manage -e 0000:41:00.0"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("sriov-manage -e 0000:41:00.0"),
        "the journal of the boot unit shows it too: {}",
        r.stderr
    );
    let j = run_on(&host, &["apply", "--yes", "-o", "json"]);
    assert_eq!(j.code, 3);
    let j = j.json();
    assert_eq!(j["result"], "not-ready");
    assert!(j["plan"]["problems"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("sriov-manage -e 0000:41:00.0")));
    assert_eq!(run_on(&host, &["plan", "--detailed-exitcode"]).code, 3);
    assert_eq!(
        run_on(&host, &["plan"]).code,
        0,
        "without the flag, plan exits 0"
    );
    let s = run_on(&host, &["status", "-o", "json"]);
    assert_eq!(s.code, 3, "{}", s.stderr);
    let s = s.json();
    assert_eq!(s["mdev"]["matches"], false);
    assert_eq!(s["mdev"]["not_ready"], 1);
    let m = run_on(&host, &["status", "--format", "prometheus"]);
    assert!(
        m.stdout.contains("\nhostdev_gpus_not_ready 1\n"),
        "{}",
        m.stdout
    );
    // a host that is ready and matches stays 0
    let ready = Host::copy("l40s-full");
    run_on(&ready, &["apply", "--yes"]).assert_stdout(0, "host already matches");
    assert_eq!(run_on(&ready, &["plan", "--detailed-exitcode"]).code, 0);
}

/// Run `apply` on a pty (util-linux `script`), wait for its prompt, then type Ctrl-C.
fn ctrl_c_at_prompt(root: &Path) -> (i32, String) {
    use std::io::{Read, Write};
    let mut child = apply_on_pty(root);
    // A run that ignores Ctrl-C would hang the test: end it after 30 s (it then fails).
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("[y/N]") {
        let n = stdout.read(&mut buf).expect("read the prompt");
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"\x03").expect("Ctrl-C");
    stdin.flush().expect("flush");
    stdout.read_to_end(&mut seen).expect("rest of the output");
    let status = child.wait().expect("wait");
    drop(stdin);
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&seen).into_owned(),
    )
}

/// Issue 12 item 10: not root on the real root is exit 77 before a missing default
/// configuration (66) — the remedy is sudo either way. Runs as `nobody` (via setpriv when
/// the tests run as root); nothing is changed, since the run is refused first.
#[test]
fn not_root_is_reported_before_a_missing_default_config() {
    let as_nobody = |args: &[&str]| {
        let mut cmd = if nix::unistd::geteuid().is_root() {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
                .arg(crate::util::BIN);
            c
        } else {
            std::process::Command::new(crate::util::BIN)
        };
        let out = cmd
            .args(args)
            .env_remove("HOSTDEV_ROOT")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run hostdev as nobody (is setpriv installed?)");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for args in [
        &["apply", "--yes"][..],
        &["apply", "--yes", "--plan", "/nonexistent/plan.json"][..],
        &["teardown", "--yes"][..],
    ] {
        let (code, stderr) = as_nobody(args);
        assert_eq!(code, 77, "{args:?}: {stderr}");
        assert!(stderr.contains("run it as root"), "{args:?}: {stderr}");
    }
    // A dry run needs no root: the missing configuration is what it reports.
    if !std::path::Path::new("/etc/hostdev/config.yaml").exists() {
        let (code, stderr) = as_nobody(&["apply", "--dry-run"]);
        assert_eq!(code, 66, "{stderr}");
    }
}

#[test]
fn a_non_utf8_saved_plan_is_65_with_a_position() {
    let host = Host::copy("t4-1x");
    let file = host.outside().join("plan.json");
    std::fs::write(&file, b"{\n  \"schema\": \"host\xffdev/v1\"\n}\n").unwrap();
    let before = host.snapshot();
    let r = host.on_node(
        "node1",
        &["apply", "--plan", file.to_str().unwrap(), "--yes"],
    );
    r.assert_stderr(65, "plan.json:2:18: not UTF-8 (byte 0xff at offset 19)");
    assert!(before == host.snapshot(), "a refused plan changes nothing");
}
