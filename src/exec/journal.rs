//! The one write helper for mutating commands. Every change to the host goes through
//! [`Journal::write`], [`Journal::destroy`] (a removal, a vGPU-type clear, an unbind or a
//! VF disable: only with a fresh proof, [`Destroy`]) or [`Journal::load_module`]: in a
//! dry run the write is recorded and printed (as a shell line, `echo VALUE > /sys/...`,
//! with the path as the host sees it) and not made; in a real run it is made through the
//! [`Kernel`], recorded, and appended as one JSON line to
//! `<root>/var/log/hostdev/audit.jsonl`. A worker's journal ([`Journal::worker`]) writes
//! at once; its lines are held and absorbed back in plan order. The records ([`Journal::writes`]) feed the run's
//! report and the tests.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::exec::progress::Progress;
use crate::host::live::Unheld;
use crate::host::root::Root;
use nix::fcntl::OFlag;

/// Where writes go. Production writes through [`Root::write`]; tests plug in a model of
/// the kernel that reacts to writes.
pub(crate) trait Kernel: Send {
    fn write(&mut self, path: &Path, value: &str) -> io::Result<()>;

    /// A second handle on the same kernel for a worker thread ([`Journal::worker`]), when
    /// writes through two handles at once are safe; `None` keeps the run on one thread.
    fn fork(&self) -> Option<Box<dyn Kernel>> {
        None
    }

    /// Load kernel module `name`: `Ok(true)` loaded, `Ok(false)` not attempted (a fake
    /// root has no kernel to load it into).
    fn load_module(&mut self, _name: &str) -> io::Result<bool> {
        Ok(false)
    }
}

impl Kernel for Root {
    fn write(&mut self, path: &Path, value: &str) -> io::Result<()> {
        Root::write(self, path, value)
    }

    /// The kernel serialises what must be: writes to different devices run side by side.
    fn fork(&self) -> Option<Box<dyn Kernel>> {
        Some(Box::new(self.clone()))
    }

    /// `modprobe NAME` (a fixed command line; `NAME` is one of hostdev's constants), on the
    /// real root only.
    fn load_module(&mut self, name: &str) -> io::Result<bool> {
        if !self.is_real_root() {
            return Ok(false);
        }
        let st = std::process::Command::new("modprobe")
            .arg(name)
            .stdin(std::process::Stdio::null())
            .status()?;
        if st.success() {
            Ok(true)
        } else {
            Err(io::Error::other(format!("modprobe {name} failed ({st})")))
        }
    }
}

/// The writes that destroy something a VM may be using. [`Journal::destroy`] makes them,
/// only with a fresh [`Unheld`] proof; [`Journal::write`] refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destroy {
    /// `remove` ← 1 of an mdev.
    MdevRemove,
    /// `nvidia/current_vgpu_type` ← 0 of a vendor-VFIO VF.
    VgpuClear,
    /// `driver/unbind` of a PCI function.
    Unbind,
    /// `sriov_numvfs` ← 0 of a physical function (every VF and its vGPU goes).
    SriovDisable,
}

impl Destroy {
    /// The audit log's action token.
    pub(crate) fn action(self) -> &'static str {
        match self {
            Destroy::MdevRemove => "mdev.remove",
            Destroy::VgpuClear => "vgpu.clear",
            Destroy::Unbind => "vfio.unbind",
            Destroy::SriovDisable => "sriov.disable",
        }
    }

    fn of(action: &str) -> Option<Destroy> {
        [
            Destroy::MdevRemove,
            Destroy::VgpuClear,
            Destroy::Unbind,
            Destroy::SriovDisable,
        ]
        .into_iter()
        .find(|d| d.action() == action)
    }
}

/// A failed write: path, value and the kernel's error.
#[derive(Debug)]
pub(crate) struct WriteError {
    pub(crate) path: String,
    pub(crate) value: String,
    pub(crate) source: io::Error,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "write '{}' to {}: {}",
            self.value, self.path, self.source
        )
    }
}

impl std::error::Error for WriteError {}

/// One write, made or (in a dry run) only planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteRecord {
    pub(crate) action: String,
    /// The path as the host sees it (`/sys/...`).
    pub(crate) path: String,
    pub(crate) value: String,
    /// `ok`, `error` or `dry-run`.
    pub(crate) result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

#[derive(Serialize)]
struct AuditLine<'a> {
    time: String,
    pid: u32,
    action: &'a str,
    path: &'a str,
    value: &'a str,
    result: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

