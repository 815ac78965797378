//! One read-only, sorted snapshot of the host: mdev parents and their types, existing
//! mdevs, PCI devices, and open `/dev/vfio` handles. Every attribute file is read once;
//! missing optional files are tolerated, an unreadable required one names its path.
//! Only kernel-shaped names are devices: an mdev is named by its UUID, a PCI function by
//! its address; any other entry of the buses is skipped with a warning.
//! This file holds the snapshot's model ([`Inventory`], its parents, types, mdevs, PCI
//! devices and holders), the kernel's name shapes, the [`Scope`] of a scan and the
//! look-ups; reading it is `scan.rs` (the order of the scans), [`pci`], [`mdev`] and
//! [`holders`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::host::root::dir::AttrDir;
use crate::host::root::Root;

pub(crate) mod holders;
pub mod mdev;
pub mod pci;
mod scan;

/// NVIDIA's PCI vendor ID, as the inventory spells it.
pub(crate) const NVIDIA_VENDOR: &str = "10de";

/// The `comm` of NVIDIA's vGPU manager daemon.
pub(crate) const VGPU_MANAGER_COMM: &str = "nvidia-vgpu-mgr";

/// A name the kernel gives an mdev: its UUID, hyphenated and lower-case (`%pUl`), e.g.
/// `00000000-0000-4000-8000-000000000001`. The scan takes only such entries of
/// `/sys/bus/mdev/devices`, so a UUID handed to libvirt or QEMU is never more than that.
pub(crate) fn is_mdev_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => matches!(c, b'0'..=b'9' | b'a'..=b'f'),
        })
}

