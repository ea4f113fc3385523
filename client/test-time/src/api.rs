//! The HTTP client for the three endpoints, and what each failure means to a student.

use crate::choice::{Sent, Upload};
use ework_domain::api::contract::{
    Envelope, ErrorResponse, ListTestsRequest, ListTestsResponse, StudentRef, SubjectTests,
    TestInfo, UploadResponse, LIST_TESTS_PATH, TEST_PATH,
};
use ework_domain::ids::{StudentId, SubjectName, TestId};
use ework_domain::model::{Question, Receipt};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;

/// How long to wait before the one retry of a request that could not connect.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed call, worded for the student. Each variant has its own exit code.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the API asked for a key and got none: {message}")]
    MissingKey { message: String },
    #[error("your API key was refused: {message}")]
    WrongKey { message: String },
    #[error("you are not on this course's roster: {message}")]
    NotOnRoster { message: String },
    #[error("this test is closed: {message}")]
    TestClosed { message: String },
    #[error("not allowed: {message}")]
    Forbidden { message: String },
    #[error("not found: {message}")]
    NotFound { message: String },
    #[error("the API rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the server had a problem (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("cannot reach the API at {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("the API at {url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("the API answered HTTP {status} with a body test-time does not understand ({detail}); is the API URL right?")]
    BadResponse { status: u16, detail: String },
}

impl ClientError {
    /// Exit code of the process when this error ends it (documented in docs/test-time.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::MissingKey { .. }
            | ClientError::WrongKey { .. }
            | ClientError::NotOnRoster { .. }
            | ClientError::Forbidden { .. } => 3,
            ClientError::TestClosed { .. } => 4,
            ClientError::Network { .. } | ClientError::Timeout { .. } => 5,
            ClientError::Server { .. } | ClientError::BadResponse { .. } => 6,
            ClientError::NotFound { .. } | ClientError::Rejected { .. } => 7,
        }
    }

    /// A failure that may pass when the same request is sent again (the network,
    /// a timeout, the server); the others need something changed first.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Network { .. }
                | ClientError::Timeout { .. }
                | ClientError::Server { .. }
                | ClientError::BadResponse { .. }
        )
    }

    /// What the student can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            ClientError::MissingKey { .. } | ClientError::WrongKey { .. } => {
                "check the key with `test-time config`; type it again with `test-time config --edit`, or ask your trainer for a new one"
            }
            ClientError::NotOnRoster { .. } => {
                "check your student id with `test-time config`; if it is right, ask your trainer to add you"
            }
            ClientError::TestClosed { .. } => "answers are no longer accepted for this test; `test-time list` shows the open ones",
            ClientError::Network { .. } | ClientError::Timeout { .. } => {
                "check your internet connection and the API URL (`test-time config`), then try again"
            }
            ClientError::Server { .. } => "nothing is wrong on your side; try again in a few minutes, and tell your trainer if it persists",
            ClientError::BadResponse { .. } => "check the API URL with `test-time config`",
            _ => return None,
        })
    }

    /// Sorts an error response by status and the server's `reason`. Servers that
    /// send no `reason` (the original API) are sorted by their message's wording.
    pub fn from_response(status: u16, message: String, reason: Option<&str>) -> ClientError {
        match (status, reason) {
            (403, Some("test_closed")) => return ClientError::TestClosed { message },
            (403, Some("not_on_roster")) => return ClientError::NotOnRoster { message },
            (403, Some("invalid_key" | "not_your_id")) => return ClientError::WrongKey { message },
            (403, Some(_)) => return ClientError::Forbidden { message },
            _ => {}
        }
        match status {
            401 => ClientError::MissingKey { message },
            403 if message.contains(" closed at ") => ClientError::TestClosed { message },
            403 if message.contains("roster") => ClientError::NotOnRoster { message },
            403 if message.contains("key") => ClientError::WrongKey { message },
            403 => ClientError::Forbidden { message },
            404 => ClientError::NotFound { message },
            500..=599 => ClientError::Server { status, message },
            _ => ClientError::Rejected { status, message },
        }
    }
}

/// What an upload returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    pub receipt: Receipt,
    /// Extra note from the server (e.g. how many questions were left unanswered).
    pub message: Option<String>,
}

