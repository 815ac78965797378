//! Parse, build the context, dispatch, map errors to exit codes: the only place that exits.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use hostdev::cli::{BindCommand, Cli, Command, IommuCommand};
use hostdev::commands;
use hostdev::context::Context;
use hostdev::error::exit_code;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 64 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match &cli.command {
        // Generated from the clap model: no host, no --root needed.
        Command::Completions(a) => commands::completions::run(a, &mut out),
        Command::Man(a) => commands::man::run(a, &mut out),
        _ => Context::new(&cli.global).and_then(|ctx| match &cli.command {
            Command::ListTypes(a) => commands::list_types::run(&ctx, a, &mut out),
            Command::Plan(a) => commands::plan::run(&ctx, a, &mut out),
            Command::Apply(a) => commands::apply::run(&ctx, a, &mut out),
            Command::Teardown(a) => commands::teardown::run(&ctx, a, &mut out),
            Command::Env(a) => commands::env::run(&ctx, a, &mut out),
            Command::Iommu(a) => match &a.command {
                IommuCommand::Check(a) => commands::iommu::check(&ctx, a, &mut out),
                IommuCommand::Groups(a) => commands::iommu::groups(&ctx, a, &mut out),
            },
            Command::Bind(a) => match &a.command {
                BindCommand::Vfio(a) => commands::bind::vfio(&ctx, a, &mut out),
            },
            Command::Completions(_) | Command::Man(_) => unreachable!("dispatched above"),
        }),
    };
    let _ = out.flush();
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("hostdev: error: {}", format_error(&err));
            ExitCode::from(exit_code(&err) as u8)
        }
    }
}

/// The error and its causes on one line, most specific last.
fn format_error(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}
