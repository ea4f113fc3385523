//! Scoring passes end to end against the in-memory store and mailer.

use super::email::{self, Report, ReportTest};
use super::inspect;
use super::ledger;
use super::results::TestResults;
use super::sample::{self, SeedSpec};
use super::stats::TestStats;
use super::{score_pass, RunOptions, RunSummary, ScoringConfig, ScoringError};
use crate::layout;
use crate::model::KeyEntry;
use crate::ports::{MailError, Mailer, ObjectStore};
use crate::store_json;
use crate::testing::{DiesAfter, MemoryMailer, MemoryStore};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const DUE: &str = "2026-11-30T22:00:00Z";

pub(super) fn config() -> ScoringConfig {
    ScoringConfig::new("Ework Scorer <scorer@example.com>", "trainer@example.com")
}

/// A clock the test moves by hand: nothing waits in real time.
pub(crate) struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub(crate) fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl crate::ports::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// The weekly pass: a minute after the deadline's grace.
pub(super) fn after_deadline() -> RunOptions {
    RunOptions {
        now: utc(DUE) + crate::deadline::GRADING_GRACE + Duration::minutes(1),
        deadline: None,
        dry_run: false,
    }
}

/// 5 students x 2 tests x 4 questions; student0005 misses test01, student0004 test02.
pub(super) async fn seeded() -> MemoryStore {
    let store = MemoryStore::new();
    let spec = SeedSpec {
        students: 5,
        tests: 2,
        questions: 4,
        due_at: utc(DUE),
        email_domain: "example.com".into(),
        concurrency: 4,
    };
    sample::seed(&store, &spec).await.unwrap();
    store
}

pub(super) async fn pass(
    store: &MemoryStore,
    mailer: &dyn Mailer,
    options: RunOptions,
) -> RunSummary {
    score_pass(store, mailer, &config(), options).await.unwrap()
}

