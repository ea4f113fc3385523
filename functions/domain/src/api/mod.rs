//! The three endpoints, independent of how requests arrive (API Gateway through
//! Lambda, or the local HTTP gateway).

pub mod contract;
pub mod error;
pub mod request;

use crate::deadline::display_in;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout;
use crate::model::{
    Catalog, GivenAnswer, Question, Receipt, Roster, Student, Submission, TestMeta,
};
use crate::ports::{Clock, Created, ObjectStore};
use crate::{keys, store_json};
use chrono_tz::Tz;
use contract::{
    with_offset, Envelope, SubjectTests, TestInfo, TestSummary, LIST_TESTS_PATH, MAX_BODY_BYTES,
    TEST_PATH, UPLOAD_OK,
};
pub use error::{ApiError, Denied};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// A request, reduced to what the endpoints read.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// Every query pair in order, repeats kept (so repeats can be refused).
    pub query: Vec<(String, String)>,
    /// The `x-api-key` header, if present and readable.
    pub api_key: Option<String>,
    pub body: Vec<u8>,
}

/// A response: status and JSON body (always `{"code", "body", ...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Value,
    /// Value of the `Allow` header on 405.
    pub allow: Option<&'static str>,
}

/// The three endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListTests,
    GetTest,
    UploadAnswers,
}

impl Endpoint {
    pub fn method(self) -> &'static str {
        match self {
            Endpoint::ListTests | Endpoint::UploadAnswers => "POST",
            Endpoint::GetTest => "GET",
        }
    }

    /// Finds the endpoint for a method and path (the local gateway's router).
    pub fn route(method: &str, path: &str) -> Result<Endpoint, ApiError> {
        let path = path.trim_end_matches('/');
        match (path, method) {
            (LIST_TESTS_PATH, "POST") => Ok(Endpoint::ListTests),
            (LIST_TESTS_PATH, _) => Err(ApiError::MethodNotAllowed {
                method: method.into(),
                allow: "POST",
            }),
            (TEST_PATH, "GET") => Ok(Endpoint::GetTest),
            (TEST_PATH, "POST") => Ok(Endpoint::UploadAnswers),
            (TEST_PATH, _) => Err(ApiError::MethodNotAllowed {
                method: method.into(),
                allow: "GET, POST",
            }),
            _ => Err(ApiError::NotFound(format!(
                "no such endpoint {path:?}; the API serves {LIST_TESTS_PATH} and {TEST_PATH}"
            ))),
        }
    }
}

/// Settings of the API functions.
#[derive(Debug, Clone, Copy)]
pub struct ApiConfig {
    /// The trainer's zone: deadlines in messages are shown in it.
    pub time_zone: Tz,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            time_zone: crate::deadline::DEFAULT_TIME_ZONE,
        }
    }
}

/// The API, generic over its ports.
pub struct Api<S, C> {
    store: S,
    clock: C,
    config: ApiConfig,
}

impl<S: ObjectStore, C: Clock> Api<S, C> {
    pub fn new(store: S, clock: C, config: ApiConfig) -> Self {
        Self {
            store,
            clock,
            config,
        }
    }

    /// Serves any path (local gateway).
    pub async fn handle(&self, req: ApiRequest) -> ApiResponse {
        match Endpoint::route(&req.method, &req.path) {
            Ok(endpoint) => self.handle_endpoint(endpoint, req).await,
            Err(e) => error_response(&e),
        }
    }

    /// Serves one endpoint (a Lambda function behind one API Gateway method).
    #[tracing::instrument(skip_all, fields(endpoint = ?endpoint, method = %req.method))]
    pub async fn handle_endpoint(&self, endpoint: Endpoint, req: ApiRequest) -> ApiResponse {
        let result = match endpoint {
            Endpoint::ListTests => self.list_tests(&req).await,
            Endpoint::GetTest => self.get_test(&req).await,
            Endpoint::UploadAnswers => self.upload_answers(&req).await,
        };
        match result {
            Ok(body) => {
                tracing::info!(status = 200, "request served");
                ApiResponse {
                    status: 200,
                    body,
                    allow: None,
                }
            }
            Err(e) => {
                if e.status() >= 500 {
                    tracing::error!(status = e.status(), error = ?e, "request failed");
                } else {
                    tracing::info!(status = e.status(), reason = %e, "request refused");
                }
                error_response(&e)
            }
        }
    }

