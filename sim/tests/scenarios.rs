//! tests/model/*.yaml on the simulated host: each host kind's fixture (fixtures/vm-*, the
//! VM suite's hosts) served through FUSE by hostdev_sim::serve, every scenario of its kind run
//! against the mount with plain file I/O, as `hostdev-sim scenarios` runs them on the real
//! kernel in tests/vm/cases/69-model-scenarios*.sh. Any mismatch fails, with the diff-like
//! report.

use std::path::{Path, PathBuf};

use hostdev_sim::scenario::{Report, Runner, KINDS};
use hostdev_sim::serve::{serve, Options};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/model"))
        .expect("tests/model")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn run_kind(kind: &str) -> Report {
    let fixture = repo().join("fixtures").join(format!("vm-{kind}"));
    let mnt = tempfile_dir(kind);
    let served = serve(&fixture, &mnt, &Options { in_place: false }).expect("serving the fixture");
    let mut runner = Runner::new(&mnt, Some(kind));
    let mut report = Report::default();
    for f in scenario_files() {
        runner
            .run_file(&f, &mut report)
            .expect("a well-formed scenario file");
    }
    drop(served);
    let _ = std::fs::remove_dir(&mnt);
    report
}

fn tempfile_dir(kind: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hostdev-sim-scen-{kind}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("mountpoint");
    d
}

fn check(kind: &str) {
    let r = run_kind(kind);
    assert!(r.scenarios > 0, "no scenario for host kind {kind}");
    let diff: Vec<String> = r.mismatches.iter().map(|m| m.to_string()).collect();
    assert!(
        diff.is_empty(),
        "{} mismatch(es) on fixtures/vm-{kind} ({} scenarios, {} steps):\n{}",
        diff.len(),
        r.scenarios,
        r.steps,
        diff.join("\n")
    );
}

#[test]
fn every_kind_has_a_fixture() {
    for k in KINDS {
        assert!(
            repo().join("fixtures").join(format!("vm-{k}")).is_dir(),
            "fixtures/vm-{k}"
        );
    }
}

#[test]
fn samples() {
    check("samples");
}

#[test]
fn igb_sriov() {
    check("igb-sriov");
}

#[test]
fn nvsim_pf() {
    check("nvsim-pf");
}

#[test]
fn nvsim_vf() {
    check("nvsim-vf");
}

#[test]
fn nvsim_vfio() {
    check("nvsim-vfio");
}