pub(super) fn subjects(mailer: &MemoryMailer) -> Vec<(String, String)> {
    mailer
        .sent()
        .iter()
        .map(|(to, raw)| {
            (
                to.join(","),
                inspect::parse(raw)
                    .header("subject")
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_full_run_scores_every_submission_and_emails_each_student_and_the_trainer() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    let summary = pass(&store, &mailer, after_deadline()).await;
    assert!(summary.complete);
    assert_eq!(summary.scored.len(), 8, "10 pairs minus 2 missing");
    for (i, j) in [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 0),
        (0, 1),
        (1, 1),
        (2, 1),
        (4, 1),
    ] {
        let (subject, test) = (sample::subject_of(j), sample::test_of(j));
        let results = TestResults::load(&store, &subject, &test)
            .await
            .unwrap()
            .unwrap();
        let score = &results.scores[&sample::student_of(i)];
        assert_eq!(
            score.points,
            sample::expected_points(i, j, 4),
            "{subject}/{test} {}",
            sample::student_of(i)
        );
        assert_eq!(score.grade, super::points::grade_of(score.points, 4, 5));
    }
    let first = TestResults::load(&store, &sample::subject_of(0), &sample::test_of(0))
        .await
        .unwrap()
        .unwrap();
    assert!(!first.scores.contains_key(&sample::student_of(4)));
    assert!(
        first.reported && first.settled,
        "the test is done after one pass"
    );
    assert_eq!(first.notified.len(), first.scores.len());
    assert!(
        store.list(layout::JOURNAL_PREFIX).await.unwrap().is_empty(),
        "the journal is folded into the results"
    );

    let sent = subjects(&mailer);
    assert_eq!(sent.len(), 6, "{sent:?}");
    assert!(sent.contains(&(
        "student0001@example.com".into(),
        "[Ework] Test scores: databases/test02, operating-systems/test01".into()
    )));
    assert!(sent.contains(&(
        "student0004@example.com".into(),
        "[operating-systems] [test01] Test score".into()
    )));
    assert!(sent.contains(&(
        "student0005@example.com".into(),
        "[databases] [test02] Test score".into()
    )));
    assert_eq!(
        sent.last().unwrap(),
        &(
            "trainer@example.com".into(),
            "[Ework] Scores report: 2 tests".into()
        )
    );

    let (_, raw) = mailer.sent().pop().unwrap();
    let report = inspect::parse(&raw);
    let text = report.part("text/plain").unwrap().text();
    assert!(text.contains("Missing submissions: 2"), "{text}");
    assert!(
        // The roster's name next to the id.
        text.contains("operating-systems  test01  student0005  Student 5  student0005@example.com"),
        "{text}"
    );
    assert!(text.contains("Submitted 4/5"), "{text}");
    let csv = report.part("text/csv").unwrap().text();
    assert_eq!(csv.lines().count(), 9, "header + 8 grades:\n{csv}");
}

/// The bench's [`sample::Shape::Depth`] course, 6 students x 1 test x 4 questions
/// of 2 points: 1 and 3 multiple-answer (key a, c) with partial credit, 2 and 4
/// single-answer (keys b, d) with a quarter of the points off a wrong answer.
///
/// | student | 1         | 2          | 3         | 4     | total |
/// |---------|-----------|------------|-----------|-------|-------|
/// | 0001    | a,c → 2   | b → 2      | a,b → 0   | d → 2 | 6     |
/// | 0002    | c → 1     | b → 2      | d → 0     | d → 2 | 5     |
/// | 0006    | a,c → 2   | a → −0.5   | a,b → 0   | d → 2 | 3.5   |
#[tokio::test]
async fn a_pass_over_points_partial_credit_and_penalties_grades_as_worked_out_by_hand() {
    let store = MemoryStore::new();
    let spec = SeedSpec {
        students: 6,
        tests: 1,
        questions: 4,
        due_at: utc(DUE),
        email_domain: "example.com".into(),
        concurrency: 4,
    };
    sample::seed_shaped(&store, &spec, sample::Shape::Depth)
        .await
        .unwrap();
    let mailer = MemoryMailer::default();
    assert!(pass(&store, &mailer, after_deadline()).await.complete);
    let (subject, test) = (sample::subject_of(0), sample::test_of(0));
    let stored = store.snapshot()[&layout::results(&subject, &test).to_string()].clone();
    let results = TestResults::load(&store, &subject, &test)
        .await
        .unwrap()
        .unwrap();
    for (i, points) in [(0, "6"), (1, "5"), (5, "3.5")] {
        let score = &results.scores[&sample::student_of(i)];
        assert_eq!((score.points.to_string(), score.total), (points.into(), 8));
    }
    let penalised = &results.scores[&sample::student_of(5)].questions[1];
    assert_eq!((penalised.points, penalised.penalty), (2, Some(0.25)));
    let half = &results.scores[&sample::student_of(1)].questions[0];
    assert_eq!((half.earned, half.is_correct), (Some(0.5), false));

    // Held compactly, the object is written back the same bytes; a second pass
    // reads it so and has nothing to do.
    let held = super::held::HeldResults::from_json(&stored, &subject, &test).unwrap();
    assert_eq!(held.to_json().unwrap(), stored);
    let sent = mailer.sent().len();
    assert!(pass(&store, &mailer, after_deadline()).await.complete);
    assert_eq!(mailer.sent().len(), sent);
    assert_eq!(
        store.snapshot()[&layout::results(&subject, &test).to_string()],
        stored
    );
}

#[tokio::test]
async fn a_second_run_sends_nothing_and_writes_nothing() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    let before = store.snapshot();
    let n = mailer.sent().len();
    let again = pass(
        &store,
        &mailer,
        RunOptions {
            now: utc(DUE) + Duration::days(1),
            ..after_deadline()
        },
    )
    .await;
    assert!(again.complete);
    assert_eq!(mailer.sent().len(), n);
    assert!(again.scored.is_empty() && again.sent.is_empty() && again.report.is_none());
    let after: Vec<_> = store
        .snapshot()
        .into_keys()
        .filter(|k| !k.starts_with("_system/scorer/"))
        .collect();
    let before: Vec<_> = before
        .into_keys()
        .filter(|k| !k.starts_with("_system/scorer/"))
        .collect();
    assert_eq!(before, after);
}

#[tokio::test]
async fn nothing_is_scored_before_the_deadline() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    let early = RunOptions {
        now: utc(DUE) - Duration::seconds(1),
        ..after_deadline()
    };
    let summary = pass(&store, &mailer, early).await;
    assert_eq!(
        (
            summary.closed_tests,
            summary.scored.len(),
            mailer.sent().len()
        ),
        (0, 0, 0)
    );
}

