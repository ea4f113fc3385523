//! The listing's roster name and what a test that is not published is answered with.

use chrono::{TimeZone, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::layout;
use ework_domain::model::Roster;
use ework_domain::ports::FixedClock;
use ework_domain::store_json;
use ework_domain::testing::MemoryStore;
use ework_testkit::fixture::{seed_fixture, Fixture};
use serde_json::{json, Value};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

async fn course() -> (MemoryStore, Fixture) {
    let store = MemoryStore::new();
    let fixture = seed_fixture(&store, 2, now()).await.unwrap();
    let mut roster: Roster = store_json::read(&store, &layout::roster())
        .await
        .unwrap()
        .unwrap();
    roster.0[0].name = Some("Zoë Łukasiewicz".into());
    store_json::write(&store, &layout::roster(), &roster)
        .await
        .unwrap();
    (store, fixture)
}

async fn call(
    store: &MemoryStore,
    key: &str,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let api = Api::new(store, FixedClock(now()), ApiConfig::default());
    let response = api
        .handle(ApiRequest {
            method: method.into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            api_key: Some(key.to_owned()),
            body: if body.is_null() {
                Vec::new()
            } else {
                body.to_string().into_bytes()
            },
        })
        .await;
    (response.status, response.body)
}

#[tokio::test]
async fn the_listing_names_the_student_as_the_roster_does() {
    let (store, fixture) = course().await;
    let (status, body) = call(
        &store,
        fixture.key_of("student001"),
        "POST",
        "/api/v1/tests",
        &[],
        json!({"studentId": "student001"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["student"],
        json!({"studentId": "student001", "name": "Zoë Łukasiewicz"})
    );
    assert_eq!(body["body"][0]["testIds"], json!(["test01"]));
}

#[tokio::test]
async fn a_student_without_a_name_is_listed_by_id_only() {
    let (store, fixture) = course().await;
    let key = fixture.key_of("student002");
    let (status, body) = call(
        &store,
        key,
        "POST",
        "/api/v1/tests",
        &[],
        json!({"studentId": "student002"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["student"], json!({"studentId": "student002"}));
}

#[tokio::test]
async fn an_unpublished_test_is_answered_with_what_is_open_instead() {
    let (store, fixture) = course().await;
    let key = fixture.key_of("student001").to_owned();
    let get = |subject: &'static str, test: &'static str| {
        let (store, key) = (&store, key.clone());
        async move {
            call(
                store,
                &key,
                "GET",
                "/api/v1/test",
                &[
                    ("subjectName", subject),
                    ("testId", test),
                    ("studentId", "student001"),
                ],
                Value::Null,
            )
            .await
        }
    };
    let (status, body) = get("chemistry", "test01").await;
    assert_eq!(status, 404);
    assert_eq!(
        body["body"],
        "there is no published test test01 in subject chemistry; your subjects with open tests are: operating-systems"
    );
    let (status, body) = get("operating-systems", "test99").await;
    assert_eq!(status, 404);
    assert_eq!(
        body["body"],
        "there is no published test test99 in subject operating-systems; the open tests of operating-systems are: test01"
    );
}
