//! The one exit channel: every command returns a [`Code`], every error carries one
//! ([`Fail`]), and `main` turns it into the process status. The table of codes, with the
//! text shown by `--help`, the man pages and the docs, is [`Code::ALL`] — nowhere else.
//! [`TooLarge`] is the one error of an input over its size limit, for every layer that reads
//! one (the root's reads, the configuration, saved plans).

use std::fmt;

/// sysexits-style exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Success (and, for `plan --detailed-exitcode`, the host already matches).
    Ok = 0,
    /// The operation ran and failed or is incomplete.
    Failure = 1,
    /// `plan --detailed-exitcode`: changes are pending.
    Changes = 2,
    /// The host cannot reach the configuration yet: a GPU is not ready for its vGPUs.
    NotReady = 3,
    /// Bad flag or argument.
    Usage = 64,
    /// Invalid configuration.
    Config = 65,
    /// Configuration file or named device not found.
    NotFound = 66,
    /// Another hostdev run holds the lock.
    Locked = 75,
    /// Not root for a mutating command on the real root.
    NoPerm = 77,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 9] = [
        Code::Ok,
        Code::Failure,
        Code::Changes,
        Code::NotReady,
        Code::Usage,
        Code::Config,
        Code::NotFound,
        Code::Locked,
        Code::NoPerm,
    ];

    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// `0` when everything succeeded, else [`Code::Failure`].
    pub(crate) fn failure_if(failed: bool) -> Code {
        if failed {
            Code::Failure
        } else {
            Code::Ok
        }
    }

    /// A few words, for the one-line list of `--help`.
    pub(crate) fn short(self) -> &'static str {
        match self {
            Code::Ok => "success",
            Code::Failure => "failed or incomplete",
            Code::Changes => "changes pending (plan --detailed-exitcode)",
            Code::NotReady => "not ready: the configuration cannot be reached yet",
            Code::Usage => "usage error",
            Code::Config => "invalid configuration",
            Code::NotFound => "configuration file or device not found",
            Code::Locked => "another hostdev run holds the lock",
            Code::NoPerm => "permission denied",
        }
    }

    /// The full sentence, for the man pages and the docs.
    pub fn description(self) -> &'static str {
        match self {
            Code::Ok => {
                "Success. For plan --detailed-exitcode: the host already matches the configuration."
            }
            Code::Failure => {
                "The operation ran and failed or is incomplete (a check failed, a device is in use, a write failed)."
            }
            Code::Changes => "plan --detailed-exitcode only: changes are pending.",
            Code::NotReady => {
                "Not ready: nothing more can be done now, but the host does not match the configuration, because a GPU is not ready for vGPUs (SR-IOV VFs not enabled, vGPU types not published; the message says which and the fix). apply, plan --detailed-exitcode and status; re-run once fixed."
            }
            Code::Usage => "Usage error (bad flag, bad argument).",
            Code::Config => {
                "Invalid configuration (YAML syntax, unknown field, wrong type, bad selector); the message names file, line, column and field."
            }
            Code::NotFound => "Configuration file or named device not found.",
            Code::Locked => "Another hostdev run holds the lock.",
            Code::NoPerm => {
                "Permission denied (not root for a mutating command on the real root)."
            }
        }
    }

    /// `Exit codes: 0 success, 1 failed or incomplete, …` for `--help`.
    pub(crate) fn help_line() -> String {
        let items: Vec<String> = Code::ALL
            .iter()
            .map(|c| format!("{} {}", c.as_i32(), c.short()))
            .collect();
        format!("Exit codes: {}.", items.join(", "))
    }
}

/// An error that ends the command with a specific exit code.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// Build an `anyhow::Error` that exits with `code`.
pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fail {
        code,
        message: message.into(),
    })
}

/// The exit code for any error: a [`Fail`] anywhere in the chain decides, otherwise 1.
pub fn exit_code(err: &anyhow::Error) -> Code {
    err.chain()
        .find_map(|e| e.downcast_ref::<Fail>())
        .map(|f| f.code)
        .unwrap_or(Code::Failure)
}

// ---- an input over its limit -------------------------------------------------------

/// The error of a file larger than its limit (see [`is_too_large`]).
#[derive(Debug)]
pub(crate) struct TooLarge {
    pub(crate) limit: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "larger than the limit of {}", human_size(self.limit))
    }
}

impl std::error::Error for TooLarge {}

/// Whether `e` is a [`TooLarge`] error.
pub(crate) fn is_too_large(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<TooLarge>())
}

/// `1 MiB`, `4096 bytes`.
pub(crate) fn human_size(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sorted() {
        let n: Vec<i32> = Code::ALL.iter().map(|c| c.as_i32()).collect();
        let mut sorted = n.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(n, sorted);
    }
}
