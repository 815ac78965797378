//! `hostdev init`: write a configuration file for this host — asked on a terminal
//! ([`ask`]), or from flags ([`flags`]), from what the host has now, or from mdevctl's
//! definitions ([`mdevctl`]). The choices become YAML in `plan::init`; here the host is
//! read, the file validated with the loader every command uses, its plan shown, and the
//! file written atomically.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::{InitArgs, Output};
use crate::config::{self, node::Node};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::{self, Inventory};
use crate::plan::init::{self as pi, Choices, Model};
use crate::plan::Plan;
use crate::render;

mod ask;
mod flags;
mod mdevctl;

pub fn run(ctx: &Context, args: &InitArgs, out: &mut dyn Write) -> Result<Code> {
    let from_flags = check_invocation(ctx, args)?;
    let path = ctx.config_path();
    if path == Path::new("-") && !ctx.print_file {
        return Err(fail(
            Code::Usage,
            "init: -f - names stdin, which cannot be written: give a file, or print with -o -",
        ));
    }
    let old = old_file(ctx, args, &path)?;

    let inv = Inventory::scan(&ctx.root)?;
    let pci_ids = inventory::pci::read_pci_ids(&ctx.root)?.map(|(_, text)| text);
    let models = pi::models(&inv, pci_ids.as_deref());
    let preview_node = ctx.node().unwrap_or_else(|_| ctx.node_named("this-node"));

    let Some(mut choices) = choose(ctx, args, &inv, &models, &preview_node, from_flags)? else {
        log::error!("aborted; nothing was written");
        return Ok(Code::Failure);
    };
    choices.node = ctx.node_selector();
    let (text, plan) = validated(args, &choices, &path, &preview_node, &inv)?;

    if ctx.print_file {
        out.write_all(text.as_bytes())?;
        return Ok(Code::Ok);
    }
    let shown = if ctx.config_given() {
        path.display().to_string()
    } else {
        ctx.root.display(&path)
    };
    if let Some(old) = &old {
        if *old == text {
            log::info!("{shown} already holds this configuration; nothing was written");
            return Ok(Code::Ok);
        }
        out.write_all(
            render::diff::unified(&shown, &format!("{shown} (new)"), old, &text).as_bytes(),
        )?;
        out.flush()?;
    }
    if !from_flags && !confirm_plan(&plan, &preview_node, &shown, args.yes)? {
        log::error!("aborted; nothing was written");
        return Ok(Code::Failure);
    }
    write(ctx, &path, &text)?;
    log::info!("wrote {shown}: check it with `hostdev plan`, then run `hostdev apply`");
    if !choices.pci.is_empty() {
        log::info!("`hostdev bind vfio --from-config` binds the passthrough devices to vfio-pci");
    }
    Ok(Code::Ok)
}

/// The refusals before anything is read: a document output format, the system's file
/// without root, nothing to choose from without a terminal. Returns whether the choices
/// come from flags (else the person is asked).
fn check_invocation(ctx: &Context, args: &InitArgs) -> Result<bool> {
    if ctx.output != Output::Table {
        return Err(fail(
            Code::Usage,
            "init writes a YAML file: `-o -` prints it on stdout; -o json and -o yaml are not for init",
        ));
    }
    // the default file on the real root is the system's: asked for before anything else
    if !ctx.print_file
        && !ctx.config_given()
        && ctx.root.is_real_root()
        && !nix::unistd::geteuid().is_root()
    {
        return Err(fail(
            Code::NoPerm,
            "hostdev init writes /etc/hostdev/config.yaml: run it as root (`sudo hostdev init`), \
             or print the file with -o -, or write another with -f FILE",
        ));
    }
    let from_flags = !args.types.is_empty()
        || !args.passthrough.is_empty()
        || args.from_host
        || args.from_mdevctl.is_some();
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !from_flags && !terminal {
        return Err(fail(
            Code::Usage,
            "init: stdin is not a terminal, so there is no one to ask: choose with --type TYPE, \
             --passthrough VENDOR:DEVICE, --from-host or --from-mdevctl (see `hostdev init --help`)",
        ));
    }
    Ok(from_flags)
}

/// The file `init` would replace (none when printing), refused without `--force`.
fn old_file(ctx: &Context, args: &InitArgs, path: &Path) -> Result<Option<String>> {
    let old = if ctx.print_file {
        None
    } else {
        existing(ctx, path)?
    };
    if old.is_some() && !args.force {
        return Err(fail(
            Code::Usage,
            format!(
                "{} exists: hostdev init never overwrites a file without --force (which shows the diff first); -o - prints the new file instead",
                path.display()
            ),
        ));
    }
    Ok(old)
}

