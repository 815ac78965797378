//! The one door to the host: the root (`--root`, `/` in production), the named paths under
//! it, and opening a file under it. Every read, listing, readlink and write goes through
//! [`Root`]: bounded reads in [`read`], listings and [`dir::AttrDir`] in [`dir`], writes
//! and hostdev's own files in `write.rs`; the file-type rule ([`not_regular`]) is here.
//!
//! Every path is resolved *inside* the root, as a chroot would resolve it: the root is held
//! open as a directory descriptor and every file is opened with
//! `openat2(rootfd, relative, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so an absolute
//! symlink or one climbing with `..` stays under the root, and `/proc/*/fd` links are never
//! followed (only read with `readlinkat`). With `--root /` this is plain path resolution.
//! Reads are bounded (a sysfs attribute is at most a page, other text files at most
//! [`TEXT_MAX`]), non-blocking, and check the file type whenever the first read does not
//! settle it, so a FIFO or a device never blocks or floods a read. Writes never create
//! files: a misspelled attribute is reported as missing, not silently created. See
//! docs/security.md.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

pub(crate) mod dir;
pub(crate) mod read;
mod write;

/// Relative locations under the root (the literal "sys" paths live here only).
pub(crate) const MDEV_BUS_CLASS: &str = "sys/class/mdev_bus";
pub(crate) const MDEV_DEVICES: &str = "sys/bus/mdev/devices";
pub(crate) const PCI_DEVICES: &str = "sys/bus/pci/devices";
pub(crate) const PCI_DRIVERS: &str = "sys/bus/pci/drivers";
pub(crate) const IOMMU_GROUPS: &str = "sys/kernel/iommu_groups";
pub(crate) const CLASS_IOMMU: &str = "sys/class/iommu";
pub(crate) const PCI_DRIVERS_PROBE: &str = "sys/bus/pci/drivers_probe";
pub(crate) const CLASS_GRAPHICS: &str = "sys/class/graphics";
pub(crate) const SYS_BLOCK: &str = "sys/block";
pub(crate) const PROC: &str = "proc";
/// hostdev's own files.
pub(crate) const LOCK_FILE: &str = "run/hostdev/lock";
pub(crate) const STATE_FILE: &str = "run/hostdev/state.json";
pub(crate) const AUDIT_LOG: &str = "var/log/hostdev/audit.jsonl";
pub(crate) const DEFAULT_CONFIG: &str = "etc/hostdev/config.yaml";
/// mdevctl's persistent definitions (`<parent>/<uuid>`, JSON), read by `init --from-mdevctl`.
pub(crate) const MDEVCTL_DIR: &str = "etc/mdevctl.d";

/// A sysfs attribute is at most a page; one more byte tells an oversized file apart.
pub(crate) const PAGE: usize = 4096;
/// Any other text file read from the host (`/proc/cpuinfo`, `/proc/mounts`, `etc/*`).
pub(crate) const TEXT_MAX: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Root {
    root: PathBuf,
    /// The root, open as `O_PATH | O_DIRECTORY`; `Err` holds why it could not be opened.
    fd: Arc<Result<OwnedFd, Errno>>,
}

const RESOLVE: ResolveFlag = ResolveFlag::RESOLVE_IN_ROOT.union(ResolveFlag::RESOLVE_NO_MAGICLINKS);

/// One component of hostdev's own directory, no symlink followed.
const NO_LINKS: ResolveFlag = ResolveFlag::RESOLVE_BENEATH.union(ResolveFlag::RESOLVE_NO_SYMLINKS);

fn how(flags: OFlag, mode: Mode, resolve: ResolveFlag) -> OpenHow {
    // openat2 rejects any flag but O_CLOEXEC/O_DIRECTORY/O_NOFOLLOW next to O_PATH
    let extra = if flags.contains(OFlag::O_PATH) {
        OFlag::O_CLOEXEC
    } else {
        OFlag::O_CLOEXEC | OFlag::O_NOCTTY
    };
    OpenHow::new()
        .flags(flags | extra)
        .mode(mode)
        .resolve(resolve)
}

/// `openat2`, retried on `EAGAIN` (a concurrent rename; see openat2(2)) and `EINTR`.
fn open2(dirfd: &OwnedFd, rel: &Path, how: OpenHow) -> Result<OwnedFd, Errno> {
    let mut tries = 0;
    loop {
        match openat2(dirfd.as_raw_fd(), rel, how) {
            // SAFETY: openat2 just returned this descriptor and nothing else owns it.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(Errno::EAGAIN | Errno::EINTR) if tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

fn is_not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR)
}

fn annotate(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn errno_at(e: Errno, path: &Path) -> io::Error {
    annotate(io::Error::from(e), path)
}

/// The kind of a non-regular file, for messages.
fn kind_name(mode: SFlag) -> &'static str {
    match mode & SFlag::S_IFMT {
        SFlag::S_IFDIR => "directory",
        SFlag::S_IFIFO => "FIFO",
        SFlag::S_IFCHR => "character device",
        SFlag::S_IFBLK => "block device",
        SFlag::S_IFSOCK => "socket",
        SFlag::S_IFLNK => "symlink",
        _ => "special file",
    }
}

/// The error of a file that is not a regular file (see [`not_regular`]).
#[derive(Debug)]
pub(crate) struct NotRegular {
    /// `FIFO`, `directory`, `character device`, ...
    pub(crate) kind: &'static str,
}

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {}, not a regular file", self.kind)
    }
}

