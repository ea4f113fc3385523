//! The scorer end to end against moto: S3 for the course, SES v2 for the mail
//! (sender verified in setup, sent mail read back from `/moto-api/data.json`).

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sesv2::config::{Credentials, Region};
use chrono::{DateTime, Duration, Utc};
use ework_adapters::s3::{s3_client, S3Store};
use ework_adapters::ses::{ses_client, SesMailer};
use ework_domain::ports::{FixedClock, Mailer};
use ework_domain::scoring::grading::round_half_up;
use ework_domain::scoring::inspect;
use ework_domain::scoring::sample::{self, SeedSpec};
use ework_domain::scoring::ScoringConfig;
use ework_domain::testing::DiesAfter;
use ework_scorer::handler::Scorer;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use std::sync::Arc;

const STUDENTS: usize = 5;
const TESTS: usize = 2;
const QUESTIONS: usize = 4;

fn due() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{t:x}{:x}", std::process::id())
}

/// A fresh bucket and mail domain on moto, seeded with 5 students x 2 tests.
struct World {
    moto: String,
    store: Arc<S3Store>,
    aws: aws_config::SdkConfig,
    domain: String,
    trainer: String,
}

/// `None` (the test is skipped, and says so) where no moto can be had.
async fn world() -> Option<World> {
    let moto = ework_testkit::moto::url_or_skip()?;
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto)
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    let n = nonce();
    let bucket = format!("ework-scorer-{n}");
    let s3 = s3_client(&aws);
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuCentral1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket in moto");
    let store = Arc::new(S3Store::new(s3, bucket, None));
    let domain = format!("{n}.scorer-test.example.com");
    let spec = SeedSpec {
        students: STUDENTS,
        tests: TESTS,
        questions: QUESTIONS,
        due_at: due(),
        email_domain: domain.clone(),
        concurrency: 8,
    };
    sample::seed(store.as_ref(), &spec)
        .await
        .expect("seed the course");
    ses_client(&aws, None)
        .create_email_identity()
        .email_identity(format!("scorer@{domain}"))
        .send()
        .await
        .expect("verify the sender in moto");
    Some(World {
        moto,
        store,
        trainer: format!("trainer@{domain}"),
        aws,
        domain,
    })
}

impl World {
    fn scorer(&self, mailer: Arc<dyn Mailer>, lease_ttl: std::time::Duration) -> Scorer {
        let mut config = ScoringConfig::new(
            format!("Ework Scorer <scorer@{}>", self.domain),
            self.trainer.clone(),
        );
        config.lease_ttl = lease_ttl;
        Scorer {
            store: self.store.clone(),
            mailer,
            clock: Arc::new(FixedClock(
                due() + ework_domain::deadline::GRADING_GRACE + Duration::minutes(1),
            )),
            config,
        }
    }

    fn ses(&self) -> Arc<dyn Mailer> {
        Arc::new(SesMailer::new(ses_client(&self.aws, None), None))
    }

    /// Every message moto accepted for this world's addresses: (recipient, raw).
    async fn sent(&self) -> Vec<(String, String)> {
        let data = ework_testkit::moto::state(&self.moto).await;
        let suffix = format!("@{}", self.domain);
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                let to = m["destinations"].as_array()?.first()?.as_str()?.to_owned();
                to.ends_with(&suffix)
                    .then(|| (to, m["raw_data"].as_str().unwrap_or_default().to_owned()))
            })
            .collect()
    }
}

fn event(payload: serde_json::Value) -> LambdaEvent<serde_json::Value> {
    LambdaEvent::new(payload, Context::default())
}

fn subject(raw: &str) -> String {
    inspect::parse(raw.as_bytes())
        .header("subject")
        .unwrap_or_default()
        .to_owned()
}

