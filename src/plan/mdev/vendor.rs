//! The planner's NVIDIA vendor-specific VFIO cards (step B of `plan::mdev`): a physical
//! GPU whose virtual functions take a vGPU type through `nvidia/current_vgpu_type`. Clears
//! the undesired types on free VFs, then says which desired type the GPU offers and how
//! many free VFs could take it. The round-robin and the set actions are `plan::mdev`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Card, Matcher, Offer, Unit, VfSlot, MIXED_SIZES_NOTE, SEVERAL_TYPES_NOTE};
use crate::host::inventory::Inventory;
use crate::host::vgpu;
use crate::plan::document::{Action, Blocked, Plan, Status, VfAction};

/// A GPU on NVIDIA's vendor-specific VFIO: clears undesired types on free VFs, then one
/// type for the whole GPU, set on free VFs that list it as creatable.
pub(super) fn vendor_card(
    card: &mut Card,
    inv: &Inventory,
    names: &BTreeMap<String, BTreeMap<u32, String>>,
    m: &Matcher,
    plan: &mut Plan,
) {
    let Unit::Vendor(vfs) = &mut card.unit else {
        return;
    };
    // the VFs are read while the card's other fields are set: out of the card meanwhile
    let mut vfs = std::mem::take(vfs);
    let no_names = BTreeMap::new();
    let names = vfs
        .first()
        .and_then(|v| names.get(&v.dev.vendor_device()))
        .unwrap_or(&no_names);
    let Clears {
        remove,
        blocked,
        unnamed,
    } = vendor_clears(&mut vfs, &card.address, inv, names, m, plan);
    card.remove = remove;
    let remaining: Vec<u32> = vfs
        .iter()
        .filter(|v| v.current != 0)
        .map(|v| v.current)
        .collect();
    card.freed = remove > 0 && remaining.is_empty();
    // the GPU's maximum of a type (its memory over the type's size, one per VF) minus the
    // vGPUs of that size it keeps: the same figure as `list-types`
    let limits = inv
        .pci_device(&card.address)
        .map(|pf| vgpu::VendorLimits::of(inv, pf));
    let present: Vec<Option<&str>> = remaining
        .iter()
        .map(|id| names.get(id).map(String::as_str))
        .collect();
    let room = |name: Option<&str>| {
        limits
            .and_then(|l| l.room(name, &present))
            .unwrap_or(u32::MAX)
    };
    let free = |id: u32| {
        let n = vfs
            .iter()
            .filter(|v| v.is_free() && !v.cleared && v.can_create(id))
            .count() as u32;
        n.min(room(names.get(&id).map(String::as_str)))
    };
    if blocked {
        card.status = Status::Blocked;
        card.note = Some(MIXED_SIZES_NOTE.into());
    } else if !remaining.is_empty() {
        vendor_kept(card, &remaining, &unnamed, names, &free, m);
    } else {
        vendor_offers(card, &vfs, names, &free, m);
    }
    card.unit = Unit::Vendor(vfs);
}

/// A vendor card whose VFs keep vGPUs: kept, and topped up on free VFs (`free`: how many
/// could take a type) when every kept vGPU is of one desired type; several types: left
/// alone. Types that cannot be named are named in the note.
fn vendor_kept(
    card: &mut Card,
    remaining: &[u32],
    unnamed: &BTreeSet<u32>,
    names: &BTreeMap<u32, String>,
    free: &dyn Fn(u32) -> u32,
    m: &Matcher,
) {
    let remaining_types: BTreeSet<u32> = remaining.iter().copied().collect();
    card.status = Status::Keep;
    if let [only] = remaining_types.iter().copied().collect::<Vec<_>>()[..] {
        let id = only.to_string();
        card.type_id = Some(id.clone());
        card.type_name = names.get(&only).cloned();
        card.existing = remaining.len() as u32;
        if m.position(&id, card.type_name.as_deref()).is_some() {
            let n = free(only);
            if n > 0 {
                card.status = Status::TopUp;
                card.create = Some(n);
                card.upper_bound = true;
            }
        }
    } else {
        card.note = Some(SEVERAL_TYPES_NOTE.into());
    }
    if !unnamed.is_empty() && card.note.is_none() {
        let ids: Vec<String> = unnamed.iter().map(u32::to_string).collect();
        card.note = Some(format!(
            "vGPU type {} cannot be named from sysfs (no VF lists it in creatable_vgpu_types any more): \
             kept; to manage it, name it by its numeric ID in the configuration",
            ids.join(", ")
        ));
    }
}

