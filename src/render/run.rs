//! What a mutating run did, for people: the summary of an mdev/vGPU run (done, failed,
//! not done, in use, differences) and the per-device table of `bind vfio`.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;

use crate::outcome::DeviceResult;
use crate::outcome::Outcome;
use crate::plan::ActionKind;

/// What was and was not done, on stdout.
pub(crate) fn summary(out: &mut dyn Write, o: &Outcome, dry_run: bool) -> Result<()> {
    let verb = if dry_run { "would remove" } else { "removed" };
    let verb2 = if dry_run { "would create" } else { "created" };
    writeln!(
        out,
        "{verb} {} mdev(s), {verb2} {} mdev(s){}",
        o.count(ActionKind::Remove),
        o.count(ActionKind::Create),
        if o.replanned && o.done.iter().any(|a| a.kind().is_sriov()) {
            " (creations planned again once the VFs offered their types)"
        } else if o.replanned {
            " (creations re-planned after the removals)"
        } else if o.saved_plan
            && o.count(ActionKind::Remove) + o.count(ActionKind::ClearVgpuType) > 0
        {
            " (saved plan: creations as planned, not re-planned after the removals)"
        } else {
            ""
        }
    )?;
    vgpu_lines(out, o, dry_run)?;
    vf_lines(out, o, dry_run)?;
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
    for (title, list) in [("failed:", &o.failed), ("not done:", &o.not_done)] {
        if !list.is_empty() {
            writeln!(out, "{title}")?;
            for f in list {
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

fn vgpu_lines(out: &mut dyn Write, o: &Outcome, dry_run: bool) -> Result<()> {
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
        let gpus: BTreeSet<&str> = o.capacity_reached.iter().filter_map(|a| a.gpu()).collect();
        writeln!(
            out,
            "capacity reached on {} (the type is no longer creatable): {} VF(s) left free",
            gpus.into_iter().collect::<Vec<_>>().join(", "),
            o.capacity_reached.len()
        )?;
    }
    Ok(())
}

/// The GPUs whose SR-IOV VFs were enabled or disabled, one line each (only when there were).
fn vf_lines(out: &mut dyn Write, o: &Outcome, dry_run: bool) -> Result<()> {
    for a in &o.done {
        let line = match a {
            crate::plan::Action::EnableVfs(s) if dry_run => {
                format!("would enable {} VF(s) on {}", s.count, s.address)
            }
            crate::plan::Action::EnableVfs(s) => format!(
                "enabled {} VF(s) on {}: they offer their vGPU types",
                s.count, s.address
            ),
            crate::plan::Action::DisableVfs(s) if dry_run => {
                format!("would disable the {} VF(s) of {}", s.from, s.address)
            }
            crate::plan::Action::DisableVfs(s) => {
                format!("disabled the {} VF(s) of {}", s.from, s.address)
            }
            _ => continue,
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// One row per device: address, ID, original driver, result, detail.
pub(crate) fn device_table(out: &mut dyn Write, results: &[DeviceResult]) -> Result<()> {
    let mut t = super::table(&["DEVICE", "ID", "DRIVER", "RESULT", "DETAIL"]);
    for r in results {
        t.add_row(vec![
            r.address.clone(),
            r.vendor_device.clone(),
            r.original_driver.clone().unwrap_or_else(|| "-".into()),
            r.outcome.result().to_string(),
            r.outcome.detail().unwrap_or_default(),
        ]);
    }
    super::write_table(out, &t)
}
