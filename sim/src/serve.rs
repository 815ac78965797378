//! Mounting a fixture: checks first (a fixture, a free mountpoint, FUSE), a stale mount of
//! a killed run cleaned up, the tree copied to a private backing (or served in place), and
//! the mount taken down again on SIGINT/SIGTERM or when dropped.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};

use anyhow::{bail, Context as _, Result};

use crate::fs::SimFs;

/// A served fixture: dropping it unmounts and removes the private backing.
pub struct Served {
    session: Option<fuser::BackgroundSession>,
    mountpoint: PathBuf,
    /// The private copy (removed when done), `None` when served in place.
    private: Option<PathBuf>,
    backing: PathBuf,
}

impl Served {
    /// The tree the mount shows (its changes land here).
    pub fn backing(&self) -> &Path {
        &self.backing
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            drop(s);
        }
        if is_mounted(&self.mountpoint) {
            let _ = unmount(&self.mountpoint);
        }
        if let Some(p) = &self.private {
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// How a fixture is served.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Serve the fixture directory itself: the writes change it (tests that prepare a
    /// tree). Otherwise a private copy is served and removed at the end.
    pub in_place: bool,
}

/// Check `fixture` and `mountpoint`, then mount (in the background of this process).
pub fn serve(fixture: &Path, mountpoint: &Path, opts: &Options) -> Result<Served> {
    let (backing, private) = prepare(fixture, mountpoint, opts)?;
    let session = fuser::spawn_mount2(SimFs::new(&backing), mountpoint, &OPTIONS);
    let session = match session {
        Ok(s) => s,
        Err(e) => {
            if let Some(p) = &private {
                let _ = fs::remove_dir_all(p);
            }
            bail!("cannot mount {}: {e}", mountpoint.display());
        }
    };
    Ok(Served {
        session: Some(session),
        mountpoint: mountpoint.to_path_buf(),
        private,
        backing,
    })
}

/// Serve in the foreground until the mount is taken down (SIGINT, SIGTERM, SIGHUP or an
/// unmount), then remove the private copy. `ready` runs once the mount is live.
pub fn serve_foreground(
    fixture: &Path,
    mountpoint: &Path,
    opts: &Options,
    ready: impl FnOnce(),
) -> Result<()> {
    let (backing, private) = prepare(fixture, mountpoint, opts)?;
    let result = (|| -> Result<()> {
        unmount_on_signals(mountpoint)?;
        let mut session = fuser::Session::new(SimFs::new(&backing), mountpoint, &OPTIONS)
            .with_context(|| format!("cannot mount {}", mountpoint.display()))?;
        ready();
        session.run().or_else(|e| {
            if e.raw_os_error() == Some(libc::ENODEV) {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        Ok(())
    })();
    if is_mounted(mountpoint) {
        let _ = unmount(mountpoint);
    }
    if let Some(p) = &private {
        let _ = fs::remove_dir_all(p);
    }
    result
}

const OPTIONS: [fuser::MountOption; 4] = [
    fuser::MountOption::AllowOther,
    fuser::MountOption::RW,
    fuser::MountOption::NoDev,
    fuser::MountOption::NoSuid,
];

/// The checks, and the backing: (its path, the private copy to remove at the end).
fn prepare(fixture: &Path, mountpoint: &Path, opts: &Options) -> Result<(PathBuf, Option<PathBuf>)> {
    check_fixture(fixture)?;
    prepare_mountpoint(mountpoint)?;
    check_fuse()?;
    Ok(if opts.in_place {
        (fixture.to_path_buf(), None)
    } else {
        let dir = std::env::temp_dir().join(format!(
            "hostdev-sim.{}.{}",
            std::process::id(),
            unique()
        ));
        crate::tree::copy_tree(fixture, &dir)
            .with_context(|| format!("copying {} to {}", fixture.display(), dir.display()))?;
        (dir.clone(), Some(dir))
    })
}

fn unique() -> u64 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A fixture: a directory with `sys/` (the layout of fixtures/mkfixture.py and of
/// `hostdev capture`).
fn check_fixture(fixture: &Path) -> Result<()> {
    let m = fs::metadata(fixture)
        .with_context(|| format!("fixture {}", fixture.display()))?;
    if !m.is_dir() {
        bail!("{} is not a directory: give a fixture tree (fixtures/NAME, or what `hostdev capture --out DIR` wrote)", fixture.display());
    }
    if !fixture.join("sys").is_dir() {
        bail!("{} is not a fixture: it has no sys/ (give fixtures/NAME, or what `hostdev capture --out DIR` wrote)", fixture.display());
    }
    Ok(())
}

/// The mountpoint must be an empty directory; a stale mount of a killed run
/// (ENOTCONN) is taken down first; a live mount is in use.
fn prepare_mountpoint(mp: &Path) -> Result<()> {
    match fs::metadata(mp) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
            unmount(mp).with_context(|| format!("cleaning up the stale mount at {}", mp.display()))?;
            log(&format!("cleaned up a stale mount at {}", mp.display()));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(mp).with_context(|| format!("creating {}", mp.display()))?;
        }
        Err(e) => bail!("mountpoint {}: {e}", mp.display()),
        Ok(m) if !m.is_dir() => bail!("mountpoint {} is not a directory", mp.display()),
        Ok(_) => {}
    }
    if is_mounted(mp) {
        bail!("mountpoint {} is in use (something is mounted there); unmount it or choose another", mp.display());
    }
    if fs::read_dir(mp)?.next().is_some() {
        bail!("mountpoint {} is not empty", mp.display());
    }
    Ok(())
}

fn check_fuse() -> Result<()> {
    match fs::OpenOptions::new().read(true).write(true).open("/dev/fuse") {
        Ok(_) => Ok(()),
        Err(e) => bail!("/dev/fuse: {e}: FUSE is needed (modprobe fuse; in a container, pass /dev/fuse through)"),
    }
}

/// Whether something is mounted at `mp` (/proc/self/mountinfo).
pub fn is_mounted(mp: &Path) -> bool {
    let Ok(abs) = fs::canonicalize(mp).or_else(|_| std::path::absolute(mp)) else {
        return false;
    };
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .map(unescape)
            .is_some_and(|m| Path::new(&m) == abs)
    })
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// `umount -l MOUNTPOINT`.
pub fn unmount(mp: &Path) -> io::Result<()> {
    let c = CString::new(mp.as_os_str().as_bytes())?;
    // SAFETY: a valid C string; umount2 has no other preconditions.
    if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

static MOUNTPOINT: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn on_signal(_sig: libc::c_int) {
    let p = MOUNTPOINT.load(Ordering::SeqCst);
    if !p.is_null() {
        // SAFETY: a C string leaked for the life of the process; umount2 is a system call
        // (async-signal-safe). The session's loop ends when the mount goes.
        unsafe {
            libc::umount2(p, libc::MNT_DETACH);
        }
    }
}

/// On SIGINT or SIGTERM, take the mount at `mp` down (the serving loop then ends).
pub fn unmount_on_signals(mp: &Path) -> Result<()> {
    let abs = std::path::absolute(mp)?;
    let c = CString::new(abs.as_os_str().as_bytes())?;
    MOUNTPOINT.store(c.into_raw(), Ordering::SeqCst);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installing a handler that only makes a system call.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    Ok(())
}

fn log(msg: &str) {
    eprintln!("hostdev-sim: {msg}");
}
