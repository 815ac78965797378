//! `apply` as a pipeline [`Job`]: an mdev/vGPU plan made from the configuration (re-planned
//! after the removals) or read from a saved plan (carried out exactly).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{execute, execute_saved, Executor, Outcome};
use crate::cli::Output;
use crate::config::{model::Config, node::Node};
use crate::context::Context;
use crate::error::Code;
use crate::exec::journal::WriteRecord;
use crate::exec::pipeline::{announce_dry_run, changed_meanwhile, finish, plural, Job, Run, Work};
use crate::host::inventory::Inventory;
use crate::plan::{self, ActionKind, Plan, SCHEMA};
use crate::render;

#[derive(Serialize)]
struct ApplyDoc<'a> {
    schema: &'static str,
    /// The configuration planned from (absent when a saved plan was applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a str>,
    /// The saved plan applied (`apply --plan FILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_plan: Option<&'a str>,
    dry_run: bool,
    /// `converged` (nothing to do), `not-ready` (nothing more can be done until a GPU is
    /// ready for vGPUs: `plan.problems`), `applied`, `incomplete`, `dry-run`.
    result: &'static str,
    plan: &'a Plan,
    writes: &'a [WriteRecord],
    #[serde(flatten)]
    outcome: &'a Outcome,
}

/// Where the plan came from.
pub(crate) enum PlanSource<'a> {
    /// Computed from the configuration (`shown`: how to name it).
    Config {
        shown: String,
        config: &'a Config,
        node: &'a Node,
    },
    /// Read from a saved plan.
    Saved { shown: String },
}

pub(crate) struct ApplyJob<'a> {
    pub(crate) plan: Plan,
    source: PlanSource<'a>,
    /// The host the plan was made against (re-read under the lock).
    inv: Inventory,
    dry_run: bool,
    /// GPUs worked on at once (`--jobs`).
    pub(crate) jobs: usize,
    /// How long enabling one GPU's VFs may take (`--vf-timeout`).
    pub(crate) vf_timeout: std::time::Duration,
}

impl<'a> ApplyJob<'a> {
    pub(crate) fn new(plan: Plan, source: PlanSource<'a>, inv: Inventory, dry_run: bool) -> Self {
        ApplyJob {
            plan,
            source,
            inv,
            dry_run,
            jobs: MAX_JOBS,
            vf_timeout: super::VF_TIMEOUT,
        }
    }

    fn shown(&self) -> (Option<&str>, Option<&str>) {
        match &self.source {
            PlanSource::Config { shown, .. } => (Some(shown), None),
            PlanSource::Saved { shown } => (None, Some(shown)),
        }
    }

    fn document(
        &self,
        out: &mut dyn Write,
        f: Output,
        result: &'static str,
        run: Option<&Run>,
    ) -> Result<()> {
        let (config, saved_plan) = self.shown();
        let none = Outcome::default();
        render::document(
            out,
            f,
            &ApplyDoc {
                schema: SCHEMA,
                config,
                saved_plan,
                dry_run: self.dry_run,
                result,
                plan: &self.plan,
                writes: run.map_or(&[], |r| r.writes),
                outcome: run.map_or(&none, |r| r.outcome),
            },
        )
    }

    /// Nothing to do: say so, with the problems `plan` shows (an SR-IOV GPU whose VFs are
    /// not enabled needs `sriov-manage -e` before it can take vGPUs).
    fn converged(&self, ctx: &Context, out: &mut dyn Write) -> Result<Code> {
        let ready = self.plan.problems.is_empty();
        for p in &self.plan.problems {
            log::error!("{}: {}", p.address, p.message);
        }
        match ctx.output {
            Output::Table => {
                match (&self.source, ready) {
                    (PlanSource::Config { shown, .. }, true) => {
                        writeln!(out, "host already matches {shown}")?
                    }
                    (PlanSource::Config { shown, .. }, false) => writeln!(
                        out,
                        "nothing to do now, but the host does not match {shown} yet"
                    )?,
                    (PlanSource::Saved { shown }, _) => {
                        writeln!(out, "the saved plan {shown} has no changes; nothing to do")?
                    }
                }
                if !ready {
                    writeln!(out, "\nnot ready for vGPUs (fix, then re-run):")?;
                    for p in &self.plan.problems {
                        writeln!(out, "  {}", p.message)?;
                    }
                }
            }
            f => self.document(out, f, if ready { "converged" } else { "not-ready" }, None)?,
        }
        Ok(self.readiness(Code::Ok))
    }

