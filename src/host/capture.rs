//! `hostdev capture`: the part of the host that hostdev reads, copied into memory as a
//! fixture-shaped tree ([`Capture`]) that the command writes into a directory or a tar.
//! Exactly what the scans read (see `inventory/`, `iommu.rs`, `holders.rs`, `context.rs`):
//! the PCI functions' IDs, class, driver, group, SR-IOV and NUMA attributes and links; the
//! mdev parents, their types and mdevs; NVIDIA's vendor-VFIO `nvidia/` files; the IOMMU
//! groups and units; the PCI drivers' device links; the VFIO module parameters; the
//! presence of the ACPI DMAR/IVRS tables, `/dev/kvm` and the `/dev/vfio` nodes; the
//! `/proc/*/fd` links to `/dev/vfio` (and those processes' `comm`); `/proc/cmdline`, the
//! two lines of `/proc/cpuinfo` hostdev parses, the host name, `os-release`, GRUB's
//! `GRUB_CMDLINE_LINUX`, the boot loader's marker files, hostdev's configuration and state
//! file, mdevctl's definitions and the PCI ID database.
//!
//! Read-only, through the root like every other read, every read bounded (a page under
//! `sys/`) and every listing capped ([`MAX_NODES`], [`MAX_BYTES`]). Symlinks are kept as
//! links (their raw targets, which resolve inside the capture because what they point at
//! is captured too); write-only attributes become empty files, as in the fixtures. Never
//! read: PCI config space, `resource*`, `rom`, `vpd`, `mem*` or any other binary
//! attribute ([`never_read`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::host::inventory::pci::{PCI_IDS_MAX, PCI_IDS_PATHS};
use crate::host::inventory::{is_mdev_uuid, is_pci_function, VGPU_MANAGER_COMM};
use crate::host::iommu::VFIO_MODULES;
use crate::host::root::dir::EntryKind;
use crate::host::root::{
    not_regular, Root, DEFAULT_CONFIG, IOMMU_GROUPS, MDEVCTL_DIR, MDEV_BUS_CLASS, MDEV_DEVICES,
    PAGE, PCI_DEVICES, PCI_DRIVERS, PCI_DRIVERS_PROBE, PROC, STATE_FILE, TEXT_MAX,
};

/// The most entries (files, directories, links) one capture holds: a large host (8 GPUs x
/// 32 VFs x 25 types, hundreds of groups) needs a few tens of thousands.
pub(crate) const MAX_NODES: usize = 1 << 20;
/// The most bytes of file content one capture holds (the PCI ID database is ~1.3 MiB,
/// attributes a few bytes each).
pub(crate) const MAX_BYTES: usize = 256 << 20;

/// A PCI function's attributes hostdev reads (the scan, `bind vfio`'s hints and checks).
const PCI_FILES: &[&str] = &[
    "vendor",
    "device",
    "class",
    "subsystem_vendor",
    "subsystem_device",
    "driver_override",
    "numa_node",
    "sriov_totalvfs",
    "sriov_numvfs",
    "sriov_offset",
    "sriov_stride",
    "sriov_vf_device",
    "sriov_drivers_autoprobe",
    "boot_vga",
];
/// A PCI function's links hostdev reads (and `virtfn*`).
const PCI_LINKS: &[&str] = &["driver", "iommu_group", "physfn"];
/// An mdev type's attributes, and its write-only `create`.
const TYPE_FILES: &[&str] = &["name", "description", "available_instances", "device_api"];
/// An mdev's links, and its write-only `remove`.
const MDEV_LINKS: &[&str] = &["mdev_type", "iommu_group", "driver"];
/// An IOMMU group's attributes.
const GROUP_FILES: &[&str] = &["type", "name", "reserved_regions"];
/// A PCI driver's write-only attributes (present, empty).
const DRIVER_WRITE_ONLY: &[&str] = &["bind", "unbind", "new_id", "remove_id"];
/// Files hostdev only tests for (present, empty: their content is never copied).
const PRESENCE_ONLY: &[&str] = &[
    "sys/firmware/acpi/tables/DMAR",
    "sys/firmware/acpi/tables/IVRS",
    "dev/kvm",
    "etc/kernelstub/configuration",
    "etc/kernel/cmdline",
    "boot/loader/loader.conf",
    "boot/efi/loader/loader.conf",
    "efi/loader/loader.conf",
    PCI_DRIVERS_PROBE,
];
/// Text files copied whole (bounded by [`TEXT_MAX`]).
const TEXT_FILES: &[&str] = &[
    "proc/cmdline",
    "proc/sys/kernel/hostname",
    "etc/hostname",
    "etc/os-release",
    "usr/lib/os-release",
    DEFAULT_CONFIG,
    STATE_FILE,
    "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
    "sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
];

