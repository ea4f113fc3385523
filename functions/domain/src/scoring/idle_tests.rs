//! What a pass that finds nothing to do costs in store requests. The scorer runs
//! every 15 minutes in AWS (cloudformation/scorer.yaml), so almost every pass is
//! one of these: the figures here are the ones docs/operations.md prices.

use super::sample::{self, SeedSpec};
use super::tests::ManualClock;
use super::{score_pass, RunOptions, ScoringConfig};
use crate::layout;
use crate::model::{Catalog, Roster};
use crate::store_json;
use crate::testing::{BeforeCall, Call, Hooked, MemoryMailer, MemoryStore};
use crate::windows::Extension;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const TESTS: usize = 3;

fn due() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Store calls by kind (`Get`, `List`, ...), counted before each call.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<String, usize>>);

#[async_trait]
impl BeforeCall for &Tally {
    async fn before(&self, call: Call, _key: &str) {
        *self
            .0
            .lock()
            .unwrap()
            .entry(format!("{call:?}"))
            .or_default() += 1;
    }
}

/// Three tests due `due()`, four students; student0001 has an extension on the
/// first test (subject of test 0) to two days later.
async fn course() -> MemoryStore {
    let store = MemoryStore::new();
    let spec = SeedSpec {
        students: 4,
        tests: TESTS,
        questions: 3,
        due_at: due(),
        email_domain: "idle.test".into(),
        concurrency: 4,
    };
    sample::seed(&store, &spec).await.unwrap();
    let mut catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    let first = &catalog.tests[0];
    let roster: Roster = store_json::read(&store, &layout::roster())
        .await
        .unwrap()
        .unwrap();
    let late = roster
        .0
        .iter()
        .find(|s| s.takes(&first.subject))
        .unwrap()
        .student_id
        .clone();
    catalog.tests[0].windows.extensions.insert(
        late,
        Extension {
            due: due() + Duration::days(2),
            reason: None,
        },
    );
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    store
}

/// One pass as of `now`: its store calls by kind and the emails it sent.
async fn counted_pass(
    store: &MemoryStore,
    mailer: &MemoryMailer,
    now: DateTime<Utc>,
) -> (BTreeMap<String, usize>, usize) {
    let tally = Tally::default();
    let hooked = Hooked {
        inner: store,
        hook: &tally,
    };
    let mut config = ScoringConfig::new("Ework <scorer@idle.test>", "trainer@idle.test");
    config.clock = Arc::new(ManualClock::new(now));
    let before = mailer.sent().len();
    let options = RunOptions {
        now,
        deadline: None,
        dry_run: false,
    };
    let summary = score_pass(&hooked, mailer, &config, options).await.unwrap();
    assert!(summary.complete, "{:?}", summary.problems);
    let calls = tally.0.lock().unwrap().clone();
    (calls, mailer.sent().len() - before)
}

fn calls(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
    list.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[tokio::test]
async fn a_pass_with_nothing_due_costs_a_handful_of_requests_and_sends_nothing() {
    let store = course().await;
    let mailer = MemoryMailer::default();
    let grace = crate::deadline::GRADING_GRACE;
    // Before any close: the lease (list, read the last one, create, release) and
    // catalog and roster. The very first pass has no last lease to read.
    let (first, sent) = counted_pass(&store, &mailer, due() - Duration::hours(1)).await;
    assert_eq!(
        first,
        calls(&[("Create", 1), ("Get", 2), ("List", 1), ("Put", 1)])
    );
    assert_eq!(sent, 0);
    let (before, sent) = counted_pass(&store, &mailer, due() - Duration::minutes(45)).await;
    assert_eq!(
        before,
        calls(&[("Create", 1), ("Get", 3), ("List", 1), ("Put", 1)])
    );
    assert_eq!(sent, 0);

    // The closing pass does the work (grades, emails, reports)...
    let (_, sent) = counted_pass(&store, &mailer, due() + grace).await;
    assert!(sent > 0);

    // ...the next ones, with one window still open, find nothing new: besides the
    // lease, catalog and roster, one listing of rescore requests and one of the
    // journal, one read of each closed test's results, and one listing of the test
    // whose window is open (to see a new upload). No write but the lease's.
    let (open, sent) = counted_pass(&store, &mailer, due() + grace + Duration::minutes(15)).await;
    assert_eq!(
        open,
        calls(&[
            ("Create", 1),
            ("Get", 3 + TESTS),
            ("List", 3 + 1),
            ("Put", 1)
        ])
    );
    assert_eq!(sent, 0);

    // Once the last window has closed and its pass has run, every test is settled:
    // one read of its results and nothing else.
    let last = due() + Duration::days(2) + grace;
    let (_, sent) = counted_pass(&store, &mailer, last).await;
    assert!(sent > 0, "the late student's score and everyone's answers");
    let (settled, sent) = counted_pass(&store, &mailer, last + Duration::minutes(15)).await;
    assert_eq!(
        settled,
        calls(&[("Create", 1), ("Get", 3 + TESTS), ("List", 3), ("Put", 1)])
    );
    assert_eq!(sent, 0);
}

/// Rejects every message to one address, as SES does for an unverified recipient
/// while the account is in the sandbox, until the trainer fixes it.
struct Rejects {
    inner: MemoryMailer,
    address: String,
}

#[async_trait]
impl crate::ports::Mailer for Rejects {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, crate::ports::MailError> {
        if to.contains(&self.address) {
            return Err(crate::ports::MailError::Rejected("not verified".into()));
        }
        self.inner.send(to, raw).await
    }
}

#[tokio::test]
async fn a_send_that_keeps_failing_is_retried_every_pass_but_reported_once_a_day() {
    let store = course().await;
    let roster: Roster = store_json::read(&store, &layout::roster())
        .await
        .unwrap()
        .unwrap();
    let mailer = Rejects {
        inner: MemoryMailer::default(),
        address: roster.0[3].email.clone(),
    };
    let trainer = |m: &MemoryMailer| {
        m.sent()
            .iter()
            .filter(|(to, _)| to == &["trainer@idle.test".to_owned()])
            .count()
    };
    let start = due() + Duration::days(2) + crate::deadline::GRADING_GRACE;
    let mut reports = vec![];
    // A day of passes every 15 minutes, then the first pass of the next day.
    for n in 0..=(24 * 4) {
        let now = start + Duration::minutes(15 * n);
        let mut config = ScoringConfig::new("Ework <scorer@idle.test>", "trainer@idle.test");
        config.clock = Arc::new(ManualClock::new(now));
        let options = RunOptions {
            now,
            deadline: None,
            dry_run: false,
        };
        let summary = score_pass(&store, &mailer, &config, options).await.unwrap();
        assert!(!summary.failed.is_empty(), "pass {n} retried the send");
        reports.push(trainer(&mailer.inner));
    }
    // The first pass reports the tests and the failure; the next ones retry the
    // student's email quietly; a day later the trainer hears of it again.
    assert_eq!(reports[0], 1, "{reports:?}");
    assert_eq!(reports[24 * 4 - 1], 1, "{reports:?}");
    assert_eq!(reports[24 * 4], 2, "{reports:?}");
}
