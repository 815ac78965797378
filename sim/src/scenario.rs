//! `hostdev-sim scenarios`: the kernel behaviour the model promises, as data
//! (`tests/model/*.yaml`), performed on a host: the real kernel (`--root /`, in the VM
//! suite) or a simulated host (a fixture served by [`crate::serve`]). Both must answer
//! every step the same way; a mismatch is the model (or the scenario) being wrong.
//!
//! A file:
//!
//! ```yaml
//! host: samples            # samples | nvsim-pf | nvsim-vf | nvsim-vfio | igb-sriov
//! vars: {T: /sys/class/mdev_bus/mtty/mdev_supported_types}   # $T in every string below
//! divergences: |           # optional: where the model knowingly differs (not checked)
//!   ...
//! scenarios:
//!   - name: create and remove
//!     steps:
//!       - write: {path: $T/mtty-2/create, value: 00000000-0000-0000-0000-000000000001}
//!         expect: ok       # ok | blocks | an errno name (EINVAL, ENOSPC, ...)
//!       - expect_file: {path: $T/mtty-2/available_instances, value: 11}
//!       - expect_list: {dir: $T/mtty-2/devices, entries: [...]}
//!       - expect_exists: /sys/bus/mdev/devices/...
//!       - expect_missing: /sys/bus/mdev/devices/...
//!       - expect_link: {path: /sys/bus/pci/devices/$VF0/physfn, name: $PF}
//!       - expect_lines: {path: ..., count: 15}
//!       - hold: <PCI address or mdev UUID>   # what a VM does: the group, a container, the device fd
//!       - release                            # let go of every hold; a pending (blocked) write must complete
//! ```
//!
//! A write is what a shell `echo VALUE > PATH` does: `open(O_WRONLY)` and one `write(2)` of
//! the value and a newline (`raw: true`: the value alone). It runs on a thread: one still
//! pending after [`BLOCK_WAIT`] is "blocks" (then the next `release` must complete it).
//! Variables: the file's `vars`, then the host's ([`host_vars`]), then `--var NAME=VALUE`.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use yaml_serde::Value;

use crate::Model;

/// How long a write may take before it counts as blocked.
pub const BLOCK_WAIT: Duration = Duration::from_secs(1);
/// How long a blocked write may take to complete after the release.
const RELEASE_WAIT: Duration = Duration::from_secs(10);
/// How long a write expected to finish may take (a write that blocks unexpectedly is reported,
/// and the run goes on).
const WRITE_WAIT: Duration = Duration::from_secs(5);

/// The host kinds scenarios are written for.
pub const KINDS: &[&str] = &["samples", "nvsim-pf", "nvsim-vf", "nvsim-vfio", "igb-sriov"];

