//! The local stack, started as a real process on 127.0.0.1, answering every status
//! code of the API contract, and keeping the time zone its data dir recorded.

use crate::course_support::{copy_of_sample, local_stack, run, start_and_stop, trainer, NOW};
use ework_adapters::local::LocalStore;
use ework_domain::ports::ObjectStore;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `trainer local`, killed on drop.
struct Stack {
    child: Child,
    url: String,
    keys: BTreeMap<String, String>,
    dir: PathBuf,
}

impl Stack {
    fn start(dir: &Path, now: Option<&str>) -> Stack {
        Self::start_with(dir, now, &[])
    }

    fn start_with(dir: &Path, now: Option<&str>, extra: &[&std::ffi::OsStr]) -> Stack {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainer"));
        cmd.args(["local", "--port", "0", "--no-scheduler", "--data-dir"])
            .arg(dir)
            .args(extra);
        if let Some(now) = now {
            cmd.args(["--now", now]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("trainer starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut url, mut keys) = (None, BTreeMap::new());
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("stack prints its banner");
            if let Some(rest) = line.trim().strip_prefix("API URL:") {
                url = Some(rest.trim().to_string());
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [id, key] = words[..] {
                if key.starts_with("ewk_") {
                    keys.insert(id.to_string(), key.to_string());
                }
            }
            if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        Stack {
            child,
            url: url.expect("API URL printed"),
            keys,
            dir: dir.to_path_buf(),
        }
    }

    fn key(&self, student: &str) -> &str {
        &self.keys[student]
    }

    async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let client = reqwest::Client::new();
        let url = format!("{}{path_and_query}", self.url);
        let mut req = client
            .request(method.parse().unwrap(), url)
            .timeout(Duration::from_secs(10));
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req.send().await.expect("stack answers");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text:?}"));
        assert_eq!(
            value["code"],
            status.as_u16(),
            "code mirrors the status: {value}"
        );
        (status, value)
    }

    /// `POST /api/v1/tests` as `student` (with its key) for `for_id`'s tests.
    async fn list(&self, student: &str, for_id: &str) -> (StatusCode, Value) {
        let body = json!({ "studentId": for_id }).to_string();
        self.call(
            "POST",
            "/api/v1/tests",
            Some(self.key(student)),
            Some(&body),
        )
        .await
    }

    /// `GET /api/v1/test` of operating-systems/`test` as `student`.
    async fn get_test(&self, student: &str, test: &str) -> (StatusCode, Value) {
        let path = format!("/api/v1/test?subjectName=operating-systems&testId={test}");
        self.call("GET", &path, Some(self.key(student)), None).await
    }

    /// `POST /api/v1/test` as `student` with an upload `body`.
    async fn upload(&self, student: &str, body: &str) -> (StatusCode, Value) {
        self.call("POST", "/api/v1/test", Some(self.key(student)), Some(body))
            .await
    }

    /// Every stored object with its bytes, to prove a refused request wrote nothing.
    async fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let store = LocalStore::open(&self.dir).unwrap();
        let mut all = BTreeMap::new();
        for info in store.list("").await.unwrap() {
            all.insert(
                info.key.to_string(),
                store.get(&info.key).await.unwrap().unwrap(),
            );
        }
        all
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One refused request: what is sent, the status it must get, and words its message
/// must contain.
struct Refusal<'a> {
    method: &'a str,
    path: String,
    key: Option<&'a str>,
    body: Option<String>,
    status: u16,
    says: &'a str,
}

fn refusal<'a>(
    method: &'a str,
    path: impl Into<String>,
    key: Option<&'a str>,
    body: Option<String>,
    status: u16,
    says: &'a str,
) -> Refusal<'a> {
    Refusal {
        method,
        path: path.into(),
        key,
        body,
        status,
        says,
    }
}

const OPEN_TIME: &str = "2026-11-24T10:00:00Z";
const AFTER_DEADLINE: &str = "2026-12-02T10:00:00Z";

fn answers_body(student: &str, answers: Value) -> String {
    json!({"subjectName": "operating-systems", "testId": "test01", "studentId": student, "testResult": answers}).to_string()
}

