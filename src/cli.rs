//! The command line (clap derive): one Args struct per subcommand, and the value parsers
//! that turn arguments into the lower layers' types (`--label`, `bind vfio`'s DEVICE); doc
//! comments are the help text, and the man pages and completions are generated from this
//! model. Nothing in config, host or plan imports it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, model::PciSelector, names::HOSTNAME_LABEL};
use crate::plan::bind::DeviceArg;

#[derive(Debug, Parser)]
#[command(
    name = "hostdev",
    version,
    about = "Prepare hosts for PCI passthrough and configure mediated devices (vGPUs) with KubeVirt's semantics, without Kubernetes",
    after_help = crate::error::Code::help_line()
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
    pub(crate) root: PathBuf,

    /// Output format of data on stdout (`init`: `-o -` prints the file instead of writing it)
    #[arg(short, long, value_enum, default_value_t = OutputArg::Table, global = true)]
    pub output: OutputArg,

    /// More diagnostics on stderr (-vv logs every sysfs path read or written)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Node identity for nodeSelector matching [default: the host name]
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) node_name: Option<String>,

    /// Extra node label KEY=VALUE for nodeSelector matching (repeatable; not
    /// kubernetes.io/hostname, which is always the node name)
    #[arg(long = "label", global = true, value_name = "KEY=VALUE", value_parser = parse_label)]
    pub(crate) labels: Vec<(String, String)>,

    /// Configuration file; `-` reads stdin [default: <root>/etc/hostdev/config.yaml]
    #[arg(short = 'f', long = "config", global = true, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    Table,
    Json,
    Yaml,
}

/// `-o` as given: an [`Output`], or `-` (`init` only: print the file on stdout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Table,
    Json,
    Yaml,
    /// `init`: print the file on stdout instead of writing it
    #[value(name = "-", hide = true)]
    Stdout,
}

impl OutputArg {
    /// The output format; `-` prints a file, which is not a table, JSON or YAML document.
    pub(crate) fn format(self) -> Output {
        match self {
            OutputArg::Table | OutputArg::Stdout => Output::Table,
            OutputArg::Json => Output::Json,
            OutputArg::Yaml => Output::Yaml,
        }
    }
}

/// `KEY=VALUE`, both in Kubernetes label syntax (as a nodeSelector's, so that a label
/// that no selector could name is refused, not silently never matched).
/// `kubernetes.io/hostname` is refused: it is always the node name, which `--node-name`
/// sets; a second spelling of the identity could only disagree with it.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, _)) if k == HOSTNAME_LABEL => Err(format!(
            "{HOSTNAME_LABEL} is always the node name and cannot be overridden: use --node-name instead"
        )),
        Some((k, v)) => {
            if let Some(why) = config::names::label_key_error(k) {
                return Err(why);
            }
            if let Some(why) = config::names::label_value_error(v) {
                return Err(why);
            }
            Ok((k.to_string(), v.to_string()))
        }
        None => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// A DEVICE argument of `bind vfio`: a PCI address (`0000:65:00.0` or `65:00.0`, see
