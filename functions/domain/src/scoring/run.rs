//! One scoring pass: work out from the store what is left to do, write the results,
//! send the emails, and send the trainer's report once everything is done.
//!
//! Nothing is remembered between passes except what is stored, so a pass after a
//! crash, a retry or a duplicate event simply finds less to do.

use super::email::{self, FailedSend, RenderedMail, Report, ReportTest};
use super::grading::{self, Score, TestContent};
use super::ledger::{self, Lease, LeaseError, SentRecord};
use super::stats::TestStats;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey, SCORE, SUBMISSION};
use crate::model::{Catalog, GivenAnswer, KeyEntry, Question, Roster, Student, TestMeta};
use crate::ports::{Created, Mailer, ObjectStore, StoreError};
use crate::store_json;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::stream::{self, StreamExt};
use lettre::message::Mailbox;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Attempts at a ledger write after an email was accepted, and the first pause.
const RECORD_ATTEMPTS: u32 = 8;
const RECORD_FIRST_PAUSE: Duration = Duration::from_millis(20);

/// Settings of the scorer (read from env by the binaries, never here).
#[derive(Debug, Clone)]
pub struct ScoringConfig {
    /// The trainer's zone: dates in emails are shown in it; the scheduler fires in it.
    pub time_zone: Tz,
    /// Top of the grade scale (grades are `0..=max_grade`).
    pub max_grade: u32,
    /// `From:` of every email, `Name <address>` or `address`.
    pub sender: String,
    /// Where the trainer's report goes.
    pub trainer_email: String,
    /// Emails per second; `None` sends as fast as the mail service answers.
    pub send_rate: Option<f64>,
    /// Objects read at the same time.
    pub read_concurrency: usize,
    /// Stop this long before the invocation's deadline, so everything is recorded
    /// (at most a quarter of the time the invocation has, for short timeouts).
    pub safety_margin: Duration,
    /// How long a run may hold the lease at most (a crashed run blocks others this long).
    pub lease_ttl: Duration,
}

impl ScoringConfig {
    pub fn new(sender: impl Into<String>, trainer_email: impl Into<String>) -> Self {
        Self {
            time_zone: crate::deadline::DEFAULT_TIME_ZONE,
            max_grade: 5,
            sender: sender.into(),
            trainer_email: trainer_email.into(),
            send_rate: None,
            read_concurrency: 16,
            safety_margin: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// What one pass is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Tests due at or before this instant are scored.
    pub now: DateTime<Utc>,
    /// The invocation must be finished by then (the Lambda deadline); `None` = no limit.
    pub deadline: Option<Instant>,
    /// Work everything out and render the emails, but write and send nothing.
    pub dry_run: bool,
}

/// A result written (or, in a dry run, that would be written).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoredItem {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub student_id: StudentId,
    pub points: u32,
    pub total: u32,
    pub grade: u32,
    pub revision: u32,
}

/// An email handed to the mail service (or, in a dry run, that would be).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentItem {
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
}

/// What a pass did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub now: DateTime<Utc>,
    pub dry_run: bool,
    /// Everything due was done; `false` means a follow-up pass has work left.
    pub complete: bool,
    pub closed_tests: usize,
    pub scored: Vec<ScoredItem>,
    pub sent: Vec<SentItem>,
    pub failed: Vec<FailedSend>,
    pub report: Option<SentItem>,
    pub problems: Vec<String>,
    pub stopped_early: Option<String>,
}