/// A name the kernel gives a PCI function (`%04x:%02x:%02x.%d`): domain (4 to 8
/// lower-case hex digits: VMD domains start at `10000`), bus, device (at most `1f`) and
/// function (0 to 7), e.g. `0000:3b:00.0`. The scan takes only such entries of
/// `/sys/bus/pci/devices`.
pub(crate) fn is_pci_function(s: &str) -> bool {
    let hex = |p: &str| p.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    let mut parts = s.split(':');
    let (Some(domain), Some(bus), Some(rest), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some((device, function)) = rest.split_once('.') else {
        return false;
    };
    (4..=8).contains(&domain.len())
        && hex(domain)
        && bus.len() == 2
        && hex(bus)
        && device.len() == 2
        && hex(device)
        && device <= "1f"
        && matches!(function.as_bytes(), [b'0'..=b'7'])
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Inventory {
    /// mdev parents by name (PCI address, or a virtual device name such as `mtty`), ascending.
    pub(crate) parents: Vec<Parent>,
    /// Existing mdevs, ascending by UUID.
    pub(crate) mdevs: Vec<Mdev>,
    /// PCI devices by address, ascending.
    pub(crate) pci: Vec<PciDevice>,
    /// Processes holding `/dev/vfio/...` open, keyed by the device path they hold.
    pub(crate) holders: BTreeMap<String, Vec<Holder>>,
    /// Processes whose open files could not be inspected (not root).
    pub(crate) uninspected_processes: usize,
    /// An `nvidia-vgpu-mgr` process runs (looked for only when an NVIDIA device is on `nvidia`).
    pub(crate) vgpu_manager_running: bool,
    /// The positions in `mdevs` of each parent's mdevs, built on first use (see
    /// [`Inventory::mdevs_of`]); an inventory is not changed once scanned.
    #[serde(skip)]
    pub(crate) by_parent: std::sync::OnceLock<BTreeMap<String, Vec<usize>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ParentKind {
    /// A PCI physical function (or a PCI device without SR-IOV).
    Pci,
    /// An SR-IOV virtual function.
    Vf,
    /// A virtual device (the kernel's sample drivers, vfio-ap, ...).
    Virtual,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Parent {
    pub(crate) name: String,
    pub(crate) kind: ParentKind,
    /// For a virtual function: its physical function's address.
    pub(crate) physfn: Option<String>,
    pub(crate) types: Vec<MdevType>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MdevType {
    /// The directory name, e.g. `nvidia-222`.
    pub(crate) id: String,
    /// The `name` file; Intel GVT-g types have none.
    pub(crate) name: Option<String>,
    pub(crate) available_instances: u32,
    pub(crate) device_api: Option<String>,
    pub(crate) description: Option<String>,
    /// The driver's published maximum (`max_instance=N` in NVIDIA's description).
    pub(crate) max_instances: Option<u32>,
    /// Only the ID (and maybe the name) was read (see [`Scope::Plan`]); with
    /// `Scope::Plan`, `device_api` is never read.
    #[serde(skip)]
    pub(crate) partial: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Mdev {
    pub(crate) uuid: String,
    pub(crate) parent: String,
    /// `None` when the `mdev_type` link cannot be read (KubeVirt then never removes it).
    pub(crate) type_id: Option<String>,
    pub(crate) type_name: Option<String>,
    pub(crate) iommu_group: Option<String>,
    /// vfio device character devices (`vfio-dev/vfioN` with a `dev` number; iommufd).
    pub(crate) cdevs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct PciDevice {
    pub(crate) address: String,
    /// Lower-case hex without `0x`, e.g. `10de`.
    pub(crate) vendor: String,
    pub(crate) device: String,
    pub(crate) subsystem_vendor: Option<String>,
    pub(crate) subsystem_device: Option<String>,
    /// e.g. `030200`.
    pub(crate) class: String,
    pub(crate) driver: Option<String>,
    pub(crate) driver_override: Option<String>,
    pub(crate) iommu_group: Option<String>,
    pub(crate) numa_node: Option<i32>,
    pub(crate) physfn: Option<String>,
    pub(crate) virtfns: Vec<String>,
    pub(crate) sriov_totalvfs: Option<u32>,
    pub(crate) sriov_numvfs: Option<u32>,
    /// `vfio-dev/vfioN` entries with a `dev` number (iommufd cdevs).
    pub(crate) cdevs: Vec<String>,
    /// NVIDIA vendor-specific VFIO (`nvidia/` directory on a VF).
    pub(crate) nvidia: Option<NvidiaVf>,
    /// The device has an `nvidia/` directory (even one without attributes yet).
    #[serde(skip)]
    pub(crate) nvidia_dir: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct NvidiaVf {
    /// `current_vgpu_type`; 0 means none.
    pub(crate) current_vgpu_type: u32,
    /// `creatable_vgpu_types`: (ID, name) pairs, header dropped.
    pub(crate) creatable: Vec<(u32, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    pub(crate) command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.command)
    }
}

impl NvidiaVf {
    /// Carries a vGPU, or can create one now.
    pub(crate) fn is_vgpu_capable(&self) -> bool {
        self.current_vgpu_type != 0 || !self.creatable.is_empty()
    }

    /// Whether type `id` is listed in `creatable_vgpu_types`.
    pub(crate) fn can_create(&self, id: u32) -> bool {
        self.creatable.iter().any(|(i, _)| *i == id)
    }
}

impl PciDevice {
    pub(crate) fn vendor_device(&self) -> String {
        format!("{}:{}", self.vendor, self.device)
    }

    pub(crate) fn is_bridge(&self) -> bool {
        self.class.starts_with("0604")
    }
}

/// The kernel's VFIO driver for PCI devices: what `bind vfio` binds to.
pub(crate) const VFIO_PCI: &str = "vfio-pci";

/// Drivers that leave a device free for passthrough (an unbound endpoint is free too).
pub(crate) const PASSTHROUGH_DRIVERS: [&str; 2] = ["vfio-pci", "pci-stub"];

impl PciDevice {
    /// Free for a VM: bound to vfio-pci or pci-stub, unbound, or an NVIDIA vendor-VFIO VF
    /// (its `nvidia` driver registers it with VFIO itself).
    pub(crate) fn is_passthrough_ready(&self) -> bool {
        match self.driver.as_deref() {
            None => true,
            Some(d) => PASSTHROUGH_DRIVERS.contains(&d) || self.nvidia.is_some(),
        }
    }

    /// Display and 3D controllers (classes 0300 and 0302).
    pub(crate) fn is_gpu(&self) -> bool {
        self.class.starts_with("0300") || self.class.starts_with("0302")
    }
}

/// One IOMMU group and its PCI devices (ascending by address).
#[derive(Debug, Clone)]
pub(crate) struct IommuGroup<'a> {
    pub(crate) id: String,
    pub(crate) devices: Vec<&'a PciDevice>,
}

impl IommuGroup<'_> {
    /// Endpoints still on a host driver: they make the group unusable for passthrough
    /// (bridges are ignored: they need no driver and vfio tolerates pcieport).
    pub(crate) fn blockers(&self) -> Vec<&PciDevice> {
        self.devices
            .iter()
            .copied()
            .filter(|d| !d.is_bridge() && !d.is_passthrough_ready())
            .collect()
    }

    pub(crate) fn viable(&self) -> bool {
        self.blockers().is_empty()
    }

    /// The endpoints (non-bridges) of the group.
    pub(crate) fn endpoints(&self) -> Vec<&PciDevice> {
        self.devices
            .iter()
            .copied()
            .filter(|d| !d.is_bridge())
            .collect()
    }
}

impl Mdev {
    /// The `/dev` paths through which a process can hold this mdev.
    pub(crate) fn device_paths(&self) -> Vec<String> {
        device_paths(self.iommu_group.as_deref(), &self.cdevs)
    }
}

/// The vfio device character devices (`vfioN`) listed in a device's `vfio-dev/`: only
/// the entries with a `dev` attribute, i.e. those the kernel made a character device for.
/// Every kernel since 6.1 lists `vfio-dev/vfioN`, but without `CONFIG_VFIO_DEVICE_CDEV`
/// (Debian's 6.1 and 6.12) the entry has no device number and no `/dev/vfio/devices/vfioN`
/// ever exists: expecting that node would make every device look broken.
pub(crate) fn vfio_cdevs(dir: &AttrDir) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for n in dir.list("vfio-dev")? {
        if dir.read_opt(&format!("vfio-dev/{n}/dev"))?.is_some() {
            out.push(n);
        }
    }
    Ok(out)
}

/// `/dev/vfio/<group>` and `/dev/vfio/devices/<cdev>` for a device.
pub(crate) fn device_paths(group: Option<&str>, cdevs: &[String]) -> Vec<String> {
    let mut v: Vec<String> = group
        .map(|g| format!("/dev/vfio/{g}"))
        .into_iter()
        .collect();
    v.extend(cdevs.iter().map(|c| format!("/dev/vfio/devices/{c}")));
    v
}

/// What a scan reads of the mdev types: `list-types`, `env` and the mutating commands
/// read everything; `plan` lists every type but reads names, counts and descriptions only
/// where the plan looks (see docs/architecture.md, "one reader").
#[derive(Debug, Clone, Default)]
pub(crate) enum Scope {
    #[default]
    All,
    /// The IDs of all types; the `name` of every type only when some desired entry is not
    /// a type ID on this host (else only of wanted types and of types in use); counts and
    /// descriptions only of the types the desired list or an external selector names.
    /// An unread type has `partial` set, no name, no description and a count of 0.
    Plan {
        desired: Vec<String>,
        /// External selectors, normalized.
        external: Vec<String>,
    },
    /// Which parents offer which types (`--wait-for-parents`, polled): type IDs and the
    /// names needed to match `desired`, no counts or descriptions; PCI devices as for
    /// `Plan`; no scan of `/proc`.
    Offers { desired: Vec<String> },
}

impl Scope {
    /// What `plan` needs for this configuration and node.
    pub(crate) fn for_plan(
        config: &crate::config::model::Config,
        node: &crate::config::node::Node,
    ) -> Scope {
        match config.desired_for(node) {
            crate::config::selectors::Desired::Types(desired) => Scope::Plan {
                desired,
                external: config.external_mdev_selectors(),
            },
            _ => Scope::Plan {
                desired: Vec::new(),
                external: Vec::new(),
            },
        }
    }
}

impl Inventory {
    /// The mdevs on `parent`, ascending by UUID: a look-up, not a scan of every mdev (the
    /// planner asks once per VF).
    pub(crate) fn mdevs_of<'a>(&'a self, parent: &str) -> impl Iterator<Item = &'a Mdev> + 'a {
        let index = self.by_parent.get_or_init(|| {
            let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, x) in self.mdevs.iter().enumerate() {
                m.entry(x.parent.clone()).or_default().push(i);
            }
            m
        });
        index
            .get(parent)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.mdevs.get(i))
    }

    /// The card an mdev parent belongs to: the physical function of a VF parent, else
    /// the parent itself (a PF, or a virtual device such as `mtty`).
    pub(crate) fn card_of(&self, parent: &str) -> String {
        self.parent(parent)
            .and_then(|p| p.physfn.clone())
            .or_else(|| self.pci_device(parent).and_then(|d| d.physfn.clone()))
            .unwrap_or_else(|| parent.to_string())
    }

    /// The parent named `name` (a binary search: the scan lists parents in order).
    pub(crate) fn parent(&self, name: &str) -> Option<&Parent> {
        match self.parents.binary_search_by(|p| p.name.as_str().cmp(name)) {
            Ok(i) => Some(&self.parents[i]),
            // a hand-built inventory (tests) may not be sorted
            Err(_) => self.parents.iter().find(|p| p.name == name),
        }
    }

    pub(crate) fn pci_device(&self, address: &str) -> Option<&PciDevice> {
        self.pci
            .binary_search_by(|d| d.address.as_str().cmp(address))
            .ok()
            .map(|i| &self.pci[i])
    }

    /// The IOMMU groups of PCI devices, in numeric order (mdev groups are not listed).
    pub(crate) fn iommu_groups(&self) -> Vec<IommuGroup<'_>> {
        let mut groups: BTreeMap<(u64, String), Vec<&PciDevice>> = BTreeMap::new();
        for d in &self.pci {
            if let Some(g) = &d.iommu_group {
                let key = (g.parse().unwrap_or(u64::MAX), g.clone());
                groups.entry(key).or_default().push(d);
            }
        }
        groups
            .into_iter()
            .map(|((_, id), devices)| IommuGroup { id, devices })
            .collect()
    }

    /// The group a PCI device belongs to.
    pub(crate) fn group_of(&self, address: &str) -> Option<IommuGroup<'_>> {
        let g = self.pci_device(address)?.iommu_group.as_deref()?;
        self.iommu_groups().into_iter().find(|x| x.id == g)
    }

    /// Who holds any of these `/dev` paths open.
    pub(crate) fn holders_of(&self, paths: &[String]) -> Vec<Holder> {
        let mut v: Vec<Holder> = paths
            .iter()
            .filter_map(|p| self.holders.get(p))
            .flatten()
            .cloned()
            .collect();
        v.sort_by_key(|h| h.pid);
        v.dedup();
        v
    }
}

