//! Host data shown on a terminal is shown, never obeyed: process names, type names and
//! descriptions, host names and configuration values can hold ESC sequences, carriage
//! returns and other control characters. In table mode, standard output goes through
//! [`EscapeControls`], and each table cell through [`cell`]. JSON and YAML documents are not
//! touched: serde escapes control characters there already.

use std::io::{self, Write};

/// A table cell: control characters escaped as on stderr (`\e`, `\x07`, ...), and newline
/// and tab too, so a cell stays on its line and in its column.
pub fn cell(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    crate::logger::escape_controls(&s.replace('\n', "\\n").replace('\t', "\\t"))
}

/// A writer that escapes the C0 control characters other than newline and tab, DEL and
/// the C1 controls (U+0080..U+009F, which some terminals obey like ESC sequences), in
/// the forms of [`crate::logger::escape_controls`] (`\e`, `\x07`, `\x9b`).
pub struct EscapeControls<W: Write> {
    inner: W,
    /// The last byte written was 0xC2, the lead byte of U+0080..U+00BF: held back until
    /// the next byte tells whether the character is a C1 control.
    held: bool,
}

impl<W: Write> EscapeControls<W> {
    pub fn new(inner: W) -> Self {
        EscapeControls { inner, held: false }
    }
}

impl<W: Write> Write for EscapeControls<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 8);
        for &b in buf {
            if std::mem::take(&mut self.held) {
                if (0x80..=0x9f).contains(&b) {
                    out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                    continue;
                }
                out.push(0xc2);
            }
            match b {
                0xc2 => self.held = true,
                b'\n' | b'\t' => out.push(b),
                0x1b => out.extend_from_slice(b"\\e"),
                0x00..=0x1f | 0x7f => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                _ => out.push(b),
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.held) {
            self.inner.write_all(&[0xc2])?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_to_their_line() {
        assert_eq!(cell("GRID T4-1Q"), "GRID T4-1Q");
        assert_eq!(cell("a\nb\tc\x1b[2Jd\r"), "a\\nb\\tc\\e[2Jd\\x0d");
    }

    #[test]
    fn the_writer_escapes_controls_but_not_text() {
        let mut w = EscapeControls::new(Vec::new());
        // U+009B (CSI) split across two writes; é (C3 A9) and ¢ (C2 A2) are text.
        w.write_all("node: a\x1b]0;pwned\x07 é ¢\tx\n\u{7f}\r".as_bytes())
            .unwrap();
        w.write_all(&[b'z', 0xc2]).unwrap();
        w.write_all(&[0x9b, b'1']).unwrap();
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "node: a\\e]0;pwned\\x07 é ¢\tx\n\\x7f\\x0dz\\x9b1"
        );
    }
}
