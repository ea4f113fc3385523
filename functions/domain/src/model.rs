//! The course model, in the original JSON shapes so existing material keeps working.

use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::windows::{ExtraTime, Lateness, TestWindows};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// What the question is worth (1 unless the course says otherwise).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub points: u32,
    /// The pool the question is drawn from (see [`TestRules::draw`]); `None`: always given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The key lists several answers: students answer with an array. Set from the
    /// key when the course is read, so the API knows it without reading the key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multiple: bool,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl Question {
    pub fn has_answer(&self, answer: &AnswerId) -> bool {
        self.answers.iter().any(|a| &a.answer_id == answer)
    }
}

/// An answer as the key and the students write it: one option (`"a"`) for a
/// single-answer question, a list (`["a", "c"]`) for a multiple-answer one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    One(AnswerId),
    Many(Vec<AnswerId>),
}

impl Answer {
    /// The options chosen, in the order written.
    pub fn ids(&self) -> &[AnswerId] {
        match self {
            Answer::One(a) => std::slice::from_ref(a),
            Answer::Many(list) => list,
        }
    }

    /// The single option, for a single-answer question.
    pub fn one(&self) -> Option<&AnswerId> {
        match self {
            Answer::One(a) => Some(a),
            Answer::Many(_) => None,
        }
    }

    pub fn is_many(&self) -> bool {
        matches!(self, Answer::Many(_))
    }
}

impl From<AnswerId> for Answer {
    fn from(a: AnswerId) -> Self {
        Answer::One(a)
    }
}

/// `a` for one option, `a, c` for several.
impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.ids().iter().map(AnswerId::as_str).collect();
        f.write_str(&ids.join(", "))
    }
}

/// One entry of `questionsKey.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    pub question_id: QuestionId,
    pub answer: Answer,
    /// Per-option weights (fractions of the question's points) of a multiple-answer
    /// question: the student earns the sum of the chosen ones, clamped to [0, 1].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weights: BTreeMap<AnswerId, f64>,
}

/// One answer of a submission (`testResult.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GivenAnswer {
    pub question_id: QuestionId,
    pub answer: Answer,
}

/// How a multiple-answer question without weights is scored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Scoring {
    /// Full points iff the chosen set is the key's.
    #[default]
    Exact,
    /// points x max(0, (right chosen - wrong chosen) / number right).
    Partial,
}

impl Scoring {
    fn is_exact(&self) -> bool {
        *self == Scoring::Exact
    }
}

/// The scoring and variation rules of a test (`test.json`), carried in its catalog
/// entry. Every field is left out when it has its default, so a catalog of tests
/// without them is the same bytes it always was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestRules {
    #[serde(default, skip_serializing_if = "Scoring::is_exact")]
    pub scoring: Scoring,
    /// Fraction of a single-answer question's points taken off for a wrong answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_answer_penalty: Option<f64>,
    /// Each student gets their own stable order of questions and options.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shuffle: bool,
    /// How many questions each student gets from each pool.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub draw: BTreeMap<String, u32>,
    /// What each student's test is worth, when some question is not worth 1 point
    /// and every student's draw adds up to the same (worked out from the questions
    /// when the course is read; listed to students).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
}

/// A published test as listed in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(flatten)]
    pub rules: TestRules,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_without_rules_is_the_same_bytes_as_before() {
        let old = r#"{"tests":[{"subject":"os","testId":"t1","title":"T","publishedAt":"2026-11-01T10:00:00Z","dueAt":"2026-11-30T22:00:00Z"}]}"#;
        let catalog: Catalog = serde_json::from_str(old).unwrap();
        assert_eq!(catalog.tests[0].rules, TestRules::default());
        assert_eq!(serde_json::to_string(&catalog).unwrap(), old);
    }

    #[test]
    fn rules_travel_in_the_catalog_entry() {
        let json = r#"{"subject":"os","testId":"t1","title":"T","publishedAt":"2026-11-01T10:00:00Z","dueAt":"2026-11-30T22:00:00Z","scoring":"partial","wrongAnswerPenalty":0.25,"shuffle":true,"draw":{"A":2}}"#;
        let meta: TestMeta = serde_json::from_str(json).unwrap();
        assert_eq!(meta.rules.scoring, Scoring::Partial);
        assert_eq!(meta.rules.wrong_answer_penalty, Some(0.25));
        assert!(meta.rules.shuffle);
        assert_eq!(meta.rules.draw["A"], 2);
        assert_eq!(serde_json::to_string(&meta).unwrap(), json);
    }

    #[test]
    fn answers_are_one_id_or_a_list_and_single_ones_keep_their_digest() {
        let one: GivenAnswer = serde_json::from_str(r#"{"questionId":"1","answer":"a"}"#).unwrap();
        assert_eq!(one.answer.to_string(), "a");
        let many: GivenAnswer =
            serde_json::from_str(r#"{"questionId":"2","answer":["a","c"]}"#).unwrap();
        assert_eq!(many.answer.to_string(), "a, c");
        assert_eq!(
            serde_json::to_string(&[one, many]).unwrap(),
            r#"[{"questionId":"1","answer":"a"},{"questionId":"2","answer":["a","c"]}]"#
        );
    }
}
