//! The one road every change to the host takes (`apply`, `apply --plan`, `teardown`,
//! `bind vfio`). A command plans from an unlocked read of the host (pure planners in
//! `plan/`), wraps the plan in a [`Job`], and calls [`run`]:
//!
//! 1. nothing to do → report, stop (no lock, no audit log);
//! 2. show the plan (tables), confirm (`--yes`, a terminal prompt, or refuse);
//! 3. take the lock and open the journal (audit log) — only now;
//! 4. read the host again under the lock and plan again: a plan that changed since it
//!    was shown is not carried out (exit 1, nothing changed);
//! 5. execute through the [`Executor`] (the one write helper, the journal; in-use
//!    re-checks before destructive writes; the state file recorded per batch);
//! 6. read the host again and verify; 7. report (document or summary) and exit code.
//!
//! `apply --yes` has nothing to confirm: it takes the lock before its one read of the host
//! and plans under it ([`run_locked`]: no step 4), and verifies only what it wrote to.

use std::io::Write;

use anyhow::Result;

use std::io::IsTerminal;

use crate::cli::{MutateArgs, Output};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::exec::apply::{self, Executor};
use crate::exec::journal::WriteRecord;
use crate::exec::lock::RunLock;
use crate::exec::{confirm, interrupt, mutate};
use crate::host::inventory::Inventory;
use crate::outcome::Outcome;
use crate::plan::state::State;
use crate::plan::Blocked;

/// What a job has to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Work {
    /// Nothing: report without taking the lock.
    Nothing,
    /// Only records to tidy (state file) or in-use items to report: no prompt.
    NoWrites,
    /// Host writes: confirm with this question.
    Writes(String),
}

/// A finished (or dry) run, for the report.
pub(crate) struct Run<'a> {
    pub(crate) outcome: &'a Outcome,
    pub(crate) writes: &'a [WriteRecord],
    pub(crate) dry_run: bool,
}

/// One kind of change carried out by [`run`].
pub(crate) trait Job {
    fn work(&self) -> Work;
    /// Table mode, before the prompt: what will be done (and, in a dry run, the line
    /// announcing the writes).
    fn show(&self, out: &mut dyn Write, dry_run: bool) -> Result<()>;
    /// Under the lock, before any write: read the host again and plan again; an error
    /// when the plan is no longer the one shown.
    fn refresh(&mut self, ctx: &Context) -> Result<()>;
    fn execute(&mut self, ctx: &Context, exec: &mut Executor, out: &mut dyn Write) -> Result<()>;
    /// How many host writes [`Job::execute`] will make, when that is known up front (the
    /// progress bar then shows a length).
    fn expected_writes(&self) -> Option<u64> {
        None
    }
    /// Set the executor's knobs from the command line (`apply --jobs`, `--vf-timeout`).
    fn tune(&self, _exec: &mut Executor) {}
    /// Differences between the host read again and what was done.
    fn verify(&self, ctx: &Context, outcome: &Outcome) -> Result<Vec<String>> {
        Ok(apply::verify(&Inventory::scan(&ctx.root)?, outcome))
    }
    /// Print the result (`None`: there was nothing to do) and choose the exit code.
    fn report(&self, ctx: &Context, out: &mut dyn Write, run: Option<&Run>) -> Result<Code>;
}

/// Carry out a job (see the module documentation for the steps).
pub(crate) fn run(
    ctx: &Context,
    args: &MutateArgs,
    job: &mut dyn Job,
    out: &mut dyn Write,
) -> Result<Code> {
    carry_out(ctx, args, job, out, None)
}

/// Carry out a job planned under `lock` (`apply --yes`: nothing to confirm, so the lock
/// was taken before the host was read): no second read of the host before the writes.
pub(crate) fn run_locked(
    ctx: &Context,
    args: &MutateArgs,
    job: &mut dyn Job,
    out: &mut dyn Write,
    lock: RunLock,
) -> Result<Code> {
    carry_out(ctx, args, job, out, Some(lock))
}

