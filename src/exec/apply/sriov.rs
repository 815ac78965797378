//! Enabling and disabling the SR-IOV virtual functions of vGPU GPUs (`sriov_numvfs`, the
//! write NVIDIA's `sriov-manage -e` makes; docs/nvidia.md "Virtual functions").
//!
//! Enabling is written ahead to the state file (so `teardown` disables only what hostdev
//! enabled), retries what a driver that is still starting answers ([`TRANSIENT`]) with a
//! doubling pause within the run's `--vf-timeout`, then waits until every VF offers its
//! vGPU types ([`live::vfs_ready`]) — again up to `--vf-timeout` from the moment the write
//! returned (the kernel enables one GPU's VFs at a time, host-wide) — polling every 0.1 s
//! and ending at once on SIGINT/SIGTERM. Each GPU is enabled on a worker of its own.
//! Disabling destroys every VF and its vGPU: it needs a fresh proof that none is in use
//! ([`live::vfs_free`]), found right before the write.

use std::time::{Duration, Instant};

use anyhow::Result;
use nix::libc;

use super::Executor;
use crate::exec::journal::Destroy;
use crate::host::live;
use crate::outcome::{Halt, NotDone};
use crate::plan::{Action, SriovAction};

/// What a driver that is still starting answers to `sriov_numvfs` (the field's boot race:
/// the GPU's driver not yet done initialising it): tried again until the timeout. `EAGAIN`
/// and `EBUSY` are what NVIDIA's driver and the kernel's `sriov_numvfs` return while the
/// device is busy; `ENODEV`, `ETIMEDOUT` and `EINTR` what a device still coming up gives.
/// Everything else (`ENOENT`: no driver with SR-IOV support; `ERANGE`: more VFs than the
/// device has; `EINVAL`, `EIO`, `ENOMEM`, `ENOSPC`) fails the GPU at once.
pub(crate) const TRANSIENT: &[i32] = &[
    libc::EAGAIN,
    libc::EBUSY,
    libc::ENODEV,
    libc::ETIMEDOUT,
    libc::EINTR,
];

/// The first pause before a retry; each next one doubles, up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LAST_RETRY: Duration = Duration::from_secs(4);
/// How often the VFs are looked at while they are set up.
const POLL: Duration = Duration::from_millis(100);

/// The default of `apply --vf-timeout`: how long one GPU's enabling may take.
pub(crate) const VF_TIMEOUT: Duration = Duration::from_secs(120);

