//! `trainer student export|erase`: the export holds everything the API and the scorer
//! stored about a student; erasing leaves no object, version or mention of them.

mod course_support;

use chrono::{DateTime, Utc};
use course_support::{copy_of_sample, run, trainer, MotoStack, NOW};
use ework_adapters::local::LocalStore;
use ework_adapters::outbox::OutboxMailer;
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ports::{FixedClock, Mailer, ObjectStore};
use ework_domain::scoring::run::{score_pass, RunOptions, ScoringConfig};
use ework_domain::testing::MemoryMailer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn keys_from(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            let (id, key) = (p.next()?, p.next()?);
            key.starts_with("ewk_")
                .then(|| (id.to_owned(), key.to_owned()))
        })
        .collect()
}

async fn upload<S: ObjectStore>(api: &Api<S, FixedClock>, key: &str, student: &str, answer: &str) {
    let body = format!(
        r#"{{"subjectName": "operating-systems", "testId": "test01", "studentId": "{student}",
            "testResult": [{{"questionId": "1", "answer": "{answer}"}}, {{"questionId": "2", "answer": "b"}}]}}"#
    );
    let req = ApiRequest {
        method: "POST".into(),
        path: "/api/v1/test".into(),
        api_key: Some(key.to_owned()),
        body: body.into_bytes(),
        ..ApiRequest::default()
    };
    let resp = api.handle(req).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
}

/// Students take the open test through the API (student01 twice), then the scorer runs
/// and its emails go to `mailer`.
async fn take_and_score<S: ObjectStore + Clone>(
    store: S,
    keys: &BTreeMap<String, String>,
    mailer: &dyn Mailer,
) {
    let api = Api::new(store.clone(), FixedClock(at(NOW)), ApiConfig::default());
    upload(&api, &keys["student01"], "student01", "b").await;
    upload(&api, &keys["student01"], "student01", "a").await;
    upload(&api, &keys["student02"], "student02", "a").await;
    let config = ScoringConfig::new("noreply@example.com", "trainer@example.com");
    let options = RunOptions {
        now: at("2026-12-01T08:00:00Z"),
        deadline: None,
        dry_run: false,
    };
    let summary = score_pass(&store, mailer, &config, options).await.unwrap();
    assert!(!summary.sent.is_empty());
}

/// Every current object, decrypted.
async fn everything(store: &dyn ObjectStore) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for o in store.list("").await.unwrap() {
        let bytes = store.get(&o.key).await.unwrap().unwrap();
        out.insert(
            o.key.to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        );
    }
    out
}

