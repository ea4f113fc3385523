//! One scoring pass: work out from the store what is left to do, write the results,
//! send the emails, and send the trainer's report once everything is done.
//!
//! Nothing is remembered between passes except what is stored, so a pass after a
//! crash, a retry or a duplicate event simply finds less to do.
//!
//! What a pass costs in store requests: one read per submission to grade; per test
//! that still has work, one listing (per 1000 keys), one read of its results and at
//! most two writes of them; one journal write per wave of emails. Tests that are
//! settled (reported, everyone emailed) cost one read.

use super::email::{self, FailedSend, RenderedMail, Report, ReportTest};
use super::grading::{self, Score, TestContent};
use super::ledger::{self, Lease, LeaseError};
use super::results::{self, JournalWave, Notified, TestResults};
use super::stats::TestStats;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey, JOURNAL_PREFIX, SUBMISSION};
use crate::model::{Catalog, KeyEntry, Question, Roster, Student, Submission, TestMeta};
use crate::ports::{Etag, Mailer, ObjectStore, StoreError, Swapped};
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

/// Emails per journal write by default: at 16, a 100 x 10 course stays within 1.1
/// store requests per submission while a crash re-sends at most 16 emails.
pub const DEFAULT_LEDGER_BATCH: usize = 16;

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
    /// Emails recorded in the journal with one write (group commit). A crash between
    /// an accepted email and its wave's record re-sends at most this many emails on
    /// the next pass; 1 records every email on its own, at one write per email.
    pub ledger_batch: usize,
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
            ledger_batch: DEFAULT_LEDGER_BATCH,
        }
    }
}

/// What one pass is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Tests due at least [`crate::deadline::GRADING_GRACE`] before this instant are scored.
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

/// Everything known about one closed test that still has work in this pass.
struct TestState {
    meta: TestMeta,
    /// The tag of the rescore request being handled, if any: the request is marked
    /// done only if nobody asked again meanwhile.
    rescore_request: Option<Etag>,
    rescore: bool,
    /// The stored results, updated in memory as the pass goes.
    results: TestResults,
    /// `results` differs from what is stored.
    dirty: bool,
    /// Roster students taking the subject, plus roster students who submitted anyway.
    enrolled: Vec<Student>,
    submitted: BTreeSet<StudentId>,
    content: Option<Arc<(Vec<Question>, Vec<KeyEntry>)>>,
    /// Questions or key missing: nothing can be graded until the trainer fixes it.
    blocked: bool,
    /// An email covering this test failed in this pass.
    failed: bool,
    problems: Vec<String>,
}

impl TestState {
    fn questions(&self) -> &[Question] {
        self.content.as_ref().map_or(&[], |c| c.0.as_slice())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Grade,
    Regrade,
}

struct Job {
    test: usize,
    student: StudentId,
    need: Need,
}

struct JobOut {
    test: usize,
    student: StudentId,
    fresh: Option<Score>,
    problem: Option<String>,
    /// A passing store failure: the whole pass fails so the next one redoes this
    /// job. (Recording it as a problem would skip the student's email for good.)
    retry: Option<StoreError>,
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

/// Emails accepted by the mail service and not recorded yet (the group commit).
struct Wave {
    pass: String,
    number: u32,
    emails: usize,
    items: Vec<(usize, Notified)>,
    /// Journal objects this pass wrote.
    written: Vec<ObjectKey>,
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
            // Not at the deadline itself: uploads acknowledged just before it may still
            // be writing (see `deadline::GRADING_GRACE`).
            .filter(|t| crate::deadline::gradable(t.due_at, now))
            .collect();
        closed.sort_by(|a, b| {
            (a.due_at, &a.subject, &a.test_id).cmp(&(b.due_at, &b.subject, &b.test_id))
        });
        summary.closed_tests = closed.len();
        if closed.is_empty() {
            summary.complete = true;
            return Ok(summary);
        }

        let rescore = self.active_rescores().await?;
        let (journal_keys, journal) = self.read_journal().await?;
        let mut tests = self
            .load_states(closed, &roster, &rescore, &journal)
            .await?;
        if tests.is_empty() {
            summary.complete = true;
            return Ok(summary);
        }
        if self.low_on_time() {
            summary.stopped_early = Some("time ran low while listing".into());
            return Ok(summary);
        }
        self.load_content(&mut tests).await?;

