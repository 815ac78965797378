//! `list-types` for people: the types table (one row per parent and type, an SR-IOV GPU's
//! VF types folded under the GPU) and the GPUs' table. The document itself
//! ([`TypesDoc`](crate::plan::types::TypesDoc)) is built in `plan::types`; here it is only
//! drawn.

use std::io::Write;

use anyhow::Result;

use super::{table, write_table};
use crate::host::inventory::ParentKind;
use crate::host::vgpu::Framework;
use crate::plan::types::{GpuDoc, ParentDoc, TypeDoc, TypesDoc};

/// The types table: one row per (parent, type); the VF parents of an SR-IOV GPU are
/// folded into one row per type under the GPU (EXISTING summed over its VFs, AVAILABLE
/// what the GPU can still hold: [`CapacityDoc`](crate::plan::types::CapacityDoc)), and a
/// vendor-VFIO GPU shows its numeric types. Then the GPUs and their framework.
pub(crate) fn types_table(out: &mut dyn Write, doc: &TypesDoc) -> Result<()> {
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

/// What GPU `g` can still hold of type `id`
/// ([`CapacityDoc`](crate::plan::types::CapacityDoc)); `fallback` without a row.
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

/// A description on one line: its non-blank lines, trimmed, joined by ", ".
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}
