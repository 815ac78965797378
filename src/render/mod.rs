//! Output: tables (comfy-table) for people, JSON/YAML documents for scripts. Everything
//! renders into `&mut dyn Write`; nothing here prints directly.

use std::io::Write;

use anyhow::Result;
use comfy_table::{presets, Table};
use serde::Serialize;

use crate::cli::Output;
use crate::error::{fail, Code};
use crate::host::inventory::ParentKind;
use crate::host::iommu::{self, BootLoader, Vendor};
use crate::host::vgpu::Framework;
use crate::plan::env::EnvVar;
pub use crate::plan::types::{types_doc, CapacityDoc, GpuDoc, ParentDoc, TypeDoc, TypesDoc};
use crate::plan::{Action, ActionKind, Blocked, CardKind, MdevHandling, Plan};

pub mod diff;
pub mod escape;
pub mod run;
pub mod status;
pub mod tree;

/// Write a document as pretty JSON or YAML (stable field order, trailing newline).
pub fn document<T: Serialize>(out: &mut dyn Write, format: Output, doc: &T) -> Result<()> {
    match format {
        Output::Json | Output::Table => {
            serde_json::to_writer_pretty(&mut *out, doc)?;
            writeln!(out)?;
        }
        Output::Yaml => out.write_all(yaml_serde::to_string(doc)?.as_bytes())?,
    }
    Ok(())
}

/// A borderless, kubectl-like table with a header row.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    t
}

/// Print a table without the padding comfy-table puts at the start and end of lines.
/// Every cell is escaped ([`escape::cell`]): host data cannot move the cursor, colour the
/// terminal or start a new row.
pub fn write_table(out: &mut dyn Write, t: &Table) -> Result<()> {
    let cells = |row: &comfy_table::Row| -> Vec<String> {
        row.cell_iter()
            .map(|c| escape::cell(&c.content()))
            .collect()
    };
    let header: Vec<String> = t.header().map(cells).unwrap_or_default();
    let mut escaped = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for row in t.row_iter() {
        escaped.add_row(cells(row));
    }
    for line in escaped.lines() {
        writeln!(
            out,
            "{}",
            line.trim_end().strip_prefix(' ').unwrap_or(line.trim_end())
        )?;
    }
    Ok(())
}

// ---- list-types ------------------------------------------------------------------

/// The types table: one row per (parent, type); the VF parents of an SR-IOV GPU are
/// folded into one row per type under the GPU (EXISTING summed over its VFs, AVAILABLE
/// what the GPU can still hold: [`CapacityDoc`]), and a vendor-VFIO GPU shows its numeric
/// types. Then the GPUs and their framework.
pub fn types_table(out: &mut dyn Write, doc: &TypesDoc) -> Result<()> {
    let mut rows = parent_type_rows(doc);
    rows.extend(gpu_type_rows(doc));
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut t = table(&[
        "PARENT",
        "KIND",
        "TYPE",
        "NAME",
        "AVAILABLE",
        "EXISTING",
        "API",
        "DESCRIPTION",
    ]);
    for (_, r) in rows {
        t.add_row(r);
    }
    write_table(out, &t)?;
    if doc.gpus.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    gpus_table(out, doc)?;
    for g in &doc.gpus {
        if let Some(p) = &g.problem {
            writeln!(out, "\n{p}")?;
        }
    }
    Ok(())
}

/// A types-table row, keyed by the parent address it sorts by.
type TypeRow = (String, Vec<String>);

/// One row per (parent, type) for the parents not folded under an SR-IOV GPU.
fn parent_type_rows(doc: &TypesDoc) -> Vec<TypeRow> {
    let mut rows: Vec<TypeRow> = Vec::new();
    let gpu_of = |p: &ParentDoc| {
        doc.gpus.iter().find(|g| {
            g.framework == Framework::MdevVf && g.vfs.iter().any(|v| v.address == p.address)
        })
    };
    for p in &doc.parents {
        if gpu_of(p).is_some() {
            continue;
        }
        let kind = match p.kind {
            ParentKind::Pci => "pci",
            ParentKind::Vf => "vf",
            ParentKind::Virtual => "virtual",
        };
        for ty in &p.types {
            rows.push((
                p.address.clone(),
                vec![
                    p.address.clone(),
                    kind.to_string(),
                    ty.id.clone(),
                    ty.name.clone().unwrap_or_else(|| "-".into()),
                    ty.available_instances.to_string(),
                    ty.existing_instances.to_string(),
                    ty.device_api.clone().unwrap_or_else(|| "-".into()),
                    one_line(ty.description.as_deref().unwrap_or("-")),
                ],
            ));
        }
    }
    rows
}

