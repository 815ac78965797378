//! `hostdev list-types`: the mdev parents and their types, and the vGPU framework of
//! each physical GPU.

use std::io::Write;

use anyhow::Result;

use crate::error::Code;

use crate::cli::{ListTypesArgs, Output};
use crate::context::Context;
use crate::host::inventory::Inventory;
use crate::plan::types::types_doc;
use crate::render;

pub fn run(ctx: &Context, _args: &ListTypesArgs, out: &mut dyn Write) -> Result<Code> {
    let inv = Inventory::scan(&ctx.root)?;
    let doc = types_doc(&inv);
    let vendor_vfio = doc
        .gpus
        .iter()
        .any(|g| g.framework == crate::host::vgpu::Framework::VendorVfio || g.problem.is_some());
    if doc.parents.is_empty() && !vendor_vfio {
        log::warn!(
            "no mdev parents under {}: no mdev-capable driver is loaded (NVIDIA vGPU manager, i915 GVT-g, ...) or its types are not published yet",
            ctx.root.display(&ctx.root.mdev_parents())
        );
    }
    match ctx.output {
        Output::Table => render::types::types_table(out, &doc)?,
        f => render::document(out, f, &doc)?,
    }
    Ok(Code::Ok)
}
