//! One read-only, sorted snapshot of the host: mdev parents and their types, existing
//! mdevs, PCI devices, and open `/dev/vfio` handles. Every attribute file is read once;
//! missing optional files are tolerated, an unreadable required one names its path.
//! Only kernel-shaped names are devices: an mdev is named by its UUID, a PCI function by
//! its address; any other entry of the buses is skipped with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::model::normalize;
use crate::host::root::dir::AttrDir;
use crate::host::root::{parent_component, Root};

/// NVIDIA's PCI vendor ID, as the inventory spells it.
pub const NVIDIA_VENDOR: &str = "10de";
/// The `comm` of NVIDIA's vGPU manager daemon.
pub const VGPU_MANAGER_COMM: &str = "nvidia-vgpu-mgr";

/// A name the kernel gives an mdev: its UUID, hyphenated and lower-case (`%pUl`), e.g.
/// `00000000-0000-4000-8000-000000000001`. The scan takes only such entries of
/// `/sys/bus/mdev/devices`, so a UUID handed to libvirt or QEMU is never more than that.
pub fn is_mdev_uuid(s: &str) -> bool {
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
pub fn is_pci_function(s: &str) -> bool {
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
    /// The positions in `mdevs` of each parent's mdevs, built on first use (see
    /// [`Inventory::mdevs_of`]); an inventory is not changed once scanned.
    #[serde(skip)]
    pub(crate) by_parent: std::sync::OnceLock<BTreeMap<String, Vec<usize>>>,
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
    /// Only the ID (and maybe the name) was read (see [`Scope::Plan`]); with
    /// `Scope::Plan`, `device_api` is never read.
    #[serde(skip)]
    pub partial: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mdev {
    pub uuid: String,
    pub parent: String,
    /// `None` when the `mdev_type` link cannot be read (KubeVirt then never removes it).
    pub type_id: Option<String>,
    pub type_name: Option<String>,
    pub iommu_group: Option<String>,
    /// vfio device character devices (`vfio-dev/vfioN` with a `dev` number; iommufd).
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
    /// `vfio-dev/vfioN` entries with a `dev` number (iommufd cdevs).
    pub cdevs: Vec<String>,
    /// NVIDIA vendor-specific VFIO (`nvidia/` directory on a VF).
    pub nvidia: Option<NvidiaVf>,
    /// The device has an `nvidia/` directory (even one without attributes yet).
    #[serde(skip)]
    pub nvidia_dir: bool,
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

/// The kernel's VFIO driver for PCI devices: what `bind vfio` binds to.
pub const VFIO_PCI: &str = "vfio-pci";

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
pub fn device_paths(group: Option<&str>, cdevs: &[String]) -> Vec<String> {
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
pub enum Scope {
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
    pub fn for_plan(
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
    pub fn mdevs_of<'a>(&'a self, parent: &str) -> impl Iterator<Item = &'a Mdev> + 'a {
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

    /// Read the whole snapshot.
    pub fn scan(fs: &Root) -> Result<Inventory> {
        Inventory::scan_for(fs, &Scope::All)
    }

    /// Read the snapshot, the types only as far as `scope` needs.
    pub fn scan_for(fs: &Root, scope: &Scope) -> Result<Inventory> {
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

    /// The parent named `name` (a binary search: the scan lists parents in order).
    pub fn parent(&self, name: &str) -> Option<&Parent> {
        match self.parents.binary_search_by(|p| p.name.as_str().cmp(name)) {
            Ok(i) => Some(&self.parents[i]),
            // a hand-built inventory (tests) may not be sorted
            Err(_) => self.parents.iter().find(|p| p.name == name),
        }
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

fn ctx(fs: &Root, p: &Path) -> String {
    format!("reading {}", fs.display(p))
}

/// `0x10de` → `10de`.
fn hex_id(s: &str) -> String {
    s.trim().trim_start_matches("0x").to_ascii_lowercase()
}

/// The PCI devices. With a [`Scope::Plan`] only what the planner uses is read (IDs, class,
/// driver, group, SR-IOV links and counts, cdevs, the NVIDIA vendor-VFIO directory); the
/// subsystem IDs, NUMA node and `driver_override` are left `None`.
fn scan_pci(fs: &Root, scope: &Scope) -> Result<Vec<PciDevice>> {
    let all = matches!(scope, Scope::All);
    let base = fs.pci_devices();
    let mut out = Vec::new();
    for address in fs.list_dirs(&base).with_context(|| ctx(fs, &base))? {
        let dir = base.join(&address);
        if !is_pci_function(&address) {
            log::warn!(
                "skipping {}: not a PCI address (the kernel names PCI functions dddd:bb:dd.f)",
                fs.display(&dir)
            );
            continue;
        }
        // one descriptor of the device directory: its listing, attributes and links
        let attrs = match fs.dir(&dir) {
            Ok(a) => a,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {
                log::warn!("skipping {}: not a directory", fs.display(&dir));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let req = |attr: &str| -> Result<String> { Ok(attrs.read(attr)?) };
        let opt = |attr: &str| -> Result<Option<String>> { Ok(attrs.read_opt(attr)?) };
        let link = |attr: &str| -> Result<Option<String>> {
            attrs
                .link_name(attr)
                .with_context(|| ctx(fs, &dir.join(attr)))
        };
        // an attribute only the full scan reads
        let full = |attr: &str| -> Result<Option<String>> {
            if all {
                opt(attr)
            } else {
                Ok(None)
            }
        };
        let num = |attr: &str| -> Result<Option<u32>> {
            Ok(opt(attr)?.and_then(|s| s.trim().parse().ok()))
        };
        let physfn = link("physfn")?;
        // a virtual function has no SR-IOV capability of its own: no sriov_* files
        let is_vf = physfn.is_some();
        let sriov = |attr: &str| -> Result<Option<u32>> {
            if is_vf {
                Ok(None)
            } else {
                num(attr)
            }
        };
        let mut virtfns = Vec::new();
        let mut cdevs = Vec::new();
        let mut has_nvidia = false;
        for (name, _) in attrs.entries().with_context(|| ctx(fs, &dir))? {
            if name.starts_with("virtfn") {
                if let Some(vf) = link(&name)? {
                    virtfns.push(vf);
                }
            } else if name == "vfio-dev" {
                cdevs = vfio_cdevs(&attrs)?;
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
            subsystem_vendor: full("subsystem_vendor")?.map(|s| hex_id(&s)),
            subsystem_device: full("subsystem_device")?.map(|s| hex_id(&s)),
            class: hex_id(&req("class")?),
            driver: link("driver")?,
            driver_override: full("driver_override")?.filter(|s| s != "(null)" && !s.is_empty()),
            iommu_group: link("iommu_group")?,
            numa_node: full("numa_node")?.and_then(|s| s.trim().parse().ok()),
            physfn,
            virtfns,
            sriov_totalvfs: sriov("sriov_totalvfs")?,
            sriov_numvfs: sriov("sriov_numvfs")?,
            cdevs,
            nvidia,
            nvidia_dir: has_nvidia,
            address,
        });
    }
    Ok(out)
}

fn read_nvidia(fs: &Root, dir: &Path) -> Result<Option<NvidiaVf>> {
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

/// The most instances of one type a parent may report (`available_instances`, NVIDIA's
/// `max_instance`). Real parents offer a few dozen at most (an A40 32 of its 1 GB types, a
/// T4 16, GVT-g 7, the mtty sample a handful; the mdev core caps nothing, but every
/// instance needs its own framebuffer slice or VF). 4096 leaves two orders of magnitude
/// of headroom while keeping a plan's actions (one per instance) to a few MB: a larger
/// count is a malformed host, never an allocation.
pub const MAX_INSTANCES: u32 = 4096;

/// The IDs of each parent's types (pass 1 of the parent scan: listings only), with the
/// open `mdev_supported_types` directory they are read through in pass 2.
struct Listed<'a> {
    name: String,
    ids: Vec<String>,
    dir: Option<AttrDir<'a>>,
}

/// Which attributes of a type to read (pass 2).
struct TypeReads<'a> {
    scope: &'a Scope,
    /// The desired entries, normalized (for matching names).
    desired_norm: Vec<String>,
    /// Read the `name` of every type (some desired entry names no type ID).
    all_names: bool,
    /// Type IDs of existing mdevs: their names are shown (read on every parent, so that
    /// a GPU's types read the same on each of its VFs).
    in_use: &'a BTreeSet<String>,
}

impl TypeReads<'_> {
    /// Whether the type is wanted by ID (or all types are).
    fn by_id(&self, id: &str) -> bool {
        match self.scope {
            Scope::All => true,
            Scope::Plan { desired, external } => {
                desired.iter().any(|d| d == id)
                    || (!external.is_empty() && external.contains(&normalize(id)))
            }
            Scope::Offers { desired } => desired.iter().any(|d| d == id),
        }
    }

    fn by_name(&self, name: Option<&str>) -> bool {
        let (desired, external): (&[String], &[String]) = match self.scope {
            Scope::All => return true,
            Scope::Plan { desired, external } => (desired, external),
            Scope::Offers { desired } => (desired, &[]),
        };
        let _ = desired;
        let Some(n) = name.map(normalize).filter(|n| !n.is_empty()) else {
            return false;
        };
        self.desired_norm.contains(&n) || external.contains(&n)
    }

    /// Counts and descriptions are read at all (not for [`Scope::Offers`]).
    fn details(&self) -> bool {
        !matches!(self.scope, Scope::Offers { .. })
    }
}

fn scan_parents(
    fs: &Root,
    pci: &[PciDevice],
    scope: &Scope,
    in_use: &BTreeSet<String>,
) -> Result<Vec<Parent>> {
    let base = fs.mdev_parents();
    let mut listed = Vec::new();
    for name in fs.list_dirs(&base).with_context(|| ctx(fs, &base))? {
        let types_dir = base.join(&name).join("mdev_supported_types");
        let dir = match fs.dir(&types_dir) {
            Ok(d) => Some(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {
                log::warn!(
                    "skipping {}: not an mdev parent directory",
                    fs.display(&base.join(&name))
                );
                continue;
            }
            Err(e) => return Err(anyhow::Error::new(e).context(ctx(fs, &types_dir))),
        };
        let mut ids = Vec::new();
        if let Some(d) = &dir {
            for (id, kind) in d.entries().with_context(|| ctx(fs, &types_dir))? {
                if kind.may_be_dir() {
                    ids.push(id);
                } else {
                    log::warn!(
                        "skipping {}: not a directory",
                        fs.display(&types_dir.join(&id))
                    );
                }
            }
        }
        listed.push(Listed { name, ids, dir });
    }
    let all_names = match scope {
        Scope::All => true,
        Scope::Offers { desired } => {
            let ids: BTreeSet<&str> = listed
                .iter()
                .flat_map(|l| l.ids.iter().map(String::as_str))
                .collect();
            !desired.iter().all(|d| ids.contains(d.as_str()))
        }
        Scope::Plan { desired, external } => {
            let ids: BTreeSet<&str> = listed
                .iter()
                .flat_map(|l| l.ids.iter().map(String::as_str))
                .collect();
            let norm_ids: BTreeSet<String> = ids.iter().map(|i| normalize(i)).collect();
            !desired.iter().all(|d| ids.contains(d.as_str()))
                || !external.iter().all(|e| norm_ids.contains(e))
        }
    };
    let desired_norm = match scope {
        Scope::All => Vec::new(),
        Scope::Plan { desired, .. } | Scope::Offers { desired } => {
            desired.iter().map(|d| normalize(d)).collect()
        }
    };
    let reads = TypeReads {
        scope,
        desired_norm,
        all_names,
        in_use,
    };
    // Reading thousands of small type attributes is bound by syscalls, not by the disk:
    // a large host (8 GPUs x 32 VFs x 25 types) is read by a few threads, in order.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if workers < 2 || listed.len() < 32 {
        return listed
            .iter()
            .map(|l| read_parent(fs, pci, l, &reads))
            .collect();
    }
    let chunk = listed.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = listed
            .chunks(chunk)
            .map(|part| {
                let reads = &reads;
                scope.spawn(move || {
                    part.iter()
                        .map(|l| read_parent(fs, pci, l, reads))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(listed.len());
        for h in handles {
            let part = h.join().map_err(|_| {
                anyhow::anyhow!("a thread reading {} panicked", fs.display(&base))
            })??;
            out.extend(part);
        }
        Ok(out)
    })
}

fn read_parent(fs: &Root, pci: &[PciDevice], listed: &Listed, reads: &TypeReads) -> Result<Parent> {
    let name = listed.name.as_str();
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
    let mut types = Vec::with_capacity(listed.ids.len());
    if let Some(dir) = &listed.dir {
        for id in &listed.ids {
            let in_use = reads.in_use.contains(id);
            if let Some(t) = read_type(fs, dir, id, reads, in_use)? {
                types.push(t);
            }
        }
    }
    Ok(Parent {
        physfn: pci_dev.and_then(|d| d.physfn.clone()),
        name: name.to_string(),
        kind,
        types,
    })
}

/// One type directory, its attributes read relative to `mdev_supported_types`: the name
/// when wanted, the counts and description only of a wanted type. `None` (with a warning)
/// when the entry is not a type directory.
fn read_type(
    fs: &Root,
    types: &AttrDir,
    id: &str,
    reads: &TypeReads,
    in_use: bool,
) -> Result<Option<MdevType>> {
    let attr = |name: &str| format!("{id}/{name}");
    let opt = |name: &str| -> Result<Option<String>> { Ok(types.read_opt(&attr(name))?) };
    let by_id = reads.by_id(id);
    let name = if reads.all_names || by_id || in_use {
        match types.read_opt(&attr("name")) {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {
                log::warn!(
                    "skipping {}: not a directory",
                    fs.display(&types.path().join(id))
                );
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let mut t = MdevType {
        id: id.to_string(),
        name,
        available_instances: 0,
        device_api: None,
        description: None,
        max_instances: None,
        partial: true,
    };
    if !reads.details() || !(by_id || reads.by_name(t.name.as_deref())) {
        return Ok(Some(t));
    }
    let path_of = |name: &str| fs.display(&types.path().join(attr(name)));
    let raw = match types.read_opt(&attr("available_instances")) {
        Ok(Some(raw)) => raw,
        Ok(None) if !types_dir_is_dir(types, id) => {
            log::warn!(
                "skipping {}: not a directory",
                fs.display(&types.path().join(id))
            );
            return Ok(None);
        }
        Ok(None) => {
            return Err(anyhow::anyhow!(
                "{}: No such file or directory",
                types.path().join(attr("available_instances")).display()
            ))
        }
        Err(e) => return Err(e.into()),
    };
    // As the kernel prints it (`%u\n`; the newline is gone already): digits only, no sign,
    // no spaces, no second line.
    let count = raw.as_str();
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(anyhow::anyhow!(
            "{}: expected a number (digits only, as the kernel prints it), found {:?}",
            path_of("available_instances"),
            snippet(&raw)
        ));
    }
    t.available_instances = match count.parse::<u32>() {
        Ok(n) if n <= MAX_INSTANCES => n,
        _ => {
            return Err(malformed_count(
                &path_of("available_instances"),
                &snippet(count),
            ))
        }
    };
    t.description = opt("description")?;
    t.max_instances = match t.description.as_deref().and_then(max_instance) {
        Some(n) if n > u64::from(MAX_INSTANCES) => {
            return Err(malformed_count(
                &format!("{} (max_instance)", path_of("description")),
                &n.to_string(),
            ))
        }
        n => n.map(|n| n as u32),
    };
    if t.name.is_none() && !reads.all_names {
        t.name = opt("name")?;
    }
    // shown by list-types only; the planner never looks at it
    if matches!(reads.scope, Scope::All) {
        t.device_api = opt("device_api")?;
    }
    t.partial = false;
    Ok(Some(t))
}

fn types_dir_is_dir(types: &AttrDir, id: &str) -> bool {
    !matches!(
        types.list(id),
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR)
    )
}

/// At most 64 characters of a value, for messages (attribute files are at most a page).
fn snippet(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn malformed_count(path: &str, value: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "malformed host: {path} reports {value} instances, more than the {MAX_INSTANCES} \
         hostdev accepts for one type of one parent (no real device offers that many)"
    )
}

/// NVIDIA publishes `max_instance=N` in the type description.
pub fn max_instance(description: &str) -> Option<u64> {
    description
        .split([',', '\n'])
        .filter_map(|kv| kv.trim().strip_prefix("max_instance="))
        .find_map(|v| v.trim().parse().ok())
}

/// The mdevs, their type names not yet filled in (see [`name_mdev_types`]).
fn scan_mdevs(fs: &Root) -> Result<Vec<Mdev>> {
    let base = fs.mdevs();
    let devices = match fs.dir(&base) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::Error::new(e).context(ctx(fs, &base))),
    };
    let mut out = Vec::new();
    for (uuid, _) in devices.entries().with_context(|| ctx(fs, &base))? {
        if !is_mdev_uuid(&uuid) {
            log::warn!(
                "skipping {}: not an mdev (the kernel names mdevs by their lower-case UUID)",
                fs.display(&base.join(&uuid))
            );
            continue;
        }
        let Some(target) = devices
            .read_link(&uuid)
            .with_context(|| ctx(fs, &base.join(&uuid)))?
        else {
            continue; // not a symlink: not an mdev (KubeVirt skips these too)
        };
        let parent = parent_component(&target).unwrap_or_default();
        // the link climbs out of `devices`: resolve it from the root
        let dir = match fs.dir(&base.join(&uuid)) {
            Ok(d) => d,
            Err(e) => {
                log::warn!("skipping the mdev {}: {e}", fs.display(&base.join(&uuid)));
                continue;
            }
        };
        let type_id = dir.link_name("mdev_type").unwrap_or(None);
        out.push(Mdev {
            iommu_group: dir
                .link_name("iommu_group")
                .with_context(|| ctx(fs, &base.join(&uuid).join("iommu_group")))?,
            cdevs: vfio_cdevs(&dir).unwrap_or_default(),
            uuid,
            parent,
            type_id,
            type_name: None,
        });
    }
    Ok(out)
}

/// Each mdev's type name: from its parent's types, else through its `mdev_type` link.
fn name_mdev_types(fs: &Root, mdevs: &mut [Mdev], parents: &[Parent]) {
    let base = fs.mdevs();
    for m in mdevs {
        let Some(id) = &m.type_id else { continue };
        let known = parents
            .binary_search_by(|p| p.name.as_str().cmp(&m.parent))
            .ok()
            .and_then(|i| parents[i].types.iter().find(|t| &t.id == id));
        m.type_name = match known {
            Some(t) => t.name.clone(),
            None => read_name(fs, &base.join(&m.uuid).join("mdev_type")),
        };
    }
}

fn read_name(fs: &Root, type_link: &Path) -> Option<String> {
    fs.read_opt(&type_link.join("name")).ok().flatten()
}

/// Whether a process whose `comm` is `comm` runs (`<root>/proc/*/comm` is world-readable).
fn process_running(fs: &Root, comm: &str) -> bool {
    let proc_dir = fs.proc_dir();
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
pub fn holders_now(fs: &Root, paths: &[String]) -> Result<Vec<Holder>> {
    let (holders, _) = scan_holders(fs)?;
    let inv = Inventory {
        holders,
        ..Default::default()
    };
    Ok(inv.holders_of(paths))
}

/// Scan `<root>/proc/*/fd` for open `/dev/vfio/...` handles.
fn scan_holders(fs: &Root) -> Result<(BTreeMap<String, Vec<Holder>>, usize)> {
    let proc_dir = fs.proc_dir();
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
pub fn missing_dev_nodes(fs: &Root, paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| !fs.exists(&fs.path(p.as_str())))
        .cloned()
        .collect()
}

/// Where distributions install the PCI ID database (Debian's `pci.ids` package uses the
/// first, Fedora's `hwdata` the second), relative to the root.
pub const PCI_IDS_PATHS: [&str; 2] = ["usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids"];

/// The largest PCI ID database read (today's is about 1.3 MiB).
pub const PCI_IDS_MAX: usize = 16 << 20;

/// The PCI ID database under the root: the first of [`PCI_IDS_PATHS`] that exists, as
/// (the path the host sees, its text); `None` when there is none. Not UTF-8 bytes are
/// replaced (the file is ASCII; a few vendor names are Latin-1 in old copies).
pub fn read_pci_ids(fs: &Root) -> Result<Option<(String, String)>> {
    for rel in PCI_IDS_PATHS {
        let p = fs.path(rel);
        match fs.read_own(&p, PCI_IDS_MAX) {
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
