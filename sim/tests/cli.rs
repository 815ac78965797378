//! The `hostdev-sim` binary: serve/stop, signals, a stale mount, bad input, hold/release
//! seen by hostdev, and the errnos of refused writes through a mount.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hostdev_sim::serve::is_mounted;

const SIM: &str = env!("CARGO_BIN_EXE_hostdev-sim");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

/// A scratch directory that is also the server's TMPDIR (its private copies land there).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("tmp")).expect("mkdir tmp");
        Scratch { dir }
    }

    fn mp(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn sim(&self) -> Command {
        let mut c = Command::new(SIM);
        c.env("TMPDIR", self.tmp());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.sim().args(args).output().expect("run hostdev-sim")
    }

    /// `serve FIXTURE MP --background`; the server's pid.
    fn serve_bg(&self, fixture_name: &str) -> u32 {
        let mp = self.mp();
        let out = self.run(&[
            "serve",
            fixture(fixture_name).to_str().unwrap(),
            mp.to_str().unwrap(),
            "--background",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(is_mounted(&mp));
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pid")
    }

    /// The private copies left in the server's TMPDIR.
    fn copies(&self) -> usize {
        std::fs::read_dir(self.tmp()).expect("read tmp").count()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if is_mounted(&self.mp()) {
            let _ = hostdev_sim::serve::unmount(&self.mp());
        }
    }
}

fn alive(pid: u32) -> bool {
    // a zombie child of this process counts as gone
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

fn wait_gone(pid: u32) {
    let t = Instant::now();
    while alive(pid) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "server {pid} still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn serve_background_then_stop_leaves_nothing() {
    let s = Scratch::new();
    let pid = s.serve_bg("t4-1x");
    assert!(s.mp().join("sys/class/mdev_bus/0000:3b:00.0").exists());
    assert_eq!(s.copies(), 1, "the private copy");
    let out = s.run(&["stop", s.mp().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_gone(pid);
    assert!(!is_mounted(&s.mp()));
    assert_eq!(s.copies(), 0, "the private copy was left behind");
    // stopping again: nothing is mounted there
    let out = s.run(&["stop", s.mp().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing is mounted at"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sigterm_and_sigint_unmount_a_foreground_serve() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let s = Scratch::new();
        let mut child = s
            .sim()
            .args([
                "serve",
                fixture("t4-1x").to_str().unwrap(),
                s.mp().to_str().unwrap(),
            ])
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve");
        let t = Instant::now();
        while !is_mounted(&s.mp()) {
            assert!(t.elapsed() < Duration::from_secs(20), "not mounted");
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let st = child.wait().expect("wait");
        assert!(st.success(), "signal {sig}: {st}");
        assert!(!is_mounted(&s.mp()), "signal {sig}: still mounted");
        assert_eq!(
            s.copies(),
            0,
            "signal {sig}: the private copy was left behind"
        );
    }
}

#[test]
fn a_stale_mount_of_a_killed_server_is_cleaned_up_by_the_next_serve() {
    let s = Scratch::new();
    let pid = s.serve_bg("t4-1x");
    // SAFETY: a signal to the server this test started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_gone(pid);
    assert!(is_mounted(&s.mp()), "the mount stays, stale");
    let pid2 = {
        let out = s.run(&[
            "serve",
            fixture("t4-1x").to_str().unwrap(),
            s.mp().to_str().unwrap(),
            "--background",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cleaned up a stale mount"),
            "{}",
            stderr(&out)
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .expect("pid")
    };
    assert!(s.mp().join("sys").is_dir(), "the new mount answers");
    let out = s.run(&["stop", s.mp().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_gone(pid2);
    assert!(!is_mounted(&s.mp()));
}

/// `serve` with `fixture` at `mp` fails, saying `part`, with nothing mounted at `mp`.
fn refused(s: &Scratch, fixture: &Path, mp: &Path, env: Option<(&str, &Path)>, part: &str) {
    let mut c = s.sim();
    c.args([
        "serve",
        fixture.to_str().unwrap(),
        mp.to_str().unwrap(),
        "--background",
    ]);
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    let copies = s.copies();
    let out = c.output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{part}: {}", stderr(&out));
    assert!(stderr(&out).contains(part), "{part}: {}", stderr(&out));
    assert_eq!(s.copies(), copies, "{part}: a private copy was left behind");
}

#[test]
fn bad_input_is_a_clear_error_and_nothing_is_mounted() {
    let s = Scratch::new();
    let d = s.dir.path();
    // a tree that is not a fixture (no sys/)
    std::fs::create_dir(d.join("notafixture")).unwrap();
    refused(
        &s,
        &d.join("notafixture"),
        &s.mp(),
        None,
        "is not a fixture: it has no sys/",
    );
    assert!(!is_mounted(&s.mp()));
    // a file instead of a directory
    std::fs::write(d.join("file"), "x\n").unwrap();
    refused(&s, &d.join("file"), &s.mp(), None, "is not a directory");
    assert!(!is_mounted(&s.mp()));
    // a mountpoint that is not empty
    let full = d.join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("x"), "x\n").unwrap();
    refused(&s, &fixture("t4-1x"), &full, None, "is not empty");
    assert!(!is_mounted(&full));
    // no FUSE (the hidden hook points the check at a missing device)
    let no = d.join("no-fuse");
    refused(
        &s,
        &fixture("t4-1x"),
        &s.mp(),
        Some((hostdev_sim::serve::FUSE_DEV_VAR, &no)),
        "FUSE is needed",
    );
    assert!(!is_mounted(&s.mp()));
    // a mountpoint in use
    let pid = s.serve_bg("t4-1x");
    refused(&s, &fixture("t4-1x"), &s.mp(), None, "is in use");
    let out = s.run(&["stop", s.mp().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_gone(pid);
}

/// `bash -c 'echo VALUE > PATH'`: the shell's error, if any (bash names the errno; dash
/// says "I/O error" for every failed write).
fn echo_into(path: &Path, value: &str) -> Option<String> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("echo {value} > '{}'", path.display()))
        .output()
        .expect("sh");
    (!out.status.success()).then(|| stderr(&out))
}

#[test]
fn refused_writes_give_the_kernels_errno() {
    let s = Scratch::new();
    let pid = s.serve_bg("t4-1x");
    let types = s
        .mp()
        .join("sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types");
    let create = types.join("nvidia-223/create");
    let e = echo_into(&create, "bad").expect("refused");
    assert!(e.contains("Invalid argument"), "{e}");
    let uuid = "00000000-0000-4000-8000-0000000000a0";
    assert_eq!(echo_into(&create, uuid), None);
    assert!(s.mp().join("sys/bus/mdev/devices").join(uuid).exists());
    let e = echo_into(&create, uuid).expect("duplicate refused");
    assert!(e.contains("File exists"), "{e}");
    // fill the GPU: T4-2B is 8 per T4, one made
    for i in 1..8 {
        assert_eq!(
            echo_into(&create, &format!("00000000-0000-4000-8000-0000000000b{i}")),
            None
        );
    }
    let e = echo_into(&create, "00000000-0000-4000-8000-0000000000c0").expect("full");
    assert!(e.contains("No space left on device"), "{e}");
    let out = s.run(&["stop", s.mp().to_str().unwrap()]);
    assert!(out.status.success());
    wait_gone(pid);
}

/// hostdev, built by `cargo test --workspace` next to this binary.
fn hostdev_bin() -> Option<PathBuf> {
    let p = Path::new(SIM).parent()?.join("hostdev");
    p.exists().then_some(p)
}

#[test]
fn hold_and_release_through_the_mount_are_seen_by_hostdev() {
    let Some(hostdev) = hostdev_bin() else {
        eprintln!("skipped: no hostdev binary next to hostdev-sim (cargo build --workspace)");
        return;
    };
    let s = Scratch::new();
    let pid = s.serve_bg("t4-1x");
    let mp = s.mp();
    let hd = |args: &[&str]| {
        Command::new(&hostdev)
            .arg("--root")
            .arg(&mp)
            .arg("-f")
            .arg(mp.join("config.yaml"))
            .args(["--node-name", "node1"])
            .args(args)
            .env_remove("HOSTDEV_ROOT")
            .output()
            .expect("hostdev")
    };
    let out = hd(&["apply", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let uuid = std::fs::read_dir(mp.join("sys/bus/mdev/devices"))
        .unwrap()
        .next()
        .expect("an mdev")
        .unwrap()
        .file_name()
        .to_string_lossy()
        .into_owned();
    let out = s.run(&["hold", mp.to_str().unwrap(), &uuid]);
    assert!(out.status.success(), "{}", stderr(&out));
    let holder = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // teardown leaves the held mdev alone and names the holder
    let t = hd(&["teardown", "--yes", "--mdevs"]);
    let text = String::from_utf8_lossy(&t.stdout).into_owned();
    assert!(
        text.contains(&format!(
            "{uuid} (nvidia-223 on 0000:3b:00.0): in use by pid {holder} (qemu-system-x86)"
        )),
        "{text}"
    );
    assert!(mp.join("sys/bus/mdev/devices").join(&uuid).exists());
    let out = s.run(&["release", mp.to_str().unwrap(), &holder]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = hd(&["teardown", "--yes", "--mdevs", "--all"]);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
    assert!(!mp.join("sys/bus/mdev/devices").join(&uuid).exists());
    let out = s.run(&["stop", mp.to_str().unwrap()]);
    assert!(out.status.success());
    wait_gone(pid);
}
