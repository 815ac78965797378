//! Boot-time persistence: `apply --wait-for-parents SECONDS` waits (bounded) for the vendor
//! driver to register the mdev parents, then plans against what exists.

use std::time::{Duration, Instant};

use crate::util::{Host, Run};

fn apply_dry_run(host: &Host, wait: &str) -> Run {
    host.on_node("node1", &["apply", "--dry-run", "--wait-for-parents", wait])
}

fn creates_on(stdout: &str, parent: &str) -> usize {
    stdout
        .lines()
        .filter(|l| l.starts_with("echo ") && l.contains(&format!("/mdev_bus/{parent}/")))
        .count()
}

#[test]
fn ready_host_does_not_wait() {
    let host = Host::copy("t4-3x");
    let start = Instant::now();
    let r = apply_dry_run(&host, "30");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(!r.stderr.contains("mdev parents"), "{}", r.stderr);
    assert_eq!(creates_on(&r.stdout, "0000:86:00.0"), 16, "{}", r.stdout);
}

#[test]
fn timeout_warns_names_the_gpu_and_continues_with_what_exists() {
    let host = Host::copy("t4-3x");
    // The third T4 is bound to nvidia but its vGPU types are not registered (yet).
    std::fs::remove_file(host.backing_path("sys/class/mdev_bus/0000:86:00.0")).expect("rm");
    let start = Instant::now();
    let r = apply_dry_run(&host, "1");
    assert!(start.elapsed() >= Duration::from_secs(1));
    // (the time said is the time waited: 1.0 s, or a little more on a busy machine)
    r.assert_stderr(0, "hostdev: warning: mdev parents not ready after 1.");
    assert!(
        r.stderr
            .contains(" s: NVIDIA GPU(s) bound to nvidia without mdev types yet: 0000:86:00.0 ("),
        "{}",
        r.stderr
    );
    assert!(r
        .stderr
        .contains("continuing with the 2 parent(s) that offer a desired type"));
    assert_eq!(creates_on(&r.stdout, "0000:3b:00.0"), 16, "{}", r.stdout);
    assert_eq!(creates_on(&r.stdout, "0000:86:00.0"), 0);
}

#[test]
fn parents_registered_during_the_wait_are_planned() {
    let host = Host::copy("t4-3x");
    let link = host.backing_path("sys/class/mdev_bus/0000:86:00.0");
    let target = std::fs::read_link(&link).expect("readlink");
    std::fs::remove_file(&link).expect("rm");
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        std::os::unix::fs::symlink(target, link).expect("symlink");
    });
    let r = apply_dry_run(&host, "30");
    late.join().expect("thread");
    r.assert_stderr(0, "hostdev: note: mdev parents ready after ");
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(creates_on(&r.stdout, "0000:86:00.0"), 16, "{}", r.stdout);
}
