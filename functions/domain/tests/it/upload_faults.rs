//! Uploads while the store fails a fifth of its calls (throttling, timeouts that
//! may or may not have written, 500s).

use chrono::{TimeZone, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::layout::ObjectKey;
use ework_domain::model::Submission;
use ework_domain::ports::{FixedClock, ObjectStore};
use ework_domain::testing::{BeforeCall, Call, Hooked, MemoryStore};
use ework_testkit::faults::{FaultPlan, FaultyStore};
use ework_testkit::fixture::seed_fixture;
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
            let parsed = now_stored.as_ref().map(|b| {
                let stored: Value = serde_json::from_slice(b).expect("never corrupt");
                stored["testResult"].clone()
            });
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

/// Never lets the `at`-th store call through: the upload stalls there and is
/// dropped, as a killed process would be.
struct DiesAt {
    at: usize,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl BeforeCall for DiesAt {
    async fn before(&self, _call: Call, _key: &str) {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == self.at {
            std::future::pending::<()>().await;
        }
    }
}

#[tokio::test]
async fn an_upload_killed_at_any_store_call_leaves_answers_and_receipt_agreeing() {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let first = json!([{"questionId": "1", "answer": "a"}]);
    let second = json!([{"questionId": "1", "answer": "b"}, {"questionId": "2", "answer": "c"}]);
    let mut kills = 0;
    for at in 0.. {
        let memory = MemoryStore::new();
        let fixture = seed_fixture(&memory, 1, now).await.unwrap();
        let (id, key) = &fixture.keys[0];
        let api = Api::new(&memory, FixedClock(now), ApiConfig::default());
        let stored_first = api
            .handle(upload(key.expose(), id.as_str(), first.clone()))
            .await;
        assert_eq!(stored_first.status, 200);
        // A resubmission killed at its `at`-th store call.
        let dying = Hooked {
            inner: &memory,
            hook: DiesAt {
                at,
                calls: Default::default(),
            },
        };
        let api = Api::new(&dying, FixedClock(now), ApiConfig::default());
        let request = upload(key.expose(), id.as_str(), second.clone());
        let finished =
            tokio::time::timeout(std::time::Duration::from_millis(100), api.handle(request))
                .await
                .is_ok();
        let submission =
            ObjectKey::parse(&format!("operating-systems/test01/{id}/testResult.json")).unwrap();
        let stored: Submission =
            serde_json::from_slice(&memory.get(&submission).await.unwrap().unwrap()).unwrap();
        let receipt = stored
            .receipt
            .expect("a receipt is stored with the answers");
        assert!(
            receipt.describes(&stored.test_result),
            "killed at call {at}"
        );
        let answers = serde_json::to_value(&stored.test_result).unwrap();
        assert!(
            answers == first || answers == second,
            "killed at call {at}: {answers}"
        );
        if finished {
            assert_eq!(answers, second, "a finished upload is stored");
            break;
        }
        kills += 1;
    }
    assert!(
        kills >= 4,
        "the upload was killed at each of its {kills} store calls"
    );
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct HandClock(std::sync::Arc<std::sync::Mutex<chrono::DateTime<Utc>>>);

impl HandClock {
    fn set(&self, t: chrono::DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

impl ework_domain::ports::Clock for HandClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Writes of submissions wait at a gate until the test opens it.
#[derive(Default)]
struct Gate {
    reached: tokio::sync::Notify,
    open: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl BeforeCall for Gate {
    async fn before(&self, call: Call, key: &str) {
        if call.writes() && key.ends_with("/testResult.json") {
            self.reached.notify_one();
            self.open.notified().await;
        }
    }
}

/// The exact interleaving at the deadline: an upload passes its deadline check,
/// the weekly pass runs at the deadline instant, then the upload's write lands and
/// the student gets a 200. The acknowledged answers must still be graded and
/// emailed: the pass at the deadline leaves the test alone, the pass after the
/// grace grades it.
#[tokio::test]
async fn answers_acknowledged_at_the_deadline_are_graded_whatever_the_interleaving() {
    use ework_domain::deadline::GRADING_GRACE;
    use ework_domain::scoring::{score_pass, RunOptions, ScoringConfig};
    use ework_domain::testing::MemoryMailer;
    let published = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let memory = MemoryStore::new();
    let fixture = seed_fixture(&memory, 2, published).await.unwrap();
    let due = fixture.due_at;
    let clock = HandClock(std::sync::Arc::new(std::sync::Mutex::new(
        due - chrono::Duration::seconds(1),
    )));
    let gated = Hooked {
        inner: &memory,
        hook: Gate::default(),
    };
    let api = Api::new(&gated, clock.clone(), ApiConfig::default());
    let (id, key) = &fixture.keys[0];
    let answers = json!([{"questionId": "1", "answer": "b"}]);
    let upload = api.handle(upload(key.expose(), id.as_str(), answers));
    tokio::pin!(upload);

    // 1. The upload checks the deadline (one second left) and stops at its write.
    tokio::select! {
        _ = &mut upload => panic!("the write should wait at the gate"),
        () = gated.hook.reached.notified() => {}
    }
    // 2. The schedule fires at the deadline instant and a pass runs.
    clock.set(due);
    let mailer = MemoryMailer::default();
    let config = ScoringConfig::new("scorer@example.com", "trainer@example.com");
    let at = |now| RunOptions {
        now,
        deadline: None,
        dry_run: false,
    };
    let early = score_pass(&memory, &mailer, &config, at(due))
        .await
        .unwrap();
    // 3. The write lands; the student holds a 200 and a receipt.
    gated.hook.open.notify_one();
    let response = upload.await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(response.body["receipt"]["sha256"].is_string());
    assert!(
        early.scored.is_empty(),
        "nothing is graded inside the grace"
    );

    // 4. The pass after the grace grades and emails the acknowledged answers.
    let summary = score_pass(&memory, &mailer, &config, at(due + GRADING_GRACE))
        .await
        .unwrap();
    assert!(
        summary.scored.iter().any(|s| &s.student_id == id),
        "the acknowledged submission is graded: {:?}",
        summary.scored
    );
    let address = format!("{id}@example.com");
    assert!(
        summary.sent.iter().any(|s| s.to.contains(&address)),
        "{:?}",
        summary.sent
    );
}

/// An upload that checked the deadline but reaches its write only once the scorer
/// may have started (half the grace later) is refused and writes nothing, rather
/// than acknowledged and never graded.
#[tokio::test]
async fn an_upload_that_reaches_its_write_after_grading_may_have_begun_is_refused() {
    use ework_domain::deadline::GRADING_GRACE;
    let published = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let memory = MemoryStore::new();
    let fixture = seed_fixture(&memory, 1, published).await.unwrap();
    let due = fixture.due_at;
    let clock = HandClock(std::sync::Arc::new(std::sync::Mutex::new(
        due - chrono::Duration::seconds(1),
    )));
    // The clock jumps while the upload reads the questions, after its deadline check.
    struct Jump {
        clock: HandClock,
        to: chrono::DateTime<Utc>,
    }
    #[async_trait::async_trait]
    impl BeforeCall for Jump {
        async fn before(&self, call: Call, key: &str) {
            if call == Call::Get && key.ends_with("/questions.json") {
                self.clock.set(self.to);
            }
        }
    }
    let slow = Hooked {
        inner: &memory,
        hook: Jump {
            clock: clock.clone(),
            to: due + GRADING_GRACE / 2,
        },
    };
    let api = Api::new(&slow, clock, ApiConfig::default());
    let (id, key) = &fixture.keys[0];
    let before = memory.snapshot();
    let response = api
        .handle(upload(
            key.expose(),
            id.as_str(),
            json!([{"questionId": "1", "answer": "b"}]),
        ))
        .await;
    assert_eq!(response.status, 403, "{}", response.body);
    assert_eq!(response.body["reason"], "test_closed");
    assert_eq!(memory.snapshot(), before, "nothing was written");
}
