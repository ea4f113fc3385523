//! The three endpoints, independent of how requests arrive (API Gateway through
//! Lambda, or the local HTTP gateway).

pub mod cache;
pub mod contract;
pub mod error;
pub mod request;

use crate::deadline::display_in;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout;
use crate::model::{
    Answer, Catalog, GivenAnswer, Question, Receipt, Roster, Student, Submission, TestMeta,
};
use crate::ports::{Clock, Created, ObjectStore};
use crate::windows::{self, Window};
use crate::{keys, store_json, variant};
use chrono_tz::Tz;
use contract::{
    with_offset, Envelope, LateWindow, StudentRef, SubjectTests, TestInfo, TestSummary,
    LIST_TESTS_PATH, MAX_BODY_BYTES, TEST_PATH, UPLOAD_OK,
};
pub use error::{ApiError, Denied};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

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
    /// How long the catalog, roster and questions read by one request are reused by
    /// later ones (see [`cache`]); zero reads them on every request.
    pub cache_ttl: chrono::Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            time_zone: crate::deadline::DEFAULT_TIME_ZONE,
            cache_ttl: cache::DEFAULT_CACHE_TTL,
        }
    }
}

/// The API, generic over its ports.
///
/// Request budget (S3 answers in 10-30 ms, so round trips, not work, decide the
/// latency): every endpoint makes at most two rounds of store requests one after
/// the other, the reads of a round running at once. Warm (catalog, roster and
/// questions reused, see [`cache`]): list = the key, then one read per open test
/// at once; get = the key and the caller's submission; upload = the key and the
/// caller's submission, then one write.
pub struct Api<S, C> {
    store: S,
    clock: C,
    config: ApiConfig,
    cache: cache::ApiCache,
}

impl<S: ObjectStore, C: Clock> Api<S, C> {
    pub fn new(store: S, clock: C, config: ApiConfig) -> Self {
        Self {
            store,
            clock,
            config,
            cache: cache::ApiCache::default(),
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

    /// The key presented, before any I/O: a request without one costs no request.
    fn presented_key(req: &ApiRequest) -> Result<&str, ApiError> {
        req.api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::MissingKey)
    }

    /// Who is calling, from the key alone: one small read, never cached.
    async fn authenticate(&self, presented: &str) -> Result<StudentId, ApiError> {
        keys::owner_of(&self.store, presented, self.clock.now())
            .await?
            .ok_or_else(|| ApiError::Forbidden(Denied::InvalidKey, "this API key is not valid (revoked, expired or mistyped); ask your trainer for a new one".into()))
    }

    /// The caller's roster entry; the id in the request must be the key's owner.
    fn enrolled(
        roster: &Roster,
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
        roster.find(owner).cloned().ok_or_else(|| {
            ApiError::Forbidden(
                Denied::NotOnRoster,
                format!("student {owner} is not on the roster of this course; ask your trainer"),
            )
        })
    }

    async fn roster(&self) -> Result<Arc<Roster>, ApiError> {
        let load = || async {
            Ok::<_, ApiError>(
                store_json::read(&self.store, &layout::roster())
                    .await?
                    .unwrap_or_default(),
            )
        };
        let (now, ttl) = (self.clock.now(), self.config.cache_ttl);
        self.cache.roster(now, ttl, load).await
    }

    async fn catalog(&self) -> Result<Arc<Catalog>, ApiError> {
        let load = || async {
            Ok::<_, ApiError>(
                store_json::read(&self.store, &layout::catalog())
                    .await?
                    .unwrap_or_default(),
            )
        };
        let (now, ttl) = (self.clock.now(), self.config.cache_ttl);
        self.cache.catalog(now, ttl, load).await
    }

    /// Finds an open test the student may take.
    fn open_test(
        &self,
        catalog: &Catalog,
        student: &Student,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<(TestMeta, Window), ApiError> {
        let meta = catalog
            .find(subject, test)
            .cloned()
            .ok_or_else(|| self.not_published(catalog, student, subject, test))?;
        if !student.takes(subject) {
            return Err(ApiError::Forbidden(
                Denied::NotEnrolled,
                format!("you are not enrolled in subject {subject}"),
            ));
        }
        // Each student's own window: extensions, extra time and late policy applied.
        let window = windows::window(&meta, student);
        if !window.is_open(self.clock.now()) {
            return Err(self.closed(subject, test, window));
        }
        Ok((meta, window))
    }

    /// Names what the student can take instead: the open tests of the subject, or
    /// the subjects with an open test (never subjects with nothing open).
    fn not_published(
        &self,
        catalog: &Catalog,
        student: &Student,
        subject: &SubjectName,
        test: &TestId,
    ) -> ApiError {
        let now = self.clock.now();
        let open: Vec<&TestMeta> = catalog
            .tests
            .iter()
            .filter(|t| student.takes(&t.subject) && windows::window(t, student).is_open(now))
            .collect();
        let in_subject: Vec<&str> = open
            .iter()
            .filter(|t| &t.subject == subject)
            .map(|t| t.test_id.as_str())
            .collect();
        let mut subjects: Vec<&str> = open.iter().map(|t| t.subject.as_str()).collect();
        subjects.sort_unstable();
        subjects.dedup();
        let instead = match (in_subject.as_slice(), subjects.as_slice()) {
            ([], []) => "no test is open for you right now".to_owned(),
            ([], open) => format!("your subjects with open tests are: {}", open.join(", ")),
            (tests, _) => format!("the open tests of {subject} are: {}", tests.join(", ")),
        };
        ApiError::NotFound(format!(
            "there is no published test {test} in subject {subject}; {instead}"
        ))
    }

    fn closed(&self, subject: &SubjectName, test: &TestId, window: Window) -> ApiError {
        ApiError::Forbidden(
            Denied::TestClosed,
            format!(
                "test {test} of {subject} closed at {}; answers are no longer accepted",
                display_in(window.close, self.config.time_zone)
            ),
        )
    }

    async fn questions(
        &self,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<Arc<Vec<Question>>, ApiError> {
        let load = || async {
            Ok::<_, ApiError>(
                store_json::read(&self.store, &layout::questions(subject, test)).await?,
            )
        };
        let (now, ttl) = (self.clock.now(), self.config.cache_ttl);
        self.cache
            .questions((subject.clone(), test.clone()), now, ttl, load)
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!("test {test} of {subject} has no questions yet"))
            })
    }

