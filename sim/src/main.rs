//! `hostdev-sim`: serve a fixture as a simulated host, and act on one.
//!
//! ```text
//! hostdev-sim serve FIXTURE MOUNTPOINT [--in-place] [--background]
//! hostdev-sim stop MOUNTPOINT
//! hostdev-sim hold MOUNTPOINT DEVICE      # a simulated VM opens DEVICE (PCI address or mdev UUID); prints its pid
//! hostdev-sim release MOUNTPOINT PID
//! hostdev-sim scenarios [--root DIR] [--host KIND] [--var NAME=VALUE] FILE...   # tests/model/*.yaml
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};

use hostdev_sim::scenario;
use hostdev_sim::serve::{self, Options};
use hostdev_sim::Model;

#[derive(Parser)]
#[command(
    name = "hostdev-sim",
    version,
    about = "A simulated host for hostdev: a fixture served through FUSE, every sysfs write answered by a model of the kernel"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve FIXTURE (a copy of it, unless --in-place) at MOUNTPOINT until SIGINT/SIGTERM
    Serve {
        fixture: PathBuf,
        mountpoint: PathBuf,
        /// Serve FIXTURE itself: writes change it
        #[arg(long)]
        in_place: bool,
        /// Return once the mount is live, serving on in the background (prints the pid)
        #[arg(long)]
        background: bool,
    },
    /// Take the mount at MOUNTPOINT down (its server then exits and removes its copy)
    Stop { mountpoint: PathBuf },
    /// A simulated VM opens DEVICE (a PCI address or an mdev UUID); prints its pid
    Hold { mountpoint: PathBuf, device: String },
    /// The simulated process PID exits
    Release { mountpoint: PathBuf, pid: u32 },
    /// Perform the scenario files (tests/model/*.yaml) on the host at DIR and report every
    /// step whose outcome differs (exit 1 if any)
    Scenarios {
        /// The host: / (the real kernel) or a mount of `hostdev-sim serve`
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Only the files for this host kind (samples, nvsim-pf, nvsim-vf, nvsim-vfio, igb-sriov)
        #[arg(long)]
        host: Option<String>,
        /// A variable for the scenarios (overrides the host kind's)
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        /// Print each scenario's name as it runs
        #[arg(short, long)]
        verbose: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// How long `serve --background` waits for the mount.
const READY_WAIT: Duration = Duration::from_secs(20);

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Serve {
            fixture,
            mountpoint,
            in_place,
            background,
        } => {
            if background {
                return background_serve(&fixture, &mountpoint, in_place);
            }
            let opts = Options { in_place };
            serve::serve_foreground(&fixture, &mountpoint, &opts, || {
                eprintln!(
                    "hostdev-sim: serving {} at {} (pid {}); stop with Ctrl-C or `hostdev-sim stop {}`",
                    fixture.display(),
                    mountpoint.display(),
                    std::process::id(),
                    mountpoint.display()
                );
            })
        }
        Cmd::Stop { mountpoint } => {
            if !serve::is_mounted(&mountpoint) {
                bail!("nothing is mounted at {}", mountpoint.display());
            }
            serve::unmount(&mountpoint)
                .with_context(|| format!("unmounting {}", mountpoint.display()))
        }
        Cmd::Hold { mountpoint, device } => {
            let pid = Model::new(&mountpoint).hold(&device)?;
            println!("{pid}");
            Ok(())
        }
        Cmd::Release { mountpoint, pid } => Ok(Model::new(&mountpoint).release(pid)?),
        Cmd::Scenarios {
            root,
            host,
            vars,
            verbose,
            files,
        } => scenarios(&root, host.as_deref(), &vars, verbose, &files),
    }
}

fn scenarios(
    root: &std::path::Path,
    host: Option<&str>,
    vars: &[String],
    verbose: bool,
    files: &[PathBuf],
) -> Result<()> {
    if let Some(h) = host {
        if !scenario::KINDS.contains(&h) {
            bail!("--host {h}: not one of {}", scenario::KINDS.join(", "));
        }
    }
    let mut runner = scenario::Runner::new(root, host);
    runner.verbose = verbose;
    for v in vars {
        let Some((k, val)) = v.split_once('=') else {
            bail!("--var {v}: NAME=VALUE");
        };
        runner.var(k, val);
    }
    let mut report = scenario::Report::default();
    for f in files {
        runner.run_file(f, &mut report)?;
    }
    for m in &report.mismatches {
        println!("{m}");
    }
    println!(
        "hostdev-sim scenarios: {} file(s), {} scenario(s), {} step(s) on {}: {} mismatch(es)",
        report.files,
        report.scenarios,
        report.steps,
        root.display(),
        report.mismatches.len()
    );
    if !report.mismatches.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// Start `hostdev-sim serve` again as a child and wait until its mount is live (its
/// "serving" line). The child's stdout is not ours (a caller reading the pid to its end,
/// as `$(...)` does, would wait for the server); its stderr is passed on until then.
fn background_serve(
    fixture: &std::path::Path,
    mountpoint: &std::path::Path,
    in_place: bool,
) -> Result<()> {
    use std::io::BufRead as _;
    let exe = std::env::current_exe().context("finding hostdev-sim itself")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("serve").arg(fixture).arg(mountpoint);
    if in_place {
        cmd.arg("--in-place");
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().context("starting the server")?;
    let err = child.stderr.take().context("the server's stderr")?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    while start.elapsed() < READY_WAIT {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                eprintln!("{line}");
                if line.starts_with("hostdev-sim: serving ") && serve::is_mounted(mountpoint) {
                    println!("{}", child.id());
                    return Ok(());
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let st = child.wait()?;
                bail!("the server exited before the mount was live ({st})");
            }
        }
    }
    let _ = child.kill();
    bail!(
        "the mount at {} was not live after {} s",
        mountpoint.display(),
        READY_WAIT.as_secs()
    )
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostdev-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}
