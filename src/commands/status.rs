//! `hostdev status`: health and drift, read-only. Table, JSON, YAML or Prometheus metrics
//! (on stdout, or written atomically with `--textfile` for node_exporter).

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::{Output, Provider, StatusArgs, StatusFormat};
use crate::config::model::Config;
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::{self, Inventory};
use crate::host::iommu::{self, HostFacts};
use crate::plan::env::{self, Env};
use crate::plan::status::{self, ResourceStatus, StatusDoc};
use crate::render;

/// The resources of `provider` on this host, with the health of every device: the same
/// discovery `hostdev env` uses.
pub(crate) fn resources(
    ctx: &Context,
    provider: Provider,
    config: &Config,
    inv: &Inventory,
    include_external: bool,
) -> Result<(Env, Vec<ResourceStatus>)> {
    let env = match provider {
        Provider::Kubevirt => env::discover(config, inv, include_external),
        Provider::Nvidia => crate::plan::nvidia::discover(inv, nvidia_names(ctx, inv)?.as_deref()),
    };
    let missing = |paths: &[String]| inventory::holders::missing_dev_nodes(&ctx.root, paths);
    let res = status::assess(&env, inv, &missing);
    Ok((env, res))
}

/// The PCI ID database for `--provider nvidia`, or `None` (said once on stderr, with an
/// example named after a device ID of this host).
pub(crate) fn nvidia_names(ctx: &Context, inv: &Inventory) -> Result<Option<String>> {
    match inventory::pci::read_pci_ids(&ctx.root)? {
        Some((path, text)) => {
            log::debug!("device names from {path}");
            Ok(Some(text))
        }
        None => {
            let example = crate::plan::nvidia::example_device_id(inv)
                .map(|id| format!(" (nvidia.com/{id})"))
                .unwrap_or_default();
            log::warn!(
                "no pci.ids under {} (usr/share/misc/pci.ids, usr/share/hwdata/pci.ids): GPU resources are named after the device ID, as NVIDIA's plugin does without it{example}; install the pci.ids (Debian) or hwdata package",
                ctx.root.root().display()
            );
            Ok(None)
        }
    }
}

/// The configuration; with `--provider nvidia` a missing default configuration is an
/// empty one (hosts running NVIDIA's plugin may have none). A file named with `-f` must
/// exist (exit 66), whatever the provider.
pub(crate) fn load_config(ctx: &Context, provider: Provider) -> Result<Config> {
    if provider == Provider::Nvidia && !ctx.config_given() && !ctx.root.exists(&ctx.config_path()) {
        log::info!(
            "no configuration at {}: no mdev configuration to compare with",
            ctx.config_path().display()
        );
        return Ok(Config::default());
    }
    ctx.load_config()
}

fn provider_name(p: Provider) -> &'static str {
    match p {
        Provider::Kubevirt => "kubevirt",
        Provider::Nvidia => "nvidia",
    }
}

/// What goes on stdout: `--format` wins; otherwise `-o`; `-o json --format yaml` contradicts.
fn resolve(output: Output, format: Option<StatusFormat>) -> Result<StatusFormat> {
    let from_o = match output {
        Output::Table => StatusFormat::Table,
        Output::Json => StatusFormat::Json,
        Output::Yaml => StatusFormat::Yaml,
    };
    match format {
        None => Ok(from_o),
        Some(f) if output == Output::Table || f == from_o => Ok(f),
        Some(f) => Err(fail(
            Code::Usage,
            format!(
                "-o {} contradicts --format {}: give one of them",
                name(from_o),
                name(f)
            ),
        )),
    }
}

fn name(f: StatusFormat) -> &'static str {
    match f {
        StatusFormat::Table => "table",
        StatusFormat::Json => "json",
        StatusFormat::Yaml => "yaml",
        StatusFormat::Prometheus => "prometheus",
    }
}

pub(crate) fn build(ctx: &Context, provider: Provider) -> Result<StatusDoc> {
    let config = load_config(ctx, provider)?;
    let node = ctx.node()?;
    let inv = Inventory::scan(&ctx.root)?;
    if inv.uninspected_processes > 0 {
        log::warn!(
            "could not inspect the open files of {} processes (not root): devices they hold are shown as free",
            inv.uninspected_processes
        );
    }
    let plan = crate::plan::plan(&config, &node, &inv);
    let (env, res) = resources(ctx, provider, &config, &inv, true)?;
    for s in &env.skipped {
        log::debug!("{s}");
    }
    let checks = iommu::check::checks(&HostFacts::read(&ctx.root));
    let conflicts: Vec<String> = crate::plan::bind::conflicts(&config, &node, &inv)
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(status::report(
        &plan,
        provider_name(provider),
        res,
        &inv,
        &checks,
        &conflicts,
    ))
}