fn carry_out(
    ctx: &Context,
    args: &MutateArgs,
    job: &mut dyn Job,
    out: &mut dyn Write,
    held: Option<RunLock>,
) -> Result<Code> {
    let work = job.work();
    if work == Work::Nothing {
        return job.report(ctx, out, None);
    }
    if ctx.output == Output::Table {
        job.show(out, args.dry_run)?;
        out.flush()?;
    }
    if let Work::Writes(prompt) = &work {
        if !args.dry_run && !confirm::confirm(prompt, args.yes)? {
            log::error!("aborted; nothing was changed");
            return Ok(Code::Failure);
        }
    }
    let mut session = match held {
        Some(lock) => mutate::open(ctx, args, Some(lock))?,
        None => {
            let session = mutate::begin(ctx, args)?;
            if !args.dry_run {
                job.refresh(ctx)?;
            }
            session
        }
    };
    if show_progress(ctx) {
        session.journal.show_progress(job.expected_writes());
    }
    let mut state = State::load(&ctx.root)?;
    let stop = interrupt::requested;
    let mut exec = Executor::new(&mut session.journal, &mut state, &stop);
    job.tune(&mut exec);
    let executed = job.execute(ctx, &mut exec, out);
    let mut outcome = exec.outcome;
    session.journal.finish_progress();
    executed?;
    if !args.dry_run && !outcome.done.is_empty() {
        outcome.differences = job.verify(ctx, &outcome)?;
    }
    let run = Run {
        outcome: &outcome,
        writes: session.journal.writes(),
        dry_run: args.dry_run,
    };
    job.report(ctx, out, Some(&run))
}

/// A progress bar only for people watching: table mode, stdout and stderr terminals, not `-q`.
fn show_progress(ctx: &Context) -> bool {
    ctx.output == Output::Table
        && !ctx.quiet
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
}

/// The line that ends [`Job::show`] in a dry run: the writes listed after it were not made.
pub(crate) fn announce_dry_run(out: &mut dyn Write, dry_run: bool) -> Result<()> {
    if dry_run {
        writeln!(out, "dry run: these writes would be made (none were):")?;
    }
    Ok(())
}

/// The error for a plan that changed between showing it and taking the lock.
pub(crate) fn changed_meanwhile(command: &str) -> anyhow::Error {
    fail(
        Code::Failure,
        format!(
            "the host changed after the plan was shown (another run, or a device came or went); \
             nothing was changed: run `hostdev {command}` again"
        ),
    )
}

/// The closing diagnostic and the exit code of an mdev/vGPU run: 0 when everything was
/// done, else 1.
pub(crate) fn finish(command: &str, o: &Outcome) -> Code {
    if o.complete() {
        return Code::Ok;
    }
    let mut parts = Vec::new();
    if o.interrupted {
        parts.push("interrupted".to_string());
    }
    if !o.failed.is_empty() {
        parts.push(format!("{} write(s) failed", o.failed.len()));
    }
    if !o.not_done.is_empty() {
        parts.push(format!("{} change(s) not done", o.not_done.len()));
    }
    let count = |f: fn(&Blocked) -> bool| o.in_use.iter().filter(|b| f(b)).count();
    let vfs = count(|b| matches!(b, Blocked::Vf { .. }));
    let gpus = count(|b| matches!(b, Blocked::Vfs { .. }));
    let mdevs = o.in_use.len() - vfs - gpus;
    if mdevs > 0 {
        parts.push(format!("{mdevs} mdev(s) in use left alone"));
    }
    if vfs > 0 {
        parts.push(format!("{vfs} vGPU VF(s) in use left alone"));
    }
    if gpus > 0 {
        parts.push(format!(
            "{gpus} GPU(s) keep their VF count (a VF is in use)"
        ));
    }
    if !o.differences.is_empty() {
        parts.push(format!(
            "{} difference(s) after verification",
            o.differences.len()
        ));
    }
    if !o.errors.is_empty() {
        parts.push(o.errors.join("; "));
    }
    // An error, so shown even with -q.
    log::error!("{command} incomplete: {}", parts.join(", "));
    Code::Failure
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