pub struct Journal {
    pub(crate) root: Root,
    pub(crate) dry_run: bool,
    /// The audit log (real runs only).
    pub(crate) audit: Option<PathBuf>,
    kernel: Box<dyn Kernel>,
    echo: Box<dyn Write + Send>,
    writes: Vec<WriteRecord>,
    /// The first failure to append to the audit log: the run stops before its next write.
    audit_error: Option<String>,
    /// The bar of a long run on a terminal (see [`Journal::show_progress`]), shared with
    /// the workers.
    progress: Option<Arc<Mutex<Progress>>>,
    /// A worker's journal ([`Journal::worker`]): its audit lines and dry-run lines, held
    /// until [`Journal::absorb`] appends them in plan order.
    held: Option<Held>,
}

/// What a worker's journal holds back for its parent.
#[derive(Default)]
struct Held {
    /// Serialised audit lines, with the write each records.
    audit: Vec<(String, WriteRecord)>,
    echo: Arc<Mutex<Vec<u8>>>,
}

/// A dry-run sink that keeps the lines (a worker's, until absorbed).
struct Keep(Arc<Mutex<Vec<u8>>>);

impl Write for Keep {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Journal {
    /// A journal writing through `root`; dry-run lines go to stdout.
    pub fn new(root: &Root, dry_run: bool) -> Result<Journal> {
        Journal::with_kernel(
            root,
            dry_run,
            Box::new(root.clone()),
            Box::new(io::stdout()),
        )
    }

    /// A journal with an explicit kernel and dry-run sink (tests). A real run checks that
    /// the audit log can be opened before anything is changed.
    pub(crate) fn with_kernel(
        root: &Root,
        dry_run: bool,
        kernel: Box<dyn Kernel>,
        echo: Box<dyn Write + Send>,
    ) -> Result<Journal> {
        let audit = if dry_run {
            None
        } else {
            let path = root.audit_log();
            open_audit(root, &path)?;
            Some(path)
        };
        Ok(Journal {
            root: root.clone(),
            dry_run,
            audit,
            kernel,
            echo,
            writes: Vec::new(),
            audit_error: None,
            progress: None,
            held: None,
        })
    }

    /// A journal for a worker thread writing to the same host: its writes go through a
    /// fork of the kernel at once, while its audit-log and dry-run lines are held until
    /// [`Journal::absorb`], so both stay in plan order whatever the order of the writes.
    /// `None` when the kernel cannot be forked (the run stays on one thread).
    pub(crate) fn worker(&self) -> Option<Journal> {
        let kernel = self.kernel.fork()?;
        let held = Held::default();
        Some(Journal {
            root: self.root.clone(),
            dry_run: self.dry_run,
            audit: self.audit.clone(),
            kernel,
            echo: Box::new(Keep(held.echo.clone())),
            writes: Vec::new(),
            audit_error: None,
            progress: self.progress.clone(),
            held: Some(held),
        })
    }

    /// Take in a worker's journal: its writes, audit-log lines and dry-run lines are
    /// appended after this journal's own.
    pub(crate) fn absorb(&mut self, worker: Journal) {
        let Journal { writes, held, .. } = worker;
        let Some(held) = held else { return };
        if let Ok(echo) = held.echo.lock() {
            let _ = self.echo.write_all(&echo);
        }
        for (line, record) in &held.audit {
            self.append_line(line, record);
        }
        self.writes.extend(writes);
    }

    /// Write `value` to `path` (an absolute path under the root), as action `what`
    /// (a stable token such as `mdev.create`).
    pub(crate) fn write(&mut self, path: &Path, value: &str, what: &str) -> Result<(), WriteError> {
        if Destroy::of(what).is_some() {
            return Err(WriteError {
                path: self.root.display(path),
                value: value.to_string(),
                source: io::Error::other(format!(
                    "{what} destroys what a VM may use: it needs a fresh proof that nothing holds the device (Journal::destroy); nothing was written"
                )),
            });
        }
        self.record_write(path, value, what)
    }

    /// A destructive write ([`Destroy`]), allowed by `proof`, found right before it (see
    /// [`crate::host::live::unheld_mdev`] and its siblings); the proof is spent.
    pub(crate) fn destroy(
        &mut self,
        proof: Unheld,
        kind: Destroy,
        path: &Path,
        value: &str,
    ) -> Result<(), WriteError> {
        log::debug!(
            "{} of {}: nothing holds it (checked right before)",
            kind.action(),
            proof.device()
        );
        self.record_write(path, value, kind.action())
    }

