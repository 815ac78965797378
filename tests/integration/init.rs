//! `hostdev init` (issue 24): the file from flags, from the host and from mdevctl's
//! definitions (golden per fixture), `plan` on each file, the interactive path on a real
//! pseudo-terminal (keystrokes in, screen out), safe writing, and bad input.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{assert_golden, Host, Run, BIN};

/// `hostdev --root fixtures/NAME --node-name node1 ARGS`.
fn init_on(host: &Host, args: &[&str]) -> Run {
    host.cmd().args(["--node-name", "node1"]).args(args).run()
}

/// The plan of `file` on `host` (node1), as JSON.
fn plan_of(host: &Host, file: &Path) -> Value {
    plan_with(host, file, &[])
}

/// [`plan_of`] with extra global options (`--label`).
fn plan_with(host: &Host, file: &Path, extra: &[&str]) -> Value {
    let run = host
        .cmd()
        .arg("-f")
        .arg(file)
        .args(extra)
        .args(["--node-name", "node1", "-o", "json", "plan"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

/// The file `init ARGS -o -` prints on a copy of `fixture`, saved beside the root, and the
/// plan of that file.
fn printed(fixture: &str, args: &[&str]) -> (String, Value, Host) {
    let host = Host::copy(fixture);
    let mut all = args.to_vec();
    all.extend(["-o", "-"]);
    let run = init_on(&host, &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = host.outside().join("init.yaml");
    std::fs::write(&file, &run.stdout).expect("save");
    let plan = plan_of(&host, &file);
    (run.stdout, plan, host)
}

fn desired(plan: &Value) -> Vec<String> {
    plan["desired_types"]
        .as_array()
        .expect("desired_types")
        .iter()
        .map(|v| v.as_str().expect("type").to_string())
        .collect()
}

/// The type each card of the plan gets (mdev parents and SR-IOV GPUs), by address.
fn card_types(plan: &Value) -> Vec<(String, String)> {
    let rows = plan["cards"]
        .as_array()
        .filter(|c| !c.is_empty())
        .or(plan["parents"].as_array())
        .cloned()
        .unwrap_or_default();
    rows.iter()
        .filter(|r| r["type"].is_string())
        .map(|r| {
            (
                r["address"]
                    .as_str()
                    .or(r["gpu"].as_str())
                    .unwrap_or("?")
                    .to_string(),
                r["type"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

#[test]
fn init_from_flags_golden_per_fixture_and_plan_follows_the_choices() {
    // t4-3x: one type by name, on every T4
    let (out, plan, _) = printed("t4-3x", &["init", "--type", "GRID T4-2Q"]);
    assert_golden("init-t4-3x-type.yaml", &out);
    assert_eq!(desired(&plan), ["nvidia-231"]);
    assert_eq!(
        card_types(&plan),
        [
            ("0000:3b:00.0".into(), "nvidia-231".into()),
            ("0000:5e:00.0".into(), "nvidia-231".into()),
            ("0000:86:00.0".into(), "nvidia-231".into())
        ]
    );

    // mixed-t4-v100: a type by ID for the T4, the V100 for passthrough (a model with vGPU
    // types: its address is named in hostdev.passthroughAddresses, and it gets no vGPUs)
    let (out, plan, host) = printed(
        "mixed-t4-v100",
        &["init", "--type", "nvidia-223", "--passthrough", "10de:1db4"],
    );
    assert_golden("init-mixed-t4-v100-type-passthrough.yaml", &out);
    assert_eq!(desired(&plan), ["nvidia-223"]);
    assert_eq!(
        card_types(&plan),
        [("0000:3b:00.0".into(), "nvidia-223".into())]
    );
    let env = host
        .cmd()
        .arg("-f")
        .arg(host.outside().join("init.yaml"))
        .args(["-o", "json", "env"])
        .run();
    assert_eq!(env.code, 0, "{}", env.stderr);
    assert!(
        env.stdout.contains("PCI_RESOURCE_NVIDIA_COM_1DB4")
            && env
                .stdout
                .contains("MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-2B"),
        "{}",
        env.stdout
    );

    // l40s-vfio: vendor-specific VFIO, by name (written as the name)
    let (out, plan, _) = printed("l40s-vfio", &["init", "--type", "NVIDIA L40S-12Q"]);
    assert_golden("init-l40s-vfio-type.yaml", &out);
    assert_eq!(desired(&plan), ["NVIDIA L40S-12Q"]);
    assert!(card_types(&plan).iter().any(|(_, t)| t == "1153"), "{plan}");

    // a40-2x: two types in round-robin order, one per GPU
    let (out, plan, _) = printed(
        "a40-2x",
        &["init", "--type", "NVIDIA A40-8Q", "--type", "nvidia-557"],
    );
    assert_golden("init-a40-2x-types.yaml", &out);
    assert_eq!(desired(&plan), ["nvidia-558", "nvidia-557"]);
    assert_eq!(
        card_types(&plan),
        [
            ("0000:41:00.0".into(), "nvidia-558".into()),
            ("0000:c1:00.0".into(), "nvidia-557".into())
        ]
    );

    // env-mixed: one T4 by address with its own resource name, and --label: node sections
    let (out, _, host) = printed(
        "env-mixed",
        &[
            "--label",
            "zone=a",
            "init",
            "--type",
            "GRID T4-1Q",
            "--passthrough",
            "3b:00.0=nvidia.com/TU104GL_Tesla_T4",
        ],
    );
    assert_golden("init-env-mixed-node.yaml", &out);
    assert!(out.contains("zone: a") && out.contains("nodePassthroughAddresses"));
    // for nodes with that label only
    assert!(desired(&plan_of(&host, &host.outside().join("init.yaml"))).is_empty());
    let plan = plan_with(
        &host,
        &host.outside().join("init.yaml"),
        &["--label", "zone=a"],
    );
    assert_eq!(desired(&plan), ["nvidia-230"]);
    assert!(
        !card_types(&plan).iter().any(|(a, _)| a == "0000:3b:00.0"),
        "{plan}"
    );
}

#[test]
fn init_from_host_golden_and_plan_keeps_what_is_there() {
    // l40s-full: a full card whose type no VF names any more: kept by ID, plan empty
    let (out, plan, _) = printed("l40s-full", &["init", "--from-host"]);
    assert_golden("init-l40s-full-from-host.yaml", &out);
    assert_eq!(desired(&plan), ["1156"]);
    assert!(
        plan["actions"].as_array().expect("actions").is_empty(),
        "{plan}"
    );

    // env-mixed: mdevs of three types, two devices on vfio-pci (one a T4: its address is
    // named, the other T4s carry vGPUs)
    let (out, plan, _) = printed("env-mixed", &["init", "--from-host"]);
    assert_golden("init-env-mixed-from-host.yaml", &out);
    assert_eq!(
        desired(&plan),
        ["i915-GVTg_V5_4", "nvidia-230", "nvidia-990"]
    );
    // nothing is removed: every existing mdev is of a desired type
    assert!(
        !plan["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .any(|a| a["action"] == "remove"),
        "{plan}"
    );
    assert!(out.contains("addresses: [\"0000:3b:00.0\"]"), "{out}");

    // a2-sriov: vGPUs on VFs
    let (out, plan, _) = printed("a2-sriov", &["init", "--from-host"]);
    assert_golden("init-a2-sriov-from-host.yaml", &out);
    assert_eq!(desired(&plan), ["nvidia-745"]);

    // nothing to keep: exit 66
    let run = init_on(&Host::bundled("t4-3x"), &["init", "--from-host", "-o", "-"]);
    run.assert_stderr(66, "nothing to keep");
    assert!(run.stdout.is_empty());
}

/// mdevctl's definitions in a copy of t4-3x: two auto-started 1B on the first T4, a
/// manually started 2B with an attribute and a 2Q on the second (two types on one parent).
fn with_mdevctl(host: &Host) {
    let defs = [
        (
            "0000:3b:00.0",
            "11111111-1111-4111-8111-111111111111",
            r#"{"mdev_type": "nvidia-222", "start": "auto", "attrs": []}"#,
        ),
        (
            "0000:3b:00.0",
            "22222222-2222-4222-8222-222222222222",
            r#"{"mdev_type": "nvidia-222", "start": "auto"}"#,
        ),
        (
            "0000:5e:00.0",
            "33333333-3333-4333-8333-333333333333",
            r#"{"mdev_type": "nvidia-223", "start": "manual", "attrs": [{"frl_config": "60"}]}"#,
        ),
        (
            "0000:5e:00.0",
            "44444444-4444-4444-8444-444444444444",
            r#"{"mdev_type": "nvidia-231", "start": "auto", "attrs": []}"#,
        ),
    ];
    for (parent, uuid, json) in defs {
        let p = host.new_path(&format!("etc/mdevctl.d/{parent}/{uuid}"));
        std::fs::write(p, json).expect("definition");
    }
}

#[test]
fn init_from_mdevctl_golden_lists_what_kubevirt_cannot_say() {
    let host = Host::copy("t4-3x");
    with_mdevctl(&host);
    let run = init_on(&host, &["init", "--from-mdevctl", "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_golden("init-t4-3x-from-mdevctl.yaml", &run.stdout);
    assert_golden("init-t4-3x-from-mdevctl.stderr.txt", &run.stderr);
    for part in [
        "0000:5e:00.0: mdevctl defines 2 types there (nvidia-223, nvidia-231)",
        "starts it manually",
        "per-device attributes (frl_config=60)",
        "UUIDs on 0000:3b:00.0: mdevs that exist keep their UUIDs",
    ] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
    let file = host.outside().join("init.yaml");
    std::fs::write(&file, &run.stdout).expect("save");
    let plan = plan_of(&host, &file);
    assert_eq!(desired(&plan), ["nvidia-222", "nvidia-223", "nvidia-231"]);
    // a directory named on the command line is read the same way
    let moved = host.outside().join("mdevctl.d");
    std::fs::rename(host.backing_path("etc/mdevctl.d"), &moved).expect("move");
    let again = init_on(
        &host,
        &[
            "init",
            "--from-mdevctl",
            moved.to_str().expect("utf-8"),
            "-o",
            "-",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout.lines().skip(2).collect::<Vec<_>>(),
        run.stdout.lines().skip(2).collect::<Vec<_>>()
    );
    // missing: 66; not mdevctl's JSON: 65
    init_on(&host, &["init", "--from-mdevctl", "-o", "-"]).assert_stderr(66, "no such directory");
    std::fs::write(
        moved.join("0000:3b:00.0/11111111-1111-4111-8111-111111111111"),
        "{broken",
    )
    .expect("break");
    init_on(
        &host,
        &[
            "init",
            "--from-mdevctl",
            moved.to_str().expect("utf-8"),
            "-o",
            "-",
        ],
    )
    .assert_stderr(65, "not mdevctl's JSON");
    // reads are bounded and never block: too large, or a FIFO, is 66
    let def = moved.join("0000:3b:00.0/11111111-1111-4111-8111-111111111111");
    std::fs::write(&def, " ".repeat(100_000)).expect("large");
    let dir = moved.to_str().expect("utf-8");
    init_on(&host, &["init", "--from-mdevctl", dir, "-o", "-"])
        .assert_stderr(66, "larger than the limit");
    std::fs::remove_file(&def).expect("rm");
    nix::unistd::mkfifo(&def, nix::sys::stat::Mode::from_bits_truncate(0o644)).expect("fifo");
    init_on(&host, &["init", "--from-mdevctl", dir, "-o", "-"])
        .assert_stderr(66, "not a regular file");
}

#[test]
fn init_writes_atomically_0644_and_never_overwrites_without_force() {
    let host = Host::copy("t4-3x");
    let path = host.path("etc/hostdev/config.yaml");
    // no --node-name: the global sections
    let init = |args: &[&str]| host.cmd().arg("init").args(args).run();
    let run = init(&["--type", "GRID T4-2Q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("wrote /etc/hostdev/config.yaml"),
        "{}",
        run.stderr
    );
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&path).expect("written");
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    let first = std::fs::read_to_string(&path).expect("read");
    let again = Host::bundled("t4-3x")
        .cmd()
        .args(["init", "--type", "GRID T4-2Q", "-o", "-"])
        .run();
    assert_eq!(first, again.stdout);
    // no temporary file left beside it
    let names: Vec<String> = std::fs::read_dir(host.path("etc/hostdev"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["config.yaml"]);
    // the default path is what every command reads
    let plan = host.cmd().args(["--node-name", "node1", "plan"]).run();
    assert!(
        plan.stdout.contains("desired types: nvidia-231"),
        "{}",
        plan.stdout
    );

    // exists: 64, unchanged
    let run = init(&["--type", "GRID T4-1Q"]);
    run.assert_stderr(64, "never overwrites a file without --force");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), first);

    // --force: the diff first (stdout), then the new file
    let run = init(&["--type", "GRID T4-1Q", "--force"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("--- /etc/hostdev/config.yaml\n+++ /etc/hostdev/config.yaml (new)\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n-  - nvidia-231") && run.stdout.contains("\n+  - nvidia-230"));
    assert!(std::fs::read_to_string(&path)
        .expect("read")
        .contains("- nvidia-230"));

    // -f FILE: written there, 0644
    let other = host.outside().join("other.yaml");
    let run = host
        .cmd()
        .arg("-f")
        .arg(&other)
        .args(["init", "--type", "nvidia-222"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::metadata(&other)
            .expect("written")
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
}

#[test]
fn init_bad_input_is_refused_with_its_exit_code() {
    let t4 = Host::bundled("t4-3x");
    // no terminal, no flags: 64
    let run = t4.cmd().arg("init").run();
    run.assert_stderr(64, "stdin is not a terminal, so there is no one to ask");
    // an unknown type: 64, listing the candidates near it
    let run = t4.cmd().args(["init", "--type", "T4-3Q", "-o", "-"]).run();
    run.assert_stderr(64, "no such type on this host");
    assert!(
        run.stderr.contains("GRID T4-2Q (nvidia-231)"),
        "{}",
        run.stderr
    );
    // a host with no vGPU types: 64, saying so
    let run = Host::bundled("host-gpu-audio")
        .cmd()
        .args(["init", "--type", "GRID T4-2Q", "-o", "-"])
        .run();
    run.assert_stderr(64, "this host offers no vGPU or mdev types");
    // passthrough of a whole model that also gets vGPUs: name the addresses
    let run = t4
        .cmd()
        .args([
            "init",
            "--type",
            "nvidia-222",
            "--passthrough",
            "10de:1eb8",
            "-o",
            "-",
        ])
        .run();
    run.assert_stderr(64, "name the GPUs to pass through by address");
    // a bad selector or resource name: 64; an address that is not there: 66
    t4.cmd()
        .args(["init", "--passthrough", "10de", "-o", "-"])
        .run()
        .assert_stderr(64, "--passthrough 10de");
    t4.cmd()
        .args(["init", "--passthrough", "10de:1eb8=bad name", "-o", "-"])
        .run()
        .assert_stderr(64, "resourceName");
    t4.cmd()
        .args(["init", "--passthrough", "0000:99:00.0", "-o", "-"])
        .run()
        .assert_stderr(66, "no PCI device 0000:99:00.0");
    // -o - is for init only; -o json is not for init
    t4.cmd()
        .args(["-o", "-", "list-types"])
        .run()
        .assert_stderr(64, "for `hostdev init` only");
    t4.cmd()
        .args(["-o", "json", "init", "--type", "nvidia-222"])
        .run()
        .assert_stderr(64, "-o json and -o yaml are not for init");
    // no GPU at all, on a terminal: 66
    let (code, screen) = Pty::start(Host::bundled("host-shared-nic").root(), &[]).finish();
    assert_eq!(code, 66, "{screen}");
    assert!(
        screen.contains("no GPU and no mdev parent on this host"),
        "{screen}"
    );
}

/// On the real root, writing the system's file needs root: 77 first (as `nobody`, via
/// setpriv when the tests run as root); printing it does not.
#[test]
fn init_on_the_real_root_without_root_is_77() {
    let as_nobody = |args: &[&str]| {
        let mut cmd = if nix::unistd::geteuid().is_root() {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
                .arg(BIN);
            c
        } else {
            std::process::Command::new(BIN)
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
    let (code, stderr) = as_nobody(&["init", "--type", "nvidia-222"]);
    assert_eq!(code, 77, "{stderr}");
    assert!(
        stderr.contains("run it as root (`sudo hostdev init`)"),
        "{stderr}"
    );
    let (code, stderr) = as_nobody(&["init", "--type", "nvidia-222", "-o", "-"]);
    assert_ne!(code, 77, "{stderr}");
}

// ---- the interactive path, on a pseudo-terminal --------------------------------------

/// `hostdev --root ROOT --node-name node1 ARGS init` on a pty (util-linux `script`): what
/// it shows is collected as it comes, keystrokes are typed once a text is on the screen.
struct Pty {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    screen: Arc<Mutex<Vec<u8>>>,
    seen: usize,
}

impl Pty {
    fn start(root: &Path, args: &[&str]) -> Pty {
        let cmd = format!(
            "{BIN} --root {} --node-name node1 init {}",
            root.display(),
            args.join(" ")
        );
        let mut child = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("TERM", "xterm")
            .env_remove("HOSTDEV_ROOT")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("util-linux `script` (package bsdutils) runs the command on a pty");
        let mut stdout = child.stdout.take().expect("stdout");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("screen").extend_from_slice(&buf[..n]);
            }
        });
        // a run that hangs would hang the test: end it after 60 s (it then fails)
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(60));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        });
        let stdin = child.stdin.take();
        Pty {
            child,
            stdin,
            screen,
            seen: 0,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().expect("screen")).into_owned()
    }

    /// Wait until `text` appears after what was already waited for, then type `keys`.
    fn answer(&mut self, text: &str, keys: &str) -> &mut Self {
        let start = Instant::now();
        loop {
            let all = self.screen.lock().expect("screen").clone();
            let tail = &all[self.seen.min(all.len())..];
            if let Some(at) = String::from_utf8_lossy(tail).find(text) {
                self.seen += String::from_utf8_lossy(tail)[..at + text.len()].len();
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no {text:?} on the screen:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // the prompt switches the terminal to raw mode right after drawing itself
        std::thread::sleep(Duration::from_millis(150));
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(keys.as_bytes()).expect("type");
        stdin.flush().expect("flush");
        self
    }

    /// Wait for the end; the exit code and everything shown.
    fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().expect("wait");
        drop(self.stdin.take());
        std::thread::sleep(Duration::from_millis(50));
        (status.code().unwrap_or(-1), self.text())
    }
}

#[test]
fn init_interactive_on_a_terminal_mixed_t4_v100() {
    let host = Host::copy("mixed-t4-v100");
    let mut pty = Pty::start(host.root(), &[]);
    // T4: the third type (GRID T4-1Q); V100: up once, to "pass the whole GPU through";
    // keep the GPU checked, accept the resource name, confirm
    pty.answer("10de:1eb8, 1 GPU (mdev-pf): 0000:3b:00.0", "")
        .answer("it rules out the other 15 types on this GPU", "jj\r")
        .answer("10de:1db4, 1 GPU (mdev-pf): 0000:5e:00.0", "")
        .answer("vGPU type", "k\r")
        .answer(
            "GPUs to pass through as nvidia.com/1db4 (PCI_RESOURCE_NVIDIA_COM_1DB4)",
            "\r",
        )
        .answer("resource name", "\r")
        .answer("write /etc/hostdev/config.yaml? [y/N]", "y\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    for part in [
        "GRID T4-2Q (nvidia-231)   2048 MiB, 8 per GPU, 8 on this host",
        "none: no vGPUs on these GPUs",
        "pass the whole GPU through (vfio-pci)",
        "0000:5e:00.0  nvidia  IOMMU group 13, alone: viable once bound to vfio-pci",
        "The plan of this file on this host (node node1):",
        "0000:3b:00.0  nvidia-230  GRID T4-1Q  0         0       16      create",
        "16 to create, 0 to remove, 0 blocked",
        "wrote /etc/hostdev/config.yaml",
    ] {
        assert!(
            screen.contains(part),
            "{part:?} not on the screen:\n{screen}"
        );
    }
    let file = host.path("etc/hostdev/config.yaml");
    let text = std::fs::read_to_string(&file).expect("written");
    assert_golden("init-mixed-t4-v100-interactive.yaml", &text);
    let plan = plan_of(&host, &file);
    assert_eq!(desired(&plan), ["nvidia-230"]);
    assert_eq!(
        card_types(&plan),
        [("0000:3b:00.0".into(), "nvidia-230".into())]
    );
}

#[test]
fn init_interactive_on_a_terminal_l40s_vfio_and_declining_writes_nothing() {
    let host = Host::copy("l40s-vfio");
    let mut pty = Pty::start(host.root(), &[]);
    // the types are sorted by size: 1B, 2B... "j" down to the fourth
    pty.answer(
        "10de:26b9, 2 GPUs (vendor-vfio): 0000:41:00.0 0000:61:00.0",
        "",
    )
    .answer("on these 2 GPUs", "jjj\r")
    .answer("write /etc/hostdev/config.yaml? [y/N]", "y\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    let file = host.path("etc/hostdev/config.yaml");
    let text = std::fs::read_to_string(&file).expect("written");
    assert_golden("init-l40s-vfio-interactive.yaml", &text);
    let plan = plan_of(&host, &file);
    let chosen = desired(&plan);
    assert_eq!(chosen.len(), 1);
    assert!(
        screen.contains(&format!("desired types: {}", chosen[0])),
        "{screen}"
    );

    // no at the confirmation: exit 1, nothing written
    let host = Host::copy("t4-3x");
    let mut pty = Pty::start(host.root(), &[]);
    pty.answer("on these 3 GPUs", "\r").answer("[y/N]", "n\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("aborted; nothing was written"), "{screen}");
    assert!(!host.path("etc/hostdev/config.yaml").exists());
    // "none" for every model: nothing to write, exit 1
    let mut pty = Pty::start(host.root(), &[]);
    pty.answer("on these 3 GPUs", "kk\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("nothing chosen"), "{screen}");
    assert!(!host.path("etc/hostdev/config.yaml").exists());
    // --yes: the plan is shown, no confirmation asked
    let yes = Host::copy("t4-3x");
    let mut pty = Pty::start(yes.root(), &["--yes"]);
    pty.answer("on these 3 GPUs", "\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("The plan of this file") && !screen.contains("[y/N]"),
        "{screen}"
    );
    assert!(yes.path("etc/hostdev/config.yaml").exists());
    // esc at a question: the same
    let mut pty = Pty::start(host.root(), &[]);
    pty.answer("on these 3 GPUs", "\x1b");
    let (code, screen) = pty.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(!host.path("etc/hostdev/config.yaml").exists());
}
