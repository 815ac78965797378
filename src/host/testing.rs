//! Unit-test support (compiled only for tests): a private copy of a bundled fixture
//! tree, and a simulated process holding a VFIO group open (`/proc/PID/fd/N` →
//! `/dev/vfio/GROUP`, what the in-use checks read).

use std::path::Path;

use crate::host::root::Root;

/// Copy the tree at `from` to `to`, symlinks kept as they are.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = std::fs::symlink_metadata(&src).unwrap().file_type();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A private copy of the bundled fixture `name`, and the root over it.
pub(crate) fn fixture(name: &str) -> (tempfile::TempDir, Root) {
    let d = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
        d.path(),
    );
    let fs = Root::new(d.path());
    (d, fs)
}

/// Process `pid` (command `comm`) of the host at `root` holds `/dev/vfio/GROUP` open.
pub(crate) fn hold_group(root: &Path, pid: u32, comm: &str, group: &str) {
    let proc = root.join(format!("proc/{pid}"));
    std::fs::create_dir_all(proc.join("fd")).unwrap();
    std::fs::write(proc.join("comm"), format!("{comm}\n")).unwrap();
    std::os::unix::fs::symlink(format!("/dev/vfio/{group}"), proc.join("fd/30")).unwrap();
}
