//! Host data shown on a terminal is shown, never obeyed: process names, type names and
//! descriptions, host names and configuration values can hold ESC sequences, carriage
//! returns and other control characters. In table mode, standard output goes through
//! [`EscapeControls`], and each table cell through [`cell`]. JSON and YAML documents are not
//! touched: serde escapes control characters there already.

use std::io::{self, Write};

/// A table cell: control and format characters escaped as on stderr (`\e`, `\x07`,
/// `\u{202e}`, ...), and newline and tab too, so a cell stays on its line and in its column.
pub(crate) fn cell(s: &str) -> String {
    if !s
        .chars()
        .any(|c| c == '\n' || c == '\t' || crate::logger::is_escaped(c))
    {
        return s.to_string();
    }
    crate::logger::escape_controls(&s.replace('\n', "\\n").replace('\t', "\\t"))
}

/// A writer that escapes what [`crate::logger::escape_controls`] escapes but newline and
/// tab: the C0 controls, DEL, the C1 controls (U+0080..U+009F, which some terminals obey
/// like ESC sequences), the bidi controls and other invisible format characters, in the
/// same forms (`\e`, `\x07`, `\x9b`, `\u{202e}`). Bytes that are not UTF-8 are written as
/// `\xNN`.
pub struct EscapeControls<W: Write> {
    inner: W,
    /// The start of a character split across writes, held back until the rest arrives.
    held: Vec<u8>,
}

impl<W: Write> EscapeControls<W> {
    pub fn new(inner: W) -> Self {
        EscapeControls {
            inner,
            held: Vec::new(),
        }
    }
}

fn bytes_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
    }
}

impl<W: Write> Write for EscapeControls<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(buf);
        let mut out = Vec::with_capacity(data.len() + 8);
        let mut rest = &data[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.extend_from_slice(crate::logger::escape_controls(s).as_bytes());
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // `good` is valid UTF-8 by definition
                    let good = std::str::from_utf8(good).unwrap_or_default();
                    out.extend_from_slice(crate::logger::escape_controls(good).as_bytes());
                    match e.error_len() {
                        // the start of a character, its rest in the next write
                        None => {
                            self.held = bad.to_vec();
                            break;
                        }
                        Some(n) => {
                            bytes_escaped(&mut out, &bad[..n]);
                            rest = &bad[n..];
                        }
                    }
                }
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        if !held.is_empty() {
            let mut out = Vec::new();
            bytes_escaped(&mut out, &held);
            self.inner.write_all(&out)?;
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

    /// Issue 20 item 9: U+202E (right-to-left override), even split across writes, and the
    /// other bidi controls are escaped; bytes that are not UTF-8 are shown as `\xNN`.
    #[test]
    fn the_writer_and_cells_escape_bidi_controls() {
        assert_eq!(cell("GRID \u{202e}Q1-4T"), "GRID \\u{202e}Q1-4T");
        let mut w = EscapeControls::new(Vec::new());
        let rlo = "\u{202e}".as_bytes();
        w.write_all(b"a").unwrap();
        w.write_all(&rlo[..1]).unwrap();
        w.write_all(&rlo[1..]).unwrap();
        w.write_all("b\u{2066}c\u{2069} 中\n".as_bytes()).unwrap();
        w.write_all(&[0xff, b'd']).unwrap();
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "a\\u{202e}b\\u{2066}c\\u{2069} 中\n\\xffd"
        );
    }
}