    fn record_write(&mut self, path: &Path, value: &str, what: &str) -> Result<(), WriteError> {
        let shown = self.root.display(path);
        if self.dry_run {
            // A closed stdout must not turn a dry run into a failure of the plan itself.
            let _ = writeln!(
                self.echo,
                "echo {} > {}",
                shell_quote(value),
                shell_quote(&shown)
            );
            self.writes.push(WriteRecord {
                action: what.to_string(),
                path: shown,
                value: value.to_string(),
                result: "dry-run".into(),
                error: None,
            });
            return Ok(());
        }
        if let Some(p) = &self.progress {
            if let Ok(mut p) = p.lock() {
                p.step(&shown);
            }
        }
        let outcome = self.kernel.write(path, value);
        let error = outcome.as_ref().err().map(|e| e.to_string());
        let record = WriteRecord {
            action: what.to_string(),
            path: shown.clone(),
            value: value.to_string(),
            result: if outcome.is_ok() { "ok" } else { "error" }.into(),
            error: error.clone(),
        };
        self.append_audit(&record);
        self.writes.push(record);
        outcome.map_err(|source| WriteError {
            path: shown,
            value: value.to_string(),
            source,
        })
    }

    /// Load kernel module `name` (`modprobe NAME`), as action `module.load`: in a dry run
    /// the command is printed and recorded; in a real run it is run (on the real root) and
    /// recorded in the audit log like a write — `ok`, `error`, or `skipped` under a fake
    /// root, which has no kernel to load it into.
    pub(crate) fn load_module(&mut self, name: &str) -> Result<(), WriteError> {
        let mut record = WriteRecord {
            action: "module.load".into(),
            path: "modprobe".into(),
            value: name.to_string(),
            result: "dry-run".into(),
            error: None,
        };
        if self.dry_run {
            let _ = writeln!(self.echo, "modprobe {}", shell_quote(name));
            self.writes.push(record);
            return Ok(());
        }
        let outcome = self.kernel.load_module(name);
        record.result = match &outcome {
            Ok(true) => "ok",
            Ok(false) => "skipped",
            Err(_) => "error",
        }
        .into();
        record.error = outcome.as_ref().err().map(|e| e.to_string());
        self.append_audit(&record);
        self.writes.push(record);
        outcome.map(|_| ()).map_err(|source| WriteError {
            path: "modprobe".into(),
            value: name.to_string(),
            source,
        })
    }

    /// Why the audit log could not be appended to, once that happened. A failing audit
    /// write does not undo the change it records (that is made and reported); the run
    /// stops before its next write, as for a state file that cannot be written
    /// (docs: "apply, teardown and saved plans").
    pub(crate) fn audit_error(&self) -> Option<&str> {
        self.audit_error.as_deref()
    }

    /// Show a progress bar while writing (a real run on a terminal; `expected` writes when
    /// the job knows how many).
    pub(crate) fn show_progress(&mut self, expected: Option<u64>) {
        if !self.dry_run {
            self.progress = Some(Arc::new(Mutex::new(Progress::new(expected))));
        }
    }

    /// Take the bar off the screen before the summary.
    pub(crate) fn finish_progress(&mut self) {
        if let Some(p) = self.progress.take() {
            if let Ok(mut p) = p.lock() {
                p.finish();
            }
        }
    }

    /// Every write so far, in order.
    pub fn writes(&self) -> &[WriteRecord] {
        &self.writes
    }

    fn append_audit(&mut self, r: &WriteRecord) {
        if self.audit.is_none() {
            return;
        }
        let line = AuditLine {
            time: now_rfc3339(),
            pid: std::process::id(),
            action: &r.action,
            path: &r.path,
            value: &r.value,
            result: &r.result,
            error: r.error.as_deref(),
        };
        let line = match serde_json::to_string(&line) {
            Ok(mut s) => {
                s.push('\n');
                s
            }
            Err(e) => return self.audit_failed(&e.to_string(), r),
        };
        match &mut self.held {
            Some(held) => held.audit.push((line, r.clone())),
            None => self.append_line(&line, r),
        }
    }

    /// Append one serialised line (of record `r`) to the audit log.
    fn append_line(&mut self, line: &str, r: &WriteRecord) {
        let Some(path) = &self.audit else { return };
        let res = self
            .root
            .open_own(path, OFlag::O_WRONLY | OFlag::O_APPEND, 0o640)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = res {
            self.audit_failed(&e.to_string(), r);
        }
    }

