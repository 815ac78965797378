//! `hostdev init --from-host` and `--from-mdevctl`: what is there turned into choices
//! (`plan::init::Choices`): the types of the host's mdevs and configured vendor-VFIO VFs
//! and its devices on vfio-pci, or mdevctl's persistent definitions
//! (`/etc/mdevctl.d/<parent>/<uuid>`, parsed here), with notes on what KubeVirt's
//! semantics cannot say. Pure: the command reads the host and the definitions.

use std::collections::{BTreeMap, BTreeSet};

use super::{pci_resource, Choices, Model, TypeOption};
use crate::host::inventory::Inventory;
use crate::host::vgpu::{self, Framework};

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
pub(crate) fn from_host(inv: &Inventory, models: &[Model]) -> (Choices, Vec<String>) {
    let mut c = Choices::default();
    let mut notes = Vec::new();
    let cards = types_by_card(inv, &mut notes);
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
                None => add_unlisted(&mut c, models, &names, card, id, name),
            }
        }
    }
    add_vfio_devices(&mut c, inv, models);
    (c, notes)
}

/// The types present on each card (card → types in the order met, with their names when
/// the mdevs tell them), in address order: of its mdevs and of its configured vendor-VFIO
/// VFs. An mdev whose type cannot be read is left out with a note.
fn types_by_card(
    inv: &Inventory,
    notes: &mut Vec<String>,
) -> BTreeMap<String, Vec<(String, Option<String>)>> {
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
        let v = cards.entry(inv.card_of(&m.parent)).or_default();
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
    cards
}

/// A type the host carries on `card` but no longer lists (a full card): kept by ID,
/// named if known.
fn add_unlisted(
    c: &mut Choices,
    models: &[Model],
    names: &BTreeMap<String, BTreeMap<u32, String>>,
    card: &str,
    id: &str,
    name: &Option<String>,
) {
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
        id: id.to_string(),
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

/// The devices on vfio-pci, permitted for passthrough (VFs of vendor-VFIO GPUs are vGPUs,
/// not these); those of a model with vGPU types are also named in `passthroughAddresses`.
fn add_vfio_devices(c: &mut Choices, inv: &Inventory, models: &[Model]) {
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
pub(crate) struct MdevctlDef {
    pub(crate) parent: String,
    pub(crate) uuid: String,
    pub(crate) mdev_type: String,
    /// `auto` or `manual`.
    pub(crate) start: String,
    /// Per-device attributes (`[{"name": "value"}, ...]`), as `name=value`.
    pub(crate) attrs: Vec<String>,
}

/// Parse one definition (mdevctl's JSON: `mdev_type`, `start`, `attrs`).
pub(crate) fn parse_mdevctl(parent: &str, uuid: &str, text: &str) -> Result<MdevctlDef, String> {
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
pub(crate) fn from_mdevctl(
    defs: &[MdevctlDef],
    inv: &Inventory,
    models: &[Model],
    node: &str,
) -> (Choices, Vec<String>) {
    let mut c = Choices::default();
    let mut notes = Vec::new();
    let mut cards: BTreeMap<String, Vec<&MdevctlDef>> = BTreeMap::new();
    for d in defs {
        cards.entry(inv.card_of(&d.parent)).or_default().push(d);
    }
    for (card, ds) in &cards {
        add_mdevctl_card(&mut c, &mut notes, inv, models, card, ds);
    }
    notes.extend(unsaid_notes(defs));
    notes.extend(uuid_notes(defs, node));
    (c, notes)
}

/// The types mdevctl defines on one card, added as choices; notes when it defines several,
/// a count other than the card holds, or a type the host does not offer now.
fn add_mdevctl_card(
    c: &mut Choices,
    notes: &mut Vec<String>,
    inv: &Inventory,
    models: &[Model],
    card: &str,
    ds: &[&MdevctlDef],
) {
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

/// What a definition says that KubeVirt's configuration cannot: a manual start,
/// per-device attributes.
fn unsaid_notes(defs: &[MdevctlDef]) -> Vec<String> {
    let mut notes = Vec::new();
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
    notes
}

/// How the UUIDs will differ from mdevctl's, per parent and type.
fn uuid_notes(defs: &[MdevctlDef], node: &str) -> Vec<String> {
    let mut notes = Vec::new();
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
    notes
}
