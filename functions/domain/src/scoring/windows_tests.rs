//! Scoring with per-student windows: who is graded when, the late penalty in the
//! result and the email, feedback timing (answers never revealed while a window is
//! open), the report's open windows, and exactly-once under kills at any call.

use super::inspect;
use super::points::Points;
use super::results::TestResults;
use super::sample::{self, SeedSpec};
use super::tests::{ManualClock, MovesClock, StampsSends};
use super::{score_pass, RunOptions, RunSummary, ScoringConfig};
use crate::ids::StudentId;
use crate::layout;
use crate::model::{Catalog, GivenAnswer, Receipt, Roster, Submission};
use crate::ports::{MailError, Mailer};
use crate::store_json;
use crate::testing::{BeforeCall, Call, Hooked, MemoryMailer, MemoryStore};
use crate::windows::{parse_penalty, Extension, ExtraTime, Feedback, LatePolicy, Percent};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

pub(super) const TRAINER: &str = "trainer@windows.test";

fn due() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn student(i: usize) -> StudentId {
    sample::student_of(i)
}

fn email(i: usize) -> String {
    format!("{}@windows.test", student(i))
}

/// Six students, one test (operating-systems/test01) due `due()`; student0005 does
/// not submit. student0002 has an extension to due + 2 days, student0003 a day of
/// extra time: their windows close a day and two days after the others'.
async fn course(feedback: Feedback) -> MemoryStore {
    let store = MemoryStore::new();
    let spec = SeedSpec {
        students: 6,
        tests: 1,
        questions: 4,
        due_at: due(),
        email_domain: "windows.test".into(),
        concurrency: 4,
    };
    sample::seed(&store, &spec).await.unwrap();
    let mut catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    let w = &mut catalog.tests[0].windows;
    w.extensions.insert(
        student(1),
        Extension {
            due: due() + Duration::days(2),
            reason: None,
        },
    );
    w.feedback = feedback;
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    let mut roster: Roster = store_json::read(&store, &layout::roster())
        .await
        .unwrap()
        .unwrap();
    roster.0[2].extra_time = Some(ExtraTime::parse("1d").unwrap());
    store_json::write(&store, &layout::roster(), &roster)
        .await
        .unwrap();
    store
}

fn config(clock: &Arc<ManualClock>, batch: usize) -> ScoringConfig {
    let mut c = ScoringConfig::new("Ework <scorer@windows.test>", TRAINER);
    c.clock = clock.clone();
    c.lease_ttl = std::time::Duration::from_secs(60);
    c.ledger_batch = batch;
    c
}

/// The weekly-style passes of the course: after the first close, the second, the
/// last, and a day later.
fn pass_time(n: usize) -> DateTime<Utc> {
    let after = crate::deadline::GRADING_GRACE + Duration::minutes(1);
    due() + Duration::days(i64::try_from(n).unwrap()) + after
}

async fn pass(
    store: &MemoryStore,
    mailer: &dyn Mailer,
    clock: &Arc<ManualClock>,
    n: usize,
) -> RunSummary {
    let options = RunOptions {
        now: pass_time(n),
        deadline: None,
        dry_run: false,
    };
    score_pass(store, mailer, &config(clock, 16), options)
        .await
        .unwrap()
}

/// (to, subject, text body) of every email from `from` on.
fn sent(mailer: &MemoryMailer, from: usize) -> Vec<(String, String, String)> {
    mailer.sent()[from..]
        .iter()
        .map(|(to, raw)| {
            let parsed = inspect::parse(raw);
            let subject = parsed.header("subject").unwrap_or_default().to_owned();
            let text = parsed
                .part("text/plain")
                .map(|p| p.text())
                .unwrap_or_default();
            (to.join(","), subject, text)
        })
        .collect()
}