        // Grade what has no result yet (or everything, for a rescore), a bounded
        // number at a time.
        let mut jobs = vec![];
        for (i, t) in tests.iter().enumerate() {
            if t.blocked {
                continue;
            }
            for st in &t.enrolled {
                let id = &st.student_id;
                if !t.submitted.contains(id) {
                    continue;
                }
                let need = match (t.results.scores.contains_key(id), t.rescore) {
                    (false, _) => Need::Grade,
                    (true, true) => Need::Regrade,
                    (true, false) => continue,
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

        // Decide the results; each test's object is written once, before any email
        // about it goes out, so every email matches what is stored.
        let mut graded: BTreeSet<usize> = BTreeSet::new();
        for out in outs {
            let t = &mut tests[out.test];
            if let Some(p) = out.problem {
                t.problems.push(p);
            }
            let Some(mut fresh) = out.fresh else { continue };
            if let Some(old) = t.results.scores.get(&out.student) {
                if fresh.same_result(old) {
                    continue;
                }
                fresh.revision = old.revision + 1;
            }
            summary.scored.push(ScoredItem {
                subject: fresh.subject.clone(),
                test_id: fresh.test_id.clone(),
                student_id: fresh.student_id.clone(),
                points: fresh.points,
                total: fresh.total,
                grade: fresh.grade,
                revision: fresh.revision,
            });
            t.results.scores.insert(out.student, Arc::new(fresh));
            t.dirty = true;
            graded.insert(out.test);
        }
        summary.scored.sort_by(|a, b| {
            (&a.subject, &a.test_id, &a.student_id).cmp(&(&b.subject, &b.test_id, &b.student_id))
        });
        for i in graded {
            if self.low_on_time() {
                summary.stopped_early = Some("time ran low while writing results".into());
                return Ok(summary);
            }
            self.save(&mut tests[i]).await?;
        }

        // Student emails: one per student covering every result they were not told yet.
        let mut pending: BTreeMap<StudentId, Vec<usize>> = BTreeMap::new();
        for (i, t) in tests.iter().enumerate() {
            for (id, score) in &t.results.scores {
                if !t.results.told(id, score.revision) {
                    pending.entry(id.clone()).or_default().push(i);
                }
            }
        }
        let students: HashMap<&StudentId, &Student> =
            roster.0.iter().map(|s| (&s.student_id, s)).collect();
        let mut pacer = Pacer::new(self.config.send_rate);
        let mut retried = vec![];
        let mut wave = Wave {
            pass: pass_id(),
            number: 0,
            emails: 0,
            items: vec![],
            written: vec![],
        };
        for (id, items) in pending {
            if self.low_on_time() {
                self.flush(&mut wave, &mut tests).await?;
                summary.stopped_early = Some("time ran low while sending".into());
                return Ok(summary);
            }
            let Some(student) = students.get(&id) else {
                continue;
            };
            // The stored results leave the texts out; put them back for the email.
            let scores: Vec<Score> = items
                .iter()
                .map(|i| {
                    let mut s = Score::clone(&tests[*i].results.scores[&id]);
                    results::fill_texts(&mut s, tests[*i].questions());
                    s
                })
                .collect();
            let refs: Vec<&Score> = scores.iter().collect();
            let rendered = match email::student_email(&self.from, student, &refs, now) {
                Ok(r) => r,
                Err(e) => {
                    summary.failed.push(FailedSend {
                        to: student.email.clone(),
                        subject: email::student_subject(&refs),
                        error: e.to_string(),
                    });
                    for i in &items {
                        tests[*i].failed = true;
                    }
                    continue;
                }
            };
            let label = format!("{} <{}>: {}", id, student.email, rendered.subject);
            let is_retry = items
                .iter()
                .any(|i| tests[*i].results.reported && !tests[*i].rescore);
            if self.options.dry_run {
                summary.sent.push(sent_item(&rendered));
                continue;
            }
            pacer.wait().await;
            match self.send(&rendered).await {
                Ok(message_id) => {
                    for (i, score) in items.iter().zip(&scores) {
                        wave.items.push((
                            *i,
                            Notified {
                                subject: score.subject.clone(),
                                test_id: score.test_id.clone(),
                                student_id: id.clone(),
                                revision: score.revision,
                                message_id: message_id.clone(),
                            },
                        ));
                    }
                    wave.emails += 1;
                    summary.sent.push(sent_item(&rendered));
                    if is_retry {
                        retried.push(label);
                    }
                    if wave.emails >= self.config.ledger_batch.max(1) {
                        self.flush(&mut wave, &mut tests).await?;
                    }
                }
                Err(error) => {
                    tracing::warn!(student = %id, %error, "student email failed; retried on the next run");
                    summary.failed.push(FailedSend {
                        to: student.email.clone(),
                        subject: rendered.subject,
                        error,
                    });
                    for i in &items {
                        tests[*i].failed = true;
                    }
                }
            }
        }
        self.flush(&mut wave, &mut tests).await?;

        for t in &tests {
            summary.problems.extend(
                t.problems
                    .iter()
                    .map(|p| format!("{}/{}: {p}", t.meta.subject, t.meta.test_id)),
            );
        }

        // The trainer's report, once everything above is done.
        let report_tests: Vec<usize> = (0..tests.len())
            .filter(|i| !tests[*i].results.reported || tests[*i].rescore)
            .collect();
        let attempted_retries =
            !retried.is_empty() || tests.iter().any(|t| t.failed && t.results.reported);
        let mut report_done = report_tests.is_empty() && !attempted_retries;
        if !report_done {
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
                Ok(_) => {
                    summary.report = Some(sent_item(&rendered));
                    for i in report_tests {
                        let t = &mut tests[i];
                        if !t.blocked && !t.results.reported {
                            t.results.reported = true;
                            t.dirty = true;
                        }
                    }
                    report_done = true;
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
        }
        if self.options.dry_run {
            summary.complete = report_done;
            return Ok(summary);
        }

        // Fold what was emailed into the results objects, then drop the journal.
        for t in tests.iter_mut() {
            let settled = t.results.reported
                && !t.blocked
                && !t.failed
                && t.results
                    .scores
                    .iter()
                    // Someone taken off the roster is never emailed; they do not keep
                    // the test open.
                    .all(|(id, s)| t.results.told(id, s.revision) || !students.contains_key(id));
            if settled != t.results.settled || t.results.due_at != Some(t.meta.due_at) {
                t.results.settled = settled;
                t.results.due_at = Some(t.meta.due_at);
                t.dirty = true;
            }
            if t.dirty {
                self.save(t).await?;
            }
        }
        for key in journal_keys.iter().chain(&wave.written) {
            self.store.purge(key).await?;
        }
        if report_done {
            for t in tests.iter().filter(|t| !t.blocked && !t.failed) {
                let Some(request) = &t.rescore_request else {
                    continue;
                };
                let key = layout::rescore_marker(&t.meta.subject, &t.meta.test_id);
                // A conflict means the trainer asked again during this pass (the key
                // changed once more): that request stays for the next pass.
                let marked = self
                    .store
                    .put_if_match(&key, ledger::RESCORE_DONE.to_vec(), request)
                    .await?;
                if marked == Swapped::Conflict {
                    tracing::info!(%key, "a new rescore request arrived during the pass; kept");
                }
            }
        }
        summary.complete = report_done;
        Ok(summary)
    }

    async fn active_rescores(&self) -> Result<BTreeMap<(SubjectName, TestId), Etag>, StoreError> {
        let mut active = BTreeMap::new();
        for o in self.store.list(layout::RESCORE_PREFIX).await? {
            let Some(ids) = layout::parse_rescore_marker(o.key.as_str()) else {
                continue;
            };
            if let Some((bytes, tag)) = self.store.get_tagged(&o.key).await? {
                if ledger::rescore_requested(&bytes) {
                    active.insert(ids, tag);
                }
            }
        }
        Ok(active)
    }

    /// The journal left by passes that stopped before folding it into the results.
    async fn read_journal(&self) -> Result<(Vec<ObjectKey>, Vec<Notified>), StoreError> {
        let keys: Vec<ObjectKey> = self
            .store
            .list(JOURNAL_PREFIX)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect();
        let mut items = vec![];
        for key in &keys {
            // An unreadable wave cannot tell who was emailed; failing the pass beats
            // emailing its students again.
            if let Some(wave) = store_json::read::<JournalWave>(self.store, key).await? {
                items.extend(wave.items);
            }
        }
        Ok((keys, items))
    }

    /// One read per closed test; one listing more for each test with work left.
    async fn load_states(
        &self,
        closed: Vec<TestMeta>,
        roster: &Roster,
        rescore: &BTreeMap<(SubjectName, TestId), Etag>,
        journal: &[Notified],
    ) -> Result<Vec<TestState>, StoreError> {
        let futures: Vec<_> = closed
            .into_iter()
            .map(|meta| async move {
                let ids = (meta.subject.clone(), meta.test_id.clone());
                let mut results = TestResults::load(self.store, &meta.subject, &meta.test_id)
                    .await?
                    .unwrap_or_default();
                let mut dirty = false;
                for n in journal
                    .iter()
                    .filter(|n| n.subject == meta.subject && n.test_id == meta.test_id)
                {
                    if !results.told(&n.student_id, n.revision) {
                        results.notified.insert(n.student_id.clone(), n.revision);
                        dirty = true;
                    }
                }
                let rescore_request = rescore.get(&ids).cloned();
                let rescore = rescore_request.is_some();
                if results.settled && results.due_at == Some(meta.due_at) && !rescore && !dirty {
                    return Ok(None);
                }
                let prefix = layout::test_prefix(&meta.subject, &meta.test_id);
                let submitted: BTreeSet<StudentId> = self
                    .store
                    .list(&prefix)
                    .await?
                    .iter()
                    .filter_map(|o| layout::parse_student_object(o.key.as_str()))
                    .filter(|so| so.file == SUBMISSION)
                    .map(|so| so.student)
                    .collect();
                let enrolled: Vec<Student> = roster
                    .0
                    .iter()
                    .filter(|s| s.takes(&meta.subject) || submitted.contains(&s.student_id))
                    .cloned()
                    .collect();
                Ok(Some(TestState {
                    rescore_request,
                    rescore,
                    meta,
                    results,
                    dirty,
                    enrolled,
                    submitted,
                    content: None,
                    blocked: false,
                    failed: false,
                    problems: vec![],
                }))
            })
            .collect();
        let listed: Vec<Result<Option<TestState>, StoreError>> = stream::iter(futures)
            .buffered(self.config.read_concurrency.max(1))
            .collect()
            .await;
        let mut tests = vec![];
        for t in listed {
            tests.extend(t?);
        }
        Ok(tests)
    }

    /// Reads questions and key of the tests that have something to grade or to email.
    async fn load_content(&self, tests: &mut [TestState]) -> Result<(), StoreError> {
        for t in tests.iter_mut() {
            let grading = t.enrolled.iter().any(|s| {
                t.submitted.contains(&s.student_id)
                    && (t.rescore || !t.results.scores.contains_key(&s.student_id))
            });
            let emailing = t
                .results
                .scores
                .iter()
                .any(|(id, s)| !t.results.told(id, s.revision));
            if !grading && !emailing {
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
                (q, k) => {
                    let what = if q.is_none() {
                        "questions.json"
                    } else {
                        "questionsKey.json"
                    };
                    t.problems.push(format!(
                        "{what} is missing; the test cannot be graded until it is published"
                    ));
                    t.blocked = true;
                    // Results graded earlier can still be emailed, with the texts
                    // that are left.
                    t.content = Some(Arc::new((q.unwrap_or_default(), k.unwrap_or_default())));
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
            fresh: None,
            problem: None,
            retry: None,
        };
        let Some(content) = &t.content else {
            return out;
        };
        match store_json::read::<Submission>(self.store, &layout::submission(s, id, st)).await {
            Ok(Some(Submission {
                test_result: answers,
                ..
            })) => {
                let test = TestContent {
                    subject: s,
                    test_id: id,
                    title: &t.meta.title,
                    questions: &content.0,
                    key: &content.1,
                };
                let mut fresh =
                    grading::grade(test, st, &answers, self.config.max_grade, self.options.now);
                // Texts dropped at once: a big course holds every fresh result until
                // they are all decided.
                results::strip_texts(&mut fresh);
                out.fresh = Some(fresh);
            }
            Ok(None) => {}
            Err(e @ StoreError::Unavailable(_)) => out.retry = Some(e),
            Err(e) => {
                let what = if job.need == Need::Regrade {
                    "not graded again"
                } else {
                    "not graded"
                };
                out.problem = Some(format!("submission of {st} unreadable, {what}: {e}"));
            }
        }
        out
    }

    /// Writes a test's results object (a normal put: the lease makes this pass the
    /// only writer, and earlier versions stay in the bucket's history). Retried like
    /// a journal write, since after the report it is what records it.
    async fn save(&self, t: &mut TestState) -> Result<(), StoreError> {
        if self.options.dry_run {
            return Ok(());
        }
        let key = layout::results(&t.meta.subject, &t.meta.test_id);
        let results = &t.results;
        self.insist(&key, || {
            results.save(self.store, &t.meta.subject, &t.meta.test_id)
        })
        .await?;
        t.dirty = false;
        Ok(())
    }

    /// Records the emails of the current wave in one journal object, so the next
    /// pass does not send them again.
    async fn flush(&self, wave: &mut Wave, tests: &mut [TestState]) -> Result<(), StoreError> {
        if wave.items.is_empty() {
            return Ok(());
        }
        wave.number += 1;
        let key = results::journal_key(&wave.pass, wave.number)?;
        let record = JournalWave {
            sent_at: Some(Utc::now()),
            items: wave.items.iter().map(|(_, n)| n.clone()).collect(),
        };
        self.record(&key, &record).await?;
        wave.written.push(key);
        for (i, n) in wave.items.drain(..) {
            let t = &mut tests[i];
            if !t.results.told(&n.student_id, n.revision) {
                t.results.notified.insert(n.student_id, n.revision);
                t.dirty = true;
            }
        }
        wave.emails = 0;
        Ok(())
    }

    async fn send(&self, mail: &RenderedMail) -> Result<String, String> {
        self.mailer
            .send(&mail.to, mail.raw.clone())
            .await
            .map_err(|e| e.to_string())
    }

    /// Writes a journal wave. This write is what stands between accepted emails and
    /// duplicates on the next run (a create that did land and then reported a
    /// timeout is found as already existing on the retry).
    async fn record(&self, key: &ObjectKey, record: &JournalWave) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).map_err(|e| StoreError::Failed(e.to_string()))?;
        self.insist(key, || self.store.create(key, bytes.clone()))
            .await
            .map(drop)
    }

    /// Retries a passing store failure with backoff before giving up: used for the
    /// writes that come after an accepted email, where giving up means sending it
    /// again on the next run.
    async fn insist<T, F, Fut>(&self, key: &ObjectKey, write: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let (mut attempt, mut pause) = (1, RECORD_FIRST_PAUSE);
        loop {
            match write().await {
                Ok(v) => return Ok(v),
                Err(StoreError::Unavailable(e)) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(%key, attempt, error = %e, "write after an accepted email failed; retrying");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                    pause *= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A journal name unique to this pass (time first, so waves list in order).
fn pass_id() -> String {
    format!(
        "{}-{}",
        Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
        hex::encode(rand::random::<[u8; 4]>())
    )
}

fn sent_item(mail: &RenderedMail) -> SentItem {
    SentItem {
        to: mail.to.clone(),
        subject: mail.subject.clone(),
        message_id: mail.message_id.clone(),
    }
}

fn report_test(t: &TestState, max_grade: u32) -> ReportTest {
    // Roster students only: someone removed from the roster is not in the report.
    let scores: Vec<Arc<Score>> = t
        .enrolled
        .iter()
        .filter_map(|s| t.results.scores.get(&s.student_id).cloned())
        .collect();
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