/// A vendor card with no vGPU that stays: the desired types it offers, each with the
/// number of free VFs that could take it (`free`), or unknown when its types are
/// cleared first.
fn vendor_offers(
    card: &mut Card,
    vfs: &[VfSlot],
    names: &BTreeMap<u32, String>,
    free: &dyn Fn(u32) -> u32,
    m: &Matcher,
) {
    // the types this GPU can create now, or (emptied first) every type known for the model
    let offered: BTreeMap<u32, String> = if card.freed {
        names.clone()
    } else {
        vfs.iter()
            .filter(|v| v.is_free())
            .filter_map(|v| v.dev.nvidia.as_ref())
            .flat_map(|n| n.creatable.iter().cloned())
            .collect()
    };
    if card.freed && !m.desired.is_empty() {
        card.status = Status::Unassigned;
        card.note = Some(
            "its vGPU types are cleared first; which desired type it can take is known only \
             then (creatable_vgpu_types): apply re-plans after the clearing"
                .into(),
        );
    }
    for (id, name) in offered {
        let Some(pos) = m.position(&id.to_string(), Some(&name)) else {
            continue;
        };
        card.note = None;
        card.status = Status::Unassigned;
        let count = if card.freed { None } else { Some(free(id)) };
        if count != Some(0) {
            card.offers.push(Offer {
                id: id.to_string(),
                pos,
                name: Some(name),
                count,
            });
        }
    }
}

/// What clearing the undesired vGPU types of a vendor card's VFs did.
struct Clears {
    remove: u32,
    blocked: bool,
    /// Types no VF lists any more (cannot be named, so never cleared).
    unnamed: BTreeSet<u32>,
}

/// Clear the vGPU type of every VF that carries an undesired one (never one in use).
fn vendor_clears(
    vfs: &mut [VfSlot],
    gpu: &str,
    inv: &Inventory,
    names: &BTreeMap<u32, String>,
    m: &Matcher,
    plan: &mut Plan,
) -> Clears {
    let mut c = Clears {
        remove: 0,
        blocked: false,
        unnamed: BTreeSet::new(),
    };
    for vf in vfs.iter_mut() {
        if vf.current == 0 {
            continue;
        }
        let id = vf.current.to_string();
        let name = names.get(&vf.current).cloned();
        if name.is_none() && (m.keeps(&id, None) || !m.all_resolved(names)) {
            // cannot tell whether it is desired: never cleared (as an unreadable mdev type)
            if m.position(&id, None).is_none() {
                c.unnamed.insert(vf.current);
            }
            continue;
        }
        if m.keeps(&id, name.as_deref()) {
            continue;
        }
        let holders = inv.pci_holders(vf.dev);
        if holders.is_empty() {
            plan.actions.push(Action::ClearVgpuType(VfAction {
                address: vf.dev.address.clone(),
                gpu: Some(gpu.to_string()),
                type_id: vf.current,
                type_name: name,
            }));
            vf.current = 0;
            vf.cleared = true;
            vf.in_use = false;
            c.remove += 1;
        } else {
            c.blocked = true;
            plan.blocked.push(Blocked::Vf {
                address: vf.dev.address.clone(),
                gpu: Some(gpu.to_string()),
                type_id: vf.current,
                reason: crate::host::tree::in_use_by(&holders),
            });
        }
    }
    c
}