    /// A student's stored answers to a test, with their receipt.
    async fn submission_of(
        &self,
        student: &StudentId,
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<Option<Submission>, ApiError> {
        Ok(store_json::read(&self.store, &layout::submission(subject, test, student)).await?)
    }

    async fn list_tests(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        Self::check_method(Endpoint::ListTests, req)?;
        let presented = Self::presented_key(req)?;
        // Round 1: the key with the (usually kept) roster and catalog, at once; the
        // answers are looked at in the order a sequential handler would check them.
        let (owner, roster, catalog) =
            futures::join!(self.authenticate(presented), self.roster(), self.catalog());
        let owner = owner?;
        let body = request::json_object(&req.body)?;
        let claimed = request::required_id::<StudentId>(&body, "studentId")?;
        let filter = request::optional_id::<SubjectName>(&body, "subjectName")?;
        let student = Self::enrolled(&*roster?, &owner, Some(&claimed))?;
        let catalog = catalog?;
        let now = self.clock.now();
        let open: Vec<(&TestMeta, Window)> = catalog
            .tests
            .iter()
            .filter(|t| student.takes(&t.subject))
            .filter(|t| filter.as_ref().is_none_or(|f| f == &t.subject))
            .map(|t| (t, windows::window(t, &student)))
            .filter(|(_, w)| w.is_open(now))
            .collect();
        // Round 2: whether each open test was submitted, all at once.
        let submitted = futures::future::try_join_all(open.iter().map(|(meta, _)| async {
            let key = layout::submission(&meta.subject, &meta.test_id, &owner);
            Ok::<_, ApiError>(self.store.get(&key).await?.is_some())
        }))
        .await?;
        let mut by_subject: BTreeMap<SubjectName, Vec<TestSummary>> = BTreeMap::new();
        let tz = self.config.time_zone;
        for ((meta, window), submitted) in open.into_iter().zip(submitted) {
            by_subject
                .entry(meta.subject.clone())
                .or_default()
                .push(TestSummary {
                    test_id: meta.test_id.clone(),
                    title: meta.title.clone(),
                    due_at: with_offset(window.due, tz),
                    submitted,
                    late: LateWindow::of(meta, window, tz),
                    points: meta.rules.points,
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
            student: Some(StudentRef {
                student_id: student.student_id.clone(),
                name: student.name.clone(),
            }),
            reason: None,
        })
    }

    async fn get_test(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        Self::check_method(Endpoint::GetTest, req)?;
        let presented = Self::presented_key(req)?;
        let parsed = parse_test_query(&req.query);
        let ((subject, test), claimed) = match parsed {
            Ok(parsed) => parsed,
            // Bad input is answered after the key, as it always was.
            Err(e) => return Err(self.authenticate(presented).await.err().unwrap_or(e)),
        };
        // Round 1, all at once: the key, the (usually kept) roster, catalog and
        // questions, and the submission of the id the client claims. That read is
        // used only once the key proves the id is the caller's.
        let speculative = async {
            match &claimed {
                Some(id) => Some(self.submission_of(id, &subject, &test).await),
                None => None,
            }
        };
        let (owner, roster, catalog, questions, speculative) = futures::join!(
            self.authenticate(presented),
            self.roster(),
            self.catalog(),
            self.questions(&subject, &test),
            speculative
        );
        let owner = owner?;
        let roster = roster?;
        if let Some(claimed) = &claimed {
            Self::enrolled(&roster, &owner, Some(claimed))?;
        }
        let student = Self::enrolled(&roster, &owner, None)?;
        let (meta, window) = self.open_test(&*catalog?, &student, &subject, &test)?;
        let questions = questions?;
        // The claimed id is the owner here (checked above); without one, round 2.
        let submission = match speculative {
            Some(read) => read?,
            None => self.submission_of(&owner, &subject, &test).await?,
        };
        let tz = self.config.time_zone;
        // The student's own questions, in their order (see `variant`).
        let questions = variant::served(&meta.rules, &subject, &test, &owner, &questions);
        let info = TestInfo {
            late: LateWindow::of(&meta, window, tz),
            subject,
            test_id: test,
            title: meta.title,
            due_at: with_offset(window.due, tz),
        };
        to_value(Envelope {
            code: 200,
            body: questions,
            test: Some(info),
            receipt: None,
            submission,
            student: None,
            reason: None,
        })
    }

    async fn upload_answers(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        Self::check_method(Endpoint::UploadAnswers, req)?;
        let presented = Self::presented_key(req)?;
        let upload = match request::upload(&req.body) {
            Ok(upload) => upload,
            // Bad input is answered after the key, as it always was.
            Err(e) => return Err(self.authenticate(presented).await.err().unwrap_or(e)),
        };
        // Round 1, all at once: the key, the (usually kept) roster, catalog and
        // questions, and whether the claimed student already has a submission (used
        // only once the key proves the claim).
        let existing = async {
            let key = layout::submission(&upload.subject_name, &upload.test_id, &upload.student_id);
            Ok::<_, ApiError>(self.store.get(&key).await?.is_some())
        };
        let (owner, roster, catalog, questions, existing) = futures::join!(
            self.authenticate(presented),
            self.roster(),
            self.catalog(),
            self.questions(&upload.subject_name, &upload.test_id),
            existing
        );
        let owner = owner?;
        let student = Self::enrolled(&*roster?, &owner, Some(&upload.student_id))?;
        let (subject, test) = (upload.subject_name, upload.test_id);
        let (meta, window) = self.open_test(&*catalog?, &student, &subject, &test)?;
        let questions = questions?;
        // Only the questions this student was given count (and are accepted).
        let given = variant::served(&meta.rules, &subject, &test, &owner, &questions);
        let answers = validate_answers(&given, upload.test_result, &test)?;
        let unanswered = given.len() - answers.len();
        let existing = existing?;

        let received_at = self.clock.now();
        // The deadline was checked before the reads above; if they took so long that
        // the scorer may have started on this test, storing now could leave answers
        // that are never graded: refuse instead, having written nothing.
        if !crate::deadline::accepts_writes(window.close, received_at) {
            return Err(self.closed(&subject, &test, window));
        }
        let mut submission = Submission {
            receipt: Some(Receipt {
                sha256: Receipt::digest(&owner, &subject, &test, received_at, &answers),
                student_id: owner.clone(),
                subject_name: subject.clone(),
                test_id: test.clone(),
                received_at,
                replaced: existing,
                unanswered,
                late: windows::lateness(&meta, window, received_at),
            }),
            test_result: answers,
        };
        // Round 2, one write: answers and receipt in one object, so no crash or
        // concurrent upload can leave them disagreeing. A first upload is
        // create-once, so of several at once exactly one says it replaced nothing.
        let key = layout::submission(&subject, &meta.test_id, &owner);
        let encode = |s: &Submission| serde_json::to_vec_pretty(s).map_err(ApiError::internal);
        let created =
            !existing && self.store.create(&key, encode(&submission)?).await? == Created::Now;
        if !created {
            if let Some(receipt) = submission.receipt.as_mut() {
                receipt.replaced = true;
            }
            self.store.put(&key, encode(&submission)?).await?;
        }
        let receipt = submission.receipt;
        let replaced = !created;
        tracing::info!(%subject, %test, student = %owner, replaced, unanswered, "answers stored");
        let mut value = to_value(Envelope {
            code: 200,
            body: UPLOAD_OK.to_string(),
            test: None,
            receipt,
            submission: None,
            student: None,
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

/// Subject, test and (optional) claimed student of a `GET /api/v1/test` query.
fn parse_test_query(
    query: &[(String, String)],
) -> Result<((SubjectName, TestId), Option<StudentId>), ApiError> {
    let subject = SubjectName::parse(request::single_query(query, "subjectName")?)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let test = TestId::parse(request::single_query(query, "testId")?)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let claimed = match query.iter().find(|(k, _)| k == "studentId") {
        Some((name, _)) => Some(
            StudentId::parse(request::single_query(query, "studentId")?)
                .map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))?,
        ),
        None => None,
    };
    Ok(((subject, test), claimed))
}

/// Checks the answers against the questions the student was given: every question
/// is one of them, answered once, in its shape (a list for a question with several
/// answers, one answer otherwise), with options of the question, none twice.
/// Unanswered questions are left out.
pub fn validate_answers(
    questions: &[Question],
    raw: Vec<contract::UploadAnswer>,
    test: &TestId,
) -> Result<Vec<GivenAnswer>, ApiError> {
    let mut seen = HashSet::new();
    let mut answers = Vec::with_capacity(raw.len());
    for entry in raw {
        let id = &entry.question_id;
        let question = questions
            .iter()
            .find(|q| &q.question_id == id)
            .ok_or_else(|| {
                ApiError::Unprocessable(format!("question {id} is not part of test {test}"))
            })?;
        if !seen.insert(id.clone()) {
            return Err(ApiError::Unprocessable(format!(
                "question {id} is answered more than once"
            )));
        }
        let Some(answer) = entry.answer else { continue };
        check_shape(question, &answer)?;
        answers.push(GivenAnswer {
            question_id: entry.question_id,
            answer,
        });
    }
    Ok(answers)
}

/// One answer against its question: the shape, the options, no option twice.
fn check_shape(question: &Question, answer: &Answer) -> Result<(), ApiError> {
    let id = &question.question_id;
    match (question.multiple, answer) {
        (true, Answer::One(a)) => {
            return Err(ApiError::Unprocessable(format!(
                "question {id} has several correct answers: send a list such as [\"{a}\"], not a single answer"
            )))
        }
        (false, Answer::Many(list)) => {
            return Err(ApiError::Unprocessable(format!(
                "question {id} takes one answer: send one option such as \"{}\", not a list",
                list.first().map_or("a", |a| a.as_str())
            )))
        }
        _ => {}
    }
    let mut chosen = HashSet::new();
    for a in answer.ids() {
        if !question.has_answer(a) {
            let options: Vec<&str> = question
                .answers
                .iter()
                .map(|a| a.answer_id.as_str())
                .collect();
            return Err(ApiError::Unprocessable(format!(
                "answer \"{a}\" is not an option of question {id} (options: {})",
                options.join(", ")
            )));
        }
        if !chosen.insert(a) {
            return Err(ApiError::Unprocessable(format!(
                "answer \"{a}\" is listed twice for question {id}"
            )));
        }
    }
    Ok(())
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