/// Each host kind's variables: the devices of the VM suite's layout (tests/vm/run.sh), which
/// the fixtures `fixtures/vm-*` mirror.
pub fn host_vars(kind: &str) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let mut set = |k: &str, val: &str| {
        v.insert(k.to_string(), val.to_string());
    };
    set("PCI", "/sys/bus/pci/devices");
    set("MDEV", "/sys/bus/mdev/devices");
    match kind {
        "samples" => {
            set("MTTY", "/sys/class/mdev_bus/mtty/mdev_supported_types");
            set("MDPY", "/sys/class/mdev_bus/mdpy/mdev_supported_types");
            set("MBOCHS", "/sys/class/mdev_bus/mbochs/mdev_supported_types");
            // a plain PCI function with a driver (e1000e) for the binding steps
            set("NIC", "0000:00:03.0");
            set("NIC_DRIVER", "e1000e");
        }
        _ => {
            set("PF", "0000:04:00.0");
            set("VF0", "0000:04:10.0");
            set("VF1", "0000:04:10.2");
            set("VF6", "0000:04:11.4");
        }
    }
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub host: String,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub divergences: Option<String>,
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub steps: Vec<Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Step {
    write: Option<PathValue>,
    expect: Option<Value>,
    #[serde(default)]
    raw: bool,
    hold: Option<String>,
    release: Option<Value>,
    expect_file: Option<PathValue>,
    expect_lines: Option<PathCount>,
    expect_list: Option<DirEntries>,
    expect_exists: Option<String>,
    expect_missing: Option<String>,
    expect_link: Option<Link>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathValue {
    path: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathCount {
    path: String,
    count: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirEntries {
    dir: String,
    entries: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Link {
    path: String,
    name: String,
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => format!("{other:?}"),
    }
}

/// One mismatch: where, what the scenario expected, what the host did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub file: String,
    pub scenario: String,
    pub step: usize,
    pub what: String,
    pub expected: String,
    pub got: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "@@ {} :: {} :: step {}: {}\n- {}\n+ {}",
            self.file,
            self.scenario,
            self.step,
            self.what,
            self.expected.replace('\n', "\n- "),
            self.got.replace('\n', "\n+ ")
        )
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    pub scenarios: usize,
    pub steps: usize,
    pub mismatches: Vec<Mismatch>,
}

/// How a held device is held.
enum Hold {
    /// The real kernel: the container, the group and the device fd, open.
    Real(#[allow(dead_code)] Vec<OwnedFd>),
    /// A simulated host: the simulated process's pid.
    Sim(u32),
}

type Pending = (String, mpsc::Receiver<Result<(), i32>>);

/// Runs scenario files on one host.
pub struct Runner {
    root: PathBuf,
    real: bool,
    kind: Option<String>,
    cli_vars: BTreeMap<String, String>,
    holds: Vec<Hold>,
    pending: Option<Pending>,
    pub verbose: bool,
}

impl Runner {
    /// A runner on the host at `root`: the real kernel when it is `/`, else a simulated host
    /// (a mount of `hostdev-sim serve`). `kind`: run only the files for this host kind.
    pub fn new(root: &Path, kind: Option<&str>) -> Runner {
        let real = fs::canonicalize(root)
            .map(|p| p == Path::new("/"))
            .unwrap_or(false);
        Runner {
            root: root.to_path_buf(),
            real,
            kind: kind.map(str::to_string),
            cli_vars: BTreeMap::new(),
            holds: Vec::new(),
            pending: None,
            verbose: false,
        }
    }

    pub fn var(&mut self, name: &str, value: &str) {
        self.cli_vars.insert(name.to_string(), value.to_string());
    }

    /// Run every scenario of `file` (unless its host is not the one asked for).
    pub fn run_file(&mut self, file: &Path, report: &mut Report) -> Result<()> {
        let text =
            fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let parsed: File =
            yaml_serde::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        if !KINDS.contains(&parsed.host.as_str()) {
            bail!(
                "{}: host {:?} is none of {}",
                file.display(),
                parsed.host,
                KINDS.join(", ")
            );
        }
        if self.kind.as_deref().is_some_and(|k| k != parsed.host) {
            return Ok(());
        }
        let mut vars = host_vars(&parsed.host);
        vars.extend(parsed.vars.clone());
        vars.extend(self.cli_vars.clone());
        let fname = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        report.files += 1;
        for sc in &parsed.scenarios {
            report.scenarios += 1;
            if self.verbose {
                println!("== {fname} :: {}", sc.name);
            }
            for (i, raw) in sc.steps.iter().enumerate() {
                report.steps += 1;
                let step = parse_step(raw)
                    .with_context(|| format!("{fname} :: {} :: step {}", sc.name, i + 1))?;
                let mut miss = |what: String, expected: String, got: String| {
                    report.mismatches.push(Mismatch {
                        file: fname.clone(),
                        scenario: sc.name.clone(),
                        step: i + 1,
                        what,
                        expected,
                        got,
                    })
                };
                self.step(&step, &vars, &mut miss);
            }
            // a scenario leaves nothing held or pending behind
            if self.pending.is_some() || !self.holds.is_empty() {
                let left = self.pending.as_ref().map(|p| p.0.clone());
                self.release_all();
                if let Some(w) = left {
                    miss_end(report, &fname, &sc.name, w);
                }
            }
        }
        Ok(())
    }

    fn host(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    fn step(
        &mut self,
        s: &Step,
        vars: &BTreeMap<String, String>,
        miss: &mut dyn FnMut(String, String, String),
    ) {
        let x = |t: &str| subst(t, vars);
        if let Some(w) = &s.write {
            let path = x(&w.path);
            let mut value = x(&scalar(&w.value));
            if !s.raw {
                value.push('\n');
            }
            let expect = s.expect.as_ref().map(scalar).unwrap_or_else(|| "ok".into());
            let what = format!("write {:?} to {path}", value);
            let got = self.write(&path, value.into_bytes(), expect == "blocks");
            if got != expect {
                miss(what, expect, got);
            }
        } else if let Some(dev) = &s.hold {
            let dev = x(dev);
            if let Err(e) = self.hold(&dev) {
                miss(format!("hold {dev}"), "held".into(), format!("{e:#}"));
            }
        } else if s.release.is_some() {
            let pending = self.pending.take();
            self.release_all();
            if let Some((what, rx)) = pending {
                let got = match rx.recv_timeout(RELEASE_WAIT) {
                    Ok(r) => outcome(r),
                    Err(_) => format!(
                        "still blocked {} s after the release",
                        RELEASE_WAIT.as_secs()
                    ),
                };
                if got != "ok" {
                    miss(
                        format!("{what} (pending), after the release"),
                        "ok".into(),
                        got,
                    );
                }
            }
        } else if let Some(f) = &s.expect_file {
            let path = x(&f.path);
            let want = x(&scalar(&f.value));
            let got = match fs::read(self.host(&path)) {
                Ok(b) => String::from_utf8_lossy(&b)
                    .trim_end_matches('\n')
                    .to_string(),
                Err(e) => format!("<{}>", errno_name(e.raw_os_error().unwrap_or(libc::EIO))),
            };
            if got != want.trim_end_matches('\n') {
                miss(format!("read {path}"), want, got);
            }
        } else if let Some(f) = &s.expect_lines {
            let path = x(&f.path);
            let got = match fs::read(self.host(&path)) {
                Ok(b) => String::from_utf8_lossy(&b).lines().count().to_string(),
                Err(e) => format!("<{}>", errno_name(e.raw_os_error().unwrap_or(libc::EIO))),
            };
            if got != f.count.to_string() {
                miss(format!("lines of {path}"), f.count.to_string(), got);
            }
        } else if let Some(l) = &s.expect_list {
            let dir = x(&l.dir);
            let mut want: Vec<String> = l.entries.iter().map(|e| x(&scalar(e))).collect();
            want.sort();
            let got = match fs::read_dir(self.host(&dir)) {
                Ok(rd) => {
                    let mut names: Vec<String> = rd
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| !n.starts_with('.'))
                        .collect();
                    names.sort();
                    names.join(" ")
                }
                Err(e) => format!("<{}>", errno_name(e.raw_os_error().unwrap_or(libc::EIO))),
            };
            if got != want.join(" ") {
                miss(format!("list {dir}"), want.join(" "), got);
            }
        } else if let Some(p) = &s.expect_exists {
            let p = x(p);
            if fs::symlink_metadata(self.host(&p)).is_err() {
                miss(format!("exists {p}"), "exists".into(), "missing".into());
            }
        } else if let Some(p) = &s.expect_missing {
            let p = x(p);
            if fs::symlink_metadata(self.host(&p)).is_ok() {
                miss(format!("missing {p}"), "missing".into(), "exists".into());
            }
        } else if let Some(l) = &s.expect_link {
            let (p, want) = (x(&l.path), x(&l.name));
            let got = fs::read_link(self.host(&p))
                .ok()
                .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "<no link>".into());
            if got != want {
                miss(format!("link {p}"), want, got);
            }
        }
    }

    /// One write on a thread: "ok", an errno name, or "blocks" (still pending after
    /// [`BLOCK_WAIT`]; kept, for the next `release`, when `may_block`).
    fn write(&mut self, path: &str, value: Vec<u8>, may_block: bool) -> String {
        let full = self.host(path);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let r = (|| -> io::Result<()> {
                let mut f = OpenOptions::new().write(true).open(&full)?;
                let n = f.write(&value)?;
                if n != value.len() {
                    return Err(io::Error::from_raw_os_error(libc::EIO));
                }
                Ok(())
            })();
            let _ = tx.send(r.map_err(|e| e.raw_os_error().unwrap_or(libc::EIO)));
        });
        let wait = if may_block { BLOCK_WAIT } else { WRITE_WAIT };
        match rx.recv_timeout(wait) {
            Ok(r) => outcome(r),
            Err(_) => {
                self.pending = Some((format!("write to {path}"), rx));
                "blocks".into()
            }
        }
    }

    fn hold(&mut self, device: &str) -> Result<()> {
        if self.real {
            self.holds.push(Hold::Real(vfio_hold(&self.root, device)?));
        } else {
            let pid = Model::new(&self.root).hold(device)?;
            self.holds.push(Hold::Sim(pid));
        }
        Ok(())
    }

    fn release_all(&mut self) {
        for h in self.holds.drain(..) {
            match h {
                Hold::Real(fds) => drop(fds),
                Hold::Sim(pid) => {
                    let _ = Model::new(&self.root).release(pid);
                }
            }
        }
    }
}