/// What `GET /api/v1/test` returns: the test, its questions (in the order the
/// server serves them: the student's own when the test is shuffled), and the
/// caller's stored submission with its receipt (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct TestPage {
    /// `None` from an API that does not send the optional `test` field.
    pub info: Option<TestInfo>,
    pub questions: Vec<Question>,
    /// `None` before the first submission, and from an API that does not send it.
    pub submission: Option<Sent>,
}

/// `GET /api/v1/test` as the client reads it: the submission's answers may be
/// strings or arrays (see [`crate::choice`]).
#[derive(Deserialize)]
struct GetTestWire {
    body: Vec<Question>,
    #[serde(default)]
    test: Option<TestInfo>,
    #[serde(default)]
    submission: Option<Sent>,
}

/// The open tests of a student, and who the API says the student is.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub subjects: Vec<SubjectTests>,
    /// `None` from an API that does not send it (the original one).
    pub student: Option<StudentRef>,
}

impl Listing {
    /// The student's name as the roster has it, else their id.
    pub fn name_of(&self, id: &StudentId) -> String {
        self.student
            .as_ref()
            .filter(|s| &s.student_id == id)
            .and_then(|s| s.name.as_deref())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map_or_else(|| id.to_string(), str::to_string)
    }
}

/// One student's connection to the API.
pub struct ApiClient {
    http: Client,
    base: String,
    key: String,
    timeout: Duration,
}

