//! Why a command failed, the exit code and hint of each failure, and the answers kept for a resend.

use crate::answers::AnswersError;
use crate::api::ClientError;
use crate::config::ConfigError;
use crate::draft::DraftError;
use crate::prompt::InputError;
use ework_domain::ids::{SubjectName, TestId};
use std::path::PathBuf;

/// Unsent answers kept on disk, and the command that sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub path: PathBuf,
    pub resend: String,
}

impl Kept {
    fn hint(&self) -> String {
        format!(
            "your answers are kept in {}; send them with `{}` once this is fixed, or run `test-time` to resume them",
            self.path.display(),
            self.resend
        )
    }
}

/// Why a command failed; each kind has an exit code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("not sent: {source}")]
    NotSent {
        source: ClientError,
        kept: Option<Kept>,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Answers(#[from] AnswersError),
    #[error(transparent)]
    Draft(#[from] DraftError),
    #[error("there are no unsent answers to {subject}/{test} (a draft would be {path})")]
    NoDraft {
        subject: SubjectName,
        test: TestId,
        path: PathBuf,
    },
    #[error("{}", no_such_subject(.subject, .open))]
    NoSuchSubject {
        subject: SubjectName,
        open: Vec<SubjectName>,
    },
    #[error("input ended before the test was finished; nothing was submitted")]
    InputEnded { kept: Option<Kept> },
    /// The student chose to quit; what happened was already said.
    #[error("not submitted")]
    Quit,
    #[error("cannot read {what}: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
}

fn no_such_subject(subject: &SubjectName, open: &[SubjectName]) -> String {
    let names: Vec<&str> = open.iter().map(SubjectName::as_str).collect();
    match names.as_slice() {
        [] => format!(
            "you have no open test in {:?}; no test is open for you right now",
            subject.as_str()
        ),
        _ => format!(
            "you have no open test in {:?}; your subjects with open tests are: {}",
            subject.as_str(),
            names.join(", ")
        ),
    }
}

impl AppError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Client(e) | AppError::NotSent { source: e, .. } => e.exit_code(),
            AppError::Answers(_) => 2,
            AppError::NoSuchSubject { .. } => 7,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            AppError::Client(e) => e.hint().map(str::to_string),
            AppError::NotSent { source, kept } => match (kept, source.hint()) {
                (Some(kept), Some(hint)) => Some(format!("{hint}; {}", kept.hint())),
                (Some(kept), None) => Some(kept.hint()),
                (None, hint) => hint.map(str::to_string),
            },
            AppError::InputEnded { kept: Some(kept) } => Some(kept.hint()),
            AppError::NoDraft { .. } => Some(
                "`test-time show` tells what is submitted; `test-time list` marks tests with unsent answers".into(),
            ),
            AppError::NoSuchSubject { .. } => Some("`test-time list` shows your open tests".into()),
            AppError::Config(ConfigError::Missing { .. }) => None,
            AppError::Config(_) => Some("fix it with `test-time config --edit`".into()),
            _ => None,
        }
    }

    /// Already told on stdout: nothing more to print.
    pub fn is_quiet(&self) -> bool {
        matches!(self, AppError::Quit)
    }

    /// The output was closed (`| head`, `| true`): the reader wants no more, which is
    /// no failure.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, AppError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Ended => AppError::InputEnded { kept: None },
            InputError::Io(e) => AppError::Io(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_subject_names_the_subjects_with_open_tests() {
        let err = AppError::NoSuchSubject {
            subject: SubjectName::parse("chemistry").unwrap(),
            open: vec![
                SubjectName::parse("networks").unwrap(),
                SubjectName::parse("operating-systems").unwrap(),
            ],
        };
        assert_eq!(
            err.to_string(),
            "you have no open test in \"chemistry\"; your subjects with open tests are: networks, operating-systems"
        );
        assert_eq!(err.exit_code(), 7);
    }

    #[test]
    fn a_failed_send_says_where_the_answers_are_and_how_to_resend() {
        let err = AppError::NotSent {
            source: ClientError::Timeout {
                url: "http://x".into(),
                seconds: 3,
            },
            kept: Some(Kept {
                path: PathBuf::from("/d/os/t1.json"),
                resend: "test-time submit os t1 --draft".into(),
            }),
        };
        assert_eq!(err.exit_code(), 5);
        let hint = err.hint().unwrap();
        assert!(hint.contains("/d/os/t1.json"), "{hint}");
        assert!(hint.contains("`test-time submit os t1 --draft`"), "{hint}");
        assert!(hint.starts_with("check your internet connection"), "{hint}");
    }

    #[test]
    fn a_closed_output_is_told_apart() {
        let closed = AppError::Io(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(closed.is_closed_output());
        assert!(!AppError::Quit.is_closed_output());
        assert!(AppError::Quit.is_quiet());
    }
}
