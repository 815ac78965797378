//! `hostdev apply`: plan, show, confirm, execute (removals, re-plan, creations), verify.
//! `hostdev apply --plan FILE`: the same with a saved plan, carried out exactly (no re-plan).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{ApplyArgs, Output};
use crate::config::{Config, Desired, Node};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::exec::apply::{self, Executor, Outcome};
use crate::exec::journal::WriteRecord;
use crate::exec::mutate::Session;
use crate::exec::state::State;
use crate::exec::wait::{self, WaitOutcome};
use crate::exec::{confirm, interrupt, mutate};
use crate::host::inventory::Inventory;
use crate::plan::saved;
use crate::plan::{ActionKind, Plan, SCHEMA};
use crate::{plan, render};

#[derive(Serialize)]
struct ApplyDoc<'a> {
    schema: &'static str,
    /// The configuration planned from (absent when a saved plan was applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<String>,
    /// The saved plan applied (`apply --plan FILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_plan: Option<String>,
    dry_run: bool,
    /// `converged` (nothing to do), `applied`, `incomplete`, `dry-run`.
    result: &'static str,
    plan: &'a Plan,
    writes: &'a [WriteRecord],
    #[serde(flatten)]
    outcome: &'a Outcome,
}

/// Where the plan came from: computed from the configuration, or read from a saved plan.
enum Source {
    Config { shown: String },
    Saved { shown: String },
}

impl Source {
    fn doc_fields(&self) -> (Option<String>, Option<String>) {
        match self {
            Source::Config { shown } => (Some(shown.clone()), None),
            Source::Saved { shown } => (None, Some(shown.clone())),
        }
    }
}

pub fn run(ctx: &Context, args: &ApplyArgs, out: &mut dyn Write) -> Result<Code> {
    if let Some(path) = &args.plan {
        return run_saved(ctx, args, path, out);
    }
    let config = ctx.load_config()?;
    let node = ctx.node()?;
    let cfg_shown = match ctx.config_path() {
        p if p.as_os_str() == "-" => "stdin".to_string(),
        p => ctx.sysfs.display(&p),
    };
    // Lock before reading the host, so the plan cannot go stale under another run.
    let mut session = mutate::begin(ctx, &args.mutate, "apply")?;
    if args.wait_for_parents > 0 {
        wait_for_parents(ctx, &config, &node, args.wait_for_parents)?;
    }
    let inv = scan(ctx)?;
    let the_plan = plan::plan(&config, &node, &inv);
    let mut replan = || -> Result<Plan> {
        let inv = Inventory::scan(&ctx.sysfs)?;
        Ok(plan::plan(&config, &node, &inv))
    };
    carry_out(
        ctx,
        args,
        &mut session,
        &the_plan,
        Source::Config { shown: cfg_shown },
        &mut |exec| apply::execute(exec, &the_plan, &mut replan),
        out,
    )
}

/// `apply --plan FILE`: check the saved plan, then carry out exactly its actions.
fn run_saved(ctx: &Context, args: &ApplyArgs, path: &Path, out: &mut dyn Write) -> Result<Code> {
    if args.wait_for_parents > 0 {
        return Err(fail(
            Code::Usage,
            "--wait-for-parents cannot be used with --plan: a saved plan names its parents; wait for them, then apply it",
        ));
    }
    let (shown, text) = saved::read(path)?;
    let the_plan = saved::parse(&text, &shown)?;
    let node = ctx.node()?;
    saved::check_node_and_counts(&the_plan, &node, &shown)?;
    let mut session = mutate::begin(ctx, &args.mutate, "apply")?;
    saved::check_host(&ctx.sysfs, &the_plan, &shown)?;
    let inv = scan(ctx)?;
    let removals = the_plan.count(ActionKind::Remove) + the_plan.count(ActionKind::ClearVgpuType);
    let creations = the_plan.count(ActionKind::Create) + the_plan.count(ActionKind::SetVgpuType);
    if removals > 0 && creations > 0 {
        log::info!(
            "applying the saved plan {shown} as it is: its creations are not re-planned after its removals"
        );
    }
    carry_out(
        ctx,
        args,
        &mut session,
        &the_plan,
        Source::Saved { shown },
        &mut |exec| apply::execute_saved(exec, &the_plan, &inv),
        out,
    )
}