/// [`config::names::pci_address`]) or a `vendor:device` selector.
pub(crate) fn device_arg(s: &str) -> Result<DeviceArg, String> {
    match config::names::pci_address(s) {
        Ok(a) => Ok(DeviceArg::Address(a)),
        Err(Some(why)) => Err(why),
        Err(None) => PciSelector::parse(s).map(DeviceArg::Selector).map_err(|_| {
            "expected a PCI address (0000:65:00.0 or 65:00.0) or a vendor:device selector (10de:1eb8)"
                .to_string()
        }),
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
    /// Health and drift, read-only: the mdev configuration against the plan, every
    /// permitted device (IOMMU group, /dev/vfio nodes, holder) and `iommu check`; exit 0
    /// when every device is healthy and the host matches the configuration, else 1 with one
    /// stderr line per problem. `--format prometheus` / `--textfile` for node_exporter
    Status(StatusArgs),
    /// The devices of the permitted resources (healthy or not, free or in use), for
    /// libvirt, QEMU or a script; a read-only snapshot, not a reservation
    Devices(DevicesArgs),
    /// What lives under each device, as a tree: SR-IOV virtual functions, mdevs, vGPU types
    /// and the processes holding them (read-only; what `bind vfio` asks before an unbind)
    Tree(TreeArgs),
    /// Copy the part of the host hostdev reads (mdev parents, types and mdevs, the PCI
    /// devices, drivers and IOMMU groups, NVIDIA's vendor-VFIO files, the /proc and /etc
    /// facts) into a fixture tree or a tar on stdout, to attach to a bug report and replay
    /// with --root (read-only; never config space, BARs, ROM, VPD or device memory)
    Capture(CaptureArgs),
    /// Write a configuration file for this host: ask on a terminal (the GPUs by model, their
    /// vGPU types, passthrough), or take the choices from flags (--type, --passthrough), from
    /// what the host has now (--from-host) or from mdevctl's definitions (--from-mdevctl);
    /// the file is validated, shown as a plan, and written atomically (never over an
    /// existing file without --force)
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the hostdev(8) man page, or write every page into a directory
    Man(ManArgs),
}

impl Cli {
    /// Whether stdout is text for people (tables and messages), in which control characters
    /// from the host are escaped; not documents (JSON, YAML, Prometheus), `env`'s variables,
    /// `devices`' env/libvirt/QEMU output, completion scripts or man pages.
    pub fn terminal_text(&self) -> bool {
        self.global.output == OutputArg::Table
            && match &self.command {
                Command::Env(_) | Command::Completions(_) | Command::Man(_) => false,
                // a tar stream, or nothing
                Command::Capture(_) => false,
                // a YAML file (its host text already made safe) and its diff
                Command::Init(_) => false,
                Command::Status(a) => matches!(a.format, None | Some(StatusFormat::Table)),
                Command::Devices(a) => matches!(a.format, None | Some(DevicesFormat::Table)),
                _ => true,
            }
    }
}

impl Command {
    /// The name and mutation options of a command that changes the host.
    pub fn mutation(&self) -> Option<(&'static str, &MutateArgs)> {
        match self {
            Command::Apply(a) => Some(("apply", &a.mutate)),
            Command::Teardown(a) => Some(("teardown", &a.mutate)),
            Command::Bind(b) => match &b.command {
                BindCommand::Vfio(a) => Some(("bind vfio", &a.mutate)),
            },
            _ => None,
        }
    }
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
    #[arg(value_name = "DEVICE", conflicts_with = "from_config", value_parser = device_arg)]
    pub(crate) devices: Vec<DeviceArg>,
    /// Bind the devices of the non-external permittedHostDevices.pciHostDevices selectors
    #[arg(long)]
    pub(crate) from_config: bool,
    /// Also bind every other endpoint of the devices' IOMMU groups
    #[arg(long)]
    pub(crate) with_group: bool,
    #[command(flatten)]
    pub(crate) mutate: MutateArgs,
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
pub struct TreeArgs {
    /// Only this PCI device and what lives under it (`0000:61:00.0` or `61:00.0`); default:
    /// every GPU, mdev parent, SR-IOV PF with VFs enabled and vfio-pci device
    #[arg(value_name = "DEVICE")]
    pub(crate) device: Option<String>,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Where to write: a directory that does not exist or is empty, or `-` for a tar stream
    /// on standard output (not a terminal)
    #[arg(long, value_name = "DIR|-")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub struct IommuGroupsArgs {
    /// Only groups that contain a GPU (PCI class 0300 or 0302)
    #[arg(long)]
    pub(crate) gpu: bool,
    /// Only the group of this PCI device (`0000:65:00.0` or `65:00.0`)
    #[arg(long, value_name = "ADDR")]
    pub(crate) device: Option<String>,
}

/// Options shared by every command that changes the host.
#[derive(Debug, Clone, Args)]
pub struct MutateArgs {
    /// Proceed without asking (required when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,

    /// Print exactly the writes (path and value) that would be made, and make none
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,

    /// Seconds to wait for another hostdev run to release the lock
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub(crate) lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub(crate) mutate: MutateArgs,

    /// Apply exactly the actions of a saved plan (`hostdev plan -o json > FILE`; `-` reads
    /// stdin) instead of computing a new one; no re-plan after its removals. Refused (exit
    /// 65) when it was made for another node or leaves a creation count unknown; exit 66
    /// when a parent it names is not on this host
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub(crate) plan: Option<PathBuf>,

    /// At boot: first wait up to SECONDS for the mdev parents (every GPU bound to nvidia
    /// offers mdev types, and a parent offers a desired type), polling every 0.5 s; on
    /// timeout, continue with the parents that exist and warn [default: 0, no wait]
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub(crate) wait_for_parents: u64,

    /// Work on at most N physical GPUs at once: one worker per GPU creates its vGPUs (and
    /// enables its VFs), each GPU's writes in plan order; 1 makes every write in turn
    /// [default: one worker per GPU]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) jobs: Option<u16>,

    /// How long enabling one GPU's virtual functions (`hostdev.virtualFunctions`) may take:
    /// retries while its driver is starting, then the wait until every VF offers vGPU types
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) vf_timeout: u64,
}

#[derive(Debug, Args)]
pub struct TeardownArgs {
    #[command(flatten)]
    pub(crate) mutate: MutateArgs,

    /// Also remove every other mdev that is not in use, not only those hostdev created
    #[arg(long)]
    pub(crate) all: bool,

    /// Only tear down mdevs
    #[arg(long)]
    pub(crate) mdevs: bool,

    /// Only return vfio-bound devices to their original drivers
    #[arg(long, conflicts_with = "mdevs")]
    pub(crate) vfio: bool,
}

#[derive(Debug, Args)]
pub struct ListTypesArgs {}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 0 when the host already matches the configuration, 2 when changes are pending,
    /// 3 when nothing can be done until a GPU is ready for vGPUs
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
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
    pub(crate) format: Option<EnvFormat>,

    /// Also print entries with `externalResourceProvider: true` (`"external": true` in JSON,
    /// a note on stderr in the other formats)
    #[arg(long)]
    pub(crate) include_external: bool,

    /// Whose discovery names the variables: `kubevirt` (permittedHostDevices) or `nvidia`
    /// (what NVIDIA's kubevirt-gpu-device-plugin would set, without a configuration)
    #[arg(long, value_enum, default_value_t = Provider::Kubevirt)]
    pub(crate) provider: Provider,
}

