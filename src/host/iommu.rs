//! Host readiness for PCI passthrough (`hostdev iommu check`): [`HostFacts::read`] gathers a
//! small set of facts through [`Root`] (only under `--root`), and [`check::checks`] turns
//! them into PASS/WARN/FAIL/SKIP lines with stable IDs and exact remedies. This file holds
//! the facts and their reading; the checks, which are pure, are in [`check`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::names::is_pci_address;
use crate::host::root::Root;

pub(crate) mod check;

/// Modules VFIO passthrough needs, in load order (as `sys/module` names them).
pub(crate) const VFIO_MODULES: [&str; 3] = ["vfio", "vfio_pci", "vfio_iommu_type1"];

/// Where `modules-load.d` persists the VFIO modules.
pub(crate) const MODULES_LOAD_FILE: &str = "/etc/modules-load.d/vfio.conf";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Vendor {
    Intel,
    Amd,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum BootLoader {
    /// Pop!_OS: kernelstub manages the systemd-boot entries.
    Kernelstub,
    /// systemd-boot with `/etc/kernel/cmdline` (kernel-install).
    SystemdBoot,
    Grub,
    Unknown,
}

/// Everything the checks look at, read once.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostFacts {
    /// `vendor_id` of the first CPU in `proc/cpuinfo`.
    pub(crate) cpu_vendor_id: Option<String>,
    /// The CPU flags of the first CPU.
    pub(crate) cpu_flags: Vec<String>,
    pub(crate) dev_kvm: bool,
    pub(crate) acpi_dmar: bool,
    pub(crate) acpi_ivrs: bool,
    /// `sys/class/iommu` entries (`dmar0`, `ivhd0`, ...).
    pub(crate) iommu_units: Vec<String>,
    /// `ecap` of each Intel remapping unit (`dmarN/intel-iommu/ecap`), where readable.
    pub(crate) intel_ecap: BTreeMap<String, u64>,
    /// `type` of every IOMMU group that holds a PCI device, by group number.
    pub(crate) group_types: BTreeMap<String, String>,
    pub(crate) cmdline: Option<String>,
    /// Which of [`VFIO_MODULES`] are present under `sys/module`.
    pub(crate) modules: BTreeMap<String, bool>,
    /// `vfio_iommu_type1.allow_unsafe_interrupts`.
    pub(crate) allow_unsafe_interrupts: Option<bool>,
    /// `vfio.enable_unsafe_noiommu_mode`.
    pub(crate) noiommu_mode: Option<bool>,
    pub(crate) dev_vfio_vfio: bool,
    pub(crate) os: OsRelease,
    pub(crate) boot_loader: Option<BootLoader>,
    /// `GRUB_CMDLINE_LINUX` from `etc/default/grub`.
    pub(crate) grub_cmdline: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct OsRelease {
    pub(crate) id: Option<String>,
    pub(crate) id_like: Vec<String>,
    pub(crate) pretty_name: Option<String>,
}

impl OsRelease {
    pub(crate) fn parse(text: &str) -> OsRelease {
        let mut os = OsRelease::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches(['"', '\'']).to_string();
            match k.trim() {
                "ID" => os.id = Some(v.to_ascii_lowercase()),
                "ID_LIKE" => {
                    os.id_like = v.split_whitespace().map(str::to_ascii_lowercase).collect()
                }
                "PRETTY_NAME" => os.pretty_name = Some(v),
                _ => {}
            }
        }
        os
    }

    fn is_any(&self, ids: &[&str]) -> bool {
        self.id
            .iter()
            .chain(&self.id_like)
            .any(|i| ids.contains(&i.as_str()))
    }

    pub(crate) fn is_debian_like(&self) -> bool {
        self.is_any(&["debian", "ubuntu"])
    }

    pub(crate) fn is_redhat_or_suse_like(&self) -> bool {
        self.is_any(&["rhel", "fedora", "centos", "suse", "opensuse", "sles"])
    }
}

fn flag(b: &str) -> bool {
    matches!(b.trim(), "Y" | "y" | "1")
}

impl HostFacts {
    /// Read the facts under the root. Missing files are facts too (absent), never errors.
    pub(crate) fn read(fs: &Root) -> HostFacts {
        let read = |rel: &str| fs.read_opt(&fs.path(rel)).ok().flatten();
        let exists = |rel: &str| fs.exists(&fs.path(rel));
        let mut f = HostFacts::default();

        if let Some(cpuinfo) = read("proc/cpuinfo") {
            f.parse_cpuinfo(&cpuinfo);
        }
        f.dev_kvm = exists("dev/kvm");
        f.acpi_dmar = exists("sys/firmware/acpi/tables/DMAR");
        f.acpi_ivrs = exists("sys/firmware/acpi/tables/IVRS");
        f.read_iommu(fs);
        f.cmdline = read("proc/cmdline");
        for m in VFIO_MODULES {
            f.modules
                .insert(m.to_string(), exists(&format!("sys/module/{m}")));
        }
        f.allow_unsafe_interrupts =
            read("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts")
                .map(|s| flag(&s));
        f.noiommu_mode =
            read("sys/module/vfio/parameters/enable_unsafe_noiommu_mode").map(|s| flag(&s));
        f.dev_vfio_vfio = exists("dev/vfio/vfio");
        f.read_boot(fs);
        f
    }

