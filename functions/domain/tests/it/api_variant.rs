//! The API and a test with multiple-answer questions, points, shuffle and a pool:
//! each student is served their own questions in their own order, and uploads
//! are checked against them and against each question's shape.

use chrono::{TimeZone, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest, ApiResponse};
use ework_domain::ids::AnswerId;
use ework_domain::model::{Answer, Catalog, KeyEntry, Question, Submission};
use ework_domain::ports::FixedClock;
use ework_domain::testing::MemoryStore;
use ework_domain::{layout, store_json, variant};
use ework_testkit::fixture::{seed_fixture, Fixture};
use serde_json::{json, Value};

/// The fixture's four questions, made into: 1 multiple-answer (a, c) worth 2
/// points, 2 single-answer, 3 and 4 a pool "A" of which each student gets one;
/// shuffled.
async fn depth_course() -> (MemoryStore, Fixture) {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let store = MemoryStore::new();
    let fixture = seed_fixture(&store, 12, now).await.unwrap();
    let (s, t) = (&fixture.subject, &fixture.test);
    let mut questions: Vec<Question> = store_json::read(&store, &layout::questions(s, t))
        .await
        .unwrap()
        .unwrap();
    questions[0].multiple = true;
    questions[0].points = 2;
    questions[2].pool = Some("A".into());
    questions[3].pool = Some("A".into());
    store_json::write(&store, &layout::questions(s, t), &questions)
        .await
        .unwrap();
    let mut key: Vec<KeyEntry> = store_json::read(&store, &layout::answer_key(s, t))
        .await
        .unwrap()
        .unwrap();
    key[0].answer = Answer::Many(vec![id("a"), id("c")]);
    store_json::write(&store, &layout::answer_key(s, t), &key)
        .await
        .unwrap();
    let mut catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    catalog.tests[0].rules.shuffle = true;
    catalog.tests[0].rules.draw.insert("A".into(), 1);
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    (store, fixture)
}

fn id(a: &str) -> AnswerId {
    AnswerId::parse(a).unwrap()
}

fn api(store: &MemoryStore) -> Api<&MemoryStore, FixedClock> {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
    Api::new(store, FixedClock(now), ApiConfig::default())
}

async fn get(store: &MemoryStore, fixture: &Fixture, student: &str) -> ApiResponse {
    api(store)
        .handle(ApiRequest {
            method: "GET".into(),
            path: "/api/v1/test".into(),
            query: vec![
                ("subjectName".into(), fixture.subject.to_string()),
                ("testId".into(), fixture.test.to_string()),
            ],
            api_key: Some(fixture.key_of(student).into()),
            body: vec![],
        })
        .await
}

async fn upload(
    store: &MemoryStore,
    fixture: &Fixture,
    student: &str,
    answers: Value,
) -> ApiResponse {
    api(store)
        .handle(ApiRequest {
            method: "POST".into(),
            path: "/api/v1/test".into(),
            query: vec![],
            api_key: Some(fixture.key_of(student).into()),
            body: json!({"subjectName": fixture.subject, "testId": fixture.test, "studentId": student, "testResult": answers})
                .to_string()
                .into_bytes(),
        })
        .await
}

