//! Asking before changing the host: `--yes` proceeds, a terminal gets a prompt (default
//! no), and without a terminal and without `--yes` nothing is changed.

use std::io::IsTerminal;
use std::sync::OnceLock;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use anyhow::Result;

use crate::error::{fail, Code};

/// Whether to proceed. `prompt` is a question such as "apply 3 changes to this host?".
pub(crate) fn confirm(prompt: &str, yes: bool) -> Result<bool> {
    confirm_with(prompt, yes, std::io::stdin().is_terminal())
}

/// [`confirm`] with the terminal test made explicit (for tests).
pub(crate) fn confirm_with(prompt: &str, yes: bool, terminal: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !terminal {
        return Err(fail(
            Code::Failure,
            format!(
                "refusing to {prompt_q} without confirmation: stdin is not a terminal; \
                 nothing was changed. Pass --yes to proceed (or --dry-run to see the writes)",
                prompt_q = prompt.trim_end_matches('?')
            ),
        ));
    }
    if crate::exec::interrupt::requested() {
        // a signal before the prompt: nothing was asked, nothing is done
        return Ok(false);
    }
    let signals = PromptSignals::install();
    let answer = dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .interact_opt();
    signals.restore();
    answered(answer, &mut std::io::stderr())
}

/// The terminal settings before the prompt, restored by the signal handler.
static TERMINAL: OnceLock<nix::libc::termios> = OnceLock::new();

/// SIGINT/SIGTERM/SIGHUP while the prompt waits: nothing has been changed and no lock is
/// held yet, so the run ends right here, as a "no" would — terminal settings and cursor
/// restored, "aborted; nothing was changed", exit 1. (Waiting for the read to return is
/// not enough: a signal just before the read starts would leave it waiting forever.)
extern "C" fn at_prompt(_sig: nix::libc::c_int) {
    const MSG: &[u8] = b"\x1b[?25h\nhostdev: aborted; nothing was changed\n";
    // SAFETY: tcsetattr, write and _exit are async-signal-safe; TERMINAL is set before
    // the handler is installed and never changes.
    unsafe {
        if let Some(t) = TERMINAL.get() {
            nix::libc::tcsetattr(0, nix::libc::TCSANOW, t);
        }
        nix::libc::write(2, MSG.as_ptr().cast(), MSG.len());
        nix::libc::_exit(1);
    }
}

/// The prompt's signal handlers, replaced by the previous ones when it is done.
struct PromptSignals(Vec<(Signal, SigAction)>);

impl PromptSignals {
    fn install() -> PromptSignals {
        // SAFETY: tcgetattr fills the zeroed struct; on failure it is not used.
        let mut t: nix::libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { nix::libc::tcgetattr(0, &mut t) } == 0 {
            let _ = TERMINAL.set(t);
        }
        let action = SigAction::new(
            SigHandler::Handler(at_prompt),
            SaFlags::empty(),
            SigSet::empty(),
        );
        let mut old = Vec::new();
        for sig in crate::exec::interrupt::SIGNALS {
            // SAFETY: the handler only calls async-signal-safe functions.
            if let Ok(prev) = unsafe { sigaction(sig, &action) } {
                old.push((sig, prev));
            }
        }
        PromptSignals(old)
    }

    /// Put the previous handlers back.
    fn restore(self) {
        for (sig, prev) in &self.0 {
            // SAFETY: re-installing the handler that was there before.
            let _ = unsafe { sigaction(*sig, prev) };
        }
    }
}

/// The prompt's answer. Ctrl-C at the prompt reaches us as a key, not a signal (the
/// terminal is in raw mode), and dialoguer reports it as `Interrupted` with the cursor
/// still hidden: that is a "no" — the cursor is shown again and the line ended, so the
/// caller ends with "aborted; nothing was changed" (exit 1).
fn answered(
    answer: Result<Option<bool>, dialoguer::Error>,
    term: &mut dyn std::io::Write,
) -> Result<bool> {
    match answer {
        Ok(a) => Ok(a == Some(true)),
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            // show the cursor again (DECTCEM), end the prompt's line
            let _ = term.write_all(b"\x1b[?25h\n");
            let _ = term.flush();
            Ok(false)
        }
        Err(e) => Err(anyhow::anyhow!(
            "reading the confirmation from the terminal: {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;

    /// Issue 12 item 10: Ctrl-C at the prompt is a "no" with the cursor shown again, not
    /// "IO error: read interrupted".
    #[test]
    fn ctrl_c_at_the_prompt_is_no_and_restores_the_cursor() {
        let mut term = Vec::new();
        let e = std::io::Error::new(std::io::ErrorKind::Interrupted, "read interrupted");
        assert!(!answered(Err(dialoguer::Error::IO(e)), &mut term).unwrap());
        assert_eq!(term, b"\x1b[?25h\n");
        let other = std::io::Error::other("boom");
        assert!(answered(Err(dialoguer::Error::IO(other)), &mut term).is_err());
        assert!(answered(Ok(Some(true)), &mut term).unwrap());
        assert!(!answered(Ok(None), &mut term).unwrap());
    }

    #[test]
    fn yes_proceeds_without_terminal() {
        assert!(confirm_with("apply 3 changes?", true, false).unwrap());
    }

    #[test]
    fn no_terminal_refuses_with_exit_1() {
        let err = confirm_with("apply 3 changes?", false, false).unwrap_err();
        assert_eq!(exit_code(&err).as_i32(), 1);
        assert_eq!(
            err.to_string(),
            "refusing to apply 3 changes without confirmation: stdin is not a terminal; \
             nothing was changed. Pass --yes to proceed (or --dry-run to see the writes)"
        );
    }
}
