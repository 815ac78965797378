//! The FUSE file system of `hostdev-sim serve`: a host tree on disk (the backing) seen
//! through a mount. Outside `sys/` it is a plain file system (hostdev's state, lock and
//! audit files, `/proc/<pid>/fd` holders, `/dev` nodes). Under `sys/` it answers as sysfs
//! does: every `write(2)` to an attribute goes to the [`Model`] (the kernel's errno when it
//! refuses; a write the kernel would block waits until the holder lets go, on its own
//! thread), read-only attributes cannot be opened for writing (EACCES), and nothing can
//! be created, linked, renamed or removed there by hand (EACCES, EPERM). Nothing is cached:
//! every lookup, attribute and read goes to the backing, so directories and links appear
//! and disappear as the model changes them.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    consts::FOPEN_DIRECT_IO, FileAttr, FileType, Filesystem, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow,
};

use crate::model::{Model, Refusal, MEMO};

const TTL: Duration = Duration::ZERO;
/// How often a blocked write looks again whether its device was let go.
const BLOCKED_POLL: Duration = Duration::from_millis(20);
/// The longest read of one file answered (sysfs attributes are a page; hostdev's own files
/// are small).
const MAX_READ: u64 = 16 << 20;

/// The mounted tree.
pub struct SimFs {
    model: Model,
    /// The model's changes and the file system's own are made one at a time.
    lock: Arc<Mutex<()>>,
    inodes: HashMap<u64, PathBuf>,
    by_path: HashMap<PathBuf, u64>,
    next: u64,
}

impl SimFs {
    pub fn new(backing: &Path) -> SimFs {
        let mut fs = SimFs {
            model: Model::new(backing),
            lock: Arc::default(),
            inodes: HashMap::new(),
            by_path: HashMap::new(),
            next: 2,
        };
        fs.inodes.insert(fuser::FUSE_ROOT_ID, PathBuf::new());
        fs.by_path.insert(PathBuf::new(), fuser::FUSE_ROOT_ID);
        fs
    }

    fn backing(&self, rel: &Path) -> PathBuf {
        self.model.root().join(rel)
    }

    fn ino(&mut self, rel: &Path) -> u64 {
        if let Some(i) = self.by_path.get(rel) {
            return *i;
        }
        let i = self.next;
        self.next += 1;
        self.inodes.insert(i, rel.to_path_buf());
        self.by_path.insert(rel.to_path_buf(), i);
        i
    }

    fn path(&self, ino: u64) -> Option<PathBuf> {
        self.inodes.get(&ino).cloned()
    }

    fn child(&self, parent: u64, name: &OsStr) -> Option<PathBuf> {
        let p = self.path(parent)?;
        if hidden(&p, name) {
            return None;
        }
        Some(p.join(name))
    }

    fn attr(&mut self, rel: &Path) -> std::io::Result<FileAttr> {
        let m = fs::symlink_metadata(self.backing(rel))?;
        let kind = kind_of(m.file_type());
        let t = |s: i64| UNIX_EPOCH + Duration::from_secs(s.max(0) as u64);
        Ok(FileAttr {
            ino: self.ino(rel),
            size: m.len(),
            blocks: m.blocks(),
            atime: t(m.atime()),
            mtime: t(m.mtime()),
            ctime: t(m.ctime()),
            crtime: t(m.ctime()),
            kind,
            perm: (m.mode() & 0o7777) as u16,
            nlink: m.nlink() as u32,
            uid: m.uid(),
            gid: m.gid(),
            rdev: m.rdev() as u32,
            blksize: 4096,
            flags: 0,
        })
    }

    fn entry(&mut self, rel: &Path, reply: ReplyEntry) {
        match self.attr(rel) {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(code(&e)),
        }
    }

    /// Move the inode numbers of `from` and everything below it to `to`.
    fn renamed(&mut self, from: &Path, to: &Path) {
        let moved: Vec<(PathBuf, u64)> = self
            .by_path
            .iter()
            .filter(|(p, _)| p.starts_with(from))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        for (p, i) in moved {
            let rest = p
                .strip_prefix(from)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            // (joining an empty path would add a trailing slash)
            let np = if rest.as_os_str().is_empty() {
                to.to_path_buf()
            } else {
                to.join(rest)
            };
            self.by_path.remove(&p);
            self.by_path.insert(np.clone(), i);
            self.inodes.insert(i, np);
        }
    }
}

/// Entries the mount does not show: the model's memory at the top, git's placeholders.
fn hidden(dir: &Path, name: &OsStr) -> bool {
    name == ".gitkeep" || (dir.as_os_str().is_empty() && name == MEMO)
}