    /// `code`, unless a GPU is not ready for vGPUs: then nothing more can be done now and
    /// the host is not converged ([`Code::NotReady`]).
    fn readiness(&self, code: Code) -> Code {
        if code == Code::Ok && !self.plan.problems.is_empty() {
            log::error!(
                "the host is not ready for the configuration: {} GPU(s) not ready for vGPUs (see above); exit {}",
                self.plan.problems.len(),
                Code::NotReady.as_i32()
            );
            Code::NotReady
        } else {
            code
        }
    }
}

/// Workers when `--jobs` is not given: one per GPU, up to the option's own limit.
pub(crate) const MAX_JOBS: usize = 64;

impl Job for ApplyJob<'_> {
    fn tune(&self, exec: &mut Executor) {
        exec.jobs = self.jobs;
        exec.vf_timeout = self.vf_timeout;
    }

    fn expected_writes(&self) -> Option<u64> {
        Some(self.plan.actions.len() as u64)
    }

    fn work(&self) -> Work {
        let p = &self.plan;
        if p.is_noop() && p.blocked.is_empty() {
            return Work::Nothing;
        }
        let n = p.actions.len();
        if n == 0 {
            return Work::NoWrites;
        }
        let removals = p.count(ActionKind::Remove) + p.count(ActionKind::ClearVgpuType);
        let creations = n - removals;
        Work::Writes(format!(
            "apply {n} change{} to this host ({removals} removal{}, {creations} creation{})?",
            plural(n),
            plural(removals),
            plural(creations),
        ))
    }

    fn show(&self, out: &mut dyn Write, dry_run: bool) -> Result<()> {
        render::plan::plan_table(out, &self.plan)?;
        writeln!(out)?;
        announce_dry_run(out, dry_run)
    }

    fn refresh(&mut self, ctx: &Context) -> Result<()> {
        let inv = Inventory::scan(&ctx.root)?;
        if let PlanSource::Config { config, node, .. } = &self.source {
            let again = plan::plan(config, node, &inv);
            if again.actions != self.plan.actions {
                return Err(changed_meanwhile("apply"));
            }
            self.plan = again;
        }
        self.inv = inv;
        Ok(())
    }

    /// Only what the run wrote to is read back.
    fn verify(&self, ctx: &Context, outcome: &Outcome) -> Result<Vec<String>> {
        Ok(super::verify_touched(&ctx.root, outcome))
    }

    fn execute(&mut self, ctx: &Context, exec: &mut Executor, _out: &mut dyn Write) -> Result<()> {
        match &self.source {
            PlanSource::Config { config, node, .. } => {
                let mut replan = || -> Result<Plan> {
                    Ok(plan::plan(config, node, &Inventory::scan(&ctx.root)?))
                };
                execute(exec, &self.plan, &mut replan)
            }
            PlanSource::Saved { .. } => execute_saved(exec, &self.plan, &self.inv),
        }
    }

    fn report(&self, ctx: &Context, out: &mut dyn Write, run: Option<&Run>) -> Result<Code> {
        let Some(run) = run else {
            return self.converged(ctx, out);
        };
        if run.dry_run {
            let unknown = render::plan::sized_after_removals(&self.plan);
            if !unknown.is_empty() {
                log::warn!(
                    "the creations on {} are planned after the removals run (their count is known only then); a real run writes them",
                    unknown.join(", ")
                );
            }
        }
        let result = if run.dry_run {
            "dry-run"
        } else if !run.outcome.complete() {
            "incomplete"
        } else if !self.plan.problems.is_empty() {
            "not-ready"
        } else {
            "applied"
        };
        match ctx.output {
            Output::Table => render::run::summary(out, run.outcome, run.dry_run)?,
            f => self.document(out, f, result, Some(run))?,
        }
        let code = finish("apply", run.outcome);
        Ok(if run.dry_run {
            code
        } else {
            self.readiness(code)
        })
    }
}
