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
    let link = host.backing_path("sys/bus/pci/devices/0000:3b:00.0/driver");
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

// ---- issue 20 item 1: never unbind what carries mdevs or VFs --------------------------

/// A T4 whose mdev a qemu holds: `bind vfio` names the mdevs and the holder, exits 1 and
/// writes nothing (it used to unbind the T4, destroying its mdevs).
#[test]
fn bind_refuses_an_mdev_parent_with_mdevs() {
    let host = Host::copy("t4-undesired");
    let before = host.snapshot();
    let r = host.run(&["bind", "vfio", "--yes", "0000:3b:00.0"]);
    r.assert_stderr(
        1,
        "refusing to bind 0000:3b:00.0 to vfio-pci: it is the parent of 4 mdev(s)",
    );
    assert!(
        r.stderr.contains(
            "00000000-0000-4000-8000-000000000002 (GRID T4-1Q, held by pid 4242 (qemu-system-x86))"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(before, host.snapshot(), "nothing written");
    // --with-group and a selector take the same road
    let r = host.run(&["bind", "vfio", "--yes", "--with-group", "10de:1eb8"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(before, host.snapshot(), "nothing written");
}

/// The L40S PF whose vendor-VFIO VF a qemu holds: refused, naming the VF, its vGPU type and
/// the holder (it used to unbind the PF, destroying its 32 VFs).
#[test]
fn bind_refuses_a_pf_with_vfs_enabled() {
    let host = Host::copy("l40s-vfio");
    let before = host.snapshot();
    let r = host.run(&["bind", "vfio", "--yes", "0000:61:00.0"]);
    r.assert_stderr(
        1,
        "it is an SR-IOV physical function with 32 virtual function(s) enabled: 0000:61:00.4 (vGPU type 1152, held by pid 4343 (qemu-system-x86)), 0000:61:00.5 (vGPU type 1152), 30 idle",
    );
    assert!(
        r.stderr.contains("sriov-manage -d 0000:61:00.0"),
        "{}",
        r.stderr
    );
    assert_eq!(before, host.snapshot(), "nothing written");
    // idle VFs are VFs all the same
    let r = host.run(&["bind", "vfio", "--yes", "0000:41:00.0"]);
    r.assert_stderr(1, "32 virtual function(s) enabled: 32 idle");
    assert_eq!(before, host.snapshot(), "nothing written");
}

/// `bind vfio --from-config` (the boot unit's first step) on `fixtures/status`: the T4s that
/// carry mdevs are skipped with a warning, the rest is bound.
#[test]
fn bind_from_config_skips_mdev_parents_with_a_warning() {
    let host = Host::copy("status");
    let r = host.run(&["bind", "vfio", "--from-config", "--dry-run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for t4 in ["0000:5e:00.0", "0000:86:00.0"] {
        assert!(
            r.stderr.contains(&format!(
                "warning: not binding {t4} to vfio-pci: it is the parent of"
            )),
            "{}",
            r.stderr
        );
        assert!(
            !r.echoes().iter().any(|e| e.contains(t4)),
            "{t4} is not unbound: {:?}",
            r.echoes()
        );
    }
    assert!(
        r.echoes()
            .contains(&"echo 0000:3f:00.0 > /sys/bus/pci/drivers_probe".to_string()),
        "{:?}",
        r.echoes()
    );
}

/// After a reboot no mdevs exist yet: a T4 that the node's mdev configuration gives vGPUs
/// is not bound by `--from-config` although `pciHostDevices` permits its model, until
/// `hostdev.passthroughAddresses` says which T4s are for passthrough. `plan`, `status` and
/// `iommu groups` point the conflict out.
#[test]
fn bind_from_config_leaves_gpus_the_configuration_gives_vgpus() {
    let host = Host::copy("t4-3x");
    let base = "mediatedDevicesConfiguration:\n  mediatedDeviceTypes:\n  - nvidia-222\npermittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"10DE:1EB8\"\n    resourceName: nvidia.com/T4\n";
    std::fs::write(host.config(), base).unwrap();
    let r = host.on_node("node1", &["bind", "vfio", "--from-config", "--dry-run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.echoes().is_empty(), "nothing bound: {:?}", r.echoes());
    for t4 in ["0000:3b:00.0", "0000:5e:00.0", "0000:86:00.0"] {
        assert!(
            r.stderr.contains(&format!(
                "not binding {t4} to vfio-pci: {t4} (10de:1eb8) is permitted for passthrough by pciHostDevices, but the node's mediatedDevicesConfiguration gives it vGPUs (nvidia-222 offered there)"
            )),
            "{}",
            r.stderr
        );
    }
    for cmd in [&["plan"][..], &["iommu", "groups"][..]] {
        let r = host.on_node("node1", cmd);
        assert!(
            r.stderr
                .contains("is permitted for passthrough by pciHostDevices, but the node's mediatedDevicesConfiguration gives it vGPUs"),
            "{cmd:?}: {}",
            r.stderr
        );
    }
    let s = host.on_node("node1", &["status", "-o", "json"]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert!(
        s.json()["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("hostdev.passthroughAddresses")),
        "{}",
        s.stdout
    );

    // one T4 for passthrough on node1 (the others are then for vGPUs), none elsewhere
    std::fs::write(
        host.config(),
        format!(
            "{base}hostdev:\n  nodePassthroughAddresses:\n  - nodeSelector: {{kubernetes.io/hostname: node1}}\n    addresses: [\"5e:00.0\"]\n"
        ),
    )
    .unwrap();
    let r = host.on_node("node1", &["bind", "vfio", "--from-config", "--dry-run"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.echoes(),
        [
            "echo vfio-pci > /sys/bus/pci/devices/0000:5e:00.0/driver_override",
            "echo 0000:5e:00.0 > /sys/bus/pci/devices/0000:5e:00.0/driver/unbind",
            "echo 0000:5e:00.0 > /sys/bus/pci/drivers_probe",
        ]
    );
    assert!(
        r.stderr
            .contains("names other 10de:1eb8 devices for passthrough, not this one"),
        "{}",
        r.stderr
    );
    let p = host.on_node("node1", &["plan"]);
    assert!(
        !p.stderr.contains("permitted for passthrough"),
        "{}",
        p.stderr
    );
    // the planner gives the T4 kept for passthrough no vGPUs
    let p = host.on_node("node1", &["plan", "-o", "json"]).json();
    let actions = p["actions"].to_string();
    assert!(!actions.contains("0000:5e:00.0"), "{actions}");
    assert!(actions.contains("0000:3b:00.0"), "{actions}");
    // node2 has no entry: the conflict stands there
    let r = host.on_node("node2", &["bind", "vfio", "--from-config", "--dry-run"]);
    assert!(r.echoes().is_empty(), "{:?}", r.echoes());
}

/// `hostdev.passthroughAddresses` is validated like the rest: a bad address is exit 65 with
/// file, line and column.
#[test]
fn passthrough_addresses_are_validated() {
    let host = Host::copy("t4-3x");
    std::fs::write(
        host.config(),
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\nhostdev:\n  passthroughAddresses: [\"0000:3b:00.9\"]\n",
    )
    .unwrap();
    let r = host.on_node("node1", &["plan"]);
    r.assert_stderr(65, "config.yaml:4:");
    assert!(r.stderr.contains("function 9 is above 7"), "{}", r.stderr);
    std::fs::write(
        host.config(),
        "mediatedDevicesConfiguration:\n  mediatedDeviceTypes: [nvidia-222]\nhostdev:\n  passthroughAdresses: []\n",
    )
    .unwrap();
    host.on_node("node1", &["plan"])
        .assert_stderr(65, "passthroughAdresses");
}

/// Issue 21 item 2: `modprobe vfio-pci` goes through the journal like every other effect:
/// the dry run prints it where a real run makes it, `-o json` lists it among the writes,
/// and a real run records it in the audit log (`skipped` under a fake root, which has no
/// kernel to load it into).
#[test]
fn modprobe_goes_through_the_journal() {
    let host = Host::copy("host-gpu-audio");
    std::fs::remove_dir_all(host.backing_path("sys/bus/pci/drivers/vfio-pci")).unwrap();
    let r = host.run(&["bind", "vfio", "--dry-run", "0000:65:00.0", "--with-group"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let modprobe = lines.iter().position(|l| *l == "modprobe vfio-pci");
    let first_echo = lines.iter().position(|l| l.starts_with("echo "));
    assert!(
        modprobe.is_some() && modprobe < first_echo,
        "modprobe first: {}",
        r.stdout
    );
    let j = host
        .run(&[
            "bind",
            "vfio",
            "--dry-run",
            "-o",
            "json",
            "0000:65:00.0",
            "--with-group",
        ])
        .json();
    assert_eq!(j["writes"][0]["action"], "module.load");
    assert_eq!(j["writes"][0]["value"], "vfio-pci");
    let r = host.run(&["bind", "vfio", "--yes", "0000:65:00.0", "--with-group"]);
    assert!(
        r.stderr.contains("would run `modprobe vfio-pci`"),
        "{}",
        r.stderr
    );
    let audit = host.audit();
    assert_eq!(audit[0]["action"], "module.load", "{audit:?}");
    assert_eq!(audit[0]["value"], "vfio-pci");
    assert_eq!(audit[0]["result"], "skipped");
}

/// Issue 21 item 9: `hostdev tree` shows what lives under each device — the relations every
/// unbind asks — as a tree and as a document.
#[test]
fn tree_golden_per_fixture() {
    for (fixture, device, name) in [
        ("t4-undesired", None, "tree-t4-undesired"),
        ("status", None, "tree-status"),
        ("l40s-vfio", Some("61:00.0"), "tree-l40s-vfio-61"),
        ("a40-sriov", None, "tree-a40-sriov"),
    ] {
        let mut args = vec!["tree"];
        args.extend(device);
        let r = run_on(fixture, &args);
        assert_eq!(r.code, 0, "{fixture}: {}", r.stderr);
        assert_golden(&format!("{name}.txt"), &r.stdout);
        args.extend(["-o", "json"]);
        let j = run_on(fixture, &args);
        assert_eq!(j.code, 0, "{fixture}: {}", j.stderr);
        assert_golden(&format!("{name}.json"), &j.stdout);
    }
    // the held mdev and the held VF name their holder
    let j = run_on("t4-undesired", &["tree", "-o", "json"]).json();
    assert_eq!(j["devices"][0]["mdevs"][1]["holders"][0]["pid"], 4242);
    let j = run_on("l40s-vfio", &["tree", "0000:61:00.0", "-o", "json"]).json();
    assert_eq!(j["devices"][0]["vfs"][0]["vgpu_type"], 1152);
    assert_eq!(
        j["devices"][0]["vfs"][0]["holders"][0]["command"],
        "qemu-system-x86"
    );
    assert_eq!(j["devices"][0]["vfs"].as_array().map(Vec::len), Some(32));
    run_on("t4-undesired", &["tree", "0000:99:00.0"])
        .assert_stderr(66, "no PCI device 0000:99:00.0");
    assert_eq!(run_on("t4-undesired", &["tree", "nonsense"]).code, 64);
}
