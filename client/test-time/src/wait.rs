//! A spinner on stderr while the API is asked, so a slow network does not look like
//! a hung program. Only on a terminal: pipes and logs get nothing.

use indicatif::ProgressBar;
use std::time::Duration;

/// Whether to show a spinner; decided once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub spinner: bool,
}

impl Waiting {
    /// A spinner when stderr is a terminal.
    pub fn detect() -> Waiting {
        use std::io::IsTerminal;
        Waiting {
            spinner: std::io::stderr().is_terminal(),
        }
    }

    pub fn quiet() -> Waiting {
        Waiting { spinner: false }
    }

    /// Runs `work` with `message` spinning beside it; the line is cleared after.
    pub fn run<T>(&self, message: &str, work: impl FnOnce() -> T) -> T {
        if !self.spinner {
            return work();
        }
        // Draws on stderr, like every other message that is not the command's output.
        let bar = ProgressBar::new_spinner();
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        let out = work();
        bar.finish_and_clear();
        out
    }
}
