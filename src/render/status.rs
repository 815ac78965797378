//! `status` and `devices` output: tables, the Prometheus text exposition format, libvirt
//! `<hostdev>` elements and QEMU `-device` arguments.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{table, write_table};
use crate::error::{fail, Code};
use crate::host::inventory::{is_mdev_uuid, is_pci_function};
use crate::plan::env::Kind;
use crate::plan::status::{DeviceStatus, MdevRow, StatusDoc};
use crate::plan::MdevHandling;

fn kind_str(k: Kind) -> &'static str {
    match k {
        Kind::Pci => "pci",
        Kind::Mdev => "mdev",
    }
}

fn holders(d: &DeviceStatus) -> String {
    if d.holders.is_empty() {
        "-".into()
    } else {
        crate::host::tree::holder_list(&d.holders)
    }
}

/// A device's cells from GROUP to IN USE BY, the same in the `status` and `devices` tables.
fn group_to_holders(d: &DeviceStatus) -> [String; 5] {
    [
        d.iommu_group.clone(),
        d.numa_node
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into()),
        d.driver.clone().unwrap_or_else(|| "-".into()),
        health(d),
        holders(d),
    ]
}

fn health(d: &DeviceStatus) -> String {
    if d.healthy {
        "ok".into()
    } else {
        format!("UNHEALTHY: {}", d.problems.join("; "))
    }
}

pub(crate) fn status_table(out: &mut dyn Write, doc: &StatusDoc) -> Result<()> {
    writeln!(
        out,
        "node: {}  provider: {}",
        crate::render::escape::cell(&doc.node),
        doc.provider
    )?;
    status_mdev(out, doc)?;
    writeln!(out)?;
    if doc.resources.is_empty() {
        writeln!(out, "no permitted resources")?;
    } else {
        resources_table(out, doc)?;
    }
    let i = &doc.iommu;
    writeln!(
        out,
        "\niommu: {} ({} passed, {} warnings, {} failed, {} skipped{})",
        if i.ready { "ready" } else { "NOT READY" },
        i.pass,
        i.warn,
        i.fail,
        i.skip,
        if i.failing.is_empty() {
            String::new()
        } else {
            format!("; failing: {}", i.failing.join(", "))
        }
    )?;
    writeln!(out)?;
    if doc.problems.is_empty() {
        writeln!(out, "healthy")?;
    } else {
        let n = doc.problems.len();
        writeln!(out, "{n} problem{}:", if n == 1 { "" } else { "s" })?;
        for p in &doc.problems {
            // one line each: a host name with a newline cannot start a fake problem
            writeln!(out, "  {}", crate::render::escape::cell(p))?;
        }
    }
    Ok(())
}

/// The mdev configuration verdict, then the per-(parent, type) table when there is one.
fn status_mdev(out: &mut dyn Write, doc: &StatusDoc) -> Result<()> {
    let m = &doc.mdev;
    let verdict = if m.matches {
        "matches the configuration".to_string()
    } else {
        format!(
            "DRIFT: {} pending action{}{}",
            m.pending_actions,
            if m.pending_actions == 1 { "" } else { "s" },
            if m.blocked > 0 {
                format!(", {} blocked", m.blocked)
            } else {
                String::new()
            }
        )
    };
    match m.handling {
        MdevHandling::Disabled => writeln!(out, "mdev configuration: disabled (enabled: false)")?,
        MdevHandling::NotConfigured => writeln!(out, "mdev configuration: none")?,
        MdevHandling::Enabled => writeln!(
            out,
            "mdev configuration: {verdict} (desired types: {})",
            if m.desired_types.is_empty() {
                "none".to_string()
            } else {
                m.desired_types.join(", ")
            }
        )?,
    }
    if !m.parents.is_empty() {
        writeln!(out)?;
        let mut t = table(&["PARENT", "TYPE", "NAME", "PRESENT", "WANTED", "STATE"]);
        for r in &m.parents {
            t.add_row(vec![
                r.parent.clone(),
                r.type_id.clone(),
                r.type_name.clone().unwrap_or_else(|| "-".into()),
                r.present.to_string(),
                r.wanted.to_string(),
                if r.present == r.wanted {
                    "ok".into()
                } else {
                    "drift".into()
                },
            ]);
        }
        write_table(out, &t)?;
    }
    Ok(())
}

