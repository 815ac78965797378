//! `hostdev apply`: plan from the configuration, then carry the plan out through the
//! pipeline (show, confirm, lock, execute with a re-plan after the removals, verify).
//! `hostdev apply --plan FILE`: the same with a saved plan, carried out exactly.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::cli::ApplyArgs;
use crate::config::{model::Config, node::Node, selectors::Desired};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::exec::apply::{ApplyJob, PlanSource, MAX_JOBS};
use crate::exec::wait::{self, WaitOutcome};
use crate::exec::{mutate, pipeline};
use crate::host::inventory::Inventory;
use crate::plan::{self, saved, ActionKind};

pub fn run(ctx: &Context, args: &ApplyArgs, out: &mut dyn Write) -> Result<Code> {
    if let Some(path) = &args.plan {
        return run_saved(ctx, args, path, out);
    }
    let config = ctx.load_config()?;
    let node = ctx.node()?;
    let shown = match ctx.config_path() {
        p if p.as_os_str() == "-" => "stdin".to_string(),
        p => ctx.root.display(&p),
    };
    mutate::prepare(ctx, &args.mutate, "apply")?;
    if args.wait_for_parents > 0 {
        wait_for_parents(ctx, &config, &node, args.wait_for_parents)?;
    }
    // Nothing to confirm: the lock first, then one read of the host to plan and write from.
    let lock = if args.mutate.yes {
        Some(mutate::lock(ctx, &args.mutate)?)
    } else {
        None
    };
    let inv = scan(ctx)?;
    let the_plan = plan::plan(&config, &node, &inv);
    let source = PlanSource::Config {
        shown,
        config: &config,
        node: &node,
    };
    let mut job = ApplyJob::new(the_plan, source, inv, args.mutate.dry_run);
    job.jobs = jobs(args);
    job.vf_timeout = Duration::from_secs(args.vf_timeout);
    match lock {
        Some(lock) => pipeline::run_locked(ctx, &args.mutate, &mut job, out, lock),
        None => pipeline::run(ctx, &args.mutate, &mut job, out),
    }
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
    mutate::prepare(ctx, &args.mutate, "apply")?;
    saved::check_host(&ctx.root, &the_plan, &shown)?;
    let inv = scan(ctx)?;
    let removals = the_plan.count(ActionKind::Remove) + the_plan.count(ActionKind::ClearVgpuType);
    if removals > 0 && removals < the_plan.actions.len() {
        log::info!(
            "applying the saved plan {shown} as it is: its creations are not re-planned after its removals"
        );
    }
    let mut job = ApplyJob::new(
        the_plan,
        PlanSource::Saved { shown },
        inv,
        args.mutate.dry_run,
    );
    job.jobs = jobs(args);
    job.vf_timeout = Duration::from_secs(args.vf_timeout);
    pipeline::run(ctx, &args.mutate, &mut job, out)
}

/// `--jobs`, or one worker per GPU.
fn jobs(args: &ApplyArgs) -> usize {
    args.jobs.map_or(MAX_JOBS, usize::from)
}

/// Read the host, warning when open files could not be inspected.
fn scan(ctx: &Context) -> Result<Inventory> {
    let inv = Inventory::scan(&ctx.root)?;
    if inv.uninspected_processes > 0 {
        log::warn!(
            "could not inspect the open files of {} processes (not root): in-use mdevs may not be detected",
            inv.uninspected_processes
        );
    }
    Ok(inv)
}

/// `--wait-for-parents`: the vendor driver registers mdev parents some time after boot;
/// wait (bounded) so the plan is not made against a half-registered host. The plan is
/// made again under the lock before anything is written.
fn wait_for_parents(ctx: &Context, config: &Config, node: &Node, seconds: u64) -> Result<()> {
    let desired = match config.desired_for(node) {
        Desired::Types(types) => types,
        Desired::NotConfigured | Desired::Disabled => Vec::new(),
    };
    let outcome = wait::wait_for_parents(
        &ctx.root,
        &desired,
        config.vfs_for(node).is_some(),
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
