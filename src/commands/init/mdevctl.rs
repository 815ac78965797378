//! `init --from-mdevctl`: read mdevctl's definitions (`DIR/<parent>/<uuid>`, by default
//! `/etc/mdevctl.d` under the root) into [`MdevctlDef`]s. Parsing one definition and
//! turning the definitions into choices are `plan::init`'s; here the files are found and
//! read, under the root or at a path the user named.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::is_mdev_uuid;
use crate::plan::init::existing::MdevctlDef;
use crate::plan::init::{self as pi};

/// The largest mdevctl definition read (they are a few hundred bytes).
const MDEVCTL_MAX: usize = 64 << 10;

/// mdevctl's definitions: `DIR/<parent>/<uuid>` (default: under the root), sorted; the
/// directory as shown in messages.
pub(super) fn read_mdevctl(ctx: &Context, dir: Option<&Path>) -> Result<(Vec<MdevctlDef>, String)> {
    let (dir, under_root) = match dir {
        Some(d) if !d.as_os_str().is_empty() => (d.to_path_buf(), false),
        _ => (ctx.root.mdevctl_dir(), true),
    };
    let shown = if under_root {
        ctx.root.display(&dir)
    } else {
        dir.display().to_string()
    };
    let exists = if under_root {
        ctx.root.exists(&dir)
    } else {
        dir.is_dir()
    };
    if !exists {
        return Err(fail(
            Code::NotFound,
            format!("--from-mdevctl: {shown}: no such directory (mdevctl keeps its definitions in /etc/mdevctl.d)"),
        ));
    }
    let mut defs = Vec::new();
    for parent in list(ctx, under_root, &dir).with_context(|| format!("cannot list {shown}"))? {
        let pdir: PathBuf = if under_root {
            ctx.root.mdevctl_dir().join(&parent)
        } else {
            dir.join(&parent)
        };
        let Ok(uuids) = list(ctx, under_root, &pdir) else {
            continue; // a stray file beside the parents' directories
        };
        for uuid in uuids {
            if !is_mdev_uuid(&uuid) {
                log::warn!("--from-mdevctl: {shown}/{parent}/{uuid}: not a UUID; skipped");
                continue;
            }
            defs.push(read_definition(
                ctx, under_root, &shown, &pdir, &parent, &uuid,
            )?);
        }
    }
    if defs.is_empty() {
        return Err(fail(
            Code::NotFound,
            format!(
                "--from-mdevctl: no definitions under {shown} (expected <parent>/<uuid> files)"
            ),
        ));
    }
    Ok((defs, shown))
}

/// The names in directory `p`, sorted: through the root when `under_root`, else the
/// user's directory without its dot files.
fn list(ctx: &Context, under_root: bool, p: &Path) -> std::io::Result<Vec<String>> {
    if under_root {
        ctx.root.list(p)
    } else {
        let mut v: Vec<String> = std::fs::read_dir(p)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        v.sort();
        Ok(v)
    }
}

/// Read and parse the definition `<parent>/<uuid>` (in `pdir`, the parent's directory;
/// `shown`: the directory of all definitions as messages show it).
fn read_definition(
    ctx: &Context,
    under_root: bool,
    shown: &str,
    pdir: &Path,
    parent: &str,
    uuid: &str,
) -> Result<MdevctlDef> {
    let file = if under_root {
        ctx.root.mdevctl_definition(parent, uuid)
    } else {
        pdir.join(uuid)
    };
    let bytes = if under_root {
        ctx.root.read_own(&file, MDEVCTL_MAX)
    } else {
        crate::host::root::read::read_user_file(&file, MDEVCTL_MAX)
    }
    .map_err(|e| {
        fail(
            Code::NotFound,
            format!("--from-mdevctl: cannot read {shown}/{parent}/{uuid}: {e}"),
        )
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let def = pi::existing::parse_mdevctl(parent, uuid, &text).map_err(|e| {
        fail(
            Code::Config,
            format!("--from-mdevctl: {shown}/{parent}/{uuid}: {e}"),
        )
    })?;
    Ok(def)
}
