//! `hostdev capture` (issue 22 item 6): a capture of a host replays identically under
//! `--root` (every read-only command, on several fixtures), round-trips through `tar -x`,
//! refuses an `--out` that is not new or empty, never copies config space, ROM, VPD or
//! BARs, and is bounded.

use std::path::Path;
use std::process::Stdio;

use crate::util::{fixture, tree_snapshot, Cmd, Host, Run};

/// The fixtures replayed: mdev parents (T4, A40/A2 SR-IOV, mixed, GVT-g), NVIDIA
/// vendor-VFIO (L40S), env's selectors, the IOMMU hosts, a host with a state file.
const FIXTURES: &[&str] = &[
    "t4-3x",
    "t4-undesired",
    "a40-sriov",
    "a2-sriov",
    "l40s-vfio",
    "env-mixed",
    "env-vendor-vfio",
    "host-intel",
    "host-amd",
    "host-iommu-off",
    "mixed-t4-v100",
    "gvtg",
    "status",
];

/// The read-only commands whose output must not change.
const COMMANDS: &[&[&str]] = &[
    &["plan"],
    &["-o", "json", "plan"],
    &["list-types"],
    &["-o", "json", "list-types"],
    &["iommu", "check"],
    &["iommu", "groups"],
    &["-o", "json", "iommu", "groups"],
    &["status"],
    &["devices"],
    &["env"],
    &["tree"],
];

fn capture(root: &Path, out: &Path) -> Run {
    Cmd::default()
        .arg("--root")
        .arg(root)
        .arg("capture")
        .arg("--out")
        .arg(out)
        .run()
}

/// `hostdev --root ROOT [--node-name n1] -f CONFIG ARGS`, the root's path hidden.
fn replay(root: &Path, config: &Path, node: bool, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Cmd::default().arg("--root").arg(root).arg("-f").arg(config);
    if node {
        cmd = cmd.args(["--node-name", "n1"]);
    }
    let r = cmd.args(args).run();
    let hide = |s: &str| s.replace(&root.display().to_string(), "ROOT");
    (r.code, hide(&r.stdout), hide(&r.stderr))
}

#[test]
fn a_capture_replays_identically() {
    for name in FIXTURES {
        let src = fixture(name);
        let before = tree_snapshot(&src);
        let tmp = tempfile::tempdir().unwrap();
        let cap = tmp.path().join("cap");
        let r = capture(&src, &cap);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert_eq!(
            tree_snapshot(&src),
            before,
            "{name}: capture changed its root"
        );
        // every sysfs link that resolves on the host resolves in the capture
        for (p, v) in tree_snapshot(&cap) {
            if v.starts_with("-> ") && p.starts_with("sys") && src.join(&p).exists() {
                assert!(
                    cap.join(&p).exists(),
                    "{name}: {p} {v} dangles in the capture"
                );
            }
        }
        // a fixture without a host name is run with --node-name
        let node =
            !src.join("proc/sys/kernel/hostname").exists() && !src.join("etc/hostname").exists();
        // outside both roots, so that messages naming it read the same
        let config = tmp.path().join("config.yaml");
        std::fs::copy(src.join("config.yaml"), &config).unwrap();
        for args in COMMANDS {
            assert_eq!(
                replay(&cap, &config, node, args),
                replay(&src, &config, node, args),
                "{name}: hostdev {}",
                args.join(" ")
            );
        }
    }
}

#[test]
fn the_default_configuration_and_the_host_name_are_captured() {
    let host = Host::copy("t4-3x");
    std::fs::copy(host.config(), host.new_path("etc/hostdev/config.yaml")).unwrap();
    std::fs::write(host.new_path("etc/hostname"), "node-a\n").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("cap");
    assert_eq!(capture(host.root(), &cap).code, 0);
    let plan = |root: &Path| {
        Cmd::default()
            .arg("--root")
            .arg(root)
            .arg("plan")
            .run()
            .stdout
    };
    assert_eq!(plan(&cap), plan(host.root()));
    assert_eq!(
        std::fs::read_to_string(cap.join("etc/hostname")).unwrap(),
        "node-a\n"
    );
}

