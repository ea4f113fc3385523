//! Uploads while the store fails a fifth of its calls (throttling, timeouts that
//! may or may not have written, 500s).

use chrono::{TimeZone, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::layout::ObjectKey;
use ework_domain::ports::{FixedClock, ObjectStore};
use ework_domain::testing::{seed_fixture, FaultPlan, FaultyStore, MemoryStore};
use serde_json::{json, Value};

fn upload(key: &str, student: &str, answers: Value) -> ApiRequest {
    ApiRequest {
        method: "POST".into(),
        path: "/api/v1/test".into(),
        query: vec![],
        api_key: Some(key.into()),
        body: json!({"subjectName": "operating-systems", "testId": "test01", "studentId": student, "testResult": answers})
            .to_string()
            .into_bytes(),
    }
}

#[tokio::test]
async fn with_a_fifth_of_store_calls_failing_200_means_stored_and_4xx_means_untouched() {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let memory = MemoryStore::new();
    let fixture = seed_fixture(&memory, 20, now).await.unwrap();
    let store = FaultyStore {
        inner: &memory,
        plan: FaultPlan::new(0.2, 7),
    };
    let api = Api::new(&store, FixedClock(now), ApiConfig::default());
    let letters = ["a", "b", "c", "d"];
    let (mut ok, mut unavailable, mut refused) = (0, 0, 0);
    for round in 0..10 {
        for (i, (id, key)) in fixture.keys.iter().enumerate() {
            let submission =
                ObjectKey::parse(&format!("operating-systems/test01/{id}/testResult.json"))
                    .unwrap();
            let previous = memory.get(&submission).await.unwrap();
            let before = memory.snapshot();
            // Every third request is bad input (an answer that is not an option).
            let bad = (round + i) % 3 == 0;
            let answer = if bad { "z" } else { letters[(round + i) % 4] };
            let answers =
                json!([{"questionId": "1", "answer": answer}, {"questionId": "2", "answer": "b"}]);
            let resp = api
                .handle(upload(key.expose(), id.as_str(), answers.clone()))
                .await;
            let now_stored = memory.get(&submission).await.unwrap();
            let parsed = now_stored
                .as_ref()
                .map(|b| serde_json::from_slice::<Value>(b).expect("never corrupt"));
            match resp.status {
                200 => {
                    ok += 1;
                    assert!(!bad);
                    assert_eq!(parsed, Some(answers), "a 200 means the answers are stored");
                }
                422 => {
                    refused += 1;
                    assert!(bad);
                    assert_eq!(memory.snapshot(), before, "a refused upload writes nothing");
                }
                503 => {
                    unavailable += 1;
                    // Retryable: either nothing changed, or the new answers landed whole.
                    let unchanged = now_stored == previous;
                    assert!(unchanged || parsed == Some(answers), "503 left {parsed:?}");
                    assert!(resp.body["body"].as_str().unwrap().contains("try again"));
                }
                other => panic!("unexpected status {other}: {}", resp.body),
            }
        }
    }
    assert!(
        store.plan.injected() > 20,
        "faults were injected: {}",
        store.plan.injected()
    );
    assert!(
        ok > 20 && unavailable > 10 && refused > 10,
        "ok {ok}, 503 {unavailable}, 422 {refused}"
    );
    println!(
        "{ok} stored, {unavailable} answered 503, {refused} refused; {} faults injected",
        store.plan.injected()
    );
}
