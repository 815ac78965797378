//! The kernel model in process, on copies of the bundled fixtures: each test is a fact of
//! the kernel (or of NVIDIA's driver, as docs/nvidia.md cites it) the model must keep.

use std::fs;
use std::path::{Path, PathBuf};

use hostdev_sim::tree::copy_tree;
use hostdev_sim::{Model, Refusal};

struct Host {
    _dir: PathBuf,
    root: PathBuf,
    m: Model,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self._dir);
    }
}

fn host(fixture: &str) -> Host {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("hostdev-sim-model-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let root = dir.join("root");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(fixture);
    copy_tree(&src, &root).unwrap();
    Host {
        m: Model::new(&root),
        root,
        _dir: dir,
    }
}

impl Host {
    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root.join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .trim()
            .to_string()
    }
    fn w(&self, rel: &str, v: &str) -> Result<(), Refusal> {
        self.m.write(Path::new(rel), v.as_bytes())
    }
    fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.root.join(rel)).is_ok()
    }
}

const T4: &str = "sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types";
const U1: &str = "11111111-2222-4333-8444-555555555555\n";
const U2: &str = "11111111-2222-4333-8444-555555555556\n";

#[test]
fn mdev_create_checks_the_uuid_then_duplicates_then_capacity() {
    let h = host("t4-1x");
    let errno = |r: Result<(), Refusal>| r.err().map(|e| e.errno());
    assert_eq!(
        errno(h.w(&format!("{T4}/nvidia-222/create"), "not-a-uuid\n")),
        Some(libc::EINVAL)
    );
    assert_eq!(
        errno(h.w(
            &format!("{T4}/nvidia-222/create"),
            "11111111-2222-4333-8444-5555555555\n"
        )),
        Some(libc::EINVAL),
        "35 characters"
    );
    h.w(&format!("{T4}/nvidia-222/create"), U1).unwrap();
    assert!(h.exists(&format!("sys/bus/mdev/devices/{}", U1.trim())));
    assert!(h.exists(&format!("{T4}/nvidia-222/devices/{}", U1.trim())));
    assert_eq!(
        errno(h.w(&format!("{T4}/nvidia-222/create"), U1)),
        Some(libc::EEXIST)
    );
    // equal-size rule: 1 GB types (222 = T4-1B, 225 = T4-1A) share the 16; 2 GB types read 0
    assert_eq!(
        h.read(&format!("{T4}/nvidia-222/available_instances")),
        "15"
    );
    assert_eq!(
        h.read(&format!("{T4}/nvidia-225/available_instances")),
        "15"
    );
    assert_eq!(h.read(&format!("{T4}/nvidia-224/available_instances")), "0");
    assert_eq!(
        errno(h.w(&format!("{T4}/nvidia-224/create"), U2)),
        Some(libc::ENOSPC)
    );
    h.w(&format!("{T4}/nvidia-225/create"), U2).unwrap();
    assert_eq!(
        h.read(&format!("{T4}/nvidia-222/available_instances")),
        "14"
    );
}

#[test]
fn mdev_remove_takes_a_number_and_frees_the_gpu() {
    let h = host("t4-1x");
    h.w(&format!("{T4}/nvidia-224/create"), U1).unwrap();
    let rm = format!("sys/bus/mdev/devices/{}/remove", U1.trim());
    assert_eq!(h.w(&rm, "x\n").unwrap_err().errno(), libc::EINVAL);
    h.w(&rm, "0\n").unwrap();
    assert!(h.exists(&format!("sys/bus/mdev/devices/{}", U1.trim())));
    h.w(&rm, "1\n").unwrap();
    assert!(!h.exists(&format!("sys/bus/mdev/devices/{}", U1.trim())));
    assert_eq!(
        h.read(&format!("{T4}/nvidia-222/available_instances")),
        "16"
    );
    assert_eq!(h.read(&format!("{T4}/nvidia-224/available_instances")), "8");
}

