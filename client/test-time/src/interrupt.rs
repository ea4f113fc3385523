//! What Ctrl-C should tell the student: the flow records where it is (answering,
//! sending) and where the draft is; the binary's signal handler prints the message
//! of the moment and exits with 130.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Where a command is, as far as Ctrl-C is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Phase {
    /// Nothing of the student's is at stake.
    #[default]
    Idle,
    /// Answering a test; `draft` once something was saved.
    Answering {
        draft: Option<PathBuf>,
        resend: String,
    },
    /// An upload is on its way: it may or may not arrive.
    Sending {
        draft: Option<PathBuf>,
        resend: String,
    },
}

static PHASE: Mutex<Phase> = Mutex::new(Phase::Idle);
/// Width to wrap the message to (the terminal's), 0 for none.
static WIDTH: AtomicUsize = AtomicUsize::new(0);

/// Remembers the terminal's width for the message.
pub fn set_width(width: Option<usize>) {
    WIDTH.store(width.unwrap_or(0), Ordering::Relaxed);
}

/// The message of the current phase, wrapped to the terminal.
pub fn current_message() -> Option<String> {
    let width = Some(WIDTH.load(Ordering::Relaxed)).filter(|w| *w > 0);
    message(&current()).map(|m| crate::render::wrap(&m, width, "", "").join("\n"))
}

/// Records the current phase.
pub fn set(phase: Phase) {
    if let Ok(mut current) = PHASE.lock() {
        *current = phase;
    }
}

/// Records where the draft is, keeping the phase.
pub fn draft_saved(path: PathBuf) {
    if let Ok(mut current) = PHASE.lock() {
        match &mut *current {
            Phase::Answering { draft, .. } | Phase::Sending { draft, .. } => *draft = Some(path),
            Phase::Idle => {}
        }
    }
}

pub fn current() -> Phase {
    PHASE.lock().map(|p| p.clone()).unwrap_or_default()
}

/// What to print on Ctrl-C in `phase`; `None` when there is nothing to say.
pub fn message(phase: &Phase) -> Option<String> {
    let kept = |draft: &Option<PathBuf>, resend: &str| {
        match draft {
        Some(path) => format!(
            " Your answers are kept in the draft {}: run `test-time` to resume, or send them with `{resend}`.",
            path.display()
        ),
        None => String::new(),
    }
    };
    match phase {
        Phase::Idle => None,
        Phase::Answering { draft, resend } => Some(format!(
            "Interrupted: nothing was sent.{}",
            kept(draft, resend)
        )),
        Phase::Sending { draft, resend } => Some(format!(
            "Interrupted while sending: your answers may or may not have arrived; \
             `test-time list` shows whether the test is submitted.{}",
            kept(draft, resend)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_what_was_sent_and_where_the_draft_is() {
        assert_eq!(message(&Phase::Idle), None);
        let answering = Phase::Answering {
            draft: None,
            resend: "test-time submit os t1 --draft".into(),
        };
        assert_eq!(
            message(&answering).unwrap(),
            "Interrupted: nothing was sent."
        );
        let saved = Phase::Answering {
            draft: Some(PathBuf::from("/home/s/.config/ework/drafts/x.json")),
            resend: "test-time submit os t1 --draft".into(),
        };
        let text = message(&saved).unwrap();
        assert!(text.starts_with("Interrupted: nothing was sent."), "{text}");
        assert!(
            text.contains("/home/s/.config/ework/drafts/x.json"),
            "{text}"
        );
        assert!(text.contains("`test-time submit os t1 --draft`"), "{text}");
        let sending = Phase::Sending {
            draft: None,
            resend: String::new(),
        };
        assert!(message(&sending)
            .unwrap()
            .contains("may or may not have arrived"));
    }
}
