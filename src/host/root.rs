//! The one door to the host: the root (`--root`, `/` in production), the named paths under
//! it, and every open, read, listing, readlink and write of a file under it.
//!
//! Every path is resolved *inside* the root, as a chroot would resolve it: the root is held
//! open as a directory descriptor and every file is opened with
//! `openat2(rootfd, relative, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so an absolute
//! symlink or one climbing with `..` stays under the root, and `/proc/*/fd` links are never
//! followed (only read with `readlinkat`). With `--root /` this is plain path resolution.
//! Reads are bounded (a sysfs attribute is at most a page, other text files at most
//! [`TEXT_MAX`]), non-blocking, and check the file type whenever the first read does not
//! settle it, so a FIFO or a device never blocks or floods a read. Writes never create files: a misspelled attribute is reported as
//! missing, not silently created. See docs/security.md.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{openat2, readlinkat, renameat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};

use crate::error::TooLarge;

/// Relative locations under the root (the literal "sys" paths live here only).
pub const MDEV_BUS_CLASS: &str = "sys/class/mdev_bus";
pub const MDEV_DEVICES: &str = "sys/bus/mdev/devices";
pub const PCI_DEVICES: &str = "sys/bus/pci/devices";
pub const PCI_DRIVERS: &str = "sys/bus/pci/drivers";
pub const IOMMU_GROUPS: &str = "sys/kernel/iommu_groups";
pub const CLASS_IOMMU: &str = "sys/class/iommu";
pub const PCI_DRIVERS_PROBE: &str = "sys/bus/pci/drivers_probe";
pub const CLASS_GRAPHICS: &str = "sys/class/graphics";
pub const SYS_BLOCK: &str = "sys/block";
pub const PROC: &str = "proc";
/// hostdev's own files.
pub const LOCK_FILE: &str = "run/hostdev/lock";
pub const STATE_FILE: &str = "run/hostdev/state.json";
pub const AUDIT_LOG: &str = "var/log/hostdev/audit.jsonl";
pub const DEFAULT_CONFIG: &str = "etc/hostdev/config.yaml";
/// mdevctl's persistent definitions (`<parent>/<uuid>`, JSON), read by `init --from-mdevctl`.
pub const MDEVCTL_DIR: &str = "etc/mdevctl.d";

/// A sysfs attribute is at most a page; one more byte tells an oversized file apart.
pub const PAGE: usize = 4096;
/// Any other text file read from the host (`/proc/cpuinfo`, `/proc/mounts`, `etc/*`).
pub const TEXT_MAX: usize = 1 << 20;

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
pub struct NotRegular {
    /// `FIFO`, `directory`, `character device`, ...
    pub kind: &'static str,
}

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {}, not a regular file", self.kind)
    }
}

impl std::error::Error for NotRegular {}

/// The kind of file, when `e` says it is not a regular file.
pub fn not_regular(e: &io::Error) -> Option<&'static str> {
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

/// Read at most `limit` bytes of an open regular file; a larger file is an error naming
/// the path and the limit, never echoing the content.
pub fn read_bounded(fd: OwnedFd, path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let mut file = File::from(fd);
    // The file type is checked only when the first read does not settle it: a short read
    // with data is what a regular file (and every sysfs attribute) gives, and nothing
    // blocks (the file is open O_NONBLOCK). Nothing, a full page, or an error (EISDIR,
    // EAGAIN) is checked, so a FIFO, a directory or a device is refused by its kind.
    let mut checked = false;
    // Plain reads, no stat or seek: a regular file (and a sysfs attribute, which arrives
    // in one read) is at its end after a short read, so most attributes take one read,
    // into a page on the stack.
    let mut page = [0u8; PAGE + 1];
    let mut buf: Vec<u8> = Vec::new();
    let mut len = 0;
    loop {
        let target: &mut [u8] = if buf.is_empty() {
            &mut page[len..]
        } else {
            &mut buf[len..]
        };
        let want = target.len();
        let got = file.read(target);
        let settled = matches!(got, Ok(n) if n > 0 && n < want);
        let interrupted = matches!(&got, Err(e) if e.kind() == io::ErrorKind::Interrupted);
        if !checked && !settled && !interrupted {
            check_regular(file.as_fd()).map_err(|e| annotate(e, path))?;
            checked = true;
        }
        match got {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if n < want {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(annotate(e, path)),
        }
        // full: more than a page, or more than the limit
        if len > limit {
            break;
        }
        if buf.is_empty() {
            buf.extend_from_slice(&page[..len]);
        }
        let grown = (buf.len() * 2).min(limit + 1);
        if grown <= buf.len() {
            break;
        }
        buf.resize(grown, 0);
    }
    let mut buf = if buf.is_empty() {
        page[..len].to_vec()
    } else {
        buf
    };
    buf.truncate(len);
    if buf.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: {}; not what hostdev expects there (malformed host; its content is not shown)",
                path.display(),
                TooLarge { limit }
            ),
        ));
    }
    Ok(buf)
}

