//! The JSON shapes of the API, shared by the functions and the `test-time` client.

use crate::ids::{StudentId, SubjectName, TestId};
use crate::model::{GivenAnswer, Question, Receipt, Submission};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    pub due_at: DateTime<chrono::FixedOffset>,
    pub submitted: bool,
    /// What the test is worth, when some question is not worth 1 point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
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
    pub due_at: DateTime<chrono::FixedOffset>,
}

/// `POST /api/v1/test` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRequest {
    pub subject_name: SubjectName,
    pub test_id: TestId,
    pub student_id: StudentId,
    pub test_result: Vec<GivenAnswer>,
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
