//! The executor against the one model of the kernel ([`hostdev_sim::Model`], through the
//! test kernel of [`crate::exec::testing`]) on a copied fixture tree: a write to `create`
//! materialises the mdev under the vendor's capacity rule, `remove` deletes it,
//! `sriov_numvfs` brings the PF's VFs (from the fixture's VF template). Errors are
//! injectable, and a write the kernel would block (an in-use device) panics.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::{load::parse, load::Source, node::Node};
use crate::exec::journal::Kernel;
use crate::exec::testing::{Faults, SimKernel};
use crate::host::testing::copy_tree;
use crate::plan::plan;

pub(super) struct Host {
    _dir: tempfile::TempDir,
    pub(super) root: PathBuf,
    pub(super) fs: Root,
    pub(super) faults: Faults,
    /// Workers for the creations (`apply --jobs`); the model forks when above 1.
    jobs: usize,
    forks: bool,
    vf_timeout: std::time::Duration,
}

impl Host {
    /// The kernel model over this host's tree, with its injected faults and hooks.
    fn model(&self) -> SimKernel {
        SimKernel::new(&self.root, self.faults.clone(), self.forks)
    }

    /// A journal whose writes go to the kernel model.
    fn journal(&self, dry_run: bool) -> Journal {
        Journal::with_kernel(
            &self.fs,
            dry_run,
            Box::new(self.model()),
            Box::new(io::sink()),
        )
        .unwrap()
    }

    /// Carry out `run` with an executor over the kernel model, then verify against the
    /// host read again. Returns the outcome and the writes (path, value).
    pub(super) fn run(
        &self,
        stop: Stop,
        run: impl FnOnce(&mut Executor) -> Result<()>,
    ) -> (Outcome, Vec<(String, String)>) {
        let mut journal = self.journal(false);
        let mut state = State::load(&self.fs).unwrap();
        let mut exec = Executor::new(&mut journal, &mut state, stop);
        exec.jobs = self.jobs;
        exec.vf_timeout = self.vf_timeout;
        run(&mut exec).unwrap();
        let mut outcome = exec.outcome;
        outcome.differences = verify(&Inventory::scan(&self.fs).unwrap(), &outcome);
        let writes = journal
            .writes()
            .iter()
            .map(|w| (w.path.clone(), w.value.clone()))
            .collect();
        (outcome, writes)
    }

    /// Write through the kernel model behind hostdev's back (no faults, no hooks).
    fn write_by_hand(&self, path: &str, value: &str) {
        SimKernel::plain(&self.root)
            .write(&self.root.join(path), value)
            .unwrap();
    }
}

pub(super) fn host(scenario: &str) -> Host {
    host_in(scenario, &std::env::temp_dir())
}

/// A private copy of fixture `scenario` in a temporary directory under `tmp`.
pub(super) fn host_in(scenario: &str, tmp: &Path) -> Host {
    let dir = tempfile::tempdir_in(tmp).unwrap();
    let root = dir.path().join("root");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(scenario);
    copy_tree(&src, &root);
    Host {
        fs: Root::new(&root),
        root,
        _dir: dir,
        faults: Faults::default(),
        jobs: 1,
        forks: false,
        vf_timeout: std::time::Duration::from_secs(5),
    }
}

pub(super) const NODE: &str = "node1";

fn cfg(yaml: &str) -> crate::config::model::Config {
    parse(yaml, &Source::Stdin).unwrap()
}

/// One apply: plan, execute with re-plan, verify. Returns the outcome and the writes.
pub(super) fn apply_once(
    h: &Host,
    yaml: &str,
    stop: Stop,
) -> (Outcome, Vec<(String, String)>, Plan) {
    let config = cfg(yaml);
    let node = Node::new(NODE, &[]);
    let inv = Inventory::scan(&h.fs).unwrap();
    let p = plan(&config, &node, &inv);
    let mut replan = || -> Result<Plan> { Ok(plan(&config, &node, &Inventory::scan(&h.fs)?)) };
    let (outcome, writes) = h.run(stop, |exec| execute(exec, &p, &mut replan));
    (outcome, writes, p)
}

pub(super) fn replan(h: &Host, yaml: &str) -> Plan {
    plan(
        &cfg(yaml),
        &Node::new(NODE, &[]),
        &Inventory::scan(&h.fs).unwrap(),
    )
}

pub(super) fn never() -> bool {
    false
}

const T4_222: &str = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n";

