//! The two `iommu` documents: `iommu check` ([`CheckDoc`], its table with remedies and
//! counts) and `iommu groups` ([`GroupsDoc`], one row per device, the group's columns on its
//! first row). The checks and the groups are read and decided in `host::iommu` and
//! `commands::iommu`; here they are only described and drawn.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{table, write_table};
use crate::host::iommu::{self, BootLoader, Vendor};

#[derive(Serialize)]
pub(crate) struct CheckDoc {
    pub(crate) schema: &'static str,
    pub(crate) cpu_vendor: Vendor,
    pub(crate) iommu_vendor: Vendor,
    pub(crate) boot_loader: BootLoader,
    pub(crate) distribution: Option<String>,
    pub(crate) checks: Vec<iommu::check::Check>,
    pub(crate) summary: Summary,
}

#[derive(Serialize, Default)]
pub(crate) struct Summary {
    pub(crate) pass: usize,
    pub(crate) warn: usize,
    pub(crate) fail: usize,
    pub(crate) skip: usize,
}

pub(crate) fn check_table(out: &mut dyn Write, doc: &CheckDoc) -> Result<()> {
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

#[derive(Serialize)]
pub(crate) struct GroupsDoc {
    pub(crate) schema: &'static str,
    pub(crate) groups: Vec<GroupDoc>,
}

#[derive(Serialize)]
pub(crate) struct GroupDoc {
    pub(crate) group: String,
    /// The group's default domain type (`DMA`, `DMA-FQ`, `identity`).
    #[serde(rename = "type")]
    pub(crate) domain_type: Option<String>,
    pub(crate) viable: bool,
    /// Endpoints on a host driver, which make the group not viable.
    pub(crate) blockers: Vec<String>,
    pub(crate) devices: Vec<GroupDevice>,
}

#[derive(Serialize)]
pub(crate) struct GroupDevice {
    pub(crate) address: String,
    pub(crate) vendor_device: String,
    pub(crate) class: String,
    pub(crate) driver: Option<String>,
    pub(crate) bridge: bool,
    /// SR-IOV: the PF of a virtual function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) physfn: Option<String>,
    /// SR-IOV: on a physical function, how many VFs are enabled (`sriov_numvfs`) of how
    /// many it supports (`sriov_totalvfs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sriov_numvfs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sriov_totalvfs: Option<u32>,
}

pub(crate) fn groups_table(out: &mut dyn Write, doc: &GroupsDoc) -> Result<()> {
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
