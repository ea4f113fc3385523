//! The scorer under injected faults and crashes: every (student, test) result is
//! emailed exactly once, besides the documented window (the process dies after the
//! mail service accepted messages and before their journal wave is written: those
//! messages, at most `ledger_batch` of them, go out again).

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use ework_domain::layout::ObjectKey;
use ework_domain::ports::Clock;
use ework_domain::ports::{
    Created, Etag, MailError, Mailer, ObjectInfo, ObjectStore, StoreError, Swapped,
};
use ework_domain::scoring::results::TestResults;
use ework_domain::scoring::sample::{self, SeedSpec};
use ework_domain::scoring::{inspect, score_pass, RunOptions, ScoringConfig};
use ework_domain::testing::{MemoryMailer, MemoryStore};
use ework_testkit::faults::{FaultPlan, FaultyMailer, FaultyStore, Retrying};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

const STUDENTS: usize = 12;
const TESTS: usize = 3;
const TRAINER: &str = "trainer@faults.test";

fn due() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 22, 0, 0).unwrap()
}

async fn seeded() -> MemoryStore {
    let store = MemoryStore::new();
    let spec = SeedSpec {
        students: STUDENTS,
        tests: TESTS,
        questions: 4,
        due_at: due(),
        email_domain: "faults.test".into(),
        concurrency: 4,
    };
    sample::seed(&store, &spec).await.unwrap();
    store
}

/// The clock the lease reads: the test moves it, nothing waits in real time.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn clock() -> Arc<TestClock> {
    Arc::new(TestClock(Mutex::new(Utc::now())))
}

fn config(clock: &Arc<TestClock>) -> ScoringConfig {
    let mut config = ScoringConfig::new("Ework <scorer@faults.test>", TRAINER);
    config.read_concurrency = 4;
    // A killed or failed pass holds the lease until it expires (by the clock).
    config.lease_ttl = LEASE;
    config.clock = clock.clone();
    // Several journal waves per pass, so kills land between waves too.
    config.ledger_batch = BATCH;
    config
}

const BATCH: usize = 4;

const LEASE: std::time::Duration = std::time::Duration::from_millis(200);

fn wait_for_lease_expiry(clock: &TestClock) {
    let by = LEASE + std::time::Duration::from_millis(20);
    *clock.0.lock().unwrap() += Duration::from_std(by).unwrap();
}

fn options(pass: i64) -> RunOptions {
    // Each pass an hour later, so a lease left by a failed or killed pass has expired.
    RunOptions {
        now: due() + Duration::hours(1 + pass),
        deadline: None,
        dry_run: false,
    }
}

/// How many student emails covered each (student, "subject/test").
fn emails_per_result(mailer: &MemoryMailer) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for (to, raw) in mailer.sent() {
        if to.iter().any(|t| t == TRAINER) {
            continue;
        }
        let parsed = inspect::parse(&raw);
        let subject = parsed.header("Subject").unwrap_or_default().to_string();
        let tests: Vec<String> = if let Some(list) = subject.strip_prefix("[Ework] Test scores: ") {
            list.split(", ").map(str::to_owned).collect()
        } else {
            let parts: Vec<&str> = subject.split("] [").collect();
            assert_eq!(parts.len(), 2, "unexpected subject {subject:?}");
            let test = parts[1].split(']').next().unwrap_or_default();
            vec![format!("{}/{test}", parts[0].trim_start_matches('['))]
        };
        for test in tests {
            *counts.entry((to.join(","), test)).or_default() += 1;
        }
    }
    counts
}

/// Every (student, test) that should get exactly one email.
fn expected_results() -> Vec<(String, String)> {
    let mut expected = Vec::new();
    for i in 0..STUDENTS {
        for j in 0..TESTS {
            if sample::submits(i, j) {
                let to = format!("{}@faults.test", sample::student_of(i));
                expected.push((
                    to,
                    format!("{}/{}", sample::subject_of(j), sample::test_of(j)),
                ));
            }
        }
    }
    expected.sort();
    expected
}

async fn reported_tests(store: &MemoryStore) -> usize {
    let mut n = 0;
    for j in 0..TESTS {
        let results = TestResults::load(store, &sample::subject_of(j), &sample::test_of(j))
            .await
            .unwrap()
            .unwrap_or_default();
        n += usize::from(results.reported && results.settled);
    }
    n
}

/// Trainer reports with grades (not the follow-ups listing retried emails).
fn trainer_reports(mailer: &MemoryMailer) -> usize {
    mailer
        .sent()
        .iter()
        .filter(|(to, raw)| {
            to.iter().any(|t| t == TRAINER)
                && inspect::parse(raw)
                    .header("Subject")
                    .is_some_and(|s| s.starts_with("[Ework] Scores report"))
        })
        .count()
}

