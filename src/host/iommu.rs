//! Host readiness for PCI passthrough (`hostdev iommu check`): [`HostFacts::read`] gathers a
//! small set of facts through [`Root`] (only under `--root`), and [`checks`] turns them
//! into PASS/WARN/FAIL/SKIP lines with stable IDs and exact remedies. The checks are pure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::names::is_pci_address;
use crate::host::root::Root;

/// Modules VFIO passthrough needs, in load order (as `sys/module` names them).
pub const VFIO_MODULES: [&str; 3] = ["vfio", "vfio_pci", "vfio_iommu_type1"];

/// Where `modules-load.d` persists the VFIO modules.
pub const MODULES_LOAD_FILE: &str = "/etc/modules-load.d/vfio.conf";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Intel,
    Amd,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootLoader {
    /// Pop!_OS: kernelstub manages the systemd-boot entries.
    Kernelstub,
    /// systemd-boot with `/etc/kernel/cmdline` (kernel-install).
    SystemdBoot,
    Grub,
    Unknown,
}

/// Everything the checks look at, read once.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// `vendor_id` of the first CPU in `proc/cpuinfo`.
    pub cpu_vendor_id: Option<String>,
    /// The CPU flags of the first CPU.
    pub cpu_flags: Vec<String>,
    pub dev_kvm: bool,
    pub acpi_dmar: bool,
    pub acpi_ivrs: bool,
    /// `sys/class/iommu` entries (`dmar0`, `ivhd0`, ...).
    pub iommu_units: Vec<String>,
    /// `ecap` of each Intel remapping unit (`dmarN/intel-iommu/ecap`), where readable.
    pub intel_ecap: BTreeMap<String, u64>,
    /// `type` of every IOMMU group that holds a PCI device, by group number.
    pub group_types: BTreeMap<String, String>,
    pub cmdline: Option<String>,
    /// Which of [`VFIO_MODULES`] are present under `sys/module`.
    pub modules: BTreeMap<String, bool>,
    /// `vfio_iommu_type1.allow_unsafe_interrupts`.
    pub allow_unsafe_interrupts: Option<bool>,
    /// `vfio.enable_unsafe_noiommu_mode`.
    pub noiommu_mode: Option<bool>,
    pub dev_vfio_vfio: bool,
    pub os: OsRelease,
    pub boot_loader: Option<BootLoader>,
    /// `GRUB_CMDLINE_LINUX` from `etc/default/grub`.
    pub grub_cmdline: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    pub id: Option<String>,
    pub id_like: Vec<String>,
    pub pretty_name: Option<String>,
}