/// Why a pass could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    #[error("scorer configuration: {0}")]
    Config(String),
    #[error("another scorer run is in progress (lease held until {0}); try again later")]
    Busy(DateTime<Utc>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LeaseError> for ScoringError {
    fn from(e: LeaseError) -> Self {
        match e {
            LeaseError::Busy(until) => ScoringError::Busy(until),
            LeaseError::Store(e) => ScoringError::Store(e),
        }
    }
}

/// Runs one scoring pass. The Lambda, `trainer score --now` and the local scheduler
/// all call this.
#[tracing::instrument(skip_all, fields(now = %options.now, dry_run = options.dry_run))]
pub async fn score_pass(
    store: &dyn ObjectStore,
    mailer: &dyn Mailer,
    config: &ScoringConfig,
    options: RunOptions,
) -> Result<RunSummary, ScoringError> {
    let from = email::parse_mailbox(&config.sender)
        .map_err(|e| ScoringError::Config(format!("sender: {e}")))?;
    let trainer = email::parse_mailbox(&config.trainer_email)
        .map_err(|e| ScoringError::Config(format!("trainer email: {e}")))?;
    if config.max_grade == 0 {
        return Err(ScoringError::Config("max grade must be at least 1".into()));
    }
    let lease = if options.dry_run {
        None
    } else {
        // The lease is about real time (other processes), not the scoring time, which
        // a manual re-run may set in the past.
        let mut ttl = config.lease_ttl;
        if let Some(d) = options.deadline {
            ttl = ttl.min(d.saturating_duration_since(Instant::now()));
        }
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15));
        Some(Lease::acquire(store, now, until).await?)
    };
    let margin = match options.deadline {
        Some(d) => config
            .safety_margin
            .min(d.saturating_duration_since(Instant::now()) / 4),
        None => config.safety_margin,
    };
    let pass = Pass {
        store,
        mailer,
        config,
        options,
        margin,
        from,
        trainer,
    };
    let result = pass.run().await;
    if let Some(lease) = lease {
        if let Err(e) = lease.release(store).await {
            tracing::warn!(error = %e, "could not release the scorer lease; it expires by itself");
        }
    }
    result
}

struct Pass<'a> {
    store: &'a dyn ObjectStore,
    mailer: &'a dyn Mailer,
    config: &'a ScoringConfig,
    options: RunOptions,
    /// The effective safety margin before the deadline.
    margin: Duration,
    from: Mailbox,
    trainer: Mailbox,
}

/// Everything known about one closed test during a pass.
struct TestState {
    meta: TestMeta,
    reported: bool,
    rescore: bool,
    /// Roster students taking the subject, plus roster students who submitted anyway.
    enrolled: Vec<Student>,
    submitted: BTreeSet<StudentId>,
    scored: BTreeSet<StudentId>,
    notified: BTreeMap<StudentId, BTreeSet<u32>>,
    content: Option<Arc<(Vec<Question>, Vec<KeyEntry>)>>,
    /// Questions or key missing: nothing can be graded until the trainer fixes it.
    blocked: bool,
    problems: Vec<String>,
    /// The result every submitting student has after this pass.
    finals: BTreeMap<StudentId, Arc<Score>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Grade,
    Regrade,
    ReadExisting,
}

struct Job {
    test: usize,
    student: StudentId,
    need: Need,
}

struct JobOut {
    test: usize,
    student: StudentId,
    existing: Option<Score>,
    fresh: Option<Score>,
    problem: Option<String>,
    /// A passing store failure: the whole pass fails so the next one redoes this
    /// job. (Recording it as a problem would skip the student's email for good.)
    retry: Option<StoreError>,
}

enum Write {
    Create(Score),
    Replace(Score),
}

/// Spaces sends out to the mail service's rate.
struct Pacer {
    gap: Option<Duration>,
    next: Option<tokio::time::Instant>,
}

impl Pacer {
    fn new(rate: Option<f64>) -> Self {
        let gap = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        Self { gap, next: None }
    }

    async fn wait(&mut self) {
        let Some(gap) = self.gap else { return };
        let now = tokio::time::Instant::now();
        let at = self.next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        self.next = Some(at + gap);
    }
}

