//! `hostdev bind vfio`: bind PCI devices to vfio-pci for passthrough.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

use crate::cli::{BindVfioArgs, Output};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::exec::journal::WriteRecord;
use crate::exec::state::State;
use crate::exec::vfio::{self, DeviceArg, DeviceResult, VFIO_PCI};
use crate::exec::{confirm, interrupt, mutate};
use crate::host::inventory::Inventory;
use crate::plan::SCHEMA;
use crate::render;

#[derive(Serialize)]
struct BindDoc<'a> {
    schema: &'static str,
    dry_run: bool,
    devices: &'a [DeviceResult],
    writes: &'a [WriteRecord],
}

pub fn vfio(ctx: &Context, args: &BindVfioArgs, out: &mut dyn Write) -> Result<Code> {
    let inv = Inventory::scan(&ctx.sysfs)?;
    let selected = select(ctx, args, &inv)?;
    let plan = vfio::plan_bind(&ctx.sysfs, &inv, &selected, args.with_group);
    let dry_run = args.mutate.dry_run;
    let result = |addr: &str, result: &str, detail: Option<String>| {
        let d = inv.pci_device(addr);
        DeviceResult {
            address: addr.to_string(),
            vendor_device: d.map(|d| d.vendor_device()).unwrap_or_default(),
            original_driver: d.and_then(|d| d.driver.clone()),
            result: result.into(),
            detail,
        }
    };
    let mut results: Vec<DeviceResult> = plan
        .already
        .iter()
        .map(|a| result(a, "already-bound", None))
        .collect();

    if !plan.refused.is_empty() {
        results.extend(
            plan.refused
                .iter()
                .map(|(a, why)| result(a, "refused", Some(why.clone()))),
        );
        for (a, why) in &plan.refused {
            log::error!("refusing to bind {a} to vfio-pci: {why}");
        }
        log::error!("nothing was changed");
        report(ctx, out, dry_run, &mut results, &[])?;
        return Ok(Code::Failure);
    }
    if plan.bind.is_empty() {
        report(ctx, out, dry_run, &mut results, &[])?;
        return Ok(Code::Ok);
    }

    let mut session = mutate::begin(ctx, &args.mutate, "bind vfio")?;
    if ctx.output == Output::Table {
        writeln!(out, "bind {} device(s) to vfio-pci:", plan.bind.len())?;
        for a in &plan.bind {
            let d = inv.pci_device(a);
            writeln!(
                out,
                "  {a}  {}  {} -> vfio-pci",
                d.map(|d| d.vendor_device()).unwrap_or_default(),
                d.and_then(|d| d.driver.clone())
                    .unwrap_or_else(|| "(no driver)".into())
            )?;
        }
        writeln!(out)?;
        out.flush()?;
    }
    if !dry_run
        && !confirm::confirm(
            &format!("bind {} device(s) to vfio-pci?", plan.bind.len()),
            args.mutate.yes,
        )?
    {
        log::error!("aborted; nothing was changed");
        return Ok(Code::Failure);
    }
    if dry_run && ctx.output == Output::Table {
        writeln!(out, "dry run: these writes would be made (none were):")?;
        // the journal echoes straight to stdout
        out.flush()?;
    }
    load_vfio_pci(ctx, dry_run, out)?;

    let mut state = State::load(&ctx.sysfs)?;
    let mut failed = false;
    for (i, a) in plan.bind.iter().enumerate() {
        if interrupt::requested() {
            for rest in &plan.bind[i..] {
                results.push(result(
                    rest,
                    "skipped",
                    Some("interrupted before this device".into()),
                ));
            }
            failed = true;
            break;
        }
        let Some(dev) = inv.pci_device(a) else {
            continue;
        };
        match vfio::bind_one(&mut session.journal, &ctx.sysfs, dev) {
            Ok(()) if dry_run => results.push(result(a, "would-bind", None)),
            Ok(()) => {
                vfio::record(&mut state, dev);
                state.save(&ctx.sysfs)?;
                results.push(result(a, "bound", None));
            }
            Err(e) => {
                log::error!("binding {a} to vfio-pci failed: {e}");
                results.push(result(a, "failed", Some(e)));
                failed = true;
            }
        }
    }
    let writes = session.journal.writes().to_vec();
    report(ctx, out, dry_run, &mut results, &writes)?;
    if failed {
        let done: Vec<&str> = results
            .iter()
            .filter(|r| r.result == "bound")
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

/// The device arguments, `--from-config`, or an interactive choice.
fn select(ctx: &Context, args: &BindVfioArgs, inv: &Inventory) -> Result<Vec<String>> {
    if args.from_config {
        let cfg = ctx.load_config()?;
        let sels: Vec<DeviceArg> = cfg
            .permitted
            .pci_host_devices
            .iter()
            .filter(|p| !p.external_resource_provider)
            .map(|p| DeviceArg::Selector(p.pci_vendor_selector.clone()))
            .collect();
        if sels.is_empty() {
            // An mdev-only configuration: nothing to bind is success (the boot unit runs
            // `bind vfio --from-config` on every host).
            log::warn!(
                "{}: no non-external permittedHostDevices.pciHostDevices entries: nothing to bind",
                ctx.config_path().display()
            );
            return Ok(Vec::new());
        }
        return vfio::select(inv, &ctx.sysfs, &sels);
    }
    if !args.devices.is_empty() {
        let parsed = args
            .devices
            .iter()
            .map(|d| DeviceArg::parse(d))
            .collect::<Result<Vec<_>>>()?;
        return vfio::select(inv, &ctx.sysfs, &parsed);
    }
    if !std::io::stdin().is_terminal() {
        return Err(fail(
            Code::Usage,
            "bind vfio: name the DEVICEs (PCI addresses or vendor:device) or pass --from-config; \
             without a terminal there is no list to choose from",
        ));
    }
    let candidates: Vec<&crate::host::inventory::PciDevice> = inv
        .pci
        .iter()
        .filter(|d| {
            !d.is_bridge() && d.driver.as_deref() != Some(VFIO_PCI) && !vfio::is_nvidia_vendor_vf(d)
        })
        .filter(|d| vfio::host_use(&ctx.sysfs, inv, d).is_none())
        .collect();
    if candidates.is_empty() {
        return Err(fail(
            Code::NotFound,
            "no PCI device is free to bind to vfio-pci on this host",
        ));
    }
    let items: Vec<String> = candidates
        .iter()
        .map(|d| {
            format!(
                "{}  {}  class {}  {}  group {}",
                d.address,
                d.vendor_device(),
                d.class.get(..4).unwrap_or(&d.class),
                d.driver.as_deref().unwrap_or("(no driver)"),
                d.iommu_group.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let chosen = dialoguer::MultiSelect::new()
        .with_prompt("devices to bind to vfio-pci (space selects, enter confirms)")
        .items(&items)
        .interact_opt()
        .map_err(|e| anyhow::anyhow!("reading the selection from the terminal: {e}"))?
        .unwrap_or_default();
    if chosen.is_empty() {
        return Err(fail(
            Code::Usage,
            "bind vfio: no device chosen; nothing was changed",
        ));
    }
    Ok(chosen
        .into_iter()
        .map(|i| candidates[i].address.clone())
        .collect())
}

/// `modprobe vfio-pci` when its driver directory is absent: run on the real root; under a
/// fake root only say what would be run.
fn load_vfio_pci(ctx: &Context, dry_run: bool, out: &mut dyn Write) -> Result<()> {
    let drv = ctx
        .sysfs
        .path(crate::host::sysfs::PCI_DRIVERS)
        .join(VFIO_PCI);
    if ctx.sysfs.exists(&drv) {
        return Ok(());
    }
    if dry_run {
        writeln!(out, "modprobe vfio-pci")?;
        return Ok(());
    }
    if !ctx.sysfs.is_real_root() {
        log::warn!(
            "vfio-pci is not loaded ({} is missing); on the real root hostdev would run `modprobe vfio-pci` now",
            ctx.sysfs.display(&drv)
        );
        return Ok(());
    }
    let st = std::process::Command::new("modprobe")
        .arg("vfio-pci")
        .status()
        .map_err(|e| {
            fail(
                Code::Failure,
                format!("running `modprobe vfio-pci`: {e}; nothing was changed"),
            )
        })?;
    if !st.success() {
        return Err(fail(
            Code::Failure,
            format!("`modprobe vfio-pci` failed ({st}); nothing was changed. Is the vfio-pci module installed?"),
        ));
    }
    Ok(())
}

fn report(
    ctx: &Context,
    out: &mut dyn Write,
    dry_run: bool,
    results: &mut [DeviceResult],
    writes: &[WriteRecord],
) -> Result<()> {
    results.sort_by(|a, b| a.address.cmp(&b.address));
    match ctx.output {
        Output::Table => {
            if dry_run && !writes.is_empty() {
                writeln!(out)?;
            }
            let mut t = render::table(&["DEVICE", "ID", "DRIVER", "RESULT", "DETAIL"]);
            for r in results.iter() {
                t.add_row(vec![
                    r.address.clone(),
                    r.vendor_device.clone(),
                    r.original_driver.clone().unwrap_or_else(|| "-".into()),
                    r.result.clone(),
                    r.detail.clone().unwrap_or_default(),
                ]);
            }
            render::write_table(out, &t)
        }
        f => render::document(
            out,
            f,
            &BindDoc {
                schema: SCHEMA,
                dry_run,
                devices: results,
                writes,
            },
        ),
    }
}
