//! The checks of `hostdev iommu check` (and `status`), pure functions of the
//! [`HostFacts`]: one function per check, listed in the printed order (`CHECKS`), each
//! with a stable ID and an exact remedy for the boot loader and distribution found; and
//! the kernel arguments they recommend. Reading the facts is `iommu.rs`'s.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{BootLoader, HostFacts, OsRelease, Vendor, MODULES_LOAD_FILE, VFIO_MODULES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum CheckStatus {
    Pass,
    Skip,
    Warn,
    Fail,
}

impl CheckStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "PASS",
            CheckStatus::Warn => "WARN",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skip => "SKIP",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    /// Stable ID, e.g. `iommu.kernel-enabled`.
    pub(crate) id: &'static str,
    pub(crate) status: CheckStatus,
    /// What was found.
    pub(crate) detail: String,
    /// For WARN/FAIL: what to do, exactly.
    pub(crate) remedy: Option<String>,
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
pub(crate) fn kernel_args(f: &HostFacts) -> &'static str {
    match f.iommu_vendor() {
        Vendor::Amd => "iommu=pt",
        _ => "intel_iommu=on iommu=pt",
    }
}

/// How to make kernel arguments permanent with the boot loader found under the root.
pub(crate) fn boot_loader_howto(f: &HostFacts, args: &str) -> String {
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
pub(crate) fn merge_args(current: &str, args: &str) -> String {
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
pub(crate) fn checks(f: &HostFacts) -> Vec<Check> {
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
