//! Which GPUs get their SR-IOV virtual functions enabled, from the node's
//! `hostdev.virtualFunctions` (docs/nvidia.md "Virtual functions"; a hostdev extension,
//! KubeVirt has no such field). Only NVIDIA GPUs whose vGPUs live on VFs — Ampere and
//! newer, on the `nvidia` driver with the vGPU manager running — never a Turing or older
//! GPU (the T4 advertises 16 VFs but hosts its vGPUs on the physical function), never a
//! device the configuration keeps for passthrough. Pure: reads the inventory.
//!
//! A GPU with no VF enabled gets an [`Action::EnableVfs`]. One with another count than
//! asked gets [`Action::DisableVfs`] then [`Action::EnableVfs`] (the kernel changes a
//! count only through 0), unless a VF is in use or carries a vGPU: then it is left as it
//! is ([`Blocked::Vfs`], named).

use crate::config::model::VfCount;
use crate::host::inventory::{Inventory, PciDevice, NVIDIA_VENDOR};
use crate::host::tree::in_use_by;
use crate::host::vgpu::is_turing_or_older;
use crate::plan::{Action, Blocked, Problem, SriovAction};

/// What the node's `virtualFunctions` asks of the host's GPUs.
#[derive(Debug, Default)]
pub(crate) struct Vfs {
    /// Disables (count changes) first, then enables, each in address order.
    pub(crate) actions: Vec<Action>,
    pub(crate) blocked: Vec<Blocked>,
    pub(crate) problems: Vec<Problem>,
}

/// Whether hostdev may enable the VFs of `d`: an NVIDIA GPU (display or 3D class) of a
/// generation whose vGPUs live on VFs, with SR-IOV, on the `nvidia` driver.
pub(crate) fn takes_vfs(d: &PciDevice) -> bool {
    d.physfn.is_none()
        && d.vendor == NVIDIA_VENDOR
        && d.class.starts_with("03")
        && d.driver.as_deref() == Some("nvidia")
        && !is_turing_or_older(d)
        && d.sriov_totalvfs.is_some_and(|t| t > 0)
}

/// The VF actions for `want` on the GPUs not named in `passthrough`.
pub(crate) fn plan(want: Option<VfCount>, passthrough: &[String], inv: &Inventory) -> Vfs {
    let mut out = Vfs::default();
    let Some(want) = want else { return out };
    let mut enables = Vec::new();
    for d in inv.pci.iter().filter(|d| takes_vfs(d)) {
        if passthrough.contains(&d.address) {
            continue;
        }
        let total = d.sriov_totalvfs.unwrap_or(0);
        let now = d.sriov_numvfs.unwrap_or(0);
        let count = match want {
            VfCount::All => total,
            VfCount::Count(n) if n <= total => n,
            VfCount::Count(n) => {
                out.problems.push(Problem {
                    address: d.address.clone(),
                    message: format!(
                        "hostdev.virtualFunctions asks {n} VFs, but {} supports {total}: \
                         lower the count (or write `all`)",
                        d.address
                    ),
                });
                continue;
            }
        };
        if now == count {
            continue;
        }
        let enable = Action::EnableVfs(SriovAction {
            address: d.address.clone(),
            from: 0,
            count,
        });
        if now == 0 {
            // without the vGPU manager the VFs would offer no types: `plan` names it
            if inv.vgpu_manager_running {
                enables.push(enable);
            }
            continue;
        }
        match vfs_in_use(inv, &d.address) {
            Some(what) => out.blocked.push(Blocked::Vfs {
                address: d.address.clone(),
                numvfs: now,
                reason: format!(
                    "the configuration asks {count} VFs, and changing the count disables every VF \
                     first, but {what}; left as it is"
                ),
            }),
            None => {
                out.actions.push(Action::DisableVfs(SriovAction {
                    address: d.address.clone(),
                    from: now,
                    count: 0,
                }));
                enables.push(enable);
            }
        }
    }
    out.actions.extend(enables);
    out
}

/// What uses a VF of `pf`, in words: first a process holding a VF or one of its mdevs
/// (named with its pid: the VM that keeps the count from changing), then an mdev, then a
/// vGPU type set; `None` when every VF is free.
fn vfs_in_use(inv: &Inventory, pf: &str) -> Option<String> {
    let d = inv.dependents(pf);
    for vf in &d.vfs {
        let at = &vf.vf.address;
        if !vf.holders.is_empty() {
            return Some(format!("VF {at} is {}", in_use_by(&vf.holders)));
        }
        if let Some(m) = vf.mdevs.iter().find(|m| !m.holders.is_empty()) {
            return Some(format!(
                "VF {at} carries mdev {}, {}",
                m.mdev.uuid,
                in_use_by(&m.holders)
            ));
        }
    }
    for vf in &d.vfs {
        let at = &vf.vf.address;
        if let Some(m) = vf.mdevs.first() {
            return Some(format!("VF {at} carries mdev {}", m.mdev.uuid));
        }
        if let Some(t) = vf.vgpu_type {
            return Some(format!("VF {at} carries vGPU type {t}"));
        }
    }
    None
}
