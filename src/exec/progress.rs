//! Progress of long runs: `apply`, `teardown` and `bind vfio` that make more than a
//! handful of host writes show a bar on stderr while they write — only when both stdout
//! and stderr are terminals, in table mode, not in a dry run and not with `-q`. Diagnostics
//! printed meanwhile suspend the bar (the bar is handed to the logger,
//! [`crate::logger::show_bar`]), so lines never mix.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::logger::{escape_controls, show_bar};

/// Runs with more writes than this show a bar.
pub(crate) const HANDFUL: u64 = 5;

/// Counts the writes of a run and draws the bar once there are more than [`HANDFUL`].
pub(crate) struct Progress {
    /// Writes the run is expected to make, when the job knows.
    expected: Option<u64>,
    done: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(crate) fn new(expected: Option<u64>) -> Progress {
        Progress {
            expected,
            done: 0,
            bar: None,
        }
    }

    /// One more write, to `path` (shown beside the bar, control characters escaped).
    pub(crate) fn step(&mut self, path: &str) {
        self.done += 1;
        let large = self.expected.is_some_and(|n| n > HANDFUL) || self.done > HANDFUL;
        if self.bar.is_none() && large {
            self.bar = Some(self.show());
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            bar.set_message(escape_controls(path));
        }
    }

    fn show(&self) -> ProgressBar {
        let (bar, template) = match self.expected {
            Some(n) => (
                ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                "{bar:30} {pos}/{len} writes {wide_msg}",
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                "{spinner} {pos} writes {wide_msg}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        show_bar(Some(bar.clone()));
        bar
    }

    /// Take the bar off the screen (the summary follows).
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            show_bar(None);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handful_of_writes_draws_no_bar_and_more_do() {
        let mut p = Progress::new(None);
        for _ in 0..HANDFUL {
            p.step("/sys/x");
        }
        assert!(p.bar.is_none());
        p.step("/sys/x");
        assert_eq!(p.bar.as_ref().map(|b| b.position()), Some(HANDFUL + 1));
        p.finish();
        assert!(p.bar.is_none());

        let mut q = Progress::new(Some(8));
        q.step("/sys/y");
        assert_eq!(q.bar.as_ref().and_then(|b| b.length()), Some(8));
    }
}
