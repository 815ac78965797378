//! Asking before changing the host: `--yes` proceeds, a terminal gets a prompt (default
//! no), and without a terminal and without `--yes` nothing is changed.

use std::io::IsTerminal;

use anyhow::Result;

use crate::error::{fail, Code};

/// Whether to proceed. `prompt` is a question such as "apply 3 changes to this host?".
pub fn confirm(prompt: &str, yes: bool) -> Result<bool> {
    confirm_with(prompt, yes, std::io::stdin().is_terminal())
}

/// [`confirm`] with the terminal test made explicit (for tests).
pub fn confirm_with(prompt: &str, yes: bool, terminal: bool) -> Result<bool> {
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
    let answer = dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .interact_opt()
        .map_err(|e| anyhow::anyhow!("reading the confirmation from the terminal: {e}"))?;
    Ok(answer == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;

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
