//! The planner's mdev cards (step B of `plan::mdev`): what a single mdev parent, or a
//! physical GPU whose SR-IOV virtual functions are mdev parents, keeps after the removals
//! and which desired types it offers to the round-robin. Vendor-VFIO GPUs are
//! `mdev/vendor.rs`; the round-robin and the actions are `plan::mdev`.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    mdevs_on, single, type_of, Card, Matcher, Offer, MIXED_SIZES_NOTE, SEVERAL_TYPES_NOTE,
};
use crate::host::inventory::{Inventory, Mdev, MdevType, Parent};
use crate::plan::document::{Blocked, Status};

/// A single mdev parent: KubeVirt's card.
pub(super) fn parent_card(
    card: &mut Card,
    parent: &Parent,
    inv: &Inventory,
    removed: &BTreeSet<&str>,
    blocked: &[Blocked],
    m: &Matcher,
) {
    let (remaining, remove) = mdevs_on(inv, &parent.name, removed);
    card.remove = remove;
    card.freed = remove > 0 && remaining.is_empty();
    if blocked
        .iter()
        .any(|b| b.parent() == Some(parent.name.as_str()))
    {
        card.status = Status::Blocked;
    } else if !remaining.is_empty() {
        card.status = Status::Keep;
        if let Some(only) = single(remaining.iter().map(|x| x.type_id.as_ref())) {
            card.type_id = Some(only.clone());
            card.existing = remaining.len() as u32;
            let t = type_of(parent, only);
            card.type_name = t.and_then(|t| t.name.clone());
            if let Some(t) = t.filter(|t| m.position(&t.id, t.name.as_deref()).is_some()) {
                if t.available_instances > 0 {
                    card.status = Status::TopUp;
                    card.create = Some(t.available_instances);
                }
            }
        }
    } else {
        for t in &parent.types {
            let Some(pos) = m.position(&t.id, t.name.as_deref()) else {
                continue;
            };
            card.status = Status::Unassigned;
            let fits = if card.freed {
                t.max_instances != Some(0)
            } else {
                t.available_instances > 0
            };
            if fits {
                card.offers.push(Offer {
                    id: t.id.clone(),
                    pos,
                    name: t.name.clone(),
                    count: creatable(t, card.freed),
                });
            }
        }
    }
}

/// A physical GPU whose VFs are mdev parents: one type for the whole GPU, one instance
/// per free VF, at most the type's `max_instance` in all.
pub(super) fn vf_gpu_card(
    card: &mut Card,
    vfs: &[&Parent],
    inv: &Inventory,
    removed: &BTreeSet<&str>,
    blocked: &[Blocked],
    m: &Matcher,
) {
    let mut remaining: Vec<&Mdev> = Vec::new();
    let mut free: Vec<&Parent> = Vec::new();
    for vf in vfs {
        let (stay, gone) = mdevs_on(inv, &vf.name, removed);
        card.remove += gone;
        if stay.is_empty() {
            free.push(vf);
        }
        remaining.extend(stay);
    }
    card.freed = card.remove > 0 && remaining.is_empty();
    // the GPU's types, described by the first VF that offers each
    let mut types: BTreeMap<&str, &MdevType> = BTreeMap::new();
    for vf in vfs {
        for t in &vf.types {
            types.entry(t.id.as_str()).or_insert(t);
        }
    }
    if vfs
        .iter()
        .any(|vf| blocked.iter().any(|b| b.parent() == Some(vf.name.as_str())))
    {
        card.status = Status::Blocked;
        card.note = Some(MIXED_SIZES_NOTE.into());
    } else if !remaining.is_empty() {
        vf_gpu_kept(card, &remaining, &types, &free, m);
    } else {
        vf_gpu_offers(card, &types, &free, m);
    }
}

/// The free VFs of an mdev-VF GPU on which type `id` is available now.
fn available(free: &[&Parent], id: &str) -> u32 {
    free.iter()
        .filter(|vf| type_of(vf, id).is_some_and(|t| t.available_instances > 0))
        .count() as u32
}

/// An mdev-VF GPU with mdevs that stay: kept, and topped up on free VFs when every mdev
/// is of one desired type (up to the type's `max_instance`); several types: left alone.
fn vf_gpu_kept(
    card: &mut Card,
    remaining: &[&Mdev],
    types: &BTreeMap<&str, &MdevType>,
    free: &[&Parent],
    m: &Matcher,
) {
    card.status = Status::Keep;
    match single(remaining.iter().map(|x| x.type_id.as_ref())) {
        Some(only) => {
            card.type_id = Some(only.clone());
            card.existing = remaining.len() as u32;
            let t = types.get(only.as_str()).copied();
            card.type_name = t.and_then(|t| t.name.clone());
            if let Some(t) = t.filter(|t| m.position(&t.id, t.name.as_deref()).is_some()) {
                let room = t
                    .max_instances
                    .map_or(u32::MAX, |mx| mx.saturating_sub(card.existing));
                let n = available(free, &t.id).min(room);
                if n > 0 {
                    card.status = Status::TopUp;
                    card.create = Some(n);
                }
            }
        }
        _ => card.note = Some(SEVERAL_TYPES_NOTE.into()),
    }
}

/// An mdev-VF GPU with no mdev that stays: the desired types it offers, each with one
/// instance per free VF that has room (every VF when emptied first), at most the type's
/// `max_instance`.
fn vf_gpu_offers(
    card: &mut Card,
    types: &BTreeMap<&str, &MdevType>,
    free: &[&Parent],
    m: &Matcher,
) {
    for t in types.values() {
        let Some(pos) = m.position(&t.id, t.name.as_deref()) else {
            continue;
        };
        card.status = Status::Unassigned;
        let (fits, count) = if card.freed {
            (
                t.max_instances != Some(0),
                t.max_instances.map(|mx| mx.min(free.len() as u32)),
            )
        } else {
            let n = available(free, &t.id).min(t.max_instances.unwrap_or(u32::MAX));
            (n > 0, Some(n))
        };
        if fits {
            card.offers.push(Offer {
                id: t.id.clone(),
                pos,
                name: t.name.clone(),
                count,
            });
        }
    }
}

/// Which VFs of an mdev-VF GPU get the new instances: the first free ones (ascending)
/// on which the type is available (any free one when the GPU is emptied first).
pub(super) fn chosen_vfs<'p>(
    card: &Card,
    vfs: &[&'p Parent],
    inv: &Inventory,
    removed: &BTreeSet<&str>,
) -> Vec<&'p str> {
    let (true, Some(t), Some(n)) = (card.creates(), &card.type_id, card.create) else {
        return Vec::new();
    };
    vfs.iter()
        .filter(|vf| mdevs_on(inv, &vf.name, removed).0.is_empty())
        .filter(|vf| card.freed || type_of(vf, t).is_some_and(|t| t.available_instances > 0))
        .take(n as usize)
        .map(|vf| vf.name.as_str())
        .collect()
}

/// How many instances of `t` can be created: what the kernel says now, or, on a parent
/// whose mdevs are removed first, the driver's published maximum (unknown without one).
fn creatable(t: &MdevType, freed: bool) -> Option<u32> {
    if freed {
        t.max_instances
    } else {
        Some(t.available_instances)
    }
}
