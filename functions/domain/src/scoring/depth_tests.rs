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

    let listed = api
        .handle(ApiRequest {
            method: "POST".into(),
            path: "/api/v1/tests".into(),
            query: vec![],
            api_key: Some(key.expose().into()),
            body: json!({"studentId": "student01"}).to_string().into_bytes(),
        })
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    // 2 + 2 + 1 + 2 of the memory pool x 1.
    assert_eq!(listed.body["body"][0]["tests"][0]["points"], 7);

    let served = api
        .handle(ApiRequest {
            method: "GET".into(),
            path: "/api/v1/test".into(),
            query: vec![
                ("subjectName".into(), "operating-systems".into()),
                ("testId".into(), "test03".into()),
            ],
            api_key: Some(key.expose().into()),
            body: vec![],
        })
        .await;
    assert_eq!(served.status, 200, "{}", served.body);
    let order: Vec<String> = served.body["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["questionId"].as_str().unwrap().to_owned())
        .collect();
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
    let body = json!({"subjectName": "operating-systems", "testId": "test03", "studentId": "student01", "testResult": answers});
    let uploaded = api
        .handle(ApiRequest {
            method: "POST".into(),
            path: "/api/v1/test".into(),
            query: vec![],
            api_key: Some(key.expose().into()),
            body: body.to_string().into_bytes(),
        })
        .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    assert_eq!(uploaded.body["receipt"]["unanswered"], 1);

    let catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    let mailer = MemoryMailer::default();
    let config = ScoringConfig::new("Ework Scorer <scorer@example.com>", "trainer@example.com");
    let options = RunOptions {
        now: catalog.tests[0].due_at + crate::deadline::GRADING_GRACE + Duration::minutes(1),
        deadline: None,
        dry_run: false,
    };
    let summary = score_pass(&store, &mailer, &config, options).await.unwrap();
    assert!(summary.complete);

    let (s, t) = (
        SubjectName::parse("operating-systems").unwrap(),
        TestId::parse("test03").unwrap(),
    );
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

    let mail = mailer
        .sent()
        .into_iter()
        .find(|(to, _)| to.iter().any(|a| a == "student01@example.com"))
        .expect("the student is emailed");
    let text = inspect::parse(&mail.1)
        .part("text/plain")
        .unwrap()
        .text()
        .replace("\r\n", "\n");
    assert!(
        text.contains("Score: 2.09 / 7 points (29.9%)\nGrade: 1 / 5"),
        "{text}"
    );
    assert!(
        text.contains("Correct answer: a, c) Round robin; Shortest job first"),
        "{text}"
    );
    assert!(text.contains("Points:         0.34 / 2"), "{text}");
}