#[test]
fn a_tar_on_stdout_extracts_to_the_same_tree() {
    let src = fixture("t4-undesired");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dir");
    assert_eq!(capture(&src, &dir).code, 0);
    let tar = tmp.path().join("cap.tar");
    let status = Cmd::default()
        .arg("--root")
        .arg(&src)
        .args(["capture", "--out", "-"])
        .command()
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&tar).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&tar).unwrap();
    assert_eq!(bytes.len() % 512, 0);
    let x = tmp.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let ok = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(tree_snapshot(&x), tree_snapshot(&dir));
    // names longer than 100 bytes (an mdev's nvidia/ files) went through the ustar prefix
    assert!(tree_snapshot(&x).iter().any(|(p, _)| p.len() > 100));
}

#[test]
fn refuses_an_out_that_is_not_new_or_empty() {
    let src = fixture("t4-3x");
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep"), "x").unwrap();
    capture(&src, &full).assert_stderr(64, "not empty");
    assert_eq!(std::fs::read_to_string(full.join("keep")).unwrap(), "x");
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    capture(&src, &file).assert_stderr(64, "not a directory");
    let link = tmp.path().join("link");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::os::unix::fs::symlink(&empty, &link).unwrap();
    capture(&src, &link).assert_stderr(64, "a symlink");
    // an empty directory is fine
    assert_eq!(capture(&src, &empty).code, 0);
    assert!(empty.join("sys/bus/pci/devices").exists());
}

#[test]
fn never_copies_config_space_rom_vpd_or_bars() {
    let host = Host::copy("l40s-vfio");
    let vf = "sys/devices/pci0000:40/0000:40:01.0/0000:41:00.4";
    let pf = "sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0";
    let secret = [0u8, 1, 2, 0xff];
    for dir in [vf, pf, &format!("{vf}/nvidia")] {
        for f in ["config", "rom", "vpd", "resource", "resource0", "mem"] {
            // sysfs is the model's behind the mount: the test's files go to the tree behind it
            std::fs::write(host.backing_path(&format!("{dir}/{f}")), secret).unwrap();
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("cap");
    let r = capture(host.root(), &cap);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(cap.join(vf).join("nvidia/current_vgpu_type").exists());
    for (p, _) in tree_snapshot(&cap) {
        let name = p.rsplit('/').next().unwrap();
        assert!(
            !matches!(name, "config" | "rom" | "vpd" | "mem") && !name.starts_with("resource"),
            "{p} was copied"
        );
    }
}

#[test]
fn huge_files_are_not_copied_whole() {
    let host = Host::copy("t4-3x");
    let attr = "sys/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0/numa_node";
    std::fs::write(host.backing_path(attr), "0".repeat(1 << 20)).unwrap();
    std::fs::write(host.path("proc/cmdline"), "x".repeat(4 << 20)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("cap");
    let r = capture(host.root(), &cap);
    r.assert_stderr(0, "not copied");
    for f in [attr, "proc/cmdline"] {
        let len = std::fs::metadata(cap.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len <= 4096, "{f}: {len} bytes copied");
    }
    // the rest is there
    assert!(cap.join("sys/bus/pci/devices/0000:5e:00.0").exists());
}

/// A pseudo-terminal's slave side, for a stdout that is a terminal; `None` where the
/// machine has no ptys.
fn terminal() -> Option<(std::fs::File, std::fs::File)> {
    use nix::libc;
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on a descriptor this function owns; ptsname_r writes at
    // most buf.len() bytes.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        if m < 0 {
            return None;
        }
        let master = std::fs::File::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return None;
        }
        let mut buf = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()) != 0 {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(buf.as_ptr()).to_str().ok()?;
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name)
            .ok()?;
        Some((master, slave))
    }
}

#[test]
fn refuses_a_tar_on_a_terminal() {
    let Some((_master, slave)) = terminal() else {
        return; // no pseudo-terminals here
    };
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Cmd::default()
        .arg("--root")
        .arg(fixture("t4-3x"))
        .args(["capture", "--out", "-"])
        .command()
        .stdin(Stdio::null())
        .stdout(slave)
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    // a tar written into a terminal nobody reads would block: fail instead of hanging
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("capture --out - wrote into the terminal");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: std::fs::read(err.path()).unwrap(),
    };
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output is a terminal"));
}
