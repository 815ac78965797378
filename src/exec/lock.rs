//! The run lock: one mutating hostdev at a time per root. An exclusive `flock` on
//! `<root>/run/hostdev/lock`; the holder's pid is written into the file so a waiting run
//! can name it. The lock is released when the guard is dropped (or the process dies).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

use crate::error::{fail, Code};
use crate::exec::interrupt;
use crate::host::root::{not_regular, Root};

/// Held while a mutating command runs.
pub(crate) struct RunLock {
    _lock: Flock<File>,
    pub(crate) path: PathBuf,
}

impl std::fmt::Debug for RunLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunLock({})", self.path.display())
    }
}

/// Take the lock, waiting up to `timeout`; a run that cannot get it fails with exit 75
/// naming the holder's pid. SIGINT/SIGTERM/SIGHUP end the wait within [`interrupt::SLICE`]
/// (exit 1, nothing changed); a timeout too large to represent waits without limit.
pub(crate) fn acquire(fs: &Root, timeout: Duration) -> Result<RunLock> {
    let path = fs.lock_file();
    interrupt::install()?;
    let deadline = Instant::now().checked_add(timeout);
    let mut file = open(fs, &path)?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                // Record who holds it; a failure here only loses the pid in messages.
                let _ = lock.set_len(0);
                let _ = lock.seek(SeekFrom::Start(0));
                let _ = writeln!(lock, "{}", std::process::id());
                let _ = lock.flush();
                return Ok(RunLock { _lock: lock, path });
            }
            Err((f, Errno::EWOULDBLOCK)) => {
                let holder = || {
                    holder_pid(fs, &path)
                        .map(|p| format!("pid {p}"))
                        .unwrap_or_else(|| "another process".into())
                };
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(fail(
                        Code::Locked,
                        format!(
                            "another hostdev run ({}) holds the lock {}; waited {}s. \
                             Wait for it to finish or raise --lock-timeout",
                            holder(),
                            fs.display(&path),
                            timeout.as_secs_f64()
                        ),
                    ));
                }
                file = f;
                let left = deadline.map_or(interrupt::SLICE, |d| {
                    d.saturating_duration_since(Instant::now())
                });
                if !interrupt::sleep(left.min(interrupt::SLICE)) {
                    return Err(interrupt::interrupted_while(&format!(
                        "waiting for the run lock {} (held by {})",
                        fs.display(&path),
                        holder()
                    )));
                }
            }
            Err((_, Errno::EINTR)) => {
                file = open(fs, &path)?;
            }
            Err((_, e)) => {
                return Err(anyhow::anyhow!(
                    "locking {}: {}",
                    fs.display(&path),
                    std::io::Error::from(e)
                ))
            }
        }
    }
}

/// Open (creating it and `run/hostdev`) the lock file inside the root, following no
/// symlink at `run/hostdev` or the file. O_NONBLOCK, so that a FIFO or device
/// planted there cannot block the open, and then anything but a regular file is refused.
fn open(fs: &Root, path: &Path) -> Result<File> {
    fs.open_own(path, OFlag::O_RDWR, 0o644)
        .map_err(|e| match not_regular(&e) {
            Some(kind) => anyhow::anyhow!(
                "the run lock {} is not a regular file (it is a {kind}): remove it and run again",
                fs.display(path)
            ),
            None => {
                anyhow::Error::new(e).context(format!("opening the run lock {}", fs.display(path)))
            }
        })
}

/// The pid written by the current holder, if readable: a regular file opened as the lock
/// is (no symlink followed, without blocking), of which at most 32 bytes are read.
pub(crate) fn holder_pid(fs: &Root, path: &Path) -> Option<u32> {
    let bytes = fs.read_own_file(path, 32).ok()??;
    std::str::from_utf8(&bytes).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;
    use crate::host::root::LOCK_FILE;

    #[test]
    fn second_lock_times_out_with_holder_pid() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Root::new(dir.path());
        let first = acquire(&fs, Duration::from_secs(1)).unwrap();
        assert_eq!(holder_pid(&fs, &first.path), Some(std::process::id()));
        let t0 = Instant::now();
        let err = acquire(&fs, Duration::from_millis(300)).unwrap_err();
        assert!(t0.elapsed() >= Duration::from_millis(300));
        assert_eq!(exit_code(&err).as_i32(), 75);
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("/run/hostdev/lock"), "{msg}");
        drop(first);
        acquire(&fs, Duration::from_millis(0)).expect("free after release");
    }

    /// Issue 12 item 3: a FIFO planted as the lock file neither blocks the open nor the
    /// read of the holder's pid; it is refused at once, naming what it is.
    #[test]
    fn a_fifo_as_the_lock_file_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Root::new(dir.path());
        let path = fs.path(LOCK_FILE);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        assert_eq!(holder_pid(&fs, &path), None);
        let err = acquire(&fs, Duration::from_secs(3600)).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("is not a regular file (it is a FIFO)"),
            "{msg}"
        );
    }

    /// Issue 12 item 4: `--lock-timeout 18446744073709551615` overflowed `Instant + Duration`.
    #[test]
    fn the_largest_timeout_does_not_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Root::new(dir.path());
        let lock = acquire(&fs, Duration::from_secs(u64::MAX)).expect("free lock");
        drop(lock);
    }
}
