//! A corpus of hostile and broken requests against the local gateway (the same
//! handlers as in AWS) on 127.0.0.1. For every case: the precise 4xx, a message,
//! no hang, and a store that is byte-for-byte unchanged afterwards.

use chrono::{TimeZone, Utc};
use ework_adapters::http::local_router;
use ework_adapters::local::LocalStore;
use ework_domain::api::{Api, ApiConfig};
use ework_domain::ids::StudentId;
use ework_domain::keys;
use ework_domain::ports::{FixedClock, ObjectStore};
use ework_testkit::fixture::seed_fixture;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

struct Case {
    name: String,
    method: &'static str,
    path: String,
    key: Option<String>,
    body: Option<Vec<u8>>,
    status: u16,
}

fn case(
    name: impl Into<String>,
    method: &'static str,
    path: impl Into<String>,
    key: Option<&str>,
    body: Option<&str>,
    status: u16,
) -> Case {
    Case {
        name: name.into(),
        method,
        path: path.into(),
        key: key.map(str::to_owned),
        body: body.map(|b| b.as_bytes().to_vec()),
        status,
    }
}

async fn digest(store: &LocalStore) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for info in store.list("").await.unwrap() {
        let bytes = store.get(&info.key).await.unwrap().unwrap();
        all.insert(info.key.to_string(), hex::encode(Sha256::digest(&bytes)));
    }
    all
}

fn upload(student: &str, answers: Value) -> String {
    json!({"subjectName": "operating-systems", "testId": "test01", "studentId": student, "testResult": answers}).to_string()
}

