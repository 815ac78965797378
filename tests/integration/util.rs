//! The test environment, declared once: a host tree (a bundled fixture, or a copy of one in
//! a temporary directory), the real binary run on it with arguments, stdin and environment,
//! its captured exit code/stdout/stderr, and comparison with golden files
//! (`HOSTDEV_REGEN=1 cargo test --test integration` rewrites them for review; a mismatch
//! prints a unified diff).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::diff;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hostdev");

/// Set (to anything) to rewrite golden and generated files instead of comparing them.
pub const REGEN_VAR: &str = "HOSTDEV_REGEN";

fn regen() -> bool {
    std::env::var_os(REGEN_VAR).is_some()
}

/// The repository's top directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/<name>` (a bundled host tree; never written by the tests).
pub fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as a JSON document.
    pub fn json(&self) -> Value {
        json(&self.stdout)
    }

    /// Exit `code`, and `part` somewhere in stderr (stderr shown when either fails).
    pub fn assert_stderr(&self, code: i32, part: &str) {
        assert_eq!(self.code, code, "{}", self.stderr);
        assert!(self.stderr.contains(part), "{}", self.stderr);
    }

    /// Exit `code` (stderr shown when not), and `part` somewhere in stdout.
    pub fn assert_stdout(&self, code: i32, part: &str) {
        assert_eq!(self.code, code, "{}", self.stderr);
        assert!(self.stdout.contains(part), "{}", self.stdout);
    }

    /// The `echo VALUE > PATH` lines of a dry run, in order.
    pub fn echoes(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("echo "))
            .map(String::from)
            .collect()
    }
}

/// Parse `text` as JSON, naming it on failure.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"))
}

/// One invocation of `hostdev`: arguments, stdin (empty by default: never a terminal),
/// extra environment, working directory. `HOSTDEV_ROOT` is removed from the environment.
#[derive(Default)]
pub struct Cmd {
    args: Vec<OsString>,
    stdin: String,
    env: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
}