/// Read a user-named file (`-f FILE`, a saved plan; `-` is stdin): a regular file of at most
/// `limit` bytes, opened without blocking on a FIFO. Errors do not name the path (the
/// caller does); an oversized input is a [`TooLarge`] error.
pub fn read_user_file(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut buf)?;
        if buf.len() > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TooLarge { limit },
            ));
        }
        return Ok(buf);
    }
    let fd = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
        Mode::empty(),
    )?;
    // SAFETY: open just returned this descriptor and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    check_regular(&fd)?;
    read_to_limit(File::from(fd), limit)
}

/// Read at most `limit` bytes; more is a [`TooLarge`] error.
fn read_to_limit(mut file: File, limit: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    (&mut file).take(limit as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            TooLarge { limit },
        ));
    }
    Ok(buf)
}

fn text(buf: Vec<u8>, path: &Path) -> io::Result<String> {
    let s = String::from_utf8(buf)
        .map_err(|e| annotate(io::Error::new(io::ErrorKind::InvalidData, e), path))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
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

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when the root is the real `/` (privilege checks apply).
    pub fn is_real_root(&self) -> bool {
        self.root
            .canonicalize()
            .map(|p| p == Path::new("/"))
            .unwrap_or(false)
    }

    /// `<root>/<rel>`; `rel` is relative (a leading `/` is ignored).
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        let rel = rel.strip_prefix("/").unwrap_or(rel);
        self.root.join(rel)
    }

    /// The path as the host sees it (`/sys/...`), for messages and audit records.
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => path.display().to_string(),
        }
    }

    // ---- named paths: the only place a path under the root is spelled ---------------

    /// `sys/class/mdev_bus`: one entry per mdev parent.
    pub fn mdev_parents(&self) -> PathBuf {
        self.path(MDEV_BUS_CLASS)
    }

    /// One mdev parent (a link to its device directory).
    pub fn mdev_parent(&self, parent: &str) -> PathBuf {
        self.mdev_parents().join(parent)
    }

    /// `sys/class/mdev_bus/<parent>/mdev_supported_types`.
    pub fn mdev_types(&self, parent: &str) -> PathBuf {
        self.mdev_parent(parent).join("mdev_supported_types")
    }

    /// One type directory of a parent.
    pub fn mdev_type(&self, parent: &str, type_id: &str) -> PathBuf {
        self.mdev_types(parent).join(type_id)
    }

    /// The `create` file of a parent's type.
    pub fn mdev_create(&self, parent: &str, type_id: &str) -> PathBuf {
        self.mdev_type(parent, type_id).join("create")
    }

    /// `sys/bus/mdev/devices`: one link per mdev.
    pub fn mdevs(&self) -> PathBuf {
        self.path(MDEV_DEVICES)
    }

    /// One mdev's directory (a link to it).
    pub fn mdev(&self, uuid: &str) -> PathBuf {
        self.mdevs().join(uuid)
    }

    /// The `remove` file of an mdev.
    pub fn mdev_remove(&self, uuid: &str) -> PathBuf {
        self.mdev(uuid).join("remove")
    }

    /// `sys/bus/pci/devices`.
    pub fn pci_devices(&self) -> PathBuf {
        self.path(PCI_DEVICES)
    }

    /// One PCI device's directory.
    pub fn pci_device(&self, address: &str) -> PathBuf {
        self.pci_devices().join(address)
    }

    /// The `nvidia` directory of an NVIDIA vendor-VFIO virtual function.
    pub fn vgpu_dir(&self, vf: &str) -> PathBuf {
        self.pci_device(vf).join("nvidia")
    }

    /// `nvidia/<attr>` of an NVIDIA vendor-VFIO virtual function.
    pub fn vgpu_attr(&self, vf: &str, attr: &str) -> PathBuf {
        self.vgpu_dir(vf).join(attr)
    }

    /// `sys/bus/pci/drivers`.
    pub fn pci_drivers(&self) -> PathBuf {
        self.path(PCI_DRIVERS)
    }

    /// One PCI driver's directory.
    pub fn pci_driver(&self, name: &str) -> PathBuf {
        self.pci_drivers().join(name)
    }

    /// `sys/bus/pci/drivers_probe`.
    pub fn drivers_probe(&self) -> PathBuf {
        self.path(PCI_DRIVERS_PROBE)
    }

    /// `sys/kernel/iommu_groups`.
    pub fn iommu_groups(&self) -> PathBuf {
        self.path(IOMMU_GROUPS)
    }

    /// `sys/class/iommu`.
    pub fn iommu_units(&self) -> PathBuf {
        self.path(CLASS_IOMMU)
    }

    /// `sys/class/graphics/<fb>`.
    pub fn framebuffer(&self, fb: &str) -> PathBuf {
        self.path(CLASS_GRAPHICS).join(fb)
    }

    /// `sys/block/<dev>`.
    pub fn block_device(&self, dev: &str) -> PathBuf {
        self.path(SYS_BLOCK).join(dev)
    }

    /// `proc`.
    pub fn proc_dir(&self) -> PathBuf {
        self.path(PROC)
    }

    /// `proc/<rel>` (`mounts`, `net/route`, `<pid>/comm`, ...).
    pub fn proc_file(&self, rel: &str) -> PathBuf {
        self.proc_dir().join(rel)
    }

    /// hostdev's run lock.
    pub fn lock_file(&self) -> PathBuf {
        self.path(LOCK_FILE)
    }

    /// hostdev's state file.
    pub fn state_file(&self) -> PathBuf {
        self.path(STATE_FILE)
    }

    /// hostdev's audit log.
    pub fn audit_log(&self) -> PathBuf {
        self.path(AUDIT_LOG)
    }

    /// The default configuration.
    pub fn default_config(&self) -> PathBuf {
        self.path(DEFAULT_CONFIG)
    }

    /// mdevctl's persistent definitions, `etc/mdevctl.d`.
    pub fn mdevctl_dir(&self) -> PathBuf {
        self.path(MDEVCTL_DIR)
    }

    /// One mdevctl definition, `etc/mdevctl.d/<parent>/<uuid>`.
    pub fn mdevctl_definition(&self, parent: &str, uuid: &str) -> PathBuf {
        self.mdevctl_dir().join(parent).join(uuid)
    }

    /// A device node the inventory names (`/dev/vfio/12`, `/dev/vfio/devices/vfio0`).
    pub fn device_node(&self, node: &str) -> PathBuf {
        self.path(node.trim_start_matches('/'))
    }

    /// Where the host's name is read, in order: the kernel's, then `/etc/hostname`.
    pub fn hostname_files(&self) -> [PathBuf; 2] {
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
    pub fn open(&self, path: &Path, flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
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

    /// Read a file with an explicit size limit, trailing newline(s) removed.
    pub fn read_limited(&self, path: &Path, limit: usize) -> io::Result<String> {
        self.log("read", path);
        let fd = self.open_read(path)?;
        text(read_bounded(fd, path, limit)?, path)
    }

    /// The size limit for a file: a page under `sys/`, [`TEXT_MAX`] elsewhere.
    fn limit_for(&self, path: &Path) -> usize {
        match self.rel(path) {
            Ok(r) if r.starts_with("sys") => PAGE,
            _ => TEXT_MAX,
        }
    }

    /// Read an attribute, trailing newline(s) removed. Errors name the path.
    pub fn read(&self, path: &Path) -> io::Result<String> {
        self.read_limited(path, self.limit_for(path))
    }

    /// Read an optional attribute: a missing file is `None`, any other error is returned.
    pub fn read_opt(&self, path: &Path) -> io::Result<Option<String>> {
        match self.read(path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The raw target of a symlink; `None` if it does not exist or is not a symlink. The
    /// directory holding it is resolved inside the root; the link itself is not followed.
    pub fn read_link(&self, path: &Path) -> io::Result<Option<PathBuf>> {
        self.log("readlink", path);
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(None);
        };
        let dirfd = match self.open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        match readlinkat(Some(dirfd.as_raw_fd()), name) {
            Ok(t) => Ok(Some(PathBuf::from(t))),
            Err(Errno::ENOENT | Errno::EINVAL | Errno::ENOTDIR) => Ok(None),
            Err(e) => Err(errno_at(e, path)),
        }
    }

    /// The last component of a symlink's target (a driver name, a group number, a type ID).
    pub fn link_name(&self, path: &Path) -> io::Result<Option<String>> {
        Ok(self.read_link(path)?.and_then(|t| last_component(&t)))
    }

    /// The names in a directory, sorted byte-wise, dot-files skipped; a missing directory
    /// is empty. A name that is not UTF-8 is skipped with a warning.
    pub fn list(&self, path: &Path) -> io::Result<Vec<String>> {
        self.log("list", path);
        let fd = match self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        list_fd(fd, path, &self.display(path))
    }

    /// The names of the real subdirectories (not symlinks to directories) of a directory,
    /// sorted; a missing directory is empty.
    pub fn subdirs(&self, path: &Path) -> io::Result<Vec<String>> {
        self.log("list", path);
        let fd = match self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let dirfd = fd.try_clone().map_err(|e| annotate(e, path))?;
        let names = list_fd(fd, path, &self.display(path))?;
        Ok(names
            .into_iter()
            .filter(|n| {
                nix::sys::stat::fstatat(
                    Some(dirfd.as_raw_fd()),
                    n.as_str(),
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .is_ok_and(|st| {
                    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
                })
            })
            .collect())
    }

    /// The targets of the symlinks in a directory (`/proc/PID/fd`), read with `readlinkat`
    /// from one descriptor of the directory: the links are read, never followed.
    /// Entries that are not symlinks (or vanish meanwhile) are left out.
    pub fn read_links(&self, path: &Path) -> io::Result<Vec<(String, PathBuf)>> {
        self.log("readlinks", path);
        let fd = self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        let dirfd = fd.try_clone().map_err(|e| annotate(e, path))?;
        let mut out = Vec::new();
        for name in list_fd(fd, path, &self.display(path))? {
            if let Ok(t) = readlinkat(Some(dirfd.as_raw_fd()), name.as_str()) {
                out.push((name, PathBuf::from(t)));
            }
        }
        Ok(out)
    }

    /// The entries of a directory with their kinds (see [`Root::list`]).
    pub fn entries(&self, path: &Path) -> io::Result<Vec<(String, EntryKind)>> {
        self.log("list", path);
        let fd = match self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        read_entries(fd.as_fd(), path, &self.display(path))
    }

    /// The names of a directory's entries that may be directories; any other entry (a
    /// stray file where the kernel puts only directories or links to them) is skipped
    /// with a warning naming it.
    pub fn list_dirs(&self, path: &Path) -> io::Result<Vec<String>> {
        Ok(self
            .entries(path)?
            .into_iter()
            .filter_map(|(name, kind)| {
                if kind.may_be_dir() {
                    Some(name)
                } else {
                    log::warn!(
                        "skipping {}: not a directory",
                        self.display(&path.join(&name))
                    );
                    None
                }
            })
            .collect())
    }

    /// Open a directory to read several of its attributes, links and entries cheaply
    /// (one path walk).
    pub fn dir(&self, path: &Path) -> io::Result<AttrDir<'_>> {
        let fd = self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        Ok(AttrDir {
            fs: self,
            fd,
            path: path.to_path_buf(),
            listed: AtomicBool::new(false),
        })
    }

    /// Whether something (a file, directory or symlink, even dangling) is at `path`.
    pub fn exists(&self, path: &Path) -> bool {
        self.open(path, OFlag::O_PATH | OFlag::O_NOFOLLOW, Mode::empty())
            .is_ok()
    }

    /// The path `path` resolves to inside the root, as the host sees it (`/sys/devices/…`);
    /// `None` if it does not resolve.
    pub fn resolve(&self, path: &Path) -> Option<PathBuf> {
        let fd = self.open(path, OFlag::O_PATH, Mode::empty()).ok()?;
        let real = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        let base = self.root.canonicalize().ok()?;
        let rel = real.strip_prefix(&base).ok()?;
        Some(Path::new("/").join(rel))
    }

    /// Write `value` to an existing regular file (an attribute). Never creates a file: a
    /// misspelled attribute is reported as missing, not silently created. A fixture file
    /// (not sysfs) is truncated to the value, as `echo VALUE > attr` would.
    pub fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        self.log("write", path);
        let fd = self.open_raw(path, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty())?;
        check_regular(&fd)?;
        let mut f = File::from(fd);
        f.write_all(value.as_bytes())?;
        f.flush()?;
        if !on_sysfs(&f) {
            f.set_len(value.len() as u64)?;
        }
        Ok(())
    }

    /// Create the directory `path` and its missing parents, each resolved inside the root
    /// (mode 0755). An existing non-directory is an error.
    pub fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let rel = self.rel(path)?.to_path_buf();
        let root = self.rootfd()?;
        let mut done = PathBuf::new();
        for comp in rel.components() {
            let Component::Normal(name) = comp else {
                done.push(comp);
                continue;
            };
            let parent = if done.as_os_str().is_empty() {
                Path::new(".")
            } else {
                done.as_path()
            };
            let pfd = open2(
                root,
                parent,
                how(OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty(), RESOLVE),
            )
            .map_err(|e| errno_at(e, &self.root.join(parent)))?;
            match mkdirat(Some(pfd.as_raw_fd()), name, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(errno_at(e, &self.root.join(&done).join(name))),
            }
            done.push(name);
        }
        // the result must be a directory, resolved inside the root
        self.open(path, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
            .map(drop)
    }

    /// hostdev's own directory `dir` (`run/hostdev`, `var/log/hostdev`), opened without
    /// following a symlink: the system directory above it (`run`, `var/log`) is resolved
    /// inside the root as any path is (and created, 0755, when `create`), but hostdev's own
    /// component must be a real directory (created, 0755, when `create` and missing). A
    /// symlink there is refused naming it: a link would put the lock, the state file or
    /// the audit log wherever it points. `None`: missing and not `create`.
    fn own_dir(&self, dir: &Path, create: bool) -> io::Result<Option<OwnedFd>> {
        let (Some(sys), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: no parent directory", self.display(dir)),
            ));
        };
        if create {
            self.create_dir_all(sys)?;
        }
        let sysfd = match self.open(sys, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) if !create && is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        if create {
            match mkdirat(
                Some(sysfd.as_raw_fd()),
                name,
                Mode::from_bits_truncate(0o755),
            ) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(errno_at(e, dir)),
            }
        }
        match open2(
            &sysfd,
            Path::new(name),
            // RESOLVE_NO_SYMLINKS: a symlink is ELOOP (O_NOFOLLOW would make it ENOTDIR)
            how(
                OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                Mode::empty(),
                NO_LINKS,
            ),
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::ENOENT) if !create => Ok(None),
            Err(e) => Err(self.own_error(e, dir, "directory")),
        }
    }

    /// The error of opening one of hostdev's own files or directories: a symlink (`ELOOP`
    /// under `O_NOFOLLOW`) is named as such, with the fix.
    fn own_error(&self, e: Errno, path: &Path, what: &str) -> io::Error {
        let shown = self.display(path);
        match e {
            Errno::ELOOP => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{shown} is a symlink; hostdev never follows a symlink for its own files                      (run lock, state file, audit log): remove the link (a real {what} is                      created in its place) and run again"
                ),
            ),
            Errno::ENOTDIR => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{shown} is not a directory: remove it and run again"),
            ),
            e => io::Error::new(io::Error::from(e).kind(), format!("{shown}: {e}")),
        }
    }

    /// hostdev's own directory and the name of `path` in it, for its own files.
    fn own_parent<'p>(
        &self,
        path: &'p Path,
        create: bool,
    ) -> io::Result<Option<(OwnedFd, &'p OsStr)>> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: no parent directory", self.display(path)),
            ));
        };
        Ok(self.own_dir(dir, create)?.map(|fd| (fd, name)))
    }

    /// Open (creating it with `mode` if missing, and its directory) a regular file for
    /// hostdev's own use (the lock, the audit log). Neither the file nor hostdev's
    /// directory holding it may be a symlink (see [`Root::own_dir`]); a FIFO, a device or
    /// a directory is refused. Errors name the path as the host sees it.
    pub fn open_own(&self, path: &Path, flags: OFlag, mode: u32) -> io::Result<File> {
        let Some((dirfd, name)) = self.own_parent(path, true)? else {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        };
        let fd = open2(
            &dirfd,
            Path::new(name),
            how(
                flags | OFlag::O_CREAT | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW,
                Mode::from_bits_truncate(mode),
                NO_LINKS,
            ),
        )
        .map_err(|e| self.own_error(e, path, "file"))?;
        check_regular(&fd)?;
        // O_NONBLOCK means nothing for a regular file; cleared to be plain
        let fl = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL)?;
        let fl = OFlag::from_bits_truncate(fl) & !OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(fl))?;
        Ok(File::from(fd))
    }

    /// Read one of hostdev's own files (the state file, the lock's pid) as
    /// [`Root::open_own`] opens it (no symlink followed, only a regular file), at most
    /// `limit` bytes (more is a [`TooLarge`] error). `None`: the file or its directory is
    /// missing.
    pub fn read_own_file(&self, path: &Path, limit: usize) -> io::Result<Option<Vec<u8>>> {
        let Some((dirfd, name)) = self.own_parent(path, false)? else {
            return Ok(None);
        };
        let fd = match open2(
            &dirfd,
            Path::new(name),
            how(
                OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW,
                Mode::empty(),
                NO_LINKS,
            ),
        ) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(self.own_error(e, path, "file")),
        };
        check_regular(&fd)?;
        read_to_limit(File::from(fd), limit).map(Some)
    }

    /// Write `data` to one of hostdev's own files (the state file) atomically: a new
    /// temporary file in the same directory (hostdev's own, opened as [`Root::open_own`]
    /// opens it, created if missing), fsync, then `renameat` over the target. A symlink at
    /// `path` is refused naming it (it would be replaced, not followed).
    pub fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
        let Some((dirfd, name)) = self.own_parent(path, true)? else {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        };
        match nix::sys::stat::fstatat(
            Some(dirfd.as_raw_fd()),
            name,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK => {
                return Err(self.own_error(Errno::ELOOP, path, "file"))
            }
            _ => {}
        }
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = Path::new(&tmp_name);
        // hostdev's own directory: a leftover temporary of an earlier run is removed
        let _ = nix::unistd::unlinkat(
            Some(dirfd.as_raw_fd()),
            tmp,
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
        let write = || -> io::Result<()> {
            // one component, O_EXCL | O_NOFOLLOW: cannot leave the directory
            let fd = nix::fcntl::openat(
                Some(dirfd.as_raw_fd()),
                tmp,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(mode),
            )?;
            // SAFETY: openat just returned this descriptor and nothing else owns it.
            let mut f = unsafe { File::from_raw_fd(fd) };
            nix::sys::stat::fchmod(f.as_raw_fd(), Mode::from_bits_truncate(mode))?;
            f.write_all(data)?;
            f.sync_all()?;
            renameat(Some(dirfd.as_raw_fd()), tmp, Some(dirfd.as_raw_fd()), name)?;
            Ok(())
        };
        write().inspect_err(|_| {
            let _ = nix::unistd::unlinkat(
                Some(dirfd.as_raw_fd()),
                tmp,
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            );
        })
    }

    /// Read a regular file hostdev reads but does not write (the default configuration,
    /// `pci.ids`)
    /// resolved inside the root, at most `limit` bytes (more is a [`TooLarge`] error).
    /// Errors do not name the path (the caller does).
    pub fn read_own(&self, path: &Path, limit: usize) -> io::Result<Vec<u8>> {
        let fd = self.open_raw(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty())?;
        check_regular(&fd)?;
        read_to_limit(File::from(fd), limit)
    }
}

