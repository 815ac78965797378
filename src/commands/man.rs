//! `hostdev man [--dir DIR]`: man pages generated from the clap model (clap_mangen), plus
//! the sections clap does not know: EXIT STATUS, ENVIRONMENT, FILES, CONFIGURATION, SEE ALSO.
//! The committed `man/` directory is checked by a test to equal [`pages`].

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

use crate::cli::{Cli, ManArgs};
use crate::error::Code;

pub fn run(args: &ManArgs, out: &mut dyn Write) -> Result<Code> {
    let pages = pages()?;
    match &args.dir {
        None => {
            let root = pages
                .iter()
                .find(|p| p.file_name == "hostdev.8")
                .context("no hostdev.8 among the generated pages")?;
            out.write_all(&root.text)
                .context("writing hostdev.8 to stdout")?;
        }
        Some(dir) => write_pages(&pages, dir)?,
    }
    Ok(Code::Ok)
}

fn write_pages(pages: &[Page], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "creating the man page directory {}; pick a writable --dir",
            dir.display()
        )
    })?;
    for page in pages {
        let path = dir.join(&page.file_name);
        std::fs::write(&path, &page.text)
            .with_context(|| format!("writing man page {}", path.display()))?;
    }
    Ok(())
}

/// One generated man page.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// `hostdev.8`, `hostdev-plan.8`, `hostdev-iommu-check.8`, ...
    pub(crate) file_name: String,
    pub(crate) text: Vec<u8>,
}

/// Every page, in section 8 (hostdev is a root tool, installed in /usr/sbin): hostdev.8
/// first, then one per (nested) subcommand in the order clap lists them.
pub(crate) fn pages() -> Result<Vec<Page>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    collect(&cmd, true, &mut pages)?;
    Ok(pages)
}

fn collect(cmd: &clap::Command, is_root: bool, pages: &mut Vec<Page>) -> Result<()> {
    pages.push(render_page(cmd, is_root)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, false, pages)?;
    }
    Ok(())
}

fn render_page(cmd: &clap::Command, is_root: bool) -> Result<Page> {
    let man = Man::new(cmd.clone())
        .section("8")
        .source(format!("hostdev {}", env!("CARGO_PKG_VERSION")));
    let file_name = man.get_filename();
    let ctx = || format!("rendering man page {file_name}");

    // Every clap_mangen/roff render starts with the same preamble: keep the first only.
    let mut preamble = Vec::new();
    Roff::default().to_writer(&mut preamble).with_context(ctx)?;
    let mut text = preamble.clone();
    let mut section = |render: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| -> Result<()> {
        let mut buf = Vec::new();
        render(&mut buf).with_context(ctx)?;
        text.extend_from_slice(buf.strip_prefix(preamble.as_slice()).unwrap_or(&buf));
        Ok(())
    };

    section(&|w| man.render_title(w))?;
    section(&|w| man.render_name_section(w))?;
    section(&|w| man.render_synopsis_section(w))?;
    section(&|w| man.render_description_section(w))?;
    if is_root {
        section(&|w| roff_out(w, &root_description()))?;
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        section(&|w| man.render_options_section(w))?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        section(&|w| man.render_subcommands_section(w))?;
    }
    if !is_root {
        if let Some(notes) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
            let mut r = Roff::default();
            r.control("SH", ["NOTES"]);
            for line in notes.to_string().lines() {
                r.text([roman(line)]);
            }
            section(&|w| roff_out(w, &r))?;
        }
    }
    section(&|w| roff_out(w, &exit_status()))?;
    if is_root {
        section(&|w| roff_out(w, &environment()))?;
        section(&|w| roff_out(w, &files()))?;
        section(&|w| roff_out(w, &configuration()))?;
    }
    section(&|w| roff_out(w, &see_also(cmd, is_root)))?;
    section(&|w| roff_out(w, &version()))?;
    Ok(Page { file_name, text })
}

/// Every page, not only those of commands with a clap version (clap_mangen would panic).
fn version() -> Roff {
    let mut r = Roff::default();
    r.control("SH", ["VERSION"]);
    r.text([roman(format!("hostdev {}", env!("CARGO_PKG_VERSION")))]);
    r
}

fn roff_out(w: &mut dyn Write, r: &Roff) -> std::io::Result<()> {
    r.to_writer(w)
}

/// `.TP` item: a bold tag, then its description.
fn item(r: &mut Roff, tag: impl Into<Vec<Inline>>, body: &[&str]) {
    r.control("TP", []);
    r.text(tag);
    for line in body {
        r.text([roman(*line)]);
    }
}

