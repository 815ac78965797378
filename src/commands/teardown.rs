//! `hostdev teardown`: remove the mdevs and clear the vGPU types hostdev created (from the
//! state file; `--all`: every one not in use), disable the VFs hostdev enabled, and return
//! vfio-bound devices to their original drivers.

use std::io::Write;

use anyhow::Result;

use crate::cli::TeardownArgs;
use crate::context::Context;
use crate::error::Code;
use crate::exec::teardown::TeardownJob;
use crate::exec::{mutate, pipeline};
use crate::host::inventory::Inventory;
use crate::plan::state::State;
use crate::plan::teardown::Scope;

pub fn run(ctx: &Context, args: &TeardownArgs, out: &mut dyn Write) -> Result<Code> {
    // Neither flag: both parts.
    let scope = Scope {
        mdevs: args.mdevs || !args.vfio,
        vfio: args.vfio || !args.mdevs,
        all: args.all,
    };
    mutate::prepare(ctx, &args.mutate, "teardown")?;
    let state = State::load(&ctx.root)?;
    let inv = Inventory::scan(&ctx.root)?;
    let mut job = TeardownJob::new(&state, inv, scope, args.vfio, args.mutate.dry_run);
    pipeline::run(ctx, &args.mutate, &mut job, out)
}
