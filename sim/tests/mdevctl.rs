//! mdevctl (Debian's package) on a served fixture after `hostdev apply`: it lists the mdevs
//! hostdev created and the types with the instances still available. Debian's mdevctl
//! ignores MDEVCTL_ENV_ROOT (a test-build switch), so it runs in a private mount namespace
//! with the mount's `sys` bound over `/sys`. Skipped, saying why, without mdevctl or
//! without the hostdev binary.

use std::path::Path;
use std::process::Command;

use hostdev_sim::serve::{serve, Options};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `mdevctl ARGS` with `<mp>/sys` as `/sys`.
fn mdevctl(mp: &Path, args: &str) -> String {
    let out = Command::new("unshare")
        .arg("-m")
        .arg("sh")
        .arg("-c")
        .arg(format!(
            "mount --make-rprivate / && mount --bind '{}' /sys && mdevctl {args}",
            mp.join("sys").display()
        ))
        .output()
        .expect("unshare");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn mdevctl_sees_what_hostdev_created() {
    let hostdev = Path::new(env!("CARGO_BIN_EXE_hostdev-sim")).with_file_name("hostdev");
    if !have("mdevctl") || !have("unshare") || !hostdev.exists() {
        eprintln!(
            "skipped: needs mdevctl (apt-get install mdevctl), unshare and {}",
            hostdev.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mp = tmp.path().join("mnt");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/t4-1x");
    let served = serve(&fixture, &mp, &Options { in_place: false }).expect("serve");
    let types = mdevctl(&mp, "types");
    assert!(
        types.contains("  nvidia-223\n    Available instances: 8\n"),
        "{types}"
    );
    let out = Command::new(&hostdev)
        .arg("--root")
        .arg(&mp)
        .arg("-f")
        .arg(mp.join("config.yaml"))
        .args(["--node-name", "node1", "apply", "--yes"])
        .env_remove("HOSTDEV_ROOT")
        .output()
        .expect("hostdev");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = mdevctl(&mp, "list");
    let made: Vec<String> = std::fs::read_dir(mp.join("sys/bus/mdev/devices"))
        .expect("mdevs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(made.len(), 8);
    for uuid in &made {
        assert!(
            list.contains(&format!("{uuid} 0000:3b:00.0 nvidia-223")),
            "{uuid}: {list}"
        );
    }
    // the types with what is left, as hostdev list-types reads it
    let types = mdevctl(&mp, "types");
    assert!(
        types.contains("  nvidia-223\n    Available instances: 0\n"),
        "{types}"
    );
    let lt = Command::new(&hostdev)
        .arg("--root")
        .arg(&mp)
        .args(["list-types"])
        .output()
        .expect("hostdev list-types");
    let lt = String::from_utf8_lossy(&lt.stdout);
    let row = lt
        .lines()
        .find(|l| l.contains("nvidia-223"))
        .expect("nvidia-223 row");
    assert_eq!(row.split_whitespace().nth(5), Some("0"), "{row}");
    assert_eq!(row.split_whitespace().nth(6), Some("8"), "{row}");
    drop(served);
}
