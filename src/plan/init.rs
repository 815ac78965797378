//! `hostdev init`, the pure part: the host's GPU models and what each offers (from the
//! `list-types` data), the choices a person or the flags make, and those choices as a
//! commented YAML file in the shape docs/configuration.md describes; also mdevctl's
//! persistent definitions (`/etc/mdevctl.d/<parent>/<uuid>`) and the host's current mdevs
//! turned into the same choices. No I/O: the command (src/commands/init.rs) reads, asks and
//! writes.

use std::collections::{BTreeMap, BTreeSet};

use crate::config;
use crate::host::inventory::{Inventory, NVIDIA_VENDOR};
use crate::host::vgpu::{self, Framework};
use crate::plan::env::{resource_name_to_env_var, MDEV_PREFIX, PCI_PREFIX};

/// One vGPU (or mdev) type a model offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeOption {
    /// The type ID (`nvidia-222`; vendor-VFIO: the numeric ID, `1152`).
    pub id: String,
    pub name: Option<String>,
    pub framebuffer_mib: Option<u64>,
    /// The most instances one GPU holds; `None` when unknown.
    pub per_gpu: Option<u32>,
    /// How many GPUs of the model offer it.
    pub gpus: u32,
}

impl TypeOption {
    /// Instances on this host: per GPU times the GPUs that offer it.
    pub fn total(&self) -> Option<u32> {
        self.per_gpu.map(|n| n.saturating_mul(self.gpus))
    }

    /// `GRID T4-2Q (nvidia-231)`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.id),
            None => self.id.clone(),
        }
    }

    /// `2048 MiB, 8 per GPU, 24 on this host`.
    pub fn facts(&self) -> String {
        let fb = self
            .framebuffer_mib
            .map_or("framebuffer ?".to_string(), |m| format!("{m} MiB"));
        let n = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
        format!(
            "{fb}, {} per GPU, {} on this host",
            n(self.per_gpu),
            n(self.total())
        )
    }
}

/// One GPU (physical function) of a model, with what passthrough needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    pub address: String,
    pub driver: Option<String>,
    /// Its IOMMU group, the other endpoints and whether it can be passed through.
    pub group: String,
}

/// The GPUs of one model (`vendor:device`) that offer vGPUs the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub vendor_device: String,
    pub framework: Framework,
    /// pci.ids' name of the device (`TU104GL [Tesla T4]`), when known.
    pub description: Option<String>,
    pub gpus: Vec<GpuInfo>,
    pub types: Vec<TypeOption>,
    /// The first GPU's missing precondition (types not published, VFs not enabled).
    pub problem: Option<String>,
    /// The resource name KubeVirt's device plugins would serve it under for passthrough.
    pub resource: String,
}

impl Model {
    /// A model of one card known only by its address (a type the host does not offer
    /// now, kept as the host or mdevctl has it).
    fn lone(card: &str, vendor_device: Option<String>, framework: Framework) -> Model {
        Model {
            vendor_device: vendor_device.unwrap_or_else(|| "unknown".into()),
            framework,
            description: None,
            gpus: vec![GpuInfo {
                address: card.to_string(),
                driver: None,
                group: String::new(),
            }],
            types: Vec::new(),
            problem: None,
            resource: String::new(),
        }
    }

    /// `10de:1eb8 TU104GL [Tesla T4], 3 GPUs (mdev-pf)`.
    pub fn label(&self) -> String {
        let name = self
            .description
            .as_deref()
            .map(|d| format!(" {d}"))
            .unwrap_or_default();
        let n = self.gpus.len();
        format!(
            "{}{name}, {n} GPU{} ({})",
            self.vendor_device,
            if n == 1 { "" } else { "s" },
            self.framework.as_str()
        )
    }

    /// The selector for `pciVendorSelector`: `10DE:1EB8`.
    pub fn selector(&self) -> String {
        self.vendor_device.to_ascii_uppercase()
    }
}

/// The resource domain of a PCI vendor (what the vendors' device plugins use).
fn vendor_domain(vendor: &str) -> String {
    match vendor {
        NVIDIA_VENDOR => "nvidia.com".into(),
        "8086" => "intel.com".into(),
        "1002" => "amd.com".into(),
        v => format!("pci-{v}.local"),
    }
}

