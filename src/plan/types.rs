//! The `list-types` document: every mdev parent and its types, and each physical GPU with
//! its vGPU framework and what it can still hold. A pure view of the inventory, shared by
//! `list-types` (rendered in `render`) and `init` (`plan::init`, which offers the types).

use serde::Serialize;

use crate::host::inventory::{Inventory, ParentKind};
use crate::host::vgpu::{self, Framework};
use crate::plan::SCHEMA;

#[derive(Serialize)]
pub(crate) struct TypesDoc {
    pub(crate) schema: &'static str,
    pub(crate) parents: Vec<ParentDoc>,
    /// The physical GPUs and the vGPU framework of each.
    pub(crate) gpus: Vec<GpuDoc>,
}

#[derive(Serialize)]
pub(crate) struct GpuDoc {
    pub(crate) address: String,
    pub(crate) vendor_device: String,
    pub(crate) driver: Option<String>,
    pub(crate) framework: Framework,
    pub(crate) sriov_totalvfs: Option<u32>,
    pub(crate) sriov_numvfs: Option<u32>,
    /// The VFs that carry its vGPUs (`mdev-vf`: the mdev parents; `vendor-vfio`: every VF).
    pub(crate) vfs: Vec<GpuVfDoc>,
    /// `vendor-vfio`: the vGPU types its VFs can create now or carry.
    pub(crate) vgpu_types: Vec<VendorTypeDoc>,
    /// A missing precondition and its fix.
    pub(crate) problem: Option<String>,
    /// SR-IOV GPUs (`mdev-vf`, `vendor-vfio`): per type, what the GPU can still hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) capacity: Vec<CapacityDoc>,
}

/// What one SR-IOV GPU can still hold of a type: the free VFs that offer it, bounded by the
/// type's maximum per GPU minus the vGPUs of that size already on the GPU (the figure
/// `plan` uses).
#[derive(Serialize)]
pub(crate) struct CapacityDoc {
    #[serde(rename = "type")]
    pub(crate) type_id: String,
    pub(crate) name: Option<String>,
    /// Per physical GPU: `max_instance` of the mdev type's description, or (vendor-VFIO)
    /// the GPU's memory over the type's size; `null` when unknown.
    pub(crate) max_instances: Option<u32>,
    /// vGPUs of this type on the GPU.
    pub(crate) existing_instances: u32,
    /// How many more the GPU can hold now.
    pub(crate) available_instances: u32,
}

#[derive(Serialize)]
pub(crate) struct GpuVfDoc {
    pub(crate) address: String,
    /// `vendor-vfio`: `nvidia/current_vgpu_type` (0: none).
    pub(crate) current_vgpu_type: Option<u32>,
    /// Its name, when some VF still lists the type as creatable; otherwise `null`.
    pub(crate) current_type_name: Option<String>,
    /// Who holds the VF open (`pid N (comm)`), if anyone.
    pub(crate) in_use_by: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct VendorTypeDoc {
    pub(crate) id: u32,
    pub(crate) name: Option<String>,
    /// Free VFs that list it in `creatable_vgpu_types`.
    pub(crate) creatable_on: u32,
    /// VFs whose `current_vgpu_type` is this type.
    pub(crate) existing_instances: u32,
}

#[derive(Serialize)]
pub(crate) struct ParentDoc {
    pub(crate) address: String,
    pub(crate) kind: ParentKind,
    pub(crate) physfn: Option<String>,
    pub(crate) vendor_device: Option<String>,
    pub(crate) driver: Option<String>,
    pub(crate) types: Vec<TypeDoc>,
}

#[derive(Serialize)]
pub(crate) struct TypeDoc {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) available_instances: u32,
    pub(crate) max_instances: Option<u32>,
    pub(crate) device_api: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) existing_instances: u32,
}

