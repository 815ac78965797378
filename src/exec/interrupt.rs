//! SIGINT/SIGTERM during a mutating run: the handler only sets a flag; the executor checks
//! it between writes, so the write in flight completes and is recorded, then the run stops
//! cleanly and reports what was and was not done (exit 1: "incomplete", contract §3).

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Install the handler for SIGINT and SIGTERM (idempotent).
pub fn install() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(sig, &action) }
            .map_err(|e| anyhow::anyhow!("installing the {sig} handler: {e}"))?;
    }
    Ok(())
}

/// True once SIGINT or SIGTERM arrived.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// For tests: simulate or clear an interrupt.
pub fn set(v: bool) {
    INTERRUPTED.store(v, Ordering::SeqCst);
}
