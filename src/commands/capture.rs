//! `hostdev capture --out DIR|-`: what hostdev reads of the host, as a fixture tree in a
//! new (or empty) directory or as a tar stream on standard output, to attach to a bug
//! report and replay with `--root`. Read-only: the reads are the host layer's
//! ([`Capture::read`]); the only writes are into `--out` (never through the root, never
//! over an existing file, never following a symlink).

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::CaptureArgs;
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::capture::{Capture, Node};
use crate::host::root::read::read_user_file;
use crate::host::root::DEFAULT_CONFIG;
use crate::logger::escape_controls;

pub fn run(ctx: &Context, args: &CaptureArgs, out: &mut dyn Write) -> Result<Code> {
    let to_stdout = args.out == Path::new("-");
    let shown = escape_controls(&args.out.display().to_string());
    if to_stdout {
        if std::io::stdout().is_terminal() {
            return Err(fail(
                Code::Usage,
                "--out -: standard output is a terminal; redirect it to a file \
                 (hostdev capture --out - > host.tar) or name a directory",
            ));
        }
    } else {
        check_out(&args.out, &shown)?;
    }
    let mut cap = Capture::read(&ctx.root)?;
    if ctx.config_given() {
        // `-f FILE`: the configuration of this run, where a replay finds it by default
        let p = ctx.config_path();
        match read_user_file(&p, crate::config::load::CONFIG_MAX) {
            Ok(b) => {
                cap.nodes.remove(Path::new(DEFAULT_CONFIG));
                cap.put(Path::new(DEFAULT_CONFIG), Node::File(b))?
            }
            Err(e) => log::warn!(
                "the configuration {} is not in the capture: {e}",
                escape_controls(&p.display().to_string())
            ),
        }
    }
    if cap.uninspected > 0 {
        log::warn!(
            "could not read the open files of {} processes (not root): who holds a VFIO \
             device is missing from the capture",
            cap.uninspected
        );
    }
    if to_stdout {
        crate::render::tar::write(out, &cap).context("writing the tar stream")?;
    } else {
        write_tree(&args.out, &cap, &shown)?;
    }
    let (files, dirs, links) = cap.counts();
    log::info!(
        "captured {files} files, {dirs} directories and {links} links ({} bytes){}",
        cap.bytes,
        if to_stdout {
            String::new()
        } else {
            format!(" into {shown}; replay with hostdev --root {shown} ...")
        }
    );
    Ok(Code::Ok)
}

/// `--out` must not exist (it is created) or be an empty directory (not a symlink).
fn check_out(dir: &Path, shown: &str) -> Result<()> {
    let refuse = |why: &str| {
        Err(fail(
            Code::Usage,
            format!("--out {shown}: {why}; capture writes only into a new or empty directory"),
        ))
    };
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("--out {shown}"))),
        Ok(m) if m.file_type().is_symlink() => refuse("a symlink"),
        Ok(m) if !m.is_dir() => refuse("not a directory"),
        Ok(_) => {
            let mut it = fs::read_dir(dir).with_context(|| format!("--out {shown}"))?;
            if it.next().is_some() {
                refuse("not empty")
            } else {
                Ok(())
            }
        }
    }
}

/// Write the capture under `dir` (created if missing): directories 0755, files 0644, links
/// as they were; nothing existing is replaced.
fn write_tree(dir: &Path, cap: &Capture, shown: &str) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .mode(0o755)
            .create(dir)
            .with_context(|| format!("creating --out {shown}"))?;
    }
    for (rel, node) in &cap.nodes {
        let path = dir.join(rel);
        let what = || {
            format!(
                "writing {shown}/{}",
                escape_controls(&rel.display().to_string())
            )
        };
        match node {
            Node::Dir => fs::DirBuilder::new()
                .mode(0o755)
                .create(&path)
                .with_context(what)?,
            Node::File(b) => OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
                .and_then(|mut f| f.write_all(b))
                .with_context(what)?,
            Node::Link(t) => std::os::unix::fs::symlink(t, &path).with_context(what)?,
        }
    }
    Ok(())
}