/// Keep what a resource name's second part may hold.
fn resource_part(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect()
}

/// The passthrough resource name of a model: the vendor's domain, then pci.ids' device name
/// as NVIDIA's device plugin spells it (`nvidia.com/TU104GL_TESLA_T4`), else the device ID.
pub fn pci_resource(vendor: &str, device: &str, pci_ids: Option<&str>) -> String {
    let name = pci_ids
        .and_then(|ids| crate::plan::nvidia::device_name_of(ids, vendor, device))
        .map(|n| resource_part(&n))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| device.to_string());
    format!("{}/{name}", vendor_domain(vendor))
}

/// The mdev resource name of a type: the vendor's domain, then the type's name with each
/// whitespace run as `_` (`nvidia.com/GRID_T4-2Q`, as NVIDIA's plugin names vGPUs).
pub fn mdev_resource(vendor: &str, type_name: &str) -> String {
    let name = resource_part(&crate::plan::nvidia::vgpu_name(type_name.trim()));
    let name = if name.is_empty() { "mdev".into() } else { name };
    format!("{}/{name}", vendor_domain(vendor))
}

/// pci.ids' description of `vendor:device` (the raw text), for labels.
pub fn pci_ids_description(pci_ids: &str, vendor: &str, device: &str) -> Option<String> {
    let mut lines = pci_ids.lines();
    lines.by_ref().find(|l| l.starts_with(vendor))?;
    let prefix = format!("\t{device}");
    for line in lines {
        if line.starts_with('#') {
            continue;
        }
        if !line.starts_with('\t') {
            return None;
        }
        if let Some(rest) = line.strip_prefix(&prefix) {
            if rest.starts_with([' ', '\t']) {
                return Some(rest.trim().to_string());
            }
        }
    }
    None
}

/// What the IOMMU group of `address` means for passing it through.
pub fn group_note(inv: &Inventory, address: &str) -> String {
    let Some(g) = inv.group_of(address) else {
        return "no IOMMU group (is the IOMMU on? `hostdev iommu check`): cannot be passed through"
            .into();
    };
    let others: Vec<String> = g
        .endpoints()
        .into_iter()
        .filter(|d| d.address != address)
        .map(|d| match &d.driver {
            Some(drv) => format!("{} ({drv})", d.address),
            None => d.address.clone(),
        })
        .collect();
    let viable = g.viable();
    if others.is_empty() {
        format!(
            "IOMMU group {}, alone: {}",
            g.id,
            if viable {
                "viable"
            } else {
                "viable once bound to vfio-pci"
            }
        )
    } else {
        format!(
            "IOMMU group {} with {}: {}",
            g.id,
            others.join(", "),
            if viable {
                "viable"
            } else {
                "bind them together (`bind vfio --with-group`)"
            }
        )
    }
}