impl Executor<'_> {
    /// Enable the VFs of GPUs (one worker per GPU): record each ahead, write
    /// `sriov_numvfs`, retry while the driver is starting, wait until the VFs offer vGPU
    /// types. A GPU whose VFs did not come is forgotten again; one whose VFs came but did
    /// not get ready stays recorded (they exist: `teardown` disables them).
    pub(crate) fn enable_vfs(&mut self, actions: &[Action]) {
        if actions.is_empty() || !self.record_ahead(actions) {
            return;
        }
        self.per_gpu(actions, &|e, a| e.enable_writes(a));
        if self.journal.dry_run {
            return;
        }
        let fs = self.fs();
        for a in actions {
            if let Action::EnableVfs(s) = a {
                if live::sriov_numvfs(&fs, &s.address) != Some(s.count) {
                    self.drop_record(a);
                }
            }
        }
        self.save();
    }

    /// The writes and waits of [`Executor::enable_vfs`] (one GPU's, on a worker).
    fn enable_writes(&mut self, actions: &[Action]) {
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            if let Action::EnableVfs(s) = a {
                self.enable_one(a, s);
            }
        }
    }

    fn enable_one(&mut self, a: &Action, s: &SriovAction) {
        let start = Instant::now();
        let deadline = start + self.vf_timeout;
        if let Err(reason) = self.write_numvfs(s, deadline) {
            self.outcome.failed.push(NotDone {
                action: a.clone(),
                reason,
            });
            return;
        }
        if self.journal.dry_run {
            self.outcome.done.push(a.clone());
            return;
        }
        // the kernel makes one VF enablement at a time, host-wide (a write may wait for
        // another GPU's): the wait for the VFs' types gets its own --vf-timeout, from the
        // moment this GPU's write returned
        let deadline = Instant::now() + self.vf_timeout;
        let fs = self.fs();
        loop {
            match live::vfs_ready(&fs, &s.address, s.count) {
                Ok(()) => {
                    log::info!(
                        "{}: {} VF(s) enabled and offering vGPU types after {:.1} s",
                        s.address,
                        s.count,
                        start.elapsed().as_secs_f64()
                    );
                    self.outcome.done.push(a.clone());
                    return;
                }
                Err(why) if Instant::now() >= deadline => {
                    let reason = format!(
                        "{} VF(s) enabled on {}, but not ready for vGPUs after {:.0} s (--vf-timeout): {why}; \
                         check `journalctl -u nvidia-vgpu-mgr`, then re-run `hostdev apply`",
                        s.count,
                        s.address,
                        self.vf_timeout.as_secs_f64()
                    );
                    self.outcome.failed.push(NotDone {
                        action: a.clone(),
                        reason,
                    });
                    return;
                }
                Err(_) => {
                    if !self.pause(POLL) {
                        self.outcome.not_done(a, Halt::Interrupted.reason());
                        return;
                    }
                }
            }
        }
    }

    /// `sriov_numvfs` ← count, tried again on a [`TRANSIENT`] error until `deadline`;
    /// every attempt is a write of the journal (and a line of the audit log).
    fn write_numvfs(&mut self, s: &SriovAction, deadline: Instant) -> Result<(), String> {
        let fs = self.fs();
        let path = fs.pci_device(&s.address).join("sriov_numvfs");
        let mut pause = FIRST_RETRY;
        loop {
            let e = match self
                .journal
                .write(&path, &s.count.to_string(), "sriov.enable")
            {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            // enabled meanwhile by someone else (sriov-manage at boot): what was wanted, or
            // another count, which only a disable could change (the kernel's EBUSY)
            match live::sriov_numvfs(&fs, &s.address) {
                Some(n) if n == s.count => return Ok(()),
                Some(n) if n > 0 => {
                    return Err(format!(
                        "{e}: {n} VFs were enabled meanwhile by someone else; left as they are"
                    ))
                }
                _ => {}
            }
            let transient = e
                .source
                .raw_os_error()
                .is_some_and(|n| TRANSIENT.contains(&n));
            if !transient {
                return Err(e.to_string());
            }
            if Instant::now() + pause > deadline {
                return Err(format!(
                    "{e}; still failing after {:.0} s (--vf-timeout): the GPU's driver did not become ready",
                    self.vf_timeout.as_secs_f64()
                ));
            }
            log::warn!(
                "{}: {e}; the driver may still be starting: trying again in {:.2} s",
                s.address,
                pause.as_secs_f64()
            );
            if !self.pause(pause) {
                return Err(Halt::Interrupted.reason().to_string());
            }
            pause = (pause * 2).min(LAST_RETRY);
        }
    }

    /// Sleep `d` in slices, watching the stop flag; false when a stop was requested.
    fn pause(&mut self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.should_stop().is_some() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep(crate::exec::interrupt::SLICE.min(end - now));
        }
    }

    /// Disable the VFs of GPUs (`sriov_numvfs` ← 0), each only with a proof, found right
    /// before the write, that no VF is held open or carries a vGPU. A GPU in use is left
    /// enabled, named, its record kept.
    pub(crate) fn disable_vfs(&mut self, actions: &[Action]) -> Result<()> {
        let fs = self.fs();
        for (i, a) in actions.iter().enumerate() {
            if self.stopping(&actions[i..]) {
                break;
            }
            let Action::DisableVfs(s) = a else { continue };
            if live::sriov_numvfs(&fs, &s.address) == Some(0) {
                self.outcome.gone.push(a.clone());
                self.forget(a);
                continue;
            }
            let proof = match live::vfs_free(&fs, &s.address)? {
                Ok(proof) => proof,
                Err(busy) => {
                    let reason = format!(
                        "{} keeps its {} VF(s): {}",
                        s.address,
                        s.from,
                        match &busy {
                            live::Busy::Held(h) => crate::host::tree::in_use_by(h),
                            live::Busy::Carries(what) => format!("they carry {what}"),
                        }
                    );
                    self.outcome.not_done(a, reason);
                    continue;
                }
            };
            let path = fs.pci_device(&s.address).join("sriov_numvfs");
            let done = self
                .journal
                .destroy(proof, Destroy::SriovDisable, &path, "0");
            if self.record(a, done) {
                self.forget(a);
            }
        }
        self.save();
        Ok(())
    }
}