pub fn run(ctx: &Context, args: &StatusArgs, out: &mut dyn Write) -> Result<Code> {
    let format = resolve(ctx.output, args.format)?;
    let doc = build(ctx, args.provider)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    if let Some(path) = &args.textfile {
        write_atomically(path, render::status::prometheus(&doc, now).as_bytes())?;
    }
    if args.textfile.is_none() || args.format.is_some() {
        match format {
            StatusFormat::Table => render::status::status_table(out, &doc)?,
            StatusFormat::Json => render::document(out, Output::Json, &doc)?,
            StatusFormat::Yaml => render::document(out, Output::Yaml, &doc)?,
            StatusFormat::Prometheus => {
                out.write_all(render::status::prometheus(&doc, now).as_bytes())?
            }
        }
    }
    for p in &doc.problems {
        // one line each (newlines and tabs in host names escaped too)
        log::error!("{}", render::escape::cell(p));
    }
    // only GPUs that are not ready yet: its own code, so a boot unit or a script can wait
    Ok(
        if !doc.healthy && doc.mdev.not_ready > 0 && doc.problems.len() == doc.mdev.not_ready {
            Code::NotReady
        } else {
            Code::failure_if(!doc.healthy)
        },
    )
}

/// Write `data` to `path` so that a reader sees the old file or the new one, never a part:
/// a temporary file in the same directory, synced, made world-readable, then renamed over
/// `path`. The temporary is a dot-file without `.prom` (node_exporter ignores it) under a
/// name hostdev owns, `.NAME.hostdev-PID.tmp`, created with `O_CREAT | O_EXCL | O_NOFOLLOW`:
/// when that name is taken (another program's file, a symlink) the next of a few
/// numbered names is tried, and only a file this run created is ever removed.
pub(crate) fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    write_file_atomically(path, data, "--textfile")
}

/// [`write_atomically`], its messages naming the file after `what` (`--textfile`, `init`).
pub(crate) fn write_file_atomically(path: &Path, data: &[u8], what: &str) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| {
            fail(
                Code::Usage,
                format!("{what} {}: not a file name", path.display()),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let pid = std::process::id();
    let mut created = None;
    for n in 0..16 {
        let name = match n {
            0 => format!(".{file_name}.hostdev-{pid}.tmp"),
            n => format!(".{file_name}.hostdev-{pid}-{n}.tmp"),
        };
        let tmp = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(f) => {
                created = Some((tmp, f));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "{what} {}: cannot write (creating the temporary file {})",
                        path.display(),
                        tmp.display()
                    )
                })
            }
        }
    }
    let Some((tmp, mut f)) = created else {
        return Err(anyhow::anyhow!(
            "{what} {}: cannot write: every temporary name hostdev tries \
             (.{file_name}.hostdev-{pid}*.tmp in {}) is taken by another file; \
             remove those that are stale and run again",
            path.display(),
            dir.display()
        ));
    };
    let result = (|| -> std::io::Result<()> {
        f.write_all(data)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        // the temporary is this run's own: created above with O_EXCL
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("{what} {}: cannot write", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_output_agree_or_exit_64() {
        use StatusFormat::*;
        assert_eq!(resolve(Output::Table, None).unwrap(), Table);
        assert_eq!(resolve(Output::Json, None).unwrap(), Json);
        assert_eq!(
            resolve(Output::Table, Some(Prometheus)).unwrap(),
            Prometheus
        );
        assert_eq!(resolve(Output::Yaml, Some(Yaml)).unwrap(), Yaml);
        let e = resolve(Output::Json, Some(Prometheus)).unwrap_err();
        assert_eq!(crate::error::exit_code(&e).as_i32(), 64);
    }

    #[test]
    fn textfile_is_replaced_whole_and_no_temporary_file_stays() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("hostdev.prom");
        std::fs::write(&p, "old").unwrap();
        write_atomically(&p, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let e = write_atomically(&d.path().join("missing/x.prom"), b"x").unwrap_err();
        assert!(
            format!("{e:#}").contains("missing/x.prom: cannot write (creating the temporary file"),
            "{e:#}"
        );
    }

    /// Issue 20 item 6: a file of another program at the temporary name (the old name was
    /// `.NAME.PID.tmp`, created O_EXCL and then deleted on the failure) is left alone; a
    /// symlink there is not followed.
    #[test]
    fn textfile_never_deletes_or_follows_a_file_it_did_not_create() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("hostdev.prom");
        let pid = std::process::id();
        let theirs = [
            d.path().join(format!(".hostdev.prom.{pid}.tmp")),
            d.path().join(format!(".hostdev.prom.hostdev-{pid}.tmp")),
        ];
        for t in &theirs {
            std::fs::write(t, "theirs").unwrap();
        }
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(
            &victim,
            d.path().join(format!(".hostdev.prom.hostdev-{pid}-1.tmp")),
        )
        .unwrap();
        write_atomically(&p, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        for t in &theirs {
            assert_eq!(
                std::fs::read_to_string(t).unwrap(),
                "theirs",
                "{}",
                t.display()
            );
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }
}