#[test]
fn apply_removes_replans_creates_verifies_and_converges() {
    let h = host("t4-undesired-idle");
    let (o, writes, p) = apply_once(&h, T4_222, &never);
    // The plan could not know how many fit on the freed card before the removals ran.
    assert_eq!(p.count(ActionKind::Remove), 4);
    assert!(o.replanned);
    assert!(o.complete(), "{o:#?}");
    assert_eq!(o.count(ActionKind::Remove), 4);
    assert_eq!(o.count(ActionKind::Create), 32);
    assert_eq!(writes.len(), 36);
    assert_eq!(
        writes[0],
        (
            "/sys/bus/mdev/devices/00000000-0000-4000-8000-000000000001/remove".to_string(),
            "1".to_string()
        )
    );
    let first_create = &writes[4];
    assert_eq!(
        first_create.0,
        "/sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types/nvidia-222/create"
    );
    assert_eq!(
        first_create.1,
        crate::plan::mdev_uuid(NODE, "0000:3b:00.0", "nvidia-222", 0).to_string()
    );
    // Exactly the planned UUIDs exist now, and the state records them.
    let inv = Inventory::scan(&h.fs).unwrap();
    assert_eq!(inv.mdevs.len(), 32);
    let state = State::load(&h.fs).unwrap();
    assert_eq!(state.mdevs.len(), 32);
    assert!(state.mdevs.iter().all(|m| m.type_id == "nvidia-222"));
    // Converged: the planner has nothing to do, and a second apply writes nothing.
    assert!(replan(&h, T4_222).is_noop());
    let (o2, writes2, _) = apply_once(&h, T4_222, &never);
    assert!(writes2.is_empty());
    assert!(o2.complete());
    let audit = fs::read_to_string(h.root.join(crate::host::root::AUDIT_LOG)).unwrap();
    assert_eq!(audit.lines().count(), 36);
}

#[test]
fn in_use_mdev_is_never_written_and_everything_else_is_done() {
    let h = host("t4-undesired");
    let (o, writes, _) = apply_once(&h, T4_222, &never);
    assert_eq!(o.in_use.len(), 1);
    assert_eq!(
        o.in_use[0].uuid(),
        Some("00000000-0000-4000-8000-000000000002")
    );
    assert_eq!(o.in_use[0].reason(), "in use by pid 4242 (qemu-system-x86)");
    assert!(!writes.iter().any(|(p, _)| p.contains("000000000002")));
    assert_eq!(o.count(ActionKind::Remove), 3);
    assert_eq!(o.count(ActionKind::Create), 16); // the free card
    assert!(!o.complete());
    assert!(o.differences.is_empty());
}

#[test]
fn device_opened_after_planning_is_caught_by_the_recheck() {
    let h = host("t4-undesired-idle");
    let root = h.root.clone();
    // After the first remove, a VM opens the group of ...0003 (group 16).
    *h.faults.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 1 {
            let d = root.join("proc/777/fd");
            fs::create_dir_all(&d).unwrap();
            fs::write(root.join("proc/777/comm"), "qemu-late\n").unwrap();
            symlink("/dev/vfio/16", d.join("5")).unwrap();
        }
    }));
    let (o, writes, _) = apply_once(&h, T4_222, &never);
    assert_eq!(o.in_use.len(), 1);
    assert_eq!(
        o.in_use[0].uuid(),
        Some("00000000-0000-4000-8000-000000000003")
    );
    assert_eq!(o.in_use[0].reason(), "in use by pid 777 (qemu-late)");
    assert!(!writes.iter().any(|(p, _)| p.contains("000000000003")));
}

fn create_fault(errno: i32, expect: &str) {
    let h = host("t4-2x");
    let yaml = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n";
    h.faults.errors.lock().unwrap().push((
        "0000:3b:00.0/mdev_supported_types/nvidia-222/create".into(),
        errno,
    ));
    let (o, writes, _) = apply_once(&h, yaml, &never);
    assert_eq!(o.failed.len(), 1, "{o:#?}");
    let f = &o.failed[0];
    assert_eq!(f.action.parent(), Some("0000:3b:00.0"));
    assert_eq!(
        f.reason,
        format!(
            "write '{}' to /sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types/nvidia-222/create: {expect}",
            f.action.uuid().unwrap()
        )
    );
    // The failing parent is skipped for that type after its first failure; the other continues.
    assert_eq!(o.not_done.len(), 15);
    assert!(o
        .not_done
        .iter()
        .all(|n| n.action.parent() == Some("0000:3b:00.0")
            && n.reason == "skipped: an earlier nvidia-222 creation on 0000:3b:00.0 failed"));
    assert_eq!(o.count(ActionKind::Create), 16);
    assert_eq!(writes.len(), 17);
    assert!(o.differences.is_empty());
    // Once the cause is fixed, a second apply converges.
    h.faults.errors.lock().unwrap().clear();
    let (o2, writes2, _) = apply_once(&h, yaml, &never);
    assert!(o2.complete(), "{o2:#?}");
    assert_eq!(writes2.len(), 16);
    assert!(replan(&h, yaml).is_noop());
}

#[test]
fn create_enospc() {
    create_fault(nix::libc::ENOSPC, "No space left on device (os error 28)");
}
#[test]
fn create_einval() {
    create_fault(nix::libc::EINVAL, "Invalid argument (os error 22)");
}
#[test]
fn create_edquot() {
    create_fault(nix::libc::EDQUOT, "Disk quota exceeded (os error 122)");
}
#[test]
fn create_eusers() {
    create_fault(nix::libc::EUSERS, "Too many users (os error 87)");
}
#[test]
fn create_eexist() {
    create_fault(nix::libc::EEXIST, "File exists (os error 17)");
}