/// The choices: from the host, from mdevctl's definitions, from `--type`/`--passthrough`,
/// or asked. `None`: the person left without choosing.
fn choose(
    ctx: &Context,
    args: &InitArgs,
    inv: &Inventory,
    models: &[Model],
    preview_node: &Node,
    from_flags: bool,
) -> Result<Option<Choices>> {
    let mut choices = if args.from_host {
        let (c, notes) = pi::existing::from_host(inv, models);
        if c.is_empty() {
            return Err(fail(
                Code::NotFound,
                "--from-host: this host has no mdevs, no configured vGPUs and no device on vfio-pci: nothing to keep; choose with --type or --passthrough",
            ));
        }
        notes.iter().for_each(|n| log::warn!("{n}"));
        c
    } else if let Some(dir) = &args.from_mdevctl {
        let (defs, shown) = mdevctl::read_mdevctl(ctx, dir.as_deref())?;
        let (mut c, notes) = pi::existing::from_mdevctl(&defs, inv, models, &preview_node.name);
        c.origin.push(format!(
            "From the {} mdevctl definitions under {shown}.",
            defs.len()
        ));
        notes.iter().for_each(|n| log::warn!("{n}"));
        c
    } else if from_flags {
        flags::from_args(args, inv, models)?
    } else {
        match ask::ask(inv, models)? {
            Some(c) => c,
            None => return Ok(None),
        }
    };
    if args.from_host {
        choices
            .origin
            .push("From what the host has now (`init --from-host`).".into());
    }
    Ok(Some(choices))
}

/// The file's text, validated by the loader every command uses as the file it will be,
/// and its plan on `preview_node` (with `--from-host`, a warning when that is not empty).
fn validated(
    args: &InitArgs,
    choices: &Choices,
    path: &Path,
    preview_node: &Node,
    inv: &Inventory,
) -> Result<(String, Plan)> {
    let text = pi::yaml::render(choices);
    let source = config::load::Source::File(path.to_path_buf());
    let cfg = config::load::parse(&text, &source)
        .context("hostdev init produced a configuration its own loader refuses (a bug)")?;
    let plan = crate::plan::plan(&cfg, preview_node, inv);
    if args.from_host && !plan.is_noop() {
        log::warn!(
            "--from-host: `plan` is not empty after this: KubeVirt's semantics fill every GPU with its type and give free GPUs one of the types ({} to create, {} to remove)",
            plan.count(crate::plan::ActionKind::Create) + plan.count(crate::plan::ActionKind::SetVgpuType),
            plan.count(crate::plan::ActionKind::Remove) + plan.count(crate::plan::ActionKind::ClearVgpuType)
        );
    }
    Ok((text, plan))
}

/// Show the file's plan on the terminal (stderr), then ask whether to write `shown`.
fn confirm_plan(plan: &Plan, preview_node: &Node, shown: &str, yes: bool) -> Result<bool> {
    let mut table = Vec::new();
    render::plan::plan_table(&mut table, plan)?;
    let term = dialoguer::console::Term::stderr();
    let _ = term.write_line(&format!(
        "\nThe plan of this file on this host (node {}):\n",
        preview_node.name
    ));
    let _ = term.write_str(&crate::logger::escape_controls(&String::from_utf8_lossy(
        &table,
    )));
    let _ = term.write_line("");
    crate::exec::confirm::confirm(&format!("write {shown}?"), yes)
}

/// The file at `path` now, or `None` when there is none.
fn existing(ctx: &Context, path: &Path) -> Result<Option<String>> {
    let read = if ctx.config_given() {
        match crate::host::root::read::read_user_file(path, config::load::CONFIG_MAX) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    } else {
        ctx.root
            .read_own_file(path, config::load::CONFIG_MAX)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
    };
    Ok(read.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Write the file atomically, mode 0644: the default path through the root (hostdev's own
/// file), a path named with `-f` as `--textfile` is written.
fn write(ctx: &Context, path: &Path, text: &str) -> Result<()> {
    if ctx.config_given() {
        crate::commands::status::write_file_atomically(path, text.as_bytes(), "init")
    } else {
        ctx.root
            .write_atomic(path, text.as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Whether a model offers vGPU types on this host (its passthrough GPUs must then be named
/// in `hostdev.passthroughAddresses`).
fn vgpu_capable(models: &[Model], vd: &str) -> bool {
    models
        .iter()
        .any(|m| m.vendor_device == vd && !m.types.is_empty())
}

/// A resource name as the loader checks it.
fn check_resource(r: &str) -> std::result::Result<(), String> {
    let yaml = format!(
        "permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"10DE:0000\"\n    resourceName: {}\n",
        pi::yaml::scalar(r)
    );
    config::load::parse(&yaml, &config::load::Source::Stdin)
        .map(drop)
        .map_err(|e| {
            let s = e.to_string();
            // the loader's message without the place in the made-up file
            s.find("resourceName \"")
                .map_or(s.clone(), |at| s[at..].to_string())
        })
}
