//! A FIFO made through the mount (mkfifo outside sys/) is a FIFO on the mount and in the
//! backing: the kernel serves it, so opening it does not go through the server (a reader
//! waiting for a writer blocks nobody else). Tests/ansible's hard-edge play puts one where
//! hostdev's state file belongs. Needs root and /dev/fuse (as every mount test).

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use hostdev_sim::serve::{serve, Options};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hostdev-sim-test.{}.{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn mkfifo(p: &Path) -> std::io::Result<()> {
    let c = CString::new(p.as_os_str().as_bytes()).expect("path");
    // SAFETY: a valid C string.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn mkfifo_through_the_mount_makes_a_fifo_outside_sys_only() {
    let d = scratch("fifo");
    let fixture = d.join("fixture");
    fs::create_dir_all(fixture.join("sys/bus/pci/devices")).expect("fixture");
    fs::create_dir_all(fixture.join("run/hostdev")).expect("fixture");
    let mp = d.join("mnt");
    let served = serve(&fixture, &mp, &Options { in_place: true }).expect("serve");

    let fifo = mp.join("run/hostdev/state.json");
    mkfifo(&fifo).expect("mkfifo through the mount");
    let m = fs::symlink_metadata(&fifo).expect("stat");
    assert!(
        m.file_type().is_fifo(),
        "the mount shows {:?}",
        m.file_type()
    );
    let listed = fs::read_dir(mp.join("run/hostdev"))
        .expect("readdir")
        .flatten()
        .map(|e| e.file_type().expect("type").is_fifo())
        .collect::<Vec<_>>();
    assert_eq!(listed, vec![true]);
    assert!(fs::symlink_metadata(fixture.join("run/hostdev/state.json"))
        .expect("backing")
        .file_type()
        .is_fifo());
    // a FIFO with no reader: a non-blocking open for writing is ENXIO (a plain file would open)
    let e = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect_err("no reader");
    assert_eq!(e.raw_os_error(), Some(libc::ENXIO));
    fs::remove_file(&fifo).expect("unlink");

    // not under sys/ (sysfs has none)
    let e = mkfifo(&mp.join("sys/bus/pci/devices/x")).expect_err("on sys/");
    assert_eq!(e.raw_os_error(), Some(libc::EPERM));

    drop(served);
    let _ = fs::remove_dir_all(&d);
}
