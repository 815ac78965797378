//! `hostdev init`: write a configuration file for this host — asked on a terminal, or from
//! flags, from what the host has now, or from mdevctl's definitions. The choices become
//! YAML in `plan::init`; here the host is read, the person asked, the file validated with
//! the loader every command uses, its plan shown, and the file written atomically.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::cli::{InitArgs, Output};
use crate::config;
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::{self, is_mdev_uuid, Inventory};
use crate::plan::init::{self as pi, Choices, MdevctlDef, Model};
use crate::render;

/// The largest mdevctl definition read (they are a few hundred bytes).
const MDEVCTL_MAX: usize = 64 << 10;

pub fn run(ctx: &Context, args: &InitArgs, out: &mut dyn Write) -> Result<Code> {
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
    let path = ctx.config_path();
    if path == Path::new("-") && !ctx.print_file {
        return Err(fail(
            Code::Usage,
            "init: -f - names stdin, which cannot be written: give a file, or print with -o -",
        ));
    }
    let old = if ctx.print_file {
        None
    } else {
        existing(ctx, &path)?
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

    let inv = Inventory::scan(&ctx.root)?;
    let pci_ids = inventory::pci::read_pci_ids(&ctx.root)?.map(|(_, text)| text);
    let models = pi::models(&inv, pci_ids.as_deref());
    let preview_node = ctx.node().unwrap_or_else(|_| ctx.node_named("this-node"));

    let mut choices = if args.from_host {
        let (c, notes) = pi::from_host(&inv, &models);
        if c.is_empty() {
            return Err(fail(
                Code::NotFound,
                "--from-host: this host has no mdevs, no configured vGPUs and no device on vfio-pci: nothing to keep; choose with --type or --passthrough",
            ));
        }
        notes.iter().for_each(|n| log::warn!("{n}"));
        c
    } else if let Some(dir) = &args.from_mdevctl {
        let (defs, shown) = read_mdevctl(ctx, dir.as_deref())?;
        let (mut c, notes) = pi::from_mdevctl(&defs, &inv, &models, &preview_node.name);
        c.origin.push(format!(
            "From the {} mdevctl definitions under {shown}.",
            defs.len()
        ));
        notes.iter().for_each(|n| log::warn!("{n}"));
        c
    } else if from_flags {
        from_args(args, &inv, &models)?
    } else {
        match ask(&inv, &models)? {
            Some(c) => c,
            None => {
                log::error!("aborted; nothing was written");
                return Ok(Code::Failure);
            }
        }
    };
    if args.from_host {
        choices
            .origin
            .push("From what the host has now (`init --from-host`).".into());
    }
    choices.node = ctx.node_selector();

    // validated by the loader every command uses, as the file it will be
    let text = pi::render(&choices);
    let source = config::load::Source::File(path.clone());
    let cfg = config::load::parse(&text, &source)
        .context("hostdev init produced a configuration its own loader refuses (a bug)")?;
    let plan = crate::plan::plan(&cfg, &preview_node, &inv);
    if args.from_host && !plan.is_noop() {
        log::warn!(
            "--from-host: `plan` is not empty after this: KubeVirt's semantics fill every GPU with its type and give free GPUs one of the types ({} to create, {} to remove)",
            plan.count(crate::plan::ActionKind::Create) + plan.count(crate::plan::ActionKind::SetVgpuType),
            plan.count(crate::plan::ActionKind::Remove) + plan.count(crate::plan::ActionKind::ClearVgpuType)
        );
    }

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
    if !from_flags {
        let mut table = Vec::new();
        render::plan_table(&mut table, &plan)?;
        let term = dialoguer::console::Term::stderr();
        let _ = term.write_line(&format!(
            "\nThe plan of this file on this host (node {}):\n",
            preview_node.name
        ));
        let _ = term.write_str(&crate::logger::escape_controls(&String::from_utf8_lossy(
            &table,
        )));
        let _ = term.write_line("");
        if !crate::exec::confirm::confirm(&format!("write {shown}?"), args.yes)? {
            log::error!("aborted; nothing was written");
            return Ok(Code::Failure);
        }
    }
    write(ctx, &path, &text)?;
    log::info!("wrote {shown}: check it with `hostdev plan`, then run `hostdev apply`");
    if !choices.pci.is_empty() {
        log::info!("`hostdev bind vfio --from-config` binds the passthrough devices to vfio-pci");
    }
    Ok(Code::Ok)
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

/// `--type` and `--passthrough` as choices.
fn from_args(args: &InitArgs, inv: &Inventory, models: &[Model]) -> Result<Choices> {
    let mut c = Choices::default();
    for t in &args.types {
        let (m, opt) = pi::resolve_type(models, t).map_err(|e| fail(Code::Usage, e))?;
        c.add_type(m, opt);
    }
    c.origin.push(format!(
        "From: hostdev init{}{}",
        args.types
            .iter()
            .map(|t| format!(" --type {}", shell_word(t)))
            .collect::<String>(),
        args.passthrough
            .iter()
            .map(|p| format!(" --passthrough {}", shell_word(p)))
            .collect::<String>()
    ));
    let typed: Vec<String> = c
        .types
        .iter()
        .filter_map(|t| {
            models
                .iter()
                .find(|m| m.types.iter().any(|o| pi::entry_of(m, o) == t.entry))
                .map(|m| m.vendor_device.clone())
        })
        .collect();
    for p in &args.passthrough {
        let (dev, resource) = match p.split_once('=') {
            Some((d, r)) => (d.trim(), Some(r.trim().to_string())),
            None => (p.trim(), None),
        };
        let (vd, addresses) = match crate::config::names::pci_address(dev) {
            Ok(addr) => {
                let d = inv.pci_device(&addr).ok_or_else(|| {
                    fail(
                        Code::NotFound,
                        format!("--passthrough {p}: no PCI device {addr} on this host"),
                    )
                })?;
                (d.vendor_device(), vec![addr])
            }
            Err(Some(why)) => return Err(fail(Code::Usage, format!("--passthrough {p}: {why}"))),
            Err(None) => {
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
                (vd, all)
            }
        };
        let resource = match resource {
            Some(r) => {
                check_resource(&r)
                    .map_err(|e| fail(Code::Usage, format!("--passthrough {p}: {e}")))?;
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
        };
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
        pi::scalar(r)
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

/// mdevctl's definitions: `DIR/<parent>/<uuid>` (default: under the root), sorted; the
/// directory as shown in messages.
fn read_mdevctl(ctx: &Context, dir: Option<&Path>) -> Result<(Vec<MdevctlDef>, String)> {
    let (dir, under_root) = match dir {
        Some(d) if !d.as_os_str().is_empty() => (d.to_path_buf(), false),
        _ => (ctx.root.mdevctl_dir(), true),
    };
    let shown = if under_root {
        ctx.root.display(&dir)
    } else {
        dir.display().to_string()
    };
    let list = |p: &Path| -> std::io::Result<Vec<String>> {
        if under_root {
            ctx.root.list(p)
        } else {
            let mut v: Vec<String> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect();
            v.sort();
            Ok(v)
        }
    };
    let exists = if under_root {
        ctx.root.exists(&dir)
    } else {
        dir.is_dir()
    };
    if !exists {
        return Err(fail(
            Code::NotFound,
            format!("--from-mdevctl: {shown}: no such directory (mdevctl keeps its definitions in /etc/mdevctl.d)"),
        ));
    }
    let mut defs = Vec::new();
    for parent in list(&dir).with_context(|| format!("cannot list {shown}"))? {
        let pdir: PathBuf = if under_root {
            ctx.root.mdevctl_dir().join(&parent)
        } else {
            dir.join(&parent)
        };
        let Ok(uuids) = list(&pdir) else {
            continue; // a stray file beside the parents' directories
        };
        for uuid in uuids {
            if !is_mdev_uuid(&uuid) {
                log::warn!("--from-mdevctl: {shown}/{parent}/{uuid}: not a UUID; skipped");
                continue;
            }
            let file = if under_root {
                ctx.root.mdevctl_definition(&parent, &uuid)
            } else {
                pdir.join(&uuid)
            };
            let bytes = if under_root {
                ctx.root.read_own(&file, MDEVCTL_MAX)
            } else {
                crate::host::root::read::read_user_file(&file, MDEVCTL_MAX)
            }
            .map_err(|e| {
                fail(
                    Code::NotFound,
                    format!("--from-mdevctl: cannot read {shown}/{parent}/{uuid}: {e}"),
                )
            })?;
            let text = String::from_utf8_lossy(&bytes);
            let def = pi::parse_mdevctl(&parent, &uuid, &text).map_err(|e| {
                fail(
                    Code::Config,
                    format!("--from-mdevctl: {shown}/{parent}/{uuid}: {e}"),
                )
            })?;
            defs.push(def);
        }
    }
    if defs.is_empty() {
        return Err(fail(
            Code::NotFound,
            format!(
                "--from-mdevctl: no definitions under {shown} (expected <parent>/<uuid> files)"
            ),
        ));
    }
    Ok((defs, shown))
}

// ---- the questions ------------------------------------------------------------------

/// What a dialoguer prompt returned: `None` for Esc, q or Ctrl-C.
fn answered<T>(r: std::result::Result<Option<T>, dialoguer::Error>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(v),
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            let _ = dialoguer::console::Term::stderr().show_cursor();
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("reading the answer from the terminal: {e}")),
    }
}

/// Ask, model by model; `None`: the person left (Esc, q, Ctrl-C).
fn ask(inv: &Inventory, models: &[Model]) -> Result<Option<Choices>> {
    if models.is_empty() {
        return Err(fail(
            Code::NotFound,
            "init: no GPU and no mdev parent on this host (`hostdev list-types` and `hostdev iommu groups --gpu` show none): nothing to choose from",
        ));
    }
    let term = dialoguer::console::Term::stderr();
    let mut c = Choices::default();
    c.origin
        .push("From the answers to `hostdev init` on this host.".into());
    let _ = term.write_line(
        "hostdev init: for each GPU model, choose a vGPU type, none, or passthrough. \
         Arrows or j/k move, enter chooses, esc leaves without writing.",
    );
    for m in models {
        let addrs: Vec<&str> = m.gpus.iter().map(|g| g.address.as_str()).collect();
        let _ = term.write_line(&format!("\n{}: {}", m.label(), addrs.join(" ")));
        if let Some(p) = &m.problem {
            let _ = term.write_line(&format!(
                "  not ready for vGPUs: {}",
                crate::logger::escape_controls(p)
            ));
        }
        let width = m.types.iter().map(|t| t.label().len()).max().unwrap_or(0);
        let mut items: Vec<String> = m
            .types
            .iter()
            .map(|t| format!("{:<width$}  {}", t.label(), t.facts()))
            .collect();
        items.push("none: no vGPUs on these GPUs".into());
        items.push("pass the whole GPU through (vfio-pci)".into());
        let items: Vec<String> = items
            .iter()
            .map(|i| crate::logger::escape_controls(i))
            .collect();
        let prompt = if m.types.is_empty() {
            "no vGPU types on this model".to_string()
        } else {
            format!(
                "vGPU type (one type per GPU: it rules out the other {} type{} on {})",
                m.types.len() - 1,
                if m.types.len() == 2 { "" } else { "s" },
                if m.gpus.len() == 1 {
                    "this GPU".to_string()
                } else {
                    format!("these {} GPUs", m.gpus.len())
                }
            )
        };
        let Some(i) = answered(
            dialoguer::Select::new()
                .with_prompt(prompt)
                .items(&items)
                .default(0)
                .interact_on_opt(&term),
        )?
        else {
            return Ok(None);
        };
        if i < m.types.len() {
            c.add_type(m, &m.types[i]);
            continue;
        }
        if i == m.types.len() {
            continue;
        }
        // passthrough: which GPUs, under which resource name
        let env =
            crate::plan::env::resource_name_to_env_var(crate::plan::env::PCI_PREFIX, &m.resource);
        let gpu_items: Vec<String> = m
            .gpus
            .iter()
            .map(|g| {
                crate::logger::escape_controls(&format!(
                    "{}  {}  {}",
                    g.address,
                    g.driver.as_deref().unwrap_or("(no driver)"),
                    g.group
                ))
            })
            .collect();
        let Some(chosen) = answered(
            dialoguer::MultiSelect::new()
                .with_prompt(format!(
                    "GPUs to pass through as {} ({env}); space toggles, enter confirms",
                    m.resource
                ))
                .items(&gpu_items)
                .defaults(&vec![true; gpu_items.len()])
                .interact_on_opt(&term),
        )?
        else {
            return Ok(None);
        };
        if chosen.is_empty() {
            continue;
        }
        let Some(resource) = answered(
            dialoguer::Input::<String>::new()
                .with_prompt("resource name")
                .default(m.resource.clone())
                .validate_with(|r: &String| check_resource(r))
                .interact_text_on(&term)
                .map(Some),
        )?
        else {
            return Ok(None);
        };
        let addrs: Vec<&str> = chosen.iter().map(|&k| m.gpus[k].address.as_str()).collect();
        c.add_pci(&m.vendor_device, resource, addrs.join(" "));
        let all_chosen = chosen.len() == m.gpus.len()
            && inv
                .pci
                .iter()
                .filter(|d| d.vendor_device() == m.vendor_device && d.physfn.is_none())
                .count()
                == m.gpus.len();
        if vgpu_capable(models, &m.vendor_device) || !all_chosen {
            addrs.iter().for_each(|a| c.add_address(a));
        }
    }
    if c.is_empty() {
        // a file that configures nothing is not a configuration (the loader refuses it)
        return Err(fail(
            Code::Failure,
            "nothing chosen (\"none\" for every model); nothing was written",
        ));
    }
    Ok(Some(c))
}
