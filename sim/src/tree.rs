//! Small file-tree helpers over a host tree on disk (the backing of a simulated host): read a
//! value, write one, lay links the way the kernel's sysfs does (relative, inside the tree),
//! resolve a path inside the tree (symlinks included, never outside it).

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

/// The longest symlink chain followed before a path is called a loop (ELOOP).
const MAX_LINKS: usize = 40;

/// A host tree on disk.
#[derive(Debug, Clone)]
pub struct Tree {
    pub root: PathBuf,
}

impl Tree {
    pub fn new(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
        }
    }

    /// `<root>/<rel>`.
    pub fn at(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// The path `p` (absolute inside the root, or relative to it) with every symlink
    /// followed, relative to the root; never leaves the root (`..` stops at it, an absolute
    /// link target is taken inside the root, as `--root` does).
    pub fn resolve(&self, p: &Path) -> io::Result<PathBuf> {
        let rel = p.strip_prefix(&self.root).unwrap_or(p);
        let mut todo: Vec<PathBuf> = vec![rel.to_path_buf()];
        let mut done = PathBuf::new();
        let mut links = 0;
        while let Some(next) = todo.pop() {
            let mut comps: Vec<Component> = next.components().collect();
            comps.reverse();
            while let Some(c) = comps.pop() {
                match c {
                    Component::RootDir => done = PathBuf::new(),
                    Component::CurDir | Component::Prefix(_) => {}
                    Component::ParentDir => {
                        done.pop();
                    }
                    Component::Normal(name) => {
                        let cand = done.join(name);
                        let full = self.root.join(&cand);
                        match fs::symlink_metadata(&full) {
                            Ok(m) if m.file_type().is_symlink() => {
                                links += 1;
                                if links > MAX_LINKS {
                                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                                }
                                let target = fs::read_link(&full)?;
                                let rest: PathBuf = comps.iter().rev().collect();
                                comps.clear();
                                if rest.as_os_str().is_empty() {
                                    todo.push(target);
                                } else {
                                    todo.push(rest);
                                    todo.push(target);
                                }
                                break;
                            }
                            Ok(_) => done = cand,
                            Err(e) if comps.is_empty() && todo.is_empty() => {
                                // the last component may be missing (a file to create)
                                if e.kind() == io::ErrorKind::NotFound {
                                    done = cand;
                                } else {
                                    return Err(e);
                                }
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
        Ok(done)
    }

    /// The trimmed text of `<root>/<rel>`, `None` when it cannot be read.
    pub fn read(&self, rel: &Path) -> Option<String> {
        fs::read_to_string(self.at(rel))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// A number read from `<root>/<rel>` (decimal, or hex with 0x).
    pub fn num(&self, rel: &Path) -> Option<u64> {
        let s = self.read(rel)?;
        match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    }

    /// Write `text` to `<root>/<rel>`, parents created.
    pub fn put(&self, rel: &Path, text: &str) -> io::Result<()> {
        let p = self.at(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d)?;
        }
        fs::write(p, text)
    }

    /// A link at `<root>/<at>` to `<root>/<to>`, written relative (as sysfs writes them);
    /// an existing entry there is replaced.
    pub fn link(&self, at: &Path, to: &Path) -> io::Result<()> {
        let p = self.at(at);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d)?;
        }
        if fs::symlink_metadata(&p).is_ok() {
            fs::remove_file(&p)?;
        }
        symlink(relative(at.parent().unwrap_or(Path::new("")), to), p)
    }

    /// A link at `<root>/<at>` holding `target` as it is.
    pub fn raw_link(&self, at: &Path, target: &str) -> io::Result<()> {
        let p = self.at(at);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d)?;
        }
        if fs::symlink_metadata(&p).is_ok() {
            fs::remove_file(&p)?;
        }
        symlink(target, p)
    }

    /// The last component of the target of the link `<root>/<rel>`.
    pub fn link_name(&self, rel: &Path) -> Option<String> {
        let t = fs::read_link(self.at(rel)).ok()?;
        t.file_name().map(|n| n.to_string_lossy().into_owned())
    }

    /// Whether `<root>/<rel>` exists (a link counts, dangling or not).
    pub fn exists(&self, rel: &Path) -> bool {
        fs::symlink_metadata(self.at(rel)).is_ok()
    }

    /// Remove `<root>/<rel>`: a file, a link or a whole directory; missing is fine.
    pub fn remove(&self, rel: &Path) -> io::Result<()> {
        let p = self.at(rel);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(p),
            Ok(_) => fs::remove_file(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The names in `<root>/<rel>` (sorted; none when it is not a directory). Git's
    /// `.gitkeep` placeholders are not entries.
    pub fn names(&self, rel: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.at(rel))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".gitkeep")
            .collect();
        v.sort();
        v
    }

    /// Copy the tree `<root>/<from>` to `<root>/<to>`, links kept as they are.
    pub fn copy(&self, from: &Path, to: &Path) -> io::Result<()> {
        copy_tree(&self.at(from), &self.at(to))
    }
}

/// Copy the directory tree `from` to `to` (created), symlinks kept as they are.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let (s, d) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type()?;
        if ft.is_symlink() {
            symlink(fs::read_link(&s)?, &d)?;
        } else if ft.is_dir() {
            copy_tree(&s, &d)?;
        } else {
            fs::copy(&s, &d)?;
        }
    }
    Ok(())
}

/// `to` as seen from the directory `from` (both relative to the same root).
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_climb_to_the_common_part() {
        assert_eq!(
            relative(Path::new("sys/bus/pci/devices"), Path::new("sys/devices/x")),
            PathBuf::from("../../../devices/x")
        );
        assert_eq!(relative(Path::new("a/b"), Path::new("a/b/c")), PathBuf::from("c"));
    }

    #[test]
    fn resolve_follows_links_and_stays_inside() {
        let d = std::env::temp_dir().join(format!("hostdev-sim-tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let t = Tree::new(&d);
        t.put(Path::new("sys/devices/x/attr"), "1\n").unwrap();
        t.link(Path::new("sys/bus/pci/devices/x"), Path::new("sys/devices/x"))
            .unwrap();
        t.raw_link(Path::new("abs"), "/sys/devices").unwrap();
        t.raw_link(Path::new("up"), "../../../..").unwrap();
        assert_eq!(
            t.resolve(Path::new("sys/bus/pci/devices/x/attr")).unwrap(),
            PathBuf::from("sys/devices/x/attr")
        );
        assert_eq!(
            t.resolve(&d.join("abs/x")).unwrap(),
            PathBuf::from("sys/devices/x")
        );
        assert_eq!(t.resolve(Path::new("up/sys")).unwrap(), PathBuf::from("sys"));
        fs::remove_dir_all(&d).unwrap();
    }
}
