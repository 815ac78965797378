//! Mutating commands on the real root need euid 0; against a fake root they run unprivileged.

use anyhow::Result;

use crate::error::{fail, Code};
use crate::host::root::Root;

/// Fail with exit 77 when `command` would change the real host without root.
pub fn require_root(fs: &Root, command: &str) -> Result<()> {
    check(fs.is_real_root(), nix::unistd::geteuid().is_root(), command)
}

fn check(real_root: bool, is_root: bool, command: &str) -> Result<()> {
    if real_root && !is_root {
        return Err(fail(
            Code::NoPerm,
            format!(
                "hostdev {command} changes the host: run it as root, e.g. `sudo hostdev {command} ...`"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;

    #[test]
    fn real_root_without_euid_0_is_77() {
        let err = check(true, false, "apply").unwrap_err();
        assert_eq!(exit_code(&err).as_i32(), 77);
        assert_eq!(
            err.to_string(),
            "hostdev apply changes the host: run it as root, e.g. `sudo hostdev apply ...`"
        );
        assert!(check(true, true, "apply").is_ok());
        assert!(check(false, false, "apply").is_ok());
    }
}
