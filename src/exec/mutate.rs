//! The preamble every command that changes the host runs, in this order: root check
//! (exit 77), signal handler, run lock (exit 75), journal. Confirmation comes later,
//! once the command has shown what it will do (see [`crate::exec::confirm`]).

use std::time::Duration;

use anyhow::Result;

use crate::cli::MutateArgs;
use crate::context::Context;
use crate::exec::journal::Journal;
use crate::exec::lock::{self, RunLock};
use crate::exec::{interrupt, privilege};

/// A mutating run in progress: holds the lock (real runs) until dropped.
pub struct Session {
    pub lock: Option<RunLock>,
    pub journal: Journal,
}

/// Check privileges, install the SIGINT/SIGTERM handler, take the lock, open the journal.
/// A dry run changes nothing at all (not even the lock or audit files), so it needs
/// neither root nor the lock.
pub fn begin(ctx: &Context, args: &MutateArgs, command: &str) -> Result<Session> {
    let lock = if args.dry_run {
        None
    } else {
        privilege::require_root(&ctx.sysfs, command)?;
        interrupt::install()?;
        Some(lock::acquire(
            &ctx.sysfs,
            Duration::from_secs(args.lock_timeout),
        )?)
    };
    // Dry-run lines are the table-mode output; JSON/YAML documents carry the writes instead.
    let echo: Box<dyn std::io::Write> = if ctx.output == crate::cli::Output::Table {
        Box::new(std::io::stdout())
    } else {
        Box::new(std::io::sink())
    };
    let journal =
        Journal::with_kernel(&ctx.sysfs, args.dry_run, Box::new(ctx.sysfs.clone()), echo)?;
    Ok(Session { lock, journal })
}
