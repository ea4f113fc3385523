//! Properties of the parsers and of upload validation, over generated input.

use chrono::{TimeZone, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ids::{StudentId, TestId};
use ework_domain::ports::FixedClock;
use ework_domain::testing::{seed_fixture, MemoryStore};
use proptest::prelude::*;
use serde_json::{json, Value};

fn is_valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !s.contains("..")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_string_is_accepted_exactly_when_it_follows_the_id_grammar(s in "\\PC{0,80}|[A-Za-z0-9./_%-]{0,70}") {
        let parsed = StudentId::parse(s.clone());
        prop_assert_eq!(parsed.is_ok(), is_valid_id(&s), "{:?}", s);
        if let Ok(id) = parsed {
            prop_assert!(!id.as_str().contains('/'));
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }

    #[test]
    fn every_id_of_the_grammar_round_trips_through_json(s in "[A-Za-z0-9][A-Za-z0-9._-]{0,63}") {
        prop_assume!(!s.contains(".."));
        let id = TestId::parse(s.clone()).unwrap();
        let back: TestId = serde_json::from_value(serde_json::to_value(&id).unwrap()).unwrap();
        prop_assert_eq!(back, id);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("1".to_string()),
            Just("a".to_string()),
            Just("B".to_string()),
            Just("".to_string()),
            "\\PC{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("questionId".to_string()),
                        Just("answer".to_string()),
                        "[a-z]{1,8}"
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever the `testResult` holds, the answer is 200 or a 4xx, and a 4xx leaves
    /// the store exactly as it was.
    #[test]
    fn any_upload_gets_200_or_a_4xx_and_a_refusal_writes_nothing(result in json_value(), student in prop_oneof![Just("student001"), Just("student002"), Just("x/y")]) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let store = MemoryStore::new();
            let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
            let fixture = seed_fixture(&store, 2, now).await.unwrap();
            let before = store.snapshot();
            let api = Api::new(&store, FixedClock(now), ApiConfig::default());
            let body = json!({"subjectName": "operating-systems", "testId": "test01", "studentId": student, "testResult": result});
            let resp = api
                .handle(ApiRequest {
                    method: "POST".into(),
                    path: "/api/v1/test".into(),
                    query: vec![],
                    api_key: Some(fixture.key_of("student001").to_string()),
                    body: body.to_string().into_bytes(),
                })
                .await;
            prop_assert!(resp.status == 200 || (400..500).contains(&resp.status), "{} {}", resp.status, resp.body);
            prop_assert_eq!(resp.body["code"].as_u64(), Some(resp.status as u64));
            if resp.status != 200 {
                prop_assert!(resp.body["body"].as_str().is_some_and(|m| !m.is_empty()));
                prop_assert_eq!(store.snapshot(), before);
            }
            Ok(())
        })?;
    }
}
