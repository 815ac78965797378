//! SIGINT/SIGTERM/SIGHUP during a mutating run: the handler only records the signal; the
//! executor checks it between writes, so the write in flight completes and is recorded,
//! then the run stops cleanly and reports what was and was not done (exit 1: "incomplete").
//! Every wait before the host is changed (the run lock, `apply --wait-for-parents`) sleeps
//! in slices of at most [`SLICE`] through [`sleep`], so it ends well within a second of a
//! signal, with exit 1 and "nothing was changed" ([`interrupted_while`]); `apply`'s wait
//! for enabled VFs (`exec::apply::sriov`) watches the same signal between its polls.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::{fail, Code};

/// The signals that stop a run cleanly: Ctrl-C, `kill`/`systemctl stop`, a closed terminal.
pub(crate) const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// The longest a wait sleeps before looking at the flag again.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// The number of the first signal received; 0 while none arrived.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: nix::libc::c_int) {
    // Keep the first one: it is the one the report names.
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
}

/// Install the handler for SIGINT, SIGTERM and SIGHUP (idempotent).
pub(crate) fn install() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in SIGNALS {
        // SAFETY: the handler only does an atomic compare-exchange, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }
            .map_err(|e| anyhow::anyhow!("installing the {sig} handler: {e}"))?;
    }
    Ok(())
}

/// True once SIGINT, SIGTERM or SIGHUP arrived.
pub(crate) fn requested() -> bool {
    SIGNAL.load(Ordering::SeqCst) != 0
}

/// The signal that arrived (`SIGINT`, ...), if any.
pub(crate) fn signal() -> Option<Signal> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(Signal::try_from(n).unwrap_or(Signal::SIGTERM)),
    }
}

/// Sleep for `d`, in slices of at most [`SLICE`]; false (early) once a signal arrived.
pub(crate) fn sleep(d: Duration) -> bool {
    sleep_unless(d, requested)
}

fn sleep_unless(d: Duration, stop: impl Fn() -> bool) -> bool {
    // A deadline past what Instant can hold is "never": sleep in slices until stopped.
    let end = Instant::now().checked_add(d);
    loop {
        if stop() {
            return false;
        }
        let left = match end {
            Some(end) => end.saturating_duration_since(Instant::now()),
            None => SLICE,
        };
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(SLICE));
    }
}

/// The error that ends a run interrupted before its first write: exit 1, naming the
/// signal and what it was waiting for, and saying that nothing was changed.
pub(crate) fn interrupted_while(what: &str) -> anyhow::Error {
    fail(Code::Failure, interrupted_message(signal(), what))
}

fn interrupted_message(sig: Option<Signal>, what: &str) -> String {
    let sig = sig.map(|s| format!(" ({s})")).unwrap_or_default();
    format!("interrupted{sig} while {what}: nothing was changed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    // The process-wide flag is left alone here: other unit tests run in parallel.
    #[test]
    fn sleep_returns_early_once_stopped() {
        let stop = AtomicBool::new(false);
        let t0 = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                stop.store(true, Ordering::SeqCst);
            });
            assert!(!sleep_unless(Duration::MAX, || stop.load(Ordering::SeqCst)));
        });
        assert!(t0.elapsed() < Duration::from_secs(10));
        assert!(sleep_unless(Duration::from_millis(1), || false));
    }

    #[test]
    fn the_message_names_the_signal_and_says_nothing_changed() {
        assert_eq!(
            interrupted_message(Some(Signal::SIGHUP), "waiting for the run lock"),
            "interrupted (SIGHUP) while waiting for the run lock: nothing was changed"
        );
    }
}
