//! `hostdev-sim`: serve a fixture as a simulated host, and act on one.
//!
//! ```text
//! hostdev-sim serve FIXTURE MOUNTPOINT [--in-place] [--background]
//! hostdev-sim stop MOUNTPOINT
//! hostdev-sim hold MOUNTPOINT DEVICE      # a simulated VM opens DEVICE (PCI address or mdev UUID); prints its pid
//! hostdev-sim release MOUNTPOINT PID
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};

use hostdev_sim::serve::{self, Options};
use hostdev_sim::Model;

#[derive(Parser)]
#[command(name = "hostdev-sim", version, about = "A simulated host for hostdev: a fixture served through FUSE, every sysfs write answered by a model of the kernel")]
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
            serve::unmount(&mountpoint).with_context(|| format!("unmounting {}", mountpoint.display()))
        }
        Cmd::Hold { mountpoint, device } => {
            let pid = Model::new(&mountpoint).hold(&device)?;
            println!("{pid}");
            Ok(())
        }
        Cmd::Release { mountpoint, pid } => Ok(Model::new(&mountpoint).release(pid)?),
    }
}

/// Start `hostdev-sim serve` again as a child and wait until its mount is live.
fn background_serve(fixture: &std::path::Path, mountpoint: &std::path::Path, in_place: bool) -> Result<()> {
    let exe = std::env::current_exe().context("finding hostdev-sim itself")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("serve").arg(fixture).arg(mountpoint);
    if in_place {
        cmd.arg("--in-place");
    }
    cmd.stdin(std::process::Stdio::null());
    let mut child = cmd.spawn().context("starting the server")?;
    let start = Instant::now();
    while start.elapsed() < READY_WAIT {
        if let Some(st) = child.try_wait()? {
            bail!("the server exited before the mount was live ({st})");
        }
        if serve::is_mounted(mountpoint) {
            println!("{}", child.id());
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    bail!("the mount at {} was not live after {} s", mountpoint.display(), READY_WAIT.as_secs())
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