/// The GPUs' rows: an SR-IOV (mdev) GPU's VF types folded into one row per type, and a
/// vendor-VFIO GPU's numeric types.
fn gpu_type_rows(doc: &TypesDoc) -> Vec<TypeRow> {
    let mut rows: Vec<TypeRow> = Vec::new();
    for g in &doc.gpus {
        match g.framework {
            Framework::MdevVf => rows.extend(mdev_vf_gpu_rows(doc, g)),
            Framework::VendorVfio => {
                for ty in &g.vgpu_types {
                    rows.push((
                        g.address.clone(),
                        vec![
                            g.address.clone(),
                            "vendor-vfio".into(),
                            ty.id.to_string(),
                            ty.name.clone().unwrap_or_else(|| "-".into()),
                            available(g, &ty.id.to_string(), ty.creatable_on).to_string(),
                            ty.existing_instances.to_string(),
                            "-".into(),
                            "-".into(),
                        ],
                    ));
                }
            }
            _ => {}
        }
    }
    rows
}

/// One row per type over the VF parents of an SR-IOV (mdev) GPU: EXISTING summed over
/// its VFs, AVAILABLE what the GPU can still hold.
fn mdev_vf_gpu_rows(doc: &TypesDoc, g: &GpuDoc) -> Vec<TypeRow> {
    let mut rows: Vec<TypeRow> = Vec::new();
    let vfs: Vec<&ParentDoc> = doc
        .parents
        .iter()
        .filter(|p| g.vfs.iter().any(|v| v.address == p.address))
        .collect();
    let mut ids: Vec<&TypeDoc> = Vec::new();
    for ty in vfs.iter().flat_map(|p| &p.types) {
        if !ids.iter().any(|t| t.id == ty.id) {
            ids.push(ty);
        }
    }
    ids.sort_by(|a, b| a.id.cmp(&b.id));
    for ty in ids {
        let same = vfs.iter().flat_map(|p| &p.types).filter(|t| t.id == ty.id);
        let (avail, existing) = same.fold((0u32, 0u32), |(a, e), t| {
            (
                a.saturating_add(t.available_instances),
                e.saturating_add(t.existing_instances),
            )
        });
        let avail = available(g, &ty.id, avail);
        rows.push((
            g.address.clone(),
            vec![
                g.address.clone(),
                format!("{} vfs", vfs.len()),
                ty.id.clone(),
                ty.name.clone().unwrap_or_else(|| "-".into()),
                avail.to_string(),
                existing.to_string(),
                ty.device_api.clone().unwrap_or_else(|| "-".into()),
                one_line(ty.description.as_deref().unwrap_or("-")),
            ],
        ));
    }
    rows
}

/// What GPU `g` can still hold of type `id` ([`CapacityDoc`]); `fallback` without a row.
fn available(g: &GpuDoc, id: &str, fallback: u32) -> u32 {
    g.capacity
        .iter()
        .find(|c| c.type_id == id)
        .map_or(fallback, |c| c.available_instances)
}

