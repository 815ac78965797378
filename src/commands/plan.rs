//! `hostdev plan`: what `apply` would do on this node. Read-only.

use std::io::Write;

use anyhow::Result;

use crate::error::Code;

use crate::cli::{Output, PlanArgs};
use crate::context::Context;
use crate::host::inventory::{Inventory, Scope};
use crate::{plan, render};

pub fn run(ctx: &Context, args: &PlanArgs, out: &mut dyn Write) -> Result<Code> {
    let config = ctx.load_config()?;
    let node = ctx.node()?;
    // only what the plan looks at: names, counts, descriptions of the wanted types
    let inv = Inventory::scan_for(&ctx.root, &Scope::for_plan(&config, &node))?;
    if inv.uninspected_processes > 0 {
        log::warn!(
            "could not inspect the open files of {} processes (not root): in-use mdevs may not be detected",
            inv.uninspected_processes
        );
    }
    let plan = plan::plan(&config, &node, &inv);
    crate::commands::bind::warn_conflicts(ctx, &config, &inv);
    match ctx.output {
        Output::Table => render::plan::plan_table(out, &plan)?,
        f => render::document(out, f, &plan)?,
    }
    Ok(if !args.detailed_exitcode {
        Code::Ok
    } else if !plan.is_noop() {
        Code::Changes
    } else if !plan.problems.is_empty() {
        Code::NotReady
    } else {
        Code::Ok
    })
}
