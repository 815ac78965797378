//! The mdev side of the inventory: the mdev parents under `sys/class/mdev_bus` and their
//! types (listed first, then read only as far as the [`Scope`] needs, by a few threads on
//! a large host), and the existing mdevs under `sys/bus/mdev/devices` with their type names.
//! Counts a host reports are bounded ([`MAX_INSTANCES`]). The PCI scan is [`super::pci`]'s.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};

use super::{ctx, is_mdev_uuid, vfio_cdevs, Mdev, MdevType, Parent, ParentKind, PciDevice, Scope};
use crate::config::model::normalize;
use crate::host::root::dir::AttrDir;
use crate::host::root::{parent_component, Root};

/// The most instances of one type a parent may report (`available_instances`, NVIDIA's
/// `max_instance`). Real parents offer a few dozen at most (an A40 32 of its 1 GB types, a
/// T4 16, GVT-g 7, the mtty sample a handful; the mdev core caps nothing, but every
/// instance needs its own framebuffer slice or VF). 4096 leaves two orders of magnitude
/// of headroom while keeping a plan's actions (one per instance) to a few MB: a larger
/// count is a malformed host, never an allocation.
pub(crate) const MAX_INSTANCES: u32 = 4096;

/// The IDs of each parent's types (pass 1 of the parent scan: listings only), with the
/// open `mdev_supported_types` directory they are read through in pass 2.
struct Listed<'a> {
    name: String,
    ids: Vec<String>,
    dir: Option<AttrDir<'a>>,
}

/// Which attributes of a type to read (pass 2).
struct TypeReads<'a> {
    scope: &'a Scope,
    /// The desired entries, normalized (for matching names).
    desired_norm: Vec<String>,
    /// Read the `name` of every type (some desired entry names no type ID).
    all_names: bool,
    /// Type IDs of existing mdevs: their names are shown (read on every parent, so that
    /// a GPU's types read the same on each of its VFs).
    in_use: &'a BTreeSet<String>,
}

impl TypeReads<'_> {
    /// Whether the type is wanted by ID (or all types are).
    fn by_id(&self, id: &str) -> bool {
        match self.scope {
            Scope::All => true,
            Scope::Plan { desired, external } => {
                desired.iter().any(|d| d == id)
                    || (!external.is_empty() && external.contains(&normalize(id)))
            }
            Scope::Offers { desired } => desired.iter().any(|d| d == id),
        }
    }

    fn by_name(&self, name: Option<&str>) -> bool {
        let (desired, external): (&[String], &[String]) = match self.scope {
            Scope::All => return true,
            Scope::Plan { desired, external } => (desired, external),
            Scope::Offers { desired } => (desired, &[]),
        };
        let _ = desired;
        let Some(n) = name.map(normalize).filter(|n| !n.is_empty()) else {
            return false;
        };
        self.desired_norm.contains(&n) || external.contains(&n)
    }

    /// Counts and descriptions are read at all (not for [`Scope::Offers`]).
    fn details(&self) -> bool {
        !matches!(self.scope, Scope::Offers { .. })
    }
}

/// The mdev parents, their types read as far as `scope` needs (`in_use`: the type IDs of
/// existing mdevs, whose names are always read): pass 1 lists, pass 2 reads.
pub(super) fn scan_parents(
    fs: &Root,
    pci: &[PciDevice],
    scope: &Scope,
    in_use: &BTreeSet<String>,
) -> Result<Vec<Parent>> {
    let base = fs.mdev_parents();
    let listed = list_parents(fs, &base)?;
    let reads = type_reads(scope, &listed, in_use);
    read_parents(fs, pci, &listed, &reads, &base)
}

/// Pass 1: each parent under `base` with the IDs of its types (listings only); an entry
/// that is not a parent directory, or a type that is not a directory, is skipped with a
/// warning.
fn list_parents<'a>(fs: &'a Root, base: &Path) -> Result<Vec<Listed<'a>>> {
    let mut listed = Vec::new();
    for name in fs.list_dirs(base).with_context(|| ctx(fs, base))? {
        let types_dir = base.join(&name).join("mdev_supported_types");
        let dir = match fs.dir(&types_dir) {
            Ok(d) => Some(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {
                log::warn!(
                    "skipping {}: not an mdev parent directory",
                    fs.display(&base.join(&name))
                );
                continue;
            }
            Err(e) => return Err(anyhow::Error::new(e).context(ctx(fs, &types_dir))),
        };
        let mut ids = Vec::new();
        if let Some(d) = &dir {
            for (id, kind) in d.entries().with_context(|| ctx(fs, &types_dir))? {
                if kind.may_be_dir() {
                    ids.push(id);
                } else {
                    log::warn!(
                        "skipping {}: not a directory",
                        fs.display(&types_dir.join(&id))
                    );
                }
            }
        }
        listed.push(Listed { name, ids, dir });
    }
    Ok(listed)
}

