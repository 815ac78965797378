//! `hostdev tree [DEVICE]`: what lives under each device — VFs, mdevs, vGPU types, and who
//! holds them. Read-only.

use std::io::Write;

use anyhow::Result;

use crate::cli::{Output, TreeArgs};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::Inventory;
use crate::render::tree;

pub fn run(ctx: &Context, args: &TreeArgs, out: &mut dyn Write) -> Result<Code> {
    let inv = Inventory::scan(&ctx.root)?;
    let only = match &args.device {
        Some(a) => {
            let addr = crate::config::pci_address(a).map_err(|why| {
                fail(
                    Code::Usage,
                    match why {
                        Some(why) => format!("DEVICE {a:?}: {why}"),
                        None => format!(
                            "DEVICE {a:?}: expected a PCI address such as 0000:65:00.0 or 65:00.0"
                        ),
                    },
                )
            })?;
            if inv.pci_device(&addr).is_none() {
                return Err(fail(
                    Code::NotFound,
                    format!(
                        "no PCI device {addr} under {}; `hostdev tree` shows the devices",
                        ctx.root.display(&ctx.root.pci_devices())
                    ),
                ));
            }
            Some(addr)
        }
        None => None,
    };
    if inv.uninspected_processes > 0 {
        log::warn!(
            "could not inspect the open files of {} processes (not root): devices they hold are shown as free",
            inv.uninspected_processes
        );
    }
    let doc = tree::tree_doc(&inv, only.as_deref());
    match ctx.output {
        Output::Table => tree::tree_table(out, &doc)?,
        f => crate::render::document(out, f, &doc)?,
    }
    Ok(Code::Ok)
}
