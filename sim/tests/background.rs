//! `hostdev-sim serve --background` as scripts call it: `pid=$(hostdev-sim serve F M
//! --background)` returns once the mount is live, with the server's pid, and does not wait
//! for the server (which must not keep the caller's stdout open). Needs root and /dev/fuse.

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hostdev-sim-test.{}.{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("scratch dir");
    d
}

#[test]
fn serve_background_in_a_command_substitution_returns_while_the_server_runs() {
    let exe = env!("CARGO_BIN_EXE_hostdev-sim");
    let d = scratch("background");
    let fixture = d.join("fixture");
    fs::create_dir_all(fixture.join("sys/bus/pci/devices")).expect("fixture");
    let mp = d.join("mnt");
    let start = Instant::now();
    let mut child = Command::new(exe)
        .arg("serve")
        .arg(&fixture)
        .arg(&mp)
        .arg("--background")
        .stdout(Stdio::piped())
        .spawn()
        .expect("hostdev-sim serve --background");
    // what $(...) does: read stdout to its end
    let mut out = String::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let got = rx.recv_timeout(Duration::from_secs(30));
    let status = child.wait().expect("wait");
    let live = hostdev_sim::serve::is_mounted(&mp);
    let stop = Command::new(exe)
        .arg("stop")
        .arg(&mp)
        .status()
        .expect("stop");
    let out = got.expect("stdout reached its end while the server runs (it kept our stdout open)");
    assert!(status.success());
    assert!(
        live,
        "the mount was not live when serve --background returned"
    );
    assert!(stop.success());
    let pid: u32 = out.trim().parse().expect("a pid on stdout");
    // the server goes once its mount is down
    let running = || {
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, r)| !r.starts_with('Z'))
        })
    };
    while running() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "server {pid} still runs after stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = fs::remove_dir_all(&d);
}