pub(crate) fn types_doc(inv: &Inventory) -> TypesDoc {
    let names = vgpu::vendor_type_names(inv);
    // existing mdevs per (parent, type), counted once (not once per type: 100k types)
    let mut existing: std::collections::BTreeMap<(&str, &str), u32> = Default::default();
    for m in &inv.mdevs {
        if let Some(t) = m.type_id.as_deref() {
            *existing.entry((m.parent.as_str(), t)).or_default() += 1;
        }
    }
    TypesDoc {
        schema: SCHEMA,
        gpus: vgpu::gpus(inv)
            .into_iter()
            .map(|g| gpu_doc(inv, &names, g))
            .collect(),
        parents: inv
            .parents
            .iter()
            .map(|p| {
                let pci = inv.pci_device(&p.name);
                ParentDoc {
                    address: p.name.clone(),
                    kind: p.kind.clone(),
                    physfn: p.physfn.clone(),
                    vendor_device: pci.map(|d| d.vendor_device()),
                    driver: pci.and_then(|d| d.driver.clone()),
                    types: p
                        .types
                        .iter()
                        .map(|t| TypeDoc {
                            id: t.id.clone(),
                            name: t.name.clone(),
                            available_instances: t.available_instances,
                            max_instances: t.max_instances,
                            device_api: t.device_api.clone(),
                            description: t.description.clone(),
                            existing_instances: existing
                                .get(&(p.name.as_str(), t.id.as_str()))
                                .copied()
                                .unwrap_or(0),
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

fn gpu_doc(
    inv: &Inventory,
    names: &std::collections::BTreeMap<String, std::collections::BTreeMap<u32, String>>,
    g: vgpu::Gpu,
) -> GpuDoc {
    let no_names = Default::default();
    let names = names.get(&g.vendor_device).unwrap_or(&no_names);
    let mut vfs = Vec::new();
    let mut types: std::collections::BTreeMap<u32, VendorTypeDoc> = Default::default();
    for address in &g.vfs {
        let dev = inv.pci_device(address);
        let nv = dev.and_then(|d| d.nvidia.as_ref());
        let holders = dev.map(|d| inv.pci_holders(d)).unwrap_or_default();
        if let Some(nv) = nv {
            let new = |id: u32| VendorTypeDoc {
                id,
                name: names.get(&id).cloned(),
                creatable_on: 0,
                existing_instances: 0,
            };
            if nv.current_vgpu_type != 0 {
                types
                    .entry(nv.current_vgpu_type)
                    .or_insert_with(|| new(nv.current_vgpu_type))
                    .existing_instances += 1;
            }
            for (id, _) in &nv.creatable {
                types.entry(*id).or_insert_with(|| new(*id)).creatable_on += 1;
            }
        }
        vfs.push(GpuVfDoc {
            address: address.clone(),
            current_vgpu_type: nv.map(|n| n.current_vgpu_type),
            current_type_name: nv.and_then(|n| names.get(&n.current_vgpu_type).cloned()),
            in_use_by: (!holders.is_empty()).then(|| crate::host::tree::holder_list(&holders)),
        });
    }
    let capacity = match g.framework {
        Framework::MdevVf => mdev_vf_capacity(inv, &g.vfs),
        Framework::VendorVfio => {
            let limits = inv
                .pci_device(&g.address)
                .map(|pf| vgpu::VendorLimits::of(inv, pf));
            let present: Vec<Option<&str>> = vfs
                .iter()
                .filter_map(|v| v.current_vgpu_type.filter(|c| *c != 0))
                .map(|c| names.get(&c).map(String::as_str))
                .collect();
            types
                .values()
                .map(|t| {
                    let name = t.name.as_deref();
                    let room = limits.and_then(|l| l.room(name, &present));
                    CapacityDoc {
                        type_id: t.id.to_string(),
                        name: t.name.clone(),
                        max_instances: limits.and_then(|l| l.max_instances(name)),
                        existing_instances: t.existing_instances,
                        available_instances: room.map_or(t.creatable_on, |r| r.min(t.creatable_on)),
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    };
    GpuDoc {
        address: g.address,
        vendor_device: g.vendor_device,
        driver: g.driver,
        framework: g.framework,
        sriov_totalvfs: g.sriov_totalvfs,
        sriov_numvfs: g.sriov_numvfs,
        vfs,
        vgpu_types: types.into_values().collect(),
        problem: g.problem,
        capacity,
    }
}

/// Per type of an `mdev-vf` GPU: the VFs whose `available_instances` offer it, at most the
/// type's `max_instance` minus the vGPUs of the same framebuffer size on the GPU.
fn mdev_vf_capacity(inv: &Inventory, vf_names: &[String]) -> Vec<CapacityDoc> {
    let vfs: Vec<&crate::host::inventory::Parent> =
        vf_names.iter().filter_map(|v| inv.parent(v)).collect();
    // the GPU's types, described by the first VF that offers each
    let mut types: std::collections::BTreeMap<&str, &crate::host::inventory::MdevType> =
        Default::default();
    for t in vfs.iter().flat_map(|p| &p.types) {
        types.entry(t.id.as_str()).or_insert(t);
    }
    let size = |t: &crate::host::inventory::MdevType| {
        t.description.as_deref().and_then(vgpu::framebuffer_mib)
    };
    // the type of each vGPU on the GPU
    let present: Vec<Option<&crate::host::inventory::MdevType>> = vfs
        .iter()
        .flat_map(|p| inv.mdevs_of(&p.name))
        .map(|m| m.type_id.as_deref().and_then(|id| types.get(id).copied()))
        .collect();
    types
        .values()
        .map(|t| {
            let offered = vfs
                .iter()
                .filter_map(|p| p.types.iter().find(|x| x.id == t.id))
                .map(|x| x.available_instances)
                .fold(0u32, u32::saturating_add);
            let same = present
                .iter()
                .filter(|p| match (p, size(t)) {
                    (Some(p), Some(s)) => size(p).map_or(true, |ps| ps == s),
                    (Some(p), None) => p.id == t.id,
                    (None, _) => true,
                })
                .count() as u32;
            let existing = present
                .iter()
                .filter(|p| p.is_some_and(|p| p.id == t.id))
                .count() as u32;
            CapacityDoc {
                type_id: t.id.clone(),
                name: t.name.clone(),
                max_instances: t.max_instances,
                existing_instances: existing,
                available_instances: t
                    .max_instances
                    .map_or(offered, |mx| offered.min(mx.saturating_sub(same))),
            }
        })
        .collect()
}