/// Runs a pass that dies when it hands over email number `limit + 1`, then a clean
/// rerun; returns what each of them sent.
pub(super) async fn killed_then_rerun(
    store: &MemoryStore,
    ledger_batch: usize,
    limit: usize,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let dying = DiesAfter::new(MemoryMailer::default(), limit);
    let clock = std::sync::Arc::new(ManualClock::new(Utc::now()));
    let mut cfg = config();
    cfg.lease_ttl = std::time::Duration::from_millis(50);
    cfg.ledger_batch = ledger_batch;
    cfg.clock = clock.clone();
    tokio::select! {
        _ = score_pass(store, &dying, &cfg, after_deadline()) => panic!("the run should have been killed"),
        () = dying.died.notified() => {}
    }
    clock.advance(Duration::milliseconds(100)); // the dead run's lease expires
    let mailer = MemoryMailer::default();
    let summary = score_pass(store, &mailer, &cfg, after_deadline())
        .await
        .unwrap();
    assert!(summary.complete);
    (subjects(&dying.inner), subjects(&mailer))
}

#[tokio::test]
async fn a_run_killed_midway_is_finished_by_the_rerun_without_duplicates() {
    let store = seeded().await;
    // One journal write per email: nothing accepted is ever unrecorded at a kill.
    let (first, second) = killed_then_rerun(&store, 1, 2).await;
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 4, "3 remaining students + report: {second:?}");
    for s in &first {
        assert!(!second.contains(s), "{s:?} sent twice");
    }
    let mut everyone: Vec<String> = first
        .iter()
        .chain(&second)
        .map(|(to, _)| to.clone())
        .collect();
    everyone.sort();
    everyone.dedup();
    assert_eq!(everyone.len(), 6);
}

#[tokio::test]
async fn a_kill_inside_a_journal_wave_resends_that_wave_only() {
    let store = seeded().await;
    // Waves of two: emails 1-2 are recorded, email 3 was accepted and not yet.
    let (first, second) = killed_then_rerun(&store, 2, 3).await;
    assert_eq!(first.len(), 3);
    assert!(!second.contains(&first[0]) && !second.contains(&first[1]));
    assert!(
        second.contains(&first[2]),
        "the unrecorded email goes out again"
    );
    assert_eq!(
        second.len(),
        4,
        "that one, 2 remaining students, report: {second:?}"
    );
    assert!(
        store.list(layout::JOURNAL_PREFIX).await.unwrap().is_empty(),
        "the rerun folded the dead run's journal into the results"
    );
}

/// Rejects every message to one address.
struct Refuses {
    inner: MemoryMailer,
    address: String,
    refuse: Mutex<bool>,
}

#[async_trait]
impl Mailer for Refuses {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        if *self.refuse.lock().unwrap() && to.contains(&self.address) {
            return Err(MailError::Unavailable("throttled".into()));
        }
        self.inner.send(to, raw).await
    }
}

#[tokio::test]
async fn a_failed_send_does_not_stop_the_others_and_is_retried_on_the_next_run() {
    let store = seeded().await;
    let mailer = Refuses {
        inner: MemoryMailer::default(),
        address: "student0002@example.com".into(),
        refuse: Mutex::new(true),
    };
    let summary = pass(&store, &mailer, after_deadline()).await;
    assert!(summary.complete);
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(mailer.inner.sent().len(), 5, "4 students + report");
    let (_, raw) = mailer.inner.sent().pop().unwrap();
    let text = inspect::parse(&raw).part("text/plain").unwrap().text();
    assert!(
        text.contains("Failed sends (retried on the next run): 1"),
        "{text}"
    );
    assert!(text.contains("student0002@example.com"));

    *mailer.refuse.lock().unwrap() = false;
    let retry = pass(&store, &mailer, after_deadline()).await;
    let sent = subjects(&mailer.inner);
    assert_eq!(retry.sent.len(), 1);
    assert_eq!(sent[5].0, "student0002@example.com");
    assert_eq!(sent[6].1, "[Ework] Scorer report: retried emails");
    assert_eq!(sent.len(), 7);
    let third = pass(&store, &mailer, after_deadline()).await;
    assert!(third.sent.is_empty() && third.report.is_none());
}

