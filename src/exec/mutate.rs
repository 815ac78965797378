//! The preamble every command that changes the host runs, in this order: root check
//! (exit 77) and signal handler ([`prepare`], before the host is read; no file is
//! created), then — only once there is something to do and it was confirmed — the run
//! lock (exit 75) and the journal with its audit log ([`begin`]). So a refusal or an early
//! error leaves no lock file and no audit log behind (docs/apply.md). `apply --yes` has
//! nothing to confirm: it takes the lock ([`lock`]) before it reads the host, and opens the
//! journal ([`open`]) only once there is something to do.

use std::time::Duration;

use anyhow::Result;

use crate::cli::MutateArgs;
use crate::context::Context;
use crate::exec::journal::Journal;
use crate::exec::lock::{self, RunLock};
use crate::exec::{interrupt, privilege};

/// A mutating run in progress: holds the lock (real runs) until dropped.
pub(crate) struct Session {
    /// Held, never read: dropping the session releases the lock.
    _lock: Option<RunLock>,
    pub(crate) journal: Journal,
}

/// Check privileges and install the SIGINT/SIGTERM/SIGHUP handler. A dry run changes
/// nothing at all, so it needs neither root nor the handler.
pub(crate) fn prepare(ctx: &Context, args: &MutateArgs, command: &str) -> Result<()> {
    if !args.dry_run {
        privilege::require_root(&ctx.root, command)?;
        interrupt::install()?;
    }
    Ok(())
}

/// Take the lock and open the journal (real runs: the audit log must open). A dry run
/// takes no lock and opens no audit log.
pub(crate) fn begin(ctx: &Context, args: &MutateArgs) -> Result<Session> {
    let lock = if args.dry_run {
        None
    } else {
        Some(lock(ctx, args)?)
    };
    open(ctx, args, lock)
}

/// Take the run lock (exit 75 after `--lock-timeout`).
pub(crate) fn lock(ctx: &Context, args: &MutateArgs) -> Result<RunLock> {
    lock::acquire(&ctx.root, Duration::from_secs(args.lock_timeout))
}

/// Open the journal of a run that holds `lock` (none in a dry run).
pub(crate) fn open(ctx: &Context, args: &MutateArgs, lock: Option<RunLock>) -> Result<Session> {
    // Dry-run lines are the table-mode output; JSON/YAML documents carry the writes instead.
    let echo: Box<dyn std::io::Write + Send> = if ctx.output == crate::cli::Output::Table {
        // Paths and values come from the host: escaped like every table-mode line.
        Box::new(crate::render::escape::EscapeControls::new(std::io::stdout()))
    } else {
        Box::new(std::io::sink())
    };
    let journal = Journal::with_kernel(&ctx.root, args.dry_run, Box::new(ctx.root.clone()), echo)?;
    Ok(Session {
        _lock: lock,
        journal,
    })
}