#[test]
fn create_ebusy_and_real_enospc_from_the_model() {
    // The card filled behind hostdev's back after its second creation (six more
    // T4-2Q by hand, up to max_instance 8): the model's own ENOSPC.
    let h = host("t4-1x");
    let yaml = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-223]\n";
    let root = h.root.clone();
    *h.faults.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 2 {
            for i in 0..6 {
                SimKernel::plain(&root)
                    .write(
                        &root.join(
                            "sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types/nvidia-223/create",
                        ),
                        &format!("00000000-0000-4000-8000-0000000000a{i}"),
                    )
                    .unwrap();
            }
        }
    }));
    let (o, writes, _) = apply_once(&h, yaml, &never);
    assert_eq!(o.count(ActionKind::Create), 2);
    assert_eq!(o.failed.len(), 1);
    assert!(o.failed[0]
        .reason
        .ends_with("No space left on device (os error 28)"));
    assert_eq!(o.not_done.len(), 5);
    assert_eq!(writes.len(), 3);
}

#[test]
fn remove_ebusy_and_missing_file() {
    let h = host("t4-undesired-idle");
    h.faults.errors.lock().unwrap().push((
        "00000000-0000-4000-8000-000000000001/remove".into(),
        nix::libc::EBUSY,
    ));
    fs::remove_file(
        h.root
            .join("sys/bus/mdev/devices/00000000-0000-4000-8000-000000000004/remove"),
    )
    .unwrap();
    let (o, _, _) = apply_once(&h, T4_222, &never);
    let reasons: Vec<&str> = o.failed.iter().map(|f| f.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "write '1' to /sys/bus/mdev/devices/00000000-0000-4000-8000-000000000001/remove: Device or resource busy (os error 16)",
            "write '1' to /sys/bus/mdev/devices/00000000-0000-4000-8000-000000000004/remove: No such file or directory (os error 2)",
        ]
    );
    assert_eq!(o.count(ActionKind::Remove), 2);
    // The card still carries nvidia-230 mdevs: no creation there; the other card is filled.
    assert!(o
        .done
        .iter()
        .filter(|a| a.kind() == ActionKind::Create)
        .all(|a| a.parent() == Some("0000:5e:00.0")));
    assert_eq!(o.count(ActionKind::Create), 16);
    assert_eq!(o.not_done.len(), 16);
    assert!(o
        .not_done
        .iter()
        .all(|n| n.action.parent() == Some("0000:3b:00.0")
            && n.reason == "skipped: 0000:3b:00.0 still carries mdevs that could not be removed"));
    // Fixed: the second run removes the rest and fills the card.
    h.faults.errors.lock().unwrap().clear();
    fs::write(
        h.root.join("sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/00000000-0000-4000-8000-000000000004/remove"),
        "",
    )
    .unwrap();
    let (o2, _, _) = apply_once(&h, T4_222, &never);
    assert!(o2.complete(), "{o2:#?}");
    assert!(replan(&h, T4_222).is_noop());
}

#[test]
fn interrupt_finishes_the_write_in_flight_and_stops() {
    let h = host("t4-2x");
    let yaml = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\n";
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = count.clone();
    *h.faults.after.lock().unwrap() = Some(Box::new(move |n| {
        c2.store(n, std::sync::atomic::Ordering::SeqCst)
    }));
    let stop = move || count.load(std::sync::atomic::Ordering::SeqCst) >= 3;
    let (o, writes, _) = apply_once(&h, yaml, &stop);
    assert!(o.interrupted);
    assert_eq!(writes.len(), 3);
    assert_eq!(o.count(ActionKind::Create), 3);
    assert_eq!(o.not_done.len(), 29);
    assert!(o
        .not_done
        .iter()
        .all(|n| n.reason == "interrupted before this write"));
    assert_eq!(State::load(&h.fs).unwrap().mdevs.len(), 3);
    assert!(o.differences.is_empty());
}

#[test]
fn dry_run_writes_nothing_and_lists_the_plan() {
    let h = host("t4-undesired");
    let config = cfg(T4_222);
    let node = Node::new(NODE, &[]);
    let p = plan(&config, &node, &Inventory::scan(&h.fs).unwrap());
    let mut journal = h.journal(true);
    let mut state = State::load(&h.fs).unwrap();
    let mut exec = Executor::new(&mut journal, &mut state, &never);
    let mut rp = || -> Result<Plan> { panic!("a dry run does not re-plan") };
    execute(&mut exec, &p, &mut rp).unwrap();
    assert_eq!(journal.writes().len(), p.actions.len());
    assert!(journal.writes().iter().all(|w| w.result == "dry-run"));
    assert_eq!(Inventory::scan(&h.fs).unwrap().mdevs.len(), 4);
    assert!(!h.root.join("var").exists());
    assert!(!h.root.join("run").exists());
}

/// Save the plan as `plan -o json` prints it, read it back as `apply --plan` does, and
/// carry it out against the kernel model with [`execute_saved`].
fn apply_saved(h: &Host, saved: &Plan) -> (Outcome, Vec<(String, String)>) {
    let text = serde_json::to_string_pretty(saved).unwrap();
    let p = crate::plan::saved::parse(&text, "p.json").unwrap();
    crate::plan::saved::check_node_and_counts(&p, &Node::new(NODE, &[]), "p.json").unwrap();
    crate::plan::saved::check_host(&h.fs, &p, "p.json").unwrap();
    let inv = Inventory::scan(&h.fs).unwrap();
    h.run(&never, |exec| execute_saved(exec, &p, &inv))
}

