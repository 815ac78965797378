//! `hostdev iommu check` and `hostdev iommu groups`: read-only views of the host's
//! readiness for passthrough.

use std::io::Write;

use crate::cli::{IommuCheckArgs, IommuGroupsArgs, Output};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::Inventory;
use crate::host::iommu::check::CheckStatus;
use crate::host::iommu::{self, BootLoader, HostFacts};
use crate::plan::SCHEMA;
use crate::render;
use crate::render::iommu::{CheckDoc, GroupDevice, GroupDoc, GroupsDoc, Summary};
use anyhow::Result;

pub fn check(ctx: &Context, _args: &IommuCheckArgs, out: &mut dyn Write) -> Result<Code> {
    let facts = HostFacts::read(&ctx.root);
    let checks = iommu::check::checks(&facts);
    let mut summary = Summary::default();
    for c in &checks {
        *match c.status {
            CheckStatus::Pass => &mut summary.pass,
            CheckStatus::Warn => &mut summary.warn,
            CheckStatus::Fail => &mut summary.fail,
            CheckStatus::Skip => &mut summary.skip,
        } += 1;
    }
    let failed = summary.fail > 0;
    let doc = CheckDoc {
        schema: SCHEMA,
        cpu_vendor: facts.cpu_vendor(),
        iommu_vendor: facts.iommu_vendor(),
        boot_loader: facts.boot_loader.clone().unwrap_or(BootLoader::Unknown),
        distribution: facts.os.pretty_name.clone().or(facts.os.id.clone()),
        checks,
        summary,
    };
    match ctx.output {
        Output::Table => render::iommu::check_table(out, &doc)?,
        f => render::document(out, f, &doc)?,
    }
    Ok(Code::failure_if(failed))
}

pub fn groups(ctx: &Context, args: &IommuGroupsArgs, out: &mut dyn Write) -> Result<Code> {
    let inv = Inventory::scan(&ctx.root)?;
    let want_device = match &args.device {
        Some(a) => {
            let addr = super::pci_arg("--device", a)?;
            let Some(dev) = inv.pci_device(&addr) else {
                return Err(fail(
                    Code::NotFound,
                    format!(
                        "--device {a}: no PCI device {addr} under {}",
                        ctx.root.display(&ctx.root.pci_devices())
                    ),
                ));
            };
            if dev.iommu_group.is_none() {
                return Err(fail(
                    Code::Failure,
                    format!(
                        "{addr} has no IOMMU group (no iommu_group link): the IOMMU is off; see `hostdev iommu check`"
                    ),
                ));
            }
            Some(addr)
        }
        None => None,
    };
    crate::commands::bind::warn_conflicts_if_configured(ctx, &inv);
    let all = inv.iommu_groups();
    if all.is_empty() {
        log::warn!(
            "no IOMMU groups under {}: the IOMMU is off or absent; see `hostdev iommu check`",
            ctx.root.display(&ctx.root.iommu_groups())
        );
    }
    let groups_dir = ctx.root.iommu_groups();
    let groups = all
        .iter()
        .filter(|g| !args.gpu || g.devices.iter().any(|d| d.is_gpu()))
        .filter(|g| match &want_device {
            Some(a) => g.devices.iter().any(|d| &d.address == a),
            None => true,
        })
        .map(|g| GroupDoc {
            group: g.id.clone(),
            domain_type: ctx
                .root
                .read_opt(&groups_dir.join(&g.id).join("type"))
                .ok()
                .flatten(),
            viable: g.viable(),
            blockers: g.blockers().iter().map(|d| d.address.clone()).collect(),
            devices: g
                .devices
                .iter()
                .map(|d| GroupDevice {
                    address: d.address.clone(),
                    vendor_device: d.vendor_device(),
                    class: d.class.clone(),
                    driver: d.driver.clone(),
                    bridge: d.is_bridge(),
                    physfn: d.physfn.clone(),
                    sriov_numvfs: d.sriov_totalvfs.and(d.sriov_numvfs),
                    sriov_totalvfs: d.sriov_totalvfs,
                })
                .collect(),
        })
        .collect();
    let doc = GroupsDoc {
        schema: SCHEMA,
        groups,
    };
    match ctx.output {
        Output::Table => render::iommu::groups_table(out, &doc)?,
        f => render::document(out, f, &doc)?,
    }
    Ok(Code::Ok)
}