/// The host's GPUs grouped by model and vGPU framework, each with the types it offers
/// (`list-types`' data), in address order of their first GPU. `pci_ids`: the text of
/// pci.ids, for names.
pub fn models(inv: &Inventory, pci_ids: Option<&str>) -> Vec<Model> {
    let doc = crate::plan::types::types_doc(inv);
    let mut out: Vec<Model> = Vec::new();
    for g in &doc.gpus {
        let (vendor, device) = g.vendor_device.split_once(':').unwrap_or(("", ""));
        let offered: Vec<TypeOption> = match g.framework {
            Framework::MdevPf => doc
                .parents
                .iter()
                .filter(|p| p.address == g.address)
                .flat_map(|p| &p.types)
                .map(|t| TypeOption {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    framebuffer_mib: t.description.as_deref().and_then(vgpu::framebuffer_mib),
                    per_gpu: t
                        .max_instances
                        .or(Some(t.available_instances + t.existing_instances)),
                    gpus: 1,
                })
                .collect(),
            Framework::MdevVf => g
                .capacity
                .iter()
                .map(|c| TypeOption {
                    id: c.type_id.clone(),
                    name: c.name.clone(),
                    framebuffer_mib: g
                        .vfs
                        .iter()
                        .filter_map(|v| inv.parent(&v.address))
                        .flat_map(|p| &p.types)
                        .find(|t| t.id == c.type_id)
                        .and_then(|t| t.description.as_deref())
                        .and_then(vgpu::framebuffer_mib),
                    per_gpu: c.max_instances,
                    gpus: 1,
                })
                .collect(),
            Framework::VendorVfio => g
                .capacity
                .iter()
                .map(|c| TypeOption {
                    id: c.type_id.clone(),
                    name: c.name.clone(),
                    framebuffer_mib: c
                        .name
                        .as_deref()
                        .and_then(vgpu::vendor_type_gib)
                        .map(|g| u64::from(g) * 1024),
                    per_gpu: c.max_instances,
                    gpus: 1,
                })
                .collect(),
            Framework::None => Vec::new(),
        };
        let gpu = GpuInfo {
            address: g.address.clone(),
            driver: g.driver.clone(),
            group: group_note(inv, &g.address),
        };
        let model = match out
            .iter_mut()
            .find(|m| m.vendor_device == g.vendor_device && m.framework == g.framework)
        {
            Some(m) => {
                for t in offered {
                    match m.types.iter_mut().find(|x| x.id == t.id) {
                        Some(x) => {
                            x.gpus += 1;
                            x.per_gpu = x.per_gpu.max(t.per_gpu);
                        }
                        None => m.types.push(t),
                    }
                }
                m.gpus.push(gpu);
                continue;
            }
            None => Model {
                vendor_device: g.vendor_device.clone(),
                framework: g.framework,
                description: pci_ids.and_then(|ids| pci_ids_description(ids, vendor, device)),
                gpus: vec![gpu],
                types: offered,
                problem: g.problem.clone(),
                resource: pci_resource(vendor, device, pci_ids),
            },
        };
        out.push(model);
    }
    for m in &mut out {
        // smallest framebuffer first, as NVIDIA's tables list them; then by name
        m.types.sort_by(|a, b| {
            (a.framebuffer_mib.unwrap_or(u64::MAX), &a.name, &a.id).cmp(&(
                b.framebuffer_mib.unwrap_or(u64::MAX),
                &b.name,
                &b.id,
            ))
        });
    }
    out
}

/// The desired-list entry of a type: its ID on mdev GPUs, its name on vendor-VFIO GPUs
/// (whose numeric IDs are NVIDIA's and the docs name them so), the ID when it has no name.
pub fn entry_of(model: &Model, t: &TypeOption) -> String {
    match (&model.framework, &t.name) {
        (Framework::VendorVfio, Some(n)) => n.clone(),
        _ => t.id.clone(),
    }
}

/// Resolve `--type` (a name or an ID) among the models' types: an ID, or a name equal after
/// KubeVirt's normalization (spaces as `_`), case-sensitive first, then ignoring case.
/// `Err`: the message, naming the candidates.
pub fn resolve_type<'a>(
    models: &'a [Model],
    wanted: &str,
) -> Result<(&'a Model, &'a TypeOption), String> {
    let all: Vec<(&Model, &TypeOption)> = models
        .iter()
        .flat_map(|m| m.types.iter().map(move |t| (m, t)))
        .collect();
    if all.is_empty() {
        return Err(format!(
            "--type {wanted:?}: this host offers no vGPU or mdev types (`hostdev list-types` \
             shows none: no vGPU host driver loaded, or its types are not published yet)"
        ));
    }
    let norm = config::model::normalize(wanted);
    let pick = |eq: &dyn Fn(&str, &str) -> bool| -> Vec<(&Model, &TypeOption)> {
        let mut v: Vec<(&Model, &TypeOption)> = all
            .iter()
            .copied()
            .filter(|(_, t)| {
                eq(&t.id, wanted.trim())
                    || t.name
                        .as_deref()
                        .is_some_and(|n| eq(&config::model::normalize(n), &norm))
            })
            .collect();
        // the same type on several models is one choice only if they agree on its ID
        v.dedup_by(|a, b| a.1.id == b.1.id);
        v
    };
    let mut found = pick(&|a, b| a == b);
    if found.is_empty() {
        found = pick(&|a, b| a.eq_ignore_ascii_case(b));
    }
    let ids: BTreeSet<&str> = found.iter().map(|(_, t)| t.id.as_str()).collect();
    match ids.len() {
        1 => Ok(found[0]),
        0 => {
            // near: the types whose name or ID holds a word of what was asked (`T4`, `L40S`)
            let low = wanted.to_ascii_lowercase();
            let words: Vec<&str> = low
                .split([' ', '_', '-'])
                .filter(|w| w.len() >= 2 && !matches!(*w, "grid" | "nvidia"))
                .collect();
            let near: Vec<&(&Model, &TypeOption)> = all
                .iter()
                .filter(|(_, t)| {
                    let label = t.label().to_ascii_lowercase();
                    words.iter().any(|w| label.contains(w))
                })
                .collect();
            let list = if near.is_empty() {
                all.iter().collect()
            } else {
                near
            };
            Err(format!(
                "--type {wanted:?}: no such type on this host; {}: {}",
                if list.len() < all.len() {
                    "did you mean"
                } else {
                    "the types are"
                },
                candidates(&list)
            ))
        }
        _ => Err(format!(
            "--type {wanted:?} is ambiguous: it names {}; give the type ID",
            candidates(&found.iter().collect::<Vec<_>>())
        )),
    }
}