/// Attributes that are never read, whatever directory they are in: PCI config space, BARs,
/// the option ROM, VPD, device memory (binary, possibly huge, possibly sensitive).
pub(crate) fn never_read(name: &str) -> bool {
    matches!(name, "config" | "rom" | "vpd")
        || name.starts_with("resource")
        || name.starts_with("mem")
}

/// One entry of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Dir,
    File(Vec<u8>),
    /// A symlink and its raw target.
    Link(PathBuf),
}

/// The captured tree: relative paths (parents before children) and what is at each.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    pub(crate) nodes: BTreeMap<PathBuf, Node>,
    /// Bytes of file content held.
    pub(crate) bytes: usize,
    /// Processes whose open files could not be read (not root).
    pub(crate) uninspected: usize,
    /// Device directories already copied.
    seen: BTreeSet<PathBuf>,
}

/// How a file is copied.
#[derive(Clone, Copy)]
enum How {
    /// Its content, at most this many bytes (a larger file is left out with a warning).
    Bytes(usize),
    /// Present or not: an empty file (a write-only attribute, a device node, a marker).
    Presence,
}

fn rel(p: &str) -> PathBuf {
    PathBuf::from(p)
}

impl Capture {
    /// Read what hostdev reads of the host under `fs`.
    pub(crate) fn read(fs: &Root) -> Result<Capture> {
        let mut c = Capture::default();
        c.pci(fs)?;
        c.mdev_parents(fs)?;
        c.mdevs(fs)?;
        c.groups(fs)?;
        c.drivers(fs)?;
        c.iommu_units(fs)?;
        c.procs(fs)?;
        c.dev(fs)?;
        c.facts(fs)?;
        Ok(c)
    }