fn to_students(mails: &[(String, String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = mails
        .iter()
        .filter(|(to, _, _)| to != TRAINER)
        .map(|(to, subject, _)| (to.clone(), subject.clone()))
        .collect();
    out.sort();
    out
}

const SCORE: &str = "[operating-systems] [test01] Test score";
const ANSWERS: &str = "[operating-systems] [test01] Correct answers";

fn reveals_answers(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with("Correct answer:") && !l.contains("(sent later)"))
}

#[tokio::test]
async fn students_hear_their_score_at_their_own_close_and_the_answers_once_every_window_closed() {
    let store = course(Feedback::AtOwnClose).await;
    let mailer = MemoryMailer::default();
    let clock = Arc::new(ManualClock::new(Utc::now()));

    // Pass 0, after the common due: student0002 and student0003 may still submit.
    let s = pass(&store, &mailer, &clock, 0).await;
    assert!(s.complete);
    let mails = sent(&mailer, 0);
    assert_eq!(
        to_students(&mails),
        [0, 3, 5].map(|i| (email(i), SCORE.to_owned())),
        "graded at their own close: everyone but the two still open and the one who did not submit"
    );
    for (to, _, text) in mails.iter().filter(|m| m.0 != TRAINER) {
        assert!(
            !reveals_answers(text),
            "{to} got the answers early:\n{text}"
        );
        assert!(text.contains("Correct answer: (sent later)"), "{text}");
        assert!(text.contains("Score: "), "{text}");
    }
    let report = &mails.iter().find(|m| m.0 == TRAINER).unwrap().2;
    assert!(
        report.contains("Open windows (2; graded and reported once they close):"),
        "{report}"
    );
    assert!(
        report.contains("student0003 until 2026-12-01 23:00 CET"),
        "{report}"
    );
    assert!(
        report.contains("student0002 until 2026-12-02 23:00 CET"),
        "{report}"
    );
    assert!(
        report.contains("Missing submissions: 1"),
        "only student0005 is missing:\n{report}"
    );
    let results = TestResults::load(&store, &sample::subject_of(0), &sample::test_of(0))
        .await
        .unwrap()
        .unwrap();
    assert!(!results.scores.contains_key(&student(1)) && !results.scores.contains_key(&student(2)));
    assert!(!results.settled && results.partial);

    // Pass 1: student0003's window has closed; student0002's has not.
    let before = mailer.sent().len();
    pass(&store, &mailer, &clock, 1).await;
    let mails = sent(&mailer, before);
    assert_eq!(to_students(&mails), [(email(2), SCORE.to_owned())]);
    assert!(!reveals_answers(
        &mails.iter().find(|m| m.0 == email(2)).unwrap().2
    ));
    let report = &mails
        .iter()
        .find(|m| m.0 == TRAINER)
        .expect("the new grade is reported")
        .2;
    assert!(report.contains("Open windows (1;"), "{report}");

    // Pass 2: the last window has closed: student0002 gets everything at once, the
    // others one follow-up with the answers.
    let before = mailer.sent().len();
    pass(&store, &mailer, &clock, 2).await;
    let mails = sent(&mailer, before);
    let mut expected = vec![(email(1), SCORE.to_owned())];
    expected.extend([0, 2, 3, 5].map(|i| (email(i), ANSWERS.to_owned())));
    expected.sort();
    assert_eq!(to_students(&mails), expected);
    for (to, _, text) in mails.iter().filter(|m| m.0 != TRAINER) {
        assert!(
            reveals_answers(text),
            "{to} did not get the answers:\n{text}"
        );
    }
    let report = &mails
        .iter()
        .find(|m| m.0 == TRAINER)
        .expect("a final report")
        .2;
    assert!(!report.contains("Open windows"), "{report}");
    let results = TestResults::load(&store, &sample::subject_of(0), &sample::test_of(0))
        .await
        .unwrap()
        .unwrap();
    assert!(results.settled && !results.partial && results.withheld.is_empty());
    assert_eq!(results.last_close_at, Some(due() + Duration::days(2)));

    // Later passes have nothing left to say.
    let before = mailer.sent().len();
    pass(&store, &mailer, &clock, 3).await;
    assert_eq!(mailer.sent().len(), before);
}

#[tokio::test]
async fn with_feedback_at_last_close_nobody_hears_anything_before_every_window_closed() {
    let store = course(Feedback::AtLastClose).await;
    let mailer = MemoryMailer::default();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    pass(&store, &mailer, &clock, 0).await;
    pass(&store, &mailer, &clock, 1).await;
    assert!(
        to_students(&sent(&mailer, 0)).is_empty(),
        "held until the last close"
    );
    // The trainer already sees the grades that are in.
    assert!(sent(&mailer, 0).iter().any(|m| m.0 == TRAINER));
    let before = mailer.sent().len();
    pass(&store, &mailer, &clock, 2).await;
    let mails = sent(&mailer, before);
    assert_eq!(
        to_students(&mails),
        [0, 1, 2, 3, 5].map(|i| (email(i), SCORE.to_owned())),
        "one email each, with everything"
    );
    assert!(mails
        .iter()
        .filter(|m| m.0 != TRAINER)
        .all(|m| reveals_answers(&m.2)));
}

#[tokio::test]
async fn a_late_submission_is_graded_after_the_late_window_with_its_penalty_explained() {
    let store = course(Feedback::AtOwnClose).await;
    let mut catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    catalog.tests[0].windows.extensions.clear();
    catalog.tests[0].windows.late = Some(LatePolicy {
        until: due() + Duration::days(3),
        penalty: parse_penalty("10%/day").unwrap(),
        floor: Percent::parse("50%").unwrap(),
    });
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    // student0001 answers all four right, 1 day and 1 hour after the due.
    let (subject, test) = (sample::subject_of(0), sample::test_of(0));
    let answers: Vec<GivenAnswer> = (0..4)
        .map(|q| {
            serde_json::from_value(
                serde_json::json!({"questionId": (q + 1).to_string(), "answer": sample::key_of(q)}),
            )
            .unwrap()
        })
        .collect();
    let received = due() + Duration::hours(25);
    let receipt = Receipt {
        sha256: Receipt::digest(&student(0), &subject, &test, received, &answers),
        student_id: student(0),
        subject_name: subject.clone(),
        test_id: test.clone(),
        received_at: received,
        replaced: true,
        unanswered: 0,
        late: None,
    };
    let submission = Submission {
        test_result: answers,
        receipt: Some(receipt),
    };
    store_json::write(
        &store,
        &layout::submission(&subject, &test, &student(0)),
        &submission,
    )
    .await
    .unwrap();
    let mailer = MemoryMailer::default();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    // Nobody is graded before the late window closes (due + 3 days).
    for n in 0..3 {
        let s = pass(&store, &mailer, &clock, n).await;
        assert!(s.scored.is_empty(), "pass {n} graded {:?}", s.scored);
    }
    let s = pass(&store, &mailer, &clock, 3).await;
    assert!(s.scored.iter().any(|r| r.student_id == student(0)));
    let results = TestResults::load(&store, &subject, &test)
        .await
        .unwrap()
        .unwrap();
    let r = &results.scores[&student(0)];
    // 4/4 → grade 5 on time; 2 started days late → × 80% → round(4.0) = 4.
    assert_eq!((r.points, r.grade), (Points::whole(4), 4));
    let late = r.late.as_ref().unwrap();
    assert_eq!(
        (
            late.lateness.due_at,
            late.received_at,
            late.lateness.days_late,
            late.lateness.factor.to_string(),
            late.grade_on_time
        ),
        (due(), received, 2, "80%".to_owned(), 5)
    );
    let json = serde_json::to_value(&**r).unwrap();
    assert_eq!(
        json["late"],
        serde_json::json!({"dueAt": "2026-11-30T22:00:00Z", "daysLate": 2, "penalty": "10%/day",
            "factor": "80%", "receivedAt": "2026-12-01T23:00:00Z", "gradeOnTime": 5})
    );
    let mail = sent(&mailer, 0)
        .into_iter()
        .find(|m| m.0 == email(0))
        .unwrap();
    // In the trainer's zone, as the API and test-time show the due.
    assert!(
        mail.2.contains("Late: received 2026-12-02 00:00 CET, 2 started day(s) after your due 2026-11-30 23:00 CET; penalty 10%/day: grade x 80% (5 -> 4)."),
        "{}",
        mail.2
    );
    // Another student's on-time result carries no late part.
    assert!(results.scores[&student(3)].late.is_none());
}

/// Dies (never returns) at the `at`-th store call or send, and counts the student
/// emails accepted since the last journal wave was written.
struct Crash {
    calls: AtomicUsize,
    at: usize,
    fired: Notify,
    unrecorded: AtomicUsize,
    died_with: AtomicUsize,
}

impl Crash {
    fn new(at: usize) -> Self {
        Self {
            calls: AtomicUsize::new(0),
            at,
            fired: Notify::new(),
            unrecorded: AtomicUsize::new(0),
            died_with: AtomicUsize::new(0),
        }
    }

    async fn tick(&self) {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            let n = self.unrecorded.load(Ordering::SeqCst);
            self.died_with.store(n, Ordering::SeqCst);
            self.fired.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl BeforeCall for &Crash {
    async fn before(&self, call: Call, key: &str) {
        self.tick().await;
        if call == Call::Create && key.starts_with(layout::JOURNAL_PREFIX) {
            self.unrecorded.store(0, Ordering::SeqCst);
        }
    }
}

struct CrashMailer<'a> {
    inner: &'a MemoryMailer,
    crash: &'a Crash,
}

#[async_trait]
impl Mailer for CrashMailer<'_> {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        self.crash.tick().await;
        let id = self.inner.send(to, raw).await?;
        if !to.iter().any(|t| t == TRAINER) {
            self.crash.unrecorded.fetch_add(1, Ordering::SeqCst);
        }
        Ok(id)
    }
}