/// Whose discovery names the resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum Provider {
    /// KubeVirt's device plugins for permittedHostDevices (the configuration)
    #[default]
    Kubevirt,
    /// NVIDIA's kubevirt-gpu-device-plugin: every NVIDIA function on vfio-pci, named from
    /// pci.ids, and every vGPU, named after its type (no permittedHostDevices needed)
    Nvidia,
}

#[derive(Debug, Args)]
#[command(
    after_help = "A device is healthy when its IOMMU group is present and viable (every other \
endpoint on vfio-pci or without a driver, bridges aside) and its /dev/vfio/<group> node (and \
/dev/vfio/devices/vfioN, where the kernel made one) exists. In use (held open, with the pid and \
command) is shown, not a problem. A device a selector matches that is bound to another driver is \
listed as not available and is not a problem by itself; one that is bound to no driver is. Drift: \
`hostdev apply` would change something. With --textfile, stdout stays empty unless --format is given; \
the exit status is the same."
)]
pub struct StatusArgs {
    /// Output format: `table`, `json`, `yaml` (as -o), or `prometheus` (the text exposition
    /// format: hostdev_plan_pending_actions, hostdev_mdevs, hostdev_mdevs_wanted,
    /// hostdev_device_healthy, hostdev_device_in_use, hostdev_iommu_ready, ...)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<StatusFormat>,

    /// Write the Prometheus metrics to PATH atomically (a temporary file in the same
    /// directory, then rename), for node_exporter's textfile collector
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub(crate) textfile: Option<PathBuf>,