/// A fifth of all calls fail; above them, `store_attempts` / `mail_attempts` tries
/// per call. Passes repeat until one reports complete with nothing failed.
async fn faulty_runs_email_every_result_exactly_once(
    store_attempts: u32,
    mail_attempts: u32,
    seed: u64,
) -> i64 {
    let memory = seeded().await;
    let mailer = MemoryMailer::default();
    let faulty_store = FaultyStore {
        inner: &memory,
        plan: FaultPlan::new(0.2, seed),
    };
    let store = Retrying {
        inner: &faulty_store,
        attempts: store_attempts,
    };
    let faulty = FaultyMailer {
        inner: &mailer,
        plan: FaultPlan::new(0.2, seed + 1),
    };
    let faulty_mailer = Retrying {
        inner: &faulty,
        attempts: mail_attempts,
    };
    let clock = clock();
    let mut passes = 0;
    loop {
        passes += 1;
        assert!(passes < 300, "the scorer never completed");
        match score_pass(&store, &faulty_mailer, &config(&clock), options(passes)).await {
            Ok(summary) if summary.complete && summary.failed.is_empty() => break,
            Ok(summary) => {
                if std::env::var("EWORK_DEBUG_FAULTS").is_ok() {
                    eprintln!(
                        "pass {passes}: complete {} sent {} failed {:?} stopped {:?} problems {:?}",
                        summary.complete,
                        summary.sent.len(),
                        summary.failed.iter().map(|f| &f.error).collect::<Vec<_>>(),
                        summary.stopped_early,
                        summary.problems
                    );
                }
            }
            Err(e) => {
                if std::env::var("EWORK_DEBUG_FAULTS").is_ok() {
                    eprintln!("pass {passes}: error {e}");
                }
                wait_for_lease_expiry(&clock)
            }
        }
    }
    let counts = emails_per_result(&mailer);
    let expected = expected_results();
    let got: Vec<_> = counts.keys().cloned().collect();
    assert_eq!(got, expected, "every result emailed, nobody else");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "emailed more than once: {twice:?}");
    assert_eq!(reported_tests(&memory).await, TESTS);
    assert_eq!(
        trainer_reports(&mailer),
        1,
        "one trainer report with grades"
    );
    assert!(faulty_store.plan.injected() > 10 && faulty.plan.injected() > 3);
    // Once complete, another run sends nothing.
    let before = mailer.sent().len();
    let summary = score_pass(&memory, &mailer, &config(&clock), options(passes + 1))
        .await
        .unwrap();
    assert!(summary.complete && summary.sent.is_empty() && summary.report.is_none());
    assert_eq!(mailer.sent().len(), before);
    println!(
        "{passes} passes; {} store faults and {} mail faults injected; {} emails",
        faulty_store.plan.injected(),
        faulty.plan.injected(),
        before
    );
    passes
}

#[tokio::test]
async fn with_a_fifth_of_calls_failing_under_the_production_retries_every_result_is_emailed_once() {
    // S3 SDK standard retry mode: 3 attempts; SesMailer: 5.
    faulty_runs_email_every_result_exactly_once(3, 5, 42).await;
}

#[tokio::test]
async fn with_a_fifth_of_calls_failing_and_hardly_any_retries_repeated_runs_email_every_result_once(
) {
    let passes = faulty_runs_email_every_result_exactly_once(2, 1, 7).await;
    assert!(
        passes > 1,
        "this fault rate needs several passes, took {passes}"
    );
}

/// Kills the pass at its `at`-th call to the store or the mailer: that call never
/// returns and the whole pass is dropped, as when the process dies.
struct Crash {
    calls: AtomicUsize,
    at: usize,
    fired: Notify,
    /// Student emails accepted since the last journal write (the window).
    unrecorded: AtomicUsize,
    /// The trainer's report was accepted (its window lasts to the end of the pass).
    report_accepted: AtomicBool,
    /// `unrecorded` and `report_accepted` when it died.
    died_with: AtomicUsize,
    died_after_report: AtomicBool,
}

impl Crash {
    fn new(at: usize) -> Self {
        Self {
            calls: AtomicUsize::new(0),
            at,
            fired: Notify::new(),
            unrecorded: AtomicUsize::new(0),
            report_accepted: AtomicBool::new(false),
            died_with: AtomicUsize::new(0),
            died_after_report: AtomicBool::new(false),
        }
    }

    async fn tick(&self) {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            self.died_with
                .store(self.unrecorded.load(Ordering::SeqCst), Ordering::SeqCst);
            self.died_after_report.store(
                self.report_accepted.load(Ordering::SeqCst),
                Ordering::SeqCst,
            );
            self.fired.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

struct CrashStore<'a> {
    inner: &'a MemoryStore,
    crash: &'a Crash,
}

#[async_trait]
impl ObjectStore for CrashStore<'_> {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.crash.tick().await;
        self.inner.get(key).await
    }
    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.crash.tick().await;
        self.inner.put(key, bytes).await
    }
    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        self.crash.tick().await;
        let created = self.inner.create(key, bytes).await?;
        if key.as_str().starts_with("_system/journal/") {
            self.crash.unrecorded.store(0, Ordering::SeqCst);
        }
        Ok(created)
    }
    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        self.crash.tick().await;
        self.inner.get_tagged(key).await
    }
    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        self.crash.tick().await;
        self.inner.put_if_match(key, bytes, expected).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.crash.tick().await;
        self.inner.list(prefix).await
    }
    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.crash.tick().await;
        self.inner.purge(key).await
    }
    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.crash.tick().await;
        self.inner.purge_history(key).await
    }
}

