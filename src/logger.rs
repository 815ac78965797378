//! The one diagnostics channel: every message for people goes to stderr through the `log`
//! facade and this logger. `-q` keeps errors only, the default adds warnings and notes,
//! `-v` adds progress lines, `-vv` every path read or written. Control characters from the
//! host (process names, type names, file contents) are escaped here, once, so nothing read
//! from the host reaches the terminal raw.

use std::io::Write;
use std::sync::Mutex;

use indicatif::ProgressBar;
use log::{Level, LevelFilter, Log, Metadata, Record};

struct Stderr;

static LOGGER: Stderr = Stderr;

/// Install the logger; `quiet` wins over `verbose`.
pub fn init(quiet: bool, verbose: u8) {
    let level = if quiet {
        LevelFilter::Error
    } else {
        match verbose {
            0 => LevelFilter::Info,
            1 => LevelFilter::Debug,
            _ => LevelFilter::Trace,
        }
    };
    // A second call (tests) keeps the first logger; the level is still updated.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let prefix = match record.level() {
            Level::Warn => "hostdev: warning: ",
            Level::Info => "hostdev: note: ",
            Level::Error | Level::Debug | Level::Trace => "hostdev: ",
        };
        let text = escape_controls(&record.args().to_string());
        suspend(|| {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{prefix}{text}");
        });
    }

    fn flush(&self) {}
}

/// The progress bar on screen (`exec::progress` shows it), hidden while a line is printed.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// The bar now on screen (`None`: it was taken off), so that messages suspend it.
pub(crate) fn show_bar(bar: Option<ProgressBar>) {
    if let Ok(mut shown) = BAR.lock() {
        *shown = bar;
    }
}

/// Run `f` (which prints on stderr) with the bar, if any, hidden meanwhile.
fn suspend<F: FnOnce()>(f: F) {
    let bar = BAR.lock().ok().and_then(|shown| shown.clone());
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// Escape every control character except newline and tab (`\e` for ESC, `\xNN`/`\u{NN}`
/// otherwise), so text from the host cannot move the cursor or recolour the terminal.
pub(crate) fn escape_controls(s: &str) -> String {
    if !s.chars().any(is_escaped) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_escaped(c) {
            out.push(c);
        } else if c == '\x1b' {
            out.push_str("\\e");
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

/// Whether `c` is escaped: a control character other than newline and tab, the line and
/// paragraph separators, or an invisible format character (Unicode category Cf): the bidi
/// controls (U+202A..U+202E, U+2066..U+2069, U+200E/U+200F, U+061C), which make a
/// terminal show text in another order than it is, zero-width characters, the BOM and the
/// tag characters.
pub(crate) fn is_escaped(c: char) -> bool {
    c != '\n' && c != '\t' && (c.is_control() || is_format(c))
}

/// The invisible format characters of Unicode (category Cf), and U+2028/U+2029.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{ad}'
        | '\u{600}'..='\u{605}'
        | '\u{61c}'
        | '\u{6dd}'
        | '\u{70f}'
        | '\u{890}'..='\u{891}'
        | '\u{8e2}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape_controls("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(escape_controls("a\x1b[31mred"), "a\\e[31mred");
        assert_eq!(
            escape_controls("bell\x07 del\x7f c1\u{9b}"),
            "bell\\x07 del\\x7f c1\\x9b"
        );
        assert_eq!(escape_controls("cr\rlf"), "cr\\x0dlf");
    }

    /// Issue 20 item 9: bidi overrides and other invisible format characters are escaped
    /// (U+202E shows the rest of a line backwards).
    #[test]
    fn escapes_bidi_and_format_characters() {
        assert_eq!(
            escape_controls("nvidia-\u{202e}222 \u{2066}x\u{2069} \u{200b}\u{feff}"),
            "nvidia-\\u{202e}222 \\u{2066}x\\u{2069} \\u{200b}\\u{feff}"
        );
        assert_eq!(escape_controls("é ü 中 ✓"), "é ü 中 ✓");
    }
}
