//! `hostdev env`: the real binary against the fixtures, golden outputs for each format,
//! and KubeVirt's discovery and naming rules end to end.

use crate::util::{assert_golden, on_fixture, Host, Run};

fn ok(fixture: &str, args: &[&str]) -> Run {
    let r = on_fixture(fixture, args);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    r
}

#[test]
fn golden_env_mixed_every_format() {
    for (format, file) in [
        ("env", "env-mixed.env.txt"),
        ("json", "env-mixed.json"),
        ("shell", "env-mixed.shell.txt"),
        ("nul", "env-mixed.nul.txt"),
    ] {
        let r = ok("env-mixed", &["env", "--format", format]);
        assert_golden(file, &r.stdout);
    }
    let r = ok("env-mixed", &["env", "--include-external"]);
    assert_golden("env-mixed-external.env.txt", &r.stdout);
    let r = ok("env-mixed", &["env", "--include-external", "-o", "json"]);
    assert_golden("env-mixed-external.json", &r.stdout);
}

#[test]
fn kubevirt_names_and_discovery_on_env_mixed() {
    let r = ok("env-mixed", &["env"]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            // T4s on the nvidia host driver are excluded; the docs' `..._Tesla_T4` is wrong
            "PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4=0000:3b:00.0",
            // the QAT on c6xx is excluded
            "PCI_RESOURCE_INTEL_COM_QAT=0000:3d:00.0",
            "PCI_RESOURCE_INTEL_COM_I350=",
            // a GVT-g type has no name: matched by its type ID
            "MDEV_PCI_RESOURCE_INTEL_COM_U630_GVTG_V5_4=00000000-0000-4000-8000-000000000011,00000000-0000-4000-8000-000000000012",
            // `Test  Double Space` → `Test__Double_Space`; `-` kept in the name
            "MDEV_PCI_RESOURCE_EXAMPLE_COM_DOUBLE-SPACE=00000000-0000-4000-8000-000000000031",
        ]
    );
    assert!(
        r.stderr.contains("hostdev: warning: PCI_RESOURCE_INTEL_COM_I350 is empty: nothing matches \"8086:1521\" (intel.com/i350): no such PCI device on this host\n"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("GRID_T4-1Q"),
        "external entry leaked: {}",
        r.stderr
    );
}

#[test]
fn single_space_selector_does_not_match_a_double_space_name() {
    let host = Host::copy("env-mixed");
    let cfg = host.config();
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("\"Test  Double Space\"", "\"Test Double Space\""),
    )
    .unwrap();
    let r = host.run(&["env"]);
    r.assert_stdout(0, "\nMDEV_PCI_RESOURCE_EXAMPLE_COM_DOUBLE-SPACE=\n");
    assert!(r.stderr.contains("MDEV_PCI_RESOURCE_EXAMPLE_COM_DOUBLE-SPACE is empty: nothing matches \"Test Double Space\""), "{}", r.stderr);
}