fn miss_end(report: &mut Report, file: &str, scenario: &str, what: String) {
    report.mismatches.push(Mismatch {
        file: file.to_string(),
        scenario: scenario.to_string(),
        step: 0,
        what: format!("{what}: still pending at the end of the scenario"),
        expected: "a `release` step".into(),
        got: "none".into(),
    });
}

fn outcome(r: Result<(), i32>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => errno_name(e),
    }
}

fn parse_step(v: &Value) -> Result<Step> {
    if let Value::String(s) = v {
        if s == "release" {
            return Ok(Step {
                release: Some(Value::Null),
                ..Step::default()
            });
        }
        bail!("unknown step {s:?}");
    }
    let s: Step = yaml_serde::from_value(v.clone())?;
    let kinds = [
        s.write.is_some(),
        s.hold.is_some(),
        s.release.is_some(),
        s.expect_file.is_some(),
        s.expect_lines.is_some(),
        s.expect_list.is_some(),
        s.expect_exists.is_some(),
        s.expect_missing.is_some(),
        s.expect_link.is_some(),
    ];
    match kinds.iter().filter(|k| **k).count() {
        1 => {}
        0 if s.note.is_some() => {}
        n => bail!("a step does exactly one thing ({n} here)"),
    }
    if s.expect.is_some() && s.write.is_none() {
        bail!("`expect` goes with a `write`");
    }
    Ok(s)
}