/// What pass 2 reads for `scope`: every type's name only when some desired entry (or
/// external selector) names no type ID that was listed.
fn type_reads<'a>(
    scope: &'a Scope,
    listed: &[Listed],
    in_use: &'a BTreeSet<String>,
) -> TypeReads<'a> {
    let all_names = match scope {
        Scope::All => true,
        Scope::Offers { desired } => {
            let ids: BTreeSet<&str> = listed
                .iter()
                .flat_map(|l| l.ids.iter().map(String::as_str))
                .collect();
            !desired.iter().all(|d| ids.contains(d.as_str()))
        }
        Scope::Plan { desired, external } => {
            let ids: BTreeSet<&str> = listed
                .iter()
                .flat_map(|l| l.ids.iter().map(String::as_str))
                .collect();
            let norm_ids: BTreeSet<String> = ids.iter().map(|i| normalize(i)).collect();
            !desired.iter().all(|d| ids.contains(d.as_str()))
                || !external.iter().all(|e| norm_ids.contains(e))
        }
    };
    let desired_norm = match scope {
        Scope::All => Vec::new(),
        Scope::Plan { desired, .. } | Scope::Offers { desired } => {
            desired.iter().map(|d| normalize(d)).collect()
        }
    };
    TypeReads {
        scope,
        desired_norm,
        all_names,
        in_use,
    }
}

/// Pass 2: each listed parent read, in order; by a few threads when there are many.
fn read_parents(
    fs: &Root,
    pci: &[PciDevice],
    listed: &[Listed],
    reads: &TypeReads,
    base: &Path,
) -> Result<Vec<Parent>> {
    // Reading thousands of small type attributes is bound by syscalls, not by the disk:
    // a large host (8 GPUs x 32 VFs x 25 types) is read by a few threads, in order.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if workers < 2 || listed.len() < 32 {
        return listed
            .iter()
            .map(|l| read_parent(fs, pci, l, reads))
            .collect();
    }
    let chunk = listed.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = listed
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|l| read_parent(fs, pci, l, reads))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(listed.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("a thread reading {} panicked", fs.display(base)))??;
            out.extend(part);
        }
        Ok(out)
    })
}

fn read_parent(fs: &Root, pci: &[PciDevice], listed: &Listed, reads: &TypeReads) -> Result<Parent> {
    let name = listed.name.as_str();
    let pci_dev = pci
        .binary_search_by(|d| d.address.as_str().cmp(name))
        .ok()
        .map(|i| &pci[i]);
    let kind = match pci_dev {
        Some(d) if d.physfn.is_some() => ParentKind::Vf,
        Some(_) => ParentKind::Pci,
        // not on the PCI bus: the sample drivers, vfio-ap, vfio-ccw, ...
        None => ParentKind::Virtual,
    };
    let mut types = Vec::with_capacity(listed.ids.len());
    if let Some(dir) = &listed.dir {
        for id in &listed.ids {
            let in_use = reads.in_use.contains(id);
            if let Some(t) = read_type(fs, dir, id, reads, in_use)? {
                types.push(t);
            }
        }
    }
    Ok(Parent {
        physfn: pci_dev.and_then(|d| d.physfn.clone()),
        name: name.to_string(),
        kind,
        types,
    })
}

