//! `hostdev bind vfio`: bind PCI devices to vfio-pci for passthrough. Argument handling
//! (DEVICEs, `--from-config`, or an interactive choice), then the pipeline.

use std::io::{IsTerminal, Write};

use anyhow::Result;

use crate::cli::BindVfioArgs;
use crate::config::{model::Config, node::Node};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::exec::bind::BindJob;
use crate::exec::vfio::hint;
use crate::exec::{mutate, pipeline};
use crate::host::inventory::{Inventory, VFIO_PCI};
use crate::host::usage::host_use;
use crate::plan::bind::{self, DeviceArg, Selection};

pub fn vfio(ctx: &Context, args: &BindVfioArgs, out: &mut dyn Write) -> Result<Code> {
    let inv = Inventory::scan(&ctx.root)?;
    let selected = select(ctx, args, &inv)?;
    mutate::prepare(ctx, &args.mutate, "bind vfio")?;
    let mut job = BindJob::new(ctx, inv, selected, args.with_group, args.mutate.dry_run);
    pipeline::run(ctx, &args.mutate, &mut job, out)
}

/// `--from-config`: bind what the selectors match; a selector that matches nothing is a
/// warning (the boot unit runs this on every host of a cluster-wide list), not an error.
fn from_config(ctx: &Context, inv: &Inventory) -> Result<Vec<String>> {
    let cfg = ctx.load_config()?;
    let sels = bind::permitted_selectors(&cfg);
    if sels.is_empty() {
        // An mdev-only configuration: nothing to bind is success (the boot unit runs
        // `bind vfio --from-config` on every host).
        log::warn!(
            "{}: no non-external permittedHostDevices.pciHostDevices entries: nothing to bind",
            ctx.config_path().display()
        );
        return Ok(Vec::new());
    }
    let sel = bind::select(inv, &sels);
    for s in &sel.unmatched {
        log::warn!(
            "{}: no PCI device matches pciVendorSelector {s} on this host; skipped",
            ctx.config_path().display()
        );
    }
    // Never unbind what carries mdevs or VFs, nor what the node's mdev configuration gives
    // vGPUs: at boot no mdevs exist yet, so the configuration decides too.
    let node = node_for(ctx, &cfg)?;
    let skips = bind::from_config_skips(&cfg, &node, inv, &sel.addresses);
    for (a, why) in &skips {
        match inv.pci_device(a) {
            // usable as it is: no warning for each of a GPU's 32 VFs
            Some(d) if bind::is_nvidia_vendor_vf(d) => {
                log::debug!("not binding {a} to vfio-pci: {why}; skipped")
            }
            _ => log::warn!("not binding {a} to vfio-pci: {why}; skipped"),
        }
    }
    Ok(sel
        .addresses
        .into_iter()
        .filter(|a| !skips.iter().any(|(s, _)| s == a))
        .collect())
}

/// The node, for selecting entries: its name only matters to node-specific entries, so
/// without them a host whose name cannot be told still gets an answer.
fn node_for(ctx: &Context, cfg: &Config) -> Result<Node> {
    let node_specific = !cfg.hostdev.node_passthrough.is_empty()
        || cfg.mdev.as_ref().is_some_and(|m| !m.node_types.is_empty());
    match ctx.node() {
        Ok(n) => Ok(n),
        Err(_) if !node_specific => Ok(Node::new("-", &[])),
        Err(e) => Err(e),
    }
}

/// Warn about every device the configuration both permits for passthrough and gives vGPUs
/// (`plan`, `iommu groups`; `status` lists them as problems).
pub(crate) fn warn_conflicts(ctx: &Context, cfg: &Config, inv: &Inventory) {
    let Ok(node) = node_for(ctx, cfg) else { return };
    for c in bind::conflicts(cfg, &node, inv) {
        log::warn!("{}: {c}", ctx.config_path().display());
    }
}

/// `iommu groups`: the conflicts of the configuration, when there is one (its absence or
/// an error in it is not this command's business).
pub(crate) fn warn_conflicts_if_configured(ctx: &Context, inv: &Inventory) {
    if !ctx.config_given() && !ctx.root.exists(&ctx.config_path()) {
        return;
    }
    match ctx.load_config() {
        Ok(cfg) => warn_conflicts(ctx, &cfg, inv),
        Err(e) => log::debug!("configuration not read: {e:#}"),
    }
}

/// DEVICE arguments: each must name a device on this host (exit 66 otherwise).
fn named(ctx: &Context, inv: &Inventory, args: &[DeviceArg]) -> Result<Vec<String>> {
    let Selection {
        addresses,
        missing_addresses,
        unmatched,
    } = bind::select(inv, args);
    if let Some(addr) = missing_addresses.first() {
        return Err(fail(
            Code::NotFound,
            format!(
                "no PCI device {addr} under {}{}; `hostdev iommu groups` lists the devices",
                ctx.root.display(&ctx.root.pci_devices()),
                vf_hint_address(ctx, inv, addr)
            ),
        ));
    }
    if let Some(sel) = unmatched.first() {
        return Err(fail(
            Code::NotFound,
            format!(
                "no PCI device matches {sel} (vendor:device) on this host{}",
                vf_hint_selector(ctx, inv, sel)
            ),
        ));
    }
    Ok(addresses)
}

/// A missing address that would be a VF of an SR-IOV PF with fewer VFs enabled: which PF,
/// and the `sriov_numvfs` write that creates it (hostdev never writes it).
fn vf_hint_address(ctx: &Context, inv: &Inventory, addr: &str) -> String {
    let fs = &ctx.root;
    hint::vf_hint(inv, fs, |pf, i| {
        hint::vf_address(fs, pf, i).as_deref() == Some(addr)
    })
}

/// A selector that matches no device but is the VF device ID (`sriov_vf_device`) of an
/// SR-IOV PF with VFs still to enable.
fn vf_hint_selector(
    ctx: &Context,
    inv: &Inventory,
    sel: &crate::config::model::PciSelector,
) -> String {
    let fs = &ctx.root;
    hint::vf_hint(inv, fs, |pf, _| {
        pf.vendor == sel.vendor
            && crate::host::live::sriov_vf_device(fs, &pf.address).is_some_and(|d| d == sel.device)
    })
}

/// The device arguments, `--from-config`, or an interactive choice.
fn select(ctx: &Context, args: &BindVfioArgs, inv: &Inventory) -> Result<Vec<String>> {
    if args.from_config {
        return from_config(ctx, inv);
    }
    if !args.devices.is_empty() {
        return named(ctx, inv, &args.devices);
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
            !d.is_bridge() && d.driver.as_deref() != Some(VFIO_PCI) && !bind::is_nvidia_vendor_vf(d)
        })
        .filter(|d| host_use(&ctx.root, inv, d).is_none())
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
