//! Unsent answers, kept on the student's machine from the first answer on, so that
//! nothing typed is lost to a failed send, a closed laptop or Ctrl-C.
//!
//! One file per test: `<config dir>/ework/drafts/<studentId>/<subject>/<testId>.json`,
//! mode 0600 in a 0700 folder, replaced atomically after every change and removed
//! once the answers are stored by the API. The ids cannot hold `/` or `..`, so they
//! are safe as path segments.

use chrono::{DateTime, FixedOffset, Utc};
use ework_domain::ids::{AnswerId, StudentId, SubjectName, TestId};
use ework_domain::model::{GivenAnswer, Question};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One test's unsent answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    /// The API the answers are for: a draft is offered only against the same one.
    pub api_url: String,
    pub student_id: StudentId,
    pub subject_name: SubjectName,
    pub test_id: TestId,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<FixedOffset>>,
    pub saved_at: DateTime<Utc>,
    /// The question the student was at (0-based), to resume there.
    #[serde(default)]
    pub position: usize,
    /// Answered questions only, in question order.
    pub test_result: Vec<GivenAnswer>,
}

impl Draft {
    /// The answers in question order, `None` for unanswered; answers to questions
    /// the test no longer has are dropped.
    pub fn answers_for(&self, questions: &[Question]) -> Vec<Option<AnswerId>> {
        questions
            .iter()
            .map(|q| {
                self.test_result
                    .iter()
                    .find(|g| g.question_id == q.question_id)
                    .and_then(|g| g.answer.one().cloned())
                    .filter(|a| q.has_answer(a))
            })
            .collect()
    }

    pub fn answered(&self) -> usize {
        self.test_result.len()
    }
}

/// Why a draft could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("cannot read the draft {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the draft {path} is damaged ({detail}); move it away to start afresh")]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot save the draft {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The folder of drafts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drafts {
    dir: PathBuf,
}

impl Drafts {
    pub fn new(dir: impl Into<PathBuf>) -> Drafts {
        Drafts { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, student: &StudentId, subject: &SubjectName, test: &TestId) -> PathBuf {
        self.dir
            .join(student.as_str())
            .join(subject.as_str())
            .join(format!("{test}.json"))
    }

    pub fn load(
        &self,
        student: &StudentId,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<Option<Draft>, DraftError> {
        read(&self.path(student, subject, test))
    }

    /// Replaces the test's draft (temp file + rename: a crash never leaves half a draft).
    pub fn save(&self, draft: &Draft) -> Result<PathBuf, DraftError> {
        let path = self.path(&draft.student_id, &draft.subject_name, &draft.test_id);
        let err = |source| DraftError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::config::create_private_dir(dir).map_err(err)?;
        }
        let mut text = serde_json::to_vec_pretty(draft).map_err(|e| err(e.into()))?;
        text.push(b'\n');
        let tmp = path.with_extension("json.tmp");
        let mut file = crate::config::open_private(&tmp).map_err(err)?;
        file.write_all(&text).map_err(err)?;
        file.sync_all().map_err(err)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(err)?;
        Ok(path)
    }

    /// Removes the test's draft; a missing one is fine.
    pub fn remove(
        &self,
        student: &StudentId,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<(), DraftError> {
        let path = self.path(student, subject, test);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                // Empty folders of the subject and the student go too.
                for dir in path.ancestors().skip(1).take(2) {
                    if std::fs::remove_dir(dir).is_err() {
                        break;
                    }
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(DraftError::Write { path, source }),
        }
    }

    /// Every readable draft of a student for the API at `api_url`, oldest first.
    /// A damaged file is skipped (and left for the student to look at).
    pub fn of_student(&self, student: &StudentId, api_url: &str) -> Vec<Draft> {
        let mut found = Vec::new();
        let Ok(subjects) = std::fs::read_dir(self.dir.join(student.as_str())) else {
            return found;
        };
        for subject in subjects.flatten() {
            let Ok(tests) = std::fs::read_dir(subject.path()) else {
                continue;
            };
            for test in tests.flatten() {
                let path = test.path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                if let Ok(Some(draft)) = read(&path) {
                    if &draft.student_id == student && draft.api_url == api_url {
                        found.push(draft);
                    }
                }
            }
        }
        found.sort_by_key(|d| d.saved_at);
        found
    }
}

fn read(path: &Path) -> Result<Option<Draft>, DraftError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DraftError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| DraftError::Damaged {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ework_domain::ids::QuestionId;
    use ework_domain::model::AnswerOption;

    fn draft(answers: &[(&str, &str)]) -> Draft {
        Draft {
            api_url: "http://127.0.0.1:9".into(),
            student_id: StudentId::parse("student01").unwrap(),
            subject_name: SubjectName::parse("operating-systems").unwrap(),
            test_id: TestId::parse("test01").unwrap(),
            title: "T".into(),
            due_at: None,
            saved_at: Utc::now(),
            position: 2,
            test_result: answers
                .iter()
                .map(|(q, a)| GivenAnswer {
                    question_id: QuestionId::parse(*q).unwrap(),
                    answer: AnswerId::parse(*a).unwrap().into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_draft_is_saved_privately_read_back_and_removed_with_its_folders() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = Drafts::new(dir.path().join("drafts"));
        let d = draft(&[("1", "a"), ("3", "b")]);
        let path = drafts.save(&d).unwrap();
        assert_eq!(
            path,
            dir.path()
                .join("drafts/student01/operating-systems/test01.json")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        let back = drafts
            .load(&d.student_id, &d.subject_name, &d.test_id)
            .unwrap()
            .unwrap();
        assert_eq!(back, d);
        assert_eq!(
            drafts.of_student(&d.student_id, &d.api_url),
            vec![d.clone()]
        );
        assert!(
            drafts.of_student(&d.student_id, "http://other").is_empty(),
            "a draft belongs to its API"
        );
        drafts
            .remove(&d.student_id, &d.subject_name, &d.test_id)
            .unwrap();
        assert!(!dir.path().join("drafts/student01").exists());
        drafts
            .remove(&d.student_id, &d.subject_name, &d.test_id)
            .unwrap();
    }

    #[test]
    fn answers_follow_the_questions_and_drop_what_no_longer_fits() {
        let question = |id: &str| Question {
            question_id: QuestionId::parse(id).unwrap(),
            question: String::new(),
            answers: ["a", "b"]
                .iter()
                .map(|o| AnswerOption {
                    answer_id: AnswerId::parse(*o).unwrap(),
                    answer_body: String::new(),
                })
                .collect(),
            points: 1,
            pool: None,
            multiple: false,
        };
        let d = draft(&[("1", "a"), ("2", "z"), ("9", "b")]);
        let answers = d.answers_for(&[question("1"), question("2"), question("3")]);
        let shown: Vec<Option<&str>> = answers
            .iter()
            .map(|a| a.as_ref().map(|a| a.as_str()))
            .collect();
        assert_eq!(shown, [Some("a"), None, None]);
    }

    #[test]
    fn a_damaged_draft_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = Drafts::new(dir.path());
        let d = draft(&[]);
        let path = drafts.path(&d.student_id, &d.subject_name, &d.test_id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{").unwrap();
        let err = drafts
            .load(&d.student_id, &d.subject_name, &d.test_id)
            .unwrap_err();
        assert!(err.to_string().contains("test01.json"), "{err}");
        assert!(drafts.of_student(&d.student_id, &d.api_url).is_empty());
    }
}