#[test]
fn dash_o_json_equals_format_json_and_contradictions_exit_64() {
    let a = ok("env-mixed", &["env", "--format", "json"]);
    let b = ok("env-mixed", &["-o", "json", "env"]);
    let c = ok("env-mixed", &["env", "-o", "json", "--format", "json"]);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout, c.stdout);
    assert_eq!(a.json()["schema"], "hostdev/v1");
    let y = ok("env-mixed", &["env", "-o", "yaml"]);
    assert!(y.stdout.starts_with("schema: hostdev/v1\n"), "{}", y.stdout);
    for args in [
        &["env", "-o", "json", "--format", "shell"][..],
        &["env", "-o", "json", "--format", "env"][..],
        &["env", "-o", "yaml", "--format", "json"][..],
    ] {
        let r = on_fixture("env-mixed", args);
        assert_eq!(r.code, 64, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    let r = on_fixture("env-mixed", &["env", "--format", "xml"]);
    assert_eq!(r.code, 64);
}

#[test]
fn json_describes_each_device() {
    let r = ok("env-mixed", &["env", "--include-external", "-o", "json"]);
    let doc = r.json();
    let vars = doc["variables"].as_array().unwrap();
    let by = |n: &str| vars.iter().find(|v| v["name"] == n).unwrap().clone();
    let t4 = by("PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4");
    assert_eq!(t4["kind"], "pci");
    assert_eq!(t4["external"], false);
    assert_eq!(t4["resource_name"], "nvidia.com/TU104GL_Tesla_T4");
    assert_eq!(t4["devices"][0]["address"], "0000:3b:00.0");
    assert_eq!(t4["devices"][0]["iommu_group"], "11");
    assert_eq!(t4["devices"][0]["numa_node"], 0);
    let grid = by("MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q");
    assert_eq!(grid["kind"], "mdev");
    assert_eq!(grid["external"], true);
    assert_eq!(
        grid["devices"][1]["uuid"],
        "00000000-0000-4000-8000-000000000022"
    );
    assert_eq!(grid["devices"][1]["parent"], "0000:5e:00.0");
    assert_eq!(grid["devices"][1]["iommu_group"], "23");
    assert_eq!(
        by("MDEV_PCI_RESOURCE_EXAMPLE_COM_DOUBLE-SPACE")["devices"][0]["numa_node"],
        1
    );
    // external entries are noted on stderr only in the text formats
    assert!(
        !r.stderr.contains("externalResourceProvider"),
        "{}",
        r.stderr
    );
    let r = ok("env-mixed", &["env", "--include-external"]);
    assert!(r.stderr.contains("hostdev: note: MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q comes from an externalResourceProvider entry (nvidia.com/GRID_T4-1Q)"), "{}", r.stderr);
}

#[test]
fn shell_format_skips_non_identifiers_and_is_sourceable() {
    let r = ok(
        "env-mixed",
        &["env", "--format", "shell", "--include-external"],
    );
    assert!(!r.stdout.contains("DOUBLE-SPACE"));
    assert!(!r.stdout.contains("GRID_T4-1Q"));
    for name in [
        "MDEV_PCI_RESOURCE_EXAMPLE_COM_DOUBLE-SPACE",
        "MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q",
    ] {
        assert!(
            r.stderr.contains(&format!("hostdev: warning: {name} is not a valid shell variable name (KubeVirt keeps `-` in names): skipped")),
            "{}",
            r.stderr
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("env.sh");
    std::fs::write(&script, &r.stdout).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(". {}; printf '%s|%s' \"$PCI_RESOURCE_INTEL_COM_QAT\" \"$MDEV_PCI_RESOURCE_INTEL_COM_U630_GVTG_V5_4\"", script.display()))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0000:3d:00.0|00000000-0000-4000-8000-000000000011,00000000-0000-4000-8000-000000000012"
    );
}

#[test]
fn nul_format_is_env_dash_zero_shaped() {
    let r = ok("no-mdev", &["env", "--format", "nul"]);
    assert_eq!(
        r.stdout,
        "PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4=0000:3b:00.0\0"
    );
}

#[test]
fn no_mdev_host_other_drivers_excluded() {
    let r = ok("no-mdev", &["env"]);
    assert_eq!(
        r.stdout,
        "PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4=0000:3b:00.0\n"
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn nvidia_vendor_vfio_vfs_with_a_profile_are_permitted() {
    let r = ok("env-vendor-vfio", &["env", "-v"]);
    assert_golden("env-vendor-vfio.env.txt", &r.stdout);
    assert_eq!(
        r.stdout,
        "PCI_RESOURCE_NVIDIA_COM_AD104GL_L4=0000:c1:00.4,0000:c1:00.5\n"
    );
    assert!(r.stderr.contains("0000:c1:00.6 (10de:27b8) matches \"10de:27b8\" for nvidia.com/AD104GL_L4 but is an NVIDIA vGPU VF without a vGPU profile"), "{}", r.stderr);
    assert!(r.stderr.contains("0000:c1:00.0 (10de:27b8) matches \"10de:27b8\" for nvidia.com/AD104GL_L4 but is bound to nvidia, not vfio-pci"), "{}", r.stderr);
}

#[test]
fn undesired_t4_mdevs_by_name_selector() {
    let host = Host::copy("t4-undesired-idle");
    std::fs::write(
        host.config(),
        "permittedHostDevices:\n  mediatedDevices:\n  - mdevNameSelector: GRID_T4-1Q\n    resourceName: nvidia.com/GRID_T4-1Q\n",
    )
    .unwrap();
    let r = host.run(&["env"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "MDEV_PCI_RESOURCE_NVIDIA_COM_GRID_T4-1Q=00000000-0000-4000-8000-000000000001,00000000-0000-4000-8000-000000000002,00000000-0000-4000-8000-000000000003,00000000-0000-4000-8000-000000000004\n"
    );
}

#[test]
fn device_without_iommu_group_is_skipped_and_said_with_v() {
    let host = Host::copy("env-mixed");
    let root = &host.backing_path("");
    let link = root.join("sys/bus/pci/devices/0000:3d:00.0/iommu_group");
    std::fs::remove_file(
        std::fs::canonicalize(root.join("sys/bus/pci/devices/0000:3d:00.0"))
            .unwrap()
            .join("iommu_group"),
    )
    .unwrap();
    assert!(!link.exists());
    let r = host.run(&["env", "-v"]);
    r.assert_stdout(0, "\nPCI_RESOURCE_INTEL_COM_QAT=\n");
    assert!(r.stderr.contains("hostdev: 0000:3d:00.0 (8086:37c8) matches \"8086:37c8\" for intel.com/qat but has no iommu_group link: skipped, as KubeVirt does"), "{}", r.stderr);
    // without -v only the warning about the empty variable
    let r = host.run(&["env"]);
    assert!(!r.stderr.contains("iommu_group link"), "{}", r.stderr);
    assert!(
        r.stderr.contains("PCI_RESOURCE_INTEL_COM_QAT is empty"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_config_exits_66() {
    let r = Host::bundled("no-mdev").cmd().arg("env").run();
    assert_eq!(r.code, 66, "{}", r.stderr);
}

#[test]
fn device_nodes_list_a_cdev_only_where_its_node_exists() {
    // A kernel without iommufd (Debian's 6.12): sysfs has vfio-dev/vfioN, /dev has no
    // /dev/vfio/devices/ -- env lists the group node alone.
    let host = Host::copy("env-mixed");
    let with = host.run(&["env", "-o", "json"]);
    with.assert_stdout(0, "\"/dev/vfio/devices/vfio0\"");
    std::fs::remove_dir_all(host.path("dev/vfio/devices")).unwrap();
    let without = host.run(&["env", "-o", "json"]);
    assert_eq!(without.code, 0, "{}", without.stderr);
    assert!(
        !without.stdout.contains("/dev/vfio/devices/"),
        "{}",
        without.stdout
    );
    assert!(
        without.stdout.contains("\"/dev/vfio/11\""),
        "{}",
        without.stdout
    );
}

/// Issue 12 item 10: two resource names that KubeVirt maps to one variable (`a.b/c`,
/// `a/b.c`) are both printed, with a warning naming them (there was none).
#[test]
fn resources_with_one_variable_name_are_warned_about() {
    let cfg = "permittedHostDevices:\n  pciHostDevices:\n  - pciVendorSelector: \"8086:37c8\"\n    resourceName: intel.com/qat.x\n  - pciVendorSelector: \"8086:1521\"\n    resourceName: intel.com.qat/x\n";
    let r = Host::bundled("env-mixed")
        .cmd()
        .args(["-f", "-", "env"])
        .stdin(cfg)
        .run();
    r.assert_stderr(0, "warning: PCI_RESOURCE_INTEL_COM_QAT_X is the variable of resources \"intel.com/qat.x\" and \"intel.com.qat/x\"");
}
