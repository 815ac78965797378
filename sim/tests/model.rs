//! The model on bundled fixtures (in process, no mount).

use std::path::{Path, PathBuf};

use hostdev_sim::{Model, Refusal};

fn copy(name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    let to = std::env::temp_dir().join(format!(
        "hostdev-sim-model-test.{}.{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&to);
    hostdev_sim::tree::copy_tree(&from, &to).expect("copy the fixture");
    to
}

/// A partly full GPU lists only the types of its vGPUs' size: the model learns the GPU's
/// memory from an empty GPU of the same model (48 GB L40S: 6 8Q, two present, 4 more fit).
#[test]
fn a_partly_full_gpu_takes_what_its_memory_holds() {
    let root = copy("l40s-vfio");
    let m = Model::new(&root);
    let set = |vf: &str, v: &str| {
        m.write(
            Path::new(&format!(
                "sys/bus/pci/devices/{vf}/nvidia/current_vgpu_type"
            )),
            v.as_bytes(),
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
    let _ = std::fs::remove_dir_all(&root);
}