/// One type directory, its attributes read relative to `mdev_supported_types`: the name
/// when wanted, the counts and description only of a wanted type. `None` (with a warning)
/// when the entry is not a type directory.
fn read_type(
    fs: &Root,
    types: &AttrDir,
    id: &str,
    reads: &TypeReads,
    in_use: bool,
) -> Result<Option<MdevType>> {
    let attr = |name: &str| format!("{id}/{name}");
    let opt = |name: &str| -> Result<Option<String>> { Ok(types.read_opt(&attr(name))?) };
    let by_id = reads.by_id(id);
    let name = if reads.all_names || by_id || in_use {
        match types.read_opt(&attr("name")) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {
                log::warn!(
                    "skipping {}: not a directory",
                    fs.display(&types.path().join(id))
                );
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let mut t = MdevType {
        id: id.to_string(),
        name,
        available_instances: 0,
        device_api: None,
        description: None,
        max_instances: None,
        partial: true,
    };
    if !reads.details() || !(by_id || reads.by_name(t.name.as_deref())) {
        return Ok(Some(t));
    }
    let path_of = |name: &str| fs.display(&types.path().join(attr(name)));
    let Some(available) = read_available_instances(fs, types, id)? else {
        return Ok(None);
    };
    t.available_instances = available;
    t.description = opt("description")?;
    t.max_instances = match t.description.as_deref().and_then(max_instance) {
        Some(n) if n > u64::from(MAX_INSTANCES) => {
            return Err(malformed_count(
                &format!("{} (max_instance)", path_of("description")),
                &n.to_string(),
            ))
        }
        n => n.map(|n| n as u32),
    };
    if t.name.is_none() && !reads.all_names {
        t.name = opt("name")?;
    }
    // shown by list-types only; the planner never looks at it
    if matches!(reads.scope, Scope::All) {
        t.device_api = opt("device_api")?;
    }
    t.partial = false;
    Ok(Some(t))
}

/// The type `id`'s `available_instances`, as the kernel prints it and at most
/// [`MAX_INSTANCES`]; `None` (with a warning) when the entry is not a type directory.
fn read_available_instances(fs: &Root, types: &AttrDir, id: &str) -> Result<Option<u32>> {
    let attr = |name: &str| format!("{id}/{name}");
    let path_of = |name: &str| fs.display(&types.path().join(attr(name)));
    let raw = match types.read_opt(&attr("available_instances")) {
        Ok(Some(raw)) => raw,
        Ok(None) if !types_dir_is_dir(types, id) => {
            log::warn!(
                "skipping {}: not a directory",
                fs.display(&types.path().join(id))
            );
            return Ok(None);
        }
        Ok(None) => {
            return Err(anyhow::anyhow!(
                "{}: No such file or directory",
                types.path().join(attr("available_instances")).display()
            ))
        }
        Err(e) => return Err(e.into()),
    };
    // As the kernel prints it (`%u\n`; the newline is gone already): digits only, no sign,
    // no spaces, no second line.
    let count = raw.as_str();
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(anyhow::anyhow!(
            "{}: expected a number (digits only, as the kernel prints it), found {:?}",
            path_of("available_instances"),
            snippet(&raw)
        ));
    }
    match count.parse::<u32>() {
        Ok(n) if n <= MAX_INSTANCES => Ok(Some(n)),
        _ => Err(malformed_count(
            &path_of("available_instances"),
            &snippet(count),
        )),
    }
}

fn types_dir_is_dir(types: &AttrDir, id: &str) -> bool {
    !matches!(
        types.list(id),
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR)
    )
}

/// At most 64 characters of a value, for messages (attribute files are at most a page).
fn snippet(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn malformed_count(path: &str, value: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "malformed host: {path} reports {value} instances, more than the {MAX_INSTANCES} \
         hostdev accepts for one type of one parent (no real device offers that many)"
    )
}

/// NVIDIA publishes `max_instance=N` in the type description.
pub fn max_instance(description: &str) -> Option<u64> {
    description
        .split([',', '\n'])
        .filter_map(|kv| kv.trim().strip_prefix("max_instance="))
        .find_map(|v| v.trim().parse().ok())
}

/// The mdevs, their type names not yet filled in (see [`name_mdev_types`]).
pub(super) fn scan_mdevs(fs: &Root) -> Result<Vec<Mdev>> {
    let base = fs.mdevs();
    let devices = match fs.dir(&base) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::Error::new(e).context(ctx(fs, &base))),
    };
    let mut out = Vec::new();
    for (uuid, _) in devices.entries().with_context(|| ctx(fs, &base))? {
        if !is_mdev_uuid(&uuid) {
            log::warn!(
                "skipping {}: not an mdev (the kernel names mdevs by their lower-case UUID)",
                fs.display(&base.join(&uuid))
            );
            continue;
        }
        let Some(target) = devices
            .read_link(&uuid)
            .with_context(|| ctx(fs, &base.join(&uuid)))?
        else {
            continue; // not a symlink: not an mdev (KubeVirt skips these too)
        };
        let parent = parent_component(&target).unwrap_or_default();
        // the link climbs out of `devices`: resolve it from the root
        let dir = match fs.dir(&base.join(&uuid)) {
            Ok(d) => d,
            Err(e) => {
                log::warn!("skipping the mdev {}: {e}", fs.display(&base.join(&uuid)));
                continue;
            }
        };
        let type_id = dir.link_name("mdev_type").unwrap_or(None);
        out.push(Mdev {
            iommu_group: dir
                .link_name("iommu_group")
                .with_context(|| ctx(fs, &base.join(&uuid).join("iommu_group")))?,
            cdevs: vfio_cdevs(&dir).unwrap_or_default(),
            uuid,
            parent,
            type_id,
            type_name: None,
        });
    }
    Ok(out)
}

/// Each mdev's type name: from its parent's types, else through its `mdev_type` link.
pub(super) fn name_mdev_types(fs: &Root, mdevs: &mut [Mdev], parents: &[Parent]) {
    let base = fs.mdevs();
    for m in mdevs {
        let Some(id) = &m.type_id else { continue };
        let known = parents
            .binary_search_by(|p| p.name.as_str().cmp(&m.parent))
            .ok()
            .and_then(|i| parents[i].types.iter().find(|t| &t.id == id));
        m.type_name = match known {
            Some(t) => t.name.clone(),
            None => read_name(fs, &base.join(&m.uuid).join("mdev_type")),
        };
    }
}

fn read_name(fs: &Root, type_link: &Path) -> Option<String> {
    fs.read_opt(&type_link.join("name")).ok().flatten()
}
