//! `hostdev status` and `hostdev devices` on fixtures/status: golden outputs for every
//! format, every health state derived from a copy (unbound, wrong driver, non-viable
//! group, missing /dev/vfio node, in use, drift), the Prometheus output checked by
//! promtool and the libvirt XML by virt-xml-validate when they are installed
//! (tests/status-tools.sh installs them and sets HOSTDEV_REQUIRE_TOOLS=1).

use std::path::Path;
use std::process::Command;

use crate::util::{assert_golden, fixture, hostdev, Host, Run};
use serde_json::Value;

const FIXTURE: &str = "status";
const T4: &str = "0000:3b:00.0";
const QAT: &str = "0000:3d:00.0";
const GVTG_1: &str = "00000000-0000-4000-8000-000000000011";
const GVTG_2: &str = "00000000-0000-4000-8000-000000000012";

fn on(root: &Path, args: &[&str]) -> Run {
    let cfg = root.join("config.yaml");
    let mut all = vec![
        "--root",
        root.to_str().unwrap(),
        "-f",
        cfg.to_str().unwrap(),
        "--node-name",
        "node1",
    ];
    all.extend_from_slice(args);
    hostdev(&all)
}

fn fixture_root() -> std::path::PathBuf {
    fixture(FIXTURE)
}

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

/// The real directory of a PCI device in a fixture tree.
fn pci_dir(root: &Path, addr: &str) -> std::path::PathBuf {
    let link = root.join("sys/bus/pci/devices").join(addr);
    let target = std::fs::read_link(&link).unwrap();
    link.parent().unwrap().join(target).canonicalize().unwrap()
}

/// The timestamp varies: replace its value.
fn mask_timestamp(s: &str) -> String {
    s.lines()
        .map(
            |l| match l.strip_prefix("hostdev_status_last_run_timestamp_seconds ") {
                Some(v) => {
                    assert!(v.parse::<f64>().unwrap() > 1.6e9, "{l}");
                    "hostdev_status_last_run_timestamp_seconds <now>".to_string()
                }
                None => l.to_string(),
            },
        )
        .map(|l| l + "\n")
        .collect()
}

fn require_tools() -> bool {
    std::env::var_os("HOSTDEV_REQUIRE_TOOLS").is_some()
}

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            !require_tools(),
            "{name} is missing and HOSTDEV_REQUIRE_TOOLS is set (tests/status-tools.sh installs it)"
        );
        eprintln!("note: {name} not installed: check skipped (bash tests/status-tools.sh runs it)");
    }
    found
}

/// `promtool check metrics` reports nothing (lint included).
fn promtool_clean(metrics: &str) {
    if !tool("promtool") {
        return;
    }
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "promtool check metrics: {text}\n{metrics}"
    );
}

// ---- status ------------------------------------------------------------------------

