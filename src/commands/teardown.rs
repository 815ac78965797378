//! `hostdev teardown`: remove the mdevs hostdev created (from the state file; `--all`:
//! every mdev not in use) and return vfio-bound devices to their original drivers.

use std::io::Write;

use anyhow::Result;

use crate::error::Code;
use serde::Serialize;

use crate::cli::{Output, TeardownArgs};
use crate::commands::apply::{finish, summary};
use crate::context::Context;
use crate::exec::apply::in_use_by;
use crate::exec::apply::{Executor, Outcome};
use crate::exec::journal::{Journal, WriteRecord};
use crate::exec::state::State;
use crate::exec::{apply, confirm, interrupt, mutate};
use crate::host::inventory::Inventory;
use crate::plan::{Action, Blocked, MdevAction, VfAction, SCHEMA};
use crate::render;

#[derive(Serialize)]
struct TeardownDoc<'a> {
    schema: &'static str,
    dry_run: bool,
    result: &'static str,
    remove: &'a [Action],
    writes: &'a [WriteRecord],
    #[serde(flatten)]
    outcome: &'a Outcome,
    vfio: &'a VfioTeardown,
}

/// The vfio part of a teardown.
#[derive(Debug, Default, Serialize)]
pub struct VfioTeardown {
    /// Devices recorded in the state's `vfio` section that were not returned.
    pub left_bound: Vec<String>,
    pub note: Option<String>,
    /// Recorded devices looked at (restored, skipped or failed).
    pub handled: usize,
}

pub fn run(ctx: &Context, args: &TeardownArgs, out: &mut dyn Write) -> Result<Code> {
    // Neither flag: both parts.
    let do_mdevs = args.mdevs || !args.vfio;
    let do_vfio = args.vfio || !args.mdevs;
    let dry_run = args.mutate.dry_run;
    let mut session = mutate::begin(ctx, &args.mutate, "teardown")?;
    let mut state = State::load(&ctx.sysfs)?;
    let inv = Inventory::scan(&ctx.sysfs)?;

    let mut targets: Vec<Action> = Vec::new();
    let mut in_use: Vec<Blocked> = Vec::new();
    let mut stale: Vec<String> = Vec::new();
    if do_mdevs {
        for rec in &state.mdevs {
            if !inv.mdevs.iter().any(|m| m.uuid == rec.uuid) {
                stale.push(rec.uuid.clone());
            }
        }
        for m in &inv.mdevs {
            let ours = state.mdevs.iter().any(|r| r.uuid == m.uuid);
            if !ours && !args.all {
                continue;
            }
            let action = Action::Remove(MdevAction {
                uuid: m.uuid.clone(),
                parent: m.parent.clone(),
                gpu: None,
                type_id: m.type_id.clone().unwrap_or_else(|| "(unknown type)".into()),
                type_name: None,
            });
            let holders = inv.holders_of(&m.device_paths());
            if holders.is_empty() {
                targets.push(action);
            } else {
                in_use.push(Blocked::of(&action, in_use_by(&holders)));
            }
        }
        // NVIDIA vendor-VFIO VFs: the ones hostdev configured (`--all`: every configured
        // VF) get `current_vgpu_type` ← 0; the VF stays bound to `nvidia`.
        let mut stale_vfs: Vec<String> = Vec::new();
        for rec in &state.vgpu_vfs {
            let now = inv
                .pci_device(&rec.address)
                .and_then(|d| d.nvidia.as_ref())
                .map_or(0, |n| n.current_vgpu_type);
            if now == 0 {
                stale_vfs.push(rec.address.clone());
            }
        }
        for d in &inv.pci {
            let Some(cur) = d
                .nvidia
                .as_ref()
                .map(|n| n.current_vgpu_type)
                .filter(|c| *c != 0)
            else {
                continue;
            };
            if !args.all && !state.vgpu_vfs.iter().any(|r| r.address == d.address) {
                continue;
            }
            let holders = inv.holders_of(&crate::host::inventory::device_paths(
                d.iommu_group.as_deref(),
                &d.cdevs,
            ));
            let action = Action::ClearVgpuType(VfAction {
                address: d.address.clone(),
                gpu: d.physfn.clone(),
                type_id: cur,
                type_name: None,
            });
            if holders.is_empty() {
                targets.push(action);
            } else {
                in_use.push(Blocked::of(&action, in_use_by(&holders)));
            }
        }
        if !stale_vfs.is_empty() && !dry_run {
            for a in &stale_vfs {
                state.drop_vgpu_vf(a);
            }
            state.save(&ctx.sysfs)?;
            log::debug!(
                "dropped {} VF(s) from the state file that no longer carry a vGPU type: {}",
                stale_vfs.len(),
                stale_vfs.join(", ")
            );
        }
        if !stale.is_empty() && !dry_run {
            // Already gone (e.g. after a reboot): forget them, nothing to write.
            for u in &stale {
                state.drop_mdev(u);
            }
            state.save(&ctx.sysfs)?;
            log::debug!(
                "dropped {} mdev(s) from the state file that are no longer on the host: {}",
                stale.len(),
                stale.join(", ")
            );
        }
    }

    if ctx.output == Output::Table && !targets.is_empty() {
        writeln!(
            out,
            "{} mdev(s) or vGPU type(s) to remove{}:",
            targets.len(),
            if args.all { " (--all)" } else { "" }
        )?;
        for a in &targets {
            writeln!(out, "  {}", a.describe())?;
        }
        writeln!(out)?;
        out.flush()?;
    }
    let vfio_pending = do_vfio && !state.vfio.is_empty();
    if !targets.is_empty() || vfio_pending {
        if !dry_run {
            let prompt = format!(
                "remove {} mdev(s) or vGPU type(s){} from this host?",
                targets.len(),
                if vfio_pending {
                    format!(" and return {} vfio-bound device(s)", state.vfio.len())
                } else {
                    String::new()
                }
            );
            if !confirm::confirm(&prompt, args.mutate.yes)? {
                log::error!("aborted; nothing was changed");
                return Ok(Code::Failure);
            }
        } else if ctx.output == Output::Table {
            writeln!(out, "dry run: these writes would be made (none were):")?;
            out.flush()?;
        }
    }

    let stop = interrupt::requested;
    let mut exec = Executor::new(&mut session.journal, &mut state, &stop);
    exec.outcome.in_use = in_use;
    let (vf_targets, mdev_targets): (Vec<Action>, Vec<Action>) =
        targets.iter().cloned().partition(|a| a.vf().is_some());
    exec.remove(&mdev_targets)?;
    exec.clear_vgpu(&vf_targets)?;
    let mut outcome = exec.outcome;
    let vfio = if do_vfio {
        teardown_vfio(ctx, &mut session.journal, &mut state)?
    } else {
        VfioTeardown::default()
    };
    if !dry_run && !outcome.done.is_empty() {
        let after = Inventory::scan(&ctx.sysfs)?;
        outcome.differences = apply::verify(&after, &outcome);
    }

    let nothing = targets.is_empty() && outcome.in_use.is_empty() && vfio.handled == 0;
    match ctx.output {
        Output::Table => {
            if nothing {
                writeln!(out, "nothing to tear down")?;
            } else {
                summary(out, &outcome, dry_run)?;
            }
            if let Some(n) = vfio
                .note
                .as_ref()
                .filter(|_| args.vfio || !vfio.left_bound.is_empty())
            {
                writeln!(out, "{n}")?;
            }
        }
        f => render::document(
            out,
            f,
            &TeardownDoc {
                schema: SCHEMA,
                dry_run,
                result: if dry_run {
                    "dry-run"
                } else if outcome.complete() && vfio.left_bound.is_empty() {
                    "done"
                } else {
                    "incomplete"
                },
                remove: &targets,
                writes: session.journal.writes(),
                outcome: &outcome,
                vfio: &vfio,
            },
        )?,
    }
    let code = finish(ctx, "teardown", &outcome);
    if !vfio.left_bound.is_empty() {
        log::error!(
            "teardown incomplete: {} vfio-bound device(s) were not returned to their drivers: {}",
            vfio.left_bound.len(),
            vfio.left_bound.join(", ")
        );
        return Ok(Code::Failure);
    }
    Ok(code)
}