async fn questions(stack: &Stack, student: &str) -> Vec<Value> {
    let (status, body) = stack.get_test(student, "test01").await;
    assert_eq!(status, 200, "{body}");
    body["body"].as_array().unwrap().clone()
}

fn first_answers(questions: &[Value]) -> Value {
    Value::Array(
        questions
            .iter()
            .map(|q| json!({"questionId": q["questionId"], "answer": q["answers"][0]["answerId"]}))
            .collect(),
    )
}

/// The operating-systems entry of a listing.
fn operating_systems(listing: &Value) -> &Value {
    listing["body"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject"] == "operating-systems")
        .unwrap()
}

#[tokio::test]
async fn a_fresh_data_dir_can_be_seeded_with_the_depth_sample_and_lists_each_students_own_window() {
    let dir = tempfile::tempdir().unwrap();
    let course = crate::course_support::sample_dir().join("../course-sample-depth");
    let stack = Stack::start_with(
        dir.path(),
        Some(OPEN_TIME),
        &["--course".as_ref(), course.as_os_str()],
    );
    assert_eq!(stack.keys.len(), 4, "four depth-sample students get keys");
    // student01 on the test's due; student03's "extraTime": "24h" moves the due and
    // the late window a day; student02's extension moves both two days.
    for (student, due, until) in [
        (
            "student01",
            "2026-11-30T23:00:00+01:00",
            "2026-12-03T23:00:00+01:00",
        ),
        (
            "student03",
            "2026-12-01T23:00:00+01:00",
            "2026-12-04T23:00:00+01:00",
        ),
        (
            "student02",
            "2026-12-02T23:00:00+01:00",
            "2026-12-05T23:00:00+01:00",
        ),
    ] {
        let (status, body) = stack.list(student, student).await;
        assert_eq!(status, 200, "{body}");
        let test = &operating_systems(&body)["tests"][0];
        assert_eq!(test["testId"], "test03", "{body}");
        assert_eq!(
            (
                &test["dueAt"],
                &test["late"]["until"],
                &test["late"]["penalty"],
                &test["points"]
            ),
            (&json!(due), &json!(until), &json!("10%/day"), &json!(7)),
            "{student}: {test}"
        );
    }
    let (status, body) = stack.get_test("student01", "test03").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["body"].as_array().unwrap().len(),
        5,
        "3 + 2 drawn: {body}"
    );
}

#[tokio::test]
async fn a_student_lists_fetches_and_submits_an_open_test() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), Some(OPEN_TIME));
    assert_eq!(stack.keys.len(), 4, "four sample students get keys");

    let (status, body) = stack.list("student01", "student01").await;
    assert_eq!(status, 200, "{body}");
    let os = operating_systems(&body);
    assert!(os["testIds"].as_array().unwrap().contains(&json!("test01")));
    assert_eq!(os["tests"][0]["submitted"], false);
    assert!(
        os["tests"][0]["dueAt"]
            .as_str()
            .unwrap()
            .ends_with("+01:00"),
        "due in the trainer's zone: {os}"
    );

    let qs = questions(&stack, "student01").await;
    assert!(qs.len() >= 3);
    let upload = answers_body("student01", first_answers(&qs));
    let (status, body) = stack.upload("student01", &upload).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["body"], "Successfully uploaded test result");
    assert_eq!(body["receipt"]["replaced"], false);
    assert_eq!(body["receipt"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(body["receipt"]["studentId"], "student01");
    let receipt = body["receipt"].clone();

    // Fetching the test again returns what was stored, with the same receipt, so a
    // client can show and resume it.
    let (status, body) = stack.get_test("student01", "test01").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["submission"]["testResult"], first_answers(&qs));
    assert_eq!(body["submission"]["receipt"], receipt);
    let (_, other) = stack.get_test("student02", "test01").await;
    assert!(
        other.get("submission").is_none(),
        "only the caller's own: {other}"
    );

    // Now it is submitted: still listed (resubmission allowed) but no longer to take.
    let (_, body) = stack.list("student01", "student01").await;
    let os = operating_systems(&body);
    assert!(!os["testIds"].as_array().unwrap().contains(&json!("test01")));
    assert_eq!(os["tests"][0]["submitted"], true);

    let (status, body) = stack.upload("student01", &upload).await;
    assert_eq!(status, 200);
    assert_eq!(body["receipt"]["replaced"], true);

    let stored = stack.snapshot().await;
    let saved: Value =
        serde_json::from_slice(&stored["operating-systems/test01/student01/testResult.json"])
            .unwrap();
    assert_eq!(saved["testResult"], first_answers(&qs));
    assert_eq!(
        saved["receipt"], body["receipt"],
        "the stored receipt is the one the student was given"
    );
}

