//! The course model, in the original JSON shapes so existing material keeps working.

use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::windows::{ExtraTime, Lateness, TestWindows};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry of `studentsList.json`. Unknown fields are kept so nothing the trainer
/// wrote is lost on a round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Student {
    pub student_id: StudentId,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When present, the student only sees these subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<SubjectName>>,
    /// A standing accommodation added to every test's due (see [`crate::windows`]).
    #[serde(rename = "extraTime", default, skip_serializing_if = "Option::is_none")]
    pub extra_time: Option<ExtraTime>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Student {
    pub fn takes(&self, subject: &SubjectName) -> bool {
        self.subjects.as_ref().is_none_or(|s| s.contains(subject))
    }
}

/// The whole roster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Roster(pub Vec<Student>);

impl Roster {
    pub fn find(&self, id: &StudentId) -> Option<&Student> {
        self.0.iter().find(|s| &s.student_id == id)
    }
}

/// One possible answer of a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerOption {
    pub answer_id: AnswerId,
    pub answer_body: String,
}

/// One question of `questions.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    pub question_id: QuestionId,
    pub question: String,
    pub answers: Vec<AnswerOption>,
    /// What the question is worth; `None` means 1 (the original layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
    /// A multiple-answer question: answered with an array of answer ids.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multiple: bool,
}

impl Question {
    pub fn has_answer(&self, answer: &AnswerId) -> bool {
        self.answers.iter().any(|a| &a.answer_id == answer)
    }
}

/// One entry of `questionsKey.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    pub question_id: QuestionId,
    pub answer: AnswerId,
}

/// One answer of a submission (`testResult.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GivenAnswer {
    pub question_id: QuestionId,
    pub answer: AnswerId,
}

/// A published test as listed in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestMeta {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub title: String,
    pub published_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Extensions, late policy and feedback timing (all optional).
    #[serde(flatten)]
    pub windows: TestWindows,
}

impl TestMeta {
    /// Open for a student without extension or extra time (see
    /// [`crate::windows::window`] for everyone else).
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        now < self.due_at
    }
}

/// Every published test. Kept as one object so a request needs one read to know
/// what is open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub tests: Vec<TestMeta>,
}

impl Catalog {
    pub fn find(&self, subject: &SubjectName, test: &TestId) -> Option<&TestMeta> {
        self.tests
            .iter()
            .find(|t| &t.subject == subject && &t.test_id == test)
    }
}

/// What the student gets back for an upload, and what is stored with the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub student_id: StudentId,
    pub subject_name: SubjectName,
    pub test_id: TestId,
    pub received_at: DateTime<Utc>,
    /// [`Receipt::digest`] of everything above and the answers, hex: it identifies
    /// this submission, so two students with the same answers hold different receipts.
    pub sha256: String,
    /// True when this upload replaced an earlier one.
    pub replaced: bool,
    /// Questions of the test without an answer in this upload.
    pub unanswered: usize,
    /// Received after the student's own due, inside the test's late window: how
    /// late and what it costs. Not part of [`Receipt::digest`], so receipts written
    /// before it existed still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<Lateness>,
}

impl Receipt {
    /// SHA-256 over the canonical JSON (keys sorted, no spaces) of
    /// `{"receivedAt", "studentId", "subjectName", "testId", "testResult"}`.
    ///
    /// Generic over the answers so a client holding them in its own type (the
    /// same JSON) checks a receipt without converting.
    pub fn digest<A: Serialize>(
        student: &StudentId,
        subject: &SubjectName,
        test: &TestId,
        received_at: DateTime<Utc>,
        answers: &[A],
    ) -> String {
        use sha2::{Digest, Sha256};
        // serde_json's map is sorted by key: the same input gives the same bytes.
        let canonical = serde_json::json!({
            "studentId": student,
            "subjectName": subject,
            "testId": test,
            "receivedAt": received_at,
            "testResult": answers,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    /// True when this receipt describes exactly these answers.
    pub fn describes<A: Serialize>(&self, answers: &[A]) -> bool {
        self.sha256
            == Self::digest(
                &self.student_id,
                &self.subject_name,
                &self.test_id,
                self.received_at,
                answers,
            )
    }
}

/// A student's answers to one test as stored (`testResult.json`) and as `GET
/// /api/v1/test` returns them: the answers and their receipt in one object, written
/// in one request, so the two can never disagree. Submissions stored before the
/// receipt moved in are a bare array of answers and have no receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "SubmissionWire")]
pub struct Submission {
    pub test_result: Vec<GivenAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SubmissionWire {
    #[serde(rename_all = "camelCase")]
    Current {
        test_result: Vec<GivenAnswer>,
        #[serde(default)]
        receipt: Option<Receipt>,
    },
    Legacy(Vec<GivenAnswer>),
}

impl From<SubmissionWire> for Submission {
    fn from(wire: SubmissionWire) -> Self {
        match wire {
            SubmissionWire::Current {
                test_result,
                receipt,
            } => Self {
                test_result,
                receipt,
            },
            SubmissionWire::Legacy(test_result) => Self {
                test_result,
                receipt: None,
            },
        }
    }
}
