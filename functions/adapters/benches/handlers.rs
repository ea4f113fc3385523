//! Handlers in-process on the local encrypted store: p50/p99 per endpoint.
//! Run: `cargo bench -p ework-adapters --bench handlers` (prints a table).

use chrono::{TimeZone, Utc};
use ework_adapters::local::LocalStore;
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ports::FixedClock;
use ework_testkit::fixture::seed_fixture;
use std::time::{Duration, Instant};

const RUNS: usize = 2000;

/// name, method, path, query, body.
type Case<'a> = (&'a str, &'a str, &'a str, Vec<(String, String)>, &'a [u8]);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LocalStore::open(dir.path()).expect("store");
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let fixture = seed_fixture(&store, 100, now).await.expect("seed");
    let api = Api::new(store, FixedClock(now), ApiConfig::default());
    let key = fixture.key_of("student001").to_string();
    let upload = br#"{"subjectName":"operating-systems","testId":"test01","studentId":"student001","testResult":[{"questionId":"1","answer":"b"},{"questionId":"2","answer":"c"}]}"#;
    let cases: [Case; 3] = [
        (
            "POST /api/v1/tests",
            "POST",
            "/api/v1/tests",
            vec![],
            br#"{"studentId":"student001"}"#,
        ),
        (
            "GET /api/v1/test",
            "GET",
            "/api/v1/test",
            vec![
                ("subjectName".into(), "operating-systems".into()),
                ("testId".into(), "test01".into()),
            ],
            b"",
        ),
        ("POST /api/v1/test", "POST", "/api/v1/test", vec![], upload),
    ];
    println!(
        "{:<22} {:>10} {:>10} {:>10}  ({RUNS} sequential requests each, local encrypted store)",
        "endpoint", "p50", "p99", "max"
    );
    for (name, method, path, query, body) in cases {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let req = ApiRequest {
                method: method.into(),
                path: path.into(),
                query: query.clone(),
                api_key: Some(key.clone()),
                body: body.to_vec(),
            };
            let start = Instant::now();
            let resp = api.handle(req).await;
            times.push(start.elapsed());
            assert_eq!(resp.status, 200, "{}", resp.body);
        }
        times.sort();
        println!(
            "{name:<22} {:>10.3?} {:>10.3?} {:>10.3?}",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    }
}
