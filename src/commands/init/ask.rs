//! `init` on a terminal: the questions, model by model (a vGPU type, none, or
//! passthrough: which GPUs, under which resource name). What is offered is `plan::init`'s
//! ([`Model`]); here the person is asked, on stderr, and the answers become [`Choices`].

use anyhow::Result;
use dialoguer::console::Term;

use super::{check_resource, vgpu_capable};
use crate::error::{fail, Code};
use crate::host::inventory::Inventory;
use crate::plan::init::{Choices, Model};

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
pub(super) fn ask(inv: &Inventory, models: &[Model]) -> Result<Option<Choices>> {
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
        if ask_model(&term, inv, models, m, &mut c)?.is_none() {
            return Ok(None);
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

/// Ask about one model: a vGPU type, none, or passthrough (then [`ask_passthrough`]);
/// the answer is added to `c`. `None`: the person left.
fn ask_model(
    term: &Term,
    inv: &Inventory,
    models: &[Model],
    m: &Model,
    c: &mut Choices,
) -> Result<Option<()>> {
    let addrs: Vec<&str> = m.gpus.iter().map(|g| g.address.as_str()).collect();
    let _ = term.write_line(&format!("\n{}: {}", m.label(), addrs.join(" ")));
    if let Some(p) = &m.problem {
        let _ = term.write_line(&format!(
            "  not ready for vGPUs: {}",
            crate::logger::escape_controls(p)
        ));
    }
    let Some(i) = answered(
        dialoguer::Select::new()
            .with_prompt(type_prompt(m))
            .items(&type_items(m))
            .default(0)
            .interact_on_opt(term),
    )?
    else {
        return Ok(None);
    };
    if i < m.types.len() {
        c.add_type(m, &m.types[i]);
        return Ok(Some(()));
    }
    if i == m.types.len() {
        return Ok(Some(()));
    }
    ask_passthrough(term, inv, models, m, c)
}

/// The choices for a model: its vGPU types with their facts, none, passthrough (control
/// characters escaped).
fn type_items(m: &Model) -> Vec<String> {
    let width = m.types.iter().map(|t| t.label().len()).max().unwrap_or(0);
    let mut items: Vec<String> = m
        .types
        .iter()
        .map(|t| format!("{:<width$}  {}", t.label(), t.facts()))
        .collect();
    items.push("none: no vGPUs on these GPUs".into());
    items.push("pass the whole GPU through (vfio-pci)".into());
    items
        .iter()
        .map(|i| crate::logger::escape_controls(i))
        .collect()
}

/// The type question: one type per GPU rules out the model's other types.
fn type_prompt(m: &Model) -> String {
    if m.types.is_empty() {
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
    }
}

/// Passthrough of a model: which GPUs, under which resource name; added to `c` (with
/// their addresses when the model has vGPU types or not all its GPUs were chosen).
/// `None`: the person left.
fn ask_passthrough(
    term: &Term,
    inv: &Inventory,
    models: &[Model],
    m: &Model,
    c: &mut Choices,
) -> Result<Option<()>> {
    let env = crate::plan::env::resource_name_to_env_var(crate::plan::env::PCI_PREFIX, &m.resource);
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
            .interact_on_opt(term),
    )?
    else {
        return Ok(None);
    };
    if chosen.is_empty() {
        return Ok(Some(()));
    }
    let Some(resource) = answered(
        dialoguer::Input::<String>::new()
            .with_prompt("resource name")
            .default(m.resource.clone())
            .validate_with(|r: &String| check_resource(r))
            .interact_text_on(term)
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
    Ok(Some(()))
}