/// Pass `n` of [`pass_time`], killed at call `at`.
async fn killed_pass(
    store: &MemoryStore,
    mailer: &MemoryMailer,
    clock: &Arc<ManualClock>,
    n: usize,
    at: usize,
) -> (usize, usize) {
    killed_pass_at(store, mailer, clock, pass_time(n), at).await
}

/// A pass as of `now`, killed at call `at` (`usize::MAX`: never); returns the calls
/// it made and the student emails accepted and not recorded when it died.
pub(super) async fn killed_pass_at(
    store: &MemoryStore,
    mailer: &MemoryMailer,
    clock: &Arc<ManualClock>,
    now: DateTime<Utc>,
    at: usize,
) -> (usize, usize) {
    let crash = Crash::new(at);
    let hooked = Hooked {
        inner: store,
        hook: &crash,
    };
    let dying = CrashMailer {
        inner: mailer,
        crash: &crash,
    };
    let options = RunOptions {
        now,
        deadline: None,
        dry_run: false,
    };
    let config = config(clock, 2);
    tokio::select! {
        result = score_pass(&hooked, &dying, &config, options) => { result.unwrap(); }
        () = crash.fired.notified() => {}
    }
    (
        crash.calls.load(Ordering::SeqCst),
        crash.died_with.load(Ordering::SeqCst),
    )
}