/// The GPUs and their framework, VF and vGPU counts.
fn gpus_table(out: &mut dyn Write, doc: &TypesDoc) -> Result<()> {
    let mut t = table(&["GPU", "DEVICE", "DRIVER", "FRAMEWORK", "VFS", "VGPUS"]);
    for g in &doc.gpus {
        let configured = g
            .vfs
            .iter()
            .filter(|v| v.current_vgpu_type.is_some_and(|c| c != 0))
            .count();
        let mdevs: u32 = doc
            .parents
            .iter()
            .filter(|p| p.address == g.address || g.vfs.iter().any(|v| v.address == p.address))
            .flat_map(|p| &p.types)
            .map(|t| t.existing_instances)
            .sum();
        t.add_row(vec![
            g.address.clone(),
            g.vendor_device.clone(),
            g.driver.clone().unwrap_or_else(|| "-".into()),
            g.framework.as_str().to_string(),
            match (g.sriov_numvfs, g.sriov_totalvfs) {
                (Some(n), Some(t)) => format!("{n}/{t}"),
                _ => "-".into(),
            },
            (mdevs as usize + configured).to_string(),
        ]);
    }
    write_table(out, &t)
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- plan ------------------------------------------------------------------------

pub fn plan_table(out: &mut dyn Write, plan: &Plan) -> Result<()> {
    plan_header(out, plan)?;
    if plan.cards.is_empty() {
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
pub fn sized_after_removals(plan: &Plan) -> Vec<&str> {
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

// ---- env -------------------------------------------------------------------------

/// The `env --format json` document.
#[derive(Serialize)]
pub struct EnvDoc<'a> {
    pub schema: &'static str,
    pub include_external: bool,
    pub variables: &'a [EnvVar],
}

/// Characters a value may hold in `NAME=value` lines without quoting: systemd's
/// EnvironmentFile= would unescape `\` and strip quotes and blanks, docker's --env-file
/// takes everything literally, so only these mean the same to both.
fn env_file_safe(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:,/+@%".contains(c))
}

/// A name a POSIX shell accepts in `export`: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_shell_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME=value` lines. Anything that could be misread is refused, naming the variable,
/// and then nothing is written (every line is checked first).
pub fn env_lines(out: &mut dyn Write, vars: &[EnvVar]) -> Result<()> {
    let mut text = String::new();
    for v in vars {
        let name_ok = !v.name.is_empty() && env_file_safe(&v.name) && !v.name.contains('=');
        if !name_ok || !env_file_safe(&v.value) {
            return Err(fail(
                Code::Failure,
                format!(
                    "{}={:?} cannot be written as a NAME=value line without quoting (from {} on this host): use --format json or --format shell",
                    v.name, v.value, v.resource_name
                ),
            ));
        }
        text.push_str(&format!("{}={}\n", v.name, v.value));
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// `NAME=value` entries each ended by NUL (like `env -0`); nothing is written when one
/// cannot be.
pub fn env_nul(out: &mut dyn Write, vars: &[EnvVar]) -> Result<()> {
    let mut text = String::new();
    for v in vars {
        if v.name.is_empty() || v.name.contains(['=', '\0']) || v.value.contains('\0') {
            return Err(fail(
                Code::Failure,
                format!(
                    "{}={:?} cannot be written as a NUL-separated entry",
                    v.name, v.value
                ),
            ));
        }
        text.push_str(&format!("{}={}\0", v.name, v.value));
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// `export NAME='value'` lines for the variables whose names are shell identifiers;
/// returns the names that were skipped.
pub fn env_shell(out: &mut dyn Write, vars: &[EnvVar]) -> Result<Vec<String>> {
    let mut skipped = Vec::new();
    for v in vars {
        if !is_shell_identifier(&v.name) {
            skipped.push(v.name.clone());
            continue;
        }
        writeln!(
            out,
            "export {}='{}'",
            v.name,
            v.value.replace('\'', r"'\''")
        )?;
    }
    Ok(skipped)
}

// ---- iommu check -----------------------------------------------------------------

#[derive(Serialize)]
pub struct CheckDoc {
    pub schema: &'static str,
    pub cpu_vendor: Vendor,
    pub iommu_vendor: Vendor,
    pub boot_loader: BootLoader,
    pub distribution: Option<String>,
    pub checks: Vec<iommu::check::Check>,
    pub summary: Summary,
}

#[derive(Serialize, Default)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

pub fn check_table(out: &mut dyn Write, doc: &CheckDoc) -> Result<()> {
    let mut t = table(&["CHECK", "STATUS", "DETAIL"]);
    for c in &doc.checks {
        t.add_row(vec![
            c.id.to_string(),
            c.status.as_str().to_string(),
            c.detail.clone(),
        ]);
    }
    write_table(out, &t)?;
    let remedies: Vec<&iommu::check::Check> =
        doc.checks.iter().filter(|c| c.remedy.is_some()).collect();
    if !remedies.is_empty() {
        writeln!(out, "\nremedies:")?;
        for c in remedies {
            writeln!(
                out,
                "  {} ({}): {}",
                c.id,
                c.status.as_str(),
                c.remedy.as_deref().unwrap_or_default()
            )?;
        }
    }
    let s = &doc.summary;
    writeln!(
        out,
        "\n{} passed, {} warnings, {} failed, {} skipped",
        s.pass, s.warn, s.fail, s.skip
    )?;
    Ok(())
}

// ---- iommu groups ----------------------------------------------------------------

#[derive(Serialize)]
pub struct GroupsDoc {
    pub schema: &'static str,
    pub groups: Vec<GroupDoc>,
}

#[derive(Serialize)]
pub struct GroupDoc {
    pub group: String,
    /// The group's default domain type (`DMA`, `DMA-FQ`, `identity`).
    #[serde(rename = "type")]
    pub domain_type: Option<String>,
    pub viable: bool,
    /// Endpoints on a host driver, which make the group not viable.
    pub blockers: Vec<String>,
    pub devices: Vec<GroupDevice>,
}

#[derive(Serialize)]
pub struct GroupDevice {
    pub address: String,
    pub vendor_device: String,
    pub class: String,
    pub driver: Option<String>,
    pub bridge: bool,
    /// SR-IOV: the PF of a virtual function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physfn: Option<String>,
    /// SR-IOV: on a physical function, how many VFs are enabled (`sriov_numvfs`) of how
    /// many it supports (`sriov_totalvfs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sriov_numvfs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sriov_totalvfs: Option<u32>,
}

pub fn groups_table(out: &mut dyn Write, doc: &GroupsDoc) -> Result<()> {
    let mut t = table(&["GROUP", "TYPE", "VIABLE", "DEVICE", "ID", "CLASS", "DRIVER"]);
    for g in &doc.groups {
        for (i, d) in g.devices.iter().enumerate() {
            let (group, ty, viable) = if i == 0 {
                (
                    g.group.clone(),
                    g.domain_type.clone().unwrap_or_else(|| "-".into()),
                    if g.viable {
                        "yes".to_string()
                    } else {
                        "no".to_string()
                    },
                )
            } else {
                (String::new(), String::new(), String::new())
            };
            let mut driver = d.driver.clone().unwrap_or_else(|| "-".into());
            if d.bridge {
                driver.push_str(" (bridge)");
            } else if g.blockers.contains(&d.address) {
                driver.push_str(" (host driver)");
            }
            if let Some(pf) = &d.physfn {
                driver.push_str(&format!("; VF of {pf}"));
            } else if let Some(total) = d.sriov_totalvfs.filter(|t| *t > 0) {
                driver.push_str(&format!(
                    "; SR-IOV PF, {} of {total} VFs enabled",
                    d.sriov_numvfs.unwrap_or(0)
                ));
            }
            t.add_row(vec![
                group,
                ty,
                viable,
                d.address.clone(),
                d.vendor_device.clone(),
                d.class.get(..4).unwrap_or(&d.class).to_string(),
                driver,
            ]);
        }
    }
    write_table(out, &t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::env::Kind;

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
            resource_name: "a.com/x".into(),
            kind: Kind::Pci,
            external: false,
            selectors: vec![],
            devices: vec![],
        }
    }

    /// A refused variable leaves stdout empty: no partial environment file.
    #[test]
    fn env_lines_and_nul_write_everything_or_nothing() {
        let good = var("PCI_RESOURCE_A", "0000:3b:00.0");
        let mut out = Vec::new();
        env_lines(
            &mut out,
            &[good.clone(), var("PCI_RESOURCE_B", "0000:3b:00.0 -S")],
        )
        .expect_err("a blank needs quoting");
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        env_nul(&mut out, &[good.clone(), var("PCI_RESOURCE_B", "a\0b")]).expect_err("NUL");
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        env_lines(&mut out, std::slice::from_ref(&good)).unwrap();
        env_nul(&mut out, &[good]).unwrap();
        assert_eq!(
            out,
            b"PCI_RESOURCE_A=0000:3b:00.0\nPCI_RESOURCE_A=0000:3b:00.0\0"
        );
    }
}
