//! Listing directories under the root: names sorted byte-wise, dot-files skipped, a name
//! that is not UTF-8 skipped with a warning; the kind of each entry ([`EntryKind`]); and
//! [`AttrDir`], an open directory whose attributes are read relative to it. Reading a
//! file is [`super::read`]'s.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{readlinkat, OFlag, ResolveFlag};
use nix::sys::stat::{Mode, SFlag};

use super::read::{read_bounded, text};
use super::{annotate, errno_at, how, is_not_found, last_component, open2, Root, PAGE};

impl Root {
    /// The names in a directory, sorted byte-wise, dot-files skipped; a missing directory
    /// is empty. A name that is not UTF-8 is skipped with a warning.
    pub(crate) fn list(&self, path: &Path) -> io::Result<Vec<String>> {
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
    pub(crate) fn subdirs(&self, path: &Path) -> io::Result<Vec<String>> {
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
    pub(crate) fn read_links(&self, path: &Path) -> io::Result<Vec<(String, PathBuf)>> {
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
    pub(crate) fn entries(&self, path: &Path) -> io::Result<Vec<(String, EntryKind)>> {
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
    pub(crate) fn list_dirs(&self, path: &Path) -> io::Result<Vec<String>> {
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
    pub(crate) fn dir(&self, path: &Path) -> io::Result<AttrDir<'_>> {
        let fd = self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        Ok(AttrDir {
            fs: self,
            fd,
            path: path.to_path_buf(),
            listed: AtomicBool::new(false),
        })
    }
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
pub(crate) enum EntryKind {
    Dir,
    Symlink,
    File,
    Other,
    Unknown,
}

impl EntryKind {
    /// Could be a directory (a directory, a symlink to one, or not known).
    pub(crate) fn may_be_dir(self) -> bool {
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

/// An open directory whose attributes are read relative to it, so that reading thousands
/// of small sysfs files does not walk the same long path thousands of times. A name is
/// resolved beneath the directory (`RESOLVE_BENEATH`); one whose symlinks leave it is
/// resolved again from the root, inside the root.
pub(crate) struct AttrDir<'a> {
    fs: &'a Root,
    fd: OwnedFd,
    path: PathBuf,
    /// Whether the descriptor's offset has moved (by a listing).
    listed: AtomicBool,
}

impl AttrDir<'_> {
    pub(crate) fn path(&self) -> &Path {
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
    pub(crate) fn entries(&self) -> io::Result<Vec<(String, EntryKind)>> {
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
    pub(crate) fn link_name(&self, name: &str) -> io::Result<Option<String>> {
        Ok(self.read_link(name)?.and_then(|t| last_component(&t)))
    }

    /// The raw target of the symlink `name` in this directory (one component: nothing is
    /// followed; a longer name is resolved inside the root).
    pub(crate) fn read_link(&self, name: &str) -> io::Result<Option<PathBuf>> {
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

    /// Read an optional attribute (at most a page, trailing newlines removed); a missing
    /// file is `None`.
    pub(crate) fn read_opt(&self, name: &str) -> io::Result<Option<String>> {
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
    pub(crate) fn read(&self, name: &str) -> io::Result<String> {
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
    pub(crate) fn list(&self, name: &str) -> io::Result<Vec<String>> {
        let path = self.path.join(name);
        self.fs.log("list", &path);
        match self.open_at(name, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
            Ok(fd) => list_fd(fd, &path, &self.fs.display(&path)),
            Err(e) if is_not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}