fn action_writes(p: &Plan) -> Vec<(String, String)> {
    p.actions
        .iter()
        .map(|a| match a {
            Action::Remove(m) => (
                format!("/sys/bus/mdev/devices/{}/remove", m.uuid),
                "1".to_string(),
            ),
            Action::Create(m) => (
                format!(
                    "/sys/class/mdev_bus/{}/mdev_supported_types/{}/create",
                    m.parent, m.type_id
                ),
                m.uuid.clone(),
            ),
            k => panic!("no vGPU actions on this fixture: {k:?}"),
        })
        .collect()
}

/// Hand-made mdev, behind hostdev's back (through the kernel model).
fn make_by_hand(h: &Host, parent: &str, type_id: &str, uuid: &str) {
    h.write_by_hand(
        &format!("sys/class/mdev_bus/{parent}/mdev_supported_types/{type_id}/create"),
        uuid,
    );
}

#[test]
fn saved_plan_is_carried_out_exactly_without_replan() {
    let h = host("t4-undesired-idle");
    let saved = replan(&h, T4_222);
    assert_eq!(saved.count(ActionKind::Remove), 4);
    assert_eq!(saved.count(ActionKind::Create), 32);
    let (o, writes) = apply_saved(&h, &saved);
    assert!(o.complete(), "{o:#?}");
    assert!(!o.replanned);
    assert!(o.saved_plan);
    assert_eq!(writes, action_writes(&saved));
    assert_eq!(State::load(&h.fs).unwrap().mdevs.len(), 32);
    assert!(replan(&h, T4_222).is_noop());
}

#[test]
fn stale_saved_plan_reports_the_kernel_errors_and_the_rest_continues() {
    let h = host("t4-2x");
    let saved = replan(&h, T4_222);
    let first = |parent: &str| {
        saved
            .actions
            .iter()
            .find(|a| a.parent() == Some(parent))
            .and_then(|a| a.uuid())
            .unwrap()
            .to_string()
    };
    let (a, b) = ("0000:3b:00.0", "0000:5e:00.0");
    // A's first planned UUID now names an mdev on B (EEXIST on A); B has one slot less
    // than planned (ENOSPC on B's last creation).
    let dup = first(a);
    make_by_hand(&h, b, "nvidia-222", &dup);
    let (o, writes) = apply_saved(&h, &saved);
    let reasons: Vec<&str> = o.failed.iter().map(|f| f.reason.as_str()).collect();
    let last_b = saved.actions.last().unwrap().uuid().unwrap();
    assert_eq!(
        reasons,
        vec![
            format!("write '{dup}' to /sys/class/mdev_bus/{a}/mdev_supported_types/nvidia-222/create: File exists (os error 17)"),
            format!("write '{last_b}' to /sys/class/mdev_bus/{b}/mdev_supported_types/nvidia-222/create: No space left on device (os error 28)"),
        ]
    );
    // A is skipped after its failure; B, after A, still got its 15.
    assert_eq!(o.not_done.len(), 15);
    assert!(o.not_done.iter().all(|n| n.action.parent() == Some(a)));
    assert_eq!(o.count(ActionKind::Create), 15);
    assert!(o.done.iter().all(|d| d.parent() == Some(b)));
    assert_eq!(writes.len(), 17);
    assert!(o.differences.is_empty());
    assert!(!o.complete());
    // Cause fixed (the hand-made mdev removed): a plain apply converges.
    h.write_by_hand(&format!("sys/bus/mdev/devices/{dup}/remove"), "1");
    let (o2, _, _) = apply_once(&h, T4_222, &never);
    assert!(o2.complete(), "{o2:#?}");
    assert!(replan(&h, T4_222).is_noop());
    assert_eq!(Inventory::scan(&h.fs).unwrap().mdevs.len(), 32);
}

#[test]
fn saved_removal_of_an_mdev_that_changed_is_not_done_and_its_parent_gets_no_creations() {
    let h = host("t4-undesired-idle");
    let mut saved = replan(&h, T4_222);
    // The plan claims ...0001 is an nvidia-229: it is not (the plan is stale).
    if let Action::Remove(m) = &mut saved.actions[0] {
        m.type_id = "nvidia-229".into();
    }
    let (o, writes) = apply_saved(&h, &saved);
    assert_eq!(
        o.not_done[0].action.uuid(),
        Some("00000000-0000-4000-8000-000000000001")
    );
    assert!(o.not_done[0]
        .reason
        .starts_with("stale plan: mdev 00000000-0000-4000-8000-000000000001 is now nvidia-230 on 0000:3b:00.0, not nvidia-229"));
    assert!(!writes.iter().any(|(p, _)| p.contains("000000000001")));
    assert!(o
        .not_done
        .iter()
        .filter(|n| n.action.kind() == ActionKind::Create)
        .all(|n| n.action.parent() == Some("0000:3b:00.0")));
    assert_eq!(o.count(ActionKind::Create), 16);
    assert!(o
        .done
        .iter()
        .filter(|d| d.kind() == ActionKind::Create)
        .all(|d| d.parent() == Some("0000:5e:00.0")));
}