fn para(r: &mut Roff, inlines: impl Into<Vec<Inline>>) {
    r.control("PP", []);
    r.text(inlines);
}

/// A literal block (no filling), indented.
fn literal(r: &mut Roff, text: &str) {
    r.control("sp", []);
    r.control("RS", ["4"]);
    r.control("nf", []);
    for line in text.lines() {
        r.text([roman(line)]);
    }
    r.control("fi", []);
    r.control("RE", []);
}

fn root_description() -> Roff {
    let mut r = Roff::default();
    para(
        &mut r,
        [roman(
            "hostdev is run with sudo on hypervisor hosts and from provisioning scripts. It reads \
the host only through sysfs under --root, decides what to create or remove with one \
deterministic planner that follows KubeVirt's mediatedDevicesConfiguration semantics, and \
changes the host only through the commands that say so (bind vfio, apply, teardown).",
        )],
    );
    para(
        &mut r,
        [roman(
            "Mutating commands against the real root require root (exit 77 otherwise), take the \
lock /run/hostdev/lock (waiting up to --lock-timeout, then exit 75), ask for confirmation on a \
terminal, proceed with --yes, refuse without a terminal and without --yes, and with --dry-run \
print exactly the writes they would make and make none. Devices in use (an open /dev/vfio \
handle) are never removed or unbound.",
        )],
    );
    para(
        &mut r,
        [roman(
            "mdevs and driver bindings do not survive a reboot. mdev UUIDs are deterministic \
(UUIDv5 over node name, parent address, type and index), so running bind vfio --from-config \
and apply again at boot (contrib/systemd/hostdev.service) recreates the same devices.",
        )],
    );
    r
}

/// One entry per exit code, from [`Code::ALL`].
fn exit_status() -> Roff {
    let mut r = Roff::default();
    r.control("SH", ["EXIT STATUS"]);
    for code in Code::ALL {
        item(
            &mut r,
            [bold(code.as_i32().to_string())],
            &[code.description()],
        );
    }
    r
}

fn environment() -> Roff {
    let mut r = Roff::default();
    r.control("SH", ["ENVIRONMENT"]);
    item(
        &mut r,
        [bold("HOSTDEV_ROOT")],
        &["The filesystem root, as --root (which takes precedence). Default: /."],
    );
    r
}

fn files() -> Roff {
    let mut r = Roff::default();
    r.control("SH", ["FILES"]);
    para(
        &mut r,
        [roman(
            "Every path is under --root (default /); nothing outside it is read or written.",
        )],
    );
    let entries: [(&str, &str); 7] = [
        (
            "/etc/hostdev/config.yaml",
            "The configuration (see CONFIGURATION), unless -f/--config names another file or - for stdin; hostdev init writes it.",
        ),
        (
            "/run/hostdev/state.json",
            "What hostdev changed: the original drivers of devices bound to vfio-pci and the UUIDs of the mdevs it created; teardown undoes exactly these. It is on tmpfs and vanishes at reboot, as do the changes it records.",
        ),
        (
            "/run/hostdev/lock",
            "The lock (flock) held by bind vfio, apply and teardown.",
        ),
        (
            "/var/log/hostdev/audit.jsonl",
            "One JSON line per change made to the host.",
        ),
        (
            "/sys/class/mdev_bus, /sys/bus/mdev/devices",
            "mdev parents and their types; existing mdevs.",
        ),
        (
            "/sys/bus/pci/devices, /sys/kernel/iommu_groups",
            "PCI devices, drivers and IOMMU groups.",
        ),
        (
            "/proc/*/fd, /dev/vfio",
            "Open /dev/vfio handles: who uses a device (pid and command).",
        ),
    ];
    for (path, text) in entries {
        item(&mut r, [italic(path)], &[text]);
    }
    item(
        &mut r,
        [italic("hostdev.service")],
        &["The systemd unit (contrib/systemd/hostdev.service) that runs bind vfio --from-config --yes and apply --yes at boot when /etc/hostdev/config.yaml exists."],
    );
    r
}

const CONFIG_EXAMPLE: &str = "\
mediatedDevicesConfiguration:
  enabled: true
  mediatedDeviceTypes: [nvidia-222, nvidia-228]
  nodeMediatedDeviceTypes:
  - nodeSelector: {kubernetes.io/hostname: node2}
    mediatedDeviceTypes: [nvidia-234]
