//! Output: tables (comfy-table) for people, JSON/YAML documents for scripts. Here: the
//! shared helpers (the output format dispatch [`document`], the table style [`table`],
//! [`write_table`], which escapes every cell); each document's rendering lives in its own
//! file beside this one. Everything renders into `&mut dyn Write`; nothing here prints
//! directly.

use std::io::Write;

use anyhow::Result;
use comfy_table::{presets, Table};
use serde::Serialize;

use crate::cli::Output;

pub mod diff;
pub(crate) mod env;
pub mod escape;
pub(crate) mod iommu;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod status;
pub(crate) mod tar;
pub(crate) mod tree;
pub(crate) mod types;

/// Write a document as pretty JSON or YAML (stable field order, trailing newline).
pub(crate) fn document<T: Serialize>(out: &mut dyn Write, format: Output, doc: &T) -> Result<()> {
    match format {
        Output::Json | Output::Table => {
            serde_json::to_writer_pretty(&mut *out, doc)?;
            writeln!(out)?;
        }
        Output::Yaml => out.write_all(yaml_serde::to_string(doc)?.as_bytes())?,
    }
    Ok(())
}

/// A borderless, kubectl-like table with a header row.
pub(crate) fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    t
}

/// Print a table without the padding comfy-table puts at the start and end of lines.
/// Every cell is escaped ([`escape::cell`]): host data cannot move the cursor, colour the
/// terminal or start a new row.
pub(crate) fn write_table(out: &mut dyn Write, t: &Table) -> Result<()> {
    let cells = |row: &comfy_table::Row| -> Vec<String> {
        row.cell_iter()
            .map(|c| escape::cell(&c.content()))
            .collect()
    };
    let header: Vec<String> = t.header().map(cells).unwrap_or_default();
    let mut escaped = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for row in t.row_iter() {
        escaped.add_row(cells(row));
    }
    for line in escaped.lines() {
        writeln!(
            out,
            "{}",
            line.trim_end().strip_prefix(' ').unwrap_or(line.trim_end())
        )?;
    }
    Ok(())
}
