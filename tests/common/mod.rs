//! Shared helpers for the integration tests: run the real binary against fixtures,
//! compare with golden files (`HOSTDEV_REGEN=1 cargo test` rewrites them), copy fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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

/// Run `hostdev` with `args` (stdin empty, no terminal, HOSTDEV_ROOT unset).
pub fn hostdev(args: &[&str]) -> Run {
    hostdev_stdin(args, "")
}

/// Run `hostdev` with `args`, feeding `stdin`.
pub fn hostdev_stdin(args: &[&str], stdin: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hostdev"))
        .args(args)
        .env_remove("HOSTDEV_ROOT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hostdev");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait hostdev");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `--root fixtures/<name> -f fixtures/<name>/config.yaml` followed by `args`.
pub fn on_fixture(name: &str, args: &[&str]) -> Run {
    let root = fixture(name);
    let cfg = root.join("config.yaml");
    let mut all = vec![
        "--root",
        root.to_str().expect("utf-8 path"),
        "-f",
        cfg.to_str().expect("utf-8 path"),
    ];
    all.extend_from_slice(args);
    hostdev(&all)
}

/// Compare `actual` with `tests/golden/<name>`; `HOSTDEV_REGEN=1` rewrites the file.
pub fn assert_golden(name: &str, actual: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("HOSTDEV_REGEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir golden");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}: run `HOSTDEV_REGEN=1 cargo test` and review it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "output differs from {}\n--- expected\n{expected}\n--- actual\n{actual}\n(if the change is intended: HOSTDEV_REGEN=1 cargo test, then review the diff)",
            path.display()
        );
    }
}

/// Copy a fixture tree into a fresh temporary directory, preserving symlinks.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(name), dir.path());
    dir
}

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

/// Every path, link target and file content under `root`, for before/after comparisons.
pub fn snapshot(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
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

/// Keep a committed generated file equal to what the code generates (rust-analyzer's
/// `ensure_file_contents`): with `HOSTDEV_REGEN=1` the file is rewritten, otherwise a
/// difference fails the test and prints the command that regenerates it.
pub fn ensure_file_contents(rel: &str, contents: &[u8], regen: &str) {
    let path = repo().join(rel);
    let current = std::fs::read(&path).ok();
    if current.as_deref() == Some(contents) {
        return;
    }
    if std::env::var_os("HOSTDEV_REGEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("write generated file");
        return;
    }
    let what = if current.is_none() {
        "is missing"
    } else {
        "is out of date"
    };
    panic!(
        "{rel} {what}: it must equal what the binary generates.\nRegenerate with: {regen}\n(then review and commit the diff)"
    );
}
