//! `hostdev devices`: the devices of the permitted resources for libvirt, QEMU or a
//! script. A read-only snapshot, not a reservation.

use std::io::Write;

use anyhow::Result;

use crate::cli::{DevicesArgs, DevicesFormat, Output};
use crate::commands::status::{load_config, resources};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::Inventory;
use crate::plan::status::{self, DeviceQuery, DeviceStatus, ResourceStatus};
use crate::plan::SCHEMA;
use crate::render::{self, status::DevicesDoc};

/// What to print: `--format`, or `-o json`/`-o yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Devices(DevicesFormat),
    Yaml,
}

fn resolve(output: Output, format: Option<DevicesFormat>) -> Result<Format> {
    match (output, format) {
        (Output::Table, f) => Ok(Format::Devices(f.unwrap_or(DevicesFormat::Table))),
        (Output::Json, None | Some(DevicesFormat::Json)) => Ok(Format::Devices(DevicesFormat::Json)),
        (Output::Yaml, None) => Ok(Format::Yaml),
        (o, Some(_)) => Err(fail(
            Code::Usage,
            format!(
                "-o {} contradicts --format: give one of them (`-o json` is the same as `--format json`)",
                if o == Output::Json { "json" } else { "yaml" }
            ),
        )),
    }
}

pub fn run(ctx: &Context, args: &DevicesArgs, out: &mut dyn Write) -> Result<Code> {
    let format = resolve(ctx.output, args.format)?;
    if args.count == Some(0) {
        return Err(fail(Code::Usage, "-n 0: ask for at least one device"));
    }
    let config = load_config(ctx, args.provider)?;
    let inv = Inventory::scan(&ctx.root)?;
    if inv.uninspected_processes > 0 {
        log::warn!(
            "could not inspect the open files of {} processes (not root): devices they hold are shown as free",
            inv.uninspected_processes
        );
    }
    let (env, all) = resources(ctx, args.provider, &config, &inv, true)?;
    for s in &env.skipped {
        log::debug!("{s}");
    }
    let chosen = chosen_resources(args, &all)?;
    let devices = selected_devices(args, &chosen)?;
    if devices.is_empty() {
        log::warn!("no {}devices", if args.free { "free " } else { "" });
    }
    print(out, format, args, &chosen, &devices)?;
    Ok(Code::Ok)
}

/// The resources asked for (`RESOURCE` arguments, each one that must exist), or every
/// resource not handed out by an external device plugin.
fn chosen_resources(args: &DevicesArgs, all: &[ResourceStatus]) -> Result<Vec<ResourceStatus>> {
    Ok(if args.resources.is_empty() {
        all.iter().filter(|r| !r.external).cloned().collect()
    } else {
        let mut v = Vec::new();
        for name in &args.resources {
            let found: Vec<_> = all.iter().filter(|r| &r.resource_name == name).collect();
            if found.is_empty() {
                let names: Vec<&str> = all.iter().map(|r| r.resource_name.as_str()).collect();
                return Err(fail(
                    Code::NotFound,
                    format!(
                        "no resource {name:?}; the resources are: {}",
                        if names.is_empty() {
                            "none (the configuration has no permittedHostDevices)".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
            for r in found {
                if !v.iter().any(|x: &status::ResourceStatus| {
                    x.resource_name == r.resource_name && x.kind == r.kind
                }) {
                    v.push(r.clone());
                }
            }
        }
        v
    })
}

/// The devices of `chosen` that `--free`, `-n` and `--numa-node` select; too few for
/// `-n` is an error naming how many there are.
fn selected_devices(args: &DevicesArgs, chosen: &[ResourceStatus]) -> Result<Vec<DeviceStatus>> {
    let sel = DeviceQuery {
        free: args.free,
        count: args.count,
        numa_node: args.numa_node,
    };
    match status::select(chosen, &sel) {
        Ok(d) => Ok(d),
        Err(have) => {
            let what = if args.free { "free " } else { "" };
            Err(fail(
                Code::Failure,
                format!(
                    "asked for {} {what}device{}, {} {} {what}({})",
                    args.count.unwrap_or(0),
                    if args.count == Some(1) { "" } else { "s" },
                    if have == 1 { "there is" } else { "there are" },
                    have,
                    chosen
                        .iter()
                        .map(|r| r.resource_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }
}

/// The devices in the chosen format.
fn print(
    out: &mut dyn Write,
    format: Format,
    args: &DevicesArgs,
    chosen: &[ResourceStatus],
    devices: &[DeviceStatus],
) -> Result<()> {
    match format {
        Format::Devices(DevicesFormat::Table) => render::status::devices_table(out, devices)?,
        Format::Devices(DevicesFormat::Json) | Format::Yaml => {
            let doc = DevicesDoc {
                schema: SCHEMA,
                provider: match args.provider {
                    crate::cli::Provider::Kubevirt => "kubevirt",
                    crate::cli::Provider::Nvidia => "nvidia",
                },
                devices,
            };
            let o = if format == Format::Yaml {
                Output::Yaml
            } else {
                Output::Json
            };
            render::document(out, o, &doc)?
        }
        Format::Devices(DevicesFormat::Env) => {
            render::env::env_lines(out, &status::allocate_env(chosen, devices))?
        }
        Format::Devices(DevicesFormat::Libvirt) => render::status::libvirt(out, devices)?,
        Format::Devices(DevicesFormat::Qemu) => render::status::qemu(out, devices)?,
    }
    Ok(())
}
