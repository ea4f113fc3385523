//! The JSON shapes of the API, shared by the functions and the `test-time` client.

use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::model::{Answer, Question, Receipt, Submission};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const LIST_TESTS_PATH: &str = "/api/v1/tests";
pub const TEST_PATH: &str = "/api/v1/test";
pub const UPLOAD_OK: &str = "Successfully uploaded test result";
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `POST /api/v1/tests` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTestsRequest {
    pub student_id: StudentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<SubjectName>,
}

/// One open test in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestSummary {
    pub test_id: TestId,
    pub title: String,
    /// The student's own due (extension and extra time applied).
    pub due_at: DateTime<chrono::FixedOffset>,
    pub submitted: bool,
    /// The test's late window, as it applies to this student.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<LateWindow>,
    /// The test's total points, when the API knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
}

/// Until when a student's late answers are accepted, and what they cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LateWindow {
    /// The student's own close.
    pub until: DateTime<chrono::FixedOffset>,
    /// Per started day after the own due: `10%/day`.
    pub penalty: String,
    /// The least a late grade keeps: `50%`.
    pub floor: String,
}

impl LateWindow {
    /// The late window of a student's `window` of a test with a late policy.
    pub fn of(
        meta: &crate::model::TestMeta,
        window: crate::windows::Window,
        tz: chrono_tz::Tz,
    ) -> Option<Self> {
        let late = meta.windows.late.as_ref()?;
        Some(Self {
            until: with_offset(window.close, tz),
            penalty: late.penalty_text(),
            floor: late.floor.to_string(),
        })
    }
}

/// Who a listing is for, as the roster names them (`name` when the roster has one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentRef {
    pub student_id: StudentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One subject of a listing: `testIds` are the tests still to take, `tests` every
/// open one (submitted ones can be resubmitted until the deadline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectTests {
    pub subject: SubjectName,
    pub test_ids: Vec<TestId>,
    pub tests: Vec<TestSummary>,
}

/// The `test` field of `GET /api/v1/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestInfo {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub title: String,
    /// The student's own due.
    pub due_at: DateTime<chrono::FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<LateWindow>,
}

/// `POST /api/v1/test` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRequest {
    pub subject_name: SubjectName,
    pub test_id: TestId,
    pub student_id: StudentId,
    pub test_result: Vec<UploadAnswer>,
}

/// One answer of an upload: `"a"` for a single-answer question, `["a", "c"]` for a
/// multiple-answer one; `None` is a question left empty, sent as `""` (the server
/// also reads `null` and `[]` as empty). The server's parser
/// (`api::request::upload`) gives a precise message for every other shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadAnswer {
    pub question_id: QuestionId,
    #[serde(with = "blank_is_none")]
    pub answer: Option<Answer>,
}

/// `Option<Answer>` on the wire: `None` is `""`, as the first clients sent it.
mod blank_is_none {
    use super::*;
    use serde::de::Error;

    pub fn serialize<S: Serializer>(answer: &Option<Answer>, s: S) -> Result<S::Ok, S::Error> {
        match answer {
            Some(answer) => answer.serialize(s),
            None => s.serialize_str(""),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        One(String),
        Many(Vec<String>),
    }

    fn id<E: Error>(s: &str) -> Result<AnswerId, E> {
        AnswerId::parse(s.trim()).map_err(E::custom)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Answer>, D::Error> {
        match Option::<Wire>::deserialize(d)? {
            None => Ok(None),
            Some(Wire::One(s)) if s.trim().is_empty() => Ok(None),
            Some(Wire::One(s)) => id(&s).map(|a| Some(Answer::One(a))),
            Some(Wire::Many(list)) if list.is_empty() => Ok(None),
            Some(Wire::Many(list)) => list
                .iter()
                .map(|s| id(s))
                .collect::<Result<_, _>>()
                .map(|ids| Some(Answer::Many(ids))),
        }
    }
}

/// Every response: `code` repeats the HTTP status, `body` is the payload or message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub code: u16,
    pub body: T,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// On `GET /api/v1/test`: the caller's stored answers and their receipt, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<Submission>,
    /// On `POST /api/v1/tests`: the student the listing is for, with their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<StudentRef>,
    /// On errors: a stable name of the error (`test_closed`, `invalid_key`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub type ListTestsResponse = Envelope<Vec<SubjectTests>>;
pub type GetTestResponse = Envelope<Vec<Question>>;
pub type UploadResponse = Envelope<String>;
pub type ErrorResponse = Envelope<String>;

/// Shows an instant with the trainer's offset, as the API sends it.
pub fn with_offset(t: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<chrono::FixedOffset> {
    t.with_timezone(&tz).fixed_offset()
}
