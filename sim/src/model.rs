//! The model of the kernel: what a write to a sysfs attribute of a host tree does, the one
//! description of kernel behaviour hostdev's tests use (in process in the unit tests,
//! behind the FUSE mount of `hostdev-sim serve` everywhere else). It works on a host tree
//! on disk in the fixture layout (fixtures/mkfixture.py): a write changes the tree as the
//! kernel would change sysfs, or is refused with the kernel's errno, or blocks as the
//! kernel blocks (an in-use VFIO device). `tests/model/*.yaml` lists the behaviour this
//! model is checked for against the real kernel (`hostdev-sim scenarios`).
//!
//! What it answers (the rest of `sys/` stores the value, as a plain attribute):
//! - mdev `create` (UUID syntax, duplicates, capacity by the vendor's rule) and `remove`
//!   ([`crate::mdev`]);
//! - `driver_override`, `drivers_probe`, a driver's `bind`/`unbind`, `sriov_numvfs`
//!   ([`crate::pci`]);
//! - NVIDIA's vendor-specific VFIO `nvidia/current_vgpu_type` ([`crate::nvidia`]);
//! - processes holding a device open: `proc/<pid>/fd/<n>` links to `/dev/vfio/<group>` or
//!   `/dev/vfio/devices/vfioN` ([`Model::hold`], [`Model::release`]).
//!
//! What the model remembers beyond the tree (the driver each PCI function had first, the
//! capacity of a pool, the VF template of a PF, a GPU's vGPU type table) lives in
//! `<root>/.hostdev-sim/`, which no host has and hostdev never reads.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::tree::Tree;

/// Why a write did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The write fails with this errno (as the kernel's store returns it).
    Errno(i32),
    /// The kernel would block the writer until the named holders let go (removing or
    /// unbinding a VFIO device that is open).
    Blocked(String),
}

impl Refusal {
    /// The errno a caller that cannot wait sees (EBUSY for a blocked write).
    pub fn errno(&self) -> i32 {
        match self {
            Refusal::Errno(e) => *e,
            Refusal::Blocked(_) => libc::EBUSY,
        }
    }
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Refusal {
        Refusal::Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

pub type Outcome = Result<(), Refusal>;

pub(crate) fn errno(e: i32) -> Refusal {
    Refusal::Errno(e)
}

/// Where the model keeps what it remembers (relative to the root).
pub const MEMO: &str = ".hostdev-sim";

/// The model over the host tree at `root`.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) t: Tree,
}

impl Model {
    pub fn new(root: &Path) -> Model {
        Model {
            t: Tree::new(root),
        }
    }

    pub fn root(&self) -> &Path {
        &self.t.root
    }

    /// Whether the sysfs attribute at `path` (inside the root) takes writes at all; a write
    /// to any other attribute fails at open with EACCES, as sysfs does for read-only ones.
    pub fn writable(&self, path: &Path) -> bool {
        let Ok(rel) = self.t.resolve(path) else {
            return false;
        };
        if !rel.starts_with("sys") {
            return true;
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = rel
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.as_str() {
            "create" | "remove" | "driver_override" | "drivers_probe" | "drivers_autoprobe"
            | "bind" | "unbind" | "new_id" | "remove_id" | "sriov_numvfs"
            | "sriov_drivers_autoprobe" | "rescan" | "reset" | "uevent" => true,
            "current_vgpu_type" | "vgpu_params" | "placement_id" => parent == "nvidia",
            _ => parent == "parameters",
        }
    }

    /// Write `value` to the attribute at `path` (absolute inside the root, or relative to
    /// it), as `write(2)` of these bytes to sysfs would.
    pub fn write(&self, path: &Path, value: &[u8]) -> Outcome {
        let rel = self.t.resolve(path)?;
        if !self.t.at(&rel).is_file() {
            return Err(errno(libc::ENOENT));
        }
        if !self.writable(&rel) {
            return Err(errno(libc::EACCES));
        }
        let text = String::from_utf8_lossy(value).into_owned();
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        match name.as_str() {
            "create" if dir.parent().is_some_and(|p| p.ends_with("mdev_supported_types")) => {
                self.mdev_create(&dir, value)
            }
            "remove" if self.t.exists(&dir.join("mdev_type")) => self.mdev_remove(&dir, &text),
            "driver_override" => self.set_override(&dir, &text),
            "drivers_probe" if rel == Path::new("sys/bus/pci/drivers_probe") => {
                self.probe(text.trim())
            }
            "unbind" if dir.parent() == Some(Path::new("sys/bus/pci/drivers")) => {
                self.unbind(&dir, text.trim())
            }
            "bind" if dir.parent() == Some(Path::new("sys/bus/pci/drivers")) => {
                self.bind(&dir, text.trim())
            }
            "sriov_numvfs" => self.sriov_numvfs(&dir, &text),
            "current_vgpu_type" if dir.ends_with("nvidia") => {
                self.set_vgpu_type(dir.parent().unwrap_or(Path::new("")), &text)
            }
            "remove" | "rescan" | "reset" | "uevent" | "new_id" | "remove_id" => Ok(()),
            _ => Ok(self.t.put(&rel, &store(&text))?),
        }
    }

    /// The processes holding the device at `dev` (its directory, relative) open: through
    /// its IOMMU group's `/dev/vfio/<group>` or its `vfio-dev/vfioN` cdev. "pid N (comm)",
    /// empty when free.
    pub fn holders(&self, dev: &Path) -> Vec<String> {
        let mut wanted = Vec::new();
        if let Some(g) = self.t.link_name(&dev.join("iommu_group")) {
            wanted.push(format!("/dev/vfio/{g}"));
        }
        for n in self.t.names(&dev.join("vfio-dev")) {
            wanted.push(format!("/dev/vfio/devices/{n}"));
        }
        if wanted.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for pid in self.t.names(Path::new("proc")) {
            if pid.parse::<u32>().is_err() {
                continue;
            }
            let fd = PathBuf::from("proc").join(&pid).join("fd");
            let held = self.t.names(&fd).iter().any(|n| {
                fs::read_link(self.t.at(&fd.join(n)))
                    .map(|t| wanted.iter().any(|w| t == Path::new(w)))
                    .unwrap_or(false)
            });
            if held {
                let comm = self
                    .t
                    .read(&PathBuf::from("proc").join(&pid).join("comm"))
                    .unwrap_or_default();
                out.push(format!("pid {pid} ({comm})"));
            }
        }
        out
    }

    /// Refuse (block) while anything holds `dev` open.
    pub(crate) fn unheld(&self, dev: &Path) -> Outcome {
        let h = self.holders(dev);
        if h.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Blocked(h.join(", ")))
        }
    }