fn text(raw: &str) -> String {
    inspect::parse(raw.as_bytes())
        .part("text/plain")
        .map(|p| p.text())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_full_run_emails_every_student_their_scores_and_the_trainer_a_report_once() {
    let Some(w) = world().await else {
        return;
    };
    let scorer = w.scorer(w.ses(), std::time::Duration::from_secs(900));
    let summary = scorer.handle(event(json!({}))).await.expect("first run");
    assert!(summary.complete);
    assert_eq!(summary.scored.len(), 8);

    let sent = w.sent().await;
    assert_eq!(
        sent.len(),
        STUDENTS + 1,
        "one email per student plus the report"
    );
    for i in 0..STUDENTS {
        let to = format!("{}@{}", sample::student_of(i), w.domain);
        let mine: Vec<&(String, String)> = sent.iter().filter(|(r, _)| r == &to).collect();
        assert_eq!(mine.len(), 1, "{to} gets exactly one email");
        let raw = &mine[0].1;
        let took: Vec<usize> = (0..TESTS).filter(|j| sample::submits(i, *j)).collect();
        let expected_subject = match took.as_slice() {
            [j] => format!(
                "[{}] [{}] Test score",
                sample::subject_of(*j),
                sample::test_of(*j)
            ),
            _ => "[Ework] Test scores: databases/test02, operating-systems/test01".to_owned(),
        };
        assert_eq!(subject(raw), expected_subject);
        let body = text(raw);
        for j in took {
            let points = sample::expected_points(i, j, QUESTIONS);
            let grade = round_half_up(points, QUESTIONS as u32, 5);
            assert!(
                body.contains(&format!("Score: {points} / {QUESTIONS} points")),
                "{to}: {body}"
            );
            assert!(
                body.contains(&format!("Grade: {grade} / 5")),
                "{to}: {body}"
            );
            assert!(
                body.contains(&format!("Question 1 of test {}", j + 1)),
                "{body}"
            );
        }
        assert!(
            body.contains("Correct answer: a) Option a & more"),
            "{body}"
        );
    }
    let report: Vec<&(String, String)> = sent.iter().filter(|(r, _)| r == &w.trainer).collect();
    assert_eq!(report.len(), 1);
    assert_eq!(subject(&report[0].1), "[Ework] Scores report: 2 tests");
    let body = text(&report[0].1);
    assert!(body.contains("Missing submissions: 2"), "{body}");
    assert!(
        body.contains(&format!(
            "operating-systems  test01  student0005  Student 5  student0005@{}",
            w.domain
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "databases          test02  student0004  Student 4  student0004@{}",
            w.domain
        )),
        "{body}"
    );
    assert!(body.contains("Submitted 4/5"), "{body}");
    let csv = inspect::parse(report[0].1.as_bytes())
        .part("text/csv")
        .unwrap()
        .text();
    assert_eq!(csv.lines().count(), 1 + 8, "{csv}");

    // A duplicate schedule event: nothing more is sent or scored.
    let again = scorer.handle(event(json!({}))).await.expect("second run");
    assert!(again.scored.is_empty() && again.sent.is_empty() && again.report.is_none());
    assert_eq!(w.sent().await.len(), STUDENTS + 1);
}

#[tokio::test]
async fn a_run_killed_after_three_sends_is_completed_by_the_rerun_without_duplicates() {
    let Some(w) = world().await else {
        return;
    };
    let ttl = std::time::Duration::from_millis(300);
    // Hands 3 messages to SES, then hangs forever (the process is killed there).
    let dying = Arc::new(DiesAfter::new(w.ses(), 3));
    // One journal write per email, so nothing accepted is unrecorded at the kill
    // (with bigger waves the unrecorded part of a wave goes out again: see the
    // domain's `a_kill_inside_a_journal_wave_resends_that_wave_only`).
    let mut first = w.scorer(dying.clone(), ttl);
    first.config.ledger_batch = 1;
    tokio::select! {
        r = first.handle(event(json!({}))) => panic!("the run should have been killed: {r:?}"),
        () = dying.died.notified() => {}
    }
    assert_eq!(w.sent().await.len(), 3);
    tokio::time::sleep(ttl * 2).await; // the killed run's lease runs out

    let rerun = w.scorer(w.ses(), ttl);
    let summary = rerun
        .handle(event(json!({"now": "2026-11-30T23:30:00+01:00"})))
        .await
        .expect("rerun");
    assert!(summary.complete);
    assert_eq!(
        summary.sent.len(),
        STUDENTS - 3,
        "only the students not yet emailed"
    );
    let sent = w.sent().await;
    assert_eq!(sent.len(), STUDENTS + 1);
    let mut recipients: Vec<&str> = sent.iter().map(|(to, _)| to.as_str()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), STUDENTS + 1, "nobody got two emails");
}

#[tokio::test]
async fn a_busy_lease_makes_the_invocation_step_aside_without_an_error_or_a_heartbeat() {
    let Some(w) = world().await else {
        return;
    };
    let now = Utc::now();
    let _held = ework_domain::scoring::ledger::Lease::acquire(
        w.store.as_ref(),
        now,
        now + Duration::minutes(5),
    )
    .await
    .unwrap();
    let scorer = w.scorer(w.ses(), std::time::Duration::from_secs(900));
    // Another pass (a long one, its retry, `trainer score`) holds the lease: this
    // invocation succeeds doing nothing, so Lambda does not retry it into the same
    // lease and on to the dead-letter queue; the holder or the next pass does the work.
    let summary = scorer.handle(event(json!({}))).await.expect("no error");
    assert!(!summary.complete, "not a completed pass: no heartbeat");
    assert!(summary.scored.is_empty() && summary.sent.is_empty());
    assert!(
        summary.problems[0].contains("holds the lease"),
        "{:?}",
        summary.problems
    );
    assert!(w.sent().await.is_empty());
}
