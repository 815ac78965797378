//! Unit-test support (compiled only for tests): the test kernel. Every write goes to the
//! one model of the kernel, [`hostdev_sim::Model`] (the model the FUSE server of
//! `hostdev-sim serve` answers from), through a thin wrapper that can inject faults:
//! errors on matching paths (always, or the first N times), a gate every write meets
//! first (outside the lock: workers meet there), a hook after every write, and forks (a
//! handle per worker thread).
//!
//! A write the kernel would block (removing or unbinding a device a process holds open)
//! panics: hostdev must never make one.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::exec::journal::Kernel;

/// Called after every write with the count of writes so far through this handle.
pub(crate) type Hook = Arc<Mutex<Option<Box<dyn FnMut(usize) + Send>>>>;

/// Called before every write, outside the model's lock.
pub(crate) type Gate = Arc<dyn Fn(&Path) + Send + Sync>;

/// The faults a test injects; clones share them.
#[derive(Clone, Default)]
pub(crate) struct Faults {
    /// (path suffix, errno): writes to a matching path fail.
    pub(crate) errors: Arc<Mutex<Vec<(String, i32)>>>,
    /// Called after every write with the count so far (to open a device, ...).
    pub(crate) after: Hook,
    /// Called before every write, outside the model's lock (workers meet here).
    pub(crate) gate: Arc<Mutex<Option<Gate>>>,
    /// (path suffix, errno, times): the first `times` writes to a matching path fail.
    pub(crate) first: Arc<Mutex<Vec<(String, i32, usize)>>>,
    /// What the model itself refused: (path, errno), in order (injected errors are not
    /// listed).
    pub(crate) refused: Arc<Mutex<Vec<(String, i32)>>>,
}

/// The test kernel: [`Faults`], then [`hostdev_sim::Model::write`].
pub(crate) struct SimKernel {
    model: hostdev_sim::Model,
    faults: Faults,
    n: usize,
    /// Forks share it: the model's changes to the tree are made one at a time.
    tree: Arc<Mutex<()>>,
    /// Whether a fork may be handed out (a worker per GPU).
    forks: bool,
}

impl SimKernel {
    pub(crate) fn new(root: &Path, faults: Faults, forks: bool) -> SimKernel {
        SimKernel {
            model: hostdev_sim::Model::new(root),
            faults,
            n: 0,
            tree: Arc::default(),
            forks,
        }
    }

    /// The kernel of `root` without faults (a write behind hostdev's back).
    pub(crate) fn plain(root: &Path) -> SimKernel {
        SimKernel::new(root, Faults::default(), false)
    }

    fn injected(&self, path: &Path) -> Option<i32> {
        let shown = path.to_string_lossy().into_owned();
        let always = self
            .faults
            .errors
            .lock()
            .unwrap()
            .iter()
            .find(|(suffix, _)| shown.ends_with(suffix.as_str()))
            .map(|(_, e)| *e);
        always.or_else(|| {
            self.faults
                .first
                .lock()
                .unwrap()
                .iter_mut()
                .find(|(suffix, _, n)| *n > 0 && shown.ends_with(suffix.as_str()))
                .map(|(_, e, n)| {
                    *n -= 1;
                    *e
                })
        })
    }
}

/// What the model answers, as the writer sees it.
pub(crate) fn answer(path: &Path, r: hostdev_sim::model::Outcome) -> io::Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(hostdev_sim::model::Refusal::Errno(e)) => Err(io::Error::from_raw_os_error(e)),
        Err(hostdev_sim::model::Refusal::Blocked(who)) => panic!(
            "hostdev wrote to an in-use device (the kernel would block): {} (held by {who})",
            path.display()
        ),
    }
}

impl Kernel for SimKernel {
    fn fork(&self) -> Option<Box<dyn Kernel>> {
        self.forks.then(|| {
            Box::new(SimKernel {
                model: self.model.clone(),
                faults: self.faults.clone(),
                n: 0,
                tree: self.tree.clone(),
                forks: true,
            }) as Box<dyn Kernel>
        })
    }

    fn write(&mut self, path: &Path, value: &str) -> io::Result<()> {
        let gate = self.faults.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate(path);
        }
        let tree = self.tree.clone();
        let _one_at_a_time = tree.lock().unwrap();
        std::fs::metadata(path)?; // a missing attribute: ENOENT, as the kernel
        let r = match self.injected(path) {
            Some(e) => Err(io::Error::from_raw_os_error(e)),
            None => {
                let r = self.model.write(path, value.as_bytes());
                if let Err(hostdev_sim::model::Refusal::Errno(e)) = &r {
                    let shown = path.to_string_lossy().into_owned();
                    self.faults.refused.lock().unwrap().push((shown, *e));
                }
                answer(path, r)
            }
        };
        self.n += 1;
        if let Some(f) = self.faults.after.lock().unwrap().as_mut() {
            f(self.n);
        }
        r
    }
}