/// One row per device of each permitted resource, plus its devices that are not available
/// (or a single row when it has none).
fn resources_table(out: &mut dyn Write, doc: &StatusDoc) -> Result<()> {
    let mut t = table(&[
        "RESOURCE",
        "KIND",
        "DEVICE",
        "GROUP",
        "NUMA",
        "DRIVER",
        "HEALTH",
        "IN USE BY",
    ]);
    for r in &doc.resources {
        let name = if r.external {
            format!("{} (external)", r.resource_name)
        } else {
            r.resource_name.clone()
        };
        if r.devices.is_empty() && r.not_available.is_empty() {
            t.add_row(vec![
                name.clone(),
                kind_str(r.kind).into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                if r.external {
                    "no devices".into()
                } else {
                    "NO DEVICES".into()
                },
                "-".into(),
            ]);
        }
        for d in &r.devices {
            let mut row = vec![name.clone(), kind_str(d.kind).into(), d.id().to_string()];
            row.extend(group_to_holders(d));
            t.add_row(row);
        }
        for u in &r.not_available {
            let state = match u.reason {
                "unbound" => "UNBOUND: no driver".to_string(),
                "no-iommu-group" => "NO IOMMU GROUP".to_string(),
                "no-vgpu-profile" => "not available: no vGPU profile".to_string(),
                _ => format!("not available: on {}", u.driver.as_deref().unwrap_or("-")),
            };
            t.add_row(vec![
                name.clone(),
                "pci".into(),
                u.address.clone(),
                "-".into(),
                "-".into(),
                u.driver.clone().unwrap_or_else(|| "-".into()),
                state,
                "-".into(),
            ]);
        }
    }
    write_table(out, &t)
}

/// A label value in the text exposition format: `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// The metrics in Prometheus' text exposition format (every series a gauge).
pub(crate) fn prometheus(doc: &StatusDoc, now_seconds: f64) -> String {
    let mut o = String::new();
    plan_metrics(&mut o, doc);
    resource_metrics(&mut o, doc);
    family(
        &mut o,
        "hostdev_iommu_ready",
        "1 when no check of `hostdev iommu check` fails.",
    );
    let _ = writeln!(o, "hostdev_iommu_ready {}", u8::from(doc.iommu.ready));
    family(
        &mut o,
        "hostdev_problems",
        "Problems `hostdev status` reports (0: healthy and matching the configuration).",
    );
    let _ = writeln!(o, "hostdev_problems {}", doc.problems.len());
    family(
        &mut o,
        "hostdev_gpus_not_ready",
        "GPUs not ready for vGPUs (VFs not enabled, types not published): the configuration cannot be reached until they are.",
    );
    let _ = writeln!(o, "hostdev_gpus_not_ready {}", doc.mdev.not_ready);
    family(
        &mut o,
        "hostdev_status_last_run_timestamp_seconds",
        "When `hostdev status` last ran, in seconds since the epoch.",
    );
    let _ = writeln!(
        o,
        "hostdev_status_last_run_timestamp_seconds {now_seconds:.3}"
    );
    o
}

/// The plan's pending and blocked actions, and the mdevs present and wanted per parent
/// and type.
fn plan_metrics(o: &mut String, doc: &StatusDoc) {
    family(
        o,
        "hostdev_plan_pending_actions",
        "Actions `hostdev apply` would take now (0: the host matches the configuration).",
    );
    let _ = writeln!(
        o,
        "hostdev_plan_pending_actions {}",
        doc.mdev.pending_actions
    );
    family(
        o,
        "hostdev_plan_blocked_actions",
        "Undesired mdevs or vGPU types left alone because they are in use.",
    );
    let _ = writeln!(o, "hostdev_plan_blocked_actions {}", doc.mdev.blocked);
    mdev_family(
        o,
        doc,
        "hostdev_mdevs",
        "Mediated devices (vGPUs) present, per parent (the physical GPU for SR-IOV GPUs) and type.",
        |r| r.present,
    );
    mdev_family(
        o,
        doc,
        "hostdev_mdevs_wanted",
        "Mediated devices (vGPUs) the configuration wants, per parent and type.",
        |r| r.wanted,
    );
}

