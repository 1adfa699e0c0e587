//! The progress bar: on stderr, only when stderr is a terminal and the work is large, and never
//! while records are being printed to the same terminal (the lines would tear it apart).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Below this many bytes a file is read before a bar would be worth drawing.
const LARGE: u64 = 8 << 20;

/// One bar for the whole run, re-aimed at each phase (verifying a log, reading it, reading a
/// snapshot). Clones of [`Progress::bar`] (the read-only file system holds one) move it.
pub struct Progress {
    bar: ProgressBar,
    stderr_is_terminal: bool,
    stdout_is_terminal: bool,
}

impl Progress {
    pub fn new() -> Self {
        let bar = ProgressBar::hidden();
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Self {
            bar,
            stderr_is_terminal: std::io::stderr().is_terminal(),
            stdout_is_terminal: std::io::stdout().is_terminal(),
        }
    }

    /// The shared bar; `inc` on it advances the current phase.
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    /// Starts a phase of `total` bytes. `printing`: records go to stdout during this phase.
    pub fn phase(&self, message: &'static str, total: u64, printing: bool) {
        let visible =
            self.stderr_is_terminal && total >= LARGE && !(printing && self.stdout_is_terminal);
        self.bar.set_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        self.bar.set_length(total);
        self.bar.set_message(message);
        self.bar.reset();
    }

    /// Removes the bar from the terminal (before a message goes to stderr, and at the end).
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}