impl Pass<'_> {
    fn low_on_time(&self) -> bool {
        self.options
            .deadline
            .is_some_and(|d| Instant::now() + self.margin >= d)
    }

    async fn run(&self) -> Result<RunSummary, ScoringError> {
        let now = self.options.now;
        let mut summary = RunSummary {
            now,
            dry_run: self.options.dry_run,
            complete: false,
            closed_tests: 0,
            scored: vec![],
            sent: vec![],
            failed: vec![],
            report: None,
            problems: vec![],
            stopped_early: None,
        };
        let catalog: Catalog = store_json::read(self.store, &layout::catalog())
            .await?
            .unwrap_or_default();
        let roster: Roster = store_json::read(self.store, &layout::roster())
            .await?
            .unwrap_or_default();
        let mut closed: Vec<TestMeta> = catalog
            .tests
            .into_iter()
            .filter(|t| t.due_at <= now)
            .collect();
        closed.sort_by(|a, b| {
            (a.due_at, &a.subject, &a.test_id).cmp(&(b.due_at, &b.subject, &b.test_id))
        });
        summary.closed_tests = closed.len();
        if closed.is_empty() {
            summary.complete = true;
            return Ok(summary);
        }

        let reported: BTreeSet<(SubjectName, TestId)> = self
            .store
            .list(ledger::REPORTED_PREFIX)
            .await?
            .iter()
            .filter_map(|o| ledger::parse_test_marker(ledger::REPORTED_PREFIX, o.key.as_str()))
            .collect();
        let rescore = self.active_rescores().await?;

        let mut tests = self
            .load_states(closed, &roster, &reported, &rescore)
            .await?;
        if self.low_on_time() {
            summary.stopped_early = Some("time ran low while listing".into());
            return Ok(summary);
        }
        self.load_content(&mut tests).await?;

        // Grade and read what this pass needs, a bounded number at a time.
        let mut jobs = vec![];
        for (i, t) in tests.iter().enumerate() {
            for st in &t.enrolled {
                let id = &st.student_id;
                let need = match (t.submitted.contains(id), t.scored.contains(id)) {
                    (true, false) if !t.blocked => Need::Grade,
                    (true, true) if t.rescore && !t.blocked => Need::Regrade,
                    (_, true) if !t.reported || !t.notified.contains_key(id) || t.rescore => {
                        Need::ReadExisting
                    }
                    _ => continue,
                };
                jobs.push(Job {
                    test: i,
                    student: id.clone(),
                    need,
                });
            }
        }
        let mut outs = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(512) {
            if self.low_on_time() {
                summary.stopped_early = Some("time ran low while grading".into());
                return Ok(summary);
            }
            // Futures are built eagerly (not in a stream closure) so the pass stays
            // `Send` and can be spawned by the local scheduler.
            let futures: Vec<_> = chunk.iter().map(|job| self.do_job(&tests, job)).collect();
            let batch: Vec<JobOut> = stream::iter(futures)
                .buffer_unordered(self.config.read_concurrency.max(1))
                .collect()
                .await;
            outs.extend(batch);
        }

        if let Some(e) = outs.iter_mut().find_map(|o| o.retry.take()) {
            return Err(e.into());
        }

        // Decide and write results.
        let mut writes: Vec<(usize, Write)> = vec![];
        for out in outs {
            let t = &mut tests[out.test];
            if let Some(p) = out.problem {
                t.problems.push(p);
            }
            match (out.existing, out.fresh) {
                (None, Some(fresh)) => writes.push((out.test, Write::Create(fresh))),
                (Some(old), Some(mut fresh)) => {
                    if fresh.same_result(&old) {
                        t.finals.insert(out.student, Arc::new(old));
                    } else {
                        fresh.revision = old.revision + 1;
                        writes.push((out.test, Write::Replace(fresh)));
                    }
                }
                (Some(old), None) => {
                    t.finals.insert(out.student, Arc::new(old));
                }
                (None, None) => {}
            }
        }
        writes.sort_by_key(|(i, w)| (*i, write_score(w).student_id.clone()));
        for chunk in writes.chunks(256) {
            if self.low_on_time() {
                summary.stopped_early = Some("time ran low while writing results".into());
                return Ok(summary);
            }
            let futures: Vec<_> = chunk
                .iter()
                .map(|(i, w)| async move { (*i, self.write_score(w).await) })
                .collect();
            let done: Vec<(usize, Result<Score, StoreError>)> = stream::iter(futures)
                .buffer_unordered(self.config.read_concurrency.max(1))
                .collect()
                .await;
            for (i, r) in done {
                let score = r?;
                summary.scored.push(ScoredItem {
                    subject: score.subject.clone(),
                    test_id: score.test_id.clone(),
                    student_id: score.student_id.clone(),
                    points: score.points,
                    total: score.total,
                    grade: score.grade,
                    revision: score.revision,
                });
                tests[i]
                    .finals
                    .insert(score.student_id.clone(), Arc::new(score));
            }
        }

        // Student emails: one per student covering every result they were not told yet.
        let mut pending: BTreeMap<StudentId, Vec<(usize, Arc<Score>)>> = BTreeMap::new();
        for (i, t) in tests.iter().enumerate() {
            for (id, score) in &t.finals {
                let told = t
                    .notified
                    .get(id)
                    .is_some_and(|revs| revs.contains(&score.revision));
                if !told {
                    pending
                        .entry(id.clone())
                        .or_default()
                        .push((i, score.clone()));
                }
            }
        }
        let students: HashMap<&StudentId, &Student> =
            roster.0.iter().map(|s| (&s.student_id, s)).collect();
        let mut pacer = Pacer::new(self.config.send_rate);
        let mut retried = vec![];
        let mut failed_tests: BTreeSet<usize> = BTreeSet::new();
        for (id, items) in pending {
            if self.low_on_time() {
                summary.stopped_early = Some("time ran low while sending".into());
                return Ok(summary);
            }
            let Some(student) = students.get(&id) else {
                continue;
            };
            let scores: Vec<&Score> = items.iter().map(|(_, s)| s.as_ref()).collect();
            let rendered = match email::student_email(&self.from, student, &scores, now) {
                Ok(r) => r,
                Err(e) => {
                    summary.failed.push(FailedSend {
                        to: student.email.clone(),
                        subject: email::student_subject(&scores),
                        error: e.to_string(),
                    });
                    failed_tests.extend(items.iter().map(|(i, _)| *i));
                    continue;
                }
            };
            let label = format!("{} <{}>: {}", id, student.email, rendered.subject);
            let is_retry = items
                .iter()
                .any(|(i, _)| tests[*i].reported && !tests[*i].rescore);
            if self.options.dry_run {
                summary.sent.push(sent_item(&rendered));
                continue;
            }
            pacer.wait().await;
            match self.send(&rendered).await {
                Ok(message_id) => {
                    let record = SentRecord {
                        sent_at: Utc::now(),
                        to: rendered.to.clone(),
                        message_id,
                        subject: rendered.subject.clone(),
                    };
                    for (i, score) in &items {
                        let t = &tests[*i];
                        let key = ledger::student_entry(
                            &t.meta.subject,
                            &t.meta.test_id,
                            &id,
                            score.revision,
                        )?;
                        self.record(&key, &record).await?;
                    }
                    summary.sent.push(sent_item(&rendered));
                    if is_retry {
                        retried.push(label);
                    }
                }
                Err(error) => {
                    tracing::warn!(student = %id, %error, "student email failed; retried on the next run");
                    summary.failed.push(FailedSend {
                        to: student.email.clone(),
                        subject: rendered.subject,
                        error,
                    });
                    failed_tests.extend(items.iter().map(|(i, _)| *i));
                }
            }
        }

        // The trainer's report, once everything above is done.
        let report_tests: Vec<usize> = (0..tests.len())
            .filter(|i| !tests[*i].reported || tests[*i].rescore)
            .collect();
        for t in &tests {
            summary.problems.extend(
                t.problems
                    .iter()
                    .map(|p| format!("{}/{}: {p}", t.meta.subject, t.meta.test_id)),
            );
        }
        let attempted_retries = !retried.is_empty()
            || summary
                .failed
                .iter()
                .any(|_| failed_tests.iter().any(|i| tests[*i].reported));
        if report_tests.is_empty() && !attempted_retries {
            summary.complete = true;
            return Ok(summary);
        }
        if self.low_on_time() {
            summary.stopped_early = Some("time ran low before the trainer's report".into());
            return Ok(summary);
        }
        let report = Report {
            generated_at: now,
            time_zone: self.config.time_zone,
            max_grade: self.config.max_grade,
            tests: report_tests
                .iter()
                .map(|i| report_test(&tests[*i], self.config.max_grade))
                .collect(),
            failed: summary.failed.clone(),
            retried,
        };
        let email_of = |id: &StudentId| {
            students
                .get(id)
                .map(|s| s.email.clone())
                .unwrap_or_default()
        };
        let rendered = email::trainer_report(&self.from, &self.trainer, &report, email_of)
            .map_err(|e| ScoringError::Config(e.to_string()))?;
        if self.options.dry_run {
            summary.report = Some(sent_item(&rendered));
            summary.complete = true;
            return Ok(summary);
        }
        pacer.wait().await;
        match self.send(&rendered).await {
            Ok(message_id) => {
                summary.report = Some(sent_item(&rendered));
                let record = SentRecord {
                    sent_at: Utc::now(),
                    to: rendered.to.clone(),
                    message_id,
                    subject: rendered.subject,
                };
                for i in report_tests {
                    let t = &tests[i];
                    if t.blocked {
                        continue;
                    }
                    if !t.reported {
                        self.record(
                            &ledger::reported_entry(&t.meta.subject, &t.meta.test_id),
                            &record,
                        )
                        .await?;
                    }
                    if t.rescore && !failed_tests.contains(&i) {
                        let key = ledger::rescore_marker(&t.meta.subject, &t.meta.test_id)?;
                        self.store.put(&key, ledger::RESCORE_DONE.to_vec()).await?;
                    }
                }
                summary.complete = true;
            }
            Err(error) => {
                tracing::warn!(%error, "trainer report failed; retried on the next run");
                summary.failed.push(FailedSend {
                    to: self.config.trainer_email.clone(),
                    subject: rendered.subject,
                    error,
                });
            }
        }
        Ok(summary)
    }

    async fn active_rescores(&self) -> Result<BTreeSet<(SubjectName, TestId)>, StoreError> {
        let mut active = BTreeSet::new();
        for o in self.store.list(ledger::RESCORE_PREFIX).await? {
            let Some(ids) = ledger::parse_test_marker(ledger::RESCORE_PREFIX, o.key.as_str())
            else {
                continue;
            };
            if let Some(bytes) = self.store.get(&o.key).await? {
                if ledger::rescore_requested(&bytes) {
                    active.insert(ids);
                }
            }
        }
        Ok(active)
    }

    /// Two listings per closed test (its objects and its ledger), never one per student.
    async fn load_states(
        &self,
        closed: Vec<TestMeta>,
        roster: &Roster,
        reported: &BTreeSet<(SubjectName, TestId)>,
        rescore: &BTreeSet<(SubjectName, TestId)>,
    ) -> Result<Vec<TestState>, StoreError> {
        let futures: Vec<_> = closed
            .into_iter()
            .map(|meta| async move {
                let prefix = layout::test_prefix(&meta.subject, &meta.test_id);
                let ledger_prefix = ledger::test_ledger_prefix(&meta.subject, &meta.test_id);
                let (objects, entries) =
                    futures::try_join!(self.store.list(&prefix), self.store.list(&ledger_prefix))?;
                let mut submitted = BTreeSet::new();
                let mut scored = BTreeSet::new();
                for o in &objects {
                    if let Some(so) = layout::parse_student_object(o.key.as_str()) {
                        if so.file == SUBMISSION {
                            submitted.insert(so.student);
                        } else if so.file == SCORE {
                            scored.insert(so.student);
                        }
                    }
                }
                let mut notified: BTreeMap<StudentId, BTreeSet<u32>> = BTreeMap::new();
                for e in &entries {
                    if let Some((st, rev)) =
                        ledger::parse_student_entry(&ledger_prefix, e.key.as_str())
                    {
                        notified.entry(st).or_default().insert(rev);
                    }
                }
                let enrolled: Vec<Student> = roster
                    .0
                    .iter()
                    .filter(|s| s.takes(&meta.subject) || submitted.contains(&s.student_id))
                    .cloned()
                    .collect();
                let ids = (meta.subject.clone(), meta.test_id.clone());
                Ok(TestState {
                    reported: reported.contains(&ids),
                    rescore: rescore.contains(&ids),
                    meta,
                    enrolled,
                    submitted,
                    scored,
                    notified,
                    content: None,
                    blocked: false,
                    problems: vec![],
                    finals: BTreeMap::new(),
                })
            })
            .collect();
        let listed: Vec<Result<TestState, StoreError>> = stream::iter(futures)
            .buffered(self.config.read_concurrency.max(1))
            .collect()
            .await;
        listed.into_iter().collect()
    }

    /// Reads questions and key of the tests that have something to grade.
    async fn load_content(&self, tests: &mut [TestState]) -> Result<(), StoreError> {
        for t in tests.iter_mut() {
            let has_work = t.enrolled.iter().any(|s| {
                t.submitted.contains(&s.student_id)
                    && (t.rescore || !t.scored.contains(&s.student_id))
            });
            if !has_work {
                continue;
            }
            let (s, id) = (&t.meta.subject, &t.meta.test_id);
            let questions: Option<Vec<Question>> =
                store_json::read(self.store, &layout::questions(s, id)).await?;
            let key: Option<Vec<KeyEntry>> =
                store_json::read(self.store, &layout::answer_key(s, id)).await?;
            match (questions, key) {
                (Some(q), Some(k)) => {
                    let keyed: BTreeSet<_> = k.iter().map(|e| &e.question_id).collect();
                    for missing in q.iter().filter(|q| !keyed.contains(&q.question_id)) {
                        t.problems.push(format!(
                            "question {} has no entry in the answer key; it counts as wrong for everyone",
                            missing.question_id
                        ));
                    }
                    t.content = Some(Arc::new((q, k)));
                }
                (q, _) => {
                    let what = if q.is_none() {
                        "questions.json"
                    } else {
                        "questionsKey.json"
                    };
                    t.problems.push(format!(
                        "{what} is missing; the test cannot be graded until it is published"
                    ));
                    t.blocked = true;
                }
            }
        }
        Ok(())
    }

    async fn do_job(&self, tests: &[TestState], job: &Job) -> JobOut {
        let t = &tests[job.test];
        let (s, id, st) = (&t.meta.subject, &t.meta.test_id, &job.student);
        let mut out = JobOut {
            test: job.test,
            student: st.clone(),
            existing: None,
            fresh: None,
            problem: None,
            retry: None,
        };
        if matches!(job.need, Need::Regrade | Need::ReadExisting) {
            match store_json::read::<Score>(self.store, &layout::score(s, id, st)).await {
                Ok(score) => out.existing = score,
                Err(e @ StoreError::Unavailable(_)) => {
                    out.retry = Some(e);
                    return out;
                }
                Err(e) => {
                    out.problem = Some(format!("result of {st} unreadable: {e}"));
                    return out;
                }
            }
        }
        if matches!(job.need, Need::Grade | Need::Regrade) {
            let Some(content) = &t.content else {
                return out;
            };
            match store_json::read::<Vec<GivenAnswer>>(self.store, &layout::submission(s, id, st))
                .await
            {
                Ok(Some(answers)) => {
                    let test = TestContent {
                        subject: s,
                        test_id: id,
                        title: &t.meta.title,
                        questions: &content.0,
                        key: &content.1,
                    };
                    out.fresh = Some(grading::grade(
                        test,
                        st,
                        &answers,
                        self.config.max_grade,
                        self.options.now,
                    ));
                }
                Ok(None) => {}
                Err(e @ StoreError::Unavailable(_)) => out.retry = Some(e),
                Err(e) => {
                    out.problem = Some(format!("submission of {st} unreadable, not graded: {e}"))
                }
            }
        }
        out
    }

    async fn write_score(&self, write: &Write) -> Result<Score, StoreError> {
        let score = write_score(write);
        let key = layout::score(&score.subject, &score.test_id, &score.student_id);
        if self.options.dry_run {
            return Ok(score.clone());
        }
        let bytes =
            serde_json::to_vec_pretty(score).map_err(|e| StoreError::Failed(e.to_string()))?;
        match write {
            Write::Replace(_) => self.store.put(&key, bytes).await.map(|()| score.clone()),
            Write::Create(_) => match self.store.create(&key, bytes).await? {
                Created::Now => Ok(score.clone()),
                // Someone else's result stands; use it so the email matches what is stored.
                Created::AlreadyExisted => store_json::read(self.store, &key)
                    .await?
                    .ok_or_else(|| StoreError::Failed(format!("{key} vanished"))),
            },
        }
    }

    async fn send(&self, mail: &RenderedMail) -> Result<String, String> {
        self.mailer
            .send(&mail.to, mail.raw.clone())
            .await
            .map_err(|e| e.to_string())
    }

    /// Records that an email was accepted. This write is what stands between an
    /// accepted email and a duplicate on the next run, so a passing store failure is
    /// retried with backoff before giving up (a create that did land and then
    /// reported a timeout is found as already existing on the retry).
    async fn record(&self, key: &ObjectKey, record: &SentRecord) -> Result<(), StoreError> {
        let bytes =
            serde_json::to_vec_pretty(record).map_err(|e| StoreError::Failed(e.to_string()))?;
        let (mut attempt, mut pause) = (1, RECORD_FIRST_PAUSE);
        loop {
            match self.store.create(key, bytes.clone()).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Unavailable(e)) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(%key, attempt, error = %e, "ledger write failed; retrying");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                    pause *= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn write_score(w: &Write) -> &Score {
    match w {
        Write::Create(s) | Write::Replace(s) => s,
    }
}

fn sent_item(mail: &RenderedMail) -> SentItem {
    SentItem {
        to: mail.to.clone(),
        subject: mail.subject.clone(),
        message_id: mail.message_id.clone(),
    }
}

fn report_test(t: &TestState, max_grade: u32) -> ReportTest {
    let scores: Vec<Arc<Score>> = t.finals.values().cloned().collect();
    let grades: Vec<u32> = scores.iter().map(|s| s.grade).collect();
    let missing: Vec<Student> = t
        .enrolled
        .iter()
        .filter(|s| !t.submitted.contains(&s.student_id))
        .cloned()
        .collect();
    ReportTest {
        meta: t.meta.clone(),
        rescored: t.rescore,
        stats: TestStats::of(&grades, t.enrolled.len(), max_grade),
        scores,
        missing,
        problems: t.problems.clone(),
    }
}