#[tokio::test]
async fn the_answer_key_never_appears_in_any_response() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), Some(OPEN_TIME));
    let key_bytes = stack.snapshot().await["operating-systems/test01/questionsKey.json"].clone();
    let key_json: Value = serde_json::from_slice(&key_bytes).unwrap();
    let (_, body) = stack.get_test("student02", "test01").await;
    let text = body.to_string();
    assert!(!text.contains("questionsKey"));
    for q in body["body"].as_array().unwrap() {
        assert!(
            q.get("answer").is_none() && q.get("correct").is_none(),
            "{q}"
        );
    }
    // The response is exactly the questions shape: no extra field that could carry the key.
    let (_, raw) = stack.get_test("student02", "questionsKey.json").await;
    assert_eq!(raw["code"], 404);
    assert!(key_json.as_array().unwrap().len() >= 3);
}

#[tokio::test]
async fn one_student_cannot_list_or_submit_as_another() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), Some(OPEN_TIME));
    let before = stack.snapshot().await;
    let (status, body) = stack.list("student01", "student02").await;
    assert_eq!(status, 403);
    assert!(
        body["body"]
            .as_str()
            .unwrap()
            .contains("belongs to student01"),
        "{body}"
    );
    assert_eq!(body["reason"], "not_your_id");

    let qs = questions(&stack, "student01").await;
    let upload = answers_body("student02", first_answers(&qs));
    let (status, _) = stack.upload("student01", &upload).await;
    assert_eq!(status, 403);
    assert_eq!(stack.snapshot().await, before, "nothing written");
}

#[tokio::test]
async fn a_late_upload_is_refused_with_the_deadline_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = {
        let stack = Stack::start(dir.path(), Some(OPEN_TIME));
        stack.keys.clone()
    };
    let mut stack = Stack::start(dir.path(), Some(AFTER_DEADLINE));
    assert!(
        stack.keys.is_empty(),
        "keys are shown only on the first start"
    );
    stack.keys = keys;
    let before = stack.snapshot().await;
    let upload = answers_body("student01", json!([{"questionId": "1", "answer": "a"}]));
    let (status, body) = stack.upload("student01", &upload).await;
    assert_eq!(status, 403);
    let msg = body["body"].as_str().unwrap();
    assert!(msg.contains("closed at 2026-11-30 23:00 CET"), "{msg}");
    assert_eq!(body["reason"], "test_closed");
    assert_eq!(stack.snapshot().await, before);

    let (status, _) = stack.get_test("student01", "test01").await;
    assert_eq!(status, 403);
    let (_, body) = stack.list("student01", "student01").await;
    assert!(
        body["body"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["subject"] != "operating-systems"),
        "closed tests are not listed: {body}"
    );
}

