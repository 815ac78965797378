//! One read-only, sorted snapshot of the host: mdev parents and their types, existing
//! mdevs, PCI devices, and open `/dev/vfio` handles. Every attribute file is read once;
//! missing optional files are tolerated, an unreadable required one names its path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::host::sysfs::{self, parent_component, AttrDir, Sysfs};

/// NVIDIA's PCI vendor ID, as the inventory spells it.
pub const NVIDIA_VENDOR: &str = "10de";
/// The `comm` of NVIDIA's vGPU manager daemon.
pub const VGPU_MANAGER_COMM: &str = "nvidia-vgpu-mgr";

#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// mdev parents by name (PCI address, or a virtual device name such as `mtty`), ascending.
    pub parents: Vec<Parent>,
    /// Existing mdevs, ascending by UUID.
    pub mdevs: Vec<Mdev>,
    /// PCI devices by address, ascending.
    pub pci: Vec<PciDevice>,
    /// Processes holding `/dev/vfio/...` open, keyed by the device path they hold.
    pub holders: BTreeMap<String, Vec<Holder>>,
    /// Processes whose open files could not be inspected (not root).
    pub uninspected_processes: usize,
    /// An `nvidia-vgpu-mgr` process runs (looked for only when an NVIDIA device is on `nvidia`).
    pub vgpu_manager_running: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParentKind {
    /// A PCI physical function (or a PCI device without SR-IOV).
    Pci,
    /// An SR-IOV virtual function.
    Vf,
    /// A virtual device (the kernel's sample drivers, vfio-ap, ...).
    Virtual,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parent {
    pub name: String,
    pub kind: ParentKind,
    /// For a virtual function: its physical function's address.
    pub physfn: Option<String>,
    pub types: Vec<MdevType>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MdevType {
    /// The directory name, e.g. `nvidia-222`.
    pub id: String,
    /// The `name` file; Intel GVT-g types have none.
    pub name: Option<String>,
    pub available_instances: u32,
    pub device_api: Option<String>,
    pub description: Option<String>,
    /// The driver's published maximum (`max_instance=N` in NVIDIA's description).
    pub max_instances: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mdev {
    pub uuid: String,
    pub parent: String,
    /// `None` when the `mdev_type` link cannot be read (KubeVirt then never removes it).
    pub type_id: Option<String>,
    pub type_name: Option<String>,
    pub iommu_group: Option<String>,
    /// iommufd character devices (`vfio-dev/vfioN`).
    pub cdevs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PciDevice {
    pub address: String,
    /// Lower-case hex without `0x`, e.g. `10de`.
    pub vendor: String,
    pub device: String,
    pub subsystem_vendor: Option<String>,
    pub subsystem_device: Option<String>,
    /// e.g. `030200`.
    pub class: String,
    pub driver: Option<String>,
    pub driver_override: Option<String>,
    pub iommu_group: Option<String>,
    pub numa_node: Option<i32>,
    pub physfn: Option<String>,
    pub virtfns: Vec<String>,
    pub sriov_totalvfs: Option<u32>,
    pub sriov_numvfs: Option<u32>,
    /// `vfio-dev/vfioN` entries (iommufd cdevs).
    pub cdevs: Vec<String>,
    /// NVIDIA vendor-specific VFIO (`nvidia/` directory on a VF).
    pub nvidia: Option<NvidiaVf>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NvidiaVf {
    /// `current_vgpu_type`; 0 means none.
    pub current_vgpu_type: u32,
    /// `creatable_vgpu_types`: (ID, name) pairs, header dropped.
    pub creatable: Vec<(u32, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.command)
    }
}

impl NvidiaVf {
    /// Carries a vGPU, or can create one now.
    pub fn is_vgpu_capable(&self) -> bool {
        self.current_vgpu_type != 0 || !self.creatable.is_empty()
    }

    /// Whether type `id` is listed in `creatable_vgpu_types`.
    pub fn can_create(&self, id: u32) -> bool {
        self.creatable.iter().any(|(i, _)| *i == id)
    }
}

impl PciDevice {
    pub fn vendor_device(&self) -> String {
        format!("{}:{}", self.vendor, self.device)
    }

    pub fn is_bridge(&self) -> bool {
        self.class.starts_with("0604")
    }
}

/// Drivers that leave a device free for passthrough (an unbound endpoint is free too).
pub const PASSTHROUGH_DRIVERS: [&str; 2] = ["vfio-pci", "pci-stub"];

impl PciDevice {
    /// Free for a VM: bound to vfio-pci or pci-stub, unbound, or an NVIDIA vendor-VFIO VF
    /// (its `nvidia` driver registers it with VFIO itself).
    pub fn is_passthrough_ready(&self) -> bool {
        match self.driver.as_deref() {
            None => true,
            Some(d) => PASSTHROUGH_DRIVERS.contains(&d) || self.nvidia.is_some(),
        }
    }

    /// Display and 3D controllers (classes 0300 and 0302).
    pub fn is_gpu(&self) -> bool {
        self.class.starts_with("0300") || self.class.starts_with("0302")
    }
}

/// One IOMMU group and its PCI devices (ascending by address).
#[derive(Debug, Clone)]
pub struct IommuGroup<'a> {
    pub id: String,
    pub devices: Vec<&'a PciDevice>,
}

impl IommuGroup<'_> {
    /// Endpoints still on a host driver: they make the group unusable for passthrough
    /// (bridges are ignored: they need no driver and vfio tolerates pcieport).
    pub fn blockers(&self) -> Vec<&PciDevice> {
        self.devices
            .iter()
            .copied()
            .filter(|d| !d.is_bridge() && !d.is_passthrough_ready())
            .collect()
    }

    pub fn viable(&self) -> bool {
        self.blockers().is_empty()
    }

    /// The endpoints (non-bridges) of the group.
    pub fn endpoints(&self) -> Vec<&PciDevice> {
        self.devices
            .iter()
            .copied()
            .filter(|d| !d.is_bridge())
            .collect()
    }
}

impl Mdev {
    /// The `/dev` paths through which a process can hold this mdev.
    pub fn device_paths(&self) -> Vec<String> {
        device_paths(self.iommu_group.as_deref(), &self.cdevs)
    }
}

/// `/dev/vfio/<group>` and `/dev/vfio/devices/<cdev>` for a device.
pub fn device_paths(group: Option<&str>, cdevs: &[String]) -> Vec<String> {
    let mut v: Vec<String> = group
        .map(|g| format!("/dev/vfio/{g}"))
        .into_iter()
        .collect();
    v.extend(cdevs.iter().map(|c| format!("/dev/vfio/devices/{c}")));
    v
}

impl Inventory {
    /// Read the whole snapshot.
    pub fn scan(fs: &Sysfs) -> Result<Inventory> {
        let pci = scan_pci(fs)?;
        let parents = scan_parents(fs, &pci)?;
        let mdevs = scan_mdevs(fs, &parents)?;
        let mut inv = Inventory {
            parents,
            mdevs,
            pci,
            holders: BTreeMap::new(),
            uninspected_processes: 0,
            vgpu_manager_running: false,
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
                    .filter(|d| d.driver.as_deref() == Some("vfio-pci") || d.nvidia.is_some())
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

    pub fn parent(&self, name: &str) -> Option<&Parent> {
        self.parents.iter().find(|p| p.name == name)
    }

    pub fn pci_device(&self, address: &str) -> Option<&PciDevice> {
        self.pci
            .binary_search_by(|d| d.address.as_str().cmp(address))
            .ok()
            .map(|i| &self.pci[i])
    }

    /// The IOMMU groups of PCI devices, in numeric order (mdev groups are not listed).
    pub fn iommu_groups(&self) -> Vec<IommuGroup<'_>> {
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
    pub fn group_of(&self, address: &str) -> Option<IommuGroup<'_>> {
        let g = self.pci_device(address)?.iommu_group.as_deref()?;
        self.iommu_groups().into_iter().find(|x| x.id == g)
    }

    /// Who holds any of these `/dev` paths open.
    pub fn holders_of(&self, paths: &[String]) -> Vec<Holder> {
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

fn ctx(fs: &Sysfs, p: &Path) -> String {
    format!("reading {}", fs.display(p))
}

/// `0x10de` → `10de`.
fn hex_id(s: &str) -> String {
    s.trim().trim_start_matches("0x").to_ascii_lowercase()
}

fn scan_pci(fs: &Sysfs) -> Result<Vec<PciDevice>> {
    let base = fs.path(sysfs::PCI_DEVICES);
    let mut out = Vec::new();
    for address in fs.list(&base).with_context(|| ctx(fs, &base))? {
        let dir = base.join(&address);
        let attrs = fs.dir(&dir)?;
        let req = |attr: &str| -> Result<String> { Ok(attrs.read(attr)?) };
        let opt = |attr: &str| -> Result<Option<String>> { Ok(attrs.read_opt(attr)?) };
        let link = |attr: &str| -> Result<Option<String>> {
            let p = dir.join(attr);
            fs.link_name(&p).with_context(|| ctx(fs, &p))
        };
        let num = |attr: &str| -> Result<Option<u32>> {
            Ok(opt(attr)?.and_then(|s| s.trim().parse().ok()))
        };
        let mut virtfns = Vec::new();
        let mut cdevs = Vec::new();
        let mut has_nvidia = false;
        for name in fs.list(&dir).with_context(|| ctx(fs, &dir))? {
            if name.starts_with("virtfn") {
                if let Some(vf) = link(&name)? {
                    virtfns.push(vf);
                }
            } else if name == "vfio-dev" {
                cdevs = fs.list(&dir.join("vfio-dev"))?;
            } else if name == "nvidia" {
                has_nvidia = true;
            }
        }
        virtfns.sort();
        let nvidia = if has_nvidia {
            read_nvidia(fs, &dir.join("nvidia"))?
        } else {
            None
        };
        out.push(PciDevice {
            vendor: hex_id(&req("vendor")?),
            device: hex_id(&req("device")?),
            subsystem_vendor: opt("subsystem_vendor")?.map(|s| hex_id(&s)),
            subsystem_device: opt("subsystem_device")?.map(|s| hex_id(&s)),
            class: hex_id(&req("class")?),
            driver: link("driver")?,
            driver_override: opt("driver_override")?.filter(|s| s != "(null)" && !s.is_empty()),
            iommu_group: link("iommu_group")?,
            numa_node: opt("numa_node")?.and_then(|s| s.trim().parse().ok()),
            physfn: link("physfn")?,
            virtfns,
            sriov_totalvfs: num("sriov_totalvfs")?,
            sriov_numvfs: num("sriov_numvfs")?,
            cdevs,
            nvidia,
            address,
        });
    }
    Ok(out)
}

fn read_nvidia(fs: &Sysfs, dir: &Path) -> Result<Option<NvidiaVf>> {
    let cur = dir.join("current_vgpu_type");
    let Some(current) = fs.read_opt(&cur).with_context(|| ctx(fs, &cur))? else {
        return Ok(None);
    };
    let creatable_path = dir.join("creatable_vgpu_types");
    let creatable = fs
        .read_opt(&creatable_path)
        .with_context(|| ctx(fs, &creatable_path))?
        .map(|s| parse_creatable(&s))
        .unwrap_or_default();
    Ok(Some(NvidiaVf {
        current_vgpu_type: current.trim().parse().unwrap_or(0),
        creatable,
    }))
}

/// `ID    : vGPU Name` header, then `1145  : NVIDIA L40S-1B` lines.
pub fn parse_creatable(s: &str) -> Vec<(u32, String)> {
    s.lines()
        .filter_map(|l| {
            let (id, name) = l.split_once(':')?;
            Some((id.trim().parse().ok()?, name.trim().to_string()))
        })
        .collect()
}

fn scan_parents(fs: &Sysfs, pci: &[PciDevice]) -> Result<Vec<Parent>> {
    let base = fs.path(sysfs::MDEV_BUS_CLASS);
    let names = fs.list(&base).with_context(|| ctx(fs, &base))?;
    // Reading thousands of small type attributes is bound by syscalls, not by the disk:
    // a large host (8 GPUs x 32 VFs x 25 types) is read by a few threads, in order.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if workers < 2 || names.len() < 32 {
        return names
            .iter()
            .map(|n| read_parent(fs, pci, &base, n))
            .collect();
    }
    let chunk = names.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                let base = &base;
                scope.spawn(move || {
                    part.iter()
                        .map(|n| read_parent(fs, pci, base, n))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(names.len());
        for h in handles {
            let part = h.join().map_err(|_| {
                anyhow::anyhow!("a thread reading {} panicked", fs.display(&base))
            })??;
            out.extend(part);
        }
        Ok(out)
    })
}

fn read_parent(fs: &Sysfs, pci: &[PciDevice], base: &Path, name: &str) -> Result<Parent> {
    let pci_dev = pci
        .binary_search_by(|d| d.address.as_str().cmp(name))
        .ok()
        .map(|i| &pci[i]);
    let kind = match pci_dev {
        Some(d) if d.physfn.is_some() => ParentKind::Vf,
        Some(_) => ParentKind::Pci,
        // not on the PCI bus: the sample drivers, vfio-ap, vfio-ccw, ...
        None => ParentKind::Virtual,
    };
    let types_dir = base.join(name).join("mdev_supported_types");
    let ids = fs.list(&types_dir).with_context(|| ctx(fs, &types_dir))?;
    let mut types = Vec::with_capacity(ids.len());
    if !ids.is_empty() {
        let dir = fs.dir(&types_dir)?;
        for id in ids {
            types.push(read_type(fs, &dir, id)?);
        }
    }
    Ok(Parent {
        physfn: pci_dev.and_then(|d| d.physfn.clone()),
        name: name.to_string(),
        kind,
        types,
    })
}

/// One type directory, its attributes read relative to `mdev_supported_types`.
fn read_type(fs: &Sysfs, types: &AttrDir, id: String) -> Result<MdevType> {
    let attr = |name: &str| format!("{id}/{name}");
    let raw = types.read(&attr("available_instances"))?;
    let available_instances = raw
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .with_context(|| {
            let p = types.path().join(attr("available_instances"));
            format!("{}: expected a number, found {raw:?}", fs.display(&p))
        })?;
    let opt = |name: &str| -> Result<Option<String>> { Ok(types.read_opt(&attr(name))?) };
    let description = opt("description")?;
    Ok(MdevType {
        max_instances: description.as_deref().and_then(max_instance),
        name: opt("name")?,
        device_api: opt("device_api")?,
        description,
        available_instances,
        id,
    })
}

/// NVIDIA publishes `max_instance=N` in the type description.
fn max_instance(description: &str) -> Option<u32> {
    description
        .split([',', '\n'])
        .filter_map(|kv| kv.trim().strip_prefix("max_instance="))
        .find_map(|v| v.trim().parse().ok())
}

fn scan_mdevs(fs: &Sysfs, parents: &[Parent]) -> Result<Vec<Mdev>> {
    let base = fs.path(sysfs::MDEV_DEVICES);
    let mut out = Vec::new();
    for uuid in fs.list(&base).with_context(|| ctx(fs, &base))? {
        let dir = base.join(&uuid);
        let Some(target) = fs.read_link(&dir).with_context(|| ctx(fs, &dir))? else {
            continue; // not a symlink: not an mdev (KubeVirt skips these too)
        };
        let parent = parent_component(&target).unwrap_or_default();
        let type_link = dir.join("mdev_type");
        let type_id = fs.link_name(&type_link).unwrap_or(None);
        let type_name = match (&type_id, parents.iter().find(|p| p.name == parent)) {
            (Some(id), Some(p)) => match p.types.iter().find(|t| &t.id == id) {
                Some(t) => t.name.clone(),
                None => read_name(fs, &type_link),
            },
            (Some(_), None) => read_name(fs, &type_link),
            (None, _) => None,
        };
        let group_link = dir.join("iommu_group");
        out.push(Mdev {
            iommu_group: fs
                .link_name(&group_link)
                .with_context(|| ctx(fs, &group_link))?,
            cdevs: fs.list(&dir.join("vfio-dev")).unwrap_or_default(),
            uuid,
            parent,
            type_id,
            type_name,
        });
    }
    Ok(out)
}

fn read_name(fs: &Sysfs, type_link: &Path) -> Option<String> {
    fs.read_opt(&type_link.join("name")).ok().flatten()
}

/// Whether a process whose `comm` is `comm` runs (`<root>/proc/*/comm` is world-readable).
fn process_running(fs: &Sysfs, comm: &str) -> bool {
    let proc_dir = fs.path("proc");
    fs.list(&proc_dir)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .any(|pid| {
            fs.read_opt(&proc_dir.join(pid).join("comm"))
                .ok()
                .flatten()
                .is_some_and(|c| c.trim() == comm)
        })
}

/// Who holds any of these `/dev` paths open right now (a fresh scan of `<root>/proc`),
/// for the re-check immediately before a remove or unbind.
pub fn holders_now(fs: &Sysfs, paths: &[String]) -> Result<Vec<Holder>> {
    let (holders, _) = scan_holders(fs)?;
    let inv = Inventory {
        holders,
        ..Default::default()
    };
    Ok(inv.holders_of(paths))
}

/// Scan `<root>/proc/*/fd` for open `/dev/vfio/...` handles.
fn scan_holders(fs: &Sysfs) -> Result<(BTreeMap<String, Vec<Holder>>, usize)> {
    let proc_dir = fs.path("proc");
    let mut holders: BTreeMap<String, Vec<Holder>> = BTreeMap::new();
    let mut skipped = 0;
    let pids = fs.list(&proc_dir).unwrap_or_default();
    for pid in pids.iter().filter_map(|p| p.parse::<u32>().ok()) {
        let fd_dir: PathBuf = proc_dir.join(pid.to_string()).join("fd");
        let fds = match fs.read_links(&fd_dir) {
            Ok(links) => links,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                skipped += 1;
                continue;
            }
            Err(_) => continue, // the process exited
        };
        let mut held: Vec<String> = Vec::new();
        for (_, t) in fds {
            let t = t.to_string_lossy().into_owned();
            if t.starts_with("/dev/vfio/") && !held.contains(&t) {
                held.push(t);
            }
        }
        if held.is_empty() {
            continue;
        }
        let comm_path = proc_dir.join(pid.to_string()).join("comm");
        let command = fs
            .read_opt(&comm_path)
            .ok()
            .flatten()
            .unwrap_or_else(|| "?".into());
        for t in held {
            holders.entry(t).or_default().push(Holder {
                pid,
                command: command.clone(),
            });
        }
    }
    Ok((holders, skipped))
}

/// The `/dev` nodes among `paths` (`/dev/vfio/<group>`, `/dev/vfio/devices/vfioN`) that do
/// not exist under the root: a device whose node is missing cannot be opened by a VM.
pub fn missing_dev_nodes(fs: &Sysfs, paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| !fs.exists(&fs.path(p.as_str())))
        .cloned()
        .collect()
}

/// Where distributions install the PCI ID database (Debian's `pci.ids` package uses the
/// first, Fedora's `hwdata` the second), relative to the root.
pub const PCI_IDS_PATHS: [&str; 2] = ["usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids"];

/// The PCI ID database under the root: the first of [`PCI_IDS_PATHS`] that exists, as
/// (the path the host sees, its text); `None` when there is none. Not UTF-8 bytes are
/// replaced (the file is ASCII; a few vendor names are Latin-1 in old copies).
pub fn read_pci_ids(fs: &Sysfs) -> Result<Option<(String, String)>> {
    for rel in PCI_IDS_PATHS {
        let p = fs.path(rel);
        match std::fs::read(&p) {
            Ok(bytes) => {
                return Ok(Some((
                    fs.display(&p),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", fs.display(&p))),
        }
    }
    Ok(None)
}