/// Issue 12 item 7: once the state file cannot be written, no further host write is made
/// (an mdev created then could never be torn down), and the run says what was done.
#[test]
fn state_that_cannot_be_written_stops_before_the_next_host_write() {
    let h = host("t4-undesired-idle");
    let state = State::path(&h.fs);
    *h.faults.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 1 {
            // a directory where the state file goes: the rename onto it fails
            let _ = fs::remove_file(&state);
            fs::create_dir_all(&state).unwrap();
        }
    }));
    let (o, writes, _) = apply_once(&h, T4_222, &never);
    assert_eq!(o.count(ActionKind::Remove), 4, "{o:#?}");
    assert_eq!(o.count(ActionKind::Create), 0);
    assert_eq!(writes.len(), 4, "only the removals were made: {writes:?}");
    assert_eq!(o.not_done.len(), 32);
    assert!(o.not_done.iter().all(|n| n.reason
        == "not attempted: the state file could not be written, so this change could not be undone by `teardown`"));
    assert!(
        o.errors[0].starts_with("writing the state file /run/hostdev/state.json"),
        "{:?}",
        o.errors
    );
    assert!(!o.complete());
}

/// A batch of creations costs two state writes (recorded ahead, then settled), not one
/// per creation; and the records match what was made.
#[test]
fn creations_are_recorded_ahead_in_one_state_write_per_batch() {
    let h = host("t4-2x");
    let path = State::path(&h.fs);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    *h.faults.after.lock().unwrap() = Some(Box::new(move |_| {
        // the state file already lists every mdev of the batch before it is created
        let st: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        s2.lock()
            .unwrap()
            .push(st["mdevs"].as_array().unwrap().len());
    }));
    let (o, writes, _) = apply_once(&h, T4_222, &never);
    assert!(o.complete(), "{o:#?}");
    assert_eq!(writes.len(), 32);
    assert!(
        seen.lock().unwrap().iter().all(|n| *n == 32),
        "{:?}",
        seen.lock().unwrap()
    );
    assert_eq!(State::load(&h.fs).unwrap().mdevs.len(), 32);
}

/// Failed creations recorded ahead are dropped again after the batch.
#[test]
fn records_of_failed_creations_are_dropped_after_the_batch() {
    let h = host("t4-2x");
    h.faults.errors.lock().unwrap().push((
        "0000:3b:00.0/mdev_supported_types/nvidia-222/create".into(),
        nix::libc::EIO,
    ));
    let (o, _, _) = apply_once(&h, T4_222, &never);
    assert_eq!(o.count(ActionKind::Create), 16);
    let st = State::load(&h.fs).unwrap();
    assert_eq!(st.mdevs.len(), 16);
    assert!(st.mdevs.iter().all(|m| m.parent == "0000:5e:00.0"));
}

/// Decision (docs/apply-teardown.md, "audit log"): a failing audit write does not undo
/// the change it records; the run stops before its next host write, as for the state file.
#[test]
fn audit_log_that_cannot_be_written_stops_before_the_next_host_write() {
    let h = host("t4-2x");
    let audit = h.root.join(crate::host::root::AUDIT_LOG);
    *h.faults.after.lock().unwrap() = Some(Box::new(move |n| {
        if n == 1 {
            fs::remove_file(&audit).unwrap();
            fs::create_dir_all(&audit).unwrap();
        }
    }));
    let (o, writes, _) = apply_once(&h, T4_222, &never);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(o.count(ActionKind::Create), 1);
    assert_eq!(o.not_done.len(), 31);
    assert!(o.not_done.iter().all(|n| {
        n.reason
        == "not attempted: the audit log could not be written, so this change would go unrecorded"
    }));
    assert!(
        o.errors[0].starts_with("could not append to the audit log /var/log/hostdev/audit.jsonl"),
        "{:?}",
        o.errors
    );
    // the mdev that was made is recorded
    assert_eq!(State::load(&h.fs).unwrap().mdevs.len(), 1);
}

/// Found in the VM (case 66-nvsim-enable-vfs, mode vfio): teardown clears the vGPU types of
/// a GPU whose VFs hostdev enabled, then disables its VFs; the cleared VFs are gone, which
/// is no difference (it was reported as "reads nothing", exit 1). A cleared VF that is
/// gone while its GPU was not disabled still is one.
#[test]
fn vf_cleared_then_disabled_with_its_gpu_is_no_difference() {
    let h = host("l40s-vfio");
    let clear = |vf: &str| {
        Action::ClearVgpuType(VfAction {
            address: vf.into(),
            gpu: Some("0000:61:00.0".into()),
            type_id: 1152,
            type_name: None,
        })
    };
    let disable = Action::DisableVfs(crate::plan::SriovAction {
        address: "0000:61:00.0".into(),
        from: 8,
        count: 0,
    });
    let inv = Inventory::scan(&h.fs).unwrap();
    let gone = "0000:61:07.7"; // not on the host: as after sriov_numvfs <- 0
    let outcome = Outcome {
        done: vec![clear(gone), disable],
        ..Default::default()
    };
    assert_eq!(verify(&inv, &outcome), Vec::<String>::new());
    let outcome = Outcome {
        done: vec![clear(gone)],
        ..Default::default()
    };
    assert_eq!(
        verify(&inv, &outcome),
        vec![format!(
            "VF {gone} should carry vGPU type 0 but reads nothing (no nvidia/current_vgpu_type)"
        )]
    );
}