#[tokio::test]
async fn every_refusal_has_its_precise_status_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), Some(OPEN_TIME));
    let key = stack.key("student03").to_string();
    let qs = questions(&stack, "student03").await;
    let q1 = qs[0]["questionId"].as_str().unwrap().to_string();
    // A key whose owner is not on the roster (left over after the roster changed).
    let ghost = ework_domain::keys::PlainKey::generate();
    let store = LocalStore::open(&stack.dir).unwrap();
    let ghost_id = ework_domain::ids::StudentId::parse("ghost").unwrap();
    ework_domain::keys::issue(&store, &ghost_id, &ghost, chrono::Utc::now(), None)
        .await
        .unwrap();
    let before = stack.snapshot().await;
    let (k, ghost) = (Some(key.as_str()), Some(ghost.expose()));
    let text = |s: &str| Some(s.to_owned());
    let answers = |a: Value| Some(answers_body("student03", a));
    let test = "/api/v1/test?subjectName=operating-systems";
    #[rustfmt::skip]
    let cases = [
        refusal("POST", "/api/v1/tests", None, text(r#"{"studentId":"student03"}"#), 401, "missing API key"),
        refusal("POST", "/api/v1/tests", Some("ewk_nope"), text(r#"{"studentId":"student03"}"#), 403, "not valid"),
        refusal("POST", "/api/v1/tests", ghost, text(r#"{"studentId":"ghost"}"#), 403, "not on the roster"),
        refusal("POST", "/api/v1/tests", k, text("{not json"), 400, "not valid JSON"),
        refusal("POST", "/api/v1/tests", k, text("{}"), 400, "missing field `studentId`"),
        refusal("POST", "/api/v1/tests", k, text(r#"{"studentId":5}"#), 400, "must be a string"),
        refusal("POST", "/api/v1/tests", k, text(r#"{"studentId":"../x"}"#), 400, "studentId"),
        refusal("GET", test, k, None, 400, "missing query parameter `testId`"),
        refusal("GET", format!("{test}&testId=test01&testId=test02"), k, None, 400, "more than once"),
        refusal("GET", format!("{test}&testId=..%2Fx"), k, None, 400, "testId"),
        refusal("GET", format!("{test}&testId=test99"), k, None, 404, "no published test"),
        refusal("GET", format!("{test}&testId=test02"), k, None, 404, "no published test"),
        refusal("DELETE", "/api/v1/test", k, None, 405, "not allowed"),
        refusal("GET", "/api/v1/tests", k, None, 405, "not allowed"),
        refusal("GET", "/api/v2/whatever", k, None, 404, "no such endpoint"),
        refusal("POST", "/api/v1/test", k, Some("x".repeat(70 * 1024)), 413, "limit"),
        refusal("POST", "/api/v1/test", k, text(r#"{"subjectName":"operating-systems","testId":"test01","studentId":"student03"}"#), 400, "missing field `testResult`"),
        refusal("POST", "/api/v1/test", k, answers(json!([{"questionId": "999", "answer": "a"}])), 422, "not part of test"),
        refusal("POST", "/api/v1/test", k, answers(json!([{"questionId": q1, "answer": "zz"}])), 422, "not an option"),
        refusal("POST", "/api/v1/test", k, answers(json!([{"questionId": q1, "answer": "a"}, {"questionId": q1, "answer": "b"}])), 422, "more than once"),
    ];
    for case in cases {
        let Refusal {
            method,
            path,
            key,
            body,
            status: want,
            says,
        } = case;
        let (status, resp) = stack.call(method, &path, key, body.as_deref()).await;
        assert_eq!(status.as_u16(), want, "{method} {path}: {resp}");
        let msg = resp["body"].as_str().unwrap();
        assert!(
            msg.contains(says),
            "{method} {path}: {msg:?} should mention {says:?}"
        );
    }
    assert_eq!(
        stack.snapshot().await,
        before,
        "no refused request wrote anything"
    );
}

#[test]
fn the_first_start_records_its_time_zone_and_later_starts_keep_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_and_stop(local_stack(dir.path()).args(["--time-zone", "America/New_York"]));
    assert!(first.ok, "{first:?}");
    assert!(
        first.stdout.contains("Time zone: America/New_York"),
        "{first:?}"
    );
    let record = std::fs::read_to_string(dir.path().join("stack.json")).unwrap();
    let record: Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record, json!({"timeZone": "America/New_York"}));

    let later = start_and_stop(&mut local_stack(dir.path()));
    assert!(later.ok, "{later:?}");
    assert!(
        later.stdout.contains("Time zone: America/New_York"),
        "no --time-zone: the recorded zone, not Europe/Warsaw: {later:?}"
    );
    let same = start_and_stop(local_stack(dir.path()).env("EWORK_TIME_ZONE", "America/New_York"));
    assert!(same.ok, "{same:?}");
}

#[test]
fn a_start_in_another_zone_than_the_data_dirs_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_and_stop(local_stack(dir.path()).args(["--time-zone", "America/New_York"]));
    assert!(first.ok, "{first:?}");

    for refused in [
        start_and_stop(local_stack(dir.path()).args(["--time-zone", "Europe/Warsaw"])),
        start_and_stop(local_stack(dir.path()).env("EWORK_TIME_ZONE", "Europe/Warsaw")),
    ] {
        assert!(!refused.ok, "{refused:?}");
        assert!(
            refused.stderr.contains(&format!(
                "the data dir {} runs in the time zone America/New_York",
                dir.path().display()
            )),
            "{refused:?}"
        );
        assert!(
            refused
                .stderr
                .contains("--time-zone or EWORK_TIME_ZONE asks for Europe/Warsaw"),
            "{refused:?}"
        );
        assert!(
            refused.stderr.contains(
                "drop --time-zone and unset EWORK_TIME_ZONE (or pass --time-zone America/New_York)"
            ),
            "{refused:?}"
        );
    }
    let record = std::fs::read_to_string(dir.path().join("stack.json")).unwrap();
    assert!(record.contains("America/New_York"), "{record}");
}

#[test]
fn a_data_dir_from_before_zones_were_recorded_adopts_the_zone_it_is_started_with() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_and_stop(&mut local_stack(dir.path()));
    assert!(first.ok, "{first:?}");
    // What a data dir made by an earlier version looks like: no record.
    std::fs::remove_file(dir.path().join("stack.json")).unwrap();

    let upgraded =
        start_and_stop(local_stack(dir.path()).args(["--time-zone", "America/New_York"]));
    assert!(upgraded.ok, "{upgraded:?}");
    let record = std::fs::read_to_string(dir.path().join("stack.json")).unwrap();
    assert!(record.contains("America/New_York"), "{record}");
    assert!(
        upgraded.stdout.contains("Existing data dir"),
        "the data is kept: {upgraded:?}"
    );
}

#[test]
fn the_banner_puts_no_key_on_a_command_line_and_the_log_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_and_stop(&mut local_stack(dir.path()));
    assert!(first.ok, "{first:?}");
    assert!(
        !first.stdout.contains("--api-key"),
        "a key on a command line stays in the shell history: {first:?}"
    );
    assert!(
        first.stdout.contains("export TEST_TIME_API_URL=")
            && first.stdout.contains("read -rs TEST_TIME_API_KEY"),
        "{first:?}"
    );
    // Its stderr is a pipe here, as when it goes to a log file.
    assert!(
        first.stderr.contains("sample course published"),
        "the log is there: {first:?}"
    );
    assert!(!first.stderr.contains('\x1b'), "{first:?}");
}

#[test]
fn every_command_exits_quietly_when_its_output_is_closed() {
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let (course_dir, data_dir) = (
        course.path().to_str().unwrap(),
        data.path().to_str().unwrap(),
    );
    let synced = run(trainer().args(["sync", course_dir, "--local", data_dir, "--now", NOW]));
    assert!(synced.ok, "{synced:?}");
    let local = ["--local", data_dir];
    let commands: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["keys", "--help"],
        vec!["--version"],
        vec!["validate", course_dir],
        [&["sync", course_dir, "--now", NOW][..], &local].concat(),
        [&["keys", "issue", "--missing"][..], &local].concat(),
        [&["keys", "list"][..], &local].concat(),
        [&["student", "export", "student01"][..], &local].concat(),
        [&["student", "erase", "student01"][..], &local].concat(),
        [&["score", "--now", NOW, "--dry-run"][..], &local].concat(),
    ];
    for args in commands {
        // A pipe whose reading end is already closed, like `| true` that has exited.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = trainer()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("the trainer binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "trainer {args:?} | true: {stderr}"
        );
        assert!(
            !stderr.to_lowercase().contains("broken pipe") && !stderr.contains("panicked"),
            "trainer {args:?} | true: {stderr}"
        );
    }
}
