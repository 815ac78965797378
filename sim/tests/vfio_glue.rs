//! The class glue directory `sys/devices/virtual/vfio` goes with the last VFIO group
//! device, as the kernel's cleanup_glue_dir does: an mdev created and removed on a host
//! without VFIO groups leaves `sys/` as it was.

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
fn the_vfio_glue_directory_goes_with_the_last_group() {
    let root = std::env::temp_dir().join(format!("hostdev-sim-glue-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/t4-1x"),
        &root,
    );
    let glue = root.join("sys/devices/virtual/vfio");
    assert!(!glue.exists());
    let m = Model::new(&root);
    let uuid = "00000000-0000-4000-8000-0000000000aa";
    m.write(
        Path::new("sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types/nvidia-223/create"),
        uuid.as_bytes(),
    )
    .unwrap();
    assert!(glue.exists(), "the mdev's group device");
    m.write(
        &Path::new("sys/bus/mdev/devices").join(uuid).join("remove"),
        b"1",
    )
    .unwrap();
    assert!(
        !glue.exists(),
        "left behind: {:?}",
        fs::read_dir(&glue).map(|d| d.count())
    );
    fs::remove_dir_all(&root).unwrap();
}