#[test]
fn an_open_mdev_blocks_its_remove_until_released() {
    let h = host("t4-1x");
    h.w(&format!("{T4}/nvidia-222/create"), U1).unwrap();
    let pid = h.m.hold(U1.trim()).unwrap();
    let rm = format!("sys/bus/mdev/devices/{}/remove", U1.trim());
    match h.w(&rm, "1\n") {
        Err(Refusal::Blocked(who)) => assert!(who.contains(&format!("pid {pid}")), "{who}"),
        other => panic!("{other:?}"),
    }
    // as device_del: off the bus while the remove waits; the directory stays
    assert!(!h.exists(&format!("sys/bus/mdev/devices/{}", U1.trim())));
    let dir = format!("sys/class/mdev_bus/0000:3b:00.0/{}", U1.trim());
    assert!(h.exists(&dir));
    h.m.release(pid).unwrap();
    h.w(&format!("{dir}/remove"), "1\n").unwrap();
    assert!(!h.exists(&dir));
}

#[test]
fn nvidia_vfs_hold_one_vgpu_each_under_the_gpus_equal_size_rule() {
    let h = host("a40-sriov");
    let vf = |a: &str, t: &str| format!("sys/bus/pci/devices/{a}/mdev_supported_types/{t}");
    let sizes: Vec<(String, String)> = fs::read_dir(h.root.join(vf("0000:41:00.4", "")))
        .unwrap()
        .flatten()
        .map(|e| {
            let t = e.file_name().to_string_lossy().into_owned();
            (
                t.clone(),
                h.read(&format!("{}/description", vf("0000:41:00.4", &t))),
            )
        })
        .collect();
    let fb = |t: &str| {
        sizes
            .iter()
            .find(|(n, _)| n == t)
            .map(|(_, d)| {
                d.split("framebuffer=")
                    .nth(1)
                    .unwrap()
                    .split('M')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .unwrap()
    };
    let (first, _) = &sizes[0];
    h.w(&format!("{}/create", vf("0000:41:00.4", first)), U1)
        .unwrap();
    assert_eq!(
        h.read(&format!(
            "{}/available_instances",
            vf("0000:41:00.4", first)
        )),
        "0"
    );
    for (t, _) in &sizes {
        let want = if fb(t) == fb(first) { "1" } else { "0" };
        assert_eq!(
            h.read(&format!("{}/available_instances", vf("0000:41:00.5", t))),
            want,
            "{t}"
        );
    }
    assert_eq!(
        h.w(&format!("{}/create", vf("0000:41:00.4", first)), U2)
            .unwrap_err()
            .errno(),
        libc::ENOSPC,
        "one vGPU per VF"
    );
}

#[test]
fn sriov_numvfs_refuses_as_the_kernel_and_keeps_a_template_for_the_next_enable() {
    let h = host("a40-sriov");
    let pf = "sys/bus/pci/devices/0000:41:00.0";
    let n = format!("{pf}/sriov_numvfs");
    assert_eq!(h.w(&n, "x\n").unwrap_err().errno(), libc::EINVAL);
    assert_eq!(h.w(&n, "33\n").unwrap_err().errno(), libc::ERANGE);
    h.w(&n, "32\n").unwrap(); // the current count: nothing
    assert_eq!(h.w(&n, "4\n").unwrap_err().errno(), libc::EBUSY);
    h.w(&n, "0\n").unwrap();
    assert!(!h.exists("sys/bus/pci/devices/0000:41:00.4"));
    assert!(!h.exists(&format!("{pf}/virtfn0")));
    assert_eq!(h.read(&n), "0");
    h.w(&n, "2\n").unwrap();
    assert_eq!(h.read(&n), "2");
    assert_eq!(
        fs::read_link(h.root.join(format!("{pf}/virtfn1"))).unwrap(),
        PathBuf::from("../0000:41:00.5")
    );
    assert!(h.exists("sys/class/mdev_bus/0000:41:00.5"));
    assert_eq!(
        h.read("sys/bus/pci/devices/0000:41:00.5/physfn/sriov_numvfs"),
        "2"
    );
    assert_eq!(
        fs::read_link(h.root.join("sys/bus/pci/devices/0000:41:00.5/driver"))
            .unwrap()
            .file_name()
            .unwrap(),
        "nvidia"
    );
}

#[test]
fn the_t4_advertises_vfs_but_takes_no_write() {
    let h = host("t4-1x");
    let n = "sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs";
    assert_eq!(h.w(n, "4\n").unwrap_err().errno(), libc::ENOENT);
}

#[test]
fn vendor_vfio_vgpu_types_follow_the_equal_size_rule() {
    let h = host("l40s-vfio");
    let vf = |a: &str, f: &str| format!("sys/bus/pci/devices/{a}/nvidia/{f}");
    assert_eq!(
        h.w(&vf("0000:41:00.4", "current_vgpu_type"), "x\n")
            .unwrap_err()
            .errno(),
        libc::EINVAL
    );
    h.w(&vf("0000:41:00.4", "current_vgpu_type"), "1150\n")
        .unwrap(); // L40S-4Q
    assert_eq!(
        h.read(&vf("0000:41:00.4", "creatable_vgpu_types")),
        "ID    : vGPU Name"
    );
    assert!(h.exists("sys/bus/pci/devices/0000:41:00.4/vfio-dev"));
    let rest = h.read(&vf("0000:41:00.5", "creatable_vgpu_types"));
    assert_eq!(rest, "ID    : vGPU Name\n1150  : NVIDIA L40S-4Q");
    assert_eq!(
        h.w(&vf("0000:41:00.4", "current_vgpu_type"), "1150\n")
            .unwrap_err()
            .errno(),
        libc::EBUSY
    );
    assert_eq!(
        h.w(&vf("0000:41:00.5", "current_vgpu_type"), "1152\n")
            .unwrap_err()
            .errno(),
        libc::EINVAL,
        "8 GB next to 4 GB"
    );
    let pid = h.m.hold("0000:41:00.4").unwrap();
    assert_eq!(
        h.w(&vf("0000:41:00.4", "current_vgpu_type"), "0\n")
            .unwrap_err()
            .errno(),
        libc::EBUSY
    );
    h.m.release(pid).unwrap();
    h.w(&vf("0000:41:00.4", "current_vgpu_type"), "0\n")
        .unwrap();
    assert!(h
        .read(&vf("0000:41:00.5", "creatable_vgpu_types"))
        .contains("1145  : NVIDIA L40S-1B"));
}

#[test]
fn driver_override_and_probe_move_a_device_to_vfio_pci_and_back() {
    let h = host("host-intel");
    let d = "sys/bus/pci/devices/0000:19:00.0";
    assert_eq!(
        h.w("sys/bus/pci/drivers_probe", "0000:99:00.0")
            .unwrap_err()
            .errno(),
        libc::ENODEV
    );
    h.w(&format!("{d}/driver_override"), "vfio-pci").unwrap();
    assert_eq!(h.read(&format!("{d}/driver_override")), "vfio-pci");
    assert_eq!(
        h.w("sys/bus/pci/drivers/vfio-pci/unbind", "0000:19:00.0")
            .unwrap_err()
            .errno(),
        libc::ENODEV,
        "not bound to vfio-pci"
    );
    h.w("sys/bus/pci/drivers/e1000e/unbind", "0000:19:00.0")
        .unwrap();
    assert!(!h.exists(&format!("{d}/driver")));
    h.w("sys/bus/pci/drivers_probe", "0000:19:00.0").unwrap();
    let drv = |h: &Host| {
        fs::read_link(h.root.join(format!("{d}/driver")))
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    assert_eq!(drv(&h), "vfio-pci");
    assert!(h.exists(&format!("{d}/vfio-dev")));
    let g = fs::read_link(h.root.join(format!("{d}/iommu_group"))).unwrap();
    let g = g.file_name().unwrap().to_string_lossy().into_owned();
    assert!(h.exists(&format!("dev/vfio/{g}")));
    assert_eq!(
        h.w("sys/bus/pci/drivers/vfio-pci/bind", "0000:19:00.0")
            .unwrap_err()
            .errno(),
        libc::EBUSY
    );
    let pid = h.m.hold("0000:19:00.0").unwrap();
    assert!(matches!(
        h.w("sys/bus/pci/drivers/vfio-pci/unbind", "0000:19:00.0"),
        Err(Refusal::Blocked(_))
    ));
    h.m.release(pid).unwrap();
    h.w("sys/bus/pci/drivers/vfio-pci/unbind", "0000:19:00.0")
        .unwrap();
    assert!(!h.exists(&format!("dev/vfio/{g}")));
    h.w(&format!("{d}/driver_override"), "\n").unwrap();
    assert_eq!(h.read(&format!("{d}/driver_override")), "(null)");
    h.w("sys/bus/pci/drivers_probe", "0000:19:00.0").unwrap();
    assert_eq!(drv(&h), "e1000e");
}

#[test]
fn read_only_attributes_take_no_write() {
    let h = host("t4-1x");
    assert_eq!(
        h.w(&format!("{T4}/nvidia-222/available_instances"), "3")
            .unwrap_err()
            .errno(),
        libc::EACCES
    );
    assert_eq!(
        h.w(&format!("{T4}/nvidia-222/nothing"), "3")
            .unwrap_err()
            .errno(),
        libc::ENOENT
    );
}

/// A partly full GPU lists only the types of its vGPUs' size: the model learns the GPU's
/// memory from an empty GPU of the same model (48 GB L40S: 6 8Q, two present, 4 more fit).
#[test]
fn a_partly_full_gpu_takes_what_its_memory_holds() {
    let h = host("l40s-vfio");
    let set = |vf: &str, v: &str| {
        h.w(
            &format!("sys/bus/pci/devices/{vf}/nvidia/current_vgpu_type"),
            v,
        )
    };
    for vf in [
        "0000:61:00.6",
        "0000:61:00.7",
        "0000:61:01.0",
        "0000:61:01.1",
    ] {
        assert!(set(vf, "1152\n").is_ok(), "{vf}");
    }
    assert!(matches!(
        set("0000:61:01.2", "1152\n"),
        Err(Refusal::Errno(libc::EINVAL))
    ));
}

/// A VF's `creatable_vgpu_types` reads as the fixtures (and the driver) lay it out, with a
/// final newline, after the model rewrote it: setting a vGPU type and clearing it again
/// leaves every VF's listing as it was.
#[test]
fn set_then_clear_leaves_the_listings_as_they_were() {
    let h = host("l40s-vfio");
    let vf = |a: &str, f: &str| format!("sys/bus/pci/devices/{a}/nvidia/{f}");
    let listing = |a: &str| fs::read_to_string(h.root.join(vf(a, "creatable_vgpu_types"))).unwrap();
    let before = (listing("0000:41:00.4"), listing("0000:41:00.5"));
    assert!(before.0.ends_with('\n'));
    h.w(&vf("0000:41:00.4", "current_vgpu_type"), "1152\n")
        .unwrap();
    assert!(listing("0000:41:00.5").ends_with("NVIDIA L40S-8C\n"));
    h.w(&vf("0000:41:00.4", "current_vgpu_type"), "0\n")
        .unwrap();
    assert_eq!((listing("0000:41:00.4"), listing("0000:41:00.5")), before);
}

/// The class glue directory `sys/devices/virtual/vfio` goes with the last VFIO group
/// device, as the kernel's cleanup_glue_dir does: an mdev created and removed on a host
/// without VFIO groups leaves `sys/` as it was.
#[test]
fn the_vfio_glue_directory_goes_with_the_last_group() {
    let h = host("t4-1x");
    assert!(!h.exists("sys/devices/virtual/vfio"));
    h.w(&format!("{T4}/nvidia-223/create"), U1).unwrap();
    assert!(
        h.exists("sys/devices/virtual/vfio"),
        "the mdev's group device"
    );
    h.w(&format!("sys/bus/mdev/devices/{}/remove", U1.trim()), "1")
        .unwrap();
    assert!(!h.exists("sys/devices/virtual/vfio"));
}