/// Return the devices recorded in the state's `vfio` section to their original drivers.
///
/// Hook for `bind vfio` (branch hostprep), which fills that section and implements the
/// restore (clear `driver_override`, unbind from vfio-pci, `drivers_probe`) through the
/// same [`Journal`]. Until it lands, recorded devices are reported as left bound, honestly.
pub fn teardown_vfio(
    ctx: &Context,
    journal: &mut Journal,
    state: &mut State,
) -> Result<VfioTeardown> {
    if state.vfio.is_empty() {
        return Ok(VfioTeardown {
            left_bound: Vec::new(),
            note: Some("no vfio bindings recorded in the state file; no driver to restore".into()),
            handled: 0,
        });
    }
    let inv = Inventory::scan(&ctx.sysfs)?;
    let results = crate::exec::vfio::restore_all(journal, &ctx.sysfs, &inv, state);
    if !journal.dry_run {
        state.save(&ctx.sysfs)?;
    }
    let mut left_bound = Vec::new();
    let mut lines = Vec::new();
    for r in &results {
        let to = r.original_driver.as_deref().unwrap_or("no driver");
        match r.result.as_str() {
            "restored" => lines.push(format!("{}: returned to {to}", r.address)),
            "would-restore" => lines.push(format!("{}: would return to {to}", r.address)),
            "failed" => {
                left_bound.push(r.address.clone());
                let why = r.detail.as_deref().unwrap_or("");
                log::error!("returning {} to {to} failed: {why}", r.address);
                lines.push(format!("{}: FAILED to return to {to}: {why}", r.address));
            }
            _ => {
                let why = r.detail.as_deref().unwrap_or("");
                if why.contains("in use") {
                    left_bound.push(r.address.clone());
                }
                lines.push(format!("{}: skipped: {why}", r.address));
            }
        }
    }
    Ok(VfioTeardown {
        left_bound,
        note: Some(lines.join("\n")),
        handled: results.len(),
    })
}
