//! Bounded, non-blocking reads of files under the root: a sysfs attribute at most a page
//! ([`super::PAGE`]), any other text file at most [`super::TEXT_MAX`], the file type
//! checked whenever the first read does not settle it (a FIFO or a device never blocks or
//! floods a read); symlink targets read without following them; `-f FILE` read outside
//! the root ([`read_user_file`]). Listing directories is [`super::dir`]'s; writing is
//! `write.rs`'s.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{readlinkat, OFlag};
use nix::sys::stat::Mode;

use super::{
    annotate, check_regular, errno_at, is_not_found, last_component, Root, PAGE, TEXT_MAX,
};
use crate::error::TooLarge;

/// Read at most `limit` bytes of an open regular file; a larger file is an error naming
/// the path and the limit, never echoing the content.
pub(crate) fn read_bounded(fd: OwnedFd, path: &Path, limit: usize) -> io::Result<Vec<u8>> {
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
pub(crate) fn read_user_file(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
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
pub(super) fn read_to_limit(mut file: File, limit: usize) -> io::Result<Vec<u8>> {
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

pub(super) fn text(buf: Vec<u8>, path: &Path) -> io::Result<String> {
    let s = String::from_utf8(buf)
        .map_err(|e| annotate(io::Error::new(io::ErrorKind::InvalidData, e), path))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

impl Root {
    /// Read a file with an explicit size limit, trailing newline(s) removed.
    pub(crate) fn read_limited(&self, path: &Path, limit: usize) -> io::Result<String> {
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
    pub(crate) fn read(&self, path: &Path) -> io::Result<String> {
        self.read_limited(path, self.limit_for(path))
    }

    /// Read an optional attribute: a missing file is `None`, any other error is returned.
    pub(crate) fn read_opt(&self, path: &Path) -> io::Result<Option<String>> {
        match self.read(path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The raw target of a symlink; `None` if it does not exist or is not a symlink. The
    /// directory holding it is resolved inside the root; the link itself is not followed.
    pub(crate) fn read_link(&self, path: &Path) -> io::Result<Option<PathBuf>> {
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
    pub(crate) fn link_name(&self, path: &Path) -> io::Result<Option<String>> {
        Ok(self.read_link(path)?.and_then(|t| last_component(&t)))
    }

    /// Read a regular file hostdev reads but does not write (the default configuration,
    /// `pci.ids`)
    /// resolved inside the root, at most `limit` bytes (more is a [`TooLarge`] error).
    /// Errors do not name the path (the caller does).
    pub(crate) fn read_own(&self, path: &Path, limit: usize) -> io::Result<Vec<u8>> {
        let fd = self.open_raw(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK, Mode::empty())?;
        check_regular(&fd)?;
        read_to_limit(File::from(fd), limit)
    }
}

impl Root {
    /// The raw bytes of a regular file, at most `limit` (more is a [`TooLarge`] error that
    /// does not show the content), opened without blocking; for `capture`, which copies
    /// attributes byte for byte.
    pub(crate) fn read_raw(&self, path: &Path, limit: usize) -> io::Result<Vec<u8>> {
        self.log("read", path);
        let fd = self.open_read(path)?;
        read_bounded(fd, path, limit)
    }
}