/// A family with one series per parent and type.
fn mdev_family(
    o: &mut String,
    doc: &StatusDoc,
    name: &str,
    help: &str,
    value: fn(&MdevRow) -> u32,
) {
    family(o, name, help);
    for r in &doc.mdev.parents {
        let _ = writeln!(
            o,
            "{name}{{parent=\"{}\",type=\"{}\"}} {}",
            label(&r.parent),
            label(&r.type_id),
            value(r)
        );
    }
}

/// Devices per permitted resource, and each device's health and use.
fn resource_metrics(o: &mut String, doc: &StatusDoc) {
    family(
        o,
        "hostdev_resource_devices",
        "Devices a permitted resource hands out.",
    );
    // One series per (resource, kind): discovery gives each its one entry; should two
    // ever share the labels, they are one series with the sum (a repeated series would
    // make the whole scrape invalid).
    let mut counts: Vec<(&str, Kind, usize)> = Vec::new();
    for r in &doc.resources {
        match counts
            .iter_mut()
            .find(|(n, k, _)| *n == r.resource_name && *k == r.kind)
        {
            Some(c) => c.2 += r.devices.len(),
            None => counts.push((&r.resource_name, r.kind, r.devices.len())),
        }
    }
    for (name, kind, n) in counts {
        let _ = writeln!(
            o,
            "hostdev_resource_devices{{resource=\"{}\",kind=\"{}\"}} {n}",
            label(name),
            kind_str(kind),
        );
    }
    device_family(
        o,
        doc,
        "hostdev_device_healthy",
        "1 when the device's IOMMU group is viable and its /dev/vfio nodes exist.",
        |d| d.healthy,
    );
    device_family(
        o,
        doc,
        "hostdev_device_in_use",
        "1 when a process holds the device's /dev/vfio node open.",
        |d| d.in_use,
    );
}

/// A family with one 0-or-1 series per device of every permitted resource.
fn device_family(
    o: &mut String,
    doc: &StatusDoc,
    name: &str,
    help: &str,
    value: fn(&DeviceStatus) -> bool,
) {
    family(o, name, help);
    let mut seen = std::collections::BTreeSet::new();
    for d in doc.resources.iter().flat_map(|r| r.devices.iter()) {
        if !seen.insert((d.resource.as_str(), d.kind, d.id())) {
            continue; // a series already written (see resource_metrics)
        }
        let _ = writeln!(
            o,
            "{name}{{resource=\"{}\",kind=\"{}\",device=\"{}\"}} {}",
            label(&d.resource),
            kind_str(d.kind),
            label(d.id()),
            u8::from(value(d))
        );
    }
}

// ---- devices ---------------------------------------------------------------------

pub(crate) fn devices_table(out: &mut dyn Write, devices: &[DeviceStatus]) -> Result<()> {
    let mut t = table(&[
        "RESOURCE",
        "KIND",
        "DEVICE",
        "PARENT",
        "TYPE",
        "GROUP",
        "NUMA",
        "DRIVER",
        "HEALTH",
        "IN USE BY",
    ]);
    for d in devices {
        let mut row = vec![
            d.resource.clone(),
            kind_str(d.kind).into(),
            d.id().to_string(),
            d.parent.clone().unwrap_or_else(|| "-".into()),
            d.type_id.clone().unwrap_or_else(|| "-".into()),
        ];
        row.extend(group_to_holders(d));
        t.add_row(row);
    }
    write_table(out, &t)
}

/// The `devices --format json` document.
#[derive(Serialize)]
pub(crate) struct DevicesDoc<'a> {
    pub(crate) schema: &'static str,
    pub(crate) provider: &'static str,
    pub(crate) devices: &'a [DeviceStatus],
}

/// `0000:3b:00.0` → (`0x0000`, `0x3b`, `0x00`, `0x0`); `None` unless `a` is a PCI address
/// as the kernel names it.
fn split_address(a: &str) -> Option<(String, String, String, String)> {
    if !is_pci_function(a) {
        return None;
    }
    let (dom, rest) = a.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (slot, func) = rest.split_once('.')?;
    Some((
        format!("0x{dom}"),
        format!("0x{bus}"),
        format!("0x{slot}"),
        format!("0x{func}"),
    ))
}