    /// Whose discovery names the resources: `kubevirt` (permittedHostDevices) or `nvidia`
    /// (what NVIDIA's kubevirt-gpu-device-plugin would advertise)
    #[arg(long, value_enum, default_value_t = Provider::Kubevirt)]
    pub(crate) provider: Provider,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusFormat {
    Table,
    Json,
    Yaml,
    Prometheus,
}

#[derive(Debug, Args)]
#[command(
    after_help = "A read-only snapshot, not a reservation: nothing stops another VM, script \
or hostdev run from taking a device between this listing and its use. Order: ascending PCI address \
or mdev UUID (with --numa-node, that node's devices first). --free: healthy and not held open. \
With -n N, fewer than N devices is an error (exit 1, stdout empty). An unknown RESOURCE exits 66 \
and names the resources that exist. Formats: `env` (the variables KubeVirt's device plugins \
would set for exactly these devices), `libvirt` (one <hostdev> element per device, for \
`virsh attach-device DOMAIN FILE --config`), `qemu` (one `-device vfio-pci,...` argument per line), \
`json` (-o yaml for YAML)."
)]
pub struct DevicesArgs {
    /// Resource names (e.g. nvidia.com/TU104GL_Tesla_T4) [default: every non-external resource]
    #[arg(value_name = "RESOURCE")]
    pub(crate) resources: Vec<String>,

    /// Only devices that are healthy and not held open
    #[arg(long)]
    pub(crate) free: bool,

    /// At most N devices; fewer than N is an error
    #[arg(short = 'n', long = "count", value_name = "N")]
    pub(crate) count: Option<usize>,

    /// Devices on this NUMA node first
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub(crate) numa_node: Option<i32>,

    /// Output format [default: table]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<DevicesFormat>,

    /// Whose discovery names the resources (as for `status`)
    #[arg(long, value_enum, default_value_t = Provider::Kubevirt)]
    pub(crate) provider: Provider,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DevicesFormat {
    Table,
    Json,
    Env,
    Libvirt,
    Qemu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EnvFormat {
    Env,
    Json,
    Shell,
    Nul,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Interactive on a terminal when no --type, --passthrough, --from-host or \
--from-mdevctl is given (without a terminal that is a usage error, 64). The file is written to -f FILE, \
by default <root>/etc/hostdev/config.yaml, atomically (a temporary file, then rename; mode 0644); \
`-o -` prints it instead. With --node-name or --label the mdev types (and passthrough addresses) go \
into a node-specific section whose nodeSelector is those labels. Before writing, the file is \
validated as every command reads it and, on a terminal, its plan is shown and confirmed. \
See docs/configuration.md, \"Writing the file with hostdev init\"."
)]
pub struct InitArgs {
    /// vGPU (mdev) type to configure, by name or type ID, repeatable, in the order of
    /// KubeVirt's round-robin: `"GRID T4-2Q"`, `nvidia-231`, `"NVIDIA L40S-12Q"`. An unknown
    /// or ambiguous name is a usage error that lists the candidates
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) types: Vec<String>,

    /// Permit devices for passthrough (repeatable): `VENDOR:DEVICE` (the model) or a PCI
    /// address (that GPU only, named in hostdev.passthroughAddresses), each with an
    /// optional `=RESOURCE` name [default: the vendor's domain and pci.ids' device name,
    /// e.g. nvidia.com/TU104GL_TESLA_T4]
    #[arg(long, value_name = "DEVICE[=RESOURCE]")]
    pub(crate) passthrough: Vec<String>,

    /// Write the configuration that keeps the mdevs, vGPU types and vfio-pci devices the
    /// host has now
    #[arg(long, conflicts_with_all = ["types", "passthrough", "from_mdevctl"])]
    pub(crate) from_host: bool,

    /// Write the equivalent of mdevctl's persistent definitions (DIR/<parent>/<uuid>;
    /// DIR defaults to <root>/etc/mdevctl.d); what KubeVirt's semantics cannot express is
    /// listed on stderr
    #[arg(long, value_name = "DIR", num_args = 0..=1, value_hint = clap::ValueHint::DirPath,
          conflicts_with_all = ["types", "passthrough"])]
    pub(crate) from_mdevctl: Option<Option<PathBuf>>,

    /// Replace an existing file (its diff is shown first)
    #[arg(long)]
    pub(crate) force: bool,

    /// Do not ask for confirmation on a terminal before writing (flags and --from-* never ask)
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,
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
    pub(crate) shell: clap_complete::Shell,
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
    pub(crate) dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12 item 10: `--label kubernetes.io/hostname=...` is refused, naming --node-name.
    #[test]
    fn the_hostname_label_cannot_be_given() {
        let e = parse_label("kubernetes.io/hostname=other").unwrap_err();
        assert!(e.contains("use --node-name instead"), "{e}");
        assert_eq!(parse_label("zone=a"), Ok(("zone".into(), "a".into())));
    }
}
