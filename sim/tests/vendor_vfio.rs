//! NVIDIA vendor-specific VFIO: a VF's `creatable_vgpu_types` reads as the fixtures (and
//! the driver) lay it out, with a final newline, after the model rewrote it: setting a
//! vGPU type and clearing it again leaves every VF's listing as it was.

use std::fs;
use std::path::Path;

use hostdev_sim::Model;

fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let (s, d) = (e.path(), to.join(e.file_name()));
        let ft = fs::symlink_metadata(&s).unwrap().file_type();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s).unwrap(), &d).unwrap();
        } else if ft.is_dir() {
            copy(&s, &d);
        } else {
            fs::copy(&s, &d).unwrap();
        }
    }
}

#[test]
fn set_then_clear_leaves_the_listings_as_they_were() {
    let root = std::env::temp_dir().join(format!("hostdev-sim-vv-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/l40s-vfio"),
        &root,
    );
    let vf = |a: &str| root.join("sys/bus/pci/devices").join(a).join("nvidia");
    let listing = |a: &str| fs::read_to_string(vf(a).join("creatable_vgpu_types")).unwrap();
    let before = (listing("0000:41:00.4"), listing("0000:41:00.5"));
    assert!(before.0.ends_with('\n'));
    let m = Model::new(&root);
    m.write(&vf("0000:41:00.4").join("current_vgpu_type"), b"1152\n")
        .unwrap();
    assert!(listing("0000:41:00.5").ends_with("NVIDIA L40S-8C\n"));
    m.write(&vf("0000:41:00.4").join("current_vgpu_type"), b"0\n")
        .unwrap();
    assert_eq!((listing("0000:41:00.4"), listing("0000:41:00.5")), before);
    fs::remove_dir_all(&root).unwrap();
}
