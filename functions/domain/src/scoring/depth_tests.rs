//! `course-sample-depth/` end to end: published, served to a student in their own
//! order, answered through the API, graded by a scoring pass and emailed, with the
//! score worked out by hand.

use super::inspect;
use super::results::TestResults;
use super::{score_pass, RunOptions, ScoringConfig};
use crate::api::{Api, ApiConfig, ApiRequest};
use crate::course::{publish, CourseFiles};
use crate::ids::{StudentId, SubjectName, TestId};
use crate::keys::{KeyRecord, Keyring, PlainKey};
use crate::model::Catalog;
use crate::ports::FixedClock;
use crate::testing::{MemoryMailer, MemoryStore};
use crate::{layout, store_json};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

const DIR: &str = "subjects/operating-systems/test03";

fn sample() -> CourseFiles {
    let mut files = CourseFiles::new();
    files.insert(
        "studentsList.json",
        include_str!("../../../../course-sample-depth/studentsList.json"),
    );
    files.insert(
        format!("{DIR}/questions.json"),
        include_str!(
            "../../../../course-sample-depth/subjects/operating-systems/test03/questions.json"
        ),
    );
    files.insert(
        format!("{DIR}/questionsKey.json"),
        include_str!(
            "../../../../course-sample-depth/subjects/operating-systems/test03/questionsKey.json"
        ),
    );
    files.insert(
        format!("{DIR}/test.json"),
        include_str!("../../../../course-sample-depth/subjects/operating-systems/test03/test.json"),
    );
    files
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn key_for(store: &MemoryStore, student: &StudentId, now: DateTime<Utc>) -> PlainKey {
    let plain = PlainKey::generate();
    let record = KeyRecord::new(student, &plain, now);
    store_json::write(store, &layout::key_record(&record.sha256), &record)
        .await
        .unwrap();
    let ring = Keyring {
        keys: vec![record],
        retired: Vec::new(),
    };
    store_json::write(store, &layout::keyring(student), &ring)
        .await
        .unwrap();
    plain
}

fn request(
    method: &str,
    path: &str,
    key: &PlainKey,
    query: &[(&str, &str)],
    body: Value,
) -> ApiRequest {
    ApiRequest {
        method: method.into(),
        path: path.into(),
        query: query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        api_key: Some(key.expose().into()),
        body: if body.is_null() {
            vec![]
        } else {
            body.to_string().into_bytes()
        },
    }
}

/// The question ids `GET /api/v1/test` serves the key's student, in their order.
async fn served(api: &Api<&MemoryStore, FixedClock>, key: &PlainKey) -> Vec<String> {
    let query = [("subjectName", "operating-systems"), ("testId", "test03")];
    let served = api
        .handle(request("GET", "/api/v1/test", key, &query, Value::Null))
        .await;
    assert_eq!(served.status, 200, "{}", served.body);
    served.body["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["questionId"].as_str().unwrap().to_owned())
        .collect()
}

async fn upload(
    api: &Api<&MemoryStore, FixedClock>,
    key: &PlainKey,
    student: &str,
    answers: Value,
) -> Value {
    let body = json!({"subjectName": "operating-systems", "testId": "test03", "studentId": student, "testResult": answers});
    let uploaded = api
        .handle(request("POST", "/api/v1/test", key, &[], body))
        .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    uploaded.body
}

fn mail_to(mailer: &MemoryMailer, student: &str) -> Option<String> {
    let address = format!("{student}@example.com");
    let mail = mailer
        .sent()
        .into_iter()
        .find(|(to, _)| to.contains(&address))?;
    Some(
        inspect::parse(&mail.1)
            .part("text/plain")
            .unwrap()
            .text()
            .replace("\r\n", "\n"),
    )
}

#[tokio::test]
async fn the_depth_sample_is_served_answered_graded_and_emailed_as_worked_out_by_hand() {
    let now = utc("2026-11-24T10:00:00Z");
    let store = MemoryStore::new();
    publish(&store, &sample(), now, crate::deadline::DEFAULT_TIME_ZONE)
        .await
        .unwrap();
    let student = StudentId::parse("student01").unwrap();
    let key = key_for(&store, &student, now).await;
    let api = Api::new(&store, FixedClock(now), ApiConfig::default());

    let body = json!({"studentId": "student01"});
    let listed = api
        .handle(request("POST", "/api/v1/tests", &key, &[], body))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let listed = &listed.body["body"][0]["tests"][0];
    // 2 + 2 + 1 + 2 of the memory pool x 1.
    assert_eq!(listed["points"], 7);
    // Due Monday 30 Nov 23:00 CET; late until Thursday 3 Dec 23:00 CET.
    assert_eq!(listed["dueAt"], "2026-11-30T23:00:00+01:00");
    assert_eq!(listed["late"]["until"], "2026-12-03T23:00:00+01:00");

    let order = served(&api, &key).await;
    // Questions 1-3 and two of the memory pool (4-7).
    assert_eq!(order.len(), 5, "{order:?}");
    let memory: Vec<&String> = order.iter().filter(|q| q.as_str() >= "4").collect();
    assert_eq!(memory.len(), 2, "{order:?}");

    // By hand (scoring "partial", penalty 0.25):
    // q1 (2 points, key a, c): a -> 2 x (1 - 0)/2 = 1
    // q2 (2 points, weights a .34 b .33 d .33 c -.5): a, b, c -> 2 x 0.17 = 0.34
    // q3 (1 point): a, right -> 1
    // first memory question: b, wrong -> -0.25; second: unanswered -> 0
    // 2.09 of 7 points: 29.9 %, grade 2.09 / 7 x 5 = 1.49 -> 1.
    let answers = json!([
        {"questionId": "1", "answer": ["a"]},
        {"questionId": "2", "answer": ["a", "b", "c"]},
        {"questionId": "3", "answer": "a"},
        {"questionId": memory[0], "answer": "b"},
    ]);
    let uploaded = upload(&api, &key, "student01", answers).await;
    assert_eq!(uploaded["receipt"]["unanswered"], 1);

    // student03 has "extraTime": "24h": own due Tue 1 Dec 23:00 CET. Uploading every
    // key answer on Thu 3 Dec 12:00 CET is 37 h late: 2 started days, 10%/day, so
    // the grade 7/7 x 5 = 5 becomes 5 x 80% = 4 (the floor of 50% is not reached).
    let chloe = StudentId::parse("student03").unwrap();
    let chloe_key = key_for(&store, &chloe, now).await;
    let late_at = utc("2026-12-03T11:00:00Z");
    let late_api = Api::new(&store, FixedClock(late_at), ApiConfig::default());
    let all_right: Vec<Value> = served(&late_api, &chloe_key)
        .await
        .iter()
        .map(|q| match q.as_str() {
            "1" => json!({"questionId": q, "answer": ["a", "c"]}),
            "2" => json!({"questionId": q, "answer": ["a", "b", "d"]}),
            _ => json!({"questionId": q, "answer": "a"}),
        })
        .collect();
    let receipt = upload(&late_api, &chloe_key, "student03", json!(all_right)).await;
    let late = &receipt["receipt"]["late"];
    assert_eq!(
        (&late["daysLate"], &late["penalty"], &late["factor"]),
        (&json!(2), &json!("10%/day"), &json!("80%")),
        "{receipt}"
    );

    let catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(catalog.tests[0].due_at, utc("2026-11-30T22:00:00Z"));
    let mailer = MemoryMailer::default();
    let config = ScoringConfig::new("Ework Scorer <scorer@example.com>", "trainer@example.com");
    let pass = |at: DateTime<Utc>| RunOptions {
        now: at + crate::deadline::GRADING_GRACE + Duration::minutes(1),
        deadline: None,
        dry_run: false,
    };
    // student01's own close (Thu 3 Dec 23:00 CET) has passed, student02's (extension
    // to Wed 2 Dec, so Sat 5 Dec) has not: student01 is graded, but with "feedback":
    // "at-last-close" nobody is emailed yet.
    let first = pass(utc("2026-12-03T22:00:00Z"));
    let summary = score_pass(&store, &mailer, &config, first).await.unwrap();
    assert!(summary.complete);
    let (s, t) = (
        SubjectName::parse("operating-systems").unwrap(),
        TestId::parse("test03").unwrap(),
    );
    let results = TestResults::load(&store, &s, &t).await.unwrap().unwrap();
    assert!(results.scores.contains_key(&student));
    assert!(
        !results.scores.contains_key(&chloe),
        "student03 may still submit"
    );
    assert_eq!(mail_to(&mailer, "student01"), None);

    let last = pass(utc("2026-12-05T22:00:00Z"));
    let summary = score_pass(&store, &mailer, &config, last).await.unwrap();
    assert!(summary.complete);
    let results = TestResults::load(&store, &s, &t).await.unwrap().unwrap();
    let score = &results.scores[&student];
    assert_eq!(score.points.to_string(), "2.09");
    assert_eq!((score.total, score.grade, score.percentage), (7, 1, 29.9));
    let mut graded: Vec<String> = score
        .questions
        .iter()
        .map(|q| q.question_id.to_string())
        .collect();
    let mut given = order.clone();
    graded.sort();
    given.sort();
    assert_eq!(graded, given, "graded on exactly the questions served");
    let stored: Value = serde_json::to_value(&score.questions[0]).unwrap();
    assert_eq!(
        stored,
        json!({"questionId": "1", "given": ["a"], "correct": ["a", "c"], "isCorrect": false, "earned": 0.5, "points": 2})
    );
    let late = &results.scores[&chloe];
    assert_eq!(
        (late.grade, late.late.as_ref().unwrap().grade_on_time),
        (4, 5)
    );

    let text = mail_to(&mailer, "student01").expect("the student is emailed");
    assert!(
        text.contains("Score: 2.09 / 7 points (29.9%)\nGrade: 1 / 5"),
        "{text}"
    );
    assert!(
        text.contains("Correct answer: a, c) Round robin; Shortest job first"),
        "{text}"
    );
    assert!(text.contains("Points:         0.34 / 2"), "{text}");
    let text = mail_to(&mailer, "student03").expect("the late student is emailed");
    assert!(text.contains("Grade: 4 / 5"), "{text}");
    assert!(
        text.contains("penalty 10%/day: grade x 80% (5 -> 4)"),
        "{text}"
    );
}