    fn check_method(endpoint: Endpoint, req: &ApiRequest) -> Result<(), ApiError> {
        if req.method != endpoint.method() {
            return Err(ApiError::MethodNotAllowed {
                method: req.method.clone(),
                allow: endpoint.method(),
            });
        }
        if req.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                size: req.body.len(),
                limit: MAX_BODY_BYTES,
            });
        }
        Ok(())
    }

    /// Who is calling, from the key alone.
    async fn authenticate(&self, req: &ApiRequest) -> Result<StudentId, ApiError> {
        let presented = req
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let presented = presented.ok_or(ApiError::MissingKey)?;
        keys::owner_of(&self.store, presented, self.clock.now())
            .await?
            .ok_or_else(|| ApiError::Forbidden(Denied::InvalidKey, "this API key is not valid (revoked, expired or mistyped); ask your trainer for a new one".into()))
    }

    /// The caller's roster entry; the id in the request must be the key's owner.
    async fn enrolled(
        &self,
        owner: &StudentId,
        claimed: Option<&StudentId>,
    ) -> Result<Student, ApiError> {
        if let Some(claimed) = claimed {
            if claimed != owner {
                return Err(ApiError::Forbidden(
                    Denied::NotYourId,
                    format!(
                    "your key belongs to {owner}, not to {claimed}; you can only use your own id"
                ),
                ));
            }
        }
        let roster: Roster = store_json::read(&self.store, &layout::roster())
            .await?
            .unwrap_or_default();
        roster.find(owner).cloned().ok_or_else(|| {
            ApiError::Forbidden(
                Denied::NotOnRoster,
                format!("student {owner} is not on the roster of this course; ask your trainer"),
            )
        })
    }

    async fn catalog(&self) -> Result<Catalog, ApiError> {
        Ok(store_json::read(&self.store, &layout::catalog())
            .await?
            .unwrap_or_default())
    }

    /// Finds an open test the student may take.
    async fn open_test(
        &self,
        student: &Student,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<TestMeta, ApiError> {
        let catalog = self.catalog().await?;
        let meta = catalog.find(subject, test).cloned().ok_or_else(|| {
            ApiError::NotFound(format!(
                "there is no published test {test} in subject {subject}"
            ))
        })?;
        if !student.takes(subject) {
            return Err(ApiError::Forbidden(
                Denied::NotEnrolled,
                format!("you are not enrolled in subject {subject}"),
            ));
        }
        if !meta.is_open(self.clock.now()) {
            return Err(self.closed(subject, test, &meta));
        }
        Ok(meta)
    }

    fn closed(&self, subject: &SubjectName, test: &TestId, meta: &TestMeta) -> ApiError {
        ApiError::Forbidden(
            Denied::TestClosed,
            format!(
                "test {test} of {subject} closed at {}; answers are no longer accepted",
                display_in(meta.due_at, self.config.time_zone)
            ),
        )
    }

    async fn questions(
        &self,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<Vec<Question>, ApiError> {
        store_json::read(&self.store, &layout::questions(subject, test))
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!("test {test} of {subject} has no questions yet"))
            })
    }

    async fn list_tests(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        Self::check_method(Endpoint::ListTests, req)?;
        let owner = self.authenticate(req).await?;
        let body = request::json_object(&req.body)?;
        let claimed = request::required_id::<StudentId>(&body, "studentId")?;
        let filter = request::optional_id::<SubjectName>(&body, "subjectName")?;
        let student = self.enrolled(&owner, Some(&claimed)).await?;
        let now = self.clock.now();
        let catalog = self.catalog().await?;
        let mut by_subject: BTreeMap<SubjectName, Vec<TestSummary>> = BTreeMap::new();
        for meta in catalog
            .tests
            .iter()
            .filter(|t| t.is_open(now) && student.takes(&t.subject))
        {
            if filter.as_ref().is_some_and(|f| f != &meta.subject) {
                continue;
            }
            let submitted = self
                .store
                .get(&layout::submission(&meta.subject, &meta.test_id, &owner))
                .await?
                .is_some();
            by_subject
                .entry(meta.subject.clone())
                .or_default()
                .push(TestSummary {
                    test_id: meta.test_id.clone(),
                    title: meta.title.clone(),
                    due_at: with_offset(meta.due_at, self.config.time_zone),
                    submitted,
                });
        }
        let listing: Vec<SubjectTests> = by_subject
            .into_iter()
            .map(|(subject, mut tests)| {
                tests.sort_by(|a, b| a.test_id.cmp(&b.test_id));
                let test_ids = tests
                    .iter()
                    .filter(|t| !t.submitted)
                    .map(|t| t.test_id.clone())
                    .collect();
                SubjectTests {
                    subject,
                    test_ids,
                    tests,
                }
            })
            .collect();
        to_value(Envelope {
            code: 200,
            body: listing,
            test: None,
            receipt: None,
            submission: None,
            reason: None,
        })
    }

    async fn get_test(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        Self::check_method(Endpoint::GetTest, req)?;
        let owner = self.authenticate(req).await?;
        let subject = SubjectName::parse(request::single_query(&req.query, "subjectName")?)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let test = TestId::parse(request::single_query(&req.query, "testId")?)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        if let Some((name, _)) = req.query.iter().find(|(k, _)| k == "studentId") {
            let claimed = StudentId::parse(request::single_query(&req.query, "studentId")?)
                .map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))?;
            self.enrolled(&owner, Some(&claimed)).await?;
        }
        let student = self.enrolled(&owner, None).await?;
        let meta = self.open_test(&student, &subject, &test).await?;
        let (questions, submission) = futures::try_join!(
            self.questions(&subject, &test),
            self.submission_of(&owner, &subject, &test)
        )?;
        let info = TestInfo {
            subject,
            test_id: test,
            title: meta.title,
            due_at: with_offset(meta.due_at, self.config.time_zone),
        };
        to_value(Envelope {
            code: 200,
            body: questions,
            test: Some(info),
            receipt: None,
            submission,
            reason: None,
        })
    }

    /// The caller's stored answers to a test, with their receipt.
    async fn submission_of(
        &self,
        owner: &StudentId,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<Option<Submission>, ApiError> {
        Ok(store_json::read(&self.store, &layout::submission(subject, test, owner)).await?)
    }

    async fn upload_answers(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        Self::check_method(Endpoint::UploadAnswers, req)?;
        let owner = self.authenticate(req).await?;
        let body = request::json_object(&req.body)?;
        let subject = request::required_id::<SubjectName>(&body, "subjectName")?;
        let test = request::required_id::<TestId>(&body, "testId")?;
        let claimed = request::required_id::<StudentId>(&body, "studentId")?;
        let raw = request::answers(&body)?;
        let student = self.enrolled(&owner, Some(&claimed)).await?;
        let meta = self.open_test(&student, &subject, &test).await?;
        let questions = self.questions(&subject, &test).await?;
        let answers = validate_answers(&questions, raw, &test)?;
        let unanswered = questions.len() - answers.len();

        let received_at = self.clock.now();
        // The deadline was checked before the reads above; if they took so long that
        // the scorer may have started on this test, storing now could leave answers
        // that are never graded: refuse instead, having written nothing.
        if !crate::deadline::accepts_writes(meta.due_at, received_at) {
            return Err(self.closed(&subject, &test, &meta));
        }
        let mut submission = Submission {
            receipt: Some(Receipt {
                sha256: Receipt::digest(&owner, &subject, &test, received_at, &answers),
                student_id: owner.clone(),
                subject_name: subject.clone(),
                test_id: test.clone(),
                received_at,
                replaced: false,
                unanswered,
            }),
            test_result: answers,
        };
        // One object holds the answers and their receipt: one write stores both, so
        // no crash or concurrent upload can leave them disagreeing. A first upload is
        // create-once, so of several at once exactly one says it replaced nothing.
        let key = layout::submission(&subject, &meta.test_id, &owner);
        let encode = |s: &Submission| serde_json::to_vec_pretty(s).map_err(ApiError::internal);
        let replaced = match self.store.create(&key, encode(&submission)?).await? {
            Created::Now => false,
            Created::AlreadyExisted => {
                if let Some(receipt) = submission.receipt.as_mut() {
                    receipt.replaced = true;
                }
                self.store.put(&key, encode(&submission)?).await?;
                true
            }
        };
        let receipt = submission.receipt;
        tracing::info!(%subject, %test, student = %owner, replaced, unanswered, "answers stored");
        let mut value = to_value(Envelope {
            code: 200,
            body: UPLOAD_OK.to_string(),
            test: None,
            receipt,
            submission: None,
            reason: None,
        })?;
        if unanswered > 0 {
            value["message"] = json!(format!(
                "{unanswered} question(s) left unanswered; they count as wrong"
            ));
        }
        Ok(value)
    }
}

