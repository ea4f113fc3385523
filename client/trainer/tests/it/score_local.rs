//! `trainer score --now` on a local data dir: the outbox gets the expected `.eml`
//! files after the deadline, and nothing before it, in a dry run, or on a rerun; an
//! instant ahead of the real clock needs --force.

use ework_adapters::local::LocalStore;
use ework_domain::scoring::inspect;
use ework_domain::scoring::sample::{self, SeedSpec};
use std::path::Path;
use std::process::{Command, Output};

/// A Monday 23:00 in Warsaw that has passed: `--now` may not be later than the real
/// clock without --force, so these tests score in the past whatever day they run.
const DUE: &str = "2025-11-24T22:00:00Z";
/// The deadline plus the grading grace and a minute: when the weekly pass runs.
const AFTER_GRACE: &str = "2025-11-24T22:06:00Z";

async fn seeded_data_dir() -> tempfile::TempDir {
    seeded_data_dir_due(
        chrono::DateTime::parse_from_rfc3339(DUE)
            .unwrap()
            .with_timezone(&chrono::Utc),
    )
    .await
}

async fn seeded_data_dir_due(due_at: chrono::DateTime<chrono::Utc>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let spec = SeedSpec {
        students: 4,
        tests: 2,
        questions: 3,
        due_at,
        email_domain: "example.com".into(),
        concurrency: 4,
    };
    sample::seed(&store, &spec).await.unwrap();
    dir
}

