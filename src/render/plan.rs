//! `plan` for people (also `apply`'s and `init`'s view of a plan): the node, the per-card
//! table, the actions, what is blocked, the closing count. The document form is the
//! [`Plan`] itself, serialized by [`document`](super::document).

use std::io::Write;

use anyhow::Result;

use super::{escape, table, write_table};
use crate::plan::{Action, ActionKind, Blocked, CardKind, MdevHandling, Plan};

pub(crate) fn plan_table(out: &mut dyn Write, plan: &Plan) -> Result<()> {
    plan_header(out, plan)?;
    if plan.cards.is_empty() && plan.count(ActionKind::EnableVfs) > 0 {
        writeln!(out, "no mdev parents yet: the GPUs' VFs are enabled first")?;
    } else if plan.cards.is_empty() {
        writeln!(out, "no mdev parents or vGPU-capable GPUs on this host")?;
    } else {
        writeln!(out)?;
        plan_cards(out, plan)?;
    }
    plan_actions(out, plan)?;
    plan_blocked(out, plan)?;
    if !plan.problems.is_empty() {
        writeln!(out, "\nnot ready for vGPUs (fix, then re-run):")?;
        for p in &plan.problems {
            writeln!(out, "  {}", p.message)?;
        }
    }
    let unknown = sized_after_removals(plan);
    if !unknown.is_empty() {
        writeln!(
            out,
            "\nhow many instances fit on {} is known only after the removals; apply re-plans then",
            unknown.join(", ")
        )?;
    }
    writeln!(out)?;
    plan_summary(out, plan)
}

/// The cards whose creations are counted only after the removals run (their addresses).
pub(crate) fn sized_after_removals(plan: &Plan) -> Vec<&str> {
    plan.cards
        .iter()
        .filter(|p| p.create.is_none())
        .map(|p| p.address.as_str())
        .collect()
}

/// The node, its labels and what mdev handling does (the desired types when enabled).
fn plan_header(out: &mut dyn Write, plan: &Plan) -> Result<()> {
    let labels: Vec<String> = plan
        .node
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    // Host and configuration data on one line each: newlines escaped too (escape::cell).
    writeln!(
        out,
        "node: {} ({})",
        escape::cell(&plan.node.name),
        escape::cell(&labels.join(", "))
    )?;
    match plan.mdev_handling {
        MdevHandling::Disabled => writeln!(
            out,
            "mdev handling: disabled (enabled: false): no mdev is created or removed"
        )?,
        MdevHandling::NotConfigured => writeln!(
            out,
            "mdev handling: no mediatedDevicesConfiguration: no mdev is created or removed"
        )?,
        MdevHandling::Enabled => writeln!(
            out,
            "desired types: {}",
            if plan.desired_types.is_empty() {
                "(none: every removable mdev is removed)".to_string()
            } else {
                escape::cell(&plan.desired_types.join(", "))
            }
        )?,
    }
    Ok(())
}