    /// Add an entry (and its missing parent directories).
    pub(crate) fn put(&mut self, path: &Path, node: Node) -> Result<()> {
        if self.nodes.len() >= MAX_NODES {
            return Err(anyhow!(
                "the capture would hold more than {MAX_NODES} entries; not a host hostdev \
                 can read either (malformed host)"
            ));
        }
        if let Node::File(b) = &node {
            self.bytes += b.len();
            if self.bytes > MAX_BYTES {
                return Err(anyhow!(
                    "the capture would hold more than {} MiB (malformed host)",
                    MAX_BYTES >> 20
                ));
            }
        }
        let mut missing = Vec::new();
        let mut p = path.parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            if self.nodes.contains_key(d) {
                break;
            }
            missing.push(d.to_path_buf());
            p = d.parent();
        }
        for d in missing {
            self.nodes.insert(d, Node::Dir);
        }
        self.nodes.entry(path.to_path_buf()).or_insert(node);
        Ok(())
    }

    fn dir(&mut self, path: &Path) -> Result<()> {
        self.put(path, Node::Dir)
    }

    /// Copy one file as `how` says; a missing one is left out.
    fn file(&mut self, fs: &Root, path: &Path, how: How) -> Result<()> {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Ok(());
        };
        if never_read(name) {
            return Ok(());
        }
        let full = fs.path(path);
        let bytes = match how {
            How::Presence => {
                if !fs.exists(&full) {
                    return Ok(());
                }
                Vec::new()
            }
            How::Bytes(limit) => match fs.read_raw(&full, limit) {
                Ok(b) => b,
                Err(e) if is_missing(&e) => return Ok(()),
                Err(e) if not_regular(&e).is_some() => {
                    log::debug!("not copied: {e}");
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    log::warn!("not copied: {e}");
                    return Ok(());
                }
                // a write-only attribute (EIO, EACCES): present, empty, as in the fixtures
                Err(e) => {
                    log::debug!("copied empty: {e}");
                    Vec::new()
                }
            },
        };
        self.put(path, Node::File(bytes))
    }

    fn attr(&mut self, fs: &Root, path: &Path) -> Result<()> {
        self.file(fs, path, How::Bytes(PAGE))
    }

    /// Copy a symlink (its raw target); the path it resolves to inside the root, relative,
    /// when that is under `sys/` (what the caller may copy next).
    fn link(&mut self, fs: &Root, path: &Path) -> Result<Option<PathBuf>> {
        let full = fs.path(path);
        let Some(target) = fs.read_link(&full)? else {
            return Ok(None);
        };
        self.put(path, Node::Link(target))?;
        Ok(fs
            .resolve(&full)
            .and_then(|p| p.strip_prefix("/").ok().map(Path::to_path_buf))
            .filter(|p| p.starts_with("sys")))
    }

    /// The entries of a directory under the root (none when it is missing or unreadable).
    fn entries(fs: &Root, path: &Path) -> Vec<(String, EntryKind)> {
        match fs.entries(&fs.path(path)) {
            Ok(e) => e,
            Err(e) => {
                log::debug!("not listed: {e}");
                Vec::new()
            }
        }
    }

    /// The links of a directory (`sys/bus/pci/devices`, `sys/class/mdev_bus`, ...) whose
    /// names pass `keep`, each with what it resolves to.
    fn links_in(
        &mut self,
        fs: &Root,
        dir: &str,
        keep: fn(&str) -> bool,
    ) -> Result<Vec<(PathBuf, Option<PathBuf>)>> {
        let dir = rel(dir);
        if !fs.exists(&fs.path(&dir)) {
            return Ok(Vec::new());
        }
        self.dir(&dir)?;
        let mut out = Vec::new();
        for (name, kind) in Self::entries(fs, &dir) {
            if !keep(&name) {
                continue;
            }
            let p = dir.join(&name);
            match kind {
                EntryKind::Dir => out.push((p.clone(), Some(p))),
                _ => {
                    let to = self.link(fs, &p)?;
                    out.push((p, to));
                }
            }
        }
        Ok(out)
    }

    fn pci(&mut self, fs: &Root) -> Result<()> {
        for (_, to) in self.links_in(fs, PCI_DEVICES, is_pci_function)? {
            if let Some(to) = to {
                self.device(fs, &to)?;
            }
        }
        Ok(())
    }

    fn mdev_parents(&mut self, fs: &Root) -> Result<()> {
        for (_, to) in self.links_in(fs, MDEV_BUS_CLASS, |_| true)? {
            if let Some(to) = to {
                self.device(fs, &to)?;
            }
        }
        Ok(())
    }

    fn mdevs(&mut self, fs: &Root) -> Result<()> {
        for (_, to) in self.links_in(fs, MDEV_DEVICES, is_mdev_uuid)? {
            if let Some(to) = to {
                self.mdev(fs, &to)?;
            }
        }
        Ok(())
    }

    /// A device directory (a PCI function, a virtual mdev parent): the attributes and
    /// links hostdev reads, its mdev types, its mdevs, its vfio cdevs and `nvidia/`.
    fn device(&mut self, fs: &Root, dir: &Path) -> Result<()> {
        if !self.seen.insert(dir.to_path_buf()) {
            return Ok(());
        }
        self.dir(dir)?;
        for f in PCI_FILES {
            self.attr(fs, &dir.join(f))?;
        }
        for l in PCI_LINKS {
            self.link(fs, &dir.join(l))?;
        }
        for (name, kind) in Self::entries(fs, dir) {
            let p = dir.join(&name);
            if name.starts_with("virtfn") {
                self.link(fs, &p)?;
            } else if name == "nvidia" {
                self.flat(fs, &p)?;
            } else if name == "vfio-dev" {
                self.cdevs(fs, &p)?;
            } else if name == "mdev_supported_types" {
                self.types(fs, &p)?;
            } else if kind == EntryKind::Dir && is_mdev_uuid(&name) {
                self.mdev(fs, &p)?;
            }
        }
        Ok(())
    }

    /// An mdev's directory: its links, `remove`, cdevs and `nvidia/`.
    fn mdev(&mut self, fs: &Root, dir: &Path) -> Result<()> {
        if !self.seen.insert(dir.to_path_buf()) {
            return Ok(());
        }
        self.dir(dir)?;
        for l in MDEV_LINKS {
            // the mdev bus's driver directory, so that the link resolves in the capture
            if let Some(to) = self.link(fs, &dir.join(l))?.filter(|_| *l == "driver") {
                self.dir(&to)?;
            }
        }
        self.file(fs, &dir.join("remove"), How::Presence)?;
        if fs.exists(&fs.path(dir.join("vfio-dev"))) {
            self.cdevs(fs, &dir.join("vfio-dev"))?;
        }
        if fs.exists(&fs.path(dir.join("nvidia"))) {
            self.flat(fs, &dir.join("nvidia"))?;
        }
        Ok(())
    }

    /// `mdev_supported_types/<id>/`: the attributes, `create`, and `devices/`' links.
    fn types(&mut self, fs: &Root, dir: &Path) -> Result<()> {
        self.dir(dir)?;
        for (id, kind) in Self::entries(fs, dir) {
            if !kind.may_be_dir() {
                continue;
            }
            let t = dir.join(&id);
            self.dir(&t)?;
            for f in TYPE_FILES {
                self.attr(fs, &t.join(f))?;
            }
            self.file(fs, &t.join("create"), How::Presence)?;
            let devices = t.join("devices");
            if fs.exists(&fs.path(&devices)) {
                self.dir(&devices)?;
                for (n, _) in Self::entries(fs, &devices) {
                    self.link(fs, &devices.join(n))?;
                }
            }
        }
        Ok(())
    }

    /// `vfio-dev/<vfioN>/dev` of a device.
    fn cdevs(&mut self, fs: &Root, dir: &Path) -> Result<()> {
        self.dir(dir)?;
        for (n, _) in Self::entries(fs, dir) {
            self.attr(fs, &dir.join(n).join("dev"))?;
        }
        Ok(())
    }

    /// A directory of small text attributes (NVIDIA's `nvidia/`): every regular file, a
    /// page at most; no subdirectory.
    fn flat(&mut self, fs: &Root, dir: &Path) -> Result<()> {
        self.dir(dir)?;
        for (n, kind) in Self::entries(fs, dir) {
            if matches!(kind, EntryKind::File | EntryKind::Unknown) {
                self.attr(fs, &dir.join(n))?;
            }
        }
        Ok(())
    }

    fn groups(&mut self, fs: &Root) -> Result<()> {
        let base = rel(IOMMU_GROUPS);
        if !fs.exists(&fs.path(&base)) {
            return Ok(());
        }
        self.dir(&base)?;
        for (g, kind) in Self::entries(fs, &base) {
            if !kind.may_be_dir() {
                continue;
            }
            let dir = base.join(&g);
            self.dir(&dir)?;
            for f in GROUP_FILES {
                self.attr(fs, &dir.join(f))?;
            }
            let devices = dir.join("devices");
            self.dir(&devices)?;
            for (n, _) in Self::entries(fs, &devices) {
                self.link(fs, &devices.join(n))?;
            }
        }
        Ok(())
    }

    fn drivers(&mut self, fs: &Root) -> Result<()> {
        let base = rel(PCI_DRIVERS);
        if !fs.exists(&fs.path(&base)) {
            return Ok(());
        }
        self.dir(&base)?;
        for (d, kind) in Self::entries(fs, &base) {
            if !kind.may_be_dir() {
                continue;
            }
            let dir = base.join(&d);
            self.dir(&dir)?;
            for (n, kind) in Self::entries(fs, &dir) {
                if kind == EntryKind::Symlink && is_pci_function(&n) {
                    self.link(fs, &dir.join(n))?;
                }
            }
            for f in DRIVER_WRITE_ONLY {
                self.file(fs, &dir.join(f), How::Presence)?;
            }
        }
        Ok(())
    }

    /// `sys/class/iommu/<unit>` and Intel's `intel-iommu/ecap` under each.
    fn iommu_units(&mut self, fs: &Root) -> Result<()> {
        for (_, to) in self.links_in(fs, crate::host::root::CLASS_IOMMU, |_| true)? {
            if let Some(to) = to {
                self.dir(&to)?;
                self.attr(fs, &to.join("intel-iommu/ecap"))?;
            }
        }
        Ok(())
    }

    /// `/proc/<pid>/fd` links to `/dev/vfio/...` (only those) and the `comm` of their
    /// processes and of the vGPU manager.
    fn procs(&mut self, fs: &Root) -> Result<()> {
        let proc_dir = rel(PROC);
        for (pid, _) in Self::entries(fs, &proc_dir) {
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let dir = proc_dir.join(&pid);
            let fd_dir = dir.join("fd");
            let vfio: Vec<(String, PathBuf)> = match fs.read_links(&fs.path(&fd_dir)) {
                Ok(links) => links
                    .into_iter()
                    .filter(|(_, t)| t.starts_with("/dev/vfio/"))
                    .collect(),
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                    self.uninspected += 1;
                    Vec::new()
                }
                Err(_) => Vec::new(), // the process exited
            };
            let comm = dir.join("comm");
            let is_manager = !vfio.is_empty()
                || fs
                    .read_opt(&fs.path(&comm))
                    .ok()
                    .flatten()
                    .is_some_and(|c| c.trim() == VGPU_MANAGER_COMM);
            if !is_manager {
                continue;
            }
            self.attr(fs, &comm)?;
            for (n, t) in vfio {
                self.put(&fd_dir.join(n), Node::Link(t))?;
            }
        }
        Ok(())
    }

    /// `/dev/vfio`'s nodes, as empty files.
    fn dev(&mut self, fs: &Root) -> Result<()> {
        let vfio = rel("dev/vfio");
        for (n, kind) in Self::entries(fs, &vfio) {
            if n == "devices" && kind == EntryKind::Dir {
                let cdevs = vfio.join("devices");
                self.dir(&cdevs)?;
                for (c, _) in Self::entries(fs, &cdevs) {
                    self.file(fs, &cdevs.join(c), How::Presence)?;
                }
            } else {
                self.file(fs, &vfio.join(n), How::Presence)?;
            }
        }
        Ok(())
    }

    /// The facts of `iommu check` and the node identity, hostdev's own files, mdevctl's
    /// definitions and the PCI ID database.
    fn facts(&mut self, fs: &Root) -> Result<()> {
        for m in VFIO_MODULES {
            let p = rel("sys/module").join(m);
            if fs.exists(&fs.path(&p)) {
                self.dir(&p)?;
            }
        }
        for f in PRESENCE_ONLY {
            self.file(fs, &rel(f), How::Presence)?;
        }
        for f in TEXT_FILES {
            self.file(fs, &rel(f), How::Bytes(TEXT_MAX))?;
        }
        // only the lines hostdev parses
        self.filtered(fs, "proc/cpuinfo", cpuinfo_lines)?;
        self.filtered(fs, "etc/default/grub", |text| {
            text.lines()
                .filter(|l| l.trim().starts_with("GRUB_CMDLINE_LINUX="))
                .map(|l| format!("{l}\n"))
                .collect()
        })?;
        let mdevctl = rel(MDEVCTL_DIR);
        for (parent, kind) in Self::entries(fs, &mdevctl) {
            if kind.may_be_dir() {
                for (uuid, _) in Self::entries(fs, &mdevctl.join(&parent)) {
                    self.file(fs, &mdevctl.join(&parent).join(uuid), How::Bytes(PAGE))?;
                }
            }
        }
        for p in PCI_IDS_PATHS {
            if fs.exists(&fs.path(p)) {
                self.file(fs, &rel(p), How::Bytes(PCI_IDS_MAX))?;
                break;
            }
        }
        Ok(())
    }

    /// A text file, only the part `keep` returns.
    fn filtered(&mut self, fs: &Root, path: &str, keep: fn(&str) -> String) -> Result<()> {
        match fs.read_raw(&fs.path(path), TEXT_MAX) {
            Ok(b) => {
                let text = String::from_utf8_lossy(&b);
                self.put(&rel(path), Node::File(keep(&text).into_bytes()))
            }
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => {
                log::warn!("not copied: {e}");
                Ok(())
            }
        }
    }

    /// Files, directories and links held.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for n in self.nodes.values() {
            match n {
                Node::File(_) => c.0 += 1,
                Node::Dir => c.1 += 1,
                Node::Link(_) => c.2 += 1,
            }
        }
        c
    }
}

