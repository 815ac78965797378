//! Every write under the root, and hostdev's own files: an existing attribute
//! ([`Root::write`], which only the journal calls; never creates a file), directories
//! resolved inside the root, and hostdev's own directory and files (the run lock, the state
//! file, the audit log): never through a symlink, only regular files, the state file
//! replaced atomically, and read back by the same rule ([`Root::read_own_file`]).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{renameat, OFlag};
use nix::sys::stat::{mkdirat, Mode, SFlag};

use super::read::read_to_limit;
use super::{check_regular, errno_at, how, is_not_found, open2, Root, NO_LINKS, RESOLVE};

impl Root {
    /// Write `value` to an existing regular file (an attribute). Never creates a file: a
    /// misspelled attribute is reported as missing, not silently created. One `write(2)` of
    /// the value, as sysfs takes it (a simulated host answers it the same way: hostdev-sim).
    pub(crate) fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        self.log("write", path);
        let fd = self.open_raw(path, OFlag::O_WRONLY | OFlag::O_NONBLOCK, Mode::empty())?;
        check_regular(&fd)?;
        let mut f = File::from(fd);
        f.write_all(value.as_bytes())?;
        f.flush()?;
        Ok(())
    }

    /// Create the directory `path` and its missing parents, each resolved inside the root
    /// (mode 0755). An existing non-directory is an error.
    pub(crate) fn create_dir_all(&self, path: &Path) -> io::Result<()> {
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
                    "{shown} is a symlink; hostdev never follows a symlink for its own files \
                     (run lock, state file, audit log): remove the link (a real {what} is \
                     created in its place) and run again"
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
    pub(crate) fn open_own(&self, path: &Path, flags: OFlag, mode: u32) -> io::Result<File> {
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
    pub(crate) fn read_own_file(&self, path: &Path, limit: usize) -> io::Result<Option<Vec<u8>>> {
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
    pub(crate) fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
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
}