fn candidates(list: &[&(&Model, &TypeOption)]) -> String {
    let mut seen = BTreeSet::new();
    list.iter()
        .filter(|(_, t)| seen.insert(t.id.clone()))
        .map(|(m, t)| format!("{} [{}]", t.label(), m.vendor_device))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- choices ------------------------------------------------------------------------

/// One desired type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenType {
    /// The desired-list entry (an ID, or a vendor-VFIO name).
    pub entry: String,
    /// What it is, for the comment beside it.
    pub comment: String,
    /// `(mdevNameSelector, resourceName)` for `permittedHostDevices.mediatedDevices`;
    /// `None` for vendor-VFIO types (their VFs are PCI devices, see the comment written).
    pub mdev: Option<(String, String)>,
}

/// One model permitted for passthrough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenPci {
    /// `10DE:1EB8`.
    pub selector: String,
    pub resource: String,
    pub comment: String,
}

/// Everything the file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    pub types: Vec<ChosenType>,
    pub pci: Vec<ChosenPci>,
    /// `hostdev.passthroughAddresses`: passthrough GPUs of models that also have vGPU types.
    pub addresses: Vec<String>,
    /// A node selector: write the node-specific sections (`nodeMediatedDeviceTypes`,
    /// `nodePassthroughAddresses`) instead of the global ones.
    pub node: Option<BTreeMap<String, String>>,
    /// Comment lines for the file's head: where the choices came from.
    pub origin: Vec<String>,
    /// A vendor-VFIO type was chosen (a comment says how to expose its VFs).
    pub vendor_vfio: bool,
}

impl Choices {
    /// Add a type (once).
    pub fn add_type(&mut self, model: &Model, t: &TypeOption) {
        let entry = entry_of(model, t);
        if self.types.iter().any(|c| c.entry == entry) {
            return;
        }
        let vendor = model.vendor_device.split(':').next().unwrap_or_default();
        let mdev = (model.framework != Framework::VendorVfio).then(|| {
            let sel = t.name.clone().unwrap_or_else(|| t.id.clone());
            let mut res = mdev_resource(vendor, &sel);
            let mut n = 2;
            while self
                .types
                .iter()
                .filter_map(|c| c.mdev.as_ref())
                .any(|(_, r)| *r == res)
            {
                res = format!("{}_{n}", mdev_resource(vendor, &sel));
                n += 1;
            }
            (sel, res)
        });
        self.vendor_vfio |= model.framework == Framework::VendorVfio;
        let gpus: Vec<&str> = model.gpus.iter().map(|g| g.address.as_str()).collect();
        self.types.push(ChosenType {
            entry,
            comment: format!(
                "{}: {}; {} [{}]",
                t.label(),
                t.facts(),
                model.vendor_device,
                gpus.join(" ")
            ),
            mdev,
        });
    }