/// Objects that are about student01: named after them, or mentioning them (apart from
/// the shared roster and key registry, whose entries the export lists separately).
fn about_student01(all: &BTreeMap<String, String>) -> Vec<String> {
    all.iter()
        .filter(|(k, v)| {
            k.split('/').any(|s| s == "student01")
                || (v.contains("student01")
                    && !["studentsList.json", "_system/keys.json"].contains(&k.as_str()))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

fn check_export(doc: &Value, expected_objects: &[String]) {
    assert_eq!(doc["studentId"], "student01");
    assert_eq!(doc["rosterEntry"]["email"], "student01@example.com");
    assert_eq!(doc["keys"].as_array().unwrap().len(), 1);
    let exported: Vec<&str> = doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        exported, expected_objects,
        "the export holds exactly the student's objects"
    );
    for file in ["testResult.json", "receipt.json", "score.json"] {
        assert!(
            exported.contains(&format!("operating-systems/test01/student01/{file}").as_str()),
            "{file} in {exported:?}"
        );
    }
    assert!(
        exported.iter().any(|k| k.starts_with("_system/")),
        "the scorer's email ledger is exported: {exported:?}"
    );
    assert!(!exported.iter().any(|k| k.contains("student02")));
    let submission = doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"].as_str().unwrap().ends_with("testResult.json"))
        .unwrap();
    assert_eq!(
        submission["content"][0]["answer"], "a",
        "the latest submission, as JSON"
    );
}

fn check_erased(all: &BTreeMap<String, String>) {
    for (key, content) in all {
        assert!(!key.contains("student01"), "{key} is left");
        assert!(
            !content.contains("student01"),
            "{key} still mentions student01: {content}"
        );
    }
    assert!(
        all.contains_key("operating-systems/test01/student02/testResult.json"),
        "other students keep their data"
    );
}

#[tokio::test]
async fn a_local_student_is_exported_completely_and_erased_without_a_trace() {
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let local = |args: &[&str]| {
        let mut cmd: Command = trainer();
        cmd.args(args).arg("--local").arg(data.path());
        run(&mut cmd)
    };
    assert!(local(&["sync", course.path().to_str().unwrap(), "--now", NOW]).ok);
    let keys = keys_from(&local(&["keys", "issue", "--missing"]).stdout);
    let store = LocalStore::open(data.path()).unwrap();
    let outbox = data.path().join("outbox");
    take_and_score(store.clone(), &keys, &OutboxMailer::open(&outbox).unwrap()).await;
    let emails = |to: &str| {
        std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .filter(|text| text.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            .count()
    };
    assert_eq!(emails("student01@example.com"), 1);
    let expected = about_student01(&everything(&store).await);

    let export = local(&["student", "export", "student01"]);
    assert!(export.ok, "{export:?}");
    let doc: Value = serde_json::from_str(&export.stdout).unwrap();
    check_export(&doc, &expected);
    let exported_emails = doc["outboxEmails"].as_array().unwrap();
    assert_eq!(
        exported_emails.len(),
        1,
        "the email of their result, from the outbox"
    );
    assert!(exported_emails[0]["content"]
        .as_str()
        .unwrap()
        .contains("student01@example.com"));

    let before = everything(&store).await;
    let dry = local(&["student", "erase", "student01"]);
    assert!(
        dry.ok
            && dry
                .stdout
                .contains("Nothing was removed; run again with --yes"),
        "{dry:?}"
    );
    assert_eq!(everything(&store).await, before);

    let erased = local(&["student", "erase", "student01", "--yes"]);
    assert!(erased.ok, "{erased:?}");
    assert!(
        erased
            .stdout
            .contains("removed operating-systems/test01/student01/testResult.json (2 version(s))"),
        "{erased:?}"
    );
    check_erased(&everything(&store).await);
    assert_eq!(
        emails("student01@example.com"),
        0,
        "their emails left the outbox"
    );
    assert_eq!(
        emails("student02@example.com"),
        1,
        "other students' emails stay"
    );
    assert_eq!(
        emails("trainer@example.com"),
        1,
        "the trainer's report stays"
    );
    // No file of the data dir (current objects or kept versions) is named after them,
    // and the roster and key registry keep no older version that lists them.
    let mut pending = vec![data.path().to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                assert!(
                    !path.to_string_lossy().contains("student01"),
                    "{} is left",
                    path.display()
                );
            }
        }
    }
    for shared in ["studentsList.json~", "_system/keys.json~"] {
        let versions = data.path().join("versions").join(shared);
        let count = std::fs::read_dir(&versions).map(|d| d.count()).unwrap_or(0);
        assert_eq!(count, 0, "{} keeps old versions", versions.display());
    }
    let export = local(&["student", "export", "student01"]);
    let doc: Value = serde_json::from_str(&export.stdout).unwrap();
    assert!(
        doc["rosterEntry"].is_null() && doc["objects"].as_array().unwrap().is_empty(),
        "{doc}"
    );
}

#[tokio::test]
async fn a_student_on_a_stack_is_erased_with_every_object_version() {
    let stack = MotoStack::create().await;
    let course = copy_of_sample();
    assert!(run(&mut stack.trainer(&["sync", course.path().to_str().unwrap(), "--now", NOW])).ok);
    let issued = run(&mut stack.trainer(&["keys", "issue", "--missing"]));
    assert!(issued.ok, "{issued:?}");
    let keys = keys_from(&issued.stdout);
    let store = ework_adapters::s3::S3Store::new(
        course_support::s3(&stack.aws),
        stack.bucket.clone(),
        None,
    );
    let mailer = MemoryMailer::default();
    take_and_score(store.clone(), &keys, &mailer).await;
    let to_student01 =
        |(to, _): &(Vec<String>, Vec<u8>)| to.contains(&"student01@example.com".to_owned());
    assert!(mailer.sent().iter().any(to_student01));
    let expected = about_student01(&everything(&store).await);

    let export = run(&mut stack.trainer(&["student", "export", "student01"]));
    assert!(export.ok, "{export:?}");
    check_export(&serde_json::from_str(&export.stdout).unwrap(), &expected);

    let erased = run(&mut stack.trainer(&["student", "erase", "student01", "--yes"]));
    assert!(erased.ok, "{erased:?}");
    check_erased(&everything(&store).await);
    let versions = stack.versions().await;
    assert!(
        !versions.iter().any(|(k, _)| k.contains("student01")),
        "{versions:?}"
    );
    for shared in ["studentsList.json", "_system/keys.json"] {
        assert_eq!(
            versions.iter().filter(|(k, _)| k == shared).count(),
            1,
            "{shared} keeps one version: {versions:?}"
        );
    }
    // The gateway key of student01 is gone too.
    let gateway = aws_sdk_apigateway::Client::new(&stack.aws);
    let plan = gateway
        .get_usage_plan_keys()
        .usage_plan_id(&stack.usage_plan_id)
        .send()
        .await
        .unwrap();
    assert_eq!(plan.items().len(), 3);
    assert!(!plan
        .items()
        .iter()
        .any(|k| Some(keys["student01"].as_str()) == k.value()));
}
