//! Parse, build the context, dispatch, map errors to exit codes: the only place that exits.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use hostdev::cli::{BindCommand, Cli, Command, IommuCommand, OutputArg};
use hostdev::commands;
use hostdev::context::Context;
use hostdev::error::{exit_code, Code};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Code::Usage
            } else {
                Code::Ok
            };
            let _ = e.print();
            return exit(code);
        }
    };
    hostdev::logger::init(cli.global.quiet, cli.global.verbose);
    // Text for a terminal has host data in it: escape control characters (not in JSON/YAML,
    // which serde escapes, nor in env/completion/man output, which is data for programs).
    let stdout: Box<dyn Write> = if cli.terminal_text() {
        Box::new(hostdev::render::escape::EscapeControls::new(
            io::stdout().lock(),
        ))
    } else {
        Box::new(io::stdout().lock())
    };
    let mut out = io::BufWriter::new(Stdout(stdout));
    let result = run(&cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => exit(code),
        // A reader that went away (`hostdev man | head -1`) is not an error.
        Err(err) if broken_pipe(&err) => exit(Code::Ok),
        Err(err) => {
            log::error!("error: {}", format_error(&err));
            exit(exit_code(&err))
        }
    }
}

fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Code> {
    match &cli.command {
        // Generated from the clap model: no host, no --root needed.
        Command::Completions(a) => commands::completions::run(a, out),
        Command::Man(a) => commands::man::run(a, out),
        _ => {
            if cli.global.output == OutputArg::Stdout && !matches!(cli.command, Command::Init(_)) {
                return Err(hostdev::error::fail(
                    Code::Usage,
                    "-o - (print the file) is for `hostdev init` only: use -o table, json or yaml",
                ));
            }
            let ctx = Context::new(&cli.global)?;
            // Not root on the real root (77) is said before anything else can fail, such as
            // a missing default configuration (66): the remedy is sudo either way.
            if let Some((name, m)) = cli.command.mutation() {
                if !m.dry_run {
                    hostdev::exec::privilege::require_root(&ctx.root, name)?;
                }
            }
            match &cli.command {
                Command::ListTypes(a) => commands::list_types::run(&ctx, a, out),
                Command::Plan(a) => commands::plan::run(&ctx, a, out),
                Command::Apply(a) => commands::apply::run(&ctx, a, out),
                Command::Teardown(a) => commands::teardown::run(&ctx, a, out),
                Command::Env(a) => commands::env::run(&ctx, a, out),
                Command::Iommu(a) => match &a.command {
                    IommuCommand::Check(a) => commands::iommu::check(&ctx, a, out),
                    IommuCommand::Groups(a) => commands::iommu::groups(&ctx, a, out),
                },
                Command::Status(a) => commands::status::run(&ctx, a, out),
                Command::Devices(a) => commands::devices::run(&ctx, a, out),
                Command::Tree(a) => commands::tree::run(&ctx, a, out),
                Command::Capture(a) => commands::capture::run(&ctx, a, out),
                Command::Init(a) => commands::init::run(&ctx, a, out),
                Command::Bind(a) => match &a.command {
                    BindCommand::Vfio(a) => commands::bind::vfio(&ctx, a, out),
                },
                Command::Completions(_) | Command::Man(_) => unreachable!("dispatched above"),
            }
        }
    }
}

fn exit(code: Code) -> ExitCode {
    ExitCode::from(code.as_i32() as u8)
}

/// Standard output whose errors say that they are about standard output (a full disk
/// behind `> file`, a closed pipe), so the one-line error names it.
struct Stdout<W: Write>(W);

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(stdout_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(stdout_error)
    }
}

/// Set once a write to standard output met a closed pipe: the error may reach `main`
/// wrapped by a serializer that hides its cause (serde_json keeps only the kind).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn stdout_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    io::Error::new(e.kind(), format!("cannot write to standard output: {e}"))
}

fn broken_pipe(err: &anyhow::Error) -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
        || err.chain().any(|c| {
            c.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        })
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