    /// Permit `model` for passthrough (once); `resource` overrides the derived name.
    pub fn add_pci(&mut self, model_vd: &str, resource: String, comment: String) {
        let selector = model_vd.to_ascii_uppercase();
        if self.pci.iter().any(|p| p.selector == selector) {
            return;
        }
        self.pci.push(ChosenPci {
            selector,
            resource,
            comment,
        });
    }

    /// Name `address` in `passthroughAddresses` (once, ascending).
    pub fn add_address(&mut self, address: &str) {
        if !self.addresses.iter().any(|a| a == address) {
            self.addresses.push(address.to_string());
            self.addresses.sort();
        }
    }

    /// Nothing chosen at all.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.pci.is_empty()
    }
}

// ---- the file -----------------------------------------------------------------------

/// A YAML scalar: plain when that is unambiguous (`GRID T4-2Q`, `nvidia-231`), otherwise
/// double-quoted with JSON's escapes (which YAML's double-quoted style reads alike).
pub fn scalar(s: &str) -> String {
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
pub fn comment(s: &str) -> String {
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
pub fn render(c: &Choices) -> String {
    let mut o = String::new();
    o.push_str("# hostdev configuration (docs/configuration.md), written by `hostdev init`.\n");
    for line in &c.origin {
        o.push_str(&format!("# {}\n", comment(line)));
    }
    o.push_str(
        "# The fields below are those of a KubeVirt CR's spec.configuration: paste them there to\n\
         # give a cluster the same devices. Check with `hostdev plan`, then run `hostdev apply`.\n",
    );
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
                selector_lines(&mut o, "  ", sel);
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
                selector_lines(&mut o, "  ", sel);
                o.push_str(&format!("    addresses: [{list}]\n"));
            }
            None => o.push_str(&format!("  passthroughAddresses: [{list}]\n")),
        }
    }
    o
}

// ---- from what is there -------------------------------------------------------------

/// The card an mdev parent belongs to: its physical GPU for a VF parent, else itself.
fn card_of(inv: &Inventory, parent: &str) -> String {
    inv.parent(parent)
        .and_then(|p| p.physfn.clone())
        .or_else(|| inv.pci_device(parent).and_then(|d| d.physfn.clone()))
        .unwrap_or_else(|| parent.to_string())
}

/// The model and type offering `type_id` on the card `card`, if the host lists it.
fn find_type<'a>(
    models: &'a [Model],
    card: &str,
    type_id: &str,
) -> Option<(&'a Model, &'a TypeOption)> {
    let m = models
        .iter()
        .find(|m| m.gpus.iter().any(|g| g.address == card))?;
    let t = m.types.iter().find(|t| t.id == type_id)?;
    Some((m, t))
}