    /// A simulated process (a VM) that holds `device` open: a PCI address or an mdev UUID.
    /// Its fds name the device's `/dev/vfio/<group>` and, when it has one, its cdev.
    /// Returns the pid.
    pub fn hold(&self, device: &str) -> io::Result<u32> {
        let dev = self.device_dir(device).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no PCI device or mdev {device:?} on this host"),
            )
        })?;
        let group = self.t.link_name(&dev.join("iommu_group")).ok_or_else(|| {
            io::Error::other(format!("{device} has no IOMMU group to hold open"))
        })?;
        let taken = self.t.names(Path::new("proc"));
        let pid = (50000u32..)
            .find(|p| !taken.contains(&p.to_string()))
            .unwrap_or(50000);
        let p = PathBuf::from("proc").join(pid.to_string());
        self.t.put(&p.join("comm"), "qemu-system-x86\n")?;
        self.t.put(
            &p.join("cmdline"),
            &format!("qemu-system-x86_64\0-device\0vfio-pci,host={device}\0"),
        )?;
        fs::create_dir_all(self.t.at(&p.join("fd")))?;
        self.t
            .raw_link(&p.join("fd/0"), "/dev/null")?;
        self.t
            .raw_link(&p.join("fd/20"), &format!("/dev/vfio/{group}"))?;
        if let Some(n) = self.t.names(&dev.join("vfio-dev")).first() {
            self.t
                .raw_link(&p.join("fd/21"), &format!("/dev/vfio/devices/{n}"))?;
        }
        Ok(pid)
    }

    /// The simulated process `pid` lets go (exits).
    pub fn release(&self, pid: u32) -> io::Result<()> {
        let p = PathBuf::from("proc").join(pid.to_string());
        if !self.t.exists(&p) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no process {pid} on this host"),
            ));
        }
        self.t.remove(&p)
    }

    /// The directory of a PCI function (by address) or an mdev (by UUID), relative.
    pub fn device_dir(&self, device: &str) -> Option<PathBuf> {
        if device.contains('/') || device.starts_with('.') {
            return None;
        }
        for base in ["sys/bus/pci/devices", "sys/bus/mdev/devices"] {
            let p = Path::new(base).join(device);
            if self.t.exists(&p) {
                return self.t.resolve(&p).ok();
            }
        }
        None
    }

    /// A line of the model's memory (`<root>/.hostdev-sim/<file>`: `key value` lines).
    pub(crate) fn memo_get(&self, file: &str, key: &str) -> Option<String> {
        let text = self.t.read(&Path::new(MEMO).join(file))?;
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.to_string())
        })
    }

    pub(crate) fn memo_set(&self, file: &str, key: &str, value: &str) -> io::Result<()> {
        let rel = Path::new(MEMO).join(file);
        let text = self.t.read(&rel).unwrap_or_default();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.split_once(' ').map(|(k, _)| k) != Some(key) && !l.is_empty())
            .map(str::to_string)
            .collect();
        lines.push(format!("{key} {value}"));
        self.t.put(&rel, &(lines.join("\n") + "\n"))
    }

    /// The next free number among the names in `dir` (IOMMU groups, vfio cdevs: `prefix`N).
    pub(crate) fn next_free(&self, dir: &str, prefix: &str) -> u32 {
        self.t
            .names(Path::new(dir))
            .iter()
            .filter_map(|n| n.strip_prefix(prefix)?.parse::<u32>().ok())
            .max()
            .map_or(0, |m| m + 1)
    }
}

/// What a plain attribute reads after `value` was stored: the value with one newline.
fn store(value: &str) -> String {
    format!("{}\n", value.trim_end_matches('\n'))
}
