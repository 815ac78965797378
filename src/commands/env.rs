//! `hostdev env`: the environment KubeVirt's device plugins would hand to virt-launcher.
//! Read-only.

use std::io::Write;

use anyhow::Result;

use crate::cli::{EnvArgs, EnvFormat, Output, Provider};
use crate::context::Context;
use crate::error::{fail, Code};
use crate::host::inventory::Inventory;
use crate::plan::env;
use crate::plan::SCHEMA;
use crate::render::{self, env::EnvDoc};

/// What to print: one of `--format`'s, or a YAML document (`-o yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Env(EnvFormat),
    Yaml,
}

/// `-o json` is `--format json`; `-o yaml` is the JSON document as YAML; the default
/// `-o table` leaves `--format` alone. Anything else contradicts itself.
fn resolve(output: Output, format: Option<EnvFormat>) -> Result<Format> {
    match (output, format) {
        (Output::Table, f) => Ok(Format::Env(f.unwrap_or(EnvFormat::Env))),
        (Output::Json, None | Some(EnvFormat::Json)) => Ok(Format::Env(EnvFormat::Json)),
        (Output::Yaml, None) => Ok(Format::Yaml),
        (o, Some(f)) => {
            let o = match o {
                Output::Json => "json",
                _ => "yaml",
            };
            let f = match f {
                EnvFormat::Env => "env",
                EnvFormat::Json => "json",
                EnvFormat::Shell => "shell",
                EnvFormat::Nul => "nul",
            };
            Err(fail(
                Code::Usage,
                format!("-o {o} contradicts --format {f}: give one of them (`-o json` is the same as `--format json`)"),
            ))
        }
    }
}

pub fn run(ctx: &Context, args: &EnvArgs, out: &mut dyn Write) -> Result<Code> {
    let format = resolve(ctx.output, args.format)?;
    let config = crate::commands::status::load_config(ctx, args.provider)?;
    let inv = Inventory::scan(&ctx.root)?;
    let mut env = match args.provider {
        Provider::Kubevirt => env::discover(&config, &inv, args.include_external),
        Provider::Nvidia => crate::plan::nvidia::discover(
            &inv,
            crate::commands::status::nvidia_names(ctx, &inv)?.as_deref(),
        ),
    };
    fill_device_nodes(ctx, &inv, &mut env.vars);

    for s in &env.skipped {
        log::debug!("{}", s);
    }
    for w in env.warnings.iter().chain(&collisions(&env.vars)) {
        log::warn!("{}", w);
    }
    if env.vars.is_empty() && args.provider == Provider::Nvidia {
        log::warn!("no NVIDIA function on vfio-pci and no mdev with a type name: NVIDIA's plugin would advertise nothing");
    } else if env.vars.is_empty() {
        let p = &config.permitted;
        log::warn!(
            "{}",
            if p.pci_host_devices.is_empty() && p.mediated_devices.is_empty() {
                "the configuration has no permittedHostDevices: no variables".to_string()
            } else {
                "every permittedHostDevices entry is externalResourceProvider: true: no variables (--include-external shows them)".to_string()
            }
        );
    }

    let text_format = !matches!(format, Format::Yaml | Format::Env(EnvFormat::Json));
    if text_format {
        for v in env.vars.iter().filter(|v| v.external) {
            log::info!(
                "{} comes from an externalResourceProvider entry ({}): an external device plugin serves it, not KubeVirt, and may name it differently",
                v.name, v.resource_name
            );
        }
    }
    match format {
        Format::Env(EnvFormat::Env) => {
            for v in env
                .vars
                .iter()
                .filter(|v| !render::env::is_shell_identifier(&v.name))
            {
                log::info!(
                    "{} is not a shell identifier: docker --env-file and execve keep it, but systemd's EnvironmentFile= ignores names other than letters, digits and `_`",
                    v.name
                );
            }
            render::env::env_lines(out, &env.vars)?
        }
        Format::Env(EnvFormat::Nul) => render::env::env_nul(out, &env.vars)?,
        Format::Env(EnvFormat::Shell) => {
            for name in render::env::env_shell(out, &env.vars)? {
                log::warn!(
                    "{name} is not a valid shell variable name (KubeVirt keeps `-` in names): skipped; use --format env, nul or json to see it"
                );
            }
        }
        Format::Env(EnvFormat::Json) | Format::Yaml => {
            let doc = EnvDoc {
                schema: SCHEMA,
                include_external: args.include_external,
                variables: &env.vars,
            };
            let o = if format == Format::Yaml {
                Output::Yaml
            } else {
                Output::Json
            };
            render::document(out, o, &doc)?
        }
    }
    Ok(Code::Ok)
}