impl ApiClient {
    /// `base` is the API URL without `/api/v1` (see `config::normalize_url`).
    pub fn new(base: &str, key: &str, timeout: Duration) -> Result<ApiClient, ClientError> {
        let http = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(concat!("test-time/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Network {
                url: base.to_string(),
                reason: error_chain(&e),
            })?;
        Ok(ApiClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            timeout,
        })
    }

    pub fn list_tests(&self, student: &StudentId) -> Result<Listing, ClientError> {
        let body = ListTestsRequest {
            student_id: student.clone(),
            subject_name: None,
        };
        let url = self.url(LIST_TESTS_PATH);
        let resp: ListTestsResponse = self.call(&url, || self.http.post(&url).json(&body))?;
        Ok(Listing {
            subjects: resp.body,
            student: resp.student,
        })
    }

    /// The questions of one open test, its details and the student's submission.
    pub fn get_test(
        &self,
        student: &StudentId,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<TestPage, ClientError> {
        let url = self.url(TEST_PATH);
        let query = [
            ("subjectName", subject.as_str()),
            ("testId", test.as_str()),
            ("studentId", student.as_str()),
        ];
        let raw = self.call_raw(&url, || self.http.get(&url).query(&query))?;
        let resp: GetTestWire =
            serde_json::from_value(raw).map_err(|e| ClientError::BadResponse {
                status: 200,
                detail: e.to_string(),
            })?;
        Ok(TestPage {
            info: resp.test,
            questions: resp.body,
            submission: resp.submission,
        })
    }

    pub fn upload(&self, request: &Upload) -> Result<Uploaded, ClientError> {
        let url = self.url(TEST_PATH);
        let body = request.to_wire();
        let raw: serde_json::Value = self.call_raw(&url, || self.http.post(&url).json(&body))?;
        let message = raw
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string);
        let resp: UploadResponse =
            serde_json::from_value(raw).map_err(|e| ClientError::BadResponse {
                status: 200,
                detail: e.to_string(),
            })?;
        let receipt = resp.receipt.ok_or_else(|| ClientError::BadResponse {
            status: 200,
            detail: "no receipt in the answer".into(),
        })?;
        Ok(Uploaded { receipt, message })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn call<T: DeserializeOwned>(
        &self,
        url: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Envelope<T>, ClientError> {
        let raw = self.call_raw(url, build)?;
        serde_json::from_value(raw).map_err(|e| ClientError::BadResponse {
            status: 200,
            detail: e.to_string(),
        })
    }

    /// Sends with the key, retrying once when the connection could not be made
    /// (nothing reached the server, so a retry cannot submit twice).
    fn call_raw(
        &self,
        url: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<serde_json::Value, ClientError> {
        let send = || build().header("x-api-key", &self.key).send();
        let response = match send() {
            Err(e) if e.is_connect() => {
                std::thread::sleep(RETRY_PAUSE);
                send()
            }
            other => other,
        };
        let response = response.map_err(|e| self.transport_error(url, &e))?;
        read_response(response)
    }

    fn transport_error(&self, url: &str, e: &reqwest::Error) -> ClientError {
        if e.is_timeout() {
            ClientError::Timeout {
                url: url.to_string(),
                seconds: self.timeout.as_secs(),
            }
        } else {
            ClientError::Network {
                url: self.base.clone(),
                reason: error_chain(e),
            }
        }
    }
}

fn read_response(response: Response) -> Result<serde_json::Value, ClientError> {
    let status = response.status();
    let bytes = response.bytes().map_err(|e| ClientError::BadResponse {
        status: status.as_u16(),
        detail: error_chain(&e),
    })?;
    let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&bytes);
    if status.is_success() {
        return parsed.map_err(|e| ClientError::BadResponse {
            status: status.as_u16(),
            detail: e.to_string(),
        });
    }
    let error = parsed
        .ok()
        .and_then(|v| serde_json::from_value::<ErrorResponse>(v).ok());
    let reason = error.as_ref().and_then(|e| e.reason.clone());
    let message = error
        .map(|e| e.body)
        .unwrap_or_else(|| generic_message(status));
    Err(ClientError::from_response(
        status.as_u16(),
        message,
        reason.as_deref(),
    ))
}

/// For error bodies that are not ours (a proxy's HTML page, an empty gateway error).
fn generic_message(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("no details given")
        .to_string()
}

/// The innermost useful reason: reqwest's top message alone says only "error sending request".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_answers_are_told_apart_by_their_reason_before_their_wording() {
        let closed =
            ClientError::from_response(403, "whatever the wording".into(), Some("test_closed"));
        assert!(matches!(closed, ClientError::TestClosed { .. }));
        let roster =
            ClientError::from_response(403, "mentions a key".into(), Some("not_on_roster"));
        assert!(matches!(roster, ClientError::NotOnRoster { .. }));
        let other = ClientError::from_response(403, "your key".into(), Some("not_your_id"));
        assert!(matches!(other, ClientError::WrongKey { .. }));
        let enrolled =
            ClientError::from_response(403, "key roster closed at".into(), Some("not_enrolled"));
        assert!(matches!(enrolled, ClientError::Forbidden { .. }));
    }

    #[test]
    fn forbidden_answers_of_an_older_server_are_told_apart_by_their_message() {
        let closed = ClientError::from_response(
            403,
            "test test01 of os closed at 2026-11-30 23:00 CET; answers are no longer accepted"
                .into(),
            None,
        );
        assert!(matches!(closed, ClientError::TestClosed { .. }));
        let roster = ClientError::from_response(
            403,
            "student x is not on the roster of this course".into(),
            None,
        );
        assert!(matches!(roster, ClientError::NotOnRoster { .. }));
        let key = ClientError::from_response(403, "this API key is not valid".into(), None);
        assert!(matches!(key, ClientError::WrongKey { .. }));
        assert!(matches!(
            ClientError::from_response(401, "missing".into(), None),
            ClientError::MissingKey { .. }
        ));
        assert!(matches!(
            ClientError::from_response(503, "busy".into(), None),
            ClientError::Server { status: 503, .. }
        ));
        assert!(matches!(
            ClientError::from_response(422, "bad".into(), None),
            ClientError::Rejected { status: 422, .. }
        ));
    }

    #[test]
    fn each_kind_of_failure_has_its_own_exit_code() {
        let codes = [
            ClientError::WrongKey {
                message: String::new(),
            }
            .exit_code(),
            ClientError::TestClosed {
                message: String::new(),
            }
            .exit_code(),
            ClientError::Network {
                url: String::new(),
                reason: String::new(),
            }
            .exit_code(),
            ClientError::Server {
                status: 500,
                message: String::new(),
            }
            .exit_code(),
            ClientError::NotFound {
                message: String::new(),
            }
            .exit_code(),
        ];
        assert_eq!(codes, [3, 4, 5, 6, 7]);
    }
}
