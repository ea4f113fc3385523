//! `trainer sync` against the local encrypted store and against moto S3 (the stack's
//! outputs coming from a moto CloudFormation stack): dry run writes nothing, applying
//! twice is a no-op, a changed key of a scored test is refused without --rescore, due
//! dates are read in the zone the data dir recorded.

use crate::course_support;

use crate::course_support::{
    copy_of_sample, local_stack, run, start_and_stop, trainer, MotoStack, NOW,
};
use ework_adapters::local::LocalStore;
use ework_domain::ids::{StudentId, SubjectName, TestId};
use ework_domain::layout::{self, ObjectKey};
use ework_domain::model::{Catalog, KeyEntry};
use ework_domain::ports::ObjectStore;
use ework_domain::scoring::grading::{grade, TestContent};
use ework_domain::scoring::results::TestResults;
use std::collections::BTreeMap;
use std::path::Path;

async fn local_objects(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let store = LocalStore::open(dir).unwrap();
    let mut out = BTreeMap::new();
    for o in store.list("").await.unwrap() {
        out.insert(o.key.to_string(), store.get(&o.key).await.unwrap().unwrap());
    }
    out
}

/// The results object of a test in which `student` has been graded, as the scorer
/// stores it: its key and its bytes.
fn scored_once(subject: &str, test: &str, student: &str) -> (ObjectKey, Vec<u8>) {
    let (subject, test) = (
        SubjectName::parse(subject).unwrap(),
        TestId::parse(test).unwrap(),
    );
    let student = StudentId::parse(student).unwrap();
    let content = TestContent {
        subject: &subject,
        test_id: &test,
        title: "T",
        questions: &[],
        key: &[],
        rules: &Default::default(),
    };
    let score = grade(content, &student, &[], 5, chrono::Utc::now());
    let mut results = TestResults::default();
    results.scores.insert(student, score.into());
    (
        layout::results(&subject, &test),
        serde_json::to_vec(&results).unwrap(),
    )
}

fn change_the_os_key(course: &Path) {
    std::fs::write(
        course.join("subjects/operating-systems/test01/questionsKey.json"),
        r#"[{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "b"}, {"questionId": "3", "answer": "c"},
            {"questionId": "4", "answer": "a"}, {"questionId": "5", "answer": "a"}]"#,
    )
    .unwrap();
}

const FIRST_PLAN: &str = "Plan:
  publish   networks/test01 \"Addresses and ports\", due 2026-11-30 23:00 CET
  publish   operating-systems/test01 \"Processes and the kernel\", due 2026-11-30 23:00 CET
  add       student student01 <student01@example.com>
  add       student student02 <student02@example.com>
  add       student student03 <student03@example.com>
  add       student student04 <student04@example.com>
Unchanged: 0 test(s), 0 student(s). Objects to write: 6.
";

#[tokio::test]
async fn sync_to_the_local_store_plans_applies_once_and_then_has_nothing_to_do() {
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let sync = |extra: &[&str]| {
        let mut cmd = trainer();
        cmd.arg("sync")
            .arg(course.path())
            .arg("--local")
            .arg(data.path())
            .args(["--now", NOW])
            .args(extra);
        run(&mut cmd)
    };

    let dry = sync(&["--dry-run"]);
    assert!(dry.ok, "{dry:?}");
    assert!(dry.stdout.contains(FIRST_PLAN), "{dry:?}");
    assert!(
        dry.stdout.ends_with("Dry run: nothing was written.\n"),
        "{dry:?}"
    );
    assert!(
        local_objects(data.path()).await.is_empty(),
        "a dry run writes nothing"
    );

    let applied = sync(&[]);
    assert!(applied.ok, "{applied:?}");
    assert!(applied.stdout.contains(FIRST_PLAN), "{applied:?}");
    let after_first = local_objects(data.path()).await;
    let keys: Vec<&str> = after_first.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "_system/catalog.json",
            "networks/test01/questions.json",
            "networks/test01/questionsKey.json",
            "operating-systems/test01/questions.json",
            "operating-systems/test01/questionsKey.json",
            "studentsList.json",
        ]
    );
    let catalog: Catalog = serde_json::from_slice(&after_first["_system/catalog.json"]).unwrap();
    assert_eq!(
        catalog.tests.len(),
        2,
        "the draft operating-systems/test02 stays unpublished"
    );

    let again = sync(&[]);
    assert!(again.ok, "{again:?}");
    assert!(
        again
            .stdout
            .contains("Nothing to change: 2 test(s) and 4 student(s) are up to date."),
        "{again:?}"
    );
    assert_eq!(local_objects(data.path()).await, after_first);
}

