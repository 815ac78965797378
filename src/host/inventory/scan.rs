//! Reading the snapshot ([`Inventory::scan_for`]): the PCI devices, the mdevs, the mdev
//! parents and their types as far as the [`Scope`] needs, then (only when something could
//! be held) the vGPU manager and who holds each `/dev/vfio` node. The scans themselves are
//! in [`super::pci`], [`super::mdev`] and [`super::holders`].

use std::collections::BTreeSet;

use anyhow::Result;

use super::holders::{process_running, scan_holders};
use super::mdev::{name_mdev_types, scan_mdevs, scan_parents};
use super::pci::scan_pci;
use super::{device_paths, Inventory, Scope, NVIDIA_VENDOR, VFIO_PCI, VGPU_MANAGER_COMM};
use crate::host::root::Root;

impl Inventory {
    /// Read the whole snapshot.
    pub(crate) fn scan(fs: &Root) -> Result<Inventory> {
        Inventory::scan_for(fs, &Scope::All)
    }

    /// Read the snapshot, the types only as far as `scope` needs.
    pub(crate) fn scan_for(fs: &Root, scope: &Scope) -> Result<Inventory> {
        let pci = scan_pci(fs, scope)?;
        let mut mdevs = scan_mdevs(fs)?;
        let in_use: BTreeSet<String> = mdevs.iter().filter_map(|m| m.type_id.clone()).collect();
        let parents = scan_parents(fs, &pci, scope, &in_use)?;
        name_mdev_types(fs, &mut mdevs, &parents);
        if let Scope::Offers { .. } = scope {
            return Ok(Inventory {
                parents,
                mdevs,
                pci,
                ..Default::default()
            });
        }
        let mut inv = Inventory {
            parents,
            mdevs,
            pci,
            ..Default::default()
        };
        if inv
            .pci
            .iter()
            .any(|d| d.vendor == NVIDIA_VENDOR && d.driver.as_deref() == Some("nvidia"))
        {
            inv.vgpu_manager_running = process_running(fs, VGPU_MANAGER_COMM);
        }
        let watched: Vec<String> = inv
            .mdevs
            .iter()
            .flat_map(|m| m.device_paths())
            .chain(
                inv.pci
                    .iter()
                    .filter(|d| d.driver.as_deref() == Some(VFIO_PCI) || d.nvidia.is_some())
                    .flat_map(|d| device_paths(d.iommu_group.as_deref(), &d.cdevs)),
            )
            .collect();
        if !watched.is_empty() {
            let (holders, skipped) = scan_holders(fs)?;
            inv.holders = holders;
            inv.uninspected_processes = skipped;
        }
        Ok(inv)
    }
}
