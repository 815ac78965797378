//! The planner's rows when mdev handling is off (no `mediatedDevicesConfiguration`, or
//! `enabled: false`): every parent and card as it is, nothing to change.

use std::collections::BTreeMap;

use super::{card_row, single, type_of, Card, Unit};
use crate::host::inventory::{Inventory, Mdev, Parent};
use crate::plan::document::{CardPlan, ParentPlan, Status};

/// The row of a parent when mdev handling is off: nothing changes.
pub(super) fn hands_off(parent: &Parent, inv: &Inventory) -> ParentPlan {
    let here: Vec<&Mdev> = inv.mdevs_of(&parent.name).collect();
    let type_id = single(here.iter().map(|x| x.type_id.clone()));
    ParentPlan {
        type_name: type_id
            .as_ref()
            .and_then(|id| parent.types.iter().find(|t| &t.id == id))
            .and_then(|t| t.name.clone()),
        address: parent.name.clone(),
        type_id,
        existing: here.len() as u32,
        create: Some(0),
        remove: 0,
        status: Status::Keep,
    }
}

/// The row of a card when mdev handling is off: nothing changes.
pub(super) fn hands_off_card(
    mut card: Card,
    inv: &Inventory,
    names: &BTreeMap<String, BTreeMap<u32, String>>,
) -> CardPlan {
    card.status = Status::Keep;
    match &card.unit {
        Unit::Parent(p) => {
            let here: Vec<&Mdev> = inv.mdevs_of(&p.name).collect();
            card.existing = here.len() as u32;
            if let Some(t) = single(here.iter().map(|x| x.type_id.as_deref())) {
                card.type_name = type_of(p, t).and_then(|t| t.name.clone());
                card.type_id = Some(t.to_string());
            }
        }
        Unit::VfGpu(vfs) => {
            let here: Vec<&Mdev> = vfs.iter().flat_map(|v| inv.mdevs_of(&v.name)).collect();
            card.existing = here.len() as u32;
            if let Some(t) = single(here.iter().map(|x| x.type_id.as_deref())) {
                card.type_name = vfs
                    .iter()
                    .find_map(|v| type_of(v, t))
                    .and_then(|t| t.name.clone());
                card.type_id = Some(t.to_string());
            }
        }
        Unit::Vendor(vfs) => {
            let here: Vec<u32> = vfs.iter().map(|v| v.current).filter(|c| *c != 0).collect();
            card.existing = here.len() as u32;
            if let Some(t) = single(here.iter().map(|c| Some(*c))) {
                card.type_name = vfs
                    .first()
                    .and_then(|v| names.get(&v.dev.vendor_device()))
                    .and_then(|n| n.get(&t))
                    .cloned();
                card.type_id = Some(t.to_string());
            }
        }
    }
    card_row(&card)
}
