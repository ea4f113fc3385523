//! The emails of issue 13's features, from real passes over `course-sample-depth/`
//! (its feedback set back to the default `at-own-close`, so answers are first
//! withheld, then sent): a result with multiple-answer, partly correct questions
//! worth several points while other windows are open; a late result with its
//! penalty; the correct answers once every window closed; and a corrected email
//! after the key changed and the test was rescored.

use chrono::{DateTime, Duration, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::course::{self, CourseFiles, SyncOptions};
use ework_domain::deadline::{DEFAULT_TIME_ZONE, GRADING_GRACE};
use ework_domain::ids::StudentId;
use ework_domain::keys::{self, PlainKey};
use ework_domain::ports::FixedClock;
use ework_domain::scoring::inspect;
use ework_domain::scoring::{score_pass, RunOptions, ScoringConfig};
use ework_domain::testing::{MemoryMailer, MemoryStore};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

type Error = Box<dyn std::error::Error>;

const DIR: &str = "subjects/operating-systems/test03";

macro_rules! sample {
    ($path:literal) => {
        include_str!(concat!("../../../../course-sample-depth/", $path))
    };
}

/// The depth sample, with `key` as its answer key and the default feedback.
fn files(key: &str) -> Result<CourseFiles, Error> {
    let mut test: Value =
        serde_json::from_str(sample!("subjects/operating-systems/test03/test.json"))?;
    test.as_object_mut().ok_or("test.json")?.remove("feedback");
    let mut files = CourseFiles::new();
    files.insert("studentsList.json", sample!("studentsList.json"));
    files.insert(
        format!("{DIR}/questions.json"),
        sample!("subjects/operating-systems/test03/questions.json"),
    );
    files.insert(format!("{DIR}/questionsKey.json"), key.to_owned());
    files.insert(format!("{DIR}/test.json"), test.to_string());
    Ok(files)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a valid instant")
        .with_timezone(&Utc)
}

/// A student's answers: `pick` chooses per question id of what they were served.
async fn answer(
    store: &MemoryStore,
    student: &str,
    now: DateTime<Utc>,
    pick: fn(&str) -> Option<Value>,
) -> Result<(), Error> {
    let id = StudentId::parse(student)?;
    let key = PlainKey::generate();
    keys::issue(store, &id, &key, now, None).await?;
    let api = Api::new(store, FixedClock(now), ApiConfig::default());
    let request = |method: &str, query: Vec<(String, String)>, body: Vec<u8>| ApiRequest {
        method: method.into(),
        path: "/api/v1/test".into(),
        query,
        api_key: Some(key.expose().into()),
        body,
    };
    let query = vec![
        ("subjectName".into(), "operating-systems".into()),
        ("testId".into(), "test03".into()),
    ];
    let served = api.handle(request("GET", query, vec![])).await;
    let answers: Vec<Value> = served.body["body"]
        .as_array()
        .ok_or("served questions")?
        .iter()
        .filter_map(|q| {
            let qid = q["questionId"].as_str()?;
            pick(qid).map(|a| json!({"questionId": qid, "answer": a}))
        })
        .collect();
    let body = json!({"subjectName": "operating-systems", "testId": "test03",
        "studentId": student, "testResult": answers});
    let uploaded = api
        .handle(request("POST", vec![], body.to_string().into_bytes()))
        .await;
    if uploaded.status != 200 {
        return Err(format!("{student}'s upload: {}", uploaded.body).into());
    }
    Ok(())
}

/// One scoring pass at `close` + the grace; the emails it sent.
async fn pass(store: &MemoryStore, close: &str) -> Result<Vec<(Vec<String>, Vec<u8>)>, Error> {
    let mailer = MemoryMailer::default();
    let config = ScoringConfig::new("Ework Scorer <scorer@example.com>", "trainer@example.com");
    let options = RunOptions {
        now: at(close) + GRADING_GRACE + Duration::minutes(1),
        deadline: None,
        dry_run: false,
    };
    score_pass(store, &mailer, &config, options).await?;
    Ok(mailer.sent())
}

/// Writes the HTML part of the email to `student` among `sent` as `name`.html.
fn keep(
    sent: &[(Vec<String>, Vec<u8>)],
    student: &str,
    out: &Path,
    name: &str,
) -> Result<PathBuf, Error> {
    let address = format!("{student}@example.com");
    let (_, raw) = sent
        .iter()
        .find(|(to, _)| to.contains(&address))
        .ok_or_else(|| format!("no email to {student} for {name}"))?;
    let html = inspect::parse(raw)
        .part("text/html")
        .ok_or("no HTML part")?
        .text();
    let path = out.join(format!("{name}.html"));
    std::fs::write(&path, html)?;
    Ok(path)
}

/// Runs the passes and writes the four emails; returns their paths.
pub async fn write(out: &Path) -> Result<Vec<PathBuf>, Error> {
    let store = MemoryStore::new();
    let key = sample!("subjects/operating-systems/test03/questionsKey.json");
    // Published first with a wrong key for question 3 (c instead of a), corrected
    // after the test was graded.
    let wrong = key.replace(
        r#"{"questionId": "3", "answer": "a"}"#,
        r#"{"questionId": "3", "answer": "c"}"#,
    );
    if wrong == key {
        return Err("the depth sample's key of question 3 is not as expected".into());
    }
    let opened = at("2026-11-24T10:00:00Z");
    course::publish(&store, &files(&wrong)?, opened, DEFAULT_TIME_ZONE).await?;
    // student01 on time: question 1 half right, 2 partly right with a wrong
    // choice, 3 right (wrong by the first key), one memory question wrong and
    // one left out.
    answer(&store, "student01", opened, |q| match q {
        "1" => Some(json!(["a"])),
        "2" => Some(json!(["a", "b", "c"])),
        "3" => Some(json!("a")),
        "4" | "5" => Some(json!("b")),
        _ => None,
    })
    .await?;
    // student03 (extraTime 24h, due Tue 1 Dec) two started days late, every
    // answer right (question 3 wrong by the first key).
    answer(
        &store,
        "student03",
        at("2026-12-03T11:00:00Z"),
        |q| match q {
            "1" => Some(json!(["a", "c"])),
            "2" => Some(json!(["a", "b", "d"])),
            _ => Some(json!("a")),
        },
    )
    .await?;
    // student02 inside their extension.
    answer(
        &store,
        "student02",
        at("2026-12-02T12:00:00Z"),
        |q| match q {
            "1" => Some(json!(["a", "c", "d"])),
            "2" => Some(json!(["a", "b", "d"])),
            _ => Some(json!("a")),
        },
    )
    .await?;

    let mut wrote = Vec::new();
    // student01's own close (Thu 3 Dec 23:00 CET): student02 may still submit.
    let sent = pass(&store, "2026-12-03T22:00:00Z").await?;
    wrote.push(keep(&sent, "student01", out, "student-withheld")?);
    // student03's own close, a day later.
    let sent = pass(&store, "2026-12-04T22:00:00Z").await?;
    wrote.push(keep(&sent, "student03", out, "student-late")?);
    // student02's close: every window has closed, the answers follow.
    let sent = pass(&store, "2026-12-05T22:00:00Z").await?;
    wrote.push(keep(&sent, "student01", out, "student-answers")?);
    // The key of question 3 corrected, synced with rescore, graded again.
    let options = SyncOptions {
        rescore: true,
        dry_run: false,
    };
    let now = at("2026-12-06T09:00:00Z");
    course::sync(&store, &files(key)?, now, DEFAULT_TIME_ZONE, options).await?;
    let sent = pass(&store, "2026-12-06T09:00:00Z").await?;
    // student03's grade goes from 3 to 4 (late: 5 x 80%), with the late note.
    wrote.push(keep(&sent, "student03", out, "student-corrected")?);
    Ok(wrote)
}