impl std::error::Error for NotRegular {}

/// The kind of file, when `e` says it is not a regular file.
pub(crate) fn not_regular(e: &io::Error) -> Option<&'static str> {
    e.get_ref()
        .and_then(|r| r.downcast_ref::<NotRegular>())
        .map(|n| n.kind)
}

/// Refuse anything but a regular file (a FIFO would block, a device flood); the error
/// does not name the path (callers do).
fn check_regular(fd: impl AsFd) -> io::Result<()> {
    let st = fstat(fd.as_fd().as_raw_fd()).map_err(io::Error::from)?;
    let mode = SFlag::from_bits_truncate(st.st_mode);
    if mode & SFlag::S_IFMT == SFlag::S_IFREG {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            NotRegular {
                kind: kind_name(mode),
            },
        ))
    }
}

impl Root {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let fd = nix::fcntl::open(
            &root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        // SAFETY: open just returned this descriptor and nothing else owns it.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
        Root {
            root,
            fd: Arc::new(fd),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// True when the root is the real `/` (privilege checks apply).
    pub(crate) fn is_real_root(&self) -> bool {
        self.root
            .canonicalize()
            .map(|p| p == Path::new("/"))
            .unwrap_or(false)
    }

    /// `<root>/<rel>`; `rel` is relative (a leading `/` is ignored).
    pub(crate) fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        let rel = rel.strip_prefix("/").unwrap_or(rel);
        self.root.join(rel)
    }

    /// The path as the host sees it (`/sys/...`), for messages and audit records.
    pub(crate) fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => path.display().to_string(),
        }
    }

    // ---- named paths: the only place a path under the root is spelled ---------------

    /// `sys/class/mdev_bus`: one entry per mdev parent.
    pub(crate) fn mdev_parents(&self) -> PathBuf {
        self.path(MDEV_BUS_CLASS)
    }

    /// One mdev parent (a link to its device directory).
    pub(crate) fn mdev_parent(&self, parent: &str) -> PathBuf {
        self.mdev_parents().join(parent)
    }

    /// `sys/class/mdev_bus/<parent>/mdev_supported_types`.
    pub(crate) fn mdev_types(&self, parent: &str) -> PathBuf {
        self.mdev_parent(parent).join("mdev_supported_types")
    }

    /// One type directory of a parent.
    pub(crate) fn mdev_type(&self, parent: &str, type_id: &str) -> PathBuf {
        self.mdev_types(parent).join(type_id)
    }

    /// The `create` file of a parent's type.
    pub(crate) fn mdev_create(&self, parent: &str, type_id: &str) -> PathBuf {
        self.mdev_type(parent, type_id).join("create")
    }

    /// `sys/bus/mdev/devices`: one link per mdev.
    pub(crate) fn mdevs(&self) -> PathBuf {
        self.path(MDEV_DEVICES)
    }

    /// One mdev's directory (a link to it).
    pub(crate) fn mdev(&self, uuid: &str) -> PathBuf {
        self.mdevs().join(uuid)
    }

    /// The `remove` file of an mdev.
    pub(crate) fn mdev_remove(&self, uuid: &str) -> PathBuf {
        self.mdev(uuid).join("remove")
    }

    /// `sys/bus/pci/devices`.
    pub(crate) fn pci_devices(&self) -> PathBuf {
        self.path(PCI_DEVICES)
    }

    /// One PCI device's directory.
    pub(crate) fn pci_device(&self, address: &str) -> PathBuf {
        self.pci_devices().join(address)
    }

    /// The `nvidia` directory of an NVIDIA vendor-VFIO virtual function.
    pub(crate) fn vgpu_dir(&self, vf: &str) -> PathBuf {
        self.pci_device(vf).join("nvidia")
    }

    /// `nvidia/<attr>` of an NVIDIA vendor-VFIO virtual function.
    pub(crate) fn vgpu_attr(&self, vf: &str, attr: &str) -> PathBuf {
        self.vgpu_dir(vf).join(attr)
    }

    /// `sys/bus/pci/drivers`.
    pub(crate) fn pci_drivers(&self) -> PathBuf {
        self.path(PCI_DRIVERS)
    }

    /// One PCI driver's directory.
    pub(crate) fn pci_driver(&self, name: &str) -> PathBuf {
        self.pci_drivers().join(name)
    }

    /// `sys/bus/pci/drivers_probe`.
    pub(crate) fn drivers_probe(&self) -> PathBuf {
        self.path(PCI_DRIVERS_PROBE)
    }

    /// `sys/kernel/iommu_groups`.
    pub(crate) fn iommu_groups(&self) -> PathBuf {
        self.path(IOMMU_GROUPS)
    }

    /// `sys/class/iommu`.
    pub(crate) fn iommu_units(&self) -> PathBuf {
        self.path(CLASS_IOMMU)
    }

    /// `sys/class/graphics/<fb>`.
    pub(crate) fn framebuffer(&self, fb: &str) -> PathBuf {
        self.path(CLASS_GRAPHICS).join(fb)
    }

    /// `sys/block/<dev>`.
    pub(crate) fn block_device(&self, dev: &str) -> PathBuf {
        self.path(SYS_BLOCK).join(dev)
    }

    /// `proc`.
    pub(crate) fn proc_dir(&self) -> PathBuf {
        self.path(PROC)
    }

    /// `proc/<rel>` (`mounts`, `net/route`, `<pid>/comm`, ...).
    pub(crate) fn proc_file(&self, rel: &str) -> PathBuf {
        self.proc_dir().join(rel)
    }

    /// hostdev's run lock.
    pub(crate) fn lock_file(&self) -> PathBuf {
        self.path(LOCK_FILE)
    }

    /// hostdev's state file.
    pub(crate) fn state_file(&self) -> PathBuf {
        self.path(STATE_FILE)
    }

    /// hostdev's audit log.
    pub(crate) fn audit_log(&self) -> PathBuf {
        self.path(AUDIT_LOG)
    }

    /// The default configuration.
    pub(crate) fn default_config(&self) -> PathBuf {
        self.path(DEFAULT_CONFIG)
    }

    /// mdevctl's persistent definitions, `etc/mdevctl.d`.
    pub(crate) fn mdevctl_dir(&self) -> PathBuf {
        self.path(MDEVCTL_DIR)
    }

    /// One mdevctl definition, `etc/mdevctl.d/<parent>/<uuid>`.
    pub(crate) fn mdevctl_definition(&self, parent: &str, uuid: &str) -> PathBuf {
        self.mdevctl_dir().join(parent).join(uuid)
    }

    /// A device node the inventory names (`/dev/vfio/12`, `/dev/vfio/devices/vfio0`).
    pub(crate) fn device_node(&self, node: &str) -> PathBuf {
        self.path(node.trim_start_matches('/'))
    }

    /// Where the host's name is read, in order: the kernel's, then `/etc/hostname`.
    pub(crate) fn hostname_files(&self) -> [PathBuf; 2] {
        [
            self.proc_file("sys/kernel/hostname"),
            self.path("etc/hostname"),
        ]
    }

    fn log(&self, what: &str, path: &Path) {
        log::trace!("{what} {}", path.display());
    }

    fn rootfd(&self) -> io::Result<&OwnedFd> {
        self.fd.as_ref().as_ref().map_err(|e| {
            io::Error::new(
                io::Error::from(*e).kind(),
                format!("--root {}: {e}", self.root.display()),
            )
        })
    }

    /// The part of `path` below the root (`.` for the root itself). A path that is not
    /// spelled under the root is refused: nothing outside the root is ever opened.
    fn rel<'a>(&self, path: &'a Path) -> io::Result<&'a Path> {
        match path.strip_prefix(&self.root) {
            Ok(r) if r.as_os_str().is_empty() => Ok(Path::new(".")),
            Ok(r) => Ok(r),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{}: not under --root {}; refusing to open it",
                    path.display(),
                    self.root.display()
                ),
            )),
        }
    }

    /// Open `path` (spelled under the root) resolved inside the root; errors name the path.
    pub(crate) fn open(&self, path: &Path, flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
        self.open_raw(path, flags, mode)
            .map_err(|e| annotate(e, path))
    }

    /// As [`Root::open`], the error without the path (for callers that name it).
    fn open_raw(&self, path: &Path, flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
        let rel = self.rel(path)?;
        Ok(open2(self.rootfd()?, rel, how(flags, mode, RESOLVE))?)
    }

    /// Open for reading without blocking (a FIFO opens at once and is then refused).
    fn open_read(&self, path: &Path) -> io::Result<OwnedFd> {
        self.open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty())
    }

    /// Whether something (a file, directory or symlink, even dangling) is at `path`.
    pub(crate) fn exists(&self, path: &Path) -> bool {
        self.open(path, OFlag::O_PATH | OFlag::O_NOFOLLOW, Mode::empty())
            .is_ok()
    }

    /// The path `path` resolves to inside the root, as the host sees it (`/sys/devices/…`);
    /// `None` if it does not resolve.
    pub(crate) fn resolve(&self, path: &Path) -> Option<PathBuf> {
        let fd = self.open(path, OFlag::O_PATH, Mode::empty()).ok()?;
        let real = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let base = self.root.canonicalize().ok()?;
        let rel = real.strip_prefix(&base).ok()?;
        Some(Path::new("/").join(rel))
    }
}

/// The last normal component of a path, as a string.
pub(crate) fn last_component(p: &Path) -> Option<String> {
    p.components().rev().find_map(|c| match c {
        Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
        _ => None,
    })
}

/// The second-to-last normal component (the parent device of an mdev link target).
pub(crate) fn parent_component(p: &Path) -> Option<String> {
    let mut it = p.components().rev().filter_map(|c| match c {
        Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
        _ => None,
    });
    it.next()?;
    it.next()
}

#[cfg(test)]
mod tests;
