//! Verification after a run: the host read again — whole ([`verify`]), or only the mdevs
//! and VFs the run wrote to ([`verify_touched`], `apply`) — against what was done: every
//! created mdev on its parent with its type, every removed one gone, every VF carrying the
//! type it was given. One comparison ([`differences`]) over either way of reading.

use crate::host::inventory::Inventory;
use crate::host::live;
use crate::host::root::Root;
use crate::outcome::Outcome;
use crate::plan::{Action, VfAction};

/// What the host says now about the mdevs and VFs a run touched.
trait Seen {
    /// mdev `uuid`: `None` when it is not on the host, else its parent and type.
    fn mdev(&self, uuid: &str) -> Option<(String, Option<String>)>;
    /// A vendor-VFIO VF's `current_vgpu_type` (`None`: unreadable).
    fn vgpu_type(&self, vf: &str) -> Option<u32>;
}

/// The host as re-read whole.
impl Seen for Inventory {
    fn mdev(&self, uuid: &str) -> Option<(String, Option<String>)> {
        let m = self.mdevs.iter().find(|x| x.uuid == uuid)?;
        Some((m.parent.clone(), m.type_id.clone()))
    }

    fn vgpu_type(&self, vf: &str) -> Option<u32> {
        self.pci_device(vf)
            .and_then(|d| d.nvidia.as_ref())
            .map(|n| n.current_vgpu_type)
    }
}

/// The host read back device by device: only what the run touched.
struct Touched<'a>(&'a Root);

impl Seen for Touched<'_> {
    fn mdev(&self, uuid: &str) -> Option<(String, Option<String>)> {
        live::mdev_identity(self.0, uuid)
    }

    fn vgpu_type(&self, vf: &str) -> Option<u32> {
        live::current_vgpu_type(self.0, vf)
    }
}

/// Compare the re-read host with what was done: every created mdev present on its parent
/// with its type, every removed one gone, every VF carrying the type it was given.
pub(crate) fn verify(inv: &Inventory, outcome: &Outcome) -> Vec<String> {
    differences(inv, outcome)
}

/// [`verify`], reading back only the mdevs and VFs the run wrote to (`apply`: a run that
/// touched two GPUs of eight does not read the other six again).
pub(crate) fn verify_touched(fs: &Root, outcome: &Outcome) -> Vec<String> {
    differences(&Touched(fs), outcome)
}

fn differences(host: &dyn Seen, outcome: &Outcome) -> Vec<String> {
    let mut diffs = Vec::new();
    // a VF cleared and then given the new type in the same run (a GPU re-planned after
    // its clearing) is checked against its last write only
    let mut last_vf_write = std::collections::HashMap::new();
    for (i, a) in outcome.done.iter().enumerate() {
        if let Action::SetVgpuType(v) | Action::ClearVgpuType(v) = a {
            last_vf_write.insert(v.address.as_str(), i);
        }
    }
    // a VF cleared and then destroyed with its GPU's VFs (teardown disables what hostdev
    // enabled): gone, with no type to read back
    let disabled: Vec<&str> = outcome
        .done
        .iter()
        .filter_map(|a| match a {
            Action::DisableVfs(s) => Some(s.address.as_str()),
            _ => None,
        })
        .collect();
    for (i, a) in outcome.done.iter().enumerate() {
        let diff = match a {
            Action::SetVgpuType(v) | Action::ClearVgpuType(v)
                if last_vf_write.get(v.address.as_str()) != Some(&i) =>
            {
                None
            }
            Action::ClearVgpuType(v)
                if v.gpu.as_deref().is_some_and(|g| disabled.contains(&g))
                    && host.vgpu_type(&v.address).is_none() =>
            {
                None
            }
            Action::SetVgpuType(v) => verify_vf(host, v, v.type_id),
            Action::ClearVgpuType(v) => verify_vf(host, v, 0),
            // enabling waited for the VFs (and failed when they did not come)
            Action::EnableVfs(_) | Action::DisableVfs(_) => None,
            Action::Create(m) => match host.mdev(&m.uuid) {
                None => Some(format!(
                    "mdev {} ({} on {}) was created but is not on the host",
                    m.uuid, m.type_id, m.parent
                )),
                Some((parent, type_id))
                    if parent != m.parent || type_id.as_deref() != Some(m.type_id.as_str()) =>
                {
                    Some(format!(
                        "mdev {} should be {} on {} but is {} on {}",
                        m.uuid,
                        m.type_id,
                        m.parent,
                        type_id.as_deref().unwrap_or("(unknown type)"),
                        parent
                    ))
                }
                Some(_) => None,
            },
            Action::Remove(m) => host.mdev(&m.uuid).is_some().then(|| {
                format!(
                    "mdev {} ({} on {}) was removed but is still on the host",
                    m.uuid, m.type_id, m.parent
                )
            }),
        };
        diffs.extend(diff);
    }
    diffs
}

fn verify_vf(host: &dyn Seen, v: &VfAction, want: u32) -> Option<String> {
    let now = host.vgpu_type(&v.address);
    (now != Some(want)).then(|| {
        format!(
            "VF {} should carry vGPU type {want} but reads {}",
            v.address,
            now.map_or_else(
                || "nothing (no nvidia/current_vgpu_type)".into(),
                |n| n.to_string()
            )
        )
    })
}