#[tokio::test]
async fn a_student_taken_off_the_roster_after_a_failed_email_does_not_keep_the_test_open() {
    let store = seeded().await;
    let mailer = Refuses {
        inner: MemoryMailer::default(),
        address: "student0002@example.com".into(),
        refuse: Mutex::new(true),
    };
    pass(&store, &mailer, after_deadline()).await;
    let (s, t) = (sample::subject_of(0), sample::test_of(0));
    let open = TestResults::load(&store, &s, &t).await.unwrap().unwrap();
    assert!(open.reported && !open.settled, "an email is still owed");

    let mut roster: crate::model::Roster = store_json::read(&store, &layout::roster())
        .await
        .unwrap()
        .unwrap();
    roster.0.retain(|st| st.email != "student0002@example.com");
    store_json::write(&store, &layout::roster(), &roster)
        .await
        .unwrap();
    let summary = pass(&store, &mailer, after_deadline()).await;
    assert!(summary.complete && summary.sent.is_empty());
    let done = TestResults::load(&store, &s, &t).await.unwrap().unwrap();
    assert!(done.settled, "nobody left on the roster is owed an email");
}

#[tokio::test]
async fn a_rescore_emails_only_students_whose_result_changed() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    let (s, t) = (sample::subject_of(0), sample::test_of(0));
    // The trainer fixes question 1's key from "a" to "b".
    let mut key: Vec<KeyEntry> = store_json::read(&store, &layout::answer_key(&s, &t))
        .await
        .unwrap()
        .unwrap();
    key[0].answer = crate::ids::AnswerId::parse("b").unwrap().into();
    store_json::write(&store, &layout::answer_key(&s, &t), &key)
        .await
        .unwrap();
    store
        .put(
            &ledger::rescore_marker(&s, &t).unwrap(),
            b"{\"requestedAt\":\"now\"}".to_vec(),
        )
        .await
        .unwrap();

    let before = mailer.sent().len();
    let summary = pass(&store, &mailer, after_deadline()).await;
    assert!(summary.complete);
    // Every student whose question-1 answer was "a" (now wrong) or "b" (now right) changed.
    let changed: Vec<String> = (0..4)
        .filter(|i| matches!(sample::answer_of(*i, 0, 0), Some("a") | Some("b")))
        .map(|i| format!("{}@example.com", sample::student_of(i)))
        .collect();
    let sent = subjects(&mailer)[before..].to_vec();
    assert_eq!(sent.len(), changed.len() + 1, "{sent:?}");
    for to in &changed {
        assert!(
            sent.contains(&(
                to.clone(),
                "[operating-systems] [test01] Test score (corrected)".into()
            )),
            "{sent:?}"
        );
    }
    assert_eq!(
        sent.last().unwrap().1,
        "[Ework] Scores report: operating-systems/test01"
    );
    let marker = store
        .get(&ledger::rescore_marker(&s, &t).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!ledger::rescore_requested(&marker));
    let again = pass(&store, &mailer, after_deadline()).await;
    assert!(again.sent.is_empty() && again.report.is_none());
}

#[tokio::test]
async fn a_dry_run_writes_and_sends_nothing_but_lists_the_plan() {
    let store = seeded().await;
    let before = store.snapshot();
    let mailer = MemoryMailer::default();
    let summary = pass(
        &store,
        &mailer,
        RunOptions {
            dry_run: true,
            ..after_deadline()
        },
    )
    .await;
    assert_eq!(store.snapshot(), before);
    assert!(mailer.sent().is_empty());
    assert_eq!(summary.scored.len(), 8);
    assert_eq!(summary.sent.len(), 5);
    assert!(summary.report.is_some());
}

#[tokio::test]
async fn a_run_with_no_time_left_stops_cleanly_and_the_next_one_finishes() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    let options = RunOptions {
        deadline: Some(std::time::Instant::now()),
        ..after_deadline()
    };
    let summary = pass(&store, &mailer, options).await;
    assert!(!summary.complete);
    assert!(summary.stopped_early.is_some());
    assert!(mailer.sent().is_empty());
    let next = pass(&store, &mailer, after_deadline()).await;
    assert!(next.complete);
    assert_eq!(mailer.sent().len(), 6);
}

#[tokio::test]
async fn a_short_invocation_still_works_because_the_margin_shrinks_with_the_timeout() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    // 30 s margin by default, but the invocation only has 2 s: keep a quarter of it.
    let options = RunOptions {
        deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(2)),
        ..after_deadline()
    };
    let summary = pass(&store, &mailer, options).await;
    assert!(summary.complete, "{:?}", summary.stopped_early);
    assert_eq!(mailer.sent().len(), 6);
}