/// The question ids of a GET body, in order.
fn order(resp: &ApiResponse) -> Vec<String> {
    resp.body["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["questionId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_student_is_served_their_own_questions_in_their_own_stable_order() {
    let (store, fixture) = depth_course().await;
    let mut orders = std::collections::HashSet::new();
    for (student, _) in &fixture.keys {
        let first = get(&store, &fixture, student.as_str()).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let again = get(&store, &fixture, student.as_str()).await;
        assert_eq!(first.body["body"], again.body["body"], "stable per student");
        let got = order(&first);
        // Questions 1 and 2 always, one of the pool.
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.contains(&"1".to_owned()) && got.contains(&"2".to_owned()));
        // The same questions and order the scorer will grade.
        let questions: Vec<Question> =
            store_json::read(&store, &layout::questions(&fixture.subject, &fixture.test))
                .await
                .unwrap()
                .unwrap();
        let catalog: Catalog = store_json::read(&store, &layout::catalog())
            .await
            .unwrap()
            .unwrap();
        let served = variant::served(
            &catalog.tests[0].rules,
            &fixture.subject,
            &fixture.test,
            student,
            &questions,
        );
        assert_eq!(first.body["body"], serde_json::to_value(&served).unwrap());
        orders.insert(got);
    }
    assert!(
        orders.len() > 3,
        "students see different orders: {orders:?}"
    );
}

#[tokio::test]
async fn a_multiple_answer_question_is_flagged_with_its_points_and_nothing_of_the_key() {
    let (store, fixture) = depth_course().await;
    let resp = get(&store, &fixture, "student001").await;
    let body = resp.body["body"].as_array().unwrap();
    let first = body.iter().find(|q| q["questionId"] == "1").unwrap();
    assert_eq!(first["multiple"], true);
    assert_eq!(first["points"], 2);
    let second = body.iter().find(|q| q["questionId"] == "2").unwrap();
    assert!(second.get("multiple").is_none() && second.get("points").is_none());
    let text = resp.body.to_string();
    for secret in ["pool", "weights", "\"answer\"", "key"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn answers_of_the_right_shape_are_stored_as_sent() {
    let (store, fixture) = depth_course().await;
    let served = get(&store, &fixture, "student002").await;
    let pool_question = order(&served)
        .into_iter()
        .find(|q| q == "3" || q == "4")
        .unwrap();
    let answers = json!([
        {"questionId": "1", "answer": ["c", "a"]},
        {"questionId": "2", "answer": "b"},
        {"questionId": pool_question, "answer": "d"},
    ]);
    let resp = upload(&store, &fixture, "student002", answers.clone()).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.body["receipt"]["unanswered"], 0,
        "of the 3 questions given"
    );
    let key = layout::submission(&fixture.subject, &fixture.test, &fixture.keys[1].0);
    let stored: Submission = store_json::read(&store, &key).await.unwrap().unwrap();
    assert_eq!(serde_json::to_value(&stored.test_result).unwrap(), answers);
}

#[tokio::test]
async fn a_wrong_shape_is_a_422_a_student_understands_and_writes_nothing() {
    let (store, fixture) = depth_course().await;
    let served = get(&store, &fixture, "student003").await;
    let not_given = if order(&served).contains(&"3".to_owned()) {
        "4"
    } else {
        "3"
    };
    // Options are named in the order the student sees them.
    let first = served.body["body"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["questionId"] == "1")
        .unwrap();
    let options: Vec<&str> = first["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["answerId"].as_str().unwrap())
        .collect();
    let unknown = format!(
        "answer \"z\" is not an option of question 1 (options: {})",
        options.join(", ")
    );
    let cases = [
        (
            json!([{"questionId": "1", "answer": "a"}]),
            "question 1 has several correct answers: send a list such as [\"a\"], not a single answer",
        ),
        (
            json!([{"questionId": "2", "answer": ["b"]}]),
            "question 2 takes one answer: send one option such as \"b\", not a list",
        ),
        (
            json!([{"questionId": "1", "answer": ["a", "a"]}]),
            "answer \"a\" is listed twice for question 1",
        ),
        (
            json!([{"questionId": "1", "answer": ["a", "z"]}]),
            &*unknown,
        ),
        (
            json!([{"questionId": not_given, "answer": "a"}]),
            &*format!("question {not_given} is not part of test test01"),
        ),
    ];
    for (answers, message) in cases {
        let before = store.snapshot();
        let resp = upload(&store, &fixture, "student003", answers.clone()).await;
        assert_eq!(resp.status, 422, "{answers}: {}", resp.body);
        assert_eq!(resp.body["code"], 422);
        assert_eq!(resp.body["reason"], "unprocessable");
        assert_eq!(resp.body["body"], message, "{answers}");
        assert_eq!(store.snapshot(), before, "{answers}: nothing written");
    }
    // An empty list leaves the question unanswered, as "" does.
    let resp = upload(
        &store,
        &fixture,
        "student003",
        json!([{"questionId": "1", "answer": []}]),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["receipt"]["unanswered"], 3);
}