/// Whether an open file lives on sysfs (where truncation means nothing).
fn on_sysfs(f: &File) -> bool {
    nix::sys::statfs::fstatfs(f.as_fd())
        .map(|s| s.filesystem_type() == nix::sys::statfs::SYSFS_MAGIC)
        .unwrap_or(false)
}

/// The entries of an open directory, sorted, dot-files skipped, non-UTF-8 names skipped
/// with a warning naming the directory.
fn list_fd(fd: OwnedFd, path: &Path, shown: &str) -> io::Result<Vec<String>> {
    Ok(read_entries(fd.as_fd(), path, shown)?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}

/// What a directory entry is, as the listing tells (`d_type`; `Unknown` when the
/// filesystem does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    Symlink,
    File,
    Other,
    Unknown,
}

impl EntryKind {
    /// Could be a directory (a directory, a symlink to one, or not known).
    pub fn may_be_dir(self) -> bool {
        matches!(
            self,
            EntryKind::Dir | EntryKind::Symlink | EntryKind::Unknown
        )
    }
}

/// The entries of a directory read with `getdents64` from its descriptor's current offset
/// (rustix's `RawDir`: no `fdopendir`, so no stat or flag calls, and no allocation per
/// entry but its name).
fn read_entries(
    fd: BorrowedFd<'_>,
    path: &Path,
    shown: &str,
) -> io::Result<Vec<(String, EntryKind)>> {
    use rustix::fs::{FileType, RawDir};
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut dir = RawDir::new(fd, buf.spare_capacity_mut());
    let mut names = Vec::new();
    while let Some(entry) = dir.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(annotate(e.into(), path)),
        };
        let raw = entry.file_name().to_bytes();
        if raw.first() == Some(&b'.') {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            FileType::RegularFile => EntryKind::File,
            FileType::Unknown => EntryKind::Unknown,
            _ => EntryKind::Other,
        };
        match std::str::from_utf8(raw) {
            Ok(s) => names.push((s.to_string(), kind)),
            Err(_) => log::warn!(
                "skipping an entry of {shown} whose name is not UTF-8: {:?}",
                OsStr::from_bytes(raw)
            ),
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(names)
}