impl Cmd {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = text.to_string();
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The process to start (arguments, environment, directory; stdio left to the caller),
    /// for tests that must act while it runs, e.g. send it a signal.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args)
            .env_remove("HOSTDEV_ROOT")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Run it to completion and capture the result.
    pub fn run(self) -> Run {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hostdev");
        let mut stdin = child.stdin.take().expect("stdin");
        // A closed pipe is fine: hostdev may exit without reading its stdin.
        let _ = stdin.write_all(self.stdin.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().expect("wait hostdev");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// `hostdev ARGS`, stdin empty.
pub fn hostdev(args: &[&str]) -> Run {
    Cmd::default().args(args).run()
}

/// A host tree to run on: a bundled fixture (read-only), or a copy of one served as a
/// simulated host (hostdev-sim: the copy at `<tmp>/backing`, mounted at `<tmp>/root`, every
/// sysfs write answered by the model of the kernel). The tests may change it; `<tmp>` itself
/// is free for files outside the root, such as saved plans. The mount is taken down and the
/// copy deleted when the `Host` is dropped.
pub struct Host {
    root: PathBuf,
    /// The tree behind the mount (`None` for a bundled fixture).
    backing: Option<PathBuf>,
    // (dropped before `_tmp`: unmount, then delete)
    _served: Option<hostdev_sim::serve::Served>,
    _tmp: Option<tempfile::TempDir>,
}

impl Host {
    /// `fixtures/<name>` itself.
    pub fn bundled(name: &str) -> Host {
        Host {
            root: fixture(name),
            backing: None,
            _served: None,
            _tmp: None,
        }
    }

    /// A fresh copy of `fixtures/<name>` (symlinks preserved), served through a hostdev-sim
    /// mount in this process: hostdev's writes under `sys/` are answered by the model as the
    /// kernel answers them (mdevs appear, drivers bind, refusals are errnos).
    pub fn copy(name: &str) -> Host {
        let tmp = tempfile::tempdir().expect("tempdir");
        let backing = tmp.path().join("backing");
        let root = tmp.path().join("root");
        copy_tree(&fixture(name), &backing);
        let served = hostdev_sim::serve::serve(
            &backing,
            &root,
            &hostdev_sim::serve::Options { in_place: true },
        )
        .unwrap_or_else(|e| panic!("serving {}: {e:#}", backing.display()));
        Host {
            root,
            backing: Some(backing),
            _served: Some(served),
            _tmp: Some(tmp),
        }
    }

    /// `<backing>/<rel>` (`<root>/<rel>` for a bundled fixture): the tree behind the mount, for a test that prepares sysfs state
    /// by hand (writes through the mount under `sys/` are answered by the model, as on a
    /// real host; a test that sets e.g. `available_instances` writes here).
    pub fn backing_path(&self, rel: &str) -> PathBuf {
        self.backing.as_ref().unwrap_or(&self.root).join(rel)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<rel>`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `<root>/<rel>` with its parent directories created, for a file the test adds.
    pub fn new_path(&self, rel: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        p
    }

    /// The fixture's configuration, `<root>/config.yaml`.
    pub fn config(&self) -> PathBuf {
        self.path("config.yaml")
    }

    /// The directory that holds a copied root (files outside the root go there).
    pub fn outside(&self) -> &Path {
        assert!(self._tmp.is_some(), "only a copied host has an outside");
        self.root.parent().expect("parent of the root")
    }

    /// `hostdev --root ROOT`.
    pub fn cmd(&self) -> Cmd {
        Cmd::default().arg("--root").arg(&self.root)
    }

    /// `hostdev --root ROOT -f ROOT/config.yaml ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd().arg("-f").arg(self.config()).args(args).run()
    }

    /// `hostdev --root ROOT -f ROOT/config.yaml --node-name NODE ARGS`.
    pub fn on_node(&self, node: &str, args: &[&str]) -> Run {
        self.cmd()
            .arg("-f")
            .arg(self.config())
            .args(["--node-name", node])
            .args(args)
            .run()
    }

    /// The audit log, one JSON value per line (empty when there is none).
    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.path("var/log/hostdev/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(json)
            .collect()
    }

    /// The state file as JSON.
    pub fn state(&self) -> Value {
        json(&std::fs::read_to_string(self.path("run/hostdev/state.json")).expect("state file"))
    }

    /// Every path, link target and file content under the root.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }

    /// The snapshot without `run/` and `var/` (where the lock and audit files appear).
    pub fn snapshot_of_host(&self) -> Vec<(String, String)> {
        self.snapshot()
            .into_iter()
            .filter(|(p, _)| !p.starts_with("run") && !p.starts_with("var"))
            .collect()
    }
}

/// `hostdev --root fixtures/NAME -f fixtures/NAME/config.yaml ARGS`.
pub fn on_fixture(name: &str, args: &[&str]) -> Run {
    Host::bundled(name).run(args)
}

/// Copy the tree at `from` to `to`, symlinks preserved (as they are: relative ones keep
/// resolving when `to` is at the same depth).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ft = entry.file_type().expect("file type");
        if ft.is_symlink() {
            let target = std::fs::read_link(&src).expect("readlink");
            std::os::unix::fs::symlink(target, &dst).expect("symlink");
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let entry = entry.expect("entry");
        let p = entry.path();
        let rel = p.strip_prefix(root).expect("prefix").display().to_string();
        let ft = entry.file_type().expect("file type");
        if ft.is_symlink() {
            out.push((
                rel,
                format!("-> {}", std::fs::read_link(&p).expect("readlink").display()),
            ));
        } else if ft.is_dir() {
            out.push((rel.clone(), "/".into()));
            walk(root, &p, out);
        } else {
            out.push((
                rel,
                std::fs::read_to_string(&p).unwrap_or_else(|_| "<binary>".into()),
            ));
        }
    }
}

/// Compare `actual` with `tests/golden/<name>`; with `HOSTDEV_REGEN=1` the file is written.
pub fn assert_golden(name: &str, actual: &str) {
    let rel = format!("tests/golden/{name}");
    let path = repo().join(&rel);
    if regen() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir golden");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("missing golden file {rel}: run `{REGEN_VAR}=1 cargo test --test integration` and review it")
    });
    if expected != actual {
        panic!(
            "output differs from {rel}:\n{}(if the change is intended: `{REGEN_VAR}=1 cargo test --test integration`, then review the diff)",
            diff::unified(&rel, "actual output", &expected, actual)
        );
    }
}

/// Keep a committed generated file equal to what the code generates (rust-analyzer's
/// `ensure_file_contents`): with `HOSTDEV_REGEN=1` the file is rewritten, otherwise a
/// difference fails the test with a diff and the command that regenerates it.
pub fn ensure_file_contents(rel: &str, contents: &[u8], regen_cmd: &str) {
    let path = repo().join(rel);
    let current = std::fs::read(&path).ok();
    if current.as_deref() == Some(contents) {
        return;
    }
    if regen() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("write generated file");
        return;
    }
    let what = match &current {
        None => "is missing".to_string(),
        Some(old) => format!(
            "is out of date:\n{}",
            diff::unified(
                rel,
                "generated",
                &String::from_utf8_lossy(old),
                &String::from_utf8_lossy(contents)
            )
        ),
    };
    panic!(
        "{rel} {what}\nit must equal what the binary generates. Regenerate with: {regen_cmd}\n(then review and commit the diff)"
    );
}

/// Every path, link target and file content under `root` (as [`Host::snapshot`]).
pub fn tree_snapshot(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