/// What the host has now, for `--from-host`: the types of its mdevs and configured
/// vendor-VFIO VFs (cards in address order), and its devices on vfio-pci. Messages for
/// stderr in the second value.
pub fn from_host(inv: &Inventory, models: &[Model]) -> (Choices, Vec<String>) {
    let mut c = Choices::default();
    let mut notes = Vec::new();
    // card → types present, in address order
    let mut cards: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
    for m in &inv.mdevs {
        let Some(t) = &m.type_id else {
            notes.push(format!(
                "mdev {} on {}: its type cannot be read; left out",
                m.uuid, m.parent
            ));
            continue;
        };
        let v = cards.entry(card_of(inv, &m.parent)).or_default();
        if !v.iter().any(|(id, _)| id == t) {
            v.push((t.clone(), m.type_name.clone()));
        }
    }
    for d in &inv.pci {
        if let (Some(pf), Some(nv)) = (&d.physfn, &d.nvidia) {
            if nv.current_vgpu_type != 0 {
                let id = nv.current_vgpu_type.to_string();
                let v = cards.entry(pf.clone()).or_default();
                if !v.iter().any(|(x, _)| *x == id) {
                    v.push((id, None));
                }
            }
        }
    }
    let names = vgpu::vendor_type_names(inv);
    for (card, types) in &cards {
        if types.len() > 1 {
            notes.push(format!(
                "{card} carries {} types ({}): KubeVirt's semantics give a card one type, so hostdev leaves such a card alone (heterogeneous, set up by hand)",
                types.len(),
                types.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        for (id, name) in types {
            match find_type(models, card, id) {
                Some((m, t)) => c.add_type(m, t),
                None => {
                    // not listed any more (a full card): keep it by ID, named if known
                    let model = models
                        .iter()
                        .find(|m| m.gpus.iter().any(|g| g.address == *card));
                    let vd = model.map(|m| m.vendor_device.clone());
                    let name = name.clone().or_else(|| {
                        let vd = vd.as_ref()?;
                        names.get(vd)?.get(&id.parse().ok()?).cloned()
                    });
                    let vendor_vfio = model.is_some_and(|m| m.framework == Framework::VendorVfio);
                    let t = TypeOption {
                        id: id.clone(),
                        name: name.clone(),
                        framebuffer_mib: None,
                        per_gpu: None,
                        gpus: 1,
                    };
                    let framework = if vendor_vfio {
                        Framework::VendorVfio
                    } else {
                        Framework::MdevPf
                    };
                    let fallback = Model::lone(card, vd, framework);
                    c.add_type(&fallback, &t);
                }
            }
        }
    }
    // devices on vfio-pci: passthrough (VFs of vendor-VFIO GPUs are vGPUs, not these)
    let vgpu_models: BTreeSet<&str> = models
        .iter()
        .filter(|m| !m.types.is_empty())
        .map(|m| m.vendor_device.as_str())
        .collect();
    for d in inv
        .pci
        .iter()
        .filter(|d| d.driver.as_deref() == Some("vfio-pci") && !d.is_bridge())
    {
        let vd = d.vendor_device();
        let resource = models
            .iter()
            .find(|m| m.vendor_device == vd)
            .map(|m| m.resource.clone())
            .unwrap_or_else(|| pci_resource(&d.vendor, &d.device, None));
        c.add_pci(
            &vd,
            resource,
            format!("on vfio-pci: {}", addresses_of(inv, &vd).join(" ")),
        );
        if vgpu_models.contains(vd.as_str()) {
            c.add_address(&d.address);
        }
    }
    (c, notes)
}

fn addresses_of(inv: &Inventory, vd: &str) -> Vec<String> {
    inv.pci
        .iter()
        .filter(|d| d.vendor_device() == vd && d.driver.as_deref() == Some("vfio-pci"))
        .map(|d| d.address.clone())
        .collect()
}

/// One mdevctl persistent definition (`/etc/mdevctl.d/<parent>/<uuid>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdevctlDef {
    pub parent: String,
    pub uuid: String,
    pub mdev_type: String,
    /// `auto` or `manual`.
    pub start: String,
    /// Per-device attributes (`[{"name": "value"}, ...]`), as `name=value`.
    pub attrs: Vec<String>,
}

/// Parse one definition (mdevctl's JSON: `mdev_type`, `start`, `attrs`).
pub fn parse_mdevctl(parent: &str, uuid: &str, text: &str) -> Result<MdevctlDef, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not mdevctl's JSON: {e}"))?;
    let mdev_type = v
        .get("mdev_type")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty() && !t.contains('/') && *t != "." && *t != "..")
        .ok_or("no mdev_type (a type ID such as \"nvidia-222\")")?
        .to_string();
    let start = v
        .get("start")
        .and_then(|s| s.as_str())
        .unwrap_or("manual")
        .to_string();
    let mut attrs = Vec::new();
    if let Some(list) = v.get("attrs").and_then(|a| a.as_array()) {
        for a in list {
            if let Some(obj) = a.as_object() {
                for (k, val) in obj {
                    let val = val
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| val.to_string());
                    attrs.push(format!("{k}={val}"));
                }
            }
        }
    }
    Ok(MdevctlDef {
        parent: parent.to_string(),
        uuid: uuid.to_string(),
        mdev_type,
        start,
        attrs,
    })
}

