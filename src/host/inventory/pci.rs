//! The PCI side of the inventory: every function under `sys/bus/pci/devices` (IDs, class,
//! driver, IOMMU group, SR-IOV links and counts, vfio cdevs, NVIDIA's vendor-VFIO
//! directory), the vGPU types a VF can create, and the PCI ID database under the root.
//! Not the mdev parents and types ([`super::mdev`]) nor who holds a device ([`super::holders`]).

use std::path::Path;

use anyhow::{Context, Result};

use super::{ctx, is_pci_function, vfio_cdevs, NvidiaVf, PciDevice, Scope};
use crate::host::root::dir::AttrDir;
use crate::host::root::Root;

/// `0x10de` → `10de`.
fn hex_id(s: &str) -> String {
    s.trim().trim_start_matches("0x").to_ascii_lowercase()
}

/// The PCI devices. With a [`Scope::Plan`] only what the planner uses is read (IDs, class,
/// driver, group, SR-IOV links and counts, cdevs, the NVIDIA vendor-VFIO directory); the
/// subsystem IDs, NUMA node and `driver_override` are left `None`.
pub(super) fn scan_pci(fs: &Root, scope: &Scope) -> Result<Vec<PciDevice>> {
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
        out.push(read_device(fs, &attrs, &dir, address, all)?);
    }
    Ok(out)
}

/// One PCI function `address`, read through its open directory `attrs` (at `dir`); the
/// attributes only the full scan reads when `all`.
fn read_device(
    fs: &Root,
    attrs: &AttrDir,
    dir: &Path,
    address: String,
    all: bool,
) -> Result<PciDevice> {
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
    let num =
        |attr: &str| -> Result<Option<u32>> { Ok(opt(attr)?.and_then(|s| s.trim().parse().ok())) };
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
    let listing = read_listing(fs, attrs, dir)?;
    let nvidia = if listing.has_nvidia {
        read_nvidia(fs, &dir.join("nvidia"))?
    } else {
        None
    };
    Ok(PciDevice {
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
        virtfns: listing.virtfns,
        sriov_totalvfs: sriov("sriov_totalvfs")?,
        sriov_numvfs: sriov("sriov_numvfs")?,
        cdevs: listing.cdevs,
        nvidia,
        nvidia_dir: listing.has_nvidia,
        address,
    })
}

/// What a PCI device directory's listing shows: its VFs (`virtfn*` links, sorted), its
/// vfio cdevs, and whether it has NVIDIA's vendor-VFIO `nvidia` directory.
struct Listing {
    virtfns: Vec<String>,
    cdevs: Vec<String>,
    has_nvidia: bool,
}

/// One pass over the device directory `attrs` (at `dir`): see [`Listing`].
fn read_listing(fs: &Root, attrs: &AttrDir, dir: &Path) -> Result<Listing> {
    let mut virtfns = Vec::new();
    let mut cdevs = Vec::new();
    let mut has_nvidia = false;
    for (name, _) in attrs.entries().with_context(|| ctx(fs, dir))? {
        if name.starts_with("virtfn") {
            if let Some(vf) = attrs
                .link_name(&name)
                .with_context(|| ctx(fs, &dir.join(&name)))?
            {
                virtfns.push(vf);
            }
        } else if name == "vfio-dev" {
            cdevs = vfio_cdevs(attrs)?;
        } else if name == "nvidia" {
            has_nvidia = true;
        }
    }
    virtfns.sort();
    Ok(Listing {
        virtfns,
        cdevs,
        has_nvidia,
    })
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

/// Where distributions install the PCI ID database (Debian's `pci.ids` package uses the
/// first, Fedora's `hwdata` the second), relative to the root.
pub(crate) const PCI_IDS_PATHS: [&str; 2] = ["usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids"];

/// The largest PCI ID database read (today's is about 1.3 MiB).
pub(crate) const PCI_IDS_MAX: usize = 16 << 20;

/// The PCI ID database under the root: the first of [`PCI_IDS_PATHS`] that exists, as
/// (the path the host sees, its text); `None` when there is none. Not UTF-8 bytes are
/// replaced (the file is ASCII; a few vendor names are Latin-1 in old copies).
pub(crate) fn read_pci_ids(fs: &Root) -> Result<Option<(String, String)>> {
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
