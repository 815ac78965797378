//! Exit codes (contract §3) and the one error type that carries them to `main`.

use std::fmt;

/// sysexits-style exit codes, documented in the README and the man page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The operation ran and failed or is incomplete.
    Failure = 1,
    /// `plan --detailed-exitcode`: changes are pending.
    Pending = 2,
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
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// An error that ends the command with a specific exit code.
#[derive(Debug)]
pub struct Fail {
    pub code: Code,
    pub message: String,
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
pub fn exit_code(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Fail>())
        .map(|f| f.code.as_i32())
        .unwrap_or(1)
}
