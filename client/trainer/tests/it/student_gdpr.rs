//! `trainer student export|erase`: the export holds everything the API and the scorer
//! stored about a student, in their own objects and in shared ones; erasing leaves no
//! object, version or mention of them, in current contents or older versions.

use crate::course_support;

use crate::course_support::{copy_of_sample, run, trainer, MotoStack, NOW};
use chrono::{DateTime, Utc};
use ework_adapters::local::LocalStore;
use ework_adapters::outbox::OutboxMailer;
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ids::{StudentId, SubjectName, TestId};
use ework_domain::layout::ObjectKey;
use ework_domain::ports::{FixedClock, Mailer, ObjectStore};
use ework_domain::scoring::results::{journal_key, JournalWave, Notified, TestResults};
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

const RESULTS: &str = "_system/results/operating-systems/test01/results.json";
const JOURNAL: &str = "_system/journal/p1/w000001";

fn os_test01() -> (SubjectName, TestId) {
    (
        SubjectName::parse("operating-systems").unwrap(),
        TestId::parse("test01").unwrap(),
    )
}

/// What a later pass and a crashed one leave in the shared scorer objects: the
/// results object written again (so an older version names both students too), and
/// a journal wave naming both that no pass has folded in yet.
async fn leave_history_and_a_journal(store: &dyn ObjectStore) {
    let (subject, test) = os_test01();
    let results = TestResults::load(store, &subject, &test)
        .await
        .unwrap()
        .expect("the scorer stored the test's results");
    for id in ["student01", "student02"] {
        assert!(results.scores.contains_key(&StudentId::parse(id).unwrap()));
    }
    results.save(store, &subject, &test).await.unwrap();
    let notified = |id: &str| Notified {
        subject: subject.clone(),
        test_id: test.clone(),
        student_id: StudentId::parse(id).unwrap(),
        revision: 0,
        message_id: format!("<{id}@example.com>"),
        withheld: false,
    };
    let wave = JournalWave {
        sent_at: Some(at("2026-12-01T08:00:01Z")),
        items: vec![notified("student01"), notified("student02")],
    };
    let key = journal_key("p1", 1).unwrap();
    assert_eq!(key.as_str(), JOURNAL);
    store
        .put(&key, serde_json::to_vec(&wave).unwrap())
        .await
        .unwrap();
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
/// the shared roster, key registry, results and journal, whose entries the export lists
/// separately).
fn about_student01(all: &BTreeMap<String, String>) -> Vec<String> {
    let shared = |k: &str| {
        k == "studentsList.json"
            || k.starts_with("_system/keys/")
            || k.starts_with("_system/keyring/")
            || k.starts_with("_system/results/")
            || k.starts_with("_system/journal/")
    };
    all.iter()
        .filter(|(k, v)| {
            k.split('/').any(|s| s == "student01") || (v.contains("student01") && !shared(k))
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
    assert!(
        exported.contains(&"operating-systems/test01/student01/testResult.json"),
        "their submission (answers and receipt) in {exported:?}"
    );
    assert!(!exported.iter().any(|k| k.contains("student02")));
    // Their result, with the question texts, and the revision they were emailed.
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["key"], RESULTS);
    assert_eq!(results[0]["score"]["studentId"], "student01");
    assert_eq!(results[0]["notifiedRevision"], 0);
    assert!(
        !results[0]["score"]["questions"][0]["question"]
            .as_str()
            .unwrap()
            .is_empty(),
        "{results:?}"
    );
    // The scorer's record of the email sent to them.
    let journal = doc["scorerJournal"].as_array().unwrap();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["key"], JOURNAL);
    assert_eq!(journal[0]["items"].as_array().unwrap().len(), 1);
    assert_eq!(journal[0]["items"][0]["studentId"], "student01");
    for part in ["results", "scorerJournal"] {
        assert!(
            !doc[part].to_string().contains("student02"),
            "nothing of other students: {}",
            doc[part]
        );
    }
    let submission = doc["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"].as_str().unwrap().ends_with("testResult.json"))
        .unwrap();
    assert_eq!(
        submission["content"]["testResult"][0]["answer"], "a",
        "the latest submission, as JSON"
    );
    let older = submission["olderVersions"].as_array().unwrap();
    assert_eq!(older.len(), 1, "the first upload too: {submission}");
    assert_eq!(
        older[0]["content"]["testResult"][0]["answer"], "b",
        "{submission}"
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
    let results: TestResults = serde_json::from_str(&all[RESULTS]).unwrap();
    let student02 = StudentId::parse("student02").unwrap();
    assert!(
        results.scores.contains_key(&student02) && results.notified.contains_key(&student02),
        "other students keep their results"
    );
    let wave: JournalWave = serde_json::from_str(&all[JOURNAL]).unwrap();
    assert_eq!(
        wave.items.len(),
        1,
        "other students keep their journal items"
    );
    assert_eq!(wave.items[0].student_id, student02);
}

/// Every older version the local store keeps, decrypted, as (key, content). A version
/// opens only under its own key (the key is bound into the encryption), so each one is
/// put back as the current object of a scratch store holding the same data key.
async fn local_old_versions(data: &std::path::Path) -> Vec<(String, String)> {
    let versions = data.join("versions");
    let mut found = Vec::new();
    let mut pending = vec![versions.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let rel = path.parent().unwrap().strip_prefix(&versions).unwrap();
            let key = rel.to_str().unwrap().strip_suffix('~').unwrap().to_owned();
            let scratch = tempfile::tempdir().unwrap();
            std::fs::copy(data.join("store.key"), scratch.path().join("store.key")).unwrap();
            let target = scratch.path().join("objects").join(format!("{key}~"));
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&path, &target).unwrap();
            let bytes = LocalStore::open(scratch.path())
                .unwrap()
                .get(&ObjectKey::parse(&key).unwrap())
                .await
                .unwrap()
                .unwrap();
            found.push((key, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    found
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
    leave_history_and_a_journal(&store).await;
    assert!(
        local_old_versions(data.path())
            .await
            .iter()
            .any(|(k, v)| k == RESULTS && v.contains("student01")),
        "an older version of the results names student01 before the erase"
    );
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
    let mentions = doc["outboxMentions"].as_array().unwrap();
    assert_eq!(
        mentions.len(),
        1,
        "the trainer's report names them: {mentions:?}"
    );
    let lines: Vec<&str> = mentions[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.contains("student01")),
        "{lines:?}"
    );
    #[cfg(unix)]
    for e in std::fs::read_dir(&outbox).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let mode = e.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an outbox email is private");
    }

    // Written to a file: private, and never over an existing one without --force.
    let file = data.path().join("student01.json");
    std::fs::write(&file, "keep me").unwrap();
    let refused = local(&[
        "student",
        "export",
        "student01",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        !refused.ok && refused.stderr.contains("--force"),
        "{refused:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let written = local(&[
        "student",
        "export",
        "student01",
        "-o",
        file.to_str().unwrap(),
        "--force",
    ]);
    assert!(written.ok, "{written:?}");
    let from_file: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(from_file["studentId"], "student01");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    std::fs::remove_file(&file).unwrap();

    // An id nothing is stored about is an error, not an empty document.
    let unknown = local(&["student", "export", "nobody99"]);
    assert!(!unknown.ok, "{unknown:?}");
    assert!(
        unknown.stderr.contains("nothing is stored about nobody99") && unknown.stdout.is_empty(),
        "{unknown:?}"
    );

    let before = everything(&store).await;
    let dry = local(&["student", "erase", "student01"]);
    assert!(
        dry.ok
            && dry
                .stdout
                .contains("Nothing was removed; run again with --yes"),
        "{dry:?}"
    );
    for shared in [RESULTS, JOURNAL] {
        assert!(
            dry.stdout.contains(&format!(
                "their entries in {shared} (older versions purged)"
            )),
            "{dry:?}"
        );
    }
    assert_eq!(everything(&store).await, before);

    let erased = local(&["student", "erase", "student01", "--yes"]);
    assert!(erased.ok, "{erased:?}");
    assert!(
        erased
            .stdout
            .contains("removed operating-systems/test01/student01/testResult.json (2 version(s))"),
        "{erased:?}"
    );
    assert!(
        erased
            .stdout
            .contains(&format!("removed their entries from {RESULTS}")),
        "{erased:?}"
    );
    check_erased(&everything(&store).await);
    for (key, content) in local_old_versions(data.path()).await {
        assert!(
            !content.contains("student01"),
            "an older version of {key} still mentions student01: {content}"
        );
    }
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
    assert!(
        erased.stdout.contains("line(s) about them out of"),
        "{erased:?}"
    );
    for e in std::fs::read_dir(&outbox).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(
            !text.contains("student01"),
            "an email still names them: {text}"
        );
    }
    // The report still tells the trainer about the others.
    let other = local(&["student", "export", "student02"]);
    assert!(other.ok, "{other:?}");
    let other: Value = serde_json::from_str(&other.stdout).unwrap();
    assert!(
        other["outboxMentions"][0]["lines"]
            .as_array()
            .is_some_and(|l| !l.is_empty()),
        "{other}"
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
    for shared in [
        "studentsList.json~",
        &format!("{RESULTS}~"),
        &format!("{JOURNAL}~"),
    ] {
        let versions = data.path().join("versions").join(shared);
        let count = std::fs::read_dir(&versions).map(|d| d.count()).unwrap_or(0);
        assert_eq!(count, 0, "{} keeps old versions", versions.display());
    }
    let export = local(&["student", "export", "student01"]);
    assert!(
        !export.ok && export.stderr.contains("nothing is stored about student01"),
        "after the erasure nothing is left to export: {export:?}"
    );
}

#[tokio::test]
async fn a_student_on_a_stack_is_erased_with_every_object_version() {
    let Some(stack) = MotoStack::create().await else {
        return;
    };
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
    leave_history_and_a_journal(&store).await;
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
    for shared in ["studentsList.json", RESULTS, JOURNAL] {
        assert_eq!(
            versions.iter().filter(|(k, _)| k == shared).count(),
            1,
            "{shared} keeps one version: {versions:?}"
        );
    }
    // No version left (current or older) mentions them.
    let s3 = course_support::s3(&stack.aws);
    for (key, version) in &versions {
        let got = s3
            .get_object()
            .bucket(&stack.bucket)
            .key(key)
            .version_id(version)
            .send()
            .await;
        // A delete marker has no content.
        let Ok(got) = got else { continue };
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("student01"),
            "version {version} of {key} still mentions student01"
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