#[test]
fn vf_cleared_then_set_in_one_run_is_verified_against_its_last_write() {
    // a type change on a vendor-VFIO GPU: the VF is cleared, the GPU re-planned, and the
    // same VF given the new type; found by the simulated NVIDIA driver (tests/vm case 62)
    let h = host("l40s-vfio");
    let vf = |type_id| VfAction {
        address: "0000:61:00.4".into(),
        gpu: Some("0000:61:00.0".into()),
        type_id,
        type_name: None,
    };
    let mut outcome = Outcome {
        done: vec![
            Action::ClearVgpuType(vf(1150)),
            Action::SetVgpuType(vf(1152)),
        ],
        ..Default::default()
    };
    let inv = Inventory::scan(&h.fs).unwrap();
    assert_eq!(verify(&inv, &outcome), Vec::<String>::new());
    // the last write still counts: the VF reads 1152, not 0
    outcome.done.swap(0, 1);
    assert_eq!(
        verify(&inv, &outcome),
        vec!["VF 0000:61:00.4 should carry vGPU type 0 but reads 1152".to_string()]
    );
}

/// A plan that changed between showing it and taking the lock is not carried out: the
/// job's refresh under the lock re-plans and refuses (exit 1, nothing written).
#[test]
fn plan_changed_after_it_was_shown_is_refused_under_the_lock() {
    use crate::exec::pipeline::Job;
    use clap::Parser;
    let h = host("t4-2x");
    let cli = crate::cli::Cli::try_parse_from([
        "hostdev".as_ref(),
        "--root".as_ref(),
        h.root.as_os_str(),
        "plan".as_ref(),
    ])
    .unwrap();
    let ctx = crate::context::Context::new(&cli.global).unwrap();
    let config = cfg(T4_222);
    let node = Node::new(NODE, &[]);
    let inv = Inventory::scan(&h.fs).unwrap();
    let p = plan(&config, &node, &inv);
    let source = crate::exec::apply::PlanSource::Config {
        shown: "c".into(),
        config: &config,
        node: &node,
    };
    let mut job = crate::exec::apply::ApplyJob::new(p, source, inv, false);
    job.refresh(&ctx).unwrap(); // unchanged: fine
                                // another run creates an mdev meanwhile: the plan's creations change
    make_by_hand(
        &h,
        "0000:3b:00.0",
        "nvidia-222",
        &crate::plan::mdev_uuid(NODE, "0000:3b:00.0", "nvidia-222", 0).to_string(),
    );
    let e = job.refresh(&ctx).unwrap_err();
    assert_eq!(crate::error::exit_code(&e).as_i32(), 1);
    assert!(
        e.to_string()
            .starts_with("the host changed after the plan was shown"),
        "{e}"
    );
}

/// Issue 23 item 3: with a worker per GPU, the writes to two GPUs are made at the same
/// time (each GPU's first creation waits until the other GPU's is in flight: on one
/// thread it would wait in vain), and the outcome, the journal's writes, the audit log
/// and the state file are the same, in plan order, as with `--jobs 1`.
#[test]
fn a_worker_per_gpu_writes_at_once_and_reports_in_plan_order() {
    use std::sync::Condvar;
    use std::time::Duration;
    let one = host("t4-2x");
    let (o1, w1, p) = apply_once(&one, T4_222, &never);
    assert!(o1.complete(), "{o1:#?}");

    let mut two = host("t4-2x");
    two.jobs = 2;
    two.forks = true;
    let met: Arc<(Mutex<BTreeSet<String>>, Condvar)> = Arc::default();
    let together = Arc::new(Mutex::new(true));
    let (m2, t2) = (met.clone(), together.clone());
    *two.faults.gate.lock().unwrap() = Some(Arc::new(move |path: &Path| {
        let gpu = path
            .to_string_lossy()
            .split('/')
            .find(|c| c.starts_with("0000:"))
            .unwrap_or("")
            .to_string();
        let (seen, cv) = &*m2;
        let mut seen = seen.lock().unwrap();
        if seen.insert(gpu) {
            cv.notify_all();
            let (seen, timeout) = cv
                .wait_timeout_while(seen, Duration::from_secs(10), |s| s.len() < 2)
                .unwrap();
            if timeout.timed_out() && seen.len() < 2 {
                *t2.lock().unwrap() = false;
            }
        }
    }));
    let (o2, w2, _) = apply_once(&two, T4_222, &never);
    assert!(
        *together.lock().unwrap(),
        "the two GPUs were not written at the same time"
    );
    assert!(o2.complete(), "{o2:#?}");
    assert_eq!(o2.done, o1.done, "outcome in plan order");
    assert_eq!(w2, w1, "writes in plan order");
    assert_eq!(o2.done.len(), p.actions.len());
    let audit = |h: &Host| -> Vec<String> {
        fs::read_to_string(h.root.join(crate::host::root::AUDIT_LOG))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{} {}", v["path"], v["value"])
            })
            .collect()
    };
    assert_eq!(audit(&two), audit(&one), "audit log in plan order");
    let state = |h: &Host| -> String {
        let s = fs::read_to_string(State::path(&h.fs)).unwrap();
        s.lines().filter(|l| !l.contains("created_at")).collect()
    };
    assert_eq!(state(&two), state(&one), "state file in plan order");
}