/// What the mount shows a backing file as: FIFOs, sockets and device nodes as what they are
/// (the kernel then opens them itself: a FIFO in the tree must block or refuse as one does,
/// never stall the server in a read).
fn kind_of(t: fs::FileType) -> FileType {
    use std::os::unix::fs::FileTypeExt;
    if t.is_symlink() {
        FileType::Symlink
    } else if t.is_dir() {
        FileType::Directory
    } else if t.is_fifo() {
        FileType::NamedPipe
    } else if t.is_socket() {
        FileType::Socket
    } else if t.is_char_device() {
        FileType::CharDevice
    } else if t.is_block_device() {
        FileType::BlockDevice
    } else {
        FileType::RegularFile
    }
}

/// Whether `rel` is sysfs (answered by the model).
fn on_sys(rel: &Path) -> bool {
    rel.starts_with("sys")
}

fn code(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl Filesystem for SimFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        // (a blocked write finishing on its own thread changes the tree under this lock)
        let lock = self.lock.clone();
        let _one_at_a_time = lock.lock();
        match self.child(parent, name) {
            Some(p) => self.entry(&p, reply),
            None => reply.error(libc::ENOENT),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        let Some(p) = self.path(ino) else {
            return reply.error(libc::ENOENT);
        };
        match self.attr(&p) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let Some(p) = self.path(ino) else {
            return reply.error(libc::ENOENT);
        };
        let b = self.backing(&p);
        let r = (|| -> std::io::Result<()> {
            if on_sys(&p) {
                // truncation of an attribute (O_TRUNC) means nothing on sysfs
                return Ok(());
            }
            if let Some(s) = size {
                OpenOptions::new().write(true).open(&b)?.set_len(s)?;
            }
            if let Some(m) = mode {
                fs::set_permissions(&b, fs::Permissions::from_mode(m & 0o7777))?;
            }
            Ok(())
        })();
        match r.and_then(|()| self.attr(&p)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn readlink(&mut self, _req: &Request<'_>, ino: u64, reply: ReplyData) {
        let Some(p) = self.path(ino) else {
            return reply.error(libc::ENOENT);
        };
        match fs::read_link(self.backing(&p)) {
            Ok(t) => reply.data(t.as_os_str().as_encoded_bytes()),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let Some(p) = self.child(parent, name) else {
            return reply.error(libc::EACCES);
        };
        if on_sys(&p) {
            return reply.error(libc::EPERM);
        }
        let b = self.backing(&p);
        match fs::create_dir(&b)
            .and_then(|()| fs::set_permissions(&b, fs::Permissions::from_mode(mode & 0o7777)))
        {
            Ok(()) => self.entry(&p, reply),
            Err(e) => reply.error(code(&e)),
        }
    }

    /// FIFOs only (mkfifo), outside `sys/`: a host's state or lock file can be one, and
    /// hostdev must refuse it; device nodes and sockets are EPERM (the mount is nodev).
    fn mknod(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        let Some(p) = self.child(parent, name) else {
            return reply.error(libc::EACCES);
        };
        if on_sys(&p) || mode & libc::S_IFMT != libc::S_IFIFO {
            return reply.error(libc::EPERM);
        }
        let r = std::ffi::CString::new(self.backing(&p).into_os_string().into_encoded_bytes())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
            .and_then(|c| {
                // SAFETY: a valid C string; mkfifo has no other preconditions.
                if unsafe { libc::mkfifo(c.as_ptr(), (mode & 0o7777) as libc::mode_t) } == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        match r {
            Ok(()) => self.entry(&p, reply),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let Some(p) = self.child(parent, name) else {
            return reply.error(libc::ENOENT);
        };
        if on_sys(&p) {
            return reply.error(libc::EPERM);
        }
        match fs::remove_file(self.backing(&p)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let Some(p) = self.child(parent, name) else {
            return reply.error(libc::ENOENT);
        };
        if on_sys(&p) {
            return reply.error(libc::EPERM);
        }
        match fs::remove_dir(self.backing(&p)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn symlink(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let Some(p) = self.child(parent, link_name) else {
            return reply.error(libc::EACCES);
        };
        if on_sys(&p) {
            return reply.error(libc::EPERM);
        }
        match std::os::unix::fs::symlink(target, self.backing(&p)) {
            Ok(()) => self.entry(&p, reply),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        _flags: u32,
        reply: ReplyEmpty,
    ) {
        let (Some(from), Some(to)) = (self.child(parent, name), self.child(newparent, newname))
        else {
            return reply.error(libc::ENOENT);
        };
        if on_sys(&from) || on_sys(&to) {
            return reply.error(libc::EPERM);
        }
        match fs::rename(self.backing(&from), self.backing(&to)) {
            Ok(()) => {
                self.by_path.remove(&to);
                self.renamed(&from, &to);
                reply.ok()
            }
            Err(e) => reply.error(code(&e)),
        }
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        let Some(p) = self.path(ino) else {
            return reply.error(libc::ENOENT);
        };
        let writes = flags & libc::O_ACCMODE != libc::O_RDONLY;
        if writes && on_sys(&p) && !self.model.writable(&p) {
            return reply.error(libc::EACCES);
        }
        reply.opened(0, FOPEN_DIRECT_IO);
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let Some(p) = self.path(ino) else {
            return reply.error(libc::ENOENT);
        };
        let r = (|| -> std::io::Result<Vec<u8>> {
            let mut f = File::open(self.backing(&p))?;
            f.seek(SeekFrom::Start(offset.max(0) as u64))?;
            let mut buf = Vec::new();
            f.take(u64::from(size).min(MAX_READ))
                .read_to_end(&mut buf)?;
            Ok(buf)
        })();
        match r {
            Ok(b) => reply.data(&b),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let Some(p) = self.path(ino) else {
            return reply.error(libc::ENOENT);
        };
        if !on_sys(&p) {
            let r = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(self.backing(&p))
                .and_then(|f| f.write_all_at(data, offset.max(0) as u64));
            return match r {
                Ok(()) => reply.written(data.len() as u32),
                Err(e) => reply.error(code(&e)),
            };
        }
        let lock = self.lock.clone();
        let outcome = {
            let _g = lock.lock();
            self.model.write(&p, data)
        };
        match outcome {
            Ok(()) => reply.written(data.len() as u32),
            Err(Refusal::Errno(e)) => reply.error(e),
            Err(Refusal::Blocked(_)) => {
                // the kernel blocks this writer until the device is let go; the mount
                // goes on answering everyone else meanwhile
                let model = self.model.clone();
                let data = data.to_vec();
                std::thread::spawn(move || loop {
                    std::thread::sleep(BLOCKED_POLL);
                    let r = {
                        let _g = lock.lock();
                        model.write(&p, &data)
                    };
                    match r {
                        Ok(()) => return reply.written(data.len() as u32),
                        Err(Refusal::Errno(e)) => return reply.error(e),
                        Err(Refusal::Blocked(_)) => {}
                    }
                });
            }
        }
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let Some(p) = self.path(ino) else {
            return reply.error(libc::ENOENT);
        };
        let rd = match fs::read_dir(self.backing(&p)) {
            Ok(rd) => rd,
            Err(e) => return reply.error(code(&e)),
        };
        let mut names: Vec<(std::ffi::OsString, FileType)> = rd
            .flatten()
            .filter(|e| !hidden(&p, &e.file_name()))
            .map(|e| {
                let k = e.file_type().map_or(FileType::RegularFile, kind_of);
                (e.file_name(), k)
            })
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let mut all = vec![
            (ino, FileType::Directory, std::ffi::OsString::from(".")),
            (ino, FileType::Directory, std::ffi::OsString::from("..")),
        ];
        for (n, k) in names {
            let i = self.ino(&p.join(&n));
            all.push((i, k, n));
        }
        for (k, (i, kind, n)) in all.into_iter().enumerate().skip(offset.max(0) as usize) {
            if reply.add(i, (k + 1) as i64, kind, n) {
                break;
            }
        }
        reply.ok();
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let Some(p) = self.child(parent, name) else {
            return reply.error(libc::EACCES);
        };
        if on_sys(&p) {
            return reply.error(libc::EACCES);
        }
        let r = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(flags & libc::O_TRUNC != 0)
            .mode(mode & 0o7777)
            .custom_flags(flags & libc::O_EXCL)
            .open(self.backing(&p));
        match r.and_then(|_| self.attr(&p)) {
            Ok(a) => reply.created(&TTL, &a, 0, 0, FOPEN_DIRECT_IO),
            Err(e) => reply.error(code(&e)),
        }
    }

    fn fsync(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn flush(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        _fh: u64,
        _lock_owner: u64,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn access(&mut self, _req: &Request<'_>, ino: u64, _mask: i32, reply: ReplyEmpty) {
        match self.path(ino) {
            Some(_) => reply.ok(),
            None => reply.error(libc::ENOENT),
        }
    }
}