#[tokio::test]
async fn a_changed_key_of_a_scored_local_test_is_refused_unless_rescore() {
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let sync = |extra: &[&str]| {
        let mut cmd = trainer();
        cmd.arg("sync")
            .arg(course.path())
            .arg("--local")
            .arg(data.path())
            .args(["--now", NOW])
            .args(extra);
        run(&mut cmd)
    };
    assert!(sync(&[]).ok);
    let (results, bytes) = scored_once("operating-systems", "test01", "student01");
    LocalStore::open(data.path())
        .unwrap()
        .put(&results, bytes.clone())
        .await
        .unwrap();
    change_the_os_key(course.path());
    let before = local_objects(data.path()).await;

    let refused = sync(&[]);
    assert!(!refused.ok, "{refused:?}");
    assert!(
        refused.stderr.contains("the answer key changed for operating-systems/test01 which already has scored results; nothing was written"),
        "{refused:?}"
    );
    assert_eq!(local_objects(data.path()).await, before);

    let rescored = sync(&["--rescore"]);
    assert!(rescored.ok, "{rescored:?}");
    assert!(
        rescored.stdout.contains("update    operating-systems/test01: answer key changed (scored results will be rescored)"),
        "{rescored:?}"
    );
    let after = local_objects(data.path()).await;
    assert!(after.contains_key("_system/rescore/operating-systems/test01"));
    let key: Vec<KeyEntry> =
        serde_json::from_slice(&after["operating-systems/test01/questionsKey.json"]).unwrap();
    assert_eq!(key[4].answer.to_string(), "a");
    assert_eq!(
        after[results.as_str()],
        bytes,
        "scores are the scorer's to rewrite"
    );
}

#[tokio::test]
async fn sync_to_a_stack_reads_the_bucket_from_the_stack_outputs() {
    let Some(stack) = MotoStack::create().await else {
        return;
    };
    let course = copy_of_sample();
    let sync = |extra: &[&str]| {
        let mut args = vec!["sync", course.path().to_str().unwrap(), "--now", NOW];
        args.extend_from_slice(extra);
        run(&mut stack.trainer(&args))
    };

    let dry = sync(&["--dry-run"]);
    assert!(dry.ok, "{dry:?}");
    assert!(
        dry.stdout.starts_with(&format!(
            "Syncing {} to stack {} (bucket {})\n",
            course.path().display(),
            stack.name,
            stack.bucket
        )),
        "{dry:?}"
    );
    assert!(dry.stdout.contains(FIRST_PLAN), "{dry:?}");
    assert!(
        stack.versions().await.is_empty(),
        "a dry run writes nothing"
    );

    let applied = sync(&[]);
    assert!(applied.ok, "{applied:?}");
    let objects = stack.objects().await;
    assert_eq!(objects.len(), 6, "{:?}", objects.keys());
    let versions = stack.versions().await;

    let again = sync(&[]);
    assert!(again.ok, "{again:?}");
    assert!(
        again
            .stdout
            .contains("Nothing to change: 2 test(s) and 4 student(s) are up to date."),
        "{again:?}"
    );
    assert_eq!(
        stack.versions().await.len(),
        versions.len(),
        "re-applying writes no new version"
    );

    // Every object the trainer wrote asked for server-side encryption.
    let s3 = course_support::s3(&stack.aws);
    let head = s3
        .head_object()
        .bucket(&stack.bucket)
        .key("_system/catalog.json")
        .send()
        .await
        .unwrap();
    assert!(head.server_side_encryption().is_some(), "{head:?}");

    // A result gets scored; then the trainer edits the key.
    let (results, bytes) = scored_once("networks", "test01", "student02");
    s3.put_object()
        .bucket(&stack.bucket)
        .key(results.as_str())
        .body(bytes.into())
        .send()
        .await
        .unwrap();
    std::fs::write(
        course.path().join("subjects/networks/test01/questionsKey.json"),
        r#"[{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "c"}, {"questionId": "3", "answer": "a"}]"#,
    )
    .unwrap();
    let before = stack.versions().await.len();
    let refused = sync(&[]);
    assert!(!refused.ok, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("the answer key changed for networks/test01"),
        "{refused:?}"
    );
    assert_eq!(
        stack.versions().await.len(),
        before,
        "a refused sync writes nothing"
    );
    let rescored = sync(&["--rescore"]);
    assert!(rescored.ok, "{rescored:?}");
    assert!(stack
        .objects()
        .await
        .contains_key("_system/rescore/networks/test01"));
}