/// Each device's `/dev/vfio/<group>` and `/dev/vfio/devices/vfioN` (iommufd cdev), listed
/// only where the node exists under the root: a kernel built without iommufd (Debian's
/// 6.12) shows `vfio-dev/vfioN` in sysfs but has no `/dev/vfio/devices/vfioN`.
fn fill_device_nodes(ctx: &Context, inv: &Inventory, vars: &mut [env::EnvVar]) {
    for d in vars.iter_mut().flat_map(|v| v.devices.iter_mut()) {
        let paths = if let Some(a) = &d.address {
            inv.pci_device(a)
                .map(|p| crate::host::inventory::device_paths(p.iommu_group.as_deref(), &p.cdevs))
        } else if let Some(u) = &d.uuid {
            inv.mdevs
                .iter()
                .find(|m| &m.uuid == u)
                .map(|m| m.device_paths())
        } else {
            None
        };
        d.device_nodes = paths
            .unwrap_or_default()
            .into_iter()
            .filter(|p| ctx.root.exists(&ctx.root.device_node(p)))
            .collect();
    }
}

/// Resource names that KubeVirt's ResourceNameToEnvVar maps to one variable (`a.b/c` and
/// `a/b.c` both become `..._A_B_C`): virt-launcher would see one value for both. One
/// warning per variable, naming the resources in order.
fn collisions(vars: &[env::EnvVar]) -> Vec<String> {
    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for v in vars {
        let names = by_name.entry(&v.name).or_default();
        if !names.contains(&v.resource_name.as_str()) {
            names.push(&v.resource_name);
        }
    }
    by_name
        .into_iter()
        .filter(|(_, r)| r.len() > 1)
        .map(|(name, r)| {
            let list: Vec<String> = r.iter().map(|r| format!("{r:?}")).collect();
            format!(
                "{name} is the variable of resources {}: KubeVirt names them alike (`/` and `.` both become `_`), so a VM would see one value for both; rename one of them",
                list.join(" and ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12 item 10: `a.b/c` and `a/b.c` map to one variable: a warning names both.
    #[test]
    fn colliding_resource_names_are_warned_about() {
        let var = |resource: &str| env::EnvVar {
            name: env::resource_name_to_env_var("PCI_RESOURCE", resource),
            value: String::new(),
            resource_name: resource.into(),
            kind: env::Kind::Pci,
            external: false,
            selectors: Vec::new(),
            devices: Vec::new(),
        };
        let vars = [var("a.b/c"), var("a/b.c"), var("x/y")];
        assert_eq!(
            collisions(&vars),
            ["PCI_RESOURCE_A_B_C is the variable of resources \"a.b/c\" and \"a/b.c\": KubeVirt names them alike (`/` and `.` both become `_`), so a VM would see one value for both; rename one of them"]
        );
        assert!(collisions(&vars[1..]).is_empty());
    }

    #[test]
    fn output_and_format_agree_or_fail_with_64() {
        use EnvFormat::*;
        assert_eq!(resolve(Output::Table, None).unwrap(), Format::Env(Env));
        assert_eq!(resolve(Output::Table, Some(Nul)).unwrap(), Format::Env(Nul));
        assert_eq!(resolve(Output::Json, None).unwrap(), Format::Env(Json));
        assert_eq!(
            resolve(Output::Json, Some(Json)).unwrap(),
            Format::Env(Json)
        );
        assert_eq!(resolve(Output::Yaml, None).unwrap(), Format::Yaml);
        for (o, f) in [
            (Output::Json, Shell),
            (Output::Json, Env),
            (Output::Yaml, Json),
            (Output::Yaml, Nul),
        ] {
            let e = resolve(o, Some(f)).expect_err("contradiction");
            assert_eq!(crate::error::exit_code(&e).as_i32(), 64);
        }
        let e = resolve(Output::Json, Some(Shell)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "-o json contradicts --format shell: give one of them (`-o json` is the same as `--format json`)"
        );
    }
}
