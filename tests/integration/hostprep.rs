//! `iommu check`, `iommu groups` and `bind vfio` against the host-* fixtures.

use crate::util::{assert_golden, Host, Run};

/// `hostdev --root fixtures/NAME ARGS` (no configuration).
fn run_on(name: &str, args: &[&str]) -> Run {
    Host::bundled(name).cmd().args(args).run()
}

#[test]
fn iommu_check_golden_per_host() {
    for (host, code) in [
        ("host-intel", 0),
        ("host-amd", 0),
        ("host-iommu-off", 1),
        ("host-no-dmar", 1),
        ("host-gpu-audio", 0),
    ] {
        let r = run_on(host, &["iommu", "check"]);
        assert_eq!(r.code, code, "{host}: {}{}", r.stdout, r.stderr);
        assert_golden(&format!("iommu-check-{host}.txt"), &r.stdout);
        let j = run_on(host, &["iommu", "check", "-o", "json"]);
        assert_eq!(j.code, code, "{host} json");
        assert_golden(&format!("iommu-check-{host}.json"), &j.stdout);
    }
}

#[test]
fn iommu_check_json_shape() {
    let r = run_on("host-iommu-off", &["iommu", "check", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["schema"], "hostdev/v1");
    assert_eq!(v["boot_loader"], "grub");
    let ke = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "iommu.kernel-enabled")
        .unwrap();
    assert_eq!(ke["status"], "FAIL");
    assert!(ke["remedy"]
        .as_str()
        .unwrap()
        .contains("`sudo grub2-mkconfig -o /boot/grub2/grub.cfg`"));
    assert_eq!(v["summary"]["fail"], 2);
}

#[test]
fn iommu_check_remedies_per_boot_loader() {
    let amd = run_on("host-amd", &["iommu", "check"]);
    assert!(
        amd.stdout.contains("amd_iommu is on by default"),
        "{}",
        amd.stdout
    );
    let nodmar = run_on("host-no-dmar", &["iommu", "check"]);
    assert!(nodmar
        .stdout
        .contains("append `intel_iommu=on iommu=pt` to the single line of /etc/kernel/cmdline"));
}

#[test]
fn iommu_groups_golden() {
    for (host, args, name) in [
        ("host-intel", vec![], "iommu-groups-host-intel"),
        (
            "host-gpu-audio",
            vec!["--gpu"],
            "iommu-groups-host-gpu-audio-gpu",
        ),
        ("host-shared-nic", vec![], "iommu-groups-host-shared-nic"),
    ] {
        let mut a = vec!["iommu", "groups"];
        a.extend(args.iter());
        let r = run_on(host, &a);
        assert_eq!(r.code, 0, "{host}: {}", r.stderr);
        assert_golden(&format!("{name}.txt"), &r.stdout);
        a.extend(["-o", "json"]);
        let j = run_on(host, &a);
        assert_golden(&format!("{name}.json"), &j.stdout);
    }
}

#[test]
fn iommu_groups_device_filter() {
    let r = run_on(
        "host-shared-nic",
        &["iommu", "groups", "--device", "03:01.0", "-o", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["viable"], false);
    assert_eq!(groups[0]["blockers"], serde_json::json!(["0000:03:02.0"]));
    let missing = run_on(
        "host-shared-nic",
        &["iommu", "groups", "--device", "0000:09:00.0"],
    );
    assert_eq!(missing.code, 66);
    assert!(
        missing.stderr.contains("no PCI device 0000:09:00.0"),
        "{}",
        missing.stderr
    );
    let bad = run_on(
        "host-shared-nic",
        &["iommu", "groups", "--device", "nonsense"],
    );
    assert_eq!(bad.code, 64);
}

#[test]
fn bind_from_an_mdev_only_config_has_nothing_to_do() {
    let host = Host::copy("t4-3x");
    let before = host.snapshot();
    let r = host.run(&["bind", "vfio", "--from-config", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "no non-external permittedHostDevices.pciHostDevices entries: nothing to bind"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(before, host.snapshot(), "nothing written");
}

/// Issue 12 item 10: an address past the last device (1f) or function (7) is a usage error
/// (64) naming the bad part, not a missing device (66), for `bind vfio` and `iommu groups`.
#[test]
fn out_of_range_pci_addresses_are_usage_errors() {
    for (addr, why) in [
        ("0000:65:00.8", "function 8 is above 7"),
        ("65:20.0", "device 20 is above 1f"),
    ] {
        for args in [
            &["--node-name", "n", "bind", "vfio", "--dry-run", addr][..],
            &["iommu", "groups", "--device", addr][..],
        ] {
            let r = run_on("host-shared-nic", args);
            assert_eq!(r.code, 64, "{args:?}: {}", r.stderr);
            assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        }
    }
}