/// An XML attribute value (between `'` or `"`): `&`, `<`, `>`, `'` and `"` as entities.
fn xml_attr(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\'' => o.push_str("&apos;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// The device is not what the kernel would name a PCI function or an mdev: nothing is
/// printed (the inventory skips such names; this is the second line of defence).
fn not_a_device(d: &DeviceStatus, format: &str) -> anyhow::Error {
    fail(
        Code::Failure,
        format!(
            "{:?} of {} is not {}: no --format {format} output",
            d.id(),
            d.resource,
            match d.kind {
                Kind::Pci => "a PCI address (dddd:bb:dd.f)",
                Kind::Mdev => "an mdev UUID",
            }
        ),
    )
}

/// One `<hostdev>` element per device. PCI functions (vendor-VFIO VFs included) with
/// `managed='no'`: the device is already on its driver and libvirt must not rebind it.
/// Every value is checked and escaped, and the whole text is built before any of it is
/// written: a device that is not a PCI address or an mdev UUID fails the run with
/// nothing on stdout.
pub(crate) fn libvirt(out: &mut dyn Write, devices: &[DeviceStatus]) -> Result<()> {
    let mut o = String::new();
    for d in devices {
        match d.kind {
            Kind::Pci => {
                let a = d.address.as_deref().unwrap_or_default();
                let (dom, bus, slot, func) =
                    split_address(a).ok_or_else(|| not_a_device(d, "libvirt"))?;
                let _ = writeln!(
                    o,
                    "<hostdev mode='subsystem' type='pci' managed='no'>\n  <source>\n    <address domain='{}' bus='{}' slot='{}' function='{}'/>\n  </source>\n</hostdev>",
                    xml_attr(&dom),
                    xml_attr(&bus),
                    xml_attr(&slot),
                    xml_attr(&func)
                );
            }
            Kind::Mdev => {
                let u = d.uuid.as_deref().unwrap_or_default();
                if !is_mdev_uuid(u) {
                    return Err(not_a_device(d, "libvirt"));
                }
                let _ = writeln!(
                    o,
                    "<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'>\n  <source>\n    <address uuid='{}'/>\n  </source>\n</hostdev>",
                    xml_attr(u)
                );
            }
        }
    }
    out.write_all(o.as_bytes())?;
    Ok(())
}

/// `-device vfio-pci,host=ADDR` / `-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/UUID`,
/// one device per line. Output for a shell's word splitting (`$(hostdev devices ...)`):
/// only a checked PCI address or mdev UUID goes into a word (no blank, quote, `,` or
/// `=` can), and nothing is written unless every device passes.
pub(crate) fn qemu(out: &mut dyn Write, devices: &[DeviceStatus]) -> Result<()> {
    let mut o = String::new();
    for d in devices {
        let (option, ok) = match d.kind {
            Kind::Pci => ("host=", is_pci_function(d.id()) && d.address.is_some()),
            Kind::Mdev => (
                "sysfsdev=/sys/bus/mdev/devices/",
                is_mdev_uuid(d.id()) && d.uuid.is_some(),
            ),
        };
        if !ok {
            return Err(not_a_device(d, "qemu"));
        }
        let _ = writeln!(o, "-device vfio-pci,{option}{}", d.id());
    }
    out.write_all(o.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn pci_addresses_split_for_libvirt() {
        assert_eq!(
            split_address("0000:3b:00.1"),
            Some(("0x0000".into(), "0x3b".into(), "0x00".into(), "0x1".into()))
        );
        assert_eq!(split_address("mtty"), None);
    }

    fn device(kind: Kind, id: &str) -> DeviceStatus {
        DeviceStatus {
            resource: "nvidia.com/X".into(),
            kind,
            address: (kind == Kind::Pci).then(|| id.to_string()),
            uuid: (kind == Kind::Mdev).then(|| id.to_string()),
            parent: None,
            type_id: None,
            iommu_group: "1".into(),
            numa_node: None,
            driver: None,
            external: false,
            healthy: true,
            problems: vec![],
            device_nodes: vec![],
            in_use: false,
            holders: vec![],
        }
    }

    const GOOD_PCI: &str = "0000:3b:00.0";
    const GOOD_MDEV: &str = "00000000-0000-4000-8000-000000000011";

    /// Issue 20 item 3, the second line of defence: a name that is not a PCI address or
    /// an mdev UUID never reaches a QEMU word or a libvirt attribute, and nothing at all
    /// is written (the good device before it neither).
    #[test]
    fn qemu_and_libvirt_refuse_what_is_not_an_address_or_uuid_and_write_nothing() {
        let hostile = [
            (
                Kind::Mdev,
                "00000000-0000-4000-8000-000000000013,romfile=evil.rom -monitor tcp:0.0.0.0:4444,server,nowait",
            ),
            (Kind::Pci, "0000:3b:00.0,x-no-mmap=on -S"),
            (Kind::Mdev, "00000000-0000-4000-8000-000000000014' foo='bar"),
            (Kind::Mdev, "00000000-0000-4000-8000-000000000015'><x y='"),
            (Kind::Pci, "0000:3b:00.0'/><x y='"),
            (Kind::Mdev, GOOD_PCI),
            (Kind::Pci, GOOD_MDEV),
        ];
        for (kind, id) in hostile {
            let devices = [device(Kind::Pci, GOOD_PCI), device(kind, id)];
            for (format, render) in [
                (
                    "qemu",
                    qemu as fn(&mut dyn Write, &[DeviceStatus]) -> Result<()>,
                ),
                ("libvirt", libvirt),
            ] {
                let mut out = Vec::new();
                let e = render(&mut out, &devices).expect_err(id);
                assert!(
                    out.is_empty(),
                    "{format} {id}: {}",
                    String::from_utf8_lossy(&out)
                );
                assert_eq!(crate::error::exit_code(&e).as_i32(), 1);
                assert!(
                    e.to_string()
                        .contains(&format!("{id:?} of nvidia.com/X is not")),
                    "{e}"
                );
            }
        }
        let devices = [device(Kind::Pci, GOOD_PCI), device(Kind::Mdev, GOOD_MDEV)];
        let mut out = Vec::new();
        qemu(&mut out, &devices).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("-device vfio-pci,host={GOOD_PCI}\n-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/{GOOD_MDEV}\n")
        );
    }

    #[test]
    fn xml_attribute_values_are_escaped() {
        assert_eq!(xml_attr("a'b\"c<d>e&f"), "a&apos;b&quot;c&lt;d&gt;e&amp;f");
        assert_eq!(xml_attr(GOOD_MDEV), GOOD_MDEV);
    }

    /// Two resources of one name and kind (discovery merges them; this is the renderer's
    /// own guard): one series each, never a repeated one.
    #[test]
    fn prometheus_never_repeats_a_series() {
        use crate::plan::status::{IommuStatus, MdevStatus, ResourceStatus};
        let resource = |ids: &[&str]| ResourceStatus {
            resource_name: "nvidia.com/X".into(),
            kind: Kind::Pci,
            external: false,
            variable: "PCI_RESOURCE_NVIDIA_COM_X".into(),
            selectors: vec![],
            devices: ids.iter().map(|i| device(Kind::Pci, i)).collect(),
            not_available: vec![],
        };
        let doc = StatusDoc {
            schema: crate::plan::SCHEMA,
            node: "n".into(),
            provider: "nvidia",
            healthy: true,
            mdev: MdevStatus {
                handling: MdevHandling::NotConfigured,
                desired_types: vec![],
                matches: true,
                pending_actions: 0,
                blocked: 0,
                not_ready: 0,
                parents: vec![],
            },
            resources: vec![
                resource(&["0000:3b:00.0"]),
                resource(&["0000:3b:00.0", "0000:5e:00.0"]),
            ],
            iommu: IommuStatus {
                ready: true,
                pass: 0,
                warn: 0,
                fail: 0,
                skip: 0,
                failing: vec![],
            },
            problems: vec![],
        };
        let text = prometheus(&doc, 0.0);
        let series: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').unwrap().0)
            .collect();
        let mut unique = series.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(series.len(), unique.len(), "{text}");
        assert!(
            text.contains("hostdev_resource_devices{resource=\"nvidia.com/X\",kind=\"pci\"} 3\n")
        );
    }
}