#[test]
fn golden_status_healthy_every_format() {
    let root = fixture_root();
    for (args, file) in [
        (&["status"][..], "status-healthy.txt"),
        (&["status", "-o", "json"][..], "status-healthy.json"),
        (&["status", "-o", "yaml"][..], "status-healthy.yaml"),
    ] {
        let r = on(&root, args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr, "", "{args:?}");
        assert_golden(file, &r.stdout);
    }
    let r = on(&root, &["status", "--format", "prometheus"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_golden("status-healthy.prom", &mask_timestamp(&r.stdout));
    promtool_clean(&r.stdout);
    // --format json is -o json
    let a = on(&root, &["status", "--format", "json"]);
    let b = on(&root, &["status", "-o", "json"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn status_contradicting_output_and_format_exits_64() {
    let r = on(
        &fixture_root(),
        &["status", "-o", "json", "--format", "prometheus"],
    );
    assert_eq!(r.code, 64, "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn wrong_driver_is_not_available_and_not_a_problem() {
    // fixtures/status: T4s 0000:5e:00.0 and 0000:86:00.0 serve vGPUs on `nvidia`.
    let r = on(&fixture_root(), &["status", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = json(&r);
    assert_eq!(doc["healthy"], true);
    let t4 = &doc["resources"][0];
    assert_eq!(t4["resource_name"], "nvidia.com/TU104GL_Tesla_T4");
    let na: Vec<(String, String)> = t4["not_available"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["address"].as_str().unwrap().to_string(),
                format!(
                    "{} {}",
                    u["driver"].as_str().unwrap(),
                    u["reason"].as_str().unwrap()
                ),
            )
        })
        .collect();
    assert_eq!(
        na,
        vec![
            ("0000:5e:00.0".into(), "nvidia other-driver".into()),
            ("0000:86:00.0".into(), "nvidia other-driver".into())
        ]
    );
}

#[test]
fn wrong_driver_on_every_device_leaves_the_resource_empty_a_problem() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    // 0000:3d:00.0 moves to c6xx, like its sibling 0000:3f:00.0 (same depth in the tree).
    let qat = pci_dir(root, QAT);
    let target = std::fs::read_link(pci_dir(root, "0000:3f:00.0").join("driver")).unwrap();
    std::fs::remove_file(qat.join("driver")).unwrap();
    std::os::unix::fs::symlink(target, qat.join("driver")).unwrap();
    let r = on(root, &["status"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(
        r.stderr,
        "hostdev: intel.com/qat hands out no device: nothing usable matches \"8086:37c8\" (`hostdev env -v` says why)\n"
    );
    assert_golden("status-wrong-driver.txt", &r.stdout);
}

#[test]
fn unbound_device_is_a_problem() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    std::fs::remove_file(pci_dir(root, T4).join("driver")).unwrap();
    std::fs::remove_file(root.join("sys/bus/pci/drivers/vfio-pci").join(T4)).unwrap();
    let r = on(root, &["status"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "hostdev: nvidia.com/TU104GL_Tesla_T4 hands out no device: nothing usable matches \"10de:1eb8\" (`hostdev env -v` says why)\n\
         hostdev: nvidia.com/TU104GL_Tesla_T4: 0000:3b:00.0 (10de:1eb8) matches but is not bound to any driver (`hostdev bind vfio 0000:3b:00.0`)\n"
    );
    assert_golden("status-unbound.txt", &r.stdout);
    let r = on(root, &["status", "--format", "prometheus"]);
    assert_golden("status-unbound.prom", &mask_timestamp(&r.stdout));
    promtool_clean(&r.stdout);
}

#[test]
fn non_viable_group_is_a_problem() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    // 0000:3f:00.0 (c6xx) joins the T4's IOMMU group 11.
    let group = std::fs::read_link(pci_dir(root, T4).join("iommu_group")).unwrap();
    let other = pci_dir(root, "0000:3f:00.0");
    std::fs::remove_file(other.join("iommu_group")).unwrap();
    std::os::unix::fs::symlink(group, other.join("iommu_group")).unwrap();
    let r = on(root, &["status", "-o", "json"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "hostdev: nvidia.com/TU104GL_Tesla_T4: 0000:3b:00.0: IOMMU group 11 is not viable: 0000:3f:00.0 (8086:37c8) is on the host driver c6xx\n"
    );
    let doc = json(&r);
    let dev = &doc["resources"][0]["devices"][0];
    assert_eq!(dev["address"], T4);
    assert_eq!(dev["healthy"], false);
    assert_golden("status-non-viable.json", &r.stdout);
}

#[test]
fn missing_dev_vfio_nodes_are_problems() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    std::fs::remove_file(root.join("dev/vfio/17")).unwrap();
    std::fs::remove_file(root.join("dev/vfio/devices/vfio1")).unwrap();
    std::fs::remove_file(root.join("dev/vfio/21")).unwrap();
    let r = on(root, &["status"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "hostdev: intel.com/qat: 0000:3d:00.0: /dev/vfio/17 is missing\n\
         hostdev: intel.com/qat: 0000:3d:00.0: /dev/vfio/devices/vfio1 is missing\n\
         hostdev: intel.com/U630_GVTg_V5_4: 00000000-0000-4000-8000-000000000012: /dev/vfio/21 is missing\n"
    );
    assert_golden("status-missing-node.txt", &r.stdout);
    let r = on(root, &["status", "--format", "prometheus"]);
    let m = mask_timestamp(&r.stdout);
    assert!(m.contains("hostdev_device_healthy{resource=\"intel.com/qat\",kind=\"pci\",device=\"0000:3d:00.0\"} 0\n"), "{m}");
    assert!(m.contains("hostdev_problems 3\n"), "{m}");
}

/// Every `vfio-dev/vfioN/dev` attribute under `dir` (what a kernel without the vfio cdev
/// lacks: Debian's 6.1 and 6.12 list `vfio-dev/vfioN` but give it no device number).
fn remove_cdev_numbers(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            if p.parent().unwrap().ends_with("vfio-dev") && p.join("dev").exists() {
                std::fs::remove_file(p.join("dev")).unwrap();
                n += 1;
            }
            n += remove_cdev_numbers(&p);
        }
    }
    n
}

#[test]
fn a_vfio_dev_entry_without_a_device_number_needs_no_cdev_node() {
    // Debian's 6.1 and 6.12 (tests/vm/cases/70-status-health.sh): sysfs lists vfio-dev/vfioN
    // without a `dev` number (the kernel made no character device) and there is no
    // /dev/vfio/devices/ -- the devices are healthy, their nodes are the group files alone.
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    assert!(remove_cdev_numbers(&root.join("sys/devices")) >= 2);
    std::fs::remove_dir_all(root.join("dev/vfio/devices")).unwrap();
    let r = on(root, &["status", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let doc = json(&r);
    assert_eq!(doc["healthy"], true);
    let t4 = &doc["resources"][0]["devices"][0];
    assert_eq!(t4["address"], T4);
    assert_eq!(t4["device_nodes"], serde_json::json!(["/dev/vfio/11"]));
    // The directory is there (other devices have cdevs) but this device's vfio-dev/vfioN
    // has no device number: no node is expected for it.
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    let qat = pci_dir(root, QAT);
    assert_eq!(remove_cdev_numbers(&qat), 1);
    std::fs::remove_file(root.join("dev/vfio/devices/vfio1")).unwrap();
    let r = on(root, &["status", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = json(&r);
    assert_eq!(doc["resources"][1]["devices"][0]["address"], QAT);
    assert_eq!(
        doc["resources"][1]["devices"][0]["device_nodes"],
        serde_json::json!(["/dev/vfio/17"])
    );
    assert!(
        r.stdout.contains("\"/dev/vfio/devices/vfio0\""),
        "{}",
        r.stdout
    );
}

#[test]
fn a_kernel_without_the_vfio_cdev_is_healthy_without_dev_vfio_devices() {
    // Debian's 6.1 and 6.12 (no iommufd): vfio-dev/vfioN in sysfs, no /dev/vfio/devices/.
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    std::fs::remove_dir_all(root.join("dev/vfio/devices")).unwrap();
    let r = on(root, &["status"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = on(root, &["status", "-o", "json"]);
    assert!(!r.stdout.contains("/dev/vfio/devices/"), "{}", r.stdout);
    assert!(r.stdout.contains("\"/dev/vfio/17\""), "{}", r.stdout);
}

/// pid `pid` (`comm`) holds `/dev/vfio/<group>` open.
fn add_holder(root: &Path, pid: u32, comm: &str, node: &str) {
    let p = root.join("proc").join(pid.to_string());
    std::fs::create_dir_all(p.join("fd")).unwrap();
    std::fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
    std::os::unix::fs::symlink(node, p.join("fd/27")).unwrap();
}

#[test]
fn in_use_is_shown_with_the_holder_and_is_not_a_problem() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    add_holder(root, 4242, "qemu-system-x86", "/dev/vfio/11");
    let r = on(root, &["status"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_golden("status-in-use.txt", &r.stdout);
    let r = on(root, &["status", "-o", "json"]);
    let dev = &json(&r)["resources"][0]["devices"][0];
    assert_eq!(dev["in_use"], true);
    assert_eq!(dev["holders"][0]["pid"], 4242);
    assert_eq!(dev["holders"][0]["command"], "qemu-system-x86");
    let r = on(root, &["status", "--format", "prometheus"]);
    assert!(r.stdout.contains(
        "hostdev_device_in_use{resource=\"nvidia.com/TU104GL_Tesla_T4\",kind=\"pci\",device=\"0000:3b:00.0\"} 1\n"
    ));
    promtool_clean(&r.stdout);
}

/// Remove mdev `uuid` of the GVT-g parent by hand, freeing one instance.
fn remove_gvtg_mdev(root: &Path, uuid: &str) {
    let parent = pci_dir(root, "0000:00:02.0");
    std::fs::remove_dir_all(parent.join(uuid)).unwrap();
    std::fs::remove_file(root.join("sys/bus/mdev/devices").join(uuid)).unwrap();
    std::fs::remove_file(root.join("sys/bus/mdev/drivers/intel_vgpu_mdev").join(uuid)).unwrap();
    std::fs::write(
        parent.join("mdev_supported_types/i915-GVTg_V5_4/available_instances"),
        "1\n",
    )
    .unwrap();
}

#[test]
fn drift_after_an_mdev_is_removed_by_hand() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    remove_gvtg_mdev(root, GVTG_2);
    let r = on(root, &["status"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "hostdev: drift on 0000:00:02.0: 1 i915-GVTg_V5_4 present, 2 wanted (`hostdev apply` converges)\n"
    );
    assert_golden("status-drift.txt", &r.stdout);
    let r = on(root, &["status", "--format", "prometheus"]);
    let m = mask_timestamp(&r.stdout);
    assert_golden("status-drift.prom", &m);
    assert!(m.contains("hostdev_plan_pending_actions 1\n"));
    assert!(m.contains("hostdev_mdevs{parent=\"0000:00:02.0\",type=\"i915-GVTg_V5_4\"} 1\n"));
    assert!(m.contains("hostdev_mdevs_wanted{parent=\"0000:00:02.0\",type=\"i915-GVTg_V5_4\"} 2\n"));
    promtool_clean(&r.stdout);
}

#[test]
fn textfile_is_written_atomically_and_stdout_stays_empty() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("hostdev.prom");
    std::fs::write(&file, "stale\n").unwrap();
    let r = on(root, &["status", "--textfile", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    let written = std::fs::read_to_string(&file).unwrap();
    let stdout = on(root, &["status", "--format", "prometheus"]).stdout;
    assert_eq!(mask_timestamp(&written), mask_timestamp(&stdout));
    let names: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "a temporary file was left behind");
    // unhealthy: the file is written all the same, the exit status says 1
    remove_gvtg_mdev(root, GVTG_2);
    let r = on(
        root,
        &[
            "status",
            "--textfile",
            file.to_str().unwrap(),
            "--format",
            "table",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.starts_with("node: node1"), "{}", r.stdout);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("hostdev_plan_pending_actions 1\n"));
    // an unwritable place is an error naming the path
    let r = on(root, &["status", "--textfile", "/nonexistent-dir/x.prom"]);
    r.assert_stderr(1, "--textfile /nonexistent-dir/x.prom: cannot write");
}

#[test]
fn status_is_read_only() {
    let dir = Host::copy(FIXTURE);
    let before = dir.snapshot();
    add_holder(dir.root(), 1, "init", "/dev/null");
    let before_holder = dir.snapshot();
    assert_ne!(before, before_holder);
    for args in [&["status"][..], &["devices", "--format", "libvirt"][..]] {
        on(dir.root(), args);
        assert_eq!(dir.snapshot(), before_holder, "{args:?} changed the tree");
    }
}

// ---- devices -----------------------------------------------------------------------

#[test]
fn golden_devices_every_format() {
    let root = fixture_root();
    for (format, file) in [
        ("table", "devices.txt"),
        ("json", "devices.json"),
        ("env", "devices.env.txt"),
        ("libvirt", "devices.libvirt.xml"),
        ("qemu", "devices.qemu.txt"),
    ] {
        let r = on(&root, &["devices", "--format", format]);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert_eq!(r.stderr, "", "{format}");
        assert_golden(file, &r.stdout);
    }
    let y = on(&root, &["devices", "-o", "yaml"]);
    assert!(y.stdout.starts_with("schema: hostdev/v1\n"), "{}", y.stdout);
    let j = on(&root, &["-o", "json", "devices"]);
    assert_eq!(j.stdout, on(&root, &["devices", "--format", "json"]).stdout);
    let r = on(&root, &["devices", "-o", "yaml", "--format", "qemu"]);
    assert_eq!(r.code, 64);
}

#[test]
fn devices_env_is_allocate_for_the_selection() {
    let root = fixture_root();
    let r = on(
        &root,
        &[
            "devices",
            "intel.com/U630_GVTg_V5_4",
            "-n",
            "1",
            "--format",
            "env",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!("MDEV_PCI_RESOURCE_INTEL_COM_U630_GVTG_V5_4={GVTG_1}\n")
    );
    // the same names and values as `hostdev env` when everything is selected
    let all = on(&root, &["devices", "--format", "env"]);
    let env = on(&root, &["env"]);
    assert_eq!(all.stdout, env.stdout);
}

#[test]
fn devices_free_excludes_held_and_unhealthy_and_n_too_many_exits_1() {
    let dir = Host::copy(FIXTURE);
    let root = &dir.backing_path("");
    add_holder(root, 4242, "qemu-system-x86", "/dev/vfio/20");
    let r = on(
        root,
        &[
            "devices",
            "intel.com/U630_GVTg_V5_4",
            "--free",
            "--format",
            "qemu",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!("-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/{GVTG_2}\n")
    );
    let r = on(
        root,
        &["devices", "intel.com/U630_GVTg_V5_4", "--free", "-n", "2"],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "hostdev: error: asked for 2 free devices, there is 1 free (intel.com/U630_GVTg_V5_4)\n"
    );
    // without --free the held one is listed, with its holder
    let r = on(root, &["devices", "intel.com/U630_GVTg_V5_4", "-o", "json"]);
    let d = &json(&r)["devices"][0];
    assert_eq!(d["uuid"], GVTG_1);
    assert_eq!(d["holders"][0]["pid"], 4242);
    // an unhealthy device is not free
    std::fs::remove_file(root.join("dev/vfio/17")).unwrap();
    let r = on(root, &["devices", "intel.com/qat", "--free"]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains(QAT), "{}", r.stdout);
    assert_eq!(r.stderr, "hostdev: warning: no free devices\n");
}

#[test]
fn devices_unknown_resource_exits_66_naming_the_resources() {
    let r = on(&fixture_root(), &["devices", "nvidia.com/nope"]);
    assert_eq!(r.code, 66);
    assert_eq!(
        r.stderr,
        "hostdev: error: no resource \"nvidia.com/nope\"; the resources are: nvidia.com/TU104GL_Tesla_T4, intel.com/qat, intel.com/U630_GVTg_V5_4, nvidia.com/GRID_T4-1Q, example.com/double-space\n"
    );
}

#[test]
fn devices_numa_node_first_then_ascending() {
    let root = fixture_root();
    // 0000:3b:00.0 is on node 0, mdev ...0031 (external, named) on node 1
    let ids = |args: &[&str]| -> Vec<String> {
        let r = on(&root, args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r)["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                d["address"]
                    .as_str()
                    .or(d["uuid"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let both = [
        "devices",
        "nvidia.com/TU104GL_Tesla_T4",
        "example.com/double-space",
        "-o",
        "json",
    ];
    assert_eq!(
        ids(&both),
        vec![
            "00000000-0000-4000-8000-000000000031".to_string(),
            T4.to_string()
        ]
    );
    let mut near = both.to_vec();
    near.extend(["--numa-node", "0"]);
    assert_eq!(
        ids(&near),
        vec![
            T4.to_string(),
            "00000000-0000-4000-8000-000000000031".to_string()
        ]
    );
    near.extend(["-n", "1"]);
    assert_eq!(ids(&near), vec![T4.to_string()]);
}

/// The `<hostdev>` elements of a successful `devices --format libvirt`, each with its
/// newline.
fn libvirt_elements(r: &Run) -> Vec<String> {
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .split_inclusive("</hostdev>\n")
        .map(str::to_string)
        .collect()
}

#[test]
fn devices_libvirt_elements_validate_in_a_minimal_domain() {
    let r = on(&fixture_root(), &["devices", "--format", "libvirt"]);
    let elements = libvirt_elements(&r);
    assert_eq!(elements.len(), 4, "{}", r.stdout);
    assert!(elements[0]
        .starts_with("<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'>"));
    assert!(elements[2].starts_with("<hostdev mode='subsystem' type='pci' managed='no'>"));
    validate_in_domain(&elements);
}

/// Each `<hostdev>` element, wrapped in a minimal domain, passes `virt-xml-validate`.
fn validate_in_domain(elements: &[String]) {
    if !tool("virt-xml-validate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, e) in elements.iter().enumerate() {
        let path = dir.path().join(format!("domain{i}.xml"));
        std::fs::write(
            &path,
            format!(
                "<domain type='kvm'>\n<name>hostdev-test</name>\n<memory unit='MiB'>128</memory>\n<os><type arch='x86_64'>hvm</type></os>\n<devices>\n{e}</devices>\n</domain>\n"
            ),
        )
        .unwrap();
        let out = Command::new("virt-xml-validate")
            .arg(&path)
            .arg("domain")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "virt-xml-validate rejects element {i}:\n{e}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---- --provider nvidia -------------------------------------------------------------

/// The pci.ids excerpt of NVIDIA's plugin's own `getDeviceName() Tests`.
const PLUGIN_TEST_PCI_IDS: &str = include_str!("../data/nvidia-plugin-test.pci.ids");

/// Debian's pci.ids, the lines that matter here.
const DEBIAN_PCI_IDS: &str = "#\tList of PCI ID's\n10de  NVIDIA Corporation\n\t1eb8  TU104GL [Tesla T4]\n\t\t10de 12a2  Tesla T4\n\t1eb9  TU104\n10df  Emulex Corporation\n";

fn with_pci_ids(dir: &Host, rel: &str, text: &str) {
    std::fs::write(dir.new_path(rel), text).unwrap();
}

/// `hostdev --root ROOT ARGS` without a configuration (hosts running NVIDIA's plugin).
fn bare(dir: &Host, args: &[&str]) -> Run {
    let mut all = vec![
        "--root",
        dir.root().to_str().unwrap(),
        "--node-name",
        "node1",
    ];
    all.extend_from_slice(args);
    hostdev(&all)
}

#[test]
fn nvidia_provider_names_from_pci_ids_every_command() {
    let dir = Host::copy(FIXTURE);
    with_pci_ids(&dir, "usr/share/misc/pci.ids", DEBIAN_PCI_IDS);
    let r = bare(&dir, &["env", "--provider", "nvidia"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // vGPU names: whitespace runs collapse (KubeVirt would give Test__Double_Space);
    // GVT-g types have no name file: NVIDIA's plugin skips them.
    assert_golden("env-nvidia.env.txt", &r.stdout);
    assert_eq!(
        r.stdout.lines().next(),
        Some("PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4=0000:3b:00.0")
    );
    let r = bare(&dir, &["status", "--provider", "nvidia"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_golden("status-nvidia.txt", &r.stdout);
    let r = bare(
        &dir,
        &["status", "--provider", "nvidia", "--format", "prometheus"],
    );
    assert_golden("status-nvidia.prom", &mask_timestamp(&r.stdout));
    promtool_clean(&r.stdout);
    let r = bare(
        &dir,
        &[
            "devices",
            "--provider",
            "nvidia",
            "nvidia.com/GRID_T4-1Q",
            "--format",
            "qemu",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-4000-8000-000000000021\n\
         -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-4000-8000-000000000022\n"
    );
    // the KubeVirt names are not NVIDIA's
    let r = bare(
        &dir,
        &[
            "devices",
            "--provider",
            "nvidia",
            "nvidia.com/TU104GL_Tesla_T4",
        ],
    );
    r.assert_stderr(66, "the resources are: nvidia.com/TU104GL_TESLA_T4, nvidia.com/GRID_T4-1Q, nvidia.com/Test_Double_Space");
}

#[test]
fn nvidia_provider_uses_the_plugins_own_test_names() {
    let dir = Host::copy(FIXTURE);
    with_pci_ids(&dir, "usr/share/misc/pci.ids", PLUGIN_TEST_PCI_IDS);
    let t4 = pci_dir(&dir.backing_path(""), T4);
    for (id, name) in [
        ("0x118a", "GK104GL_GRID_K520"),
        ("0x118d", "GK104GL_GRID_K520"),
        ("0x118e", "GK104_GL_GRID_K__520"),
        ("0x2331", "GH100_H100_PCIE"),
        ("0xabcd", "abcd"),
    ] {
        std::fs::write(t4.join("device"), format!("{id}\n")).unwrap();
        let r = bare(&dir, &["env", "--provider", "nvidia"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout.lines().next().unwrap(),
            format!("PCI_RESOURCE_NVIDIA_COM_{}={T4}", name.to_uppercase()),
            "{id}"
        );
        let r = bare(
            &dir,
            &[
                "devices",
                "--provider",
                "nvidia",
                &format!("nvidia.com/{name}"),
                "-o",
                "json",
            ],
        );
        assert_eq!(r.code, 0, "{id}: {}", r.stderr);
        assert_eq!(json(&r)["devices"][0]["address"], T4);
    }
}

/// Issue 20 item 5: 10de:118a and 10de:118d are both `GK104GL [GRID K520]` in pci.ids.
/// Two GPUs with these IDs are one resource, `nvidia.com/GK104GL_GRID_K520`, with both
/// addresses: one variable, both devices listed under the name, one metric series.
#[test]
fn nvidia_provider_device_ids_of_one_name_are_one_resource() {
    let dir = Host::copy(FIXTURE);
    with_pci_ids(&dir, "usr/share/misc/pci.ids", PLUGIN_TEST_PCI_IDS);
    let t4 = pci_dir(&dir.backing_path(""), T4);
    // a second function next to the T4 (a copy of it, in its IOMMU group)
    const SECOND: &str = "0000:3b:00.1";
    let second = t4.parent().unwrap().join(SECOND);
    crate::util::copy_tree(&t4, &second);
    std::os::unix::fs::symlink(
        format!("../../../devices/pci0000:3a/0000:3a:00.0/{SECOND}"),
        dir.backing_path(&format!("sys/bus/pci/devices/{SECOND}")),
    )
    .unwrap();
    std::fs::write(t4.join("device"), "0x118a\n").unwrap();
    std::fs::write(second.join("device"), "0x118d\n").unwrap();
    let both = format!("{T4},{SECOND}");

    let r = bare(&dir, &["env", "--provider", "nvidia"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let k520: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("PCI_RESOURCE_NVIDIA_COM_GK104GL_GRID_K520="))
        .collect();
    assert_eq!(
        k520,
        [format!("PCI_RESOURCE_NVIDIA_COM_GK104GL_GRID_K520={both}")],
        "{}",
        r.stdout
    );
    let r = bare(&dir, &["env", "--provider", "nvidia", "--format", "json"]);
    let vars = json(&r)["variables"].clone();
    let k520: Vec<&Value> = vars
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["resource_name"] == "nvidia.com/GK104GL_GRID_K520")
        .collect();
    assert_eq!(k520.len(), 1, "{vars}");
    assert_eq!(k520[0]["value"], both.as_str());
    assert_eq!(
        k520[0]["selectors"],
        serde_json::json!(["10de:118a", "10de:118d"])
    );

    let name = "nvidia.com/GK104GL_GRID_K520";
    let r = bare(
        &dir,
        &["devices", "--provider", "nvidia", name, "-o", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let addresses: Vec<Value> = json(&r)["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["address"].clone())
        .collect();
    assert_eq!(addresses, [T4, SECOND], "{}", r.stdout);
    let r = bare(
        &dir,
        &["devices", "--provider", "nvidia", name, "--format", "env"],
    );
    assert_eq!(
        r.stdout,
        format!("PCI_RESOURCE_NVIDIA_COM_GK104GL_GRID_K520={both}\n")
    );
    let r = bare(
        &dir,
        &["devices", "--provider", "nvidia", "--format", "env"],
    );
    assert_eq!(
        r.stdout
            .matches("PCI_RESOURCE_NVIDIA_COM_GK104GL_GRID_K520=")
            .count(),
        1,
        "{}",
        r.stdout
    );

    let r = bare(
        &dir,
        &["status", "--provider", "nvidia", "--format", "prometheus"],
    );
    let series: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit_once(' ').unwrap().0)
        .collect();
    let mut unique = series.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(series.len(), unique.len(), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "hostdev_resource_devices{resource=\"nvidia.com/GK104GL_GRID_K520\",kind=\"pci\"} 2\n"
        ),
        "{}",
        r.stdout
    );
    promtool_clean(&r.stdout);
}

#[test]
fn nvidia_provider_without_pci_ids_falls_back_to_the_device_id_and_says_so() {
    let dir = Host::copy(FIXTURE);
    let r = bare(&dir, &["env", "--provider", "nvidia"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().next(),
        Some("PCI_RESOURCE_NVIDIA_COM_1EB8=0000:3b:00.0")
    );
    assert!(
        r.stderr.contains("hostdev: warning: no pci.ids under "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(usr/share/misc/pci.ids, usr/share/hwdata/pci.ids): GPU resources are named after the device ID, as NVIDIA's plugin does without it (nvidia.com/1eb8)"), "{}", r.stderr);
    let r = bare(
        &dir,
        &[
            "devices",
            "--provider",
            "nvidia",
            "nvidia.com/1eb8",
            "--format",
            "env",
        ],
    );
    assert_eq!(r.stdout, format!("PCI_RESOURCE_NVIDIA_COM_1EB8={T4}\n"));
    // Fedora's hwdata place is read when Debian's is absent
    with_pci_ids(&dir, "usr/share/hwdata/pci.ids", DEBIAN_PCI_IDS);
    let r = bare(&dir, &["env", "--provider", "nvidia"]);
    assert!(!r.stderr.contains("no pci.ids"), "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("PCI_RESOURCE_NVIDIA_COM_TU104GL_TESLA_T4="),
        "{}",
        r.stdout
    );
}

#[test]
fn an_undesired_mdev_in_use_is_drift_and_not_wanted() {
    // fixtures/t4-undesired: four nvidia-230 mdevs, only nvidia-222 desired, ...0002 held by pid 4242.
    let h = Host::bundled("t4-undesired");
    let r = h.on_node("node1", &["status", "--format", "prometheus"]);
    assert_eq!(r.code, 1);
    let m = mask_timestamp(&r.stdout);
    assert!(
        m.contains("hostdev_mdevs{parent=\"0000:3b:00.0\",type=\"nvidia-230\"} 4\n"),
        "{m}"
    );
    assert!(
        m.contains("hostdev_mdevs_wanted{parent=\"0000:3b:00.0\",type=\"nvidia-230\"} 0\n"),
        "{m}"
    );
    assert!(m.contains("hostdev_plan_blocked_actions 1\n"), "{m}");
    promtool_clean(&r.stdout);
    assert!(r.stderr.contains(
        "hostdev: drift: mdev 00000000-0000-4000-8000-000000000002 (nvidia-230) on 0000:3b:00.0 is not wanted but cannot be removed: in use by pid 4242 (qemu-system-x86)\n"
    ), "{}", r.stderr);
}

#[test]
fn vendor_vfio_vfs_are_pci_hostdevs_left_on_their_driver() {
    // fixtures/l40s-vfio: VFs 0000:61:00.4 (held by pid 4343) and .5 carry a vGPU type on
    // the `nvidia` driver; KubeVirt hands them out as PCI devices.
    let h = Host::bundled("l40s-vfio");
    let r = h.run(&["devices", "--format", "libvirt"]);
    let elements = libvirt_elements(&r);
    assert_eq!(
        elements[1],
        "<hostdev mode='subsystem' type='pci' managed='no'>\n  <source>\n    <address domain='0x0000' bus='0x61' slot='0x00' function='0x5'/>\n  </source>\n</hostdev>\n"
    );
    validate_in_domain(&elements);
    let r = h.run(&["devices", "--free", "--format", "qemu"]);
    assert_eq!(r.stdout, "-device vfio-pci,host=0000:61:00.5\n");
    let r = h.run(&["devices", "--free", "-n", "2", "--format", "qemu"]);
    r.assert_stderr(
        1,
        "asked for 2 free devices, there is 1 free (nvidia.com/AD102GL_L40S)",
    );
}