#[tokio::test]
async fn a_second_concurrent_run_is_refused_while_the_first_holds_the_lease() {
    let store = seeded().await;
    let now = Utc::now();
    let _held = ledger::Lease::acquire(&store, now, now + Duration::minutes(5))
        .await
        .unwrap();
    let err = score_pass(
        &store,
        &MemoryMailer::default(),
        &config(),
        after_deadline(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ScoringError::Busy(_)), "{err}");
}

/// Checks that every opened table/tr/td/th/ul/li/html/body is closed, in order.
pub(super) fn assert_balanced(html: &str) {
    let mut stack: Vec<String> = vec![];
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if matches!(name.as_str(), "meta" | "br") {
            continue;
        }
        if closing {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "unbalanced </{name}>"
            );
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[tokio::test]
async fn emails_are_multipart_alternative_with_valid_html_and_escaped_text() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    for (_, raw) in mailer.sent() {
        let parsed = inspect::parse(&raw);
        assert!(parsed
            .header("content-type")
            .unwrap()
            .contains("multipart/"));
        assert!(parsed
            .header("message-id")
            .unwrap()
            .ends_with("@scorer.ework>"));
        let html = parsed.part("text/html").unwrap().text();
        assert_balanced(&html);
        assert!(!html.contains("<option>"), "question text must be escaped");
        assert!(parsed.part("text/plain").is_some());
    }
    let (_, raw) = &mailer.sent()[0];
    let text = inspect::parse(raw).part("text/plain").unwrap().text();
    assert!(text.contains("Your answer:"), "{text}");
    assert!(
        text.contains("Correct answer: a) Option a & more"),
        "{text}"
    );
    assert!(text.contains("Grade: "), "{text}");
}

#[test]
fn the_report_shows_distribution_bars_and_an_empty_test_renders() {
    let meta = crate::model::TestMeta {
        subject: sample::subject_of(0),
        test_id: sample::test_of(0),
        title: "Empty".into(),
        published_at: utc(DUE) - Duration::days(7),
        due_at: utc(DUE),
        windows: Default::default(),
        rules: Default::default(),
    };
    let report = Report {
        generated_at: utc(DUE),
        time_zone: crate::deadline::DEFAULT_TIME_ZONE,
        max_grade: 5,
        tests: vec![ReportTest {
            meta,
            rescored: false,
            changes: vec![],
            open_windows: vec![],
            scores: vec![],
            missing: vec![],
            stats: TestStats::of(&[5, 5, 2], 3, 5),
            items: Default::default(),
            problems: vec!["a <problem>".into()],
        }],
        failed: vec![],
        retried: vec![],
    };
    let from = email::parse_mailbox("a@example.com").unwrap();
    let mail = email::trainer_report(&from, &from, &report, |_| String::new()).unwrap();
    let parsed = inspect::parse(&mail.raw);
    let html = parsed.part("text/html").unwrap().text();
    assert_balanced(&html);
    assert!(html.contains("width:200px"), "the top bar is full width");
    assert!(
        html.contains("width:100px"),
        "grade 2 has half the students of grade 5"
    );
    assert!(html.contains("a &lt;problem&gt;"));
    assert_eq!(parsed.part("text/csv").unwrap().text().lines().count(), 1);
    assert!(parsed
        .part("text/csv")
        .unwrap()
        .header("content-disposition")
        .unwrap()
        .contains("grades.csv"));
}

#[test]
fn csv_quotes_fields_that_need_it() {
    let report = Report {
        generated_at: utc(DUE),
        time_zone: crate::deadline::DEFAULT_TIME_ZONE,
        max_grade: 5,
        tests: vec![],
        failed: vec![],
        retried: vec![],
    };
    let csv = email::grades_csv(&report, |_| "x".into()).unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "subject,test,student,email,points,total,percentage,grade,max_grade,name\n"
    );
}

/// Waits by moving the test's clock, until a wait would pass `limit`: there it
/// stays, as a scheduler waiting for next week would.
pub(crate) struct MovesClock {
    pub(crate) clock: std::sync::Arc<ManualClock>,
    pub(crate) limit: DateTime<Utc>,
    pub(crate) parked: tokio::sync::Notify,
}