/// `$NAME` and `${NAME}` replaced by the variable's value (unknown names stay).
pub fn subst(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(j) => (&b[..j], j + 2),
                None => ("", 0),
            }
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], n)
        };
        match vars.get(name) {
            Some(v) if !name.is_empty() => {
                out.push_str(v);
                rest = &after[len..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a VM does to use a device: `/dev/vfio/vfio`, the device's group attached to it with
/// the type1 IOMMU, and the device's fd (VFIO_GROUP_GET_DEVICE_FD). Closing them lets go.
fn vfio_hold(root: &Path, device: &str) -> Result<Vec<OwnedFd>> {
    const VFIO_GROUP_SET_CONTAINER: libc::c_ulong = 0x3b68; // _IO(';', 100 + 4)
    const VFIO_SET_IOMMU: libc::c_ulong = 0x3b66; // _IO(';', 100 + 2)
    const VFIO_GROUP_GET_DEVICE_FD: libc::c_ulong = 0x3b6a; // _IO(';', 100 + 6)
    const VFIO_TYPE1_IOMMU: libc::c_ulong = 1;
    const VFIO_TYPE1V2_IOMMU: libc::c_ulong = 3;
    let model = Model::new(root);
    let dev = model
        .device_dir(device)
        .with_context(|| format!("no PCI device or mdev {device}"))?;
    let group = fs::read_link(root.join(&dev).join("iommu_group"))
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
        .with_context(|| format!("{device} has no IOMMU group"))?;
    let open = |p: PathBuf| -> Result<OwnedFd> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .with_context(|| format!("opening {}", p.display()))?;
        Ok(OwnedFd::from(f))
    };
    let c = open(root.join("dev/vfio/vfio"))?;
    let g = open(root.join("dev/vfio").join(&group))?;
    let cfd: libc::c_int = c.as_raw_fd();
    // SAFETY: the ioctls of linux/vfio.h, with the argument types they take
    unsafe {
        if libc::ioctl(g.as_raw_fd(), VFIO_GROUP_SET_CONTAINER, &cfd) < 0 {
            return Err(io::Error::last_os_error()).context("VFIO_GROUP_SET_CONTAINER");
        }
        if libc::ioctl(c.as_raw_fd(), VFIO_SET_IOMMU, VFIO_TYPE1V2_IOMMU) < 0
            && libc::ioctl(c.as_raw_fd(), VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0
        {
            return Err(io::Error::last_os_error()).context("VFIO_SET_IOMMU");
        }
    }
    let name = std::ffi::CString::new(device).context("device name")?;
    // SAFETY: a NUL-terminated name, as VFIO_GROUP_GET_DEVICE_FD takes
    let d = unsafe { libc::ioctl(g.as_raw_fd(), VFIO_GROUP_GET_DEVICE_FD, name.as_ptr()) };
    if d < 0 {
        return Err(io::Error::last_os_error()).context("VFIO_GROUP_GET_DEVICE_FD");
    }
    // SAFETY: a new fd the kernel just returned, owned by nobody else
    let d = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(d) };
    Ok(vec![d, g, c])
}

/// The errno's name, as the scenarios spell it.
pub fn errno_name(e: i32) -> String {
    let n = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::EUSERS => "EUSERS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EPROTO => "EPROTO",
        _ => return format!("errno {e}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subst_replaces_known_names_only() {
        let mut v = BTreeMap::new();
        v.insert("PF".to_string(), "0000:04:00.0".to_string());
        assert_eq!(
            subst("$PCI/$PF/x ${PF}y $$ $NOPE", &v),
            "$PCI/0000:04:00.0/x 0000:04:00.0y $$ $NOPE"
        );
    }

    #[test]
    fn steps_parse_and_reject_two_actions() {
        let v: Value =
            yaml_serde::from_str("{write: {path: /a, value: 1}, expect: EINVAL}").unwrap();
        assert!(parse_step(&v).is_ok());
        let v: Value = yaml_serde::from_str("{write: {path: /a, value: 1}, hold: x}").unwrap();
        assert!(parse_step(&v).is_err());
        assert!(parse_step(&Value::String("release".into())).is_ok());
    }
}
