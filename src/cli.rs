//! The command line (clap derive only): one Args struct per subcommand; doc comments are
//! the help text, and the man pages and completions are generated from this model.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hostdev",
    version,
    about = "Prepare hosts for PCI passthrough and configure mediated devices (vGPUs) with KubeVirt's semantics, without Kubernetes",
    after_help = "Exit codes: 0 success, 1 failed or incomplete, 2 changes pending (plan --detailed-exitcode), \
64 usage error, 65 invalid configuration, 66 configuration file or device not found, \
75 another hostdev run holds the lock, 77 permission denied."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Filesystem root under which sys/, proc/, dev/, run/ and var/ are read and written
    #[arg(long, env = "HOSTDEV_ROOT", default_value = "/", global = true, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub root: PathBuf,

    /// Output format of data on stdout
    #[arg(short, long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,

    /// More diagnostics on stderr (-vv logs every sysfs path read or written)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Node identity for nodeSelector matching [default: the host name]
    #[arg(long, global = true, value_name = "NAME")]
    pub node_name: Option<String>,

    /// Extra node label KEY=VALUE for nodeSelector matching (repeatable)
    #[arg(long = "label", global = true, value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,

    /// Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]
    #[arg(short = 'f', long = "config", global = true, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Yaml,
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List mdev parents and their types: ID, name, available instances, device API,
    /// description and existing instances
    ListTypes(ListTypesArgs),
    /// Show what `apply` would do for this node (read-only)
    Plan(PlanArgs),
    /// Make the host match the configuration: remove undesired mdevs, create the planned
    /// ones, verify, and record them in the state file and the audit log
    Apply(ApplyArgs),
    /// Undo what hostdev did: remove the mdevs it created (--all: every removable mdev)
    /// and return vfio-bound devices to their original drivers
    Teardown(TeardownArgs),
    /// Print the environment KubeVirt's device plugins would hand to virt-launcher
    /// (PCI_RESOURCE_* and MDEV_PCI_RESOURCE_* variables for permittedHostDevices)
    Env(EnvArgs),
    /// Host readiness for PCI passthrough, and the IOMMU groups (read-only)
    Iommu(IommuArgs),
    /// Bind PCI devices to a driver for passthrough
    Bind(BindArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the hostdev(8) man page, or write every page into a directory
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct BindArgs {
    #[command(subcommand)]
    pub command: BindCommand,
}

#[derive(Debug, Subcommand)]
pub enum BindCommand {
    /// Bind devices to vfio-pci (driver_override + unbind + drivers_probe), verify the
    /// binding and record the original driver for `teardown`. Refuses devices the host
    /// uses, devices whose IOMMU group has other endpoints on host drivers (unless
    /// --with-group) and NVIDIA vendor-VFIO virtual functions. Already bound: no-op
    Vfio(BindVfioArgs),
}

#[derive(Debug, Args)]
pub struct BindVfioArgs {
    /// PCI address (`0000:65:00.0` or `65:00.0`) or `vendor:device` selector (every match);
    /// none on a terminal: choose from a list
    #[arg(value_name = "DEVICE", conflicts_with = "from_config")]
    pub devices: Vec<String>,
    /// Bind the devices of the non-external permittedHostDevices.pciHostDevices selectors
    #[arg(long)]
    pub from_config: bool,
    /// Also bind every other endpoint of the devices' IOMMU groups
    #[arg(long)]
    pub with_group: bool,
    #[command(flatten)]
    pub mutate: MutateArgs,
}

#[derive(Debug, Args)]
pub struct IommuArgs {
    #[command(subcommand)]
    pub command: IommuCommand,
}

#[derive(Debug, Subcommand)]
pub enum IommuCommand {
    /// Check CPU virtualization, /dev/kvm, the ACPI DMAR/IVRS table, the IOMMU in the kernel,
    /// the kernel command line, the VFIO modules, interrupt remapping, the default domain type
    /// and /dev/vfio/vfio; print the exact remedy for every WARN/FAIL. Exit 1 on any FAIL
    Check(IommuCheckArgs),
    /// List the IOMMU groups with their devices (address, vendor:device, class, driver) and
    /// whether each group is viable for passthrough
    Groups(IommuGroupsArgs),
}

#[derive(Debug, Args)]
pub struct IommuCheckArgs {}

#[derive(Debug, Args)]
pub struct IommuGroupsArgs {
    /// Only groups that contain a GPU (PCI class 0300 or 0302)
    #[arg(long)]
    pub gpu: bool,
    /// Only the group of this PCI device (`0000:65:00.0` or `65:00.0`)
    #[arg(long, value_name = "ADDR")]
    pub device: Option<String>,
}

/// Options shared by every command that changes the host.
#[derive(Debug, Clone, Args)]
pub struct MutateArgs {
    /// Proceed without asking (required when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Print exactly the writes (path and value) that would be made, and make none
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds to wait for another hostdev run to release the lock
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub mutate: MutateArgs,

    /// Apply exactly the actions of a saved plan (`hostdev plan -o json > FILE`; `-` reads
    /// stdin) instead of computing a new one; no re-plan after its removals. Refused (exit
    /// 65) when it was made for another node or leaves a creation count unknown; exit 66
    /// when a parent it names is not on this host
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub plan: Option<PathBuf>,

    /// At boot: first wait up to SECONDS for the mdev parents (every GPU bound to nvidia
    /// offers mdev types, and a parent offers a desired type), polling every 0.5 s; on
    /// timeout, continue with the parents that exist and warn [default: 0, no wait]
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub wait_for_parents: u64,
}

#[derive(Debug, Args)]
pub struct TeardownArgs {
    #[command(flatten)]
    pub mutate: MutateArgs,

    /// Also remove every other mdev that is not in use, not only those hostdev created
    #[arg(long)]
    pub all: bool,

    /// Only tear down mdevs
    #[arg(long)]
    pub mdevs: bool,

    /// Only return vfio-bound devices to their original drivers
    #[arg(long)]
    pub vfio: bool,
}

#[derive(Debug, Args)]
pub struct ListTypesArgs {}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 0 when the host already matches the configuration, 2 when changes are pending
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Names follow KubeVirt's ResourceNameToEnvVar: the prefix, then the resource name \
upper-cased with `/` and `.` replaced by `_` (`-` is kept, e.g. MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q). \
Values are PCI addresses or mdev UUIDs, comma-joined in ascending order; a selector matching nothing \
gives an empty value and a warning. `-o json` is the same as `--format json`; `-o yaml` prints the \
same document as YAML."
)]
pub struct EnvArgs {
    /// Output format: `env` (NAME=value lines, for systemd EnvironmentFile= and docker
    /// --env-file), `json` (a hostdev/v1 document with the devices), `shell` (quoted export
    /// lines), `nul` (NAME=value entries each ended by NUL, like `env -0`) [default: env]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<EnvFormat>,

    /// Also print entries with `externalResourceProvider: true` (`"external": true` in JSON,
    /// a note on stderr in the other formats)
    #[arg(long)]
    pub include_external: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
    Env,
    Json,
    Shell,
    Nul,
}

#[derive(Debug, Args)]
#[command(after_help = "Install (or see contrib/install.sh): \
bash: hostdev completions bash > /usr/share/bash-completion/completions/hostdev; \
zsh: hostdev completions zsh > /usr/share/zsh/vendor-completions/_hostdev; \
fish: hostdev completions fish > /usr/share/fish/vendor_completions.d/hostdev.fish; \
for one bash session: source <(hostdev completions bash). \
The bash script also completes the PCI addresses under <root>/sys/bus/pci/devices for `bind vfio`.")]
pub struct CompletionsArgs {
    /// The shell to generate the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Without --dir, hostdev(8) is printed on stdout (view it with `hostdev man | man -l -`). \
With --dir, hostdev.8 and one page per subcommand (hostdev-plan.8, ...) are written there, e.g. \
`hostdev man --dir /usr/local/share/man/man8`."
)]
pub struct ManArgs {
    /// Write hostdev.8 and one page per subcommand (hostdev-<command>.8) into DIR, creating it
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: Option<PathBuf>,
}
