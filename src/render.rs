//! Output: tables (comfy-table) for people, JSON/YAML documents for scripts. Everything
//! renders into `&mut dyn Write`; nothing here prints directly.

use std::io::Write;

use anyhow::Result;
use comfy_table::{presets, Table};
use serde::Serialize;

use crate::cli::Output;
use crate::envvars::EnvVar;
use crate::error::{fail, Code};
use crate::hostcheck::{self, BootLoader, Vendor};
use crate::inventory::{Inventory, ParentKind};
use crate::plan::{ActionKind, Plan, SCHEMA};

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
pub fn write_table(out: &mut dyn Write, t: &Table) -> Result<()> {
    for line in t.lines() {
        writeln!(
            out,
            "{}",
            line.trim_end().strip_prefix(' ').unwrap_or(line.trim_end())
        )?;
    }
    Ok(())
}

// ---- list-types ------------------------------------------------------------------

#[derive(Serialize)]
pub struct TypesDoc {
    pub schema: &'static str,
    pub parents: Vec<ParentDoc>,
}

#[derive(Serialize)]
pub struct ParentDoc {
    pub address: String,
    pub kind: ParentKind,
    pub physfn: Option<String>,
    pub vendor_device: Option<String>,
    pub driver: Option<String>,
    pub types: Vec<TypeDoc>,
}

#[derive(Serialize)]
pub struct TypeDoc {
    pub id: String,
    pub name: Option<String>,
    pub available_instances: u32,
    pub max_instances: Option<u32>,
    pub device_api: Option<String>,
    pub description: Option<String>,
    pub existing_instances: u32,
}

pub fn types_doc(inv: &Inventory) -> TypesDoc {
    TypesDoc {
        schema: SCHEMA,
        parents: inv
            .parents
            .iter()
            .map(|p| {
                let pci = inv.pci_device(&p.name);
                ParentDoc {
                    address: p.name.clone(),
                    kind: p.kind.clone(),
                    physfn: p.physfn.clone(),
                    vendor_device: pci.map(|d| d.vendor_device()),
                    driver: pci.and_then(|d| d.driver.clone()),
                    types: p
                        .types
                        .iter()
                        .map(|t| TypeDoc {
                            id: t.id.clone(),
                            name: t.name.clone(),
                            available_instances: t.available_instances,
                            max_instances: t.max_instances,
                            device_api: t.device_api.clone(),
                            description: t.description.clone(),
                            existing_instances: inv
                                .mdevs
                                .iter()
                                .filter(|m| {
                                    m.parent == p.name && m.type_id.as_deref() == Some(&t.id)
                                })
                                .count() as u32,
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

pub fn types_table(out: &mut dyn Write, doc: &TypesDoc) -> Result<()> {
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
    for p in &doc.parents {
        let kind = match p.kind {
            ParentKind::Pci => "pci",
            ParentKind::Vf => "vf",
            ParentKind::Virtual => "virtual",
        };
        for ty in &p.types {
            t.add_row(vec![
                p.address.clone(),
                kind.to_string(),
                ty.id.clone(),
                ty.name.clone().unwrap_or_else(|| "-".into()),
                ty.available_instances.to_string(),
                ty.existing_instances.to_string(),
                ty.device_api.clone().unwrap_or_else(|| "-".into()),
                one_line(ty.description.as_deref().unwrap_or("-")),
            ]);
        }
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
    let labels: Vec<String> = plan
        .node
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    writeln!(out, "node: {} ({})", plan.node.name, labels.join(", "))?;
    match plan.mdev_handling {
        "disabled" => writeln!(
            out,
            "mdev handling: disabled (enabled: false): no mdev is created or removed"
        )?,
        "not-configured" => writeln!(
            out,
            "mdev handling: no mediatedDevicesConfiguration: no mdev is created or removed"
        )?,
        _ => writeln!(
            out,
            "desired types: {}",
            if plan.desired_types.is_empty() {
                "(none: every removable mdev is removed)".to_string()
            } else {
                plan.desired_types.join(", ")
            }
        )?,
    }
    if plan.parents.is_empty() {
        writeln!(out, "no mdev parents on this host")?;
    } else {
        writeln!(out)?;
        let mut t = table(&[
            "PARENT", "TYPE", "NAME", "EXISTING", "REMOVE", "CREATE", "STATUS",
        ]);
        for p in &plan.parents {
            t.add_row(vec![
                p.address.clone(),
                p.type_id.clone().unwrap_or_else(|| "-".into()),
                p.type_name.clone().unwrap_or_else(|| "-".into()),
                p.existing.to_string(),
                p.remove.to_string(),
                p.create
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
                p.status.as_str().to_string(),
            ]);
        }
        write_table(out, &t)?;
    }
    for (kind, title) in [
        (ActionKind::Remove, "remove"),
        (ActionKind::Create, "create"),
    ] {
        let n = plan.count(kind);
        if n == 0 {
            continue;
        }
        writeln!(out, "\n{title} {n} mdev{}:", if n == 1 { "" } else { "s" })?;
        for a in plan.actions.iter().filter(|a| a.action == kind) {
            writeln!(out, "  {}  {}  {}", a.uuid, a.parent, a.type_id)?;
        }
    }
    if !plan.blocked.is_empty() {
        writeln!(out, "\nblocked (left alone):")?;
        for b in &plan.blocked {
            writeln!(
                out,
                "  {}  {}  {}  {}",
                b.uuid, b.parent, b.type_id, b.reason
            )?;
        }
    }
    let unknown: Vec<&str> = plan
        .parents
        .iter()
        .filter(|p| p.create.is_none())
        .map(|p| p.address.as_str())
        .collect();
    if !unknown.is_empty() {
        writeln!(
            out,
            "\nhow many instances fit on {} is known only after the removals; apply re-plans then",
            unknown.join(", ")
        )?;
    }
    writeln!(out)?;
    if plan.is_noop() {
        writeln!(out, "host already matches the configuration")?;
    } else {
        writeln!(
            out,
            "{} to create, {} to remove, {} blocked",
            plan.count(ActionKind::Create),
            plan.count(ActionKind::Remove),
            plan.blocked.len()
        )?;
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

/// `NAME=value` lines. Anything that could be misread is refused, naming the variable.
pub fn env_lines(out: &mut dyn Write, vars: &[EnvVar]) -> Result<()> {
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
        writeln!(out, "{}={}", v.name, v.value)?;
    }
    Ok(())
}

/// `NAME=value` entries each ended by NUL (like `env -0`).
pub fn env_nul(out: &mut dyn Write, vars: &[EnvVar]) -> Result<()> {
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
        write!(out, "{}={}\0", v.name, v.value)?;
    }
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
    pub checks: Vec<hostcheck::Check>,
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
    let remedies: Vec<&hostcheck::Check> =
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
