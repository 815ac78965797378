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
    missing.assert_stderr(66, "no PCI device 0000:09:00.0");
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
    r.assert_stderr(
        0,
        "no non-external permittedHostDevices.pciHostDevices entries: nothing to bind",
    );
    assert_eq!(before, host.snapshot(), "nothing written");
}

/// Issue 12 item 8: `bind vfio --from-config` binds what the selectors match and warns for
/// each selector that matches nothing (it used to bind nothing and exit 66); exit 0 when
/// every matching device is bound (here: the T4, already on vfio-pci).
#[test]
fn bind_from_config_binds_what_matches_and_warns_for_the_rest() {
    let host = Host::copy("host-intel");
    std::fs::write(
        host.config(),
        "permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"10DE:1EB8\"\n    resourceName: nvidia.com/T4\n  - pciVendorSelector: \"DEAD:BEEF\"\n    resourceName: example.com/absent\n",
    )
    .unwrap();
    // the other T4 is on vfio-pci too (the fake tree does not react to a real bind)
    let link = host.path("sys/bus/pci/devices/0000:3b:00.0/driver");
    let dir = std::fs::canonicalize(link.parent().unwrap()).unwrap();
    std::fs::remove_file(dir.join("driver")).unwrap();
    std::os::unix::fs::symlink("../../../../bus/pci/drivers/vfio-pci", dir.join("driver")).unwrap();
    let r = host.run(&["bind", "vfio", "--from-config", "--yes"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("no PCI device matches pciVendorSelector dead:beef on this host; skipped"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("0000:5e:00.0"), "{}", r.stdout);
    assert!(r.stdout.contains("already-bound"), "{}", r.stdout);
    // named on the command line, a selector matching nothing is still exit 66
    let r = host.run(&["bind", "vfio", "--yes", "dead:beef"]);
    assert_eq!(r.code, 66, "{}", r.stderr);
}

/// Issue 12 item 8: a matching device that can be bound is bound (dry run: its writes are
/// shown) while another selector matches nothing.
#[test]
fn bind_from_config_dry_run_shows_the_writes_of_the_matching_devices() {
    let host = Host::copy("host-intel");
    std::fs::write(
        host.config(),
        "permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"8086:10D3\"\n    resourceName: intel.com/nic\n  - pciVendorSelector: \"DEAD:BEEF\"\n    resourceName: example.com/absent\n",
    )
    .unwrap();
    let r = host.run(&["bind", "vfio", "--from-config", "--dry-run"]);
    assert!(
        r.stdout
            .contains("echo vfio-pci > /sys/bus/pci/devices/0000:19:00.0/driver_override"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert!(r.stderr.contains("dead:beef"), "{}", r.stderr);
}

/// Issue 12 item 10: a refused `bind vfio` (no terminal, no --yes) creates no lock file and
/// no audit log.
#[test]
fn bind_refusal_creates_no_lock_or_audit_file() {
    let host = Host::copy("host-intel");
    let r = host.cmd().args(["bind", "vfio", "0000:19:00.0"]).run();
    r.assert_stderr(1, "stdin is not a terminal");
    assert!(!host.path("run/hostdev/lock").exists());
    assert!(!host.path("var/log/hostdev/audit.jsonl").exists());
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