    fn audit_failed(&mut self, e: &str, r: &WriteRecord) {
        let Some(path) = &self.audit else { return };
        // The change itself happened: it is reported; the caller stops before the next.
        let msg = format!(
            "could not append to the audit log {}: {e} (the write of '{}' to {} was {})",
            self.root.display(path),
            r.value,
            r.path,
            r.result
        );
        log::error!("{msg}");
        self.audit_error.get_or_insert(msg);
    }
}

/// Open (creating it and `var/log/hostdev`) the audit log, following no symlink at
/// `var/log/hostdev` or the file (see [`Root::open_own`]).
fn open_audit(fs: &Root, path: &Path) -> Result<()> {
    fs.open_own(path, OFlag::O_WRONLY | OFlag::O_APPEND, 0o640)
        .with_context(|| {
            format!(
                "opening the audit log {}; nothing was changed",
                fs.display(path)
            )
        })?;
    Ok(())
}

/// Quote for a POSIX shell when needed.
pub(crate) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/,+=@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Now, as RFC 3339 UTC with seconds (`2024-05-01T12:34:56Z`).
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch → RFC 3339 UTC (civil-from-days, proleptic Gregorian).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::root::AUDIT_LOG;
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Issue 21 item 1: a destructive write without a proof is refused and writes nothing;
    /// with a proof found right before, it is made and audited like any write.
    #[test]
    fn destructive_writes_need_a_proof() {
        let d = tempfile::tempdir().unwrap();
        let fs = Root::new(d.path());
        let uuid = "00000000-0000-4000-8000-000000000001";
        let dir = d.path().join("sys/bus/mdev/devices").join(uuid);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("remove"), "").unwrap();
        let mut j = Journal::new(&fs, false).unwrap();
        for kind in [Destroy::MdevRemove, Destroy::VgpuClear, Destroy::Unbind] {
            let err = j
                .write(&dir.join("remove"), "1", kind.action())
                .unwrap_err();
            assert!(err.to_string().contains("needs a fresh proof"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(dir.join("remove")).unwrap(), "");
        assert!(j.writes().is_empty(), "nothing recorded");
        let proof = crate::host::live::unheld_mdev(&fs, uuid).unwrap().unwrap();
        j.destroy(proof, Destroy::MdevRemove, &dir.join("remove"), "1")
            .unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("remove")).unwrap(), "1");
        assert_eq!(j.writes()[0].action, "mdev.remove");
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_566_896), "2024-05-01T12:34:56Z");
    }

    #[test]
    fn dry_run_prints_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let fs = Root::new(d.path());
        std::fs::create_dir_all(d.path().join("sys")).unwrap();
        std::fs::write(d.path().join("sys/remove"), "").unwrap();
        let buf = Buf::default();
        let mut j =
            Journal::with_kernel(&fs, true, Box::new(fs.clone()), Box::new(buf.clone())).unwrap();
        j.write(&d.path().join("sys/remove"), "1", "mdev.create")
            .unwrap();
        assert_eq!(
            String::from_utf8(buf.0.lock().unwrap().clone()).unwrap(),
            "echo 1 > /sys/remove\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.path().join("sys/remove")).unwrap(),
            ""
        );
        assert!(!d.path().join("var").exists(), "no audit log in a dry run");
        assert_eq!(j.writes()[0].result, "dry-run");
    }

    #[test]
    fn real_write_is_audited_and_errors_name_path_value_and_os_error() {
        let d = tempfile::tempdir().unwrap();
        let fs = Root::new(d.path());
        std::fs::create_dir_all(d.path().join("sys")).unwrap();
        std::fs::write(d.path().join("sys/create"), "").unwrap();
        let mut j = Journal::new(&fs, false).unwrap();
        j.write(&d.path().join("sys/create"), "abc", "mdev.create")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("sys/create")).unwrap(),
            "abc"
        );
        let err = j
            .write(&d.path().join("sys/missing"), "1", "mdev.create")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "write '1' to /sys/missing: No such file or directory (os error 2)"
        );
        let audit = std::fs::read_to_string(d.path().join(AUDIT_LOG)).unwrap();
        let lines: Vec<serde_json::Value> = audit
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["action"], "mdev.create");
        assert_eq!(lines[0]["path"], "/sys/create");
        assert_eq!(lines[0]["value"], "abc");
        assert_eq!(lines[0]["result"], "ok");
        assert_eq!(lines[1]["result"], "error");
        assert_eq!(lines[1]["error"], "No such file or directory (os error 2)");
        assert!(lines[1]["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(j.writes().len(), 2);
    }
}
