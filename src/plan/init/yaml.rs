//! `hostdev init`'s file: the choices (`plan::init::Choices`) as a commented YAML file in
//! the shape docs/configuration.md describes (KubeVirt's `configuration` fields, then
//! hostdev's own section). Pure text; the command writes it.

use std::collections::BTreeMap;

use super::Choices;
use crate::plan::env::{resource_name_to_env_var, MDEV_PREFIX, PCI_PREFIX};

/// A YAML scalar: plain when that is unambiguous (`GRID T4-2Q`, `nvidia-231`), otherwise
/// double-quoted with JSON's escapes (which YAML's double-quoted style reads alike).
pub(crate) fn scalar(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '/' | '-'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        s.to_string()
    } else {
        quoted(s)
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Text for a comment: one line, no control or format characters.
pub(crate) fn comment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\n' || c == '\t' || crate::logger::is_escaped(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

fn selector_lines(out: &mut String, indent: &str, sel: &BTreeMap<String, String>) {
    out.push_str(&format!("{indent}- nodeSelector:\n"));
    for (k, v) in sel {
        out.push_str(&format!("{indent}    {}: {}\n", scalar(k), scalar(v)));
    }
}

/// The configuration file for `choices`: KubeVirt's `configuration` fields at the top
/// (shape 4 of docs/configuration.md) and hostdev's own section, with comments.
pub(crate) fn render(c: &Choices) -> String {
    let mut o = String::new();
    o.push_str("# hostdev configuration (docs/configuration.md), written by `hostdev init`.\n");
    for line in &c.origin {
        o.push_str(&format!("# {}\n", comment(line)));
    }
    o.push_str(
        "# The fields below are those of a KubeVirt CR's spec.configuration: paste them there to\n\
         # give a cluster the same devices. Check with `hostdev plan`, then run `hostdev apply`.\n",
    );
    mediated_devices(&mut o, c);
    permitted_host_devices(&mut o, c);
    passthrough_addresses(&mut o, c);
    o
}

/// `mediatedDevicesConfiguration`: the desired types (global, or for the node selector),
/// or a comment that there are none.
fn mediated_devices(o: &mut String, c: &Choices) {
    if c.types.is_empty() {
        o.push_str(
            "\n# No mediatedDevicesConfiguration: hostdev neither creates nor removes mdevs or vGPUs.\n",
        );
    } else {
        o.push_str(
            "\n# One type per GPU (card): KubeVirt's round-robin hands the types below to the GPUs in\n\
             # this order, each GPU filled with as many as it holds; mdevs of other types are removed\n\
             # unless in use.\n",
        );
        o.push_str("mediatedDevicesConfiguration:\n");
        let (indent, head) = match &c.node {
            Some(sel) => {
                o.push_str("  nodeMediatedDeviceTypes:\n");
                selector_lines(o, "  ", sel);
                ("    ", "    mediatedDeviceTypes:\n")
            }
            None => ("  ", "  mediatedDeviceTypes:\n"),
        };
        o.push_str(head);
        for t in &c.types {
            o.push_str(&format!(
                "{indent}- {}   # {}\n",
                scalar(&t.entry),
                comment(&t.comment)
            ));
        }
    }
}

/// `permittedHostDevices`: the PCI models and mdev types the device plugins hand out
/// (with a comment on vendor-VFIO VFs when such a type is chosen).
fn permitted_host_devices(o: &mut String, c: &Choices) {
    let mdevs: Vec<&(String, String)> = c.types.iter().filter_map(|t| t.mdev.as_ref()).collect();
    if c.vendor_vfio {
        o.push_str(
            "\n# vGPUs on vendor-specific VFIO (vendor-vfio GPUs) are PCI devices, their VFs: to hand\n\
             # them out, add a pciHostDevices entry with the VFs' vendor:device (docs/nvidia.md).\n",
        );
    }
    if !c.pci.is_empty() || !mdevs.is_empty() {
        o.push_str(
            "\n# What KubeVirt's device plugins hand to VMs (`hostdev env`, `hostdev devices`):\n\
             # PCI_RESOURCE_<NAME> and MDEV_PCI_RESOURCE_<NAME> variables.\n",
        );
        o.push_str("permittedHostDevices:\n");
        if !c.pci.is_empty() {
            o.push_str("  pciHostDevices:\n");
            for p in &c.pci {
                o.push_str(&format!(
                    "  - pciVendorSelector: {}   # {}\n    resourceName: {}   # {}\n",
                    quoted(&p.selector),
                    comment(&p.comment),
                    scalar(&p.resource),
                    resource_name_to_env_var(PCI_PREFIX, &p.resource)
                ));
            }
        }
        if !mdevs.is_empty() {
            o.push_str("  mediatedDevices:\n");
            for (sel, res) in mdevs {
                o.push_str(&format!(
                    "  - mdevNameSelector: {}\n    resourceName: {}   # {}\n",
                    scalar(sel),
                    scalar(res),
                    resource_name_to_env_var(MDEV_PREFIX, res)
                ));
            }
        }
    }
}

/// hostdev's own section: `passthroughAddresses` (or `nodePassthroughAddresses`), when
/// passthrough GPUs of a model with vGPU types are chosen.
fn passthrough_addresses(o: &mut String, c: &Choices) {
    if !c.addresses.is_empty() {
        let list = c
            .addresses
            .iter()
            .map(|a| quoted(a))
            .collect::<Vec<_>>()
            .join(", ");
        o.push_str(
            "\n# hostdev's own section: the GPUs of a model with vGPU types that are for passthrough\n\
             # (`bind vfio --from-config` binds them; the planner gives them no vGPUs).\n",
        );
        o.push_str("hostdev:\n");
        match &c.node {
            Some(sel) => {
                o.push_str("  nodePassthroughAddresses:\n");
                selector_lines(o, "  ", sel);
                o.push_str(&format!("    addresses: [{list}]\n"));
            }
            None => o.push_str(&format!("  passthroughAddresses: [{list}]\n")),
        }
    }
}