impl OsRelease {
    pub fn parse(text: &str) -> OsRelease {
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

    pub fn is_debian_like(&self) -> bool {
        self.is_any(&["debian", "ubuntu"])
    }

    pub fn is_redhat_or_suse_like(&self) -> bool {
        self.is_any(&["rhel", "fedora", "centos", "suse", "opensuse", "sles"])
    }
}

fn flag(b: &str) -> bool {
    matches!(b.trim(), "Y" | "y" | "1")
}

impl HostFacts {
    /// Read the facts under the root. Missing files are facts too (absent), never errors.
    pub fn read(fs: &Root) -> HostFacts {
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

    pub fn cpu_vendor(&self) -> Vendor {
        match self.cpu_vendor_id.as_deref() {
            Some("GenuineIntel") => Vendor::Intel,
            Some("AuthenticAMD") | Some("HygonGenuine") => Vendor::Amd,
            _ => Vendor::Unknown,
        }
    }

    /// The IOMMU's vendor: from the ACPI table the firmware publishes, else the CPU's.
    pub fn iommu_vendor(&self) -> Vendor {
        if self.acpi_dmar || self.iommu_units.iter().any(|u| u.starts_with("dmar")) {
            Vendor::Intel
        } else if self.acpi_ivrs || self.iommu_units.iter().any(|u| u.starts_with("ivhd")) {
            Vendor::Amd
        } else {
            self.cpu_vendor()
        }
    }

    /// The value of `key=` on the kernel command line (the last one wins, as in the kernel).
    pub fn cmdline_value(&self, key: &str) -> Option<String> {
        self.cmdline.as_deref().and_then(|c| {
            c.split_whitespace()
                .rev()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
        })
    }

    pub fn iommu_enabled(&self) -> bool {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CheckStatus {
    Pass,
    Skip,
    Warn,
    Fail,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "PASS",
            CheckStatus::Warn => "WARN",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skip => "SKIP",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable ID, e.g. `iommu.kernel-enabled`.
    pub id: &'static str,
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// For WARN/FAIL: what to do, exactly.
    pub remedy: Option<String>,
}

fn check(id: &'static str, status: CheckStatus, detail: impl Into<String>) -> Check {
    Check {
        id,
        status,
        detail: detail.into(),
        remedy: None,
    }
}

impl Check {
    fn remedy(mut self, r: impl Into<String>) -> Check {
        self.remedy = Some(r.into());
        self
    }
}

/// The kernel arguments to add for this IOMMU vendor.
pub fn kernel_args(f: &HostFacts) -> &'static str {
    match f.iommu_vendor() {
        Vendor::Amd => "iommu=pt",
        _ => "intel_iommu=on iommu=pt",
    }
}

/// How to make kernel arguments permanent with the boot loader found under the root.
pub fn boot_loader_howto(f: &HostFacts, args: &str) -> String {
    match f.boot_loader.clone().unwrap_or(BootLoader::Unknown) {
        BootLoader::Kernelstub => {
            format!("kernelstub (Pop!_OS): `sudo kernelstub -a \"{args}\"`, then reboot")
        }
        BootLoader::SystemdBoot => format!(
            "systemd-boot: append `{args}` to the single line of /etc/kernel/cmdline, then \
             `sudo kernel-install add \"$(uname -r)\" \"/lib/modules/$(uname -r)/vmlinuz\"` \
             (check the entry's options with `bootctl list`), then reboot"
        ),
        BootLoader::Grub => {
            let regen = grub_regen(&f.os);
            match &f.grub_cmdline {
                Some(c) => format!(
                    "GRUB: in /etc/default/grub set `GRUB_CMDLINE_LINUX=\"{}\"`, then {regen}, then reboot",
                    merge_args(c, args)
                ),
                None => format!(
                    "GRUB: append `{args}` to GRUB_CMDLINE_LINUX in /etc/default/grub, then {regen}, then reboot"
                ),
            }
        }
        BootLoader::Unknown => format!(
            "add `{args}` to the kernel command line of your boot loader (no GRUB, systemd-boot \
             or kernelstub configuration found), then reboot"
        ),
    }
}

/// `current` with every IOMMU switch replaced by `args`.
pub fn merge_args(current: &str, args: &str) -> String {
    let keys = ["intel_iommu=", "amd_iommu=", "iommu="];
    let mut words: Vec<&str> = current
        .split_whitespace()
        .filter(|w| !keys.iter().any(|k| w.starts_with(k)))
        .collect();
    words.extend(args.split_whitespace());
    words.join(" ")
}

/// The argument on the kernel command line that switches the IOMMU off, if any.
fn off_switch(f: &HostFacts) -> Option<String> {
    ["iommu", "intel_iommu", "amd_iommu"]
        .into_iter()
        .find(|k| {
            f.cmdline_value(k)
                .is_some_and(|v| v.split(',').any(|o| o == "off"))
        })
        .map(|k| format!("{k}=off"))
}

/// How to take an argument off the kernel command line with the boot loader found.
fn remove_arg_howto(f: &HostFacts, arg: &str) -> String {
    match f.boot_loader.clone().unwrap_or(BootLoader::Unknown) {
        BootLoader::Kernelstub => format!("`sudo kernelstub -d \"{arg}\"`, then reboot"),
        BootLoader::SystemdBoot => format!(
            "remove `{arg}` from /etc/kernel/cmdline, then \
             `sudo kernel-install add \"$(uname -r)\" \"/lib/modules/$(uname -r)/vmlinuz\"`, then reboot"
        ),
        BootLoader::Grub => format!(
            "remove `{arg}` from GRUB_CMDLINE_LINUX in /etc/default/grub, then {}, then reboot",
            grub_regen(&f.os)
        ),
        BootLoader::Unknown => format!("remove `{arg}` from the kernel command line of your boot loader, then reboot"),
    }
}

fn grub_regen(os: &OsRelease) -> &'static str {
    if os.is_debian_like() {
        "`sudo update-grub`"
    } else if os.is_redhat_or_suse_like() {
        "`sudo grub2-mkconfig -o /boot/grub2/grub.cfg`"
    } else {
        "`sudo update-grub` (Debian/Ubuntu) or `sudo grub2-mkconfig -o /boot/grub2/grub.cfg` (RHEL/Fedora/SUSE)"
    }
}

fn modules_remedy(missing: &[&str]) -> String {
    format!(
        "load: `sudo modprobe -a {}`; load at every boot: `printf '%s\\n' {} | sudo tee {MODULES_LOAD_FILE}`",
        missing.join(" "),
        VFIO_MODULES.join(" "),
    )
}

/// One check of `iommu check`: its verdict on the facts, `None` when it does not apply.
type CheckFn = fn(&HostFacts) -> Option<Check>;

/// Every check, in the fixed order `iommu check` and `status` print them.
const CHECKS: &[CheckFn] = &[
    |f| Some(cpu_virtualization_check(f)),
    |f| Some(kvm_device_check(f)),
    |f| Some(acpi_table_check(f)),
    |f| Some(kernel_enabled_check(f)),
    |f| Some(cmdline_check(f, f.iommu_vendor(), kernel_args(f))),
    |f| Some(vfio_modules_check(f)),
    |f| Some(interrupt_remapping_check(f)),
    |f| Some(domain_type_check(f)),
    |f| Some(vfio_container_check(f)),
    noiommu_mode_check,
];

/// Every check, in a fixed order.
pub fn checks(f: &HostFacts) -> Vec<Check> {
    CHECKS.iter().filter_map(|c| c(f)).collect()
}

/// `cpu.virtualization`: the CPU flags name VT-x (`vmx`) or AMD-V (`svm`).
fn cpu_virtualization_check(f: &HostFacts) -> Check {
    let virt = if f.cpu_flags.iter().any(|x| x == "vmx") {
        Some("Intel VT-x (vmx)")
    } else if f.cpu_flags.iter().any(|x| x == "svm") {
        Some("AMD-V (svm)")
    } else {
        None
    };
    match (virt, f.cpu_flags.is_empty()) {
        (Some(v), _) => check("cpu.virtualization", CheckStatus::Pass, v),
        (None, true) => check(
            "cpu.virtualization",
            CheckStatus::Skip,
            "no CPU flags in /proc/cpuinfo",
        ),
        (None, false) => check(
            "cpu.virtualization",
            CheckStatus::Fail,
            "the CPU flags have neither vmx nor svm",
        )
        .remedy(match f.cpu_vendor() {
            Vendor::Amd => "enable SVM (AMD-V) in the firmware setup, then reboot",
            Vendor::Intel => {
                "enable Intel Virtualization Technology (VT-x) in the firmware setup, then reboot"
            }
            Vendor::Unknown => {
                "enable hardware virtualization (VT-x/AMD-V) in the firmware setup, then reboot"
            }
        }),
    }
}

/// `kvm.device`: `/dev/kvm` exists.
fn kvm_device_check(f: &HostFacts) -> Check {
    if f.dev_kvm {
        check("kvm.device", CheckStatus::Pass, "/dev/kvm present")
    } else {
        let module = match f.cpu_vendor() {
            Vendor::Amd => "kvm_amd",
            _ => "kvm_intel",
        };
        check(
            "kvm.device",
            CheckStatus::Warn,
            "/dev/kvm missing: VMs cannot use hardware acceleration",
        )
        .remedy(format!(
            "`sudo modprobe {module}` (needs CPU virtualization enabled in the firmware); \
                 `dmesg | grep -i kvm` tells why it does not load"
        ))
    }
}

/// `iommu.acpi-table`: the firmware announces an IOMMU (ACPI DMAR or IVRS).
fn acpi_table_check(f: &HostFacts) -> Check {
    match (f.acpi_dmar, f.acpi_ivrs) {
        (true, _) => check("iommu.acpi-table", CheckStatus::Pass, "ACPI DMAR table present (Intel VT-d)"),
        (false, true) => check("iommu.acpi-table", CheckStatus::Pass, "ACPI IVRS table present (AMD-Vi)"),
        (false, false) => check(
            "iommu.acpi-table",
            CheckStatus::Fail,
            "no ACPI DMAR or IVRS table: the firmware does not announce an IOMMU",
        )
        .remedy(match f.iommu_vendor() {
            Vendor::Amd => "enable \"IOMMU\" / \"AMD-Vi\" in the firmware setup, then reboot",
            _ => "enable \"VT-d\" (Intel Virtualization Technology for Directed I/O) in the firmware setup, then reboot",
        }),
    }
}

/// `iommu.kernel-enabled`: the kernel runs with an IOMMU (IOMMU groups with PCI devices).
fn kernel_enabled_check(f: &HostFacts) -> Check {
    let vendor = f.iommu_vendor();
    let args = kernel_args(f);
    let firmware_first = if !f.acpi_dmar && !f.acpi_ivrs {
        "first enable the IOMMU in the firmware setup (see iommu.acpi-table); then "
    } else {
        ""
    };
    if f.iommu_enabled() {
        check(
            "iommu.kernel-enabled",
            CheckStatus::Pass,
            format!(
                "{} IOMMU groups with PCI devices{}",
                f.group_types.len(),
                if f.iommu_units.is_empty() {
                    String::new()
                } else {
                    format!(" (units: {})", f.iommu_units.join(", "))
                }
            ),
        )
    } else {
        let howto = match vendor {
            Vendor::Amd => format!(
                "{firmware_first}amd_iommu is on by default: remove `amd_iommu=off`/`iommu=off` from the \
                 kernel command line if present; recommended arguments `{args}`. {}",
                boot_loader_howto(f, args)
            ),
            _ => format!("{firmware_first}{}", boot_loader_howto(f, args)),
        };
        let howto = match off_switch(f) {
            Some(off) => format!(
                "{firmware_first}replace `{off}` with `{args}`. {}",
                boot_loader_howto(f, args)
            ),
            None => howto,
        };
        check(
            "iommu.kernel-enabled",
            CheckStatus::Fail,
            "no IOMMU groups under /sys/kernel/iommu_groups: the kernel runs without an IOMMU",
        )
        .remedy(howto)
    }
}

/// `vfio.modules`: every module of [`VFIO_MODULES`] is loaded.
fn vfio_modules_check(f: &HostFacts) -> Check {
    let missing: Vec<&str> = VFIO_MODULES
        .iter()
        .copied()
        .filter(|m| !f.modules.get(*m).copied().unwrap_or(false))
        .collect();
    if missing.is_empty() {
        check(
            "vfio.modules",
            CheckStatus::Pass,
            VFIO_MODULES.join(", ") + " loaded",
        )
    } else {
        check(
            "vfio.modules",
            CheckStatus::Warn,
            format!("not loaded: {}", missing.join(", ")),
        )
        .remedy(modules_remedy(&missing))
    }
}

/// `vfio.container`: `/dev/vfio/vfio` exists.
fn vfio_container_check(f: &HostFacts) -> Check {
    let vfio_loaded = f.modules.get("vfio").copied().unwrap_or(false);
    match (f.dev_vfio_vfio, vfio_loaded) {
        (true, _) => check("vfio.container", CheckStatus::Pass, "/dev/vfio/vfio present"),
        (false, false) => check(
            "vfio.container",
            CheckStatus::Warn,
            "/dev/vfio/vfio missing: the vfio module is not loaded",
        )
        .remedy(modules_remedy(&["vfio"])),
        (false, true) => check(
            "vfio.container",
            CheckStatus::Fail,
            "/dev/vfio/vfio missing although vfio is loaded",
        )
        .remedy(
            "the kernel lacks the legacy container (CONFIG_VFIO_CONTAINER or iommufd's \
             CONFIG_IOMMUFD_VFIO_CONTAINER); use a distribution kernel, or check that devtmpfs/udev created /dev/vfio",
        ),
    }
}

/// `vfio.noiommu-mode`, only when vfio's unsafe no-IOMMU mode is on.
fn noiommu_mode_check(f: &HostFacts) -> Option<Check> {
    (f.noiommu_mode == Some(true)).then(|| {
        check(
            "vfio.noiommu-mode",
            CheckStatus::Warn,
            "vfio.enable_unsafe_noiommu_mode=Y: devices without IOMMU protection can be opened",
        )
        .remedy("remove `vfio.enable_unsafe_noiommu_mode=1` from the kernel command line and from /etc/modprobe.d, then reboot")
    })
}

fn cmdline_check(f: &HostFacts, vendor: Vendor, args: &str) -> Check {
    const ID: &str = "kernel.cmdline";
    let Some(cmdline) = f.cmdline.as_deref() else {
        return check(ID, CheckStatus::Skip, "no /proc/cmdline");
    };
    let iommu = f.cmdline_value("iommu");
    let intel = f.cmdline_value("intel_iommu");
    let amd = f.cmdline_value("amd_iommu");
    let relevant: Vec<String> = cmdline
        .split_whitespace()
        .filter(|w| {
            [
                "iommu=",
                "intel_iommu=",
                "amd_iommu=",
                "intremap=",
                "vfio",
                "vfio_iommu_type1.",
            ]
            .iter()
            .any(|p| w.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    let seen = if relevant.is_empty() {
        "no IOMMU arguments".to_string()
    } else {
        relevant.join(" ")
    };
    let pt_advice = if iommu.as_deref() == Some("pt") {
        ""
    } else {
        "; `iommu=pt` is recommended (host devices skip DMA translation, VFIO still isolates assigned devices)"
    };
    if iommu.as_deref() == Some("off") {
        return check(
            ID,
            CheckStatus::Fail,
            format!("{seen}: iommu=off disables the IOMMU"),
        )
        .remedy(format!(
            "remove `iommu=off` and add `{args}`. {}",
            boot_loader_howto(f, args)
        ));
    }
    match vendor {
        Vendor::Amd => {
            if amd.as_deref() == Some("off") {
                check(ID, CheckStatus::Fail, format!("{seen}: amd_iommu=off disables the IOMMU")).remedy(
                    format!(
                        "remove `amd_iommu=off` (amd_iommu is on by default) and add `{args}`. {}",
                        boot_loader_howto(f, args)
                    ),
                )
            } else {
                check(ID, CheckStatus::Pass, format!("{seen} (amd_iommu is on by default){pt_advice}"))
            }
        }
        _ => match intel.as_deref() {
            Some(v) if v.split(',').any(|o| o == "on") => check(ID, CheckStatus::Pass, format!("{seen}{pt_advice}")),
            Some(v) if v.split(',').any(|o| o == "off") => {
                check(ID, CheckStatus::Fail, format!("{seen}: intel_iommu=off disables VT-d")).remedy(
                    format!("replace `intel_iommu=off` with `{args}`. {}", boot_loader_howto(f, args)),
                )
            }
            _ if f.iommu_enabled() => check(
                ID,
                CheckStatus::Pass,
                format!("{seen}: VT-d is on by the kernel's default (CONFIG_INTEL_IOMMU_DEFAULT_ON){pt_advice}"),
            ),
            _ if f.acpi_dmar || vendor == Vendor::Intel => {
                check(ID, CheckStatus::Fail, format!("{seen}: intel_iommu=on is missing"))
                    .remedy(format!("add `{args}`. {}", boot_loader_howto(f, args)))
            }
            _ => check(ID, CheckStatus::Skip, format!("{seen}: neither an Intel nor an AMD IOMMU")),
        },
    }
}

/// Without interrupt remapping, vfio_iommu_type1 refuses to attach a group unless
/// `allow_unsafe_interrupts` is set (which lets a guest inject arbitrary MSIs).
fn interrupt_remapping_check(f: &HostFacts) -> Check {
    const ID: &str = "iommu.interrupt-remapping";
    let unsafe_ok = f.allow_unsafe_interrupts == Some(true);
    let unsafe_warn = || {
        check(
            ID,
            CheckStatus::Warn,
            "vfio_iommu_type1.allow_unsafe_interrupts=Y: VFIO accepts devices without interrupt isolation",
        )
        .remedy(
            "unless the platform really lacks interrupt remapping, remove `allow_unsafe_interrupts` \
             from /etc/modprobe.d/*.conf and the kernel command line, then reload vfio_iommu_type1 or reboot",
        )
    };
    if !f.iommu_enabled() {
        return if unsafe_ok {
            unsafe_warn()
        } else {
            check(
                ID,
                CheckStatus::Skip,
                "no IOMMU enabled (see iommu.kernel-enabled)",
            )
        };
    }
    if f.cmdline_value("intremap").as_deref() == Some("off") {
        return check(
            ID,
            CheckStatus::Fail,
            "intremap=off on the kernel command line disables interrupt remapping",
        )
        .remedy(remove_arg_howto(f, "intremap=off"));
    }
    if f.intel_ecap.is_empty() {
        if unsafe_ok {
            return unsafe_warn();
        }
        return check(
            ID,
            CheckStatus::Skip,
            "not readable from sysfs for this IOMMU; see `dmesg | grep -e 'DMAR-IR: Enabled IRQ remapping' -e 'AMD-Vi: Interrupt remapping enabled'`",
        );
    }
    // VT-d extended capability register, bit 3 = IR (ecap_ir_support in drivers/iommu/intel/iommu.h)
    let lacking: Vec<&str> = f
        .intel_ecap
        .iter()
        .filter(|(_, e)| (*e >> 3) & 1 == 0)
        .map(|(u, _)| u.as_str())
        .collect();
    if lacking.is_empty() {
        if unsafe_ok {
            return unsafe_warn();
        }
        let units: Vec<&str> = f.intel_ecap.keys().map(String::as_str).collect();
        return check(
            ID,
            CheckStatus::Pass,
            format!("supported by {} (VT-d ecap bit 3)", units.join(", ")),
        );
    }
    let detail = format!(
        "{} lack interrupt remapping (VT-d ecap bit 3 clear)",
        lacking.join(", ")
    );
    if unsafe_ok {
        check(ID, CheckStatus::Warn, format!("{detail}; allowed by vfio_iommu_type1.allow_unsafe_interrupts=Y"))
            .remedy("enable interrupt remapping / x2APIC in the firmware setup; until then guests can inject arbitrary interrupts")
    } else {
        check(ID, CheckStatus::Fail, format!("{detail}: vfio-pci devices cannot be attached to a VM"))
            .remedy(
                "enable interrupt remapping / x2APIC in the firmware setup and reboot; only if the platform \
                 has none: `echo 'options vfio_iommu_type1 allow_unsafe_interrupts=1' | sudo tee \
                 /etc/modprobe.d/vfio-unsafe-interrupts.conf` (guests can then inject arbitrary interrupts)",
            )
    }
}

fn domain_type_check(f: &HostFacts) -> Check {
    const ID: &str = "iommu.default-domain";
    if f.group_types.is_empty() {
        return check(
            ID,
            CheckStatus::Skip,
            "no IOMMU groups (see iommu.kernel-enabled)",
        );
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in f.group_types.values() {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(t, n)| format!("{t} ({n} groups)"))
        .collect();
    let summary = summary.join(", ");
    let odd: Vec<&str> = counts
        .keys()
        .copied()
        .filter(|t| !matches!(*t, "DMA" | "DMA-FQ" | "identity"))
        .collect();
    if !odd.is_empty() {
        return check(
            ID,
            CheckStatus::Warn,
            format!(
                "group types {summary}: {} is not a default domain VFIO expects",
                odd.join(", ")
            ),
        )
        .remedy(format!(
            "use the kernel's default domain (`iommu.passthrough=0` for DMA or `{}` for identity); \
             check /sys/kernel/iommu_groups/*/type after a reboot",
            "iommu=pt"
        ));
    }
    let note = if counts.contains_key("identity") {
        " (identity = iommu=pt: host drivers bypass translation; VFIO gives assigned devices their own domain)"
    } else {
        " (translated DMA for host drivers)"
    };
    check(ID, CheckStatus::Pass, format!("{summary}{note}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intel_ok() -> HostFacts {
        HostFacts {
            cpu_vendor_id: Some("GenuineIntel".into()),
            cpu_flags: vec!["fpu".into(), "vmx".into()],
            dev_kvm: true,
            acpi_dmar: true,
            iommu_units: vec!["dmar0".into()],
            intel_ecap: [("dmar0".to_string(), 0xf0205e_u64)].into(),
            grub_cmdline: Some("ro intel_iommu=off".into()),
            group_types: [("1".to_string(), "DMA".to_string())].into(),
            cmdline: Some("ro quiet intel_iommu=on".into()),
            modules: VFIO_MODULES.iter().map(|m| (m.to_string(), true)).collect(),
            allow_unsafe_interrupts: Some(false),
            dev_vfio_vfio: true,
            boot_loader: Some(BootLoader::Grub),
            os: OsRelease::parse("ID=ubuntu\nID_LIKE=debian\n"),
            ..Default::default()
        }
    }

    fn find<'a>(c: &'a [Check], id: &str) -> &'a Check {
        c.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn healthy_intel_passes_everything() {
        let c = checks(&intel_ok());
        assert!(c.iter().all(|c| c.status == CheckStatus::Pass), "{c:#?}");
    }

    #[test]
    fn ecap_bit_3_is_interrupt_remapping() {
        let mut f = intel_ok();
        f.intel_ecap.insert("dmar0".into(), 0xf0205e & !0x8);
        let c = checks(&f);
        let ir = find(&c, "iommu.interrupt-remapping");
        assert_eq!(ir.status, CheckStatus::Fail);
        assert!(ir.detail.starts_with("dmar0 lack"), "{}", ir.detail);
        f.allow_unsafe_interrupts = Some(true);
        assert_eq!(
            find(&checks(&f), "iommu.interrupt-remapping").status,
            CheckStatus::Warn
        );
    }

    #[test]
    fn intel_off_names_grub_and_update_grub() {
        let mut f = intel_ok();
        f.cmdline = Some("ro intel_iommu=off".into());
        f.group_types.clear();
        let c = checks(&f);
        let k = find(&c, "kernel.cmdline");
        assert_eq!(k.status, CheckStatus::Fail);
        let r = k.remedy.as_deref().unwrap();
        assert!(
            r.contains(
                "in /etc/default/grub set `GRUB_CMDLINE_LINUX=\"ro intel_iommu=on iommu=pt\"`"
            ),
            "{r}"
        );
        assert!(r.contains("`sudo update-grub`"), "{r}");
        f.os = OsRelease::parse("ID=\"rhel\"\nID_LIKE=\"fedora\"\n");
        let r = find(&checks(&f), "iommu.kernel-enabled")
            .remedy
            .clone()
            .unwrap();
        assert!(r.contains("grub2-mkconfig -o /boot/grub2/grub.cfg"), "{r}");
        assert!(r.contains("intel_iommu=on iommu=pt"), "{r}");
    }

    #[test]
    fn amd_is_on_by_default_and_kernelstub_remedy() {
        let mut f = intel_ok();
        f.cpu_vendor_id = Some("AuthenticAMD".into());
        f.cpu_flags = vec!["svm".into()];
        f.acpi_dmar = false;
        f.acpi_ivrs = true;
        f.intel_ecap.clear();
        f.iommu_units = vec!["ivhd0".into()];
        f.cmdline = Some("ro quiet".into());
        let c = checks(&f);
        assert_eq!(find(&c, "kernel.cmdline").status, CheckStatus::Pass);
        assert_eq!(
            find(&c, "iommu.interrupt-remapping").status,
            CheckStatus::Skip
        );
        f.cmdline = Some("ro amd_iommu=off".into());
        f.boot_loader = Some(BootLoader::Kernelstub);
        let k = checks(&f)
            .into_iter()
            .find(|c| c.id == "kernel.cmdline")
            .unwrap();
        assert_eq!(k.status, CheckStatus::Fail);
        assert!(k
            .remedy
            .unwrap()
            .contains("sudo kernelstub -a \"iommu=pt\""));
    }
}