/// The last normal component of a path, as a string.
pub fn last_component(p: &Path) -> Option<String> {
    p.components().rev().find_map(|c| match c {
        Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
        _ => None,
    })
}

/// The second-to-last normal component (the parent device of an mdev link target).
pub fn parent_component(p: &Path) -> Option<String> {
    let mut it = p.components().rev().filter_map(|c| match c {
        Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
        _ => None,
    });
    it.next()?;
    it.next()
}

/// An open directory whose attributes are read relative to it, so that reading thousands
/// of small sysfs files does not walk the same long path thousands of times. A name is
/// resolved beneath the directory (`RESOLVE_BENEATH`); one whose symlinks leave it is
/// resolved again from the root, inside the root.
pub struct AttrDir<'a> {
    fs: &'a Root,
    fd: OwnedFd,
    path: PathBuf,
    /// Whether the descriptor's offset has moved (by a listing).
    listed: AtomicBool,
}

impl AttrDir<'_> {
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_at(&self, name: &str, flags: OFlag) -> io::Result<OwnedFd> {
        let path = self.path.join(name);
        let beneath = ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS;
        match open2(
            &self.fd,
            Path::new(name),
            how(flags, Mode::empty(), beneath),
        ) {
            Ok(fd) => Ok(fd),
            Err(Errno::EXDEV) => self.fs.open(&path, flags, Mode::empty()),
            Err(e) => Err(errno_at(e, &path)),
        }
    }

    fn open_read(&self, name: &str) -> io::Result<OwnedFd> {
        self.open_at(name, OFlag::O_RDONLY | OFlag::O_NONBLOCK)
    }

    /// The entries of the directory itself (see [`Root::entries`]).
    pub fn entries(&self) -> io::Result<Vec<(String, EntryKind)>> {
        self.fs.log("list", &self.path);
        // rewind after an earlier listing, so that this one sees everything
        if self.listed.swap(true, Ordering::Relaxed) {
            nix::unistd::lseek(self.fd.as_raw_fd(), 0, nix::unistd::Whence::SeekSet)
                .map_err(|e| errno_at(e, &self.path))?;
        }
        read_entries(self.fd.as_fd(), &self.path, &self.fs.display(&self.path))
    }

    /// The last component of the target of the symlink `name` in this directory; `None`
    /// if missing or not a symlink. `name` is one component: nothing is followed.
    pub fn link_name(&self, name: &str) -> io::Result<Option<String>> {
        Ok(self.read_link(name)?.and_then(|t| last_component(&t)))
    }

    /// The raw target of the symlink `name` in this directory (one component: nothing is
    /// followed; a longer name is resolved inside the root).
    pub fn read_link(&self, name: &str) -> io::Result<Option<PathBuf>> {
        if name.contains('/') {
            return self.fs.read_link(&self.path.join(name));
        }
        self.fs.log("readlink", &self.path.join(name));
        match readlinkat(Some(self.fd.as_raw_fd()), name) {
            Ok(t) => Ok(Some(PathBuf::from(t))),
            Err(Errno::ENOENT | Errno::EINVAL | Errno::ENOTDIR) => Ok(None),
            Err(e) => Err(errno_at(e, &self.path.join(name))),
        }
    }

    /// An entry of this directory opened as a directory itself (resolved inside the root).
    pub fn subdir(&self, name: &str) -> io::Result<AttrDir<'_>> {
        Ok(AttrDir {
            fs: self.fs,
            fd: self.open_at(name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?,
            path: self.path.join(name),
            listed: AtomicBool::new(false),
        })
    }

    /// Read an optional attribute (at most a page, trailing newlines removed); a missing
    /// file is `None`.
    pub fn read_opt(&self, name: &str) -> io::Result<Option<String>> {
        let path = self.path.join(name);
        self.fs.log("read", &path);
        let fd = match self.open_read(name) {
            Ok(fd) => fd,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(text(read_bounded(fd, &path, PAGE)?, &path)?))
    }

    /// Read a required attribute; a missing file is an error naming its path.
    pub fn read(&self, name: &str) -> io::Result<String> {
        self.read_opt(name)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{}: No such file or directory",
                    self.path.join(name).display()
                ),
            )
        })
    }

    /// The names in a subdirectory (see [`Root::list`]); a missing one is empty.
    pub fn list(&self, name: &str) -> io::Result<Vec<String>> {
        let path = self.path.join(name);
        self.fs.log("list", &path);
        match self.open_at(name, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
            Ok(fd) => list_fd(fd, &path, &self.fs.display(&path)),
            Err(e) if is_not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
