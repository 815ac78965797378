//! Unit tests of `iommu check`: the checks on hand-made [`HostFacts`] (Intel and AMD) and
//! their remedies for the boot loader found (GRUB, kernelstub).

use super::check::{checks, Check, CheckStatus};
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
        r.contains("in /etc/default/grub set `GRUB_CMDLINE_LINUX=\"ro intel_iommu=on iommu=pt\"`"),
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