/// The per-card table, then the cards' notes.
fn plan_cards(out: &mut dyn Write, plan: &Plan) -> Result<()> {
    let mut t = table(&[
        "PARENT", "TYPE", "NAME", "EXISTING", "REMOVE", "CREATE", "STATUS",
    ]);
    for c in &plan.cards {
        let address = match (c.kind, c.vfs) {
            (CardKind::MdevParent, _) | (_, None) => c.address.clone(),
            (CardKind::MdevVfGpu, Some(n)) => format!("{} ({n} VFs, mdev)", c.address),
            (CardKind::VendorVfioGpu, Some(n)) => {
                format!("{} ({n} VFs, vendor-vfio)", c.address)
            }
        };
        t.add_row(vec![
            address,
            c.type_id.clone().unwrap_or_else(|| "-".into()),
            c.type_name.clone().unwrap_or_else(|| "-".into()),
            c.existing.to_string(),
            c.remove.to_string(),
            match c.create {
                Some(n) if c.create_is_upper_bound => format!("<={n}"),
                Some(n) => n.to_string(),
                None => "?".into(),
            },
            c.status.as_str().to_string(),
        ]);
    }
    write_table(out, &t)?;
    for c in plan.cards.iter().filter(|c| c.note.is_some()) {
        writeln!(
            out,
            "note: {}: {}",
            c.address,
            c.note.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// The planned actions, grouped by kind under a counted title.
fn plan_actions(out: &mut dyn Write, plan: &Plan) -> Result<()> {
    for (kind, title) in [
        (ActionKind::Remove, "remove {} mdev{}:"),
        (ActionKind::ClearVgpuType, "clear the vGPU type of {} VF{}:"),
        (ActionKind::DisableVfs, "disable the VFs of {} GPU{}:"),
        (ActionKind::EnableVfs, "enable the VFs of {} GPU{}:"),
        (ActionKind::Create, "create {} mdev{}:"),
        (ActionKind::SetVgpuType, "set the vGPU type of {} VF{}:"),
    ] {
        let n = plan.count(kind);
        if n == 0 {
            continue;
        }
        let title = title.replacen("{}", &n.to_string(), 1).replacen(
            "{}",
            if n == 1 { "" } else { "s" },
            1,
        );
        writeln!(out, "\n{title}")?;
        for a in plan.actions.iter().filter(|a| a.kind() == kind) {
            match a {
                Action::Remove(m) | Action::Create(m) => {
                    writeln!(out, "  {}  {}  {}", m.uuid, m.parent, m.type_id)?
                }
                Action::SetVgpuType(v) | Action::ClearVgpuType(v) => writeln!(
                    out,
                    "  {}  {}  {}",
                    v.address,
                    v.type_id,
                    v.type_name.as_deref().unwrap_or("-")
                )?,
                Action::EnableVfs(s) => writeln!(
                    out,
                    "  enable {} VFs on {} (sriov_numvfs {} -> {}); its vGPUs are planned once they offer their types",
                    s.count, s.address, s.from, s.count
                )?,
                Action::DisableVfs(s) => writeln!(
                    out,
                    "  disable the {} VFs of {} (sriov_numvfs {} -> 0)",
                    s.from, s.address, s.from
                )?,
            }
        }
    }
    Ok(())
}

/// The VFs and mdevs the plan leaves alone, with why.
fn plan_blocked(out: &mut dyn Write, plan: &Plan) -> Result<()> {
    if plan.blocked.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nblocked (left alone):")?;
    for b in &plan.blocked {
        match b {
            Blocked::Vf {
                address,
                type_id,
                reason,
                ..
            } => writeln!(out, "  {address}  {type_id}  {reason}")?,
            Blocked::Mdev {
                uuid,
                parent,
                type_id,
                reason,
                ..
            } => writeln!(out, "  {uuid}  {parent}  {type_id}  {reason}")?,
            Blocked::Vfs {
                address,
                numvfs,
                reason,
            } => writeln!(out, "  {address}  {numvfs} VFs  {reason}")?,
        }
    }
    Ok(())
}

/// The closing line: nothing to do, or what the plan counts.
fn plan_summary(out: &mut dyn Write, plan: &Plan) -> Result<()> {
    if plan.is_noop() && !plan.problems.is_empty() {
        let n = plan.problems.len();
        writeln!(
            out,
            "no change planned, but {n} GPU{} not ready for vGPUs (see above)",
            if n == 1 { " is" } else { "s are" }
        )?;
    } else if plan.is_noop() {
        writeln!(out, "host already matches the configuration")?;
    } else {
        write!(
            out,
            "{} to create, {} to remove, {} blocked",
            plan.count(ActionKind::Create),
            plan.count(ActionKind::Remove),
            plan.blocked.len()
        )?;
        let (set, clear) = (
            plan.count(ActionKind::SetVgpuType),
            plan.count(ActionKind::ClearVgpuType),
        );
        if set + clear > 0 {
            write!(out, "; vGPU type to set on {set} VFs, to clear on {clear}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
