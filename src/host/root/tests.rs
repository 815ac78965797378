//! Unit tests of the root: confinement, bounded reads, file kinds, listings.
use super::dir::AttrDir;
use super::*;
use crate::error::is_too_large;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;

fn root() -> (tempfile::TempDir, Root, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir_all(root.join("sys")).unwrap();
    std::fs::create_dir_all(d.path().join("outside")).unwrap();
    std::fs::write(d.path().join("outside/secret"), "secret\n").unwrap();
    let fs = Root::new(&root);
    (d, fs, root)
}

#[test]
fn an_attribute_of_exactly_a_page_is_read_one_byte_more_is_refused() {
    let (_d, fs, root) = root();
    std::fs::write(root.join("sys/page"), "x".repeat(PAGE)).unwrap();
    assert_eq!(fs.read(&root.join("sys/page")).unwrap().len(), PAGE);
    std::fs::write(root.join("sys/more"), "y".repeat(PAGE + 1)).unwrap();
    let e = fs.read(&root.join("sys/more")).unwrap_err().to_string();
    assert!(e.contains("larger than the limit of 4096 bytes"), "{e}");
    assert!(!e.contains("yyyy"), "{e}");
}

#[test]
fn absolute_and_climbing_links_resolve_inside_the_root() {
    let (d, fs, root) = root();
    let outside = d.path().join("outside/secret");
    symlink(&outside, root.join("sys/abs")).unwrap();
    symlink("../../outside/secret", root.join("sys/rel")).unwrap();
    for l in ["sys/abs", "sys/rel"] {
        assert_eq!(fs.read_opt(&root.join(l)).unwrap(), None, "{l}");
        assert!(fs.write(&root.join(l), "1").is_err(), "{l}");
    }
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret\n");
    // the same climbing link finds a file of that name at the root itself
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(root.join("outside/secret"), "inside\n").unwrap();
    assert_eq!(fs.read(&root.join("sys/rel")).unwrap(), "inside");
}

#[test]
fn create_dir_all_through_an_escaping_link_creates_nothing_outside() {
    let (d, fs, root) = root();
    std::fs::create_dir_all(root.join("run")).unwrap();
    symlink(d.path().join("outside"), root.join("run/hostdev")).unwrap();
    assert!(fs.create_dir_all(&root.join("run/hostdev/sub")).is_err());
    assert!(!d.path().join("outside/sub").exists());
}

#[test]
fn a_fifo_is_neither_read_nor_written_and_nothing_blocks() {
    let (_d, fs, root) = root();
    let fifo = root.join("sys/fifo");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o644)).unwrap();
    let e = fs.read(&fifo).unwrap_err().to_string();
    assert!(e.contains("a FIFO, not a regular file"), "{e}");
    // no reader: a non-blocking open for writing fails at once (ENXIO)
    assert!(fs.write(&fifo, "1").is_err());
    assert!(fs.open_own(&fifo, OFlag::O_RDWR, 0o644).is_err());
}

#[test]
fn a_huge_sparse_file_is_never_read_whole() {
    let (_d, fs, root) = root();
    let big = root.join("state");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let e = fs.read_own(&big, 1 << 20).unwrap_err();
    assert!(is_too_large(&e), "{e}");
    assert!(fs.read_limited(&big, 32).is_err());
}

#[test]
fn a_path_not_spelled_under_the_root_is_refused() {
    let (d, fs, _root) = root();
    let e = fs.read(&d.path().join("outside/secret")).unwrap_err();
    assert!(e.to_string().contains("not under --root"), "{e}");
}

#[test]
fn list_skips_non_utf8_names_and_dot_files() {
    let (_d, fs, root) = root();
    let dir = root.join("sys/d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b"), "").unwrap();
    std::fs::write(dir.join("a"), "").unwrap();
    std::fs::write(dir.join(".hidden"), "").unwrap();
    std::fs::write(dir.join(OsStr::from_bytes(b"\xff")), "").unwrap();
    assert_eq!(fs.list(&dir).unwrap(), vec!["a", "b"]);
}

#[test]
fn a_fifo_with_a_writer_is_refused_by_kind_when_empty_or_full() {
    let (_d, fs, root) = root();
    let fifo = root.join("sys/fifo");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o644)).unwrap();
    // a writer holding it open without data: the read would block, so it is refused
    let w = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let e = fs.read(&fifo).unwrap_err().to_string();
    assert!(e.contains("a FIFO, not a regular file"), "{e}");
    // a full page of data: refused by kind, not read to the limit
    (&w).write_all(&[b'x'; PAGE + 1]).unwrap();
    let e = fs.read(&fifo).unwrap_err().to_string();
    assert!(e.contains("a FIFO, not a regular file"), "{e}");
}

#[test]
fn a_directory_or_an_empty_file_as_an_attribute() {
    let (_d, fs, root) = root();
    std::fs::create_dir_all(root.join("sys/d")).unwrap();
    let e = fs.read(&root.join("sys/d")).unwrap_err().to_string();
    assert!(e.contains("a directory, not a regular file"), "{e}");
    std::fs::write(root.join("sys/empty"), "").unwrap();
    assert_eq!(fs.read(&root.join("sys/empty")).unwrap(), "");
}

#[test]
fn a_directory_is_listed_whole_however_large_and_however_often() {
    let (_d, fs, root) = root();
    let dir = root.join("sys/many");
    std::fs::create_dir_all(&dir).unwrap();
    // more names than one 16 KiB getdents64 buffer holds
    let mut want: Vec<String> = (0..2000)
        .map(|i| format!("type-with-a-long-name-{i:05}"))
        .collect();
    for n in &want {
        std::fs::write(dir.join(n), "1\n").unwrap();
    }
    want.sort();
    assert_eq!(fs.list(&dir).unwrap(), want);
    let attrs = fs.dir(&dir).unwrap();
    let names = |a: &AttrDir| {
        a.entries()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&attrs), want);
    assert_eq!(
        names(&attrs),
        want,
        "a second listing of the same descriptor"
    );
    assert_eq!(attrs.read(&want[7]).unwrap(), "1");
}
