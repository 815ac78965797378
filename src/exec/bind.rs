//! `bind vfio` as a pipeline [`Job`]: bind what the bind planner chose, one device at a
//! time through the journal (driver_override, unbind, drivers_probe, verify), each
//! recorded in the state file before its writes.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::cli::Output;
use crate::context::Context;
use crate::error::{fail, Code};
use crate::exec::apply::Executor;
use crate::exec::journal::WriteRecord;
use crate::exec::pipeline::{announce_dry_run, changed_meanwhile, Job, Run, Work};
use crate::exec::vfio::bind::bind_all;
use crate::host::inventory::{Inventory, VFIO_PCI};
use crate::host::usage::host_use;
use crate::outcome::{DeviceOutcome, DeviceResult};
use crate::plan::bind::{self, BindPlan};
use crate::plan::SCHEMA;
use crate::render;

#[derive(Serialize)]
struct BindDoc<'a> {
    schema: &'static str,
    dry_run: bool,
    devices: &'a [DeviceResult],
    writes: &'a [WriteRecord],
}

pub(crate) struct BindJob {
    selected: Vec<String>,
    with_group: bool,
    dry_run: bool,
    plan: BindPlan,
    inv: Inventory,
    results: Vec<DeviceResult>,
}

/// Plan the binding of `selected` on the host `inv`.
fn plan_on(ctx: &Context, inv: &Inventory, selected: &[String], with_group: bool) -> BindPlan {
    bind::plan(inv, selected, with_group, &|d| host_use(&ctx.root, inv, d))
}

impl BindJob {
    pub(crate) fn new(
        ctx: &Context,
        inv: Inventory,
        selected: Vec<String>,
        with_group: bool,
        dry_run: bool,
    ) -> Self {
        let plan = plan_on(ctx, &inv, &selected, with_group);
        BindJob {
            selected,
            with_group,
            dry_run,
            plan,
            inv,
            results: Vec::new(),
        }
    }

    fn results(&self, extra: &[DeviceResult]) -> Vec<DeviceResult> {
        let mut all: Vec<DeviceResult> =
            self.plan
                .already
                .iter()
                .map(|a| DeviceResult::of(&self.inv, a, DeviceOutcome::AlreadyBound))
                .chain(self.plan.refused.iter().map(|(a, r)| {
                    DeviceResult::of(&self.inv, a, DeviceOutcome::Refused(r.clone()))
                }))
                .chain(extra.iter().cloned())
                .collect();
        all.sort_by(|a, b| a.address.cmp(&b.address));
        all
    }

    fn print(
        &self,
        ctx: &Context,
        out: &mut dyn Write,
        results: &[DeviceResult],
        writes: &[WriteRecord],
    ) -> Result<()> {
        match ctx.output {
            Output::Table => {
                if self.dry_run && !writes.is_empty() {
                    writeln!(out)?;
                }
                render::run::device_table(out, results)
            }
            f => render::document(
                out,
                f,
                &BindDoc {
                    schema: SCHEMA,
                    dry_run: self.dry_run,
                    devices: results,
                    writes,
                },
            ),
        }
    }
}

impl Job for BindJob {
    fn work(&self) -> Work {
        if !self.plan.refused.is_empty() || self.plan.bind.is_empty() {
            return Work::Nothing;
        }
        Work::Writes(format!(
            "bind {} device(s) to vfio-pci?",
            self.plan.bind.len()
        ))
    }

    fn show(&self, out: &mut dyn Write, dry_run: bool) -> Result<()> {
        writeln!(out, "bind {} device(s) to vfio-pci:", self.plan.bind.len())?;
        for a in &self.plan.bind {
            let d = self.inv.pci_device(a);
            writeln!(
                out,
                "  {a}  {}  {} -> vfio-pci",
                d.map(|d| d.vendor_device()).unwrap_or_default(),
                d.and_then(|d| d.driver.clone())
                    .unwrap_or_else(|| "(no driver)".into())
            )?;
        }
        writeln!(out)?;
        announce_dry_run(out, dry_run)
    }

    fn refresh(&mut self, ctx: &Context) -> Result<()> {
        let inv = Inventory::scan(&ctx.root)?;
        let again = plan_on(ctx, &inv, &self.selected, self.with_group);
        if again.bind != self.plan.bind || !again.refused.is_empty() {
            return Err(changed_meanwhile("bind vfio"));
        }
        self.plan = again;
        self.inv = inv;
        Ok(())
    }

    fn execute(&mut self, ctx: &Context, exec: &mut Executor, _out: &mut dyn Write) -> Result<()> {
        load_vfio_pci(ctx, exec)?;
        self.results = bind_all(exec, &self.inv, &self.plan.bind);
        Ok(())
    }

    fn verify(&self, _ctx: &Context, _outcome: &crate::outcome::Outcome) -> Result<Vec<String>> {
        // each binding is verified right after its writes (the `driver` link)
        Ok(Vec::new())
    }

    fn report(&self, ctx: &Context, out: &mut dyn Write, run: Option<&Run>) -> Result<Code> {
        let Some(run) = run else {
            for (a, why) in &self.plan.refused {
                log::error!("refusing to bind {a} to vfio-pci: {why}");
            }
            let refused = !self.plan.refused.is_empty();
            if refused {
                log::error!("nothing was changed");
            }
            self.print(ctx, out, &self.results(&[]), &[])?;
            return Ok(Code::failure_if(refused));
        };
        let results = self.results(&self.results);
        self.print(ctx, out, &results, run.writes)?;
        let failed = self.results.iter().any(|r| {
            matches!(
                r.outcome,
                DeviceOutcome::Failed(_) | DeviceOutcome::Skipped(_)
            )
        });
        if failed {
            let done: Vec<&str> = results
                .iter()
                .filter(|r| r.outcome == DeviceOutcome::Bound)
                .map(|r| r.address.as_str())
                .collect();
            log::error!(
                "bind vfio incomplete: bound {}; see the failures above",
                if done.is_empty() {
                    "none".to_string()
                } else {
                    done.join(", ")
                }
            );
        }
        Ok(Code::failure_if(failed))
    }
}

/// `modprobe vfio-pci` when its driver directory is absent, through the journal: a dry
/// run prints it, a real run records it in the audit log (skipped under a fake root, with
/// a warning), and a failure stops the run before any device is touched.
fn load_vfio_pci(ctx: &Context, exec: &mut Executor) -> Result<()> {
    if crate::host::live::driver_loaded(&ctx.root, VFIO_PCI) {
        return Ok(());
    }
    let dry_run = exec.journal.dry_run;
    exec.journal.load_module(VFIO_PCI).map_err(|e| {
        fail(
            Code::Failure,
            format!("{e}; nothing was changed. Is the vfio-pci module installed?"),
        )
    })?;
    if !dry_run && !ctx.root.is_real_root() {
        log::warn!(
            "vfio-pci is not loaded ({} is missing); on the real root hostdev would run `modprobe vfio-pci` now",
            ctx.root.display(&ctx.root.pci_driver(VFIO_PCI))
        );
    }
    Ok(())
}
