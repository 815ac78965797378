//! `init --type` and `init --passthrough`: the flags as choices. A type is resolved by
//! `plan::init`; a passthrough device is a PCI address or VENDOR:DEVICE, optionally
//! `=RESOURCE`, looked up on this host. The YAML is `plan::init`'s.

use anyhow::Result;

use super::{check_resource, vgpu_capable};
use crate::cli::InitArgs;
use crate::config;
use crate::error::{fail, Code};
use crate::host::inventory::Inventory;
use crate::plan::init::{self as pi, Choices, Model};

/// `--type` and `--passthrough` as choices.
pub(super) fn from_args(args: &InitArgs, inv: &Inventory, models: &[Model]) -> Result<Choices> {
    let mut c = Choices::default();
    for t in &args.types {
        let (m, opt) = pi::resolve_type(models, t).map_err(|e| fail(Code::Usage, e))?;
        c.add_type(m, opt);
    }
    c.origin.push(origin(args));
    let typed = typed_models(&c, models);
    for p in &args.passthrough {
        let (dev, resource) = match p.split_once('=') {
            Some((d, r)) => (d.trim(), Some(r.trim().to_string())),
            None => (p.trim(), None),
        };
        let (vd, addresses) = passthrough_devices(p, dev, inv, models, &typed)?;
        let resource = passthrough_resource(p, resource, models, &vd)?;
        let comment = if addresses.is_empty() {
            "no such device on this host now".to_string()
        } else {
            addresses.join(" ")
        };
        c.add_pci(&vd, resource, comment);
        if vgpu_capable(models, &vd) {
            addresses.iter().for_each(|a| c.add_address(a));
        }
    }
    Ok(c)
}

/// The file's origin line: the command that made it, its words quoted as a shell needs.
fn origin(args: &InitArgs) -> String {
    format!(
        "From: hostdev init{}{}",
        args.types
            .iter()
            .map(|t| format!(" --type {}", shell_word(t)))
            .collect::<String>(),
        args.passthrough
            .iter()
            .map(|p| format!(" --passthrough {}", shell_word(p)))
            .collect::<String>()
    )
}

/// The vendor:device of each model given a type (`--type`), in the order of the types.
fn typed_models(c: &Choices, models: &[Model]) -> Vec<String> {
    c.types
        .iter()
        .filter_map(|t| {
            models
                .iter()
                .find(|m| m.types.iter().any(|o| pi::entry_of(m, o) == t.entry))
                .map(|m| m.vendor_device.clone())
        })
        .collect()
}

/// The devices `--passthrough p` names (its device part `dev`): a PCI address on this
/// host, or every PF of a VENDOR:DEVICE; with their vendor:device.
fn passthrough_devices(
    p: &str,
    dev: &str,
    inv: &Inventory,
    models: &[Model],
    typed: &[String],
) -> Result<(String, Vec<String>)> {
    match crate::config::names::pci_address(dev) {
        Ok(addr) => {
            let d = inv.pci_device(&addr).ok_or_else(|| {
                fail(
                    Code::NotFound,
                    format!("--passthrough {p}: no PCI device {addr} on this host"),
                )
            })?;
            Ok((d.vendor_device(), vec![addr]))
        }
        Err(Some(why)) => Err(fail(Code::Usage, format!("--passthrough {p}: {why}"))),
        Err(None) => selector_devices(p, dev, inv, models, typed),
    }
}

/// The PFs of VENDOR:DEVICE `dev` on this host (none is a warning, not an error); refused
/// when the model is also given vGPUs (`--type`): its GPUs must then be named by address.
fn selector_devices(
    p: &str,
    dev: &str,
    inv: &Inventory,
    models: &[Model],
    typed: &[String],
) -> Result<(String, Vec<String>)> {
    let sel = config::model::PciSelector::parse(dev).map_err(|e| {
        fail(
            Code::Usage,
            format!("--passthrough {p}: {e} (expected VENDOR:DEVICE such as 10de:1eb8, or a PCI address, optionally =RESOURCE)"),
        )
    })?;
    let vd = format!("{}:{}", sel.vendor, sel.device).to_ascii_lowercase();
    if typed.contains(&vd) {
        let gpus: Vec<&str> = models
            .iter()
            .filter(|m| m.vendor_device == vd)
            .flat_map(|m| m.gpus.iter().map(|g| g.address.as_str()))
            .collect();
        return Err(fail(
            Code::Usage,
            format!(
                "--passthrough {p}: {vd} is also given vGPUs (--type): name the GPUs to pass through by address instead ({})",
                gpus.join(", ")
            ),
        ));
    }
    let all: Vec<String> = inv
        .pci
        .iter()
        .filter(|d| d.vendor_device() == vd && d.physfn.is_none())
        .map(|d| d.address.clone())
        .collect();
    if all.is_empty() {
        log::warn!("--passthrough {p}: no {vd} device on this host now");
    }
    Ok((vd, all))
}

/// The resource name of `--passthrough p`: the one given (checked as the loader checks
/// it), else the model's, else the default one for `vd`.
fn passthrough_resource(
    p: &str,
    resource: Option<String>,
    models: &[Model],
    vd: &str,
) -> Result<String> {
    Ok(match resource {
        Some(r) => {
            check_resource(&r).map_err(|e| fail(Code::Usage, format!("--passthrough {p}: {e}")))?;
            r
        }
        None => models
            .iter()
            .find(|m| m.vendor_device == vd)
            .map(|m| m.resource.clone())
            .unwrap_or_else(|| {
                let (v, d) = vd.split_once(':').unwrap_or(("", ""));
                pi::pci_resource(v, d, None)
            }),
    })
}

/// `word`, quoted as a shell would need it.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/=".contains(c))
    {
        word.to_string()
    } else {
        format!("{word:?}")
    }
}