/// The first `vendor_id` and `flags` lines of `/proc/cpuinfo`, as they are.
fn cpuinfo_lines(text: &str) -> String {
    let mut out = String::new();
    let (mut vendor, mut flags) = (false, false);
    for line in text.lines() {
        let Some((k, _)) = line.split_once(':') else {
            continue;
        };
        let first = match k.trim() {
            "vendor_id" => !std::mem::replace(&mut vendor, true),
            "flags" => !std::mem::replace(&mut flags, true),
            _ => false,
        };
        if first {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn is_missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_attributes_are_never_read() {
        for n in [
            "config",
            "rom",
            "vpd",
            "resource",
            "resource0",
            "resource1_wc",
            "mem",
        ] {
            assert!(never_read(n), "{n}");
        }
        for n in ["vendor", "class", "current_vgpu_type", "numa_node"] {
            assert!(!never_read(n), "{n}");
        }
    }

    #[test]
    fn cpuinfo_keeps_the_first_vendor_and_flags_lines() {
        let text =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: X\nflags\t\t: vmx sse\n\
                    processor\t: 1\nvendor_id\t: GenuineIntel\nflags\t\t: vmx sse\n";
        assert_eq!(
            cpuinfo_lines(text),
            "vendor_id\t: GenuineIntel\nflags\t\t: vmx sse\n"
        );
    }

    #[test]
    fn put_adds_the_missing_parents_once() {
        let mut c = Capture::default();
        c.put(Path::new("a/b/c"), Node::File(b"x\n".to_vec()))
            .unwrap();
        c.put(Path::new("a/b/d"), Node::Link("c".into())).unwrap();
        let paths: Vec<_> = c.nodes.keys().map(|p| p.display().to_string()).collect();
        assert_eq!(paths, ["a", "a/b", "a/b/c", "a/b/d"]);
        assert_eq!(c.counts(), (1, 2, 1));
        assert_eq!(c.bytes, 2);
    }
}
