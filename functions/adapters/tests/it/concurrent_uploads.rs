//! Many students uploading at once through the local gateway on 127.0.0.1.

use chrono::{TimeZone, Utc};
use ework_adapters::http::local_router;
use ework_adapters::local::LocalStore;
use ework_domain::api::{Api, ApiConfig};
use ework_domain::ports::{FixedClock, ObjectStore};
use ework_testkit::fixture::seed_fixture;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const STUDENTS: usize = 100;
const UPLOADS_PER_STUDENT: usize = 5;

/// The n-th distinct answer set for a student.
fn answers(n: usize) -> Value {
    let letters = ["a", "b", "c", "d"];
    Value::Array(
        (0..4)
            .map(|q| json!({"questionId": (q + 1).to_string(), "answer": letters[(n / 4usize.pow(q as u32)) % 4]}))
            .collect(),
    )
}

async fn start() -> (
    LocalStore,
    String,
    ework_testkit::fixture::Fixture,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let fixture = seed_fixture(&store, STUDENTS, now).await.unwrap();
    let api = Arc::new(Api::new(
        store.clone(),
        FixedClock(now),
        ApiConfig::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, local_router(api)).await });
    (store, url, fixture, dir)
}

async fn post(client: &reqwest::Client, url: &str, key: &str, student: &str, n: usize) -> u16 {
    let body = json!({"subjectName": "operating-systems", "testId": "test01", "studentId": student, "testResult": answers(n)});
    client
        .post(format!("{url}/api/v1/test"))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn stored(store: &LocalStore, student: &str) -> Value {
    let key = ework_domain::layout::ObjectKey::parse(&format!(
        "operating-systems/test01/{student}/testResult.json"
    ))
    .unwrap();
    let submission: Value =
        serde_json::from_slice(&store.get(&key).await.unwrap().expect("stored"))
            .expect("not corrupt");
    submission["testResult"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_racing_uploads_from_a_hundred_students_all_land_whole() {
    let (store, url, fixture, _dir) = start().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(600)
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for (id, key) in &fixture.keys {
        for n in 0..UPLOADS_PER_STUDENT {
            let (client, url, key, id) = (
                client.clone(),
                url.clone(),
                key.expose().to_string(),
                id.to_string(),
            );
            tasks.push(tokio::spawn(async move {
                post(&client, &url, &key, &id, n).await
            }));
        }
    }
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_default() += 1;
    }
    assert_eq!(
        statuses,
        HashMap::from([(200, STUDENTS * UPLOADS_PER_STUDENT)])
    );

    let listed = store.list("operating-systems/test01/").await.unwrap();
    let results: Vec<_> = listed
        .iter()
        .filter(|o| o.key.as_str().ends_with("/testResult.json"))
        .collect();
    assert_eq!(
        results.len(),
        STUDENTS,
        "exactly one stored result per student"
    );
    for (id, _) in &fixture.keys {
        let got = stored(&store, id.as_str()).await;
        assert!(
            (0..UPLOADS_PER_STUDENT).any(|n| answers(n) == got),
            "{id} holds one of its own uploads, whole"
        );
    }
    // Every object, receipts included, decrypts and parses.
    for info in &listed {
        let bytes = store.get(&info.key).await.unwrap().unwrap();
        serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|e| panic!("{} is corrupt: {e}", info.key));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_accepted_resubmission_is_the_one_kept() {
    let (store, url, fixture, _dir) = start().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for (i, (id, key)) in fixture.keys.iter().enumerate() {
        let (client, url, key, id) = (
            client.clone(),
            url.clone(),
            key.expose().to_string(),
            id.to_string(),
        );
        // Each student resubmits in sequence while the other 99 do the same.
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            for n in 0..3 {
                last = i * 3 + n;
                assert_eq!(post(&client, &url, &key, &id, last).await, 200);
            }
            (id, last)
        }));
    }
    for t in tasks {
        let (id, last) = t.await.unwrap();
        assert_eq!(
            stored(&store, &id).await,
            answers(last),
            "{id} keeps its last upload"
        );
    }
}

/// Rounds of one student uploading 2 or 50 different answer sets at once: the
/// stored answers and the stored receipt always agree, the stored receipt is the one
/// the last writer was given, and of the first uploads exactly one says it replaced
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_uploads_by_one_student_leave_answers_and_receipt_agreeing() {
    use ework_domain::model::{Receipt, Submission};
    let (store, url, fixture, _dir) = start().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let rounds: Vec<usize> = [2; 20].into_iter().chain([50; 6]).collect();
    for (round, parallel) in rounds.into_iter().enumerate() {
        let (id, key) = &fixture.keys[round];
        let uploads = (0..parallel).map(|n| {
            let body = json!({"subjectName": "operating-systems", "testId": "test01", "studentId": id.as_str(), "testResult": answers(n)});
            let request = client
                .post(format!("{url}/api/v1/test"))
                .header("x-api-key", key.expose())
                .json(&body);
            async move {
                let resp: Value = request.send().await.unwrap().json().await.unwrap();
                assert_eq!(resp["code"], 200, "{resp}");
                serde_json::from_value::<Receipt>(resp["receipt"].clone()).unwrap()
            }
        });
        let given = futures::future::join_all(uploads).await;
        let submission_key = ework_domain::layout::ObjectKey::parse(&format!(
            "operating-systems/test01/{id}/testResult.json"
        ))
        .unwrap();
        let bytes = store.get(&submission_key).await.unwrap().unwrap();
        let stored: Submission = serde_json::from_slice(&bytes).unwrap();
        let receipt = stored
            .receipt
            .expect("the receipt is stored with the answers");
        assert!(receipt.describes(&stored.test_result), "round {round}");
        assert!(
            given.contains(&receipt),
            "round {round}: a receipt some upload was given"
        );
        let firsts = given.iter().filter(|r| !r.replaced).count();
        assert_eq!(firsts, 1, "round {round}: exactly one first upload");
    }
}