/// Builds the corpus. `key` is student001's valid key.
fn corpus(key: &str, revoked: &str, expired: &str) -> Vec<Case> {
    let k = Some(key);
    let mut cases = Vec::new();
    let list_ok = r#"{"studentId":"student001"}"#;
    let upload_ok = upload(
        "student001",
        json!([{"questionId": "1", "answer": "b"}, {"questionId": "2", "answer": "a"}]),
    );

    // Keys.
    for (name, bad, status) in [
        ("no key", None, 401),
        ("empty key", Some(""), 401),
        ("blank key", Some("   "), 401),
        ("garbage key", Some("hello"), 403),
        ("prefix only", Some("ewk_"), 403),
        (
            "wrong key of the right shape",
            Some("ewk_0000000000000000000000000000000000000000"),
            403,
        ),
        ("key with a trailing letter", Some(&*format!("{key}x")), 403),
        ("key cut short", Some(&key[..key.len() - 1]), 403),
        ("revoked key", Some(revoked), 403),
        ("expired key", Some(expired), 403),
        ("sql in key", Some("' OR 1=1 --"), 403),
        ("huge key", Some(&*"k".repeat(4000)), 403),
    ] {
        cases.push(case(
            format!("list: {name}"),
            "POST",
            "/api/v1/tests",
            bad,
            Some(list_ok),
            status,
        ));
        cases.push(case(
            format!("get: {name}"),
            "GET",
            "/api/v1/test?subjectName=operating-systems&testId=test01",
            bad,
            None,
            status,
        ));
        cases.push(case(
            format!("upload: {name}"),
            "POST",
            "/api/v1/test",
            bad,
            Some(&upload_ok),
            status,
        ));
    }

    // Methods and paths.
    for method in ["PUT", "DELETE", "PATCH"] {
        cases.push(case(
            format!("{method} on /test"),
            method,
            "/api/v1/test",
            k,
            Some(&upload_ok),
            405,
        ));
        cases.push(case(
            format!("{method} on /tests"),
            method,
            "/api/v1/tests",
            k,
            Some(list_ok),
            405,
        ));
    }
    cases.push(case("GET on /tests", "GET", "/api/v1/tests", k, None, 405));
    for path in [
        "/",
        "/api",
        "/api/v1",
        "/api/v1/tests/x",
        "/api/v1/testz",
        "/api/v2/test",
        "/API/V1/TEST",
        "/api/v1/tests;x",
        "/api/v1/%74est",
        "/api//v1/test",
    ] {
        cases.push(case(
            format!("unknown path {path}"),
            "POST",
            path,
            k,
            Some(list_ok),
            404,
        ));
    }

    // Malformed list bodies: every truncation of a valid body, and broken JSON.
    for cut in 0..list_ok.len() {
        cases.push(case(
            format!("list body cut at {cut}"),
            "POST",
            "/api/v1/tests",
            k,
            Some(&list_ok[..cut]),
            400,
        ));
    }
    for body in [
        "null",
        "1",
        "\"s\"",
        "[]",
        "true",
        "{\"studentId\":}",
        "{'studentId':'student001'}",
        "{\"studentId\":\"student001\",}",
        "\u{feff}{}",
        "{}",
        "{\"studentid\":\"student001\"}",
    ] {
        cases.push(case(
            format!("list body {body:?}"),
            "POST",
            "/api/v1/tests",
            k,
            Some(body),
            400,
        ));
    }
    for value in ["1", "true", "[]", "{}", "[\"student001\"]", "1e999"] {
        cases.push(case(
            format!("list studentId = {value}"),
            "POST",
            "/api/v1/tests",
            k,
            Some(&format!("{{\"studentId\":{value}}}")),
            400,
        ));
    }
    let deep = format!("{{\"studentId\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
    cases.push(case(
        "list deep nesting",
        "POST",
        "/api/v1/tests",
        k,
        Some(&deep),
        400,
    ));
    let bad_ids = [
        "",
        " ",
        "../student001",
        "student001/",
        "a/b",
        "%2F",
        "..",
        ".",
        "a\u{0}b",
        "stud\u{0435}nt001",
        "student001 ",
        " student001",
        "ｓｔｕｄｅｎｔ001",
        "student001\n",
        "-student",
        "_system",
        "a..b",
        "a\\b",
        "€",
        "x".repeat(65).leak(),
        "\u{202e}100tneduts",
        "student001%00",
        "*",
        "?",
        "#",
    ];
    for bad in bad_ids {
        let body = json!({"studentId": bad}).to_string();
        cases.push(case(
            format!("list studentId {bad:?}"),
            "POST",
            "/api/v1/tests",
            k,
            Some(&body),
            400,
        ));
        let body = json!({"studentId": "student001", "subjectName": bad}).to_string();
        cases.push(case(
            format!("list subjectName {bad:?}"),
            "POST",
            "/api/v1/tests",
            k,
            Some(&body),
            400,
        ));
    }
    let huge = json!({"studentId": "x".repeat(70_000)}).to_string();
    cases.push(case(
        "list huge string",
        "POST",
        "/api/v1/tests",
        k,
        Some(&huge),
        413,
    ));
    cases.push(case(
        "list as another student",
        "POST",
        "/api/v1/tests",
        k,
        Some(r#"{"studentId":"student002"}"#),
        403,
    ));
    cases.push(case(
        "list as a student not on the roster",
        "POST",
        "/api/v1/tests",
        k,
        Some(r#"{"studentId":"student999"}"#),
        403,
    ));

    // GET /test query strings.
    for (name, query, status) in [
        ("no query", "", 400),
        ("only subject", "?subjectName=operating-systems", 400),
        ("only test", "?testId=test01", 400),
        (
            "repeated testId",
            "?subjectName=operating-systems&testId=test01&testId=test01",
            400,
        ),
        (
            "repeated subject",
            "?subjectName=operating-systems&subjectName=networks&testId=test01",
            400,
        ),
        ("empty values", "?subjectName=&testId=", 400),
        (
            "encoded slash",
            "?subjectName=operating-systems&testId=..%2Fquestions",
            400,
        ),
        ("dot dot", "?subjectName=..&testId=test01", 400),
        (
            "NUL",
            "?subjectName=operating-systems&testId=test01%00",
            400,
        ),
        (
            "cyrillic e",
            "?subjectName=operating-systems&testId=t%D0%B5st01",
            400,
        ),
        (
            "space",
            "?subjectName=operating-systems&testId=test01%20",
            400,
        ),
        ("plus", "?subjectName=operating-systems&testId=test+01", 400),
        (
            "key file as test",
            "?subjectName=operating-systems&testId=test01%2FquestionsKey.json",
            400,
        ),
        (
            "unknown test",
            "?subjectName=operating-systems&testId=test99",
            404,
        ),
        (
            "unknown subject",
            "?subjectName=networks&testId=test01",
            404,
        ),
        (
            "system prefix",
            "?subjectName=_system&testId=keys.json",
            400,
        ),
        (
            "another student's id",
            "?subjectName=operating-systems&testId=test01&studentId=student002",
            403,
        ),
        (
            "bad student id",
            "?subjectName=operating-systems&testId=test01&studentId=..",
            400,
        ),
    ] {
        cases.push(case(
            format!("get {name}"),
            "GET",
            format!("/api/v1/test{query}"),
            k,
            None,
            status,
        ));
    }

    // Uploads: every truncation of a valid body.
    for cut in (0..upload_ok.len()).step_by(3) {
        cases.push(case(
            format!("upload body cut at {cut}"),
            "POST",
            "/api/v1/test",
            k,
            Some(&upload_ok[..cut]),
            400,
        ));
    }
    let field_types = ["1", "true", "[]", "{}", "null"];
    for field in ["subjectName", "testId", "studentId"] {
        for value in field_types {
            let mut body: Value = serde_json::from_str(&upload_ok).unwrap();
            body[field] = serde_json::from_str(value).unwrap();
            cases.push(case(
                format!("upload {field} = {value}"),
                "POST",
                "/api/v1/test",
                k,
                Some(&body.to_string()),
                400,
            ));
        }
        for bad in ["../x", "a/b", "", "x%2Fy", "\u{0}"] {
            let mut body: Value = serde_json::from_str(&upload_ok).unwrap();
            body[field] = json!(bad);
            cases.push(case(
                format!("upload {field} {bad:?}"),
                "POST",
                "/api/v1/test",
                k,
                Some(&body.to_string()),
                400,
            ));
        }
    }
    for (name, result) in [
        ("testResult object", json!({})),
        ("testResult string", json!("a,b")),
        ("testResult number", json!(1)),
        ("testResult null", Value::Null),
        ("entry number", json!([1])),
        ("entry string", json!(["1:b"])),
        ("entry array", json!([["1", "b"]])),
        ("entry without questionId", json!([{"answer": "b"}])),
        ("entry without answer", json!([{"questionId": "1"}])),
        (
            "numeric questionId",
            json!([{"questionId": 1, "answer": "b"}]),
        ),
        ("numeric answer", json!([{"questionId": "1", "answer": 2}])),
        // A list is an answer's shape for a multiple-answer question: a list of
        // anything but ids is malformed (a list for a single-answer question is a
        // 422, below).
        (
            "array answer with a number",
            json!([{"questionId": "1", "answer": ["a", 2]}]),
        ),
        (
            "answer with slash",
            json!([{"questionId": "1", "answer": "a/b"}]),
        ),
        (
            "answer dot dot",
            json!([{"questionId": "1", "answer": ".."}]),
        ),
        (
            "questionId with slash",
            json!([{"questionId": "../1", "answer": "a"}]),
        ),
        (
            "questionId empty",
            json!([{"questionId": "", "answer": "a"}]),
        ),
    ] {
        cases.push(case(
            format!("upload {name}"),
            "POST",
            "/api/v1/test",
            k,
            Some(&upload("student001", result)),
            400,
        ));
    }
    for (name, result) in [
        (
            "unknown question",
            json!([{"questionId": "9", "answer": "a"}]),
        ),
        (
            "unknown question among good",
            json!([{"questionId": "1", "answer": "a"}, {"questionId": "10", "answer": "a"}]),
        ),
        (
            "duplicate question",
            json!([{"questionId": "1", "answer": "a"}, {"questionId": "1", "answer": "b"}]),
        ),
        (
            "duplicate, second empty",
            json!([{"questionId": "1", "answer": "a"}, {"questionId": "1", "answer": ""}]),
        ),
        (
            "array answer to a single-answer question",
            json!([{"questionId": "1", "answer": ["a", "b"]}]),
        ),
        ("answer e", json!([{"questionId": "1", "answer": "e"}])),
        ("answer bb", json!([{"questionId": "1", "answer": "bb"}])),
        ("answer A1", json!([{"questionId": "2", "answer": "A1"}])),
        (
            "answer body instead of id",
            json!([{"questionId": "2", "answer": "option-b"}]),
        ),
    ] {
        cases.push(case(
            format!("upload {name}"),
            "POST",
            "/api/v1/test",
            k,
            Some(&upload("student001", result)),
            422,
        ));
    }
    let many: Vec<Value> = (0..5000)
        .map(|i| json!({"questionId": format!("q{i}"), "answer": "a"}))
        .collect();
    cases.push(case(
        "upload huge array",
        "POST",
        "/api/v1/test",
        k,
        Some(&upload("student001", Value::Array(many))),
        413,
    ));
    let padded = format!("{}{}", " ".repeat(66_000), upload_ok);
    cases.push(case(
        "upload padded past the limit",
        "POST",
        "/api/v1/test",
        k,
        Some(&padded),
        413,
    ));
    cases.push(case(
        "upload as another student",
        "POST",
        "/api/v1/test",
        k,
        Some(&upload("student002", json!([]))),
        403,
    ));
    cases.push(case(
        "upload for a student not on the roster",
        "POST",
        "/api/v1/test",
        k,
        Some(&upload("student999", json!([]))),
        403,
    ));
    let unknown_test = json!({"subjectName": "operating-systems", "testId": "test02", "studentId": "student001", "testResult": []}).to_string();
    cases.push(case(
        "upload to an unknown test",
        "POST",
        "/api/v1/test",
        k,
        Some(&unknown_test),
        404,
    ));
    let unknown_subject = json!({"subjectName": "networks", "testId": "test01", "studentId": "student001", "testResult": []}).to_string();
    cases.push(case(
        "upload to an unknown subject",
        "POST",
        "/api/v1/test",
        k,
        Some(&unknown_subject),
        404,
    ));
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_request_gets_a_precise_4xx_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let fixture = seed_fixture(&store, 5, now).await.unwrap();

    // student002's key gets revoked, student003's expires.
    let revoked = fixture.key_of("student002").to_string();
    keys::revoke(&store, &StudentId::parse("student002").unwrap())
        .await
        .unwrap();
    let expired = fixture.key_of("student003").to_string();
    let student003 = StudentId::parse("student003").unwrap();
    let record = keys::KeyRecord {
        expires_at: Some(now - chrono::Duration::hours(1)),
        ..keys::KeyRecord::new(&student003, &keys::PlainKey::from_string(&expired), now)
    };
    keys::replace(&store, &student003, Some(record))
        .await
        .unwrap();

    let api = Arc::new(Api::new(
        store.clone(),
        FixedClock(now),
        ApiConfig::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, local_router(api)).await });

    let cases = corpus(fixture.key_of("student001"), &revoked, &expired);
    assert!(cases.len() >= 200, "corpus has {} cases", cases.len());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let before = digest(&store).await;
    let mut failures = Vec::new();
    for c in &cases {
        let mut req = client.request(c.method.parse().unwrap(), format!("{url}{}", c.path));
        if let Some(key) = &c.key {
            req = req.header("x-api-key", key);
        }
        if let Some(body) = &c.body {
            req = req.body(body.clone());
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: no answer: {e}", c.name));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = body["body"].as_str().unwrap_or("");
        let reason = body["reason"].as_str().unwrap_or("");
        if status != c.status
            || body["code"] != status
            || message.trim().is_empty()
            || reason.is_empty()
        {
            failures.push(format!(
                "{}: want {}, got {status} {text:.200}",
                c.name, c.status
            ));
        }
        if digest(&store).await != before {
            panic!("{} changed the store", c.name);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!(
        "{} hostile requests refused with the expected status",
        cases.len()
    );
}