fn ctx(fs: &Root, p: &Path) -> String {
    format!("reading {}", fs.display(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mdev_names_are_lower_case_uuids() {
        assert!(is_mdev_uuid("00000000-0000-4000-8000-000000000001"));
        assert!(is_mdev_uuid("c0ffee00-beef-4a5b-9c8d-0123456789ab"));
        for bad in [
            "00000000-0000-4000-8000-00000000001",
            "00000000-0000-4000-8000-0000000000011",
            "00000000-0000-4000-8000-0000000000AB",
            "0000000000000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000013,romfile=evil.rom -monitor tcp:0.0.0.0:4444,server,nowait",
            "00000000-0000-4000-8000-000000000014' foo='bar",
            "00000000-0000-4000-8000-00000000001'",
            "",
            "mtty",
        ] {
            assert!(!is_mdev_uuid(bad), "{bad}");
        }
    }

    #[test]
    fn pci_names_are_the_kernels_addresses() {
        for good in [
            "0000:3b:00.0",
            "0000:ff:1f.7",
            "10000:e1:00.0",
            "ffffffff:00:00.0",
        ] {
            assert!(is_pci_function(good), "{good}");
        }
        for bad in [
            "0000:3b:00.0,x-no-mmap=on -S",
            "0000:3B:00.0",
            "000:3b:00.0",
            "100000000:3b:00.0",
            "0000:3b:20.0",
            "0000:3b:00.8",
            "0000:3b:00.00",
            "0000:3b:0.0",
            "3b:00.0",
            "0000:3b:00:0",
            "0000:00:3b:00.0",
            "0000:3b:00.",
            "",
        ] {
            assert!(!is_pci_function(bad), "{bad}");
        }
    }
}
