//! The one door to the host: every path is built from `Sysfs::root`, every read and
//! write goes through here, and writes never create files.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

/// Relative locations under the root (the literal "sys" paths live here only).
pub const MDEV_BUS_CLASS: &str = "sys/class/mdev_bus";
pub const MDEV_DEVICES: &str = "sys/bus/mdev/devices";
pub const PCI_DEVICES: &str = "sys/bus/pci/devices";
pub const PCI_DRIVERS: &str = "sys/bus/pci/drivers";
pub const IOMMU_GROUPS: &str = "sys/kernel/iommu_groups";
pub const CLASS_IOMMU: &str = "sys/class/iommu";
pub const PCI_DRIVERS_PROBE: &str = "sys/bus/pci/drivers_probe";

#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sysfs { root: root.into() }
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

    fn log(&self, what: &str, path: &Path) {
        log::trace!("{what} {}", path.display());
    }

    /// Read an attribute, trailing newline(s) removed. Errors name the path.
    pub fn read(&self, path: &Path) -> io::Result<String> {
        self.log("read", path);
        let s = fs::read_to_string(path).map_err(|e| annotate(e, path))?;
        Ok(s.trim_end_matches(['\n', '\r']).to_string())
    }

    /// Read an optional attribute: a missing file is `None`, any other error is returned.
    pub fn read_opt(&self, path: &Path) -> io::Result<Option<String>> {
        match self.read(path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The raw target of a symlink; `None` if it does not exist.
    pub fn read_link(&self, path: &Path) -> io::Result<Option<PathBuf>> {
        self.log("readlink", path);
        match fs::read_link(path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => Ok(None),
            Err(e) => Err(annotate(e, path)),
        }
    }

    /// The last component of a symlink's target (a driver name, a group number, a type ID).
    pub fn link_name(&self, path: &Path) -> io::Result<Option<String>> {
        Ok(self.read_link(path)?.and_then(|t| last_component(&t)))
    }

    /// The names in a directory, sorted byte-wise, dot-files skipped; a missing directory is empty.
    pub fn list(&self, path: &Path) -> io::Result<Vec<String>> {
        self.log("list", path);
        let rd = match fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(annotate(e, path)),
        };
        let mut names = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| annotate(e, path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Open a directory to read several of its attributes cheaply (one path walk).
    pub fn dir(&self, path: &Path) -> io::Result<AttrDir<'_>> {
        let fd: OwnedFd = fs::File::open(path).map_err(|e| annotate(e, path))?.into();
        Ok(AttrDir {
            fs: self,
            fd,
            path: path.to_path_buf(),
        })
    }

    pub fn exists(&self, path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok()
    }

    /// Write `value` to an existing attribute file. Never creates a file: a misspelled
    /// attribute is reported as missing, not silently created.
    pub fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        self.log("write", path);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(false)
            // as `echo VALUE > attr` does; sysfs ignores it, a fixture file then holds the value
            .truncate(true)
            .open(path)?;
        f.write_all(value.as_bytes())?;
        f.flush()
    }
}

fn is_not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR)
}

fn annotate(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
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

/// An open directory whose attributes are read relative to it (`openat`), so that reading
/// thousands of small sysfs files does not walk the same long path thousands of times.
pub struct AttrDir<'a> {
    fs: &'a Sysfs,
    fd: OwnedFd,
    path: PathBuf,
}

impl AttrDir<'_> {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read an optional attribute (trailing newlines removed); a missing file is `None`.
    pub fn read_opt(&self, name: &str) -> io::Result<Option<String>> {
        let path = self.path.join(name);
        self.fs.log("read", &path);
        let raw = match openat(
            Some(self.fd.as_raw_fd()),
            name,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::ENOTDIR) => return Ok(None),
            Err(e) => return Err(annotate(io::Error::from(e), &path)),
        };
        // SAFETY: `openat` just returned this descriptor and nothing else owns it.
        let mut file = unsafe { fs::File::from_raw_fd(raw) };
        // Plain reads into a page-sized buffer: read_to_string would also stat and seek.
        // A sysfs text attribute arrives in one read of at most a page, so a short read
        // is the end (this halves the syscalls of a scan of thousands of attributes).
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if n < chunk.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(annotate(e, &path)),
            }
        }
        let text = String::from_utf8(buf)
            .map_err(|e| annotate(io::Error::new(io::ErrorKind::InvalidData, e), &path))?;
        Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
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
}
