//! Feeds arbitrary bytes to the API as body, query and key: no input may panic a
//! handler, produce a 5xx, or change the store when refused.
#![no_main]

use chrono::TimeZone;
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ports::FixedClock;
use ework_domain::testing::MemoryStore;
use ework_testkit::fixture::seed_fixture;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let store = MemoryStore::new();
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let fixture = seed_fixture(&store, 2, now).await.unwrap();
        let before = store.snapshot();
        let api = Api::new(&store, FixedClock(now), ApiConfig::default());
        // First byte picks the endpoint; the rest splits into query and body.
        let (selector, rest) = data.split_first().unwrap_or((&0, &[]));
        let split = rest.iter().position(|b| *b == b'\n').unwrap_or(0);
        let (query, body) = rest.split_at(split);
        let query = String::from_utf8_lossy(query)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (method, path) = match selector % 4 {
            0 => ("POST", "/api/v1/tests"),
            1 => ("GET", "/api/v1/test"),
            2 => ("POST", "/api/v1/test"),
            _ => ("PUT", "/api/v1/test"),
        };
        let key = if selector & 0x80 == 0 { Some(fixture.key_of("student001").to_string()) } else { None };
        let resp = api
            .handle(ApiRequest { method: method.into(), path: path.into(), query, api_key: key, body: body.to_vec() })
            .await;
        assert!(resp.status < 500, "{} {}", resp.status, resp.body);
        if resp.status != 200 {
            assert_eq!(store.snapshot(), before);
        }
    });
});