/// A stop request reaches every worker before its next write: each GPU's remaining
/// creations are reported as not done, and nothing is written after the request.
#[test]
fn every_worker_stops_before_its_next_write() {
    let mut h = host("t4-2x");
    h.jobs = 2;
    h.forks = true;
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = count.clone();
    *h.faults.gate.lock().unwrap() = Some(Arc::new(move |_: &Path| {
        c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    let stop = move || count.load(std::sync::atomic::Ordering::SeqCst) >= 4;
    let (o, writes, p) = apply_once(&h, T4_222, &stop);
    assert!(o.interrupted);
    // each worker may have had one write in flight when the fourth began
    assert!((4..=5).contains(&writes.len()), "{}", writes.len());
    assert_eq!(o.done.len() + o.not_done.len(), p.actions.len());
    assert!(
        o.not_done.iter().all(|n| n.reason.contains("interrupted")),
        "{:?}",
        o.not_done
    );
}

/// The A40 of `a40-novfs` (no VF enabled) with the node's configuration asking for its
/// VFs and A40-8Q vGPUs.
const A40_ENABLE: &str = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-558]\nhostdev:\n  virtualFunctions: all\n";

/// The A40 with no VFs enabled; the model gives each VF it enables the types of the
/// fixture's VF template (`.hostdev-sim/vf-template/0000:41:00.0/`, as a40-sriov's VFs).
fn a40_novfs() -> Host {
    host("a40-novfs")
}

/// Issue 23 items 1–2: one apply enables the VFs (`sriov_numvfs` ← 32, recorded in the
/// state file before the write), waits until they offer their types, plans their vGPUs
/// and creates them; a second plan has nothing to do.
#[test]
fn apply_enables_the_vfs_then_plans_and_creates_their_vgpus() {
    let h = a40_novfs();
    let p = replan(&h, A40_ENABLE);
    assert_eq!(
        p.actions,
        vec![Action::EnableVfs(crate::plan::SriovAction {
            address: "0000:41:00.0".into(),
            from: 0,
            count: 32
        })]
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let (o, writes, _) = apply_once(&h, A40_ENABLE, &never);
    assert!(o.complete(), "{o:#?}");
    assert!(o.replanned);
    assert_eq!(writes[0].1, "32");
    assert!(
        writes[0].0.ends_with("0000:41:00.0/sriov_numvfs"),
        "{:?}",
        writes[0]
    );
    assert_eq!(o.count(ActionKind::EnableVfs), 1);
    assert_eq!(o.count(ActionKind::Create), 6, "A40-8Q: max_instance 6");
    let state = State::load(&h.fs).unwrap();
    assert_eq!(state.sriov.len(), 1);
    assert_eq!(state.sriov[0].numvfs, 32);
    assert!(replan(&h, A40_ENABLE).is_noop());
}

/// A driver still starting answers EAGAIN: the write is tried again (each attempt in the
/// audit log) until it succeeds.
#[test]
fn a_transient_failure_is_tried_again() {
    let h = a40_novfs();
    h.faults
        .first
        .lock()
        .unwrap()
        .push(("sriov_numvfs".into(), nix::libc::EAGAIN, 2));
    let (o, writes, _) = apply_once(&h, A40_ENABLE, &never);
    assert!(o.complete(), "{o:#?}");
    let tries: Vec<_> = writes
        .iter()
        .filter(|w| w.0.ends_with("sriov_numvfs"))
        .collect();
    assert_eq!(tries.len(), 3, "two refused, one made");
    assert_eq!(o.count(ActionKind::Create), 6);
    let audit = fs::read_to_string(h.root.join(crate::host::root::AUDIT_LOG)).unwrap();
    assert_eq!(audit.matches("Resource temporarily unavailable").count(), 2);
}

/// A failure that outlasts `--vf-timeout`: the GPU is reported failed with the kernel's
/// error and the timeout, no vGPU is attempted, and the state file keeps no record.
#[test]
fn a_failure_outlasting_the_timeout_leaves_nothing_recorded() {
    let mut h = a40_novfs();
    h.vf_timeout = std::time::Duration::from_millis(600);
    h.faults
        .errors
        .lock()
        .unwrap()
        .push(("sriov_numvfs".into(), nix::libc::EAGAIN));
    let (o, _, _) = apply_once(&h, A40_ENABLE, &never);
    assert_eq!(o.failed.len(), 1, "{o:#?}");
    let why = &o.failed[0].reason;
    assert!(
        why.contains("Resource temporarily unavailable") && why.contains("--vf-timeout"),
        "{why}"
    );
    assert_eq!(o.count(ActionKind::Create), 0);
    assert!(State::load(&h.fs).unwrap().sriov.is_empty());
}

/// Found in the VM (case 66-nvsim-enable-vfs, two GPUs): `--vf-timeout` reached only the
/// executor itself; the worker of each GPU enabled its VFs with the default 120 s.
#[test]
fn every_gpu_worker_takes_the_vf_timeout() {
    let mut h = host("a40-novfs");
    h.jobs = 2;
    h.forks = true;
    h.vf_timeout = std::time::Duration::from_millis(700);
    let enable = |address: &str| {
        Action::EnableVfs(crate::plan::SriovAction {
            address: address.into(),
            from: 0,
            count: 8,
        })
    };
    let actions = vec![enable("0000:41:00.0"), enable("0000:81:00.0")];
    let seen = Mutex::new(Vec::new());
    h.run(&never, |exec| {
        exec.per_gpu(&actions, &|e, _| seen.lock().unwrap().push(e.vf_timeout));
        Ok(())
    });
    assert_eq!(
        *seen.lock().unwrap(),
        vec![std::time::Duration::from_millis(700); 2]
    );
}

/// An error that is not transient (ERANGE: more VFs than the device has) fails at once.
#[test]
fn a_lasting_error_is_not_tried_again() {
    let h = a40_novfs();
    h.faults
        .errors
        .lock()
        .unwrap()
        .push(("sriov_numvfs".into(), nix::libc::ERANGE));
    let (o, writes, _) = apply_once(&h, A40_ENABLE, &never);
    assert_eq!(writes.len(), 1);
    assert_eq!(o.failed.len(), 1);
    assert!(State::load(&h.fs).unwrap().sriov.is_empty());
}

/// VFs that appear but never offer vGPU types: failed after the timeout, naming what is
/// missing; the record stays (the VFs exist: teardown disables them).
#[test]
fn vfs_that_never_get_ready_fail_after_the_timeout_and_stay_recorded() {
    let mut h = a40_novfs();
    h.vf_timeout = std::time::Duration::from_millis(500);
    // VFs without a template: they come up with no mdev types
    fs::remove_dir_all(h.root.join(".hostdev-sim/vf-template")).unwrap();
    let (o, _, _) = apply_once(&h, A40_ENABLE, &never);
    assert_eq!(o.failed.len(), 1, "{o:#?}");
    assert!(
        o.failed[0].reason.contains("not ready for vGPUs"),
        "{}",
        o.failed[0].reason
    );
    assert_eq!(State::load(&h.fs).unwrap().sriov.len(), 1);
}

/// Teardown disables the VFs hostdev enabled, after removing the vGPUs on them; a VF a
/// process holds keeps the GPU enabled, named, its record kept.
#[test]
fn teardown_disables_the_vfs_hostdev_enabled_unless_one_is_in_use() {
    let h = a40_novfs();
    let (o, _, _) = apply_once(&h, A40_ENABLE, &never);
    assert!(o.complete(), "{o:#?}");
    let teardown = |h: &Host| {
        let state = State::load(&h.fs).unwrap();
        let inv = Inventory::scan(&h.fs).unwrap();
        let p = crate::plan::teardown::plan(
            &state,
            &inv,
            crate::plan::teardown::Scope {
                mdevs: true,
                vfio: false,
                all: false,
            },
        );
        h.run(&never, |exec| {
            exec.remove(
                &p.remove
                    .iter()
                    .filter(|a| a.kind() == ActionKind::Remove)
                    .cloned()
                    .collect::<Vec<_>>(),
            )?;
            exec.disable_vfs(
                &p.remove
                    .iter()
                    .filter(|a| a.kind().is_sriov())
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        })
    };
    // a VM holds VF 0000:41:00.4 open (its vfio group)
    let g = fs::read_link(h.root.join("sys/bus/pci/devices/0000:41:00.4/iommu_group")).unwrap();
    let g = g.file_name().unwrap().to_string_lossy().into_owned();
    crate::host::testing::hold_group(&h.root, 4343, "qemu-system-x86", &g);
    let (o, _) = teardown(&h);
    assert_eq!(o.not_done.len(), 1, "{o:#?}");
    assert!(
        o.not_done[0].reason.contains("pid 4343 (qemu-system-x86)"),
        "{}",
        o.not_done[0].reason
    );
    assert_eq!(
        fs::read_to_string(h.root.join("sys/bus/pci/devices/0000:41:00.0/sriov_numvfs"))
            .unwrap()
            .trim(),
        "32"
    );
    assert_eq!(State::load(&h.fs).unwrap().sriov.len(), 1);
    // released: disabled, forgotten
    fs::remove_dir_all(h.root.join("proc/4343")).unwrap();
    let (o, writes) = teardown(&h);
    assert!(o.complete(), "{o:#?}");
    assert_eq!(writes.last().unwrap().1, "0");
    assert!(State::load(&h.fs).unwrap().sriov.is_empty());
    assert!(!h.root.join("sys/bus/pci/devices/0000:41:00.4").exists());
}

/// VFs someone else enabled with another count between the plan and the write: the kernel
/// answers EBUSY, and that is not waited out as a driver still starting — the GPU fails at
/// once, naming the count found, and is not recorded.
#[test]
fn vfs_enabled_meanwhile_with_another_count_fail_at_once() {
    let h = a40_novfs();
    let numvfs = h.root.join("sys/bus/pci/devices/0000:41:00.0/sriov_numvfs");
    let n2 = numvfs.clone();
    *h.faults.gate.lock().unwrap() = Some(Arc::new(move |p: &Path| {
        if p.ends_with("sriov_numvfs") {
            fs::write(&n2, "8\n").unwrap();
        }
    }));
    h.faults
        .errors
        .lock()
        .unwrap()
        .push(("sriov_numvfs".into(), nix::libc::EBUSY));
    let (o, writes, _) = apply_once(&h, A40_ENABLE, &never);
    assert_eq!(writes.len(), 1, "not tried again");
    assert_eq!(o.failed.len(), 1, "{o:#?}");
    assert!(
        o.failed[0].reason.contains("8 VFs were enabled meanwhile"),
        "{}",
        o.failed[0].reason
    );
    assert!(State::load(&h.fs).unwrap().sriov.is_empty());
}