permittedHostDevices:
  pciHostDevices:
  - pciVendorSelector: \"10DE:1EB8\"
    resourceName: nvidia.com/TU104GL_Tesla_T4
    externalResourceProvider: false
  mediatedDevices:
  - mdevNameSelector: GRID T4-1Q
    resourceName: nvidia.com/GRID_T4-1Q
    externalResourceProvider: false";

fn configuration() -> Roff {
    let mut r = Roff::default();
    r.control("SH", ["CONFIGURATION"]);
    para(
        &mut r,
        [roman(
            "One YAML file with KubeVirt's field names. Accepted shapes, all equivalent (detected by content): a whole KubeVirt CR (apiVersion: kubevirt.io/v1, kind: KubeVirt, spec.configuration), spec: {configuration: ...}, configuration: ..., or a bare object with mediatedDevicesConfiguration and/or permittedHostDevices at the top. Every field is optional.",
        )],
    );
    literal(&mut r, CONFIG_EXAMPLE);
    let fields: [(&str, &str); 11] = [
        (
            "mediatedDevicesConfiguration.enabled",
            "false: hostdev neither creates nor removes mdevs (default true). Without the section, nothing is created or removed either.",
        ),
        (
            "mediatedDevicesConfiguration.mediatedDeviceTypes",
            "The desired types, by type ID (nvidia-222) or by name (GRID T4-1Q; compared after KubeVirt's normalization: spaces become _, trimmed). An explicit empty list removes every removable mdev.",
        ),
        (
            "mediatedDevicesConfiguration.mediatedDevicesTypes",
            "Deprecated spelling, used only when the current one is empty (with a warning).",
        ),
        (
            "mediatedDevicesConfiguration.nodeMediatedDeviceTypes[]",
            "nodeSelector (labels that must all match the node: kubernetes.io/hostname=<--node-name> and every --label) and mediatedDeviceTypes. The node's list is the union of every matching entry, in entry order then list order; if that is empty, the global list.",
        ),
        (
            "permittedHostDevices.pciHostDevices[].pciVendorSelector",
            "VENDOR:DEVICE in hex, case-insensitive (10DE:1EB8); bind vfio --from-config binds every match.",
        ),
        (
            "permittedHostDevices.pciHostDevices[].resourceName",
            "domain/name; env prints PCI_RESOURCE_<NAME> for it.",
        ),
        (
            "permittedHostDevices.pciHostDevices[].externalResourceProvider",
            "true: another device plugin provides these devices; env leaves them out unless --include-external.",
        ),
        (
            "permittedHostDevices.mediatedDevices[].mdevNameSelector",
            "The type name (GRID T4-1Q), normalized as above.",
        ),
        (
            "permittedHostDevices.mediatedDevices[].resourceName",
            "domain/name; env prints MDEV_PCI_RESOURCE_<NAME> for it.",
        ),
        (
            "permittedHostDevices.mediatedDevices[].externalResourceProvider",
            "true: mdevs of this type belong to another component and are never removed.",
        ),
        (
            "(errors)",
            "Unknown fields inside these sections (with a did-you-mean hint), malformed selectors, resource names not of the form domain/name, duplicate resource names, and type names containing /, .. or NUL are configuration errors (exit 65) before anything is read or written. Other KubeVirt CR fields are ignored.",
        ),
    ];
    for (field, text) in fields {
        item(&mut r, [bold(field)], &[text]);
    }
    para(
        &mut r,
        [roman(
            "Planning: types are assigned round-robin in the order of the desired list to parents in ascending address order, one type per parent, as many instances as available_instances allows; a parent already carrying mdevs of exactly one desired type keeps them and is topped up; mdevs of undesired types are removed unless in use or claimed by an externalResourceProvider selector. See hostdev-plan(8).",
        )],
    );
    r
}

fn see_also(cmd: &clap::Command, is_root: bool) -> Roff {
    let mut refs: Vec<String> = Vec::new();
    if !is_root {
        refs.push("hostdev(8)".into());
    }
    let display = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        refs.push(format!("{display}-{}(8)", sub.get_name()));
    }
    refs.extend(["mdevctl(8)".to_string(), "lspci(8)".to_string()]);
    let mut r = Roff::default();
    r.control("SH", ["SEE ALSO"]);
    let mut line: Vec<Inline> = Vec::new();
    for (i, name) in refs.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(name.as_str()));
    }
    r.text(line);
    r
}