#[test]
fn sync_without_a_target_says_how_to_choose_one() {
    let out = run(trainer().arg("sync").arg(course_support::sample_dir()));
    assert!(!out.ok);
    assert!(
        out.stderr.contains("no target: pass --local <data-dir>"),
        "{out:?}"
    );
}

/// The contract with the scorer: `sync --rescore` leaves a marker, the next scoring pass
/// grades that test again and emails its students, and nobody else.
#[tokio::test]
async fn a_rescored_key_change_reaches_the_scorer_and_only_that_tests_students_are_emailed() {
    use ework_domain::api::{Api, ApiConfig, ApiRequest};
    use ework_domain::ports::FixedClock;
    use ework_domain::scoring::run::{score_pass, RunOptions, ScoringConfig};
    use ework_domain::testing::MemoryMailer;

    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let local = |args: &[&str]| {
        let mut cmd = trainer();
        cmd.args(args).arg("--local").arg(data.path());
        run(&mut cmd)
    };
    let dir = course.path().to_str().unwrap();
    assert!(local(&["sync", dir, "--now", NOW]).ok);
    let issued = local(&["keys", "issue", "--missing"]);
    let key_of = |id: &str| {
        issued
            .stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(id).map(|k| k.trim().to_owned()))
            .unwrap()
    };
    let store = LocalStore::open(data.path()).unwrap();
    let api = Api::new(store.clone(), FixedClock(at(NOW)), ApiConfig::default());
    // student01 answers question 5 with "a" (wrong under the old key); student02 takes
    // the other subject's test, which the key change does not touch.
    let submissions = [
        (
            "student01",
            "operating-systems",
            r#"[{"questionId": "5", "answer": "a"}]"#,
        ),
        (
            "student02",
            "networks",
            r#"[{"questionId": "1", "answer": "a"}]"#,
        ),
    ];
    for (id, subject, answers) in submissions {
        let body = format!(
            r#"{{"subjectName": "{subject}", "testId": "test01", "studentId": "{id}", "testResult": {answers}}}"#
        );
        let req = ApiRequest {
            method: "POST".into(),
            path: "/api/v1/test".into(),
            api_key: Some(key_of(id)),
            body: body.into_bytes(),
            ..ApiRequest::default()
        };
        assert_eq!(api.handle(req).await.status, 200);
    }
    let config = ScoringConfig::new("noreply@example.com", "trainer@example.com");
    let first = MemoryMailer::default();
    score_pass(
        &store,
        &first,
        &config,
        RunOptions {
            now: at("2026-12-01T08:00:00Z"),
            deadline: None,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    let (os, test01) = (
        SubjectName::parse("operating-systems").unwrap(),
        TestId::parse("test01").unwrap(),
    );
    let student01 = StudentId::parse("student01").unwrap();
    let result_of_student01 = || async {
        TestResults::load(&store, &os, &test01)
            .await
            .unwrap()
            .and_then(|r| r.scores.get(&student01).cloned())
    };
    let before = result_of_student01()
        .await
        .expect("the scorer wrote a score");

    change_the_os_key(course.path());
    let later = "2026-12-01T08:30:00Z";
    assert!(
        !local(&["sync", dir, "--now", later]).ok,
        "refused without --rescore"
    );
    let rescored = local(&["sync", dir, "--now", later, "--rescore"]);
    assert!(rescored.ok, "{rescored:?}");

    let second = MemoryMailer::default();
    score_pass(
        &store,
        &second,
        &config,
        RunOptions {
            now: at("2026-12-01T09:00:00Z"),
            deadline: None,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    let after = result_of_student01().await.unwrap();
    assert_ne!(after, before, "student01's result was graded again");
    assert_eq!(after.revision, before.revision + 1);
    let recipients: Vec<String> = second.sent().into_iter().flat_map(|(to, _)| to).collect();
    assert!(
        recipients.contains(&"student01@example.com".to_owned()),
        "{recipients:?}"
    );
    assert!(
        !recipients.contains(&"student02@example.com".to_owned()),
        "student02's test was not rescored: {recipients:?}"
    );
}

#[test]
fn validate_with_a_target_refuses_a_past_due_date_only_for_a_test_being_published() {
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let dir = course.path().to_str().unwrap();
    let local = |args: &[&str]| {
        let mut cmd = trainer();
        cmd.args(args).arg("--local").arg(data.path());
        run(&mut cmd)
    };
    std::fs::write(
        course.path().join("subjects/networks/test01/test.json"),
        r#"{"title": "Addresses and ports", "due": "2026-11-26 23:00"}"#,
    )
    .unwrap();
    assert!(local(&["sync", dir, "--now", NOW]).ok);
    // Weeks later: networks/test01 is closed but stays in the folder; a draft goes live
    // with a date that has passed.
    let later = "2026-12-20T10:00:00Z";
    assert!(local(&["validate", dir, "--now", later]).ok);
    std::fs::write(
        course
            .path()
            .join("subjects/operating-systems/test02/test.json"),
        r#"{"due": "2026-12-14"}"#,
    )
    .unwrap();
    let out = local(&["validate", dir, "--now", later]);
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr.contains(
            "the course folder has 1 problem:\n  subjects/operating-systems/test02/test.json:1:9: .due: \
             due date 2026-12-14 23:00 CET is not in the future (now 2026-12-20 11:00 CET)"
        ),
        "{out:?}"
    );
}

/// The sample course with its draft published, due 2027-03-01 23:00 (no offset: in the
/// trainer's zone).
fn with_a_test_due_in_march(course: &Path) {
    std::fs::write(
        course.join("subjects/operating-systems/test02/test.json"),
        r#"{"title": "Memory management", "due": "2027-03-01 23:00"}"#,
    )
    .unwrap();
}

fn due_at(objects: &BTreeMap<String, Vec<u8>>, subject: &str, test: &str) -> String {
    let catalog: Catalog = serde_json::from_slice(&objects["_system/catalog.json"]).unwrap();
    let meta = catalog
        .find(
            &SubjectName::parse(subject).unwrap(),
            &TestId::parse(test).unwrap(),
        )
        .unwrap_or_else(|| panic!("{subject}/{test} is in the catalog"));
    meta.due_at.to_rfc3339()
}

#[tokio::test]
async fn sync_into_a_data_dir_started_in_new_york_publishes_due_dates_in_new_york() {
    let data = tempfile::tempdir().unwrap();
    let started = start_and_stop(local_stack(data.path()).args([
        "--time-zone",
        "America/New_York",
        "--now",
        NOW,
    ]));
    assert!(started.ok, "{started:?}");
    let course = copy_of_sample();
    with_a_test_due_in_march(course.path());

    let mut cmd = trainer();
    cmd.arg("sync")
        .arg(course.path())
        .arg("--local")
        .arg(data.path())
        .args(["--now", NOW]);
    let synced = run(&mut cmd);

    assert!(synced.ok, "{synced:?}");
    assert!(
        synced.stdout.contains(
            "publish   operating-systems/test02 \"Memory management\", due 2027-03-01 23:00 EST"
        ),
        "{synced:?}"
    );
    assert_eq!(
        due_at(
            &local_objects(data.path()).await,
            "operating-systems",
            "test02"
        ),
        "2027-03-02T04:00:00+00:00",
        "23:00 in New York"
    );
}

#[tokio::test]
async fn sync_with_another_zone_than_the_data_dirs_is_refused_and_writes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let started = start_and_stop(local_stack(data.path()).args([
        "--time-zone",
        "America/New_York",
        "--now",
        NOW,
    ]));
    assert!(started.ok, "{started:?}");
    let course = copy_of_sample();
    with_a_test_due_in_march(course.path());
    let before = local_objects(data.path()).await;
    let conflict = format!(
        "runs in the time zone America/New_York (recorded in {}), but --time-zone or \
         EWORK_TIME_ZONE asks for Europe/Warsaw",
        data.path().join("stack.json").display()
    );
    let sync = |configure: &dyn Fn(&mut std::process::Command)| {
        let mut cmd = trainer();
        cmd.arg("sync")
            .arg(course.path())
            .arg("--local")
            .arg(data.path())
            .args(["--now", NOW]);
        configure(&mut cmd);
        run(&mut cmd)
    };

    for refused in [
        sync(&|cmd| {
            cmd.args(["--time-zone", "Europe/Warsaw"]);
        }),
        sync(&|cmd| {
            cmd.env("EWORK_TIME_ZONE", "Europe/Warsaw");
        }),
    ] {
        assert!(!refused.ok, "{refused:?}");
        assert!(refused.stderr.contains(&conflict), "{refused:?}");
        assert!(
            refused
                .stderr
                .contains("drop --time-zone and unset EWORK_TIME_ZONE"),
            "{refused:?}"
        );
    }
    assert_eq!(local_objects(data.path()).await, before);

    let same = sync(&|cmd| {
        cmd.args(["--time-zone", "America/New_York"]);
    });
    assert!(same.ok, "{same:?}");
}

#[tokio::test]
async fn a_data_dir_from_before_zones_were_recorded_adopts_the_zone_of_its_first_sync() {
    let data = tempfile::tempdir().unwrap();
    LocalStore::open(data.path()).unwrap();
    let record = data.path().join("stack.json");
    let course = copy_of_sample();
    with_a_test_due_in_march(course.path());
    let sync = |extra: &[&str]| {
        let mut cmd = trainer();
        cmd.arg("sync")
            .arg(course.path())
            .arg("--local")
            .arg(data.path())
            .args(["--now", NOW, "--time-zone", "America/New_York"])
            .args(extra);
        run(&mut cmd)
    };

    let dry = sync(&["--dry-run"]);
    assert!(dry.ok, "{dry:?}");
    assert!(!record.exists(), "a dry run writes nothing");
    let applied = sync(&[]);
    assert!(applied.ok, "{applied:?}");
    assert!(record.exists(), "{applied:?}");
    assert_eq!(
        due_at(
            &local_objects(data.path()).await,
            "operating-systems",
            "test02"
        ),
        "2027-03-02T04:00:00+00:00"
    );

    let started = start_and_stop(local_stack(data.path()).args(["--now", NOW]));
    assert!(started.ok, "{started:?}");
    assert!(
        started.stdout.contains("Time zone: America/New_York"),
        "the stack runs in the zone the dir adopted: {started:?}"
    );
}

#[test]
fn sync_warns_when_right_wrong_at_each_close_would_give_away_a_two_option_answer() {
    let course = copy_of_sample();
    course_support::publish_the_two_option_draft_with_a_late_window(course.path());
    let data = tempfile::tempdir().unwrap();
    let out = run(trainer()
        .arg("sync")
        .arg(course.path())
        .arg("--local")
        .arg(data.path())
        .args(["--now", NOW, "--dry-run"]));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr.contains(course_support::TWO_OPTION_WARNING),
        "{out:?}"
    );
}
