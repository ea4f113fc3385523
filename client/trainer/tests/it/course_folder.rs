//! The course folder as the original project laid it out (`files/` with the roster at
//! `studentsList/studentsList.json`) through `validate` and `sync`, and what `sync`
//! says about a test whose questions change after students submitted.

use crate::course_support::{copy_of_sample, run, sample_dir, trainer, NOW};
use ework_adapters::local::LocalStore;
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::layout;
use ework_domain::model::Roster;
use ework_domain::ports::FixedClock;
use ework_domain::store_json;
use std::path::Path;

/// The sample course laid out as the original project's `files/` folder.
fn original_files_folder() -> tempfile::TempDir {
    let course = copy_of_sample();
    let roster = course.path().join("studentsList");
    std::fs::create_dir(&roster).unwrap();
    std::fs::rename(
        course.path().join("studentsList.json"),
        roster.join("studentsList.json"),
    )
    .unwrap();
    course
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn the_original_files_folder_validates_and_syncs_as_it_is() {
    let course = original_files_folder();
    let valid = run(trainer().args(["validate", arg(course.path()), "--now", NOW]));
    assert!(valid.ok, "{valid:?}");
    assert!(valid.stdout.contains("is valid: 4 student(s)"), "{valid:?}");

    let data = tempfile::tempdir().unwrap();
    let synced = run(trainer().args([
        "sync",
        arg(course.path()),
        "--local",
        arg(data.path()),
        "--now",
        NOW,
    ]));
    assert!(synced.ok, "{synced:?}");
    assert!(
        synced.stdout.contains("add       student student04"),
        "{synced:?}"
    );
    let store = LocalStore::open(data.path()).unwrap();
    let roster: Roster = store_json::read(&store, &layout::roster())
        .await
        .unwrap()
        .expect("the roster is published");
    assert_eq!(roster.0.len(), 4);

    // The same folder again changes nothing.
    let again = run(trainer().args([
        "sync",
        arg(course.path()),
        "--local",
        arg(data.path()),
        "--now",
        NOW,
    ]));
    assert!(
        again.ok && again.stdout.contains("Nothing to change"),
        "{again:?}"
    );
}

#[test]
fn a_problem_in_the_original_roster_is_reported_at_its_real_path() {
    let course = original_files_folder();
    std::fs::write(
        course.path().join("studentsList/studentsList.json"),
        "[{\"student_id\": \"student01\", \"email\": \"not an address\"}]",
    )
    .unwrap();
    let out = run(trainer().args(["validate", arg(course.path()), "--now", NOW]));
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr.contains("\n  studentsList/studentsList.json:1:"),
        "{out:?}"
    );
    let data = tempfile::tempdir().unwrap();
    let out = run(trainer().args([
        "sync",
        arg(course.path()),
        "--local",
        arg(data.path()),
        "--now",
        NOW,
    ]));
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr.contains("\n  studentsList/studentsList.json:1:"),
        "{out:?}"
    );
}

#[test]
fn a_folder_with_both_rosters_is_refused() {
    let course = original_files_folder();
    std::fs::copy(
        sample_dir().join("studentsList.json"),
        course.path().join("studentsList.json"),
    )
    .unwrap();
    let out = run(trainer().args(["validate", arg(course.path())]));
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr
            .contains("has both studentsList.json and studentsList/studentsList.json"),
        "{out:?}"
    );
}

#[tokio::test]
async fn sync_says_how_many_submissions_a_test_with_changed_questions_already_has() {
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let local = |args: &[&str]| {
        let mut cmd = trainer();
        cmd.args(args).arg("--local").arg(data.path());
        run(&mut cmd)
    };
    assert!(local(&["sync", arg(course.path()), "--now", NOW]).ok);
    let issued = local(&["keys", "issue", "--missing"]);
    let key = issued
        .stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next()? == "student01").then(|| words.next().map(str::to_owned))?
        })
        .next()
        .expect("a key for student01");
    let api = Api::new(
        LocalStore::open(data.path()).unwrap(),
        FixedClock(chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc()),
        ApiConfig::default(),
    );
    let response = api
        .handle(ApiRequest {
            method: "POST".into(),
            path: "/api/v1/test".into(),
            api_key: Some(key),
            body: br#"{"subjectName": "operating-systems", "testId": "test01", "studentId": "student01",
                       "testResult": [{"questionId": "1", "answer": "a"}]}"#
                .to_vec(),
            ..ApiRequest::default()
        })
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);

    let questions = course
        .path()
        .join("subjects/operating-systems/test01/questions.json");
    let text = std::fs::read_to_string(&questions).unwrap();
    std::fs::write(
        &questions,
        text.replace("What is the kernel?", "What is an operating system kernel?"),
    )
    .unwrap();
    let plan = local(&["sync", arg(course.path()), "--now", NOW, "--dry-run"]);
    assert!(plan.ok, "{plan:?}");
    assert!(
        plan.stdout
            .contains("update    operating-systems/test01: questions changed"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("Note: operating-systems/test01 has 1 submission(s) already"),
        "{plan:?}"
    );
}
