//! The three endpoints at a store's real latency: every store request takes
//! `--latency-ms` (S3 answers in 10-30 ms), so what a handler costs is its
//! sequential round trips. Prints requests per call and p50/p95 per endpoint, warm
//! (one API instance reused, as a warm Lambda) and cold (a fresh instance per call),
//! for 2 subjects x 5 tests and 5 x 10, beside the original handlers' request counts.
//!
//! Run: `cargo run --release -p ework-domain --example api-latency -- --latency-ms 20`

use chrono::{Duration, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ids::{StudentId, SubjectName, TestId};
use ework_domain::keys::{self, Keyring, PlainKey};
use ework_domain::layout;
use ework_domain::model::{Catalog, Roster, Student, TestMeta};
use ework_domain::ports::FixedClock;
use ework_domain::store_json;
use ework_domain::testing::MemoryStore;
use ework_testkit::latency::slow_store;
use serde_json::json;
use std::time::Instant;

const STUDENTS: usize = 20;
const CALLS: usize = 60;

struct Course {
    store: MemoryStore,
    keys: Vec<(StudentId, PlainKey)>,
    tests: Vec<(SubjectName, TestId)>,
}

async fn seed(subjects: usize, tests: usize) -> Course {
    let store = MemoryStore::new();
    let now = Utc::now();
    let mut catalog = Catalog::default();
    let mut all = Vec::new();
    for s in 0..subjects {
        let subject = SubjectName::parse(format!("subject{s:02}")).unwrap();
        for t in 0..tests {
            let test = TestId::parse(format!("test{t:02}")).unwrap();
            catalog.tests.push(TestMeta {
                subject: subject.clone(),
                test_id: test.clone(),
                title: format!("Test {t}"),
                published_at: now,
                due_at: now + Duration::days(7),
                windows: Default::default(),
                rules: Default::default(),
            });
            let questions = json!([
                {"questionId": "1", "question": "One?", "answers": [{"answerId": "a", "answerBody": "A"}, {"answerId": "b", "answerBody": "B"}]},
                {"questionId": "2", "question": "Two?", "answers": [{"answerId": "a", "answerBody": "A"}, {"answerId": "b", "answerBody": "B"}]},
            ]);
            let key =
                json!([{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "b"}]);
            store_json::write(&store, &layout::questions(&subject, &test), &questions)
                .await
                .unwrap();
            store_json::write(&store, &layout::answer_key(&subject, &test), &key)
                .await
                .unwrap();
            all.push((subject.clone(), test));
        }
    }
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    let mut roster = Vec::new();
    let mut issued = Vec::new();
    for i in 0..STUDENTS {
        let id = StudentId::parse(format!("student{i:03}")).unwrap();
        roster.push(Student {
            student_id: id.clone(),
            email: format!("{id}@example.com"),
            name: None,
            subjects: None,
            extra_time: None,
            extra: Default::default(),
        });
        let plain = PlainKey::generate();
        let record = keys::KeyRecord::new(&id, &plain, now);
        store_json::write(&store, &layout::key_record(&record.sha256), &record)
            .await
            .unwrap();
        let ring = Keyring {
            keys: vec![record],
            retired: Vec::new(),
        };
        store_json::write(&store, &layout::keyring(&id), &ring)
            .await
            .unwrap();
        issued.push((id, plain));
    }
    store_json::write(&store, &layout::roster(), &Roster(roster))
        .await
        .unwrap();
    Course {
        store,
        keys: issued,
        tests: all,
    }
}

fn request(course: &Course, endpoint: &str, n: usize) -> ApiRequest {
    let (student, key) = &course.keys[n % course.keys.len()];
    let (subject, test) = &course.tests[n % course.tests.len()];
    let (method, path, query, body) = match endpoint {
        "list" => (
            "POST",
            "/api/v1/tests",
            vec![],
            json!({"studentId": student}),
        ),
        "get" => (
            "GET",
            "/api/v1/test",
            vec![
                ("subjectName".to_owned(), subject.to_string()),
                ("testId".to_owned(), test.to_string()),
                ("studentId".to_owned(), student.to_string()),
            ],
            json!(null),
        ),
        _ => (
            "POST",
            "/api/v1/test",
            vec![],
            json!({"subjectName": subject, "testId": test, "studentId": student,
                   "testResult": [{"questionId": "1", "answer": "a"}]}),
        ),
    };
    ApiRequest {
        method: method.into(),
        path: path.into(),
        query,
        api_key: Some(key.expose().to_owned()),
        body: if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        },
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Times `CALLS` calls of one endpoint; returns (requests per call, p50, p95) in ms.
async fn measure(
    course: &Course,
    endpoint: &str,
    latency: std::time::Duration,
    warm: bool,
) -> (f64, f64, f64) {
    let slow = slow_store(&course.store, latency);
    let clock = FixedClock(Utc::now());
    let shared = Api::new(&slow, clock, ApiConfig::default());
    // A warm instance has served each test before.
    for n in 0..course.tests.len() {
        let status = shared.handle(request(course, endpoint, n)).await.status;
        assert_eq!(status, 200, "{endpoint} answers 200");
    }
    let before = slow.hook.requests();
    let mut times = Vec::with_capacity(CALLS);
    for n in 1..=CALLS {
        let started = Instant::now();
        let response = if warm {
            shared.handle(request(course, endpoint, n)).await
        } else {
            Api::new(&slow, clock, ApiConfig::default())
                .handle(request(course, endpoint, n))
                .await
        };
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(response.status, 200, "{}", response.body);
    }
    let per_call = (slow.hook.requests() - before) as f64 / CALLS as f64;
    times.sort_by(f64::total_cmp);
    (per_call, percentile(&times, 0.5), percentile(&times, 0.95))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let latency_ms: u64 = args
        .iter()
        .position(|a| a == "--latency-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let latency = std::time::Duration::from_millis(latency_ms);
    println!(
        "API handlers, {latency_ms} ms per store request, {CALLS} calls each, {STUDENTS} students"
    );
    println!(
        "{:<8} {:>6} {:>5} {:>13} {:>9} {:>9} {:>19}",
        "endpoint", "tests", "cache", "requests/call", "p50 ms", "p95 ms", "original requests"
    );
    for (subjects, tests) in [(2, 5), (5, 10)] {
        let course = seed(subjects, tests).await;
        for endpoint in ["list", "get", "upload"] {
            let original = match (endpoint, subjects) {
                ("list", 2) => "27",
                ("list", _) => "113",
                _ => "1",
            };
            for warm in [true, false] {
                let (per_call, p50, p95) = measure(&course, endpoint, latency, warm).await;
                println!(
                    "{:<8} {:>6} {:>5} {:>13.2} {:>9.1} {:>9.1} {:>19}",
                    endpoint,
                    format!("{subjects}x{tests}"),
                    if warm { "warm" } else { "cold" },
                    per_call,
                    p50,
                    p95,
                    original
                );
            }
        }
    }
}