/// Read the host, warning when open files could not be inspected.
fn scan(ctx: &Context) -> Result<Inventory> {
    let inv = Inventory::scan(&ctx.sysfs)?;
    if inv.uninspected_processes > 0 {
        log::warn!(
            "could not inspect the open files of {} processes (not root): in-use mdevs may not be detected",
            inv.uninspected_processes
        );
    }
    Ok(inv)
}

/// Show the plan, confirm, execute it through `run_plan`, verify, report.
fn carry_out(
    ctx: &Context,
    args: &ApplyArgs,
    session: &mut Session,
    the_plan: &Plan,
    source: Source,
    run_plan: &mut dyn FnMut(&mut Executor) -> Result<()>,
    out: &mut dyn Write,
) -> Result<Code> {
    let dry_run = args.mutate.dry_run;
    let (config, saved) = source.doc_fields();
    if the_plan.is_noop() && the_plan.blocked.is_empty() {
        match ctx.output {
            Output::Table => match &source {
                Source::Config { shown } => writeln!(out, "host already matches {shown}")?,
                Source::Saved { shown } => {
                    writeln!(out, "the saved plan {shown} has no changes; nothing to do")?
                }
            },
            f => render::document(
                out,
                f,
                &ApplyDoc {
                    schema: SCHEMA,
                    config,
                    saved_plan: saved,
                    dry_run,
                    result: "converged",
                    plan: the_plan,
                    writes: &[],
                    outcome: &Outcome::default(),
                },
            )?,
        }
        return Ok(Code::Ok);
    }
    let mut state = State::load(&ctx.sysfs)?;
    if ctx.output == Output::Table {
        render::plan_table(out, the_plan)?;
        writeln!(out)?;
        out.flush()?;
    }
    let n = the_plan.actions.len();
    if n > 0 && !dry_run {
        let removals =
            the_plan.count(ActionKind::Remove) + the_plan.count(ActionKind::ClearVgpuType);
        let creations =
            the_plan.count(ActionKind::Create) + the_plan.count(ActionKind::SetVgpuType);
        let prompt = format!(
            "apply {n} change{} to this host ({} removal{}, {} creation{})?",
            plural(n),
            removals,
            plural(removals),
            creations,
            plural(creations),
        );
        if !confirm::confirm(&prompt, args.mutate.yes)? {
            log::error!("aborted; nothing was changed");
            return Ok(Code::Failure);
        }
    }
    if dry_run && ctx.output == Output::Table {
        writeln!(out, "dry run: these writes would be made (none were):")?;
        out.flush()?;
    }
    let stop = interrupt::requested;
    let mut exec = Executor::new(&mut session.journal, &mut state, &stop);
    run_plan(&mut exec)?;
    let mut outcome = exec.outcome;
    if dry_run {
        let unknown: Vec<&str> = the_plan
            .cards
            .iter()
            .filter(|p| p.create.is_none())
            .map(|p| p.address.as_str())
            .collect();
        if !unknown.is_empty() {
            log::warn!(
                "the creations on {} are planned after the removals run (their count is known only then); a real run writes them",
                unknown.join(", ")
            );
        }
    } else if !outcome.done.is_empty() {
        let after = Inventory::scan(&ctx.sysfs)?;
        outcome.differences = apply::verify(&after, &outcome);
    }
    let result = if dry_run {
        "dry-run"
    } else if outcome.complete() {
        "applied"
    } else {
        "incomplete"
    };
    match ctx.output {
        Output::Table => summary(out, &outcome, dry_run)?,
        f => render::document(
            out,
            f,
            &ApplyDoc {
                schema: SCHEMA,
                config,
                saved_plan: saved,
                dry_run,
                result,
                plan: the_plan,
                writes: session.journal.writes(),
                outcome: &outcome,
            },
        )?,
    }
    Ok(finish(ctx, "apply", &outcome))
}