/// Student emails by (to, subject).
fn counts(mailer: &MemoryMailer) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for key in to_students(&sent(mailer, 0)) {
        *out.entry(key).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn killing_any_pass_of_a_course_with_windows_at_any_call_never_loses_or_duplicates_an_email()
{
    // Every student email the course owes: the score (without answers for those
    // graded while a window was open) and the answers in a follow-up.
    let mut expected: Vec<(String, String)> = [0, 1, 2, 3, 5]
        .map(|i| (email(i), SCORE.to_owned()))
        .to_vec();
    expected.extend([0, 2, 3, 5].map(|i| (email(i), ANSWERS.to_owned())));
    expected.sort();
    let mut kills = 0;
    for killed in 0..3 {
        // A clean run of the killed pass tells how many calls it makes.
        let calls = {
            let (store, mailer) = (course(Feedback::AtOwnClose).await, MemoryMailer::default());
            let clock = Arc::new(ManualClock::new(Utc::now()));
            for n in 0..killed {
                killed_pass(&store, &mailer, &clock, n, usize::MAX).await;
            }
            killed_pass(&store, &mailer, &clock, killed, usize::MAX)
                .await
                .0
        };
        for at in 1..=calls {
            let (store, mailer) = (course(Feedback::AtOwnClose).await, MemoryMailer::default());
            let clock = Arc::new(ManualClock::new(Utc::now()));
            for n in 0..killed {
                killed_pass(&store, &mailer, &clock, n, usize::MAX).await;
            }
            let (_, unrecorded) = killed_pass(&store, &mailer, &clock, killed, at).await;
            kills += 1;
            // The dead pass's lease expires; the same pass runs again, then the rest.
            clock.advance(Duration::minutes(2));
            for n in killed..4 {
                killed_pass(&store, &mailer, &clock, n, usize::MAX).await;
                clock.advance(Duration::minutes(2));
            }
            let got = counts(&mailer);
            let keys: Vec<(String, String)> = got.keys().cloned().collect();
            assert_eq!(keys, expected, "kill in pass {killed} at call {at}");
            let extra: usize = got.values().map(|n| n - 1).sum();
            assert!(
                extra <= unrecorded,
                "kill in pass {killed} at call {at}: {extra} duplicates, {unrecorded} unrecorded"
            );
            // Answers never reach anyone before the last window closes.
            let early = sent(&mailer, 0)
                .iter()
                .filter(|m| m.0 != TRAINER && m.1 == SCORE && m.0 != email(1))
                .filter(|m| reveals_answers(&m.2))
                .count();
            assert_eq!(early, 0, "kill in pass {killed} at call {at}");
            let results = TestResults::load(&store, &sample::subject_of(0), &sample::test_of(0))
                .await
                .unwrap()
                .unwrap();
            assert!(results.settled, "kill in pass {killed} at call {at}");
        }
    }
    assert!(kills > 60, "{kills} kill points");
}

#[tokio::test]
async fn the_local_scheduler_wakes_at_every_students_close_not_only_on_mondays() {
    let store = Arc::new(course(Feedback::AtOwnClose).await);
    let sent = Arc::new(MemoryMailer::default());
    let grace = crate::deadline::GRADING_GRACE;
    let clock = Arc::new(ManualClock::new(
        due() + grace - Duration::milliseconds(300),
    ));
    let mailer = Arc::new(StampsSends {
        inner: sent.clone(),
        clock: clock.clone(),
        at: std::sync::Mutex::new(vec![]),
    });
    // Parked before the next Monday: every pass it runs is for a window's close.
    let sleep = Arc::new(MovesClock {
        clock: clock.clone(),
        limit: due() + Duration::days(3),
        parked: Default::default(),
    });
    let mut cfg = config(&clock, 16);
    cfg.lease_ttl = std::time::Duration::from_secs(60);
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
    tokio::time::timeout(std::time::Duration::from_secs(10), sleep.parked.notified())
        .await
        .expect("the scheduler should have got to waiting");
    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    // When each student email went out, in days after the due (each pass fires
    // within the minute after a close + grace).
    let at = mailer.at.lock().unwrap().clone();
    let mut fired: Vec<(String, String, i64)> = sent
        .sent()
        .iter()
        .zip(at)
        .filter(|((to, _), _)| !to.iter().any(|t| t == TRAINER))
        .map(|((to, raw), at)| {
            let since = at - (due() + grace);
            assert!(
                since >= Duration::zero() && since.num_seconds() % 86_400 < 60,
                "{at}"
            );
            let subject = inspect::parse(raw)
                .header("subject")
                .unwrap_or_default()
                .to_owned();
            (to.join(","), subject, since.num_days())
        })
        .collect();
    fired.sort();
    let mut expected = vec![
        (email(0), SCORE.to_owned(), 0),
        (email(1), SCORE.to_owned(), 2),
        (email(2), SCORE.to_owned(), 1),
        (email(3), SCORE.to_owned(), 0),
        (email(5), SCORE.to_owned(), 0),
    ];
    expected.extend([0, 2, 3, 5].map(|i| (email(i), ANSWERS.to_owned(), 2)));
    expected.sort();
    assert_eq!(fired, expected);
}

#[tokio::test]
async fn a_results_object_with_late_results_and_withheld_answers_round_trips_byte_for_byte() {
    use super::held::HeldResults;
    // Left by the first pass of the course above: results without answers told, a
    // partial report.
    let store = course(Feedback::AtOwnClose).await;
    let mut catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    catalog.tests[0].windows.late = Some(LatePolicy {
        until: due() + Duration::days(1),
        penalty: parse_penalty("12.5%/day").unwrap(),
        floor: Percent::parse("50%").unwrap(),
    });
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    let mailer = MemoryMailer::default();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    pass(&store, &mailer, &clock, 1).await;
    let (s, t) = (sample::subject_of(0), sample::test_of(0));
    let mut results = TestResults::load(&store, &s, &t).await.unwrap().unwrap();
    assert!(!results.withheld.is_empty() && results.partial);
    // One result made late by hand, as a late upload would have it.
    let score = Arc::make_mut(results.scores.get_mut(&student(0)).unwrap());
    let lateness = crate::windows::Lateness {
        due_at: due(),
        days_late: 1,
        penalty: "12.5%/day".into(),
        factor: Percent::parse("87.5%").unwrap(),
    };
    super::grading::apply_late(score, lateness, due() + Duration::hours(3));
    results.last_close_at = Some(due() + Duration::days(3));
    let json = serde_json::to_vec(&results).unwrap();
    let held = HeldResults::from_json(&json, &s, &t).unwrap();
    assert_eq!(held.to_json().unwrap(), json);
    assert_eq!(held.to_results(), results);
    let text = String::from_utf8(json).unwrap();
    assert!(text.contains(r#""late":{"dueAt":"2026-11-30T22:00:00Z","daysLate":1,"penalty":"12.5%/day","factor":"87.5%","receivedAt":"2026-12-01T01:00:00Z","gradeOnTime":"#), "{text}");
}
