//! Who holds a device: the processes with `/dev/vfio/...` open (a scan of `<root>/proc/*/fd`,
//! in the snapshot or afresh right before a write), whether a process runs by its `comm`,
//! and which `/dev` nodes are missing under the root.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use super::{Holder, Inventory};
use crate::host::root::Root;

/// Whether a process whose `comm` is `comm` runs (`<root>/proc/*/comm` is world-readable).
pub(super) fn process_running(fs: &Root, comm: &str) -> bool {
    let proc_dir = fs.proc_dir();
    fs.list(&proc_dir)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .any(|pid| {
            fs.read_opt(&proc_dir.join(pid).join("comm"))
                .ok()
                .flatten()
                .is_some_and(|c| c.trim() == comm)
        })
}

/// Who holds any of these `/dev` paths open right now (a fresh scan of `<root>/proc`),
/// for the re-check immediately before a remove or unbind.
pub(crate) fn holders_now(fs: &Root, paths: &[String]) -> Result<Vec<Holder>> {
    let (holders, _) = scan_holders(fs)?;
    let inv = Inventory {
        holders,
        ..Default::default()
    };
    Ok(inv.holders_of(paths))
}

/// Scan `<root>/proc/*/fd` for open `/dev/vfio/...` handles.
pub(super) fn scan_holders(fs: &Root) -> Result<(BTreeMap<String, Vec<Holder>>, usize)> {
    let proc_dir = fs.proc_dir();
    let mut holders: BTreeMap<String, Vec<Holder>> = BTreeMap::new();
    let mut skipped = 0;
    let pids = fs.list(&proc_dir).unwrap_or_default();
    for pid in pids.iter().filter_map(|p| p.parse::<u32>().ok()) {
        let fd_dir: PathBuf = proc_dir.join(pid.to_string()).join("fd");
        let fds = match fs.read_links(&fd_dir) {
            Ok(links) => links,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                skipped += 1;
                continue;
            }
            Err(_) => continue, // the process exited
        };
        let mut held: Vec<String> = Vec::new();
        for (_, t) in fds {
            let t = t.to_string_lossy().into_owned();
            if t.starts_with("/dev/vfio/") && !held.contains(&t) {
                held.push(t);
            }
        }
        if held.is_empty() {
            continue;
        }
        let comm_path = proc_dir.join(pid.to_string()).join("comm");
        let command = fs
            .read_opt(&comm_path)
            .ok()
            .flatten()
            .unwrap_or_else(|| "?".into());
        for t in held {
            holders.entry(t).or_default().push(Holder {
                pid,
                command: command.clone(),
            });
        }
    }
    Ok((holders, skipped))
}

/// The `/dev` nodes among `paths` (`/dev/vfio/<group>`, `/dev/vfio/devices/vfioN`) that do
/// not exist under the root: a device whose node is missing cannot be opened by a VM.
pub(crate) fn missing_dev_nodes(fs: &Root, paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| !fs.exists(&fs.path(p.as_str())))
        .cloned()
        .collect()
}