/// `--wait-for-parents`: the vendor driver registers mdev parents some time after boot;
/// wait (bounded) so the plan is not made against a half-registered host. A real run
/// waits under the lock, so no other run changes mdevs meanwhile.
fn wait_for_parents(ctx: &Context, config: &Config, node: &Node, seconds: u64) -> Result<()> {
    let desired = match config.desired_for(node) {
        Desired::Types(types) => types,
        Desired::NotConfigured | Desired::Disabled => Vec::new(),
    };
    let outcome = wait::wait_for_parents(
        &ctx.sysfs,
        &desired,
        Duration::from_secs(seconds),
        wait::POLL,
    )?;
    match &outcome {
        WaitOutcome::TimedOut { .. } => log::warn!("{}", outcome.message(&desired)),
        WaitOutcome::Ready { waited, .. } if !waited.is_zero() => {
            log::info!("{}", outcome.message(&desired))
        }
        _ => log::debug!("{}", outcome.message(&desired)),
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The closing diagnostic and the exit code: 0 when everything was done, else 1.
pub fn finish(ctx: &Context, command: &str, o: &Outcome) -> Code {
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
    if !o.in_use.is_empty() {
        parts.push(format!("{} mdev(s) in use left alone", o.in_use.len()));
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
    let _ = ctx;
    log::error!("{command} incomplete: {}", parts.join(", "));
    Code::Failure
}

/// What was and was not done, on stdout.
pub fn summary(out: &mut dyn Write, o: &Outcome, dry_run: bool) -> Result<()> {
    let verb = if dry_run { "would remove" } else { "removed" };
    let verb2 = if dry_run { "would create" } else { "created" };
    writeln!(
        out,
        "{verb} {} mdev(s), {verb2} {} mdev(s){}",
        o.count(ActionKind::Remove),
        o.count(ActionKind::Create),
        if o.replanned {
            " (creations re-planned after the removals)"
        } else if o.saved_plan
            && o.count(ActionKind::Remove) + o.count(ActionKind::ClearVgpuType) > 0
        {
            " (saved plan: creations as planned, not re-planned after the removals)"
        } else {
            ""
        }
    )?;
    let (set, clear) = (
        o.count(ActionKind::SetVgpuType),
        o.count(ActionKind::ClearVgpuType),
    );
    if set + clear > 0 || !o.capacity_reached.is_empty() {
        let (v1, v2) = if dry_run {
            ("would set", "would clear")
        } else {
            ("set", "cleared")
        };
        writeln!(
            out,
            "{v1} the vGPU type of {set} VF(s), {v2} it on {clear} VF(s)"
        )?;
    }
    if !o.capacity_reached.is_empty() {
        let gpus: std::collections::BTreeSet<&str> =
            o.capacity_reached.iter().filter_map(|a| a.gpu()).collect();
        writeln!(
            out,
            "capacity reached on {} (the type is no longer creatable): {} VF(s) left free",
            gpus.into_iter().collect::<Vec<_>>().join(", "),
            o.capacity_reached.len()
        )?;
    }
    if !o.gone.is_empty() {
        writeln!(out, "already gone:")?;
        for a in &o.gone {
            writeln!(out, "  {}", a.describe())?;
        }
    }
    if !o.in_use.is_empty() {
        writeln!(out, "in use, left alone:")?;
        for b in &o.in_use {
            writeln!(out, "  {}: {}", b.describe(), b.reason())?;
        }
    }
    if !o.failed.is_empty() {
        writeln!(out, "failed:")?;
        for f in &o.failed {
            let a = &f.action;
            writeln!(
                out,
                "  {} {}: {}",
                a.kind().as_str(),
                a.describe(),
                f.reason
            )?;
        }
    }
    if !o.not_done.is_empty() {
        writeln!(out, "not done:")?;
        for f in &o.not_done {
            let a = &f.action;
            writeln!(
                out,
                "  {} {}: {}",
                a.kind().as_str(),
                a.describe(),
                f.reason
            )?;
        }
    }
    if !o.differences.is_empty() {
        writeln!(out, "host differs from the plan after applying:")?;
        for d in &o.differences {
            writeln!(out, "  {d}")?;
        }
    }
    for e in &o.errors {
        writeln!(out, "error: {e}")?;
    }
    Ok(())
}