    /// The CPU's vendor and flags: the first `vendor_id` and `flags` lines of `/proc/cpuinfo`.
    fn parse_cpuinfo(&mut self, cpuinfo: &str) {
        for line in cpuinfo.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k.trim() {
                "vendor_id" if self.cpu_vendor_id.is_none() => {
                    self.cpu_vendor_id = Some(v.trim().to_string())
                }
                "flags" if self.cpu_flags.is_empty() => {
                    self.cpu_flags = v.split_whitespace().map(str::to_string).collect()
                }
                _ => {}
            }
        }
    }

    /// The IOMMU units (with Intel's `ecap`) and the type of each IOMMU group that holds a
    /// PCI device.
    fn read_iommu(&mut self, fs: &Root) {
        let f = self;
        let class_iommu = fs.iommu_units();
        f.iommu_units = fs.list(&class_iommu).unwrap_or_default();
        for unit in &f.iommu_units {
            let ecap = class_iommu.join(unit).join("intel-iommu/ecap");
            if let Some(v) = fs.read_opt(&ecap).ok().flatten() {
                if let Ok(n) = u64::from_str_radix(v.trim().trim_start_matches("0x"), 16) {
                    f.intel_ecap.insert(unit.clone(), n);
                }
            }
        }
        let groups = fs.iommu_groups();
        for g in fs.list(&groups).unwrap_or_default() {
            let members = fs
                .list(&groups.join(&g).join("devices"))
                .unwrap_or_default();
            // mdev groups are emulated (name `vfio-noiommu`, type `unknown`): not the IOMMU's
            if !members.iter().any(|m| is_pci_address(m)) {
                continue;
            }
            let ty = fs
                .read_opt(&groups.join(&g).join("type"))
                .ok()
                .flatten()
                .unwrap_or_else(|| "?".into());
            f.group_types.insert(g, ty);
        }
    }

    /// The distribution (`os-release`), GRUB's kernel arguments and the boot loader.
    fn read_boot(&mut self, fs: &Root) {
        let read = |rel: &str| fs.read_opt(&fs.path(rel)).ok().flatten();
        let exists = |rel: &str| fs.exists(&fs.path(rel));
        let f = self;
        f.os = read("etc/os-release")
            .or_else(|| read("usr/lib/os-release"))
            .map(|s| OsRelease::parse(&s))
            .unwrap_or_default();
        let grub = read("etc/default/grub");
        f.grub_cmdline = grub.as_deref().and_then(grub_cmdline_linux);
        let systemd_boot = [
            "boot/loader/loader.conf",
            "boot/efi/loader/loader.conf",
            "efi/loader/loader.conf",
        ]
        .iter()
        .any(|p| exists(p));
        f.boot_loader = Some(if exists("etc/kernelstub/configuration") {
            BootLoader::Kernelstub
        } else if systemd_boot || (exists("etc/kernel/cmdline") && grub.is_none()) {
            BootLoader::SystemdBoot
        } else if grub.is_some() {
            BootLoader::Grub
        } else {
            BootLoader::Unknown
        });
    }

    pub(crate) fn cpu_vendor(&self) -> Vendor {
        match self.cpu_vendor_id.as_deref() {
            Some("GenuineIntel") => Vendor::Intel,
            Some("AuthenticAMD") | Some("HygonGenuine") => Vendor::Amd,
            _ => Vendor::Unknown,
        }
    }

    /// The IOMMU's vendor: from the ACPI table the firmware publishes, else the CPU's.
    pub(crate) fn iommu_vendor(&self) -> Vendor {
        if self.acpi_dmar || self.iommu_units.iter().any(|u| u.starts_with("dmar")) {
            Vendor::Intel
        } else if self.acpi_ivrs || self.iommu_units.iter().any(|u| u.starts_with("ivhd")) {
            Vendor::Amd
        } else {
            self.cpu_vendor()
        }
    }

    /// The value of `key=` on the kernel command line (the last one wins, as in the kernel).
    pub(crate) fn cmdline_value(&self, key: &str) -> Option<String> {
        self.cmdline.as_deref().and_then(|c| {
            c.split_whitespace()
                .rev()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
        })
    }

    pub(crate) fn iommu_enabled(&self) -> bool {
        !self.group_types.is_empty()
    }
}

/// `GRUB_CMDLINE_LINUX="..."` (not `_DEFAULT`), quotes removed.
fn grub_cmdline_linux(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("GRUB_CMDLINE_LINUX="))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
}

#[cfg(test)]
mod tests;