/// Checks the answers against the test: every question exists, once, and every
/// answer is one of its options. Unanswered questions are left out.
pub fn validate_answers(
    questions: &[Question],
    raw: Vec<request::RawAnswer>,
    test: &TestId,
) -> Result<Vec<GivenAnswer>, ApiError> {
    let mut seen = HashSet::new();
    let mut answers = Vec::with_capacity(raw.len());
    for entry in raw {
        let question = questions
            .iter()
            .find(|q| q.question_id == entry.question_id)
            .ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "question {} is not part of test {test}",
                    entry.question_id
                ))
            })?;
        if !seen.insert(entry.question_id.clone()) {
            return Err(ApiError::Unprocessable(format!(
                "question {} is answered more than once",
                entry.question_id
            )));
        }
        let Some(answer) = entry.answer else { continue };
        if !question.has_answer(&answer) {
            let options: Vec<&str> = question
                .answers
                .iter()
                .map(|a| a.answer_id.as_str())
                .collect();
            return Err(ApiError::Unprocessable(format!(
                "answer \"{answer}\" is not an option of question {} (options: {})",
                entry.question_id,
                options.join(", ")
            )));
        }
        answers.push(GivenAnswer {
            question_id: entry.question_id,
            answer,
        });
    }
    Ok(answers)
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

/// The body of an error response.
pub fn error_response(e: &ApiError) -> ApiResponse {
    let allow = match e {
        ApiError::MethodNotAllowed { allow, .. } => Some(*allow),
        _ => None,
    };
    let body = json!({"code": e.status(), "body": e.to_string(), "reason": e.reason()});
    ApiResponse {
        status: e.status(),
        body,
        allow,
    }
}
