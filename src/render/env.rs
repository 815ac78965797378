//! `env` output: the `hostdev/v1` document ([`EnvDoc`]), `NAME=value` lines, NUL-ended
//! entries and `export` lines. The variables are computed in `plan::env`; here they are
//! only written, and refused whole when one cannot be written unambiguously.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::error::{fail, Code};
use crate::plan::env::EnvVar;

/// The `env --format json` document.
#[derive(Serialize)]
pub(crate) struct EnvDoc<'a> {
    pub(crate) schema: &'static str,
    pub(crate) include_external: bool,
    pub(crate) variables: &'a [EnvVar],
}

/// Characters a value may hold in `NAME=value` lines without quoting: systemd's
/// EnvironmentFile= would unescape `\` and strip quotes and blanks, docker's --env-file
/// takes everything literally, so only these mean the same to both.
fn env_file_safe(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:,/+@%".contains(c))
}

/// A name a POSIX shell accepts in `export`: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_shell_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME=value` lines. Anything that could be misread is refused, naming the variable,
/// and then nothing is written (every line is checked first).
pub(crate) fn env_lines(out: &mut dyn Write, vars: &[EnvVar]) -> Result<()> {
    let mut text = String::new();
    for v in vars {
        let name_ok = !v.name.is_empty() && env_file_safe(&v.name) && !v.name.contains('=');
        if !name_ok || !env_file_safe(&v.value) {
            return Err(fail(
                Code::Failure,
                format!(
                    "{}={:?} cannot be written as a NAME=value line without quoting (from {} on this host): use --format json or --format shell",
                    v.name, v.value, v.resource_name
                ),
            ));
        }
        text.push_str(&format!("{}={}\n", v.name, v.value));
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// `NAME=value` entries each ended by NUL (like `env -0`); nothing is written when one
/// cannot be.
pub(crate) fn env_nul(out: &mut dyn Write, vars: &[EnvVar]) -> Result<()> {
    let mut text = String::new();
    for v in vars {
        if v.name.is_empty() || v.name.contains(['=', '\0']) || v.value.contains('\0') {
            return Err(fail(
                Code::Failure,
                format!(
                    "{}={:?} cannot be written as a NUL-separated entry",
                    v.name, v.value
                ),
            ));
        }
        text.push_str(&format!("{}={}\0", v.name, v.value));
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// `export NAME='value'` lines for the variables whose names are shell identifiers;
/// returns the names that were skipped.
pub(crate) fn env_shell(out: &mut dyn Write, vars: &[EnvVar]) -> Result<Vec<String>> {
    let mut skipped = Vec::new();
    for v in vars {
        if !is_shell_identifier(&v.name) {
            skipped.push(v.name.clone());
            continue;
        }
        writeln!(
            out,
            "export {}='{}'",
            v.name,
            v.value.replace('\'', r"'\''")
        )?;
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::env::Kind;

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
            resource_name: "a.com/x".into(),
            kind: Kind::Pci,
            external: false,
            selectors: vec![],
            devices: vec![],
        }
    }

    /// A refused variable leaves stdout empty: no partial environment file.
    #[test]
    fn env_lines_and_nul_write_everything_or_nothing() {
        let good = var("PCI_RESOURCE_A", "0000:3b:00.0");
        let mut out = Vec::new();
        env_lines(
            &mut out,
            &[good.clone(), var("PCI_RESOURCE_B", "0000:3b:00.0 -S")],
        )
        .expect_err("a blank needs quoting");
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        env_nul(&mut out, &[good.clone(), var("PCI_RESOURCE_B", "a\0b")]).expect_err("NUL");
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        env_lines(&mut out, std::slice::from_ref(&good)).unwrap();
        env_nul(&mut out, &[good]).unwrap();
        assert_eq!(
            out,
            b"PCI_RESOURCE_A=0000:3b:00.0\nPCI_RESOURCE_A=0000:3b:00.0\0"
        );
    }
}