fn trainer(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .env_remove("EWORK_LOCAL_DIR")
        .env_remove("EWORK_STACK")
        .env_remove("EWORK_SENDER")
        .env_remove("EWORK_TRAINER_EMAIL")
        .env_remove("EWORK_TIME_ZONE")
        .env_remove("EWORK_MAX_GRADE")
        .env_remove("EWORK_SEND_RATE")
        .output()
        .unwrap();
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn emls(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Every file of a data dir but the store's scratch space `tmp/`, where each process
/// that opens the store keeps a folder until a later one sweeps it.
fn data_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, skip: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p == skip {
                continue;
            }
            if p.is_dir() {
                walk(&p, skip, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let mut out = vec![];
    walk(dir, &dir.join("tmp"), &mut out);
    out.sort();
    out
}

#[tokio::test]
async fn score_now_after_the_deadline_writes_one_eml_per_student_and_the_report() {
    let dir = seeded_data_dir().await;
    let data = dir.path().to_str().unwrap();
    let out = trainer(&[
        "score",
        "--local",
        data,
        "--now",
        "2025-11-24T23:06:00+01:00",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Results written: 7"), "{stdout}");

    let files = emls(&dir.path().join("outbox"));
    assert_eq!(
        files.len(),
        5,
        "4 students + trainer: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(files.iter().all(|(name, _)| name.ends_with(".eml")));
    let mut seen: Vec<(String, String)> = files
        .iter()
        .map(|(_, raw)| {
            let parsed = inspect::parse(raw);
            (
                parsed.header("to").unwrap().to_owned(),
                parsed.header("subject").unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (
                "student0001@example.com".into(),
                "[Ework] Test scores: databases/test02, operating-systems/test01".into()
            ),
            (
                "student0002@example.com".into(),
                "[Ework] Test scores: databases/test02, operating-systems/test01".into()
            ),
            (
                "student0003@example.com".into(),
                "[Ework] Test scores: databases/test02, operating-systems/test01".into()
            ),
            (
                "student0004@example.com".into(),
                "[operating-systems] [test01] Test score".into()
            ),
            (
                "trainer@ework.localhost".into(),
                "[Ework] Scores report: 2 tests".into()
            ),
        ]
    );
    let report = files
        .iter()
        .map(|(_, raw)| inspect::parse(raw))
        .find(|p| p.header("to") == Some("trainer@ework.localhost"))
        .unwrap();
    assert!(report
        .part("text/html")
        .unwrap()
        .text()
        .contains("Missing submissions (1)"));
    assert!(report.part("text/csv").is_some());

    // Run again: nothing new.
    let again = trainer(&[
        "score",
        "--local",
        data,
        "--now",
        "2025-12-01T23:30:00+01:00",
    ]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("Closed tests: 2"));
    assert_eq!(emls(&dir.path().join("outbox")).len(), 5);
}

#[tokio::test]
async fn score_before_the_deadline_sends_nothing() {
    let dir = seeded_data_dir().await;
    let out = trainer(&[
        "score",
        "--local",
        dir.path().to_str().unwrap(),
        "--now",
        "2025-11-24T22:59:59+01:00",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Closed tests: 0"));
    assert!(emls(&dir.path().join("outbox")).is_empty());
}

#[tokio::test]
async fn a_dry_run_prints_the_plan_and_changes_nothing() {
    let dir = seeded_data_dir().await;
    let before = data_files(dir.path());
    let out = trainer(&[
        "score",
        "--local",
        dir.path().to_str().unwrap(),
        "--now",
        "2025-11-25T08:00:00Z",
        "--dry-run",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("dry run"), "{stdout}");
    assert!(stdout.contains("Results would be written: 7"), "{stdout}");
    assert!(
        stdout.contains("Student emails would be sent: 4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("student0004@example.com  [operating-systems] [test01] Test score"),
        "{stdout}"
    );
    assert_eq!(
        data_files(dir.path()),
        before,
        "nothing written, not even an outbox"
    );
    // A bare --now means the current time.
    assert!(trainer(&[
        "score",
        "--local",
        dir.path().to_str().unwrap(),
        "--now",
        "--dry-run"
    ])
    .status
    .success());
}

#[tokio::test]
async fn an_explicit_outbox_and_a_bad_time_are_honoured() {
    let dir = seeded_data_dir().await;
    let outbox = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // Both are usage errors: exit 2, as for any other.
    let bad = trainer(&["score", "--local", data, "--now", "next monday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
    let missing_flag = trainer(&["score", "--local", data]);
    assert_eq!(missing_flag.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing_flag.stderr).contains("--now"));
    let out = trainer(&[
        "score",
        "--local",
        data,
        "--outbox",
        outbox.path().to_str().unwrap(),
        "--now",
        AFTER_GRACE,
    ]);
    assert!(out.status.success());
    assert_eq!(emls(outbox.path()).len(), 5);
    assert!(emls(&dir.path().join("outbox")).is_empty());
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn score_as_of_an_instant_after_the_real_clock_is_refused_with_exit_2_and_writes_nothing() {
    let now = chrono::Utc::now();
    // Due in an hour: on the real clock the tests are open and the API accepts answers.
    let dir = seeded_data_dir_due(now + chrono::Duration::hours(1)).await;
    let before = data_files(dir.path());
    let tomorrow = rfc3339(now + chrono::Duration::days(1));

    let out = trainer(&[
        "score",
        "--local",
        dir.path().to_str().unwrap(),
        "--now",
        &tomorrow,
    ]);

    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("--now {tomorrow} is later than the real clock")),
        "{stderr}"
    );
    assert!(stderr.contains("add --force"), "{stderr}");
    assert_eq!(data_files(dir.path()), before, "nothing graded or sent");

    // A preview writes nothing, so it may look ahead.
    let preview = trainer(&[
        "score",
        "--local",
        dir.path().to_str().unwrap(),
        "--now",
        &tomorrow,
        "--dry-run",
    ]);
    assert!(preview.status.success());
    assert!(String::from_utf8_lossy(&preview.stdout).contains("Closed tests: 2"));
    assert_eq!(data_files(dir.path()), before);
}

#[tokio::test]
async fn force_scores_ahead_of_the_real_clock_and_warns_what_it_risks() {
    let now = chrono::Utc::now();
    let dir = seeded_data_dir_due(now + chrono::Duration::hours(1)).await;
    let tomorrow = rfc3339(now + chrono::Duration::days(1));

    let out = trainer(&[
        "score",
        "--local",
        dir.path().to_str().unwrap(),
        "--now",
        &tomorrow,
        "--force",
    ]);

    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: --force: scoring as of {tomorrow}, later than the real clock"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("answers it accepts after this pass will not be graded in this pass"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Closed tests: 2"));
    assert_eq!(emls(&dir.path().join("outbox")).len(), 5);
}

#[tokio::test]
async fn rescore_of_one_student_emails_only_them_saying_what_changed() {
    let dir = seeded_data_dir().await;
    let data = dir.path().to_str().unwrap();
    assert!(trainer(&["score", "--local", data, "--now", AFTER_GRACE])
        .status
        .success());
    // The trainer corrects question 1 of operating-systems/test01 from a to b.
    {
        let store = LocalStore::open(dir.path()).unwrap();
        let (s, t) = (sample::subject_of(0), sample::test_of(0));
        let key_at = ework_domain::layout::answer_key(&s, &t);
        let mut key: Vec<ework_domain::model::KeyEntry> =
            ework_domain::store_json::read(&store, &key_at)
                .await
                .unwrap()
                .unwrap();
        key[0].answer = ework_domain::ids::AnswerId::parse("b").unwrap().into();
        ework_domain::store_json::write(&store, &key_at, &key)
            .await
            .unwrap();
    }
    let before = emls(&dir.path().join("outbox")).len();
    let nobody = trainer(&[
        "score",
        "--local",
        data,
        "--rescore",
        "operating-systems",
        "test01",
        "--student",
        "student0099",
    ]);
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("has no result"));
    let alone = trainer(&["score", "--local", data, "--student", "student0002"]);
    assert_eq!(alone.status.code(), Some(2), "--student needs --rescore");

    let out = trainer(&[
        "score",
        "--local",
        data,
        "--now",
        AFTER_GRACE,
        "--rescore",
        "operating-systems",
        "test01",
        "--student",
        "student0002",
    ]);
    assert!(out.status.success());
    // Student 0002 gave a, b, a to the key a, b, c: 2/3 (grade 3 of 5); against
    // b, b, c it is 1/3 (grade 2: 1.67 rounds up).
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("student0002  1/3 points  grade 2 (rescored, revision 1; grade 3 -> 2)"),
        "{stdout}"
    );
    let files = emls(&dir.path().join("outbox"));
    assert_eq!(files.len(), before + 2, "one correction and the report");
    let corrected: Vec<String> = files
        .iter()
        .map(|(_, raw)| inspect::parse(raw))
        .filter(|m| {
            m.header("subject")
                .is_some_and(|s| s.contains("(corrected)"))
        })
        .map(|m| {
            assert_eq!(m.header("to"), Some("student0002@example.com"));
            m.part("text/plain").unwrap().text()
        })
        .collect();
    assert_eq!(corrected.len(), 1);
    assert!(
        corrected[0].contains("Grade: 3 / 5 before, now 2 / 5"),
        "{}",
        corrected[0]
    );
}

#[tokio::test]
async fn trainer_report_prints_the_item_analysis_the_scorer_attached() {
    let dir = seeded_data_dir().await;
    let data = dir.path().to_str().unwrap();
    let (subject, test) = (sample::subject_of(0), sample::test_of(0));
    let (s, t) = (subject.as_str(), test.as_str());

    let before = trainer(&["report", "--local", data, s, t]);
    assert!(!before.status.success(), "nothing graded yet");
    assert!(String::from_utf8_lossy(&before.stderr).contains("no results for"));

    let scored = trainer(&["score", "--local", data, "--now", AFTER_GRACE]);
    assert!(scored.status.success());

    let text = trainer(&["report", "--local", data, s, t]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    // Students 1-4 minus the one who skipped test 1 (sample::submits).
    let takers: Vec<usize> = (0..4).filter(|i| sample::submits(*i, 0)).collect();
    assert!(
        text.contains(&format!("Item analysis: n {},", takers.len())),
        "{text}"
    );

    let json = trainer(&["report", "--local", data, s, t, "--json"]);
    assert!(json.status.success());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 3);
    for q in 0..3 {
        let right = takers
            .iter()
            .filter(|i| sample::answer_of(**i, 0, q) == Some(sample::key_of(q)))
            .count();
        let facility = json["items"][q]["facility"].as_f64().unwrap();
        assert!((facility - right as f64 / takers.len() as f64).abs() < 1e-9);
    }

    let csv = trainer(&["report", "--local", data, s, t, "--csv"]);
    assert!(csv.status.success());
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    let report = emls(&dir.path().join("outbox"))
        .into_iter()
        .map(|(_, raw)| inspect::parse(&raw))
        .find(|p| p.header("to").is_some_and(|to| to.contains("trainer")))
        .expect("the trainer's report");
    let attached = report
        .parts
        .iter()
        .find(|p| {
            p.header("content-disposition")
                .is_some_and(|d| d.contains("item-analysis.csv"))
        })
        .expect("item-analysis.csv attached")
        .text();
    let rows = |csv: &str, skip_header: bool| -> Vec<String> {
        csv.lines()
            .skip(usize::from(skip_header))
            .filter(|l| l.starts_with(&format!("{s},{t},")))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(rows(&csv, true).len(), 3, "{csv}");
    assert_eq!(
        rows(&csv, true),
        rows(&attached, true),
        "the CLI and the report agree"
    );
}