struct CrashMailer<'a> {
    inner: &'a MemoryMailer,
    crash: &'a Crash,
}

#[async_trait]
impl Mailer for CrashMailer<'_> {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        // Dying here means the message was never handed over.
        self.crash.tick().await;
        let id = self.inner.send(to, raw).await?;
        if to.iter().any(|t| t == TRAINER) {
            self.crash.report_accepted.store(true, Ordering::SeqCst);
        } else {
            self.crash.unrecorded.fetch_add(1, Ordering::SeqCst);
        }
        Ok(id)
    }
}

/// What a killed pass left: student emails accepted and not recorded when it died,
/// whether the trainer's report had been accepted, and the calls it made.
struct Killed {
    unrecorded: usize,
    after_report: bool,
    calls: usize,
}

/// Runs a pass that dies at call `at`.
async fn killed_pass(
    memory: &MemoryStore,
    mailer: &MemoryMailer,
    clock: &Arc<TestClock>,
    at: usize,
) -> Killed {
    let crash = Crash::new(at);
    let store = CrashStore {
        inner: memory,
        crash: &crash,
    };
    let crashing_mailer = CrashMailer {
        inner: mailer,
        crash: &crash,
    };
    let config = config(clock);
    tokio::select! {
        result = score_pass(&store, &crashing_mailer, &config, options(0)) => {
            result.unwrap();
        }
        () = crash.fired.notified() => {}
    }
    Killed {
        unrecorded: crash.died_with.load(Ordering::SeqCst),
        after_report: crash.died_after_report.load(Ordering::SeqCst),
        calls: crash.calls.load(Ordering::SeqCst),
    }
}

#[tokio::test]
async fn killing_the_scorer_at_any_of_24_points_and_rerunning_never_loses_or_duplicates_an_email() {
    // A clean run tells how many calls a whole pass makes.
    let clean = killed_pass(
        &seeded().await,
        &MemoryMailer::default(),
        &clock(),
        usize::MAX,
    )
    .await;
    let total_calls = clean.calls;
    assert!(total_calls > 30, "a pass makes {total_calls} calls");
    let points: Vec<usize> = (0..24).map(|n| 1 + n * (total_calls - 1) / 23).collect();
    let mut in_window_deaths = 0;
    for at in points {
        let memory = seeded().await;
        let mailer = MemoryMailer::default();
        let clock = clock();
        let killed = killed_pass(&memory, &mailer, &clock, at).await;
        wait_for_lease_expiry(&clock);
        let mut passes = 0;
        loop {
            passes += 1;
            let summary = score_pass(&memory, &mailer, &config(&clock), options(passes))
                .await
                .unwrap();
            if summary.complete && summary.failed.is_empty() {
                break;
            }
            assert!(
                passes < 5,
                "rerun after a kill at call {at} did not complete"
            );
        }
        let counts = emails_per_result(&mailer);
        let got: Vec<_> = counts.keys().cloned().collect();
        assert_eq!(
            got,
            expected_results(),
            "kill at call {at}: every result emailed"
        );
        let extra: usize = counts.values().map(|n| n - 1).sum();
        let students_twice = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((to, _), _)| to)
            .collect::<std::collections::BTreeSet<_>>();
        if killed.unrecorded > 0 {
            in_window_deaths += 1;
        }
        // Only the emails accepted and not yet recorded may go out again: at most
        // one journal wave, each covering at most every test of one student.
        assert!(
            killed.unrecorded <= BATCH,
            "kill at call {at}: {} unrecorded",
            killed.unrecorded
        );
        assert!(
            students_twice.len() <= killed.unrecorded,
            "kill at call {at} with {} unrecorded: {students_twice:?} twice",
            killed.unrecorded
        );
        assert!(
            extra <= killed.unrecorded * TESTS,
            "kill at call {at}: {extra} duplicates"
        );
        let reports = trainer_reports(&mailer);
        if killed.after_report {
            assert!(reports <= 2, "kill at call {at}: {reports} reports");
        } else {
            assert_eq!(reports, 1, "kill at call {at}: one trainer report");
        }
        assert_eq!(
            reported_tests(&memory).await,
            TESTS,
            "kill at call {at}: every test reported"
        );
    }
    println!("24 kill points over {total_calls} calls; {in_window_deaths} died with unrecorded emails (the documented window)");
}
