//! `hostdev init`, the pure part: the host's GPU models and what each offers (from the
//! `list-types` data), and the choices a person or the flags make (`Choices`). Those
//! choices as a commented YAML file are [`yaml`]; mdevctl's persistent definitions and the
//! host's current mdevs turned into the same choices are [`existing`]. No I/O: the command
//! (src/commands/init.rs) reads, asks and writes.

use std::collections::{BTreeMap, BTreeSet};

use crate::config;
use crate::host::inventory::{Inventory, NVIDIA_VENDOR};
use crate::host::vgpu::{self, Framework};
use crate::plan::types::{GpuDoc, TypesDoc};

pub(crate) mod existing;
pub(crate) mod yaml;

/// One vGPU (or mdev) type a model offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeOption {
    /// The type ID (`nvidia-222`; vendor-VFIO: the numeric ID, `1152`).
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) framebuffer_mib: Option<u64>,
    /// The most instances one GPU holds; `None` when unknown.
    pub(crate) per_gpu: Option<u32>,
    /// How many GPUs of the model offer it.
    pub(crate) gpus: u32,
}

impl TypeOption {
    /// Instances on this host: per GPU times the GPUs that offer it.
    pub(crate) fn total(&self) -> Option<u32> {
        self.per_gpu.map(|n| n.saturating_mul(self.gpus))
    }

    /// `GRID T4-2Q (nvidia-231)`.
    pub(crate) fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.id),
            None => self.id.clone(),
        }
    }

    /// `2048 MiB, 8 per GPU, 24 on this host`.
    pub(crate) fn facts(&self) -> String {
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
pub(crate) struct GpuInfo {
    pub(crate) address: String,
    pub(crate) driver: Option<String>,
    /// Its IOMMU group, the other endpoints and whether it can be passed through.
    pub(crate) group: String,
}

/// The GPUs of one model (`vendor:device`) that offer vGPUs the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Model {
    pub(crate) vendor_device: String,
    pub(crate) framework: Framework,
    /// pci.ids' name of the device (`TU104GL [Tesla T4]`), when known.
    pub(crate) description: Option<String>,
    pub(crate) gpus: Vec<GpuInfo>,
    pub(crate) types: Vec<TypeOption>,
    /// The first GPU's missing precondition (types not published, VFs not enabled).
    pub(crate) problem: Option<String>,
    /// The resource name KubeVirt's device plugins would serve it under for passthrough.
    pub(crate) resource: String,
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
    pub(crate) fn label(&self) -> String {
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
pub(crate) fn pci_resource(vendor: &str, device: &str, pci_ids: Option<&str>) -> String {
    let name = pci_ids
        .and_then(|ids| crate::plan::nvidia::device_name_of(ids, vendor, device))
        .map(|n| resource_part(&n))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| device.to_string());
    format!("{}/{name}", vendor_domain(vendor))
}

/// The mdev resource name of a type: the vendor's domain, then the type's name with each
/// whitespace run as `_` (`nvidia.com/GRID_T4-2Q`, as NVIDIA's plugin names vGPUs).
pub(crate) fn mdev_resource(vendor: &str, type_name: &str) -> String {
    let name = resource_part(&crate::plan::nvidia::vgpu_name(type_name.trim()));
    let name = if name.is_empty() { "mdev".into() } else { name };
    format!("{}/{name}", vendor_domain(vendor))
}

/// pci.ids' description of `vendor:device` (the raw text), for labels.
pub(crate) fn pci_ids_description(pci_ids: &str, vendor: &str, device: &str) -> Option<String> {
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
pub(crate) fn group_note(inv: &Inventory, address: &str) -> String {
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
pub(crate) fn models(inv: &Inventory, pci_ids: Option<&str>) -> Vec<Model> {
    let doc = crate::plan::types::types_doc(inv);
    let mut out: Vec<Model> = Vec::new();
    for g in &doc.gpus {
        let (vendor, device) = g.vendor_device.split_once(':').unwrap_or(("", ""));
        let offered = offered_types(g, &doc, inv);
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

/// The types a GPU of the `list-types` document offers, as its framework lists them: an
/// mdev PF's parent types, or the GPU's capacity rows (mdev VFs, vendor-VFIO).
fn offered_types(g: &GpuDoc, doc: &TypesDoc, inv: &Inventory) -> Vec<TypeOption> {
    match g.framework {
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
    }
}

/// The desired-list entry of a type: its ID on mdev GPUs, its name on vendor-VFIO GPUs
/// (whose numeric IDs are NVIDIA's and the docs name them so), the ID when it has no name.
pub(crate) fn entry_of(model: &Model, t: &TypeOption) -> String {
    match (&model.framework, &t.name) {
        (Framework::VendorVfio, Some(n)) => n.clone(),
        _ => t.id.clone(),
    }
}

/// Resolve `--type` (a name or an ID) among the models' types: an ID, or a name equal after
/// KubeVirt's normalization (spaces as `_`), case-sensitive first, then ignoring case.
/// `Err`: the message, naming the candidates.
pub(crate) fn resolve_type<'a>(
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
pub(crate) struct ChosenType {
    /// The desired-list entry (an ID, or a vendor-VFIO name).
    pub(crate) entry: String,
    /// What it is, for the comment beside it.
    pub(crate) comment: String,
    /// `(mdevNameSelector, resourceName)` for `permittedHostDevices.mediatedDevices`;
    /// `None` for vendor-VFIO types (their VFs are PCI devices, see the comment written).
    pub(crate) mdev: Option<(String, String)>,
}

/// One model permitted for passthrough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChosenPci {
    /// `10DE:1EB8`.
    pub(crate) selector: String,
    pub(crate) resource: String,
    pub(crate) comment: String,
}

/// Everything the file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Choices {
    pub(crate) types: Vec<ChosenType>,
    pub(crate) pci: Vec<ChosenPci>,
    /// `hostdev.passthroughAddresses`: passthrough GPUs of models that also have vGPU types.
    pub(crate) addresses: Vec<String>,
    /// A node selector: write the node-specific sections (`nodeMediatedDeviceTypes`,
    /// `nodePassthroughAddresses`) instead of the global ones.
    pub(crate) node: Option<BTreeMap<String, String>>,
    /// Comment lines for the file's head: where the choices came from.
    pub(crate) origin: Vec<String>,
    /// A vendor-VFIO type was chosen (a comment says how to expose its VFs).
    pub(crate) vendor_vfio: bool,
}

impl Choices {
    /// Add a type (once).
    pub(crate) fn add_type(&mut self, model: &Model, t: &TypeOption) {
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
    pub(crate) fn add_pci(&mut self, model_vd: &str, resource: String, comment: String) {
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
    pub(crate) fn add_address(&mut self, address: &str) {
        if !self.addresses.iter().any(|a| a == address) {
            self.addresses.push(address.to_string());
            self.addresses.sort();
        }
    }

    /// Nothing chosen at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.types.is_empty() && self.pci.is_empty()
    }
}

#[cfg(test)]
mod tests;
