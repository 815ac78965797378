//! Bounded inputs (issue 12 items 4 and 10): oversized attributes, FIFOs, devices and
//! directories where files are expected, absurd instance counts, odd sysfs entries. Every
//! run here must end quickly: each is killed after a deadline and the test fails.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{Cmd, Host, Run};

const T4_TYPE: &str =
    "sys/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0/mdev_supported_types/nvidia-230";
const T4_TYPES: &str = "sys/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0/mdev_supported_types";

/// Run `cmd` with stdin empty; fail the test if it has not ended within `secs` seconds.
fn run_within(cmd: Cmd, secs: u64) -> Run {
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .command()
        .stdin(std::process::Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .expect("spawn hostdev");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hostdev did not finish within {secs} s (blocked?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(out.path()).unwrap_or_default(),
        stderr: std::fs::read_to_string(err.path()).unwrap_or_default(),
    }
}

fn on(host: &Host, args: &[&str]) -> Run {
    run_within(
        host.cmd()
            .arg("-f")
            .arg(host.config())
            .args(["--node-name", "node1"])
            .args(args),
        20,
    )
}

fn mkfifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
}

#[test]
fn an_oversized_attribute_is_a_malformed_host_and_is_not_echoed() {
    let host = Host::copy("t4-2x");
    let marker = "OVERSIZED-CONTENT-";
    std::fs::write(
        host.backing_path(&format!("{T4_TYPE}/description")),
        marker.repeat((1 << 20) / marker.len() + 1),
    )
    .unwrap();
    for args in [&["list-types"][..], &["plan", "-o", "json"]] {
        let r = on(&host, args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("nvidia-230/description")
                && r.stderr.contains("larger than the limit of 4096 bytes")
                && r.stderr.contains("malformed host"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains(marker) && !r.stdout.contains(marker));
    }
}

#[test]
fn a_fifo_as_an_attribute_is_refused_without_blocking() {
    let host = Host::copy("t4-2x");
    mkfifo(&host.backing_path(&format!("{T4_TYPE}/available_instances")));
    let r = on(&host, &["list-types"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("nvidia-230/available_instances")
            && r.stderr.contains("a FIFO, not a regular file"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_fifo_device_or_directory_as_the_config_or_a_plan_is_refused_without_blocking() {
    let host = Host::copy("t4-2x");
    let fifo = host.outside().join("fifo");
    mkfifo(&fifo);
    let dir = host.outside().join("adir");
    std::fs::create_dir(&dir).unwrap();
    for (path, kind) in [
        (fifo.as_path(), "FIFO"),
        (Path::new("/dev/zero"), "character device"),
        (dir.as_path(), "directory"),
    ] {
        let r = run_within(host.cmd().arg("-f").arg(path).arg("plan"), 10);
        assert_eq!(r.code, 66, "-f {}: {}", path.display(), r.stderr);
        assert!(
            r.stderr.contains(&format!("a {kind}, not a regular file")),
            "-f {}: {}",
            path.display(),
            r.stderr
        );
        let r = on(
            &host,
            &["apply", "--plan", path.to_str().unwrap(), "--dry-run"],
        );
        assert_eq!(r.code, 66, "--plan {}: {}", path.display(), r.stderr);
        assert!(
            r.stderr.contains(&format!("a {kind}, not a regular file")),
            "--plan {}: {}",
            path.display(),
            r.stderr
        );
    }
}

#[test]
fn the_default_config_under_the_root_is_read_inside_it_without_blocking() {
    let host = Host::copy("t4-2x");
    std::fs::create_dir_all(host.backing_path("etc/hostdev")).unwrap();
    mkfifo(&host.backing_path("etc/hostdev/config.yaml"));
    let r = run_within(host.cmd().args(["--node-name", "node1", "plan"]), 10);
    r.assert_stderr(66, "a FIFO, not a regular file");
}

#[test]
fn oversized_config_plan_and_stdin_are_refused_at_their_limit() {
    let host = Host::copy("t4-2x");
    let big = host.outside().join("big.yaml");
    // 1 MiB of comment lines and one byte more: over the configuration limit
    let mut text = std::fs::read_to_string(host.config()).unwrap();
    while text.len() <= 1 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&big, &text).unwrap();
    let r = run_within(
        host.cmd()
            .arg("-f")
            .arg(&big)
            .args(["--node-name", "n", "plan"]),
        10,
    );
    r.assert_stderr(65, "larger than the limit of 1 MiB");
    let r = host
        .cmd()
        .args(["-f", "-", "--node-name", "n", "plan"])
        .stdin(&text)
        .run();
    r.assert_stderr(65, "larger than the limit of 1 MiB");
    // a saved plan: 16 MiB (a sparse file: nothing is read beyond the limit)
    let plan = host.outside().join("big-plan.json");
    std::fs::File::create(&plan)
        .unwrap()
        .set_len((16 << 20) + 1)
        .unwrap();
    let r = on(
        &host,
        &["apply", "--plan", plan.to_str().unwrap(), "--dry-run"],
    );
    r.assert_stderr(65, "larger than the limit of 16 MiB");
}

#[test]
fn an_absurd_instance_count_is_a_malformed_host_naming_the_path() {
    let host = Host::copy("t4-2x");
    std::fs::write(
        host.backing_path(&format!("{T4_TYPE}/available_instances")),
        "4294967295\n",
    )
    .unwrap();
    let t0 = Instant::now();
    let r = on(&host, &["plan"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("malformed host")
            && r.stderr
                .contains("nvidia-230/available_instances reports 4294967295 instances")
            && r.stderr.contains("4096"),
        "{}",
        r.stderr
    );
    assert!(t0.elapsed() < Duration::from_secs(10));
    // NVIDIA's published maximum, used for a parent that is emptied first
    let host = Host::copy("t4-undesired-idle");
    let desc = host.backing_path(
        "sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0/mdev_supported_types/nvidia-222/description",
    );
    std::fs::write(&desc, "num_heads=4, max_instance=4294967295\n").unwrap();
    let r = on(&host, &["plan", "-o", "json"]);
    r.assert_stderr(
        1,
        "nvidia-222/description (max_instance) reports 4294967295",
    );
}

#[test]
fn odd_entries_under_sysfs_are_skipped_with_a_warning() {
    let host = Host::copy("t4-2x");
    let clean = on(&host, &["list-types", "-o", "json"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    // a non-UTF-8 type directory, a stray file among the types, a stray file among the
    // parents and among the PCI devices
    let raw = std::ffi::OsStr::from_bytes(b"nvidia-\xff");
    std::fs::create_dir(host.backing_path(T4_TYPES).join(raw)).unwrap();
    std::fs::write(host.backing_path(T4_TYPES).join("stray"), "x\n").unwrap();
    std::fs::write(host.backing_path("sys/class/mdev_bus/stray"), "x\n").unwrap();
    std::fs::write(host.backing_path("sys/bus/pci/devices/0000:ff:00.0"), "x\n").unwrap();
    let r = on(&host, &["list-types", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout, clean.stdout,
        "the odd entries changed the inventory"
    );
    for w in [
        "whose name is not UTF-8",
        "mdev_supported_types/stray: not a directory",
        "/sys/class/mdev_bus/stray: not",
        "/sys/bus/pci/devices/0000:ff:00.0: not a directory",
    ] {
        assert!(r.stderr.contains(w), "no warning {w:?}: {}", r.stderr);
    }
    let p = on(&host, &["plan"]);
    assert_eq!(p.code, 0, "{}", p.stderr);
}