#[async_trait]
impl super::scheduler::Sleep for MovesClock {
    async fn sleep(&self, d: std::time::Duration) {
        use crate::ports::Clock;
        let d = Duration::from_std(d).unwrap();
        if self.clock.now() + d > self.limit {
            self.parked.notify_one();
            std::future::pending::<()>().await;
        }
        self.clock.advance(d);
        tokio::task::yield_now().await;
    }
}

/// Notes the clock's time of every message.
pub(crate) struct StampsSends {
    pub(crate) inner: std::sync::Arc<MemoryMailer>,
    pub(crate) clock: std::sync::Arc<ManualClock>,
    pub(crate) at: Mutex<Vec<DateTime<Utc>>>,
}

#[async_trait]
impl Mailer for StampsSends {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        use crate::ports::Clock;
        self.at.lock().unwrap().push(self.clock.now());
        self.inner.send(to, raw).await
    }
}

#[tokio::test]
async fn the_scheduler_fires_at_the_monday_deadline_and_stops_on_shutdown() {
    use std::sync::Arc;
    let store = Arc::new(seeded().await);
    let sent = Arc::new(MemoryMailer::default());
    // 23:00 Warsaw is 22:00Z in winter; the pass runs once its grace is over: start
    // 300 ms before that.
    let due = utc(DUE) + crate::deadline::GRADING_GRACE;
    let clock = Arc::new(ManualClock::new(due - Duration::milliseconds(300)));
    let mailer = Arc::new(StampsSends {
        inner: sent.clone(),
        clock: clock.clone(),
        at: Mutex::new(vec![]),
    });
    let sleep = Arc::new(MovesClock {
        clock: clock.clone(),
        limit: due + Duration::hours(1),
        parked: Default::default(),
    });
    let mut cfg = config();
    cfg.clock = clock.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn({
        let (store, mailer, clock, sleep) =
            (store.clone(), mailer.clone(), clock.clone(), sleep.clone());
        async move {
            super::scheduler::run_scheduler_with(
                store,
                mailer,
                clock,
                sleep.as_ref(),
                cfg,
                async move {
                    let _ = stopped.await;
                },
            )
            .await;
        }
    });
    assert!(sent.sent().is_empty(), "nothing before the deadline");
    // The scheduler has done everything up to the hour's limit.
    tokio::time::timeout(std::time::Duration::from_secs(10), sleep.parked.notified())
        .await
        .expect("the scheduler should have got to waiting for next week");
    let first = mailer.at.lock().unwrap().first().copied();
    assert!(
        first.is_some_and(|at| at >= due),
        "fired before the deadline: {first:?}"
    );
    assert_eq!(sent.sent().len(), 6, "the deadline's pass ran");
    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.sent().len(), 6, "and only once");
}

/// A mailer that, at its first message, lets the trainer ask for another rescore
/// (as a `trainer sync --rescore` during the pass would).
struct AsksAgain<'a> {
    inner: &'a MemoryMailer,
    store: &'a MemoryStore,
    marker: crate::layout::ObjectKey,
    asked: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Mailer for AsksAgain<'_> {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, crate::ports::MailError> {
        if !self.asked.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let again = b"{\"requestedAt\":\"during the pass\"}".to_vec();
            self.store.put(&self.marker, again).await.unwrap();
        }
        self.inner.send(to, raw).await
    }
}

#[tokio::test]
async fn a_rescore_requested_during_a_pass_is_not_marked_done_by_it() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    let (s, t) = (sample::subject_of(0), sample::test_of(0));
    let marker = ledger::rescore_marker(&s, &t).unwrap();
    store
        .put(&marker, b"{\"requestedAt\":\"first\"}".to_vec())
        .await
        .unwrap();
    let asking = AsksAgain {
        inner: &mailer,
        store: &store,
        marker: marker.clone(),
        asked: Default::default(),
    };
    let summary = pass(&store, &asking, after_deadline()).await;
    assert!(summary.complete);
    let left = store.get(&marker).await.unwrap().unwrap();
    assert!(
        ledger::rescore_requested(&left),
        "the request made during the pass is still there: {}",
        String::from_utf8_lossy(&left)
    );
    // The next pass handles it and marks it done.
    assert!(pass(&store, &mailer, after_deadline()).await.complete);
    let done = store.get(&marker).await.unwrap().unwrap();
    assert!(!ledger::rescore_requested(&done));
}