/// mdevctl's definitions as choices, for `--from-mdevctl`: the types in the order of their
/// cards' addresses, and on stderr what KubeVirt's semantics cannot say (two types on a
/// card, manual start, attributes, counts) and how the UUIDs will differ.
pub fn from_mdevctl(
    defs: &[MdevctlDef],
    inv: &Inventory,
    models: &[Model],
    node: &str,
) -> (Choices, Vec<String>) {
    let mut c = Choices::default();
    let mut notes = Vec::new();
    let mut cards: BTreeMap<String, Vec<&MdevctlDef>> = BTreeMap::new();
    for d in defs {
        cards.entry(card_of(inv, &d.parent)).or_default().push(d);
    }
    for (card, ds) in &cards {
        let mut types: Vec<&str> = Vec::new();
        for d in ds {
            if !types.contains(&d.mdev_type.as_str()) {
                types.push(&d.mdev_type);
            }
        }
        if types.len() > 1 {
            notes.push(format!(
                "{card}: mdevctl defines {} types there ({}); KubeVirt's semantics give a card one type: a card that carries several is left alone, an empty one gets one of them (the round-robin decides which)",
                types.len(),
                types.join(", ")
            ));
        }
        for t in &types {
            let n = ds.iter().filter(|d| d.mdev_type == *t).count();
            match find_type(models, card, t) {
                Some((m, opt)) => {
                    c.add_type(m, opt);
                    if let Some(max) = opt.per_gpu.filter(|max| *max as usize != n) {
                        notes.push(format!(
                            "{card}: mdevctl defines {n} {t}; hostdev fills the card ({max}), as KubeVirt does: the number of devices cannot be set"
                        ));
                    }
                }
                None => {
                    notes.push(format!(
                        "{card}: type {t} (mdevctl) is not offered on this host now; written as is"
                    ));
                    let model = Model::lone(
                        card,
                        inv.pci_device(card).map(|d| d.vendor_device()),
                        Framework::MdevPf,
                    );
                    let opt = TypeOption {
                        id: t.to_string(),
                        name: None,
                        framebuffer_mib: None,
                        per_gpu: None,
                        gpus: 1,
                    };
                    c.add_type(&model, &opt);
                }
            }
        }
    }
    for d in defs {
        if d.start != "auto" {
            notes.push(format!(
                "{} ({}): mdevctl starts it manually (start: {}); hostdev creates every configured vGPU at `apply` and at boot",
                d.uuid, d.parent, d.start
            ));
        }
        if !d.attrs.is_empty() {
            notes.push(format!(
                "{} ({}): per-device attributes ({}) cannot be expressed in KubeVirt's configuration: set them after `hostdev apply`",
                d.uuid,
                d.parent,
                d.attrs.join(", ")
            ));
        }
    }
    // UUIDs: mdevs of a desired type are kept while they exist; new ones are hostdev's
    let mut by_parent: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for d in defs {
        by_parent
            .entry((d.parent.as_str(), d.mdev_type.as_str()))
            .or_default()
            .push(&d.uuid);
    }
    for ((parent, t), uuids) in &by_parent {
        let ours: Vec<String> = (0..uuids.len() as u32)
            .map(|i| crate::plan::mdev_uuid(node, parent, t, i).to_string())
            .collect();
        notes.push(format!(
            "UUIDs on {parent}: mdevs that exist keep their UUIDs ({}); created by hostdev (after a reboot, once mdevctl's definitions are removed) they are derived from node {node}, parent, type and index: {}",
            uuids.join(", "),
            ours.join(", ")
        ));
    }
    (c, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_unambiguous() {
        assert_eq!(scalar("GRID T4-2Q"), "GRID T4-2Q");
        assert_eq!(scalar("nvidia-231"), "nvidia-231");
        assert_eq!(scalar("1152"), "\"1152\"");
        assert_eq!(scalar("no"), "\"no\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("x #y"), "\"x #y\"");
        assert_eq!(comment("a\nb\x1bc"), "a?b?c");
    }

    fn model(vd: &str, framework: Framework, types: &[(&str, &str)]) -> Model {
        Model {
            vendor_device: vd.into(),
            framework,
            description: None,
            gpus: vec![GpuInfo {
                address: "0000:3b:00.0".into(),
                driver: Some("nvidia".into()),
                group: String::new(),
            }],
            types: types
                .iter()
                .map(|(id, name)| TypeOption {
                    id: id.to_string(),
                    name: Some(name.to_string()),
                    framebuffer_mib: Some(2048),
                    per_gpu: Some(8),
                    gpus: 1,
                })
                .collect(),
            problem: None,
            resource: "nvidia.com/1eb8".into(),
        }
    }

    #[test]
    fn types_resolve_by_id_or_name_and_ambiguity_lists_the_candidates() {
        let models = vec![
            model(
                "10de:1eb8",
                Framework::MdevPf,
                &[("nvidia-231", "GRID T4-2Q"), ("nvidia-222", "GRID T4-1B")],
            ),
            model(
                "10de:26b9",
                Framework::VendorVfio,
                &[("1152", "NVIDIA L40S-8Q")],
            ),
            model("10de:9999", Framework::MdevPf, &[("nvidia-900", "Same")]),
            model("10de:9998", Framework::MdevPf, &[("nvidia-901", "Same")]),
        ];
        let id = |w: &str| resolve_type(&models, w).map(|(_, t)| t.id.clone());
        assert_eq!(id("nvidia-231").unwrap(), "nvidia-231");
        assert_eq!(id("GRID T4-2Q").unwrap(), "nvidia-231");
        assert_eq!(id("GRID_T4-2Q").unwrap(), "nvidia-231");
        assert_eq!(id("grid t4-2q").unwrap(), "nvidia-231");
        assert_eq!(id("NVIDIA L40S-8Q").unwrap(), "1152");
        let (m, t) = resolve_type(&models, "1152").unwrap();
        assert_eq!(entry_of(m, t), "NVIDIA L40S-8Q");
        let e = id("Same").unwrap_err();
        assert!(
            e.contains("is ambiguous") && e.contains("nvidia-900") && e.contains("nvidia-901"),
            "{e}"
        );
        let e = id("T4-3Q").unwrap_err();
        assert!(
            e.contains("did you mean") && e.contains("GRID T4-2Q (nvidia-231)"),
            "{e}"
        );
        assert!(resolve_type(&[], "x")
            .unwrap_err()
            .contains("offers no vGPU"));
    }

    #[test]
    fn mdevctl_definitions_are_read() {
        let d = parse_mdevctl(
            "0000:3b:00.0",
            "11111111-1111-4111-8111-111111111111",
            r#"{"mdev_type": "nvidia-222", "start": "manual", "attrs": [{"frl": "60"}]}"#,
        )
        .unwrap();
        assert_eq!(d.mdev_type, "nvidia-222");
        assert_eq!(d.start, "manual");
        assert_eq!(d.attrs, ["frl=60"]);
        assert!(parse_mdevctl("p", "u", "{}").is_err());
        assert!(parse_mdevctl("p", "u", r#"{"mdev_type": "../x"}"#).is_err());
        assert!(parse_mdevctl("p", "u", "not json").is_err());
    }

    #[test]
    fn the_file_parses_with_the_loader() {
        let mut c = Choices {
            node: Some(BTreeMap::from([(
                "kubernetes.io/hostname".to_string(),
                "node1".to_string(),
            )])),
            ..Default::default()
        };
        c.types.push(ChosenType {
            entry: "1152".into(),
            comment: "evil\n- nvidia-1".into(),
            mdev: Some(("no".into(), "nvidia.com/x".into())),
        });
        c.add_pci("10de:1eb8", "nvidia.com/T4".into(), "x".into());
        c.add_address("0000:3b:00.0");
        let text = render(&c);
        let cfg = config::load::parse(&text, &config::load::Source::Stdin).unwrap();
        let node = config::node::Node::new("node1", &[]);
        assert_eq!(
            cfg.desired_for(&node),
            config::selectors::Desired::Types(vec!["1152".into()])
        );
        assert_eq!(cfg.passthrough_for(&node), ["0000:3b:00.0"]);
        assert_eq!(cfg.permitted.mediated_devices[0].mdev_name_selector.0, "no");
    }
}
