//! End-to-end tests of the `test-time` binary against the real local stack
//! (`trainer local`, started per test on a free port and a temp data dir).
//!
//! The `trainer` binary lives in another package, so Cargo does not build it for
//! these tests. The helper builds it once with `cargo build -p trainer` into the
//! same target dir as this test binary (derived from the test's own path, so
//! CARGO_TARGET_DIR and --target-dir both work). Set TEST_TIME_TRAINER_BIN to use
//! a binary built elsewhere.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use ework_adapters::local::LocalStore;
use ework_domain::ids::StudentId;
use ework_domain::layout;
use ework_domain::model::Roster;
use ework_domain::store_json;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Instant;

const TEST_TIME: &str = env!("CARGO_BIN_EXE_test-time");

// ---------------------------------------------------------------- the stack

fn trainer_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("TEST_TIME_TRAINER_BIN") {
            return PathBuf::from(p);
        }
        // <target>/<profile>/deps/cli-<hash> -> <target>
        let exe = std::env::current_exe().expect("path of the test binary");
        let target = exe
            .ancestors()
            .nth(3)
            .expect("test binary lives in <target>/<profile>/deps")
            .to_path_buf();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "trainer",
                "--bin",
                "trainer",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(&workspace)
            .status()
            .expect("running cargo build -p trainer");
        assert!(
            status.success(),
            "cargo build -p trainer failed; the tests need the local stack"
        );
        target
            .join("debug")
            .join(format!("trainer{}", std::env::consts::EXE_SUFFIX))
    })
}

/// A running `trainer local`; killed on drop.
struct Stack {
    child: Child,
    /// The stack's log (stderr), shown when it fails to start.
    _log: tempfile::NamedTempFile,
    url: String,
    /// Student id -> key, printed on the first start of a data dir.
    keys: BTreeMap<String, String>,
}

impl Stack {
    /// Starts the stack on `data_dir`. `first` means the data dir is new and the
    /// sample students' keys are expected on stdout.
    fn start(data_dir: &Path, now: Option<DateTime<Utc>>, first: bool) -> Stack {
        let mut cmd = Command::new(trainer_bin());
        cmd.arg("local")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--port", "0"]);
        if let Some(now) = now {
            cmd.arg("--now").arg(now.to_rfc3339());
        }
        let log = tempfile::NamedTempFile::new().expect("log file");
        let log_handle = log.reopen().expect("log file handle");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_handle)
            .spawn()
            .expect("starting trainer local");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout for the life of the stack, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Receiver gone: keep reading and dropping.
                    continue;
                }
            }
        });
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let mut url = None;
        let mut keys = BTreeMap::new();
        let mut seen = Vec::new();
        while url.is_none() || (first && keys.len() < 4) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "trainer local did not print the API URL and keys in time; it printed:\n{}",
                    seen.join("\n")
                );
            };
            if let Some(rest) = line.trim().strip_prefix("API URL:") {
                url = Some(rest.trim().trim_end_matches('/').to_string());
            }
            // `  <studentId>  <key>` (extra columns tolerated): the id is the word before the key.
            let words: Vec<&str> = line.split_whitespace().collect();
            for pair in words.windows(2) {
                let key = pair[1];
                let is_key = key.len() == 44
                    && key.starts_with("ewk_")
                    && key[4..].chars().all(|c| c.is_ascii_hexdigit());
                if is_key {
                    keys.insert(pair[0].trim_end_matches(':').to_string(), key.to_string());
                }
            }
            seen.push(line);
        }
        let url = url.unwrap_or_default();
        wait_for_port(&url);
        Stack {
            child,
            _log: log,
            url,
            keys,
        }
    }

    fn key(&self, student: &str) -> &str {
        self.keys
            .get(student)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no key printed for {student}"))
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(url: &str) {
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    for _ in 0..100 {
        if TcpStream::connect(&addr).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the stack at {url} does not accept connections");
}

// ---------------------------------------------------------------- the client

/// A student's machine: a private HOME and config dir, so nothing of the
/// developer's own configuration is read.
struct Student {
    home: tempfile::TempDir,
    env: Vec<(String, String)>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Student {
    fn new() -> Student {
        Student {
            home: tempfile::tempdir().expect("temp home"),
            env: Vec::new(),
        }
    }

    /// A student with URL, key and id in TEST_TIME_* variables.
    fn with_env(url: &str, key: &str, id: &str) -> Student {
        let mut s = Student::new();
        s.env = vec![
            ("TEST_TIME_API_URL".into(), url.into()),
            ("TEST_TIME_API_KEY".into(), key.into()),
            ("TEST_TIME_STUDENT_ID".into(), id.into()),
        ];
        s
    }

    fn config_dir(&self) -> PathBuf {
        self.home.path().join("xdg")
    }

    /// `test-time args` on this student's machine.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(TEST_TIME);
        cmd.args(args)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.config_dir())
            .env_remove("TEST_TIME_API_URL")
            .env_remove("TEST_TIME_API_KEY")
            .env_remove("TEST_TIME_STUDENT_ID")
            .env_remove("TEST_TIME_CONFIG")
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .env("TZ", "Europe/Warsaw")
            .env("TEST_TIME_TIMEOUT", "20");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Where the draft of a test is kept.
    fn draft(&self, student: &str, subject: &str, test: &str) -> PathBuf {
        self.config_dir()
            .join("ework/drafts")
            .join(student)
            .join(subject)
            .join(format!("{test}.json"))
    }

    fn run(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting test-time");
        let mut pipe = child.stdin.take().expect("piped stdin");
        // The client may exit before reading everything (that is fine).
        let _ = pipe.write_all(stdin.as_bytes());
        drop(pipe);
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().expect("test-time output");
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        };
        assert!(
            !run.stdout.contains("\x1b["),
            "no colours when stdout is not a terminal:\n{}",
            run.stdout
        );
        run
    }

    fn ok(&self, args: &[&str], stdin: &str) -> Run {
        let run = self.run(args, stdin);
        assert_eq!(
            run.code, 0,
            "test-time {args:?} failed:\n{}\n{}",
            run.stdout, run.stderr
        );
        run
    }

    fn json(&self, args: &[&str]) -> Value {
        let run = self.ok(args, "");
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{}", run.stdout))
    }
}

/// The open tests of `list --json`, as (subject, testId, submitted, dueAt).
fn open_tests(listing: &Value) -> Vec<(String, String, bool, String)> {
    listing["openTests"]
        .as_array()
        .expect("openTests is an array")
        .iter()
        .map(|t| {
            (
                t["subject"].as_str().unwrap_or_default().to_string(),
                t["testId"].as_str().unwrap_or_default().to_string(),
                t["submitted"].as_bool().unwrap_or_default(),
                t["dueAt"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The answer ids of each question of a test, from `show --json`.
fn options(student: &Student, subject: &str, test: &str) -> Vec<Vec<String>> {
    let shown = student.json(&["show", subject, test, "--json"]);
    let questions = shown["questions"].as_array().expect("questions array");
    questions
        .iter()
        .map(|q| {
            q["answers"]
                .as_array()
                .expect("answers array")
                .iter()
                .map(|a| a["answerId"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

/// Lines that pick operating-systems/test01 in the interactive chooser, starting
/// with one out-of-range number at each prompt that is actually shown.
fn choose_os_test01(listing: &Value) -> String {
    let tests = open_tests(listing);
    let mut subjects: Vec<&str> = Vec::new();
    for (subject, ..) in &tests {
        if !subjects.contains(&subject.as_str()) {
            subjects.push(subject);
        }
    }
    let mut input = String::new();
    let os = subjects
        .iter()
        .position(|s| *s == "operating-systems")
        .expect("operating-systems has open tests");
    if subjects.len() > 1 {
        input.push_str(&format!("99\n{}\n", os + 1));
    }
    let in_os: Vec<&str> = tests
        .iter()
        .filter(|(s, ..)| s == "operating-systems")
        .map(|(_, t, ..)| t.as_str())
        .collect();
    if in_os.len() > 1 {
        let t = in_os
            .iter()
            .position(|t| *t == "test01")
            .expect("test01 open");
        input.push_str(&format!("0\n{}\n", t + 1));
    }
    input
}

// ---------------------------------------------------------------- tests

#[test]
fn a_student_takes_a_test_interactively_from_listing_to_receipt() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::with_env(&stack.url, stack.key("student01"), "student01");
    let listing = student.json(&["list", "--json"]);
    let before = open_tests(&listing);
    assert!(before
        .iter()
        .any(|(s, t, submitted, _)| s == "operating-systems" && t == "test01" && !submitted));
    let opts = options(&student, "operating-systems", "test01");
    assert!(opts.len() >= 3, "the sample test has at least 3 questions");

    // Q1: an invalid answer, re-asked, then the first option in upper case.
    // Q2: skipped. Q3: back to Q2 and answered there, then Q3 and the rest answered.
    // Review: an unclear reply, then submit.
    let mut input = choose_os_test01(&listing);
    input.push_str(&format!("zz\n{}\n", opts[0][0].to_uppercase()));
    input.push('\n');
    input.push_str(&format!("<\n{}\n", opts[1][opts[1].len() - 1]));
    for q in &opts[2..] {
        input.push_str(&format!("{}\n", q[0]));
    }
    input.push_str("maybe\ny\n");
    let run = student.ok(&[], &input);
    let out = &run.stdout;

    let n = opts.len();
    assert!(out.contains(&format!("Question 1/{n}")), "{out}");
    assert!(
        out.contains("\"zz\" is not an answer to this question"),
        "{out}"
    );
    assert_eq!(
        out.matches(&format!("Question 2/{n}")).count(),
        2,
        "went back to question 2:\n{out}"
    );
    assert!(out.contains("Review your answers"), "{out}");
    assert!(out.contains(&format!("{n} answered, 0 skipped")), "{out}");
    assert!(out.contains("\"maybe\": type y, n"), "{out}");
    assert!(out.contains("Submitted at"), "{out}");
    assert!(out.contains("Receipt: sha256 "), "{out}");
    assert!(
        !out.contains("replaced your earlier"),
        "first submission replaces nothing:\n{out}"
    );
    if choose_os_test01(&listing).contains("99") {
        assert!(out.contains("\"99\" is not a number from 1 to"), "{out}");
    }

    let after = open_tests(&student.json(&["list", "--json"]));
    assert!(after
        .iter()
        .any(|(s, t, submitted, _)| s == "operating-systems" && t == "test01" && *submitted));

    // Taking it again starts from what was submitted (straight to the review), and
    // the receipt says the answers were replaced.
    let mut again = choose_os_test01(&student.json(&["list", "--json"]));
    again.push_str("y\n");
    let run = student.ok(&[], &again);
    assert!(
        run.stdout.contains("You already submitted this test"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Your submitted answers are filled in"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{n} answered, 0 skipped")),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("Question 1/"),
        "no question asked again:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("This submission replaced your earlier one."),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("left unanswered"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("does not match"),
        "the receipt describes what was sent:\n{}",
        run.stdout
    );
}

#[test]
fn quitting_at_the_review_sends_nothing_and_exits_non_zero() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::with_env(&stack.url, stack.key("student02"), "student02");
    let opts = options(&student, "operating-systems", "test01");
    let mut input = String::new();
    for q in &opts {
        input.push_str(&format!("{}\n", q[0]));
    }
    // n asks first; "no" goes back to the review, then n and yes quit.
    input.push_str("n\nn\nn\ny\n");
    let run = student.run(&["take", "operating-systems", "test01"], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout.matches("Quit without sending?").count(),
        2,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Nothing sent."), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("test-time submit operating-systems test01 --draft"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stderr.contains("error:"),
        "quitting is not an error:\n{}",
        run.stderr
    );
    let listing = student.json(&["list", "--json"]);
    assert!(open_tests(&listing)
        .iter()
        .any(|(s, t, submitted, _)| s == "operating-systems" && t == "test01" && !submitted));
    assert_eq!(
        listing["openTests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["subject"] == "operating-systems" && t["testId"] == "test01")
            .unwrap()["unsentDraft"],
        true,
        "{listing}"
    );

    // Input that ends in the middle of the test sends nothing either; the draft of
    // the attempt before is declined, so this one starts afresh.
    let run = student.run(
        &["take", "operating-systems", "test01"],
        &format!("n\n{}\n", opts[0][0]),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("input ended before the test was finished"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("your answers are kept in"),
        "{}",
        run.stderr
    );
}

#[test]
fn non_interactive_submit_prints_a_receipt_and_validates_before_sending() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::with_env(&stack.url, stack.key("student03"), "student03");
    let opts = options(&student, "operating-systems", "test01");
    let firsts: Vec<&str> = opts.iter().map(|q| q[0].as_str()).collect();

    // Wrong count and unknown options are refused locally (usage error), nothing stored.
    let run = student.run(
        &["submit", "operating-systems", "test01", "--answers", "a"],
        "",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "the test has {} questions but 1 answers",
            opts.len()
        )),
        "{}",
        run.stderr
    );
    let mut bad = firsts.clone();
    bad[1] = "zz";
    let run = student.run(
        &[
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            &bad.join(","),
        ],
        "",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("answer \"zz\" to question 2"),
        "{}",
        run.stderr
    );
    let listing = open_tests(&student.json(&["list", "--json"]));
    assert!(listing
        .iter()
        .any(|(s, t, submitted, _)| s == "operating-systems" && t == "test01" && !submitted));

    let run = student.ok(
        &[
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            &firsts.join(","),
        ],
        "",
    );
    assert!(run.stdout.contains("Submitted at"), "{}", run.stdout);
    assert!(run.stdout.contains("Receipt: sha256 "), "{}", run.stdout);

    // From a file, one answer per line, the last one left out; JSON receipt.
    let file = student.home.path().join("answers.txt");
    let mut lines: Vec<&str> = firsts.clone();
    *lines.last_mut().unwrap() = "-";
    std::fs::write(&file, format!("# my answers\n{}\n", lines.join("\n"))).unwrap();
    let receipt = student.json(&[
        "submit",
        "operating-systems",
        "test01",
        "--answers-file",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(receipt["replaced"], true);
    assert_eq!(receipt["unanswered"], 1);
    assert_eq!(receipt["sha256"].as_str().map(str::len), Some(64));

    // The table lists the test as submitted.
    let table = student.ok(&["list"], "");
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with("operating-systems") && l.contains("test01"));
    assert!(
        row.is_some_and(|r| r.contains("submitted")),
        "{}",
        table.stdout
    );
}

#[test]
fn first_run_asks_for_the_settings_saves_them_privately_and_reuses_them() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::new();
    let key = stack.key("student04");
    let file = student.config_dir().join("ework").join("test-time.conf");
    let wrong = "ewk_0000000000000000000000000000000000000000";

    // A key the API refuses is asked for again, and nothing is saved until it works.
    let input = format!("{}\n{wrong}\nstudent04\n", stack.url);
    let run = student.run(&["take", "operating-systems", "test01"], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("your API key was refused")
            && run.stdout.contains("Type your API key again."),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("API key (input hidden):").count(),
        2,
        "{}",
        run.stdout
    );
    assert!(!file.exists(), "a refused key is not saved");

    // A bad URL, a refused key and a bad id are asked again; input then ends at the
    // first question.
    let input = format!(
        "not a url\n{}\n{wrong}\n../x\nstudent04\n{key}\n",
        stack.url
    );
    let run = student.run(&["take", "operating-systems", "test01"], &input);
    assert!(
        run.stdout.contains("Welcome to test-time"),
        "{}",
        run.stdout
    );
    // Greeted by the name the roster has for student04.
    assert!(
        run.stdout.contains("Welcome, Dmitri Student!"),
        "greeted once the settings work:\n{}",
        run.stdout
    );
    let greeting = run.stdout.find("Welcome, Dmitri Student!").unwrap();
    assert!(
        run.stdout.find("your API key was refused").unwrap() < greeting,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("is not valid"), "{}", run.stdout);
    assert!(
        run.stdout.contains("must start with a letter or digit"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(key),
        "the key is never echoed:\n{}",
        run.stdout
    );

    let text = std::fs::read_to_string(&file).expect("config saved under XDG_CONFIG_HOME");
    assert!(
        text.contains(&format!("apiKey={key}")) && text.contains("studentId=student04"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let shown = student.ok(&["config"], "");
    assert!(shown.stdout.contains(&stack.url), "{}", shown.stdout);
    assert!(!shown.stdout.contains(key), "key masked:\n{}", shown.stdout);
    assert!(shown.stdout.contains(&key[..8]), "{}", shown.stdout);
    // Saved settings are enough for the next run.
    student.ok(&["list"], "");
}

#[test]
fn config_round_trips_through_the_file_and_flags_override_it() {
    let student = Student::new();
    let file = student.home.path().join("custom.conf");
    let file_arg = file.to_str().unwrap();
    let key = "ewk_0123456789abcdef0123456789abcdef01234567";
    student.ok(
        &[
            "--config",
            file_arg,
            "--api-url",
            "http://127.0.0.1:9/api/v1/",
            "--api-key",
            key,
            "--student-id",
            "student09",
            "config",
            "--save",
        ],
        "",
    );
    let shown = student.ok(&["--config", file_arg, "config"], "");
    assert!(
        shown.stdout.contains("http://127.0.0.1:9   (from"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("ewk_0123...4567"), "{}", shown.stdout);
    assert!(!shown.stdout.contains(key), "{}", shown.stdout);
    assert!(shown.stdout.contains("student09"), "{}", shown.stdout);

    let shown = student.ok(
        &["--config", file_arg, "--student-id", "student10", "config"],
        "",
    );
    assert!(
        shown
            .stdout
            .contains("student10   (from command line / environment)"),
        "{}",
        shown.stdout
    );

    // --edit: Enter keeps a value, a typed one replaces it.
    student.ok(
        &["--config", file_arg, "config", "--edit"],
        "\n\nstudent11\n",
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("studentId=student11") && text.contains(&format!("apiKey={key}")),
        "{text}"
    );
}

#[test]
fn original_format_config_in_home_is_used() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::new();
    let dir = student.home.path().join(".trainings");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config"),
        format!(
            "apiUrl=\"{}\"\napiKey={}\nstudentId=student01\n",
            stack.url,
            stack.key("student01")
        ),
    )
    .unwrap();
    let listing = student.json(&["list", "--json"]);
    assert!(!open_tests(&listing).is_empty());
    let shown = student.ok(&["config"], "");
    assert!(
        shown.stdout.contains(".trainings/config"),
        "{}",
        shown.stdout
    );
}

#[test]
fn missing_settings_are_named_when_not_interactive() {
    let student = Student::new();
    let run = student.run(&["list"], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not set up yet") && run.stderr.contains("TEST_TIME_API_URL"),
        "{}",
        run.stderr
    );
}

#[test]
fn wrong_key_and_someone_elses_id_are_refused_with_exit_code_3() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let wrong = Student::with_env(
        &stack.url,
        "ewk_0000000000000000000000000000000000000000",
        "student01",
    );
    let run = wrong.run(&["list"], "");
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("your API key was refused"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: check the key"), "{}", run.stderr);

    let other = Student::with_env(&stack.url, stack.key("student01"), "student02");
    let run = other.run(&["list"], "");
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("student01") && run.stderr.contains("student02"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_student_taken_off_the_roster_is_told_so() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let key = stack.key("student03").to_string();
    Student::with_env(&stack.url, &key, "student03").ok(&["list"], "");
    // The API keeps the roster it read for a while: the change is made between two
    // runs of the stack.
    stack.stop();

    // The trainer removes student03 from the roster; the key stays valid.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = LocalStore::open(data.path()).expect("the stack's store");
        let mut roster: Roster = store_json::read(&store, &layout::roster())
            .await
            .expect("roster readable")
            .expect("the stack keeps the roster in its data dir");
        let gone = StudentId::parse("student03").unwrap();
        roster.0.retain(|s| s.student_id != gone);
        store_json::write(&store, &layout::roster(), &roster)
            .await
            .expect("roster written");
    });

    let stack = Stack::start(data.path(), None, false);
    let student = Student::with_env(&stack.url, &key, "student03");
    let run = student.run(&["list"], "");
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("you are not on this course's roster"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("ask your trainer to add you"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_closed_test_is_refused_with_its_deadline_and_exit_code_4() {
    let data = tempfile::tempdir().unwrap();
    let start = Utc::now();
    let stack = Stack::start(data.path(), Some(start), true);
    let key = stack.key("student01").to_string();
    let student = Student::with_env(&stack.url, &key, "student01");
    let listing = open_tests(&student.json(&["list", "--json"]));
    let (_, _, _, due) = listing
        .iter()
        .find(|(s, t, _, _)| s == "operating-systems" && t == "test01")
        .expect("test01 open at the start")
        .clone();
    let answers = vec!["a"; options(&student, "operating-systems", "test01").len()].join(",");
    stack.stop();

    // Same data dir eight days later: every weekly deadline has passed.
    let later = Stack::start(data.path(), Some(start + Duration::days(8)), false);
    let student = Student::with_env(&later.url, &key, "student01");
    let run = student.run(
        &[
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            &answers,
        ],
        "",
    );
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let due: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(&due).unwrap();
    let deadline = due.format("%Y-%m-%d %H:%M").to_string();
    assert!(run.stderr.contains("this test is closed"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&deadline),
        "deadline {deadline} named:\n{}",
        run.stderr
    );

    let run = student.run(&["take", "operating-systems", "test01"], "");
    assert_eq!(run.code, 4, "{}", run.stderr);
}

#[test]
fn an_unreachable_api_is_a_network_failure_with_exit_code_5() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let student = Student::with_env(&url, "ewk_x", "student01");
    let started = Instant::now();
    let run = student.run(&["list"], "");
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("cannot reach the API at {url}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains("connection refused"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: check your internet connection"),
        "{}",
        run.stderr
    );
    // The one retry waits half a second before trying again.
    assert!(started.elapsed() >= std::time::Duration::from_millis(500));
}

/// Answers exactly one request with `status` and `body`, then stops.
fn one_shot_server(
    status: &str,
    content_type: &str,
    body: &str,
) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the head and the body (small JSON) before answering.
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length {
                    break;
                }
            }
        }
        stream.write_all(response.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (url, handle)
}

#[test]
fn a_server_error_is_reported_as_such_with_exit_code_6() {
    let body =
        r#"{"code":500,"body":"something went wrong on our side; the trainer has been told"}"#;
    let (url, server) = one_shot_server("500 Internal Server Error", "application/json", body);
    let student = Student::with_env(&url, "ewk_secret", "student01");
    let run = student.run(&["list"], "");
    let request = server.join().unwrap();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the server had a problem (HTTP 500): something went wrong on our side"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing is wrong on your side"),
        "{}",
        run.stderr
    );
    assert!(request.starts_with("POST /api/v1/tests "), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("x-api-key: ewk_secret"),
        "{request}"
    );
}

#[test]
fn a_gateway_error_page_that_is_not_json_is_still_explained() {
    let (url, server) = one_shot_server("502 Bad Gateway", "text/html", "<html>bad gateway</html>");
    let student = Student::with_env(&url, "ewk_secret", "student01");
    let run = student.run(&["show", "operating-systems", "test01"], "");
    server.join().unwrap();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains("(HTTP 502): Bad Gateway"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("<html>"), "{}", run.stderr);
}

#[test]
fn an_api_that_never_answers_times_out_with_exit_code_5() {
    // Bound and listening, never accepting: the request is sent and nothing comes back.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut student = Student::with_env(&url, "ewk_x", "student01");
    student.env.push(("TEST_TIME_TIMEOUT".into(), "1".into()));
    let run = student.run(&["list"], "");
    drop(listener);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("did not answer within 1 s"),
        "{}",
        run.stderr
    );
}

#[test]
fn completions_and_man_page_are_generated() {
    let student = Student::new();
    let bash = student.ok(&["completions", "bash"], "");
    assert!(
        bash.stdout.contains("complete -F _test__time"),
        "{}",
        bash.stdout
    );
    assert!(bash.stdout.contains("submit"), "{}", bash.stdout);
    let man = student.ok(&["man"], "");
    assert!(man.stdout.contains(".TH test-time"), "{}", man.stdout);
}

#[test]
fn the_man_page_has_the_reference_sections_and_points_at_no_missing_page() {
    let man = Student::new().ok(&["man"], "").stdout;
    for section in [
        ".SH EXAMPLES",
        ".SH FILES",
        ".SH ENVIRONMENT",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(man.contains(section), "{section}:\n{man}");
    }
    assert!(!man.contains("(1)"), "{man}");
    let help = Student::new().ok(&["--help"], "").stdout;
    assert!(
        help.contains("Examples:") && help.contains("Exit status:"),
        "{help}"
    );
}

// ------------------------------------------------ drafts, retries, interruptions

/// A test-time run typed into line by line, reading what it prints as it goes.
struct Session {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    out: std::sync::Arc<std::sync::Mutex<String>>,
    err: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Session {
    fn start(student: &Student, args: &[&str]) -> Session {
        let mut child = student
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting test-time");
        let collect = |pipe: Box<dyn Read + Send>| {
            let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
            let sink = text.clone();
            std::thread::spawn(move || {
                let mut pipe = pipe;
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
            text
        };
        let out = collect(Box::new(child.stdout.take().unwrap()));
        let err = collect(Box::new(child.stderr.take().unwrap()));
        Session {
            stdin: child.stdin.take(),
            child,
            out,
            err,
        }
    }

    /// Waits until `text` was printed `times` times.
    fn wait_for(&self, text: &str, times: usize) {
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.out.lock().unwrap().matches(text).count() >= times {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!(
            "waited in vain for {text:?} x{times}:\n{}\n{}",
            self.out.lock().unwrap(),
            self.err.lock().unwrap()
        );
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("typing into test-time");
    }

    /// Ctrl-C.
    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    fn finish(mut self) -> Run {
        drop(self.stdin.take());
        let status = self.child.wait().expect("test-time ends");
        // The readers end with the pipes.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout: self.out.lock().unwrap().clone(),
            stderr: self.err.lock().unwrap().clone(),
        };
        run
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn an_interrupted_attempt_is_kept_as_a_private_draft_and_resumed_where_it_stopped() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::with_env(&stack.url, stack.key("student01"), "student01");
    let opts = options(&student, "operating-systems", "test01");
    let n = opts.len();

    let mut session = Session::start(&student, &["take", "operating-systems", "test01"]);
    session.wait_for("Question 1/", 1);
    session.send(&opts[0][0]);
    session.wait_for("Question 2/", 1);
    session.send(&opts[1][1]);
    session.wait_for("Question 3/", 1);
    session.interrupt();
    let run = session.finish();
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    let draft = student.draft("student01", "operating-systems", "test01");
    assert!(
        run.stderr.contains("Interrupted: nothing was sent.")
            && run.stderr.contains(&draft.display().to_string())
            && run
                .stderr
                .contains("test-time submit operating-systems test01 --draft"),
        "{}",
        run.stderr
    );
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&draft).unwrap()).unwrap();
    assert_eq!(kept["testResult"].as_array().unwrap().len(), 2, "{kept}");
    assert_eq!(kept["position"], 2, "{kept}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&draft), 0o600);
        assert_eq!(mode(draft.parent().unwrap()), 0o700);
    }
    let listing = student.json(&["list", "--json"]);
    let entry = listing["openTests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["subject"] == "operating-systems" && t["testId"] == "test01")
        .unwrap()
        .clone();
    assert_eq!(entry["submitted"], false);
    assert_eq!(entry["unsentDraft"], true);
    assert!(
        student.ok(&["list"], "").stdout.contains("unsent draft"),
        "the table marks it"
    );

    // The next run offers the draft first and resumes at question 3.
    let mut input = String::from("y\n");
    for q in &opts[2..] {
        input.push_str(&format!("{}\n", q[0]));
    }
    input.push_str("y\n");
    let run = student.ok(&[], &input);
    assert!(
        run.stdout
            .contains("You have unsent answers: operating-systems / test01: 2 answered"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Question 1/"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("Question 3/{n}  (2 answered so far)")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{n} answered, 0 skipped")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Submitted at"), "{}", run.stdout);
    assert!(!draft.exists(), "a stored submission removes its draft");
    let shown = student.json(&["show", "operating-systems", "test01", "--json"]);
    assert_eq!(
        shown["submission"]["testResult"][1]["answer"],
        opts[1][1].as_str(),
        "the answer given before Ctrl-C was sent: {shown}"
    );
}

/// A proxy to the stack that answers the next `fail` uploads with 503, as an
/// overloaded server would.
struct FlakyProxy {
    url: String,
    fail: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// One HTTP message (head and content-length body) from `stream`, `buf` holding
/// what was read past the previous one. `None` at the end of the stream.
fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            while buf.len() < total {
                let n = stream.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let message = buf[..total].to_vec();
            buf.drain(..total);
            return Some(message);
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

impl FlakyProxy {
    fn start(upstream: &str, fail: usize) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let fail = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(fail));
        let left = fail.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { break };
                let (upstream, left) = (upstream.clone(), left.clone());
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    while let Some(request) = read_message(&mut client, &mut buf) {
                        let upload = request.starts_with(b"POST /api/v1/test ");
                        let failing = upload
                            && left
                                .fetch_update(
                                    std::sync::atomic::Ordering::SeqCst,
                                    std::sync::atomic::Ordering::SeqCst,
                                    |n| n.checked_sub(1),
                                )
                                .is_ok();
                        if failing {
                            let body =
                                r#"{"code":503,"body":"busy, try again","reason":"unavailable"}"#;
                            let _ = client.write_all(
                                format!(
                                    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                    body.len()
                                )
                                .as_bytes(),
                            );
                            return;
                        }
                        let Ok(mut up) = TcpStream::connect(&upstream) else {
                            return;
                        };
                        if up.write_all(&request).is_err() {
                            return;
                        }
                        let mut up_buf = Vec::new();
                        let Some(response) = read_message(&mut up, &mut up_buf) else {
                            return;
                        };
                        if client.write_all(&response).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FlakyProxy { url, fail }
    }

    fn fail_next(&self, uploads: usize) {
        self.fail
            .store(uploads, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_failed_send_offers_a_retry_keeps_the_answers_and_says_how_to_resend() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let proxy = FlakyProxy::start(&stack.url, 2);
    let student = Student::with_env(&proxy.url, stack.key("student02"), "student02");
    let opts = options(&student, "operating-systems", "test01");
    let firsts: Vec<&str> = opts.iter().map(|q| q[0].as_str()).collect();

    // Submit, refused twice: retry once, then give up.
    let mut input: String = firsts.iter().map(|a| format!("{a}\n")).collect();
    input.push_str("y\ny\nn\n");
    let run = student.run(&["take", "operating-systems", "test01"], &input);
    assert_eq!(run.code, 6, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.matches("Try sending again?").count(),
        2,
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout
            .matches("Not sent: the server had a problem (HTTP 503)")
            .count(),
        2,
        "{}",
        run.stdout
    );
    let draft = student.draft("student02", "operating-systems", "test01");
    assert!(
        run.stderr.contains("not sent: the server had a problem")
            && run.stderr.contains(&draft.display().to_string())
            && run
                .stderr
                .contains("`test-time submit operating-systems test01 --draft`"),
        "{}",
        run.stderr
    );
    assert!(draft.exists());
    assert!(open_tests(&student.json(&["list", "--json"]))
        .iter()
        .any(|(s, t, submitted, _)| s == "operating-systems" && t == "test01" && !submitted));

    // What the hint says works, and takes the draft away.
    let run = student.ok(&["submit", "operating-systems", "test01", "--draft"], "");
    assert!(run.stdout.contains("Submitted at"), "{}", run.stdout);
    assert!(!draft.exists());
    let run = student.run(&["submit", "operating-systems", "test01", "--draft"], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no unsent answers to operating-systems/test01"),
        "{}",
        run.stderr
    );

    // A retry that gets through: the receipt, and no draft left.
    proxy.fail_next(1);
    let run = student.ok(&["take", "operating-systems", "test01"], "y\ny\n");
    assert!(run.stdout.contains("Try sending again?"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("This submission replaced your earlier one."),
        "{}",
        run.stdout
    );
    assert!(!draft.exists());

    // A non-interactive submit that fails keeps its answers for --draft too.
    proxy.fail_next(1);
    let run = student.run(
        &[
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            &firsts.join(","),
        ],
        "",
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(draft.exists(), "{}", run.stderr);
    student.ok(&["submit", "operating-systems", "test01", "--draft"], "");
}

#[test]
fn an_unknown_subject_is_refused_naming_the_subjects_with_open_tests() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::with_env(&stack.url, stack.key("student01"), "student01");
    let run = student.run(&["take", "chemistry"], "");
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr.contains("no open test in \"chemistry\"")
            && run.stderr.contains("operating-systems"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("No open tests"), "{}", run.stdout);

    // With a test named, the API answers, naming what is open instead.
    let run = student.run(&["take", "chemistry", "test01"], "");
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("your subjects with open tests are: networks, operating-systems"),
        "{}",
        run.stderr
    );
    // test02 of operating-systems is not published (a draft of the trainer's).
    let run = student.run(&["take", "operating-systems", "test02"], "");
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the open tests of operating-systems are: test01"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_command_exits_quietly_when_its_output_is_closed() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::with_env(&stack.url, stack.key("student03"), "student03");
    let answers = vec!["a"; options(&student, "operating-systems", "test01").len()].join(",");
    let commands: Vec<Vec<&str>> = vec![
        vec![],
        vec!["take", "operating-systems", "test01"],
        vec!["list"],
        vec!["list", "--json"],
        vec!["show", "operating-systems", "test01"],
        vec!["show", "operating-systems", "test01", "--json"],
        vec![
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            &answers,
        ],
        vec!["config"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["man"],
        vec!["--help"],
        vec!["list", "--help"],
        vec!["--version"],
    ];
    for args in commands {
        // A pipe whose reading end is already closed, like `| true` that has exited.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = student
            .command(&args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("test-time runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "test-time {args:?} | true: {stderr}"
        );
        assert!(
            !stderr.to_lowercase().contains("broken pipe") && !stderr.contains("panicked"),
            "test-time {args:?} | true: {stderr}"
        );
    }
}

#[test]
fn deadlines_name_the_zone_and_the_trainers_time_when_it_differs() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let mut student = Student::with_env(&stack.url, stack.key("student01"), "student01");
    let table = student.ok(&["list"], "").stdout;
    let row = table
        .lines()
        .find(|l| l.starts_with("operating-systems") && l.contains("test01"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains(" CET") || row.contains(" CEST"),
        "the zone is named: {row}"
    );
    assert!(
        !row.contains("for your trainer"),
        "same zone, one time: {row}"
    );

    student.env.push(("TZ".into(), "America/New_York".into()));
    let table = student.ok(&["list"], "").stdout;
    let row = table
        .lines()
        .find(|l| l.starts_with("operating-systems") && l.contains("test01"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        (row.contains(" EST") || row.contains(" EDT"))
            && row.contains("23:00 UTC+0")
            && row.contains("for your trainer"),
        "both times, each with its zone: {row}"
    );
}

#[test]
fn show_tells_what_was_submitted_and_checks_its_receipt() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let student = Student::with_env(&stack.url, stack.key("student04"), "student04");
    let before = student.ok(&["show", "operating-systems", "test01"], "");
    assert!(
        before.stdout.contains("Not submitted yet."),
        "{}",
        before.stdout
    );
    let opts = options(&student, "operating-systems", "test01");
    let mut answers: Vec<&str> = opts.iter().map(|q| q[0].as_str()).collect();
    answers[0] = "-";
    student.ok(
        &[
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            &answers.join(","),
        ],
        "",
    );
    let shown = student.ok(&["show", "operating-systems", "test01"], "");
    assert_eq!(
        shown.stdout.matches("<- your answer").count(),
        opts.len() - 1,
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains(&format!(
            "Submitted: {} of {} question(s) answered.",
            opts.len() - 1,
            opts.len()
        )),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("(it matches the answers stored)"),
        "{}",
        shown.stdout
    );
    let json = student.json(&["show", "operating-systems", "test01", "--json"]);
    assert_eq!(json["receiptMatchesAnswers"], true, "{json}");
    assert_eq!(
        json["submission"]["receipt"]["sha256"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    assert_eq!(json["submission"]["receipt"]["studentId"], "student04");
}

#[test]
fn text_is_wrapped_to_the_columns_given() {
    let data = tempfile::tempdir().unwrap();
    let stack = Stack::start(data.path(), None, true);
    let mut student = Student::with_env(&stack.url, stack.key("student01"), "student01");
    student.env.push(("COLUMNS".into(), "40".into()));
    for args in [vec!["show", "operating-systems", "test01"], vec!["list"]] {
        let out = student.ok(&args, "").stdout;
        for line in out.lines() {
            assert!(
                line.chars().count() <= 40,
                "{args:?}: {line:?} is wider than 40:\n{out}"
            );
        }
    }
    let list = student.ok(&["list"], "").stdout;
    assert!(
        list.contains("operating-systems / test01: to take"),
        "one block per test when the table does not fit:\n{list}"
    );
}

// ------------------------------------------- multiple answers, points, late window

/// An API that answers from fixed documents in the shapes of issue 13 and keeps
/// every request it got. Unlike the local stack (whose clock `--now` freezes),
/// its dates follow the real clock, which test-time's own warnings read.
struct FakeApi {
    url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl FakeApi {
    fn start(listing: Value, test: Value) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { break };
                let mut buf = Vec::new();
                while let Some(request) = read_message(&mut client, &mut buf) {
                    let text = String::from_utf8_lossy(&request).into_owned();
                    seen.lock().unwrap().push(text.clone());
                    let body = if text.starts_with("POST /api/v1/tests ") {
                        listing.clone()
                    } else if text.starts_with("GET /api/v1/test?") {
                        test.clone()
                    } else {
                        FakeApi::receipt(&text)
                    };
                    let body = body.to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if client.write_all(response.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        FakeApi { url, requests }
    }

    /// The receipt of an upload, over the answers as they arrived.
    fn receipt(request: &str) -> Value {
        use ework_domain::ids::{SubjectName, TestId};
        let body: Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let at = Utc::now();
        let student = StudentId::parse(body["studentId"].as_str().unwrap()).unwrap();
        let subject = SubjectName::parse(body["subjectName"].as_str().unwrap()).unwrap();
        let test = TestId::parse(body["testId"].as_str().unwrap()).unwrap();
        let answers = body["testResult"].as_array().unwrap();
        let sha256 = ework_domain::model::Receipt::digest(&student, &subject, &test, at, answers);
        serde_json::json!({
            "code": 200,
            "body": "Successfully uploaded test result",
            "receipt": {
                "studentId": student, "subjectName": subject, "testId": test,
                "receivedAt": at, "sha256": sha256, "replaced": false, "unanswered": 0
            }
        })
    }

    fn uploads(&self) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with("POST /api/v1/test "))
            .map(|r| serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap()).unwrap())
            .collect()
    }
}

/// A test due in `due_in` with a late window two days after the due, 3 points in
/// all: question 2 (multiple answers, 2 points) served before question 1.
fn issue13_api(due_in: Duration) -> FakeApi {
    let due = (Utc::now() + due_in).fixed_offset();
    let until = due + Duration::days(2);
    let late = serde_json::json!({"until": until, "penalty": "10%/day", "floor": "50%"});
    let listing = serde_json::json!({
        "code": 200,
        "student": {"studentId": "student07", "name": "Zoë Łukasiewicz"},
        "body": [{
            "subject": "operating-systems",
            "testIds": ["test01"],
            "tests": [{
                "testId": "test01", "title": "Processes", "dueAt": due,
                "submitted": false, "points": 3, "late": late
            }]
        }]
    });
    let option =
        |id: &str| serde_json::json!({"answerId": id, "answerBody": format!("option {id}")});
    let test = serde_json::json!({
        "code": 200,
        "test": {"subject": "operating-systems", "testId": "test01", "title": "Processes", "dueAt": due,
                 "late": late},
        "body": [
            {"questionId": "2", "question": "Which are system calls?", "multiple": true, "points": 2,
             "answers": [option("c"), option("a"), option("b")]},
            {"questionId": "1", "question": "Which creates a process?", "answers": [option("a"), option("b")]}
        ]
    });
    FakeApi::start(listing, test)
}

#[test]
fn a_multiple_answer_question_is_toggled_and_sent_as_an_array_in_the_served_order() {
    let api = issue13_api(Duration::days(2));
    let student = Student::with_env(&api.url, "ewk_x", "student07");
    // Q2 first as served: a in, c in, b in, b out, Enter; Q1: b; submit.
    let run = student.run(
        &["take", "operating-systems", "test01"],
        "a\nc\nb\nb\n\nB\ny\n",
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(out.contains("Hello Zoë Łukasiewicz!"), "{out}");
    assert!(out.contains("2 question(s), 3 points."), "{out}");
    assert!(
        out.contains("late until") && out.contains("with 10%/day, at least 50%"),
        "{out}"
    );
    let first = out.find("Which are system calls?").unwrap();
    assert!(
        first < out.find("Which creates a process?").unwrap(),
        "{out}"
    );
    assert!(
        out.contains("Question 1/2  [2 points, several answers]"),
        "{out}"
    );
    assert!(
        out.contains("Selected: a, b, c") && out.contains("Selected: a, c\n"),
        "{out}"
    );
    assert!(out.contains("->  a, c"), "{out}");
    assert!(!out.contains("will be late"), "{out}");
    assert!(!out.contains("does not match"), "{out}");
    assert_eq!(
        api.uploads()[0]["testResult"],
        serde_json::json!([
            {"questionId": "2", "answer": ["a", "c"]},
            {"questionId": "1", "answer": "b"}
        ])
    );
}

#[test]
fn after_the_due_the_late_window_is_shown_and_the_late_submission_is_warned_about() {
    let api = issue13_api(-Duration::hours(3));
    let student = Student::with_env(&api.url, "ewk_x", "student07");
    let run = student.run(&["take", "operating-systems", "test01"], "a c\n-\ny\n");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(", passed; late until"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "Your due time has passed: this submission will be late, and its score goes down by 10%/day, at least 50%."
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        api.uploads()[0]["testResult"],
        serde_json::json!([{"questionId": "2", "answer": ["a", "c"]}])
    );
    let listed = student.ok(&["list"], "");
    assert!(
        listed.stdout.contains("Processes (3 points)"),
        "{}",
        listed.stdout
    );
    // Non-interactively too, from the student's own window in the test as served.
    let run = student.ok(
        &["submit", "operating-systems", "test01", "--answers", "2=a"],
        "",
    );
    assert!(
        run.stderr.contains(
            "warning: Your due time has passed: this submission will be late, and its score goes down by 10%/day, at least 50%."
        ),
        "{}",
        run.stderr
    );
    let json = student.json(&["list", "--json"]);
    assert_eq!(json["name"], "Zoë Łukasiewicz");
    assert_eq!(json["openTests"][0]["late"]["penalty"], "10%/day");
    assert_eq!(json["openTests"][0]["points"], 3);
}

#[test]
fn submit_takes_multiple_answers_on_the_command_line() {
    let api = issue13_api(Duration::days(2));
    let student = Student::with_env(&api.url, "ewk_x", "student07");
    student.ok(
        &[
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            "2=b,a,1=a",
        ],
        "",
    );
    let run = student.run(
        &[
            "submit",
            "operating-systems",
            "test01",
            "--answers",
            "a z,b",
        ],
        "",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("\"z\" is not an option of this question; its options are c, a, b"),
        "{}",
        run.stderr
    );
    let uploads = api.uploads();
    assert_eq!(uploads.len(), 1, "a refused answer sends nothing");
    assert_eq!(
        uploads[0]["testResult"],
        serde_json::json!([
            {"questionId": "2", "answer": ["a", "b"]},
            {"questionId": "1", "answer": "a"}
        ])
    );
}

// ------------------------------ issue 13 end to end: test-time against the real API

/// A course of one test in a subject of its own: five questions, question 2 with
/// several right answers (a and c) worth 2 points, shuffled per student, due a day
/// after `published` for everyone but student02 (extension: three days), late
/// answers accepted until five days after `published` at 10%/day, never below 50%.
fn write_depth_course(dir: &Path, published: DateTime<Utc>) {
    let at = |days: i64| (published + Duration::days(days)).to_rfc3339();
    let students: Vec<Value> = (1..=4)
        .map(|i| {
            serde_json::json!({"student_id": format!("student0{i}"),
                "email": format!("student0{i}@example.com"), "name": format!("Student {i}")})
        })
        .collect();
    let option =
        |id: &str| serde_json::json!({"answerId": id, "answerBody": format!("option {id}")});
    let questions: Vec<Value> = (1..=5)
        .map(|i| {
            let mut q = serde_json::json!({"questionId": i.to_string(),
                "question": format!("Question number {i}?"),
                "answers": [option("a"), option("b"), option("c"), option("d")]});
            if i == 2 {
                q["points"] = 2.into();
            }
            q
        })
        .collect();
    let key: Vec<Value> = (1..=5)
        .map(|i| match i {
            2 => serde_json::json!({"questionId": "2", "answer": ["a", "c"]}),
            i => serde_json::json!({"questionId": i.to_string(), "answer": "a"}),
        })
        .collect();
    let test = serde_json::json!({
        "title": "Sorting", "due": at(1), "shuffle": true,
        "extensions": {"student02": {"due": at(3), "reason": "illness"}},
        "late": {"until": at(5), "penalty": "10%/day", "floor": "50%"}
    });
    let folder = dir.join("subjects/algorithms/week01");
    std::fs::create_dir_all(&folder).unwrap();
    let write = |path: PathBuf, v: &Value| {
        std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap()
    };
    write(dir.join("studentsList.json"), &Value::from(students));
    write(folder.join("questions.json"), &Value::from(questions));
    write(folder.join("questionsKey.json"), &Value::from(key));
    write(folder.join("test.json"), &test);
}

/// `trainer sync COURSE --local DATA --now NOW`, as the trainer publishes.
fn sync_course(course: &Path, data: &Path, now: DateTime<Utc>) {
    let out = Command::new(trainer_bin())
        .arg("sync")
        .arg(course)
        .arg("--local")
        .arg(data)
        .arg("--now")
        .arg(now.to_rfc3339())
        .output()
        .expect("running trainer sync");
    assert!(
        out.status.success(),
        "trainer sync failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The body of `GET /api/v1/test` as the API sends it, read without test-time.
fn raw_get_test(url: &str, key: &str, student: &str, subject: &str, test: &str) -> Value {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to the stack");
    let request = format!(
        "GET /api/v1/test?subjectName={subject}&testId={test}&studentId={student} HTTP/1.1\r\n\
         host: {addr}\r\nx-api-key: {key}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("no JSON ({e}): {body}"))
}

/// Question ids in the order of a list of questions (the API's `body`, or `show --json`'s).
fn question_ids(questions: &Value) -> Vec<String> {
    questions
        .as_array()
        .expect("questions array")
        .iter()
        .map(|q| q["questionId"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The listing's entry of algorithms/week01.
fn week01(listing: &Value) -> Value {
    listing["openTests"]
        .as_array()
        .expect("openTests array")
        .iter()
        .find(|t| t["subject"] == "algorithms" && t["testId"] == "week01")
        .unwrap_or_else(|| panic!("algorithms/week01 is not listed: {listing}"))
        .clone()
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{v} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// The answers stored for `student` by question id, read from the stack's store
/// after it stopped.
fn stored_answers(data: &Path, student: &str) -> Value {
    use ework_domain::ids::{SubjectName, TestId};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = LocalStore::open(data).expect("the stack's store");
        let key = layout::submission(
            &SubjectName::parse("algorithms").unwrap(),
            &TestId::parse("week01").unwrap(),
            &StudentId::parse(student).unwrap(),
        );
        let submission: ework_domain::model::Submission = store_json::read(&store, &key)
            .await
            .expect("submission readable")
            .unwrap_or_else(|| panic!("nothing stored for {student}"));
        // Kept in the order the student was asked; compared by question id.
        let mut answers = submission.test_result;
        answers.sort_by(|a, b| a.question_id.cmp(&b.question_id));
        serde_json::to_value(answers).unwrap()
    })
}

#[test]
fn a_shuffled_multiple_answer_test_with_an_extension_and_a_late_window_works_against_the_real_api()
{
    let data = tempfile::tempdir().unwrap();
    let course = tempfile::tempdir().unwrap();
    // Whole seconds, so the dates written in test.json are exactly these instants.
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let day = Duration::days(1);
    // The first start seeds the sample course and prints the keys; then the trainer
    // publishes this course into the same data dir.
    let seeded = Stack::start(data.path(), Some(now), true);
    let keys = seeded.keys.clone();
    seeded.stop();
    write_depth_course(course.path(), now);
    sync_course(course.path(), data.path(), now);

    let stack = Stack::start(data.path(), Some(now), false);
    let student = |id: &str| Student::with_env(&stack.url, &keys[id], id);
    let (ada, brian) = (student("student01"), student("student02"));

    // The listing: each student's own due and late window (student02's both moved
    // by the extension's two days), and the points.
    let a = week01(&ada.json(&["list", "--json"]));
    let b = week01(&brian.json(&["list", "--json"]));
    assert_eq!(instant(&a["dueAt"]), now + day);
    assert_eq!(instant(&a["late"]["until"]), now + day * 5);
    assert_eq!(instant(&b["dueAt"]), now + day * 3);
    assert_eq!(instant(&b["late"]["until"]), now + day * 7);
    for t in [&a, &b] {
        assert_eq!(t["late"]["penalty"], "10%/day", "{t}");
        assert_eq!(t["late"]["floor"], "50%", "{t}");
        assert_eq!(t["points"], 6, "{t}");
    }
    let listed = brian.ok(&["list"], "").stdout;
    assert!(listed.contains("Sorting (6 points)"), "{listed}");
    assert!(listed.contains("late until"), "{listed}");
    assert!(listed.contains("with 10%/day, at least 50%"), "{listed}");

    // The order: each student's own from the server, the same in test-time; not
    // everyone's the same (the test is shuffled).
    let served: Vec<Vec<String>> = (1..=4)
        .map(|i| {
            let id = format!("student0{i}");
            let page = raw_get_test(&stack.url, &keys[&id], &id, "algorithms", "week01");
            assert_eq!(page["test"]["late"]["floor"], "50%", "{page}");
            question_ids(&page["body"])
        })
        .collect();
    assert!(
        served.iter().any(|o| o != &served[0]),
        "four students, one order: {served:?}"
    );
    for order in &served {
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, ["1", "2", "3", "4", "5"], "{served:?}");
    }
    let shown = ada.json(&["show", "algorithms", "week01", "--json"]);
    assert_eq!(question_ids(&shown["questions"]), served[0]);
    let multiple: Vec<&Value> = shown["questions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["multiple"] == true)
        .collect();
    assert_eq!(multiple.len(), 1, "{shown}");
    assert_eq!(multiple[0]["questionId"], "2");
    assert_eq!(multiple[0]["points"], 2);
    let brian_shown = brian.ok(&["show", "algorithms", "week01"], "").stdout;
    assert!(brian_shown.contains("late until"), "{brian_shown}");
    assert!(
        brian_shown.contains("5 question(s), 6 points."),
        "{brian_shown}"
    );

    // student01 takes it interactively: at question 2, a in, c in, b in, b out;
    // every other question a.
    let mut input = String::new();
    for id in &served[0] {
        input.push_str(if id == "2" { "a\nc\nb\nb\n\n" } else { "a\n" });
    }
    input.push_str("y\n");
    let run = ada.ok(&["take", "algorithms", "week01"], &input);
    let out = &run.stdout;
    let positions: Vec<usize> = served[0]
        .iter()
        .map(|id| {
            out.find(&format!("Question number {id}?"))
                .unwrap_or_else(|| panic!("question {id} not shown:\n{out}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "asked in the server's order {:?}:\n{out}",
        served[0]
    );
    assert!(out.contains("[2 points, several answers]"), "{out}");
    assert!(out.contains("Selected: a, c\n"), "{out}");
    assert!(out.contains("Submitted at"), "{out}");
    assert!(!out.contains("does not match"), "{out}");
    assert!(!out.to_lowercase().contains("late:"), "on time:\n{out}");
    // Taken again, the stored array comes back filled in at the review.
    let again = ada.ok(&["take", "algorithms", "week01"], "y\n").stdout;
    assert!(
        again.contains("Your submitted answers are filled in"),
        "{again}"
    );
    assert!(again.contains("->  a, c\n"), "{again}");
    assert!(
        again.contains("This submission replaced your earlier one."),
        "{again}"
    );

    // student02 submits non-interactively, question 2 as a,c.
    let run = brian.ok(
        &[
            "submit",
            "algorithms",
            "week01",
            "--answers",
            "1=a,2=a,c,3=b,4=a,5=a",
        ],
        "",
    );
    assert!(run.stdout.contains("Submitted at"), "{}", run.stdout);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    stack.stop();

    let two = serde_json::json!({"questionId": "2", "answer": ["a", "c"]});
    let ada_stored = stored_answers(data.path(), "student01");
    assert!(
        ada_stored.as_array().unwrap().contains(&two),
        "{ada_stored}"
    );
    assert_eq!(
        stored_answers(data.path(), "student02"),
        serde_json::json!([
            {"questionId": "1", "answer": "a"}, two,
            {"questionId": "3", "answer": "b"}, {"questionId": "4", "answer": "a"},
            {"questionId": "5", "answer": "a"}
        ])
    );

    // Three days and two hours later: student01 is 2 days 2 h past their due (3
    // started days: 70%), student02 2 h past theirs (1 day: 90%); both still open.
    let later = now + day * 3 + Duration::hours(2);
    let stack = Stack::start(data.path(), Some(later), false);
    let student = |id: &str| Student::with_env(&stack.url, &keys[id], id);
    let (ada, brian) = (student("student01"), student("student02"));
    let receipt = ada.json(&[
        "submit",
        "algorithms",
        "week01",
        "--answers",
        "1=a,2=a,c",
        "--json",
    ]);
    assert_eq!(receipt["late"]["daysLate"], 3, "{receipt}");
    assert_eq!(receipt["late"]["factor"], "70%", "{receipt}");
    assert_eq!(instant(&receipt["late"]["dueAt"]), now + day);
    let run = brian.ok(
        &["submit", "algorithms", "week01", "--answers", "2=c,a"],
        "",
    );
    assert!(
        run.stdout
            .contains("Received late: 1 day after your due time"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("at 10%/day this submission counts 90% of its score"),
        "{}",
        run.stdout
    );
    let shown = brian.ok(&["show", "algorithms", "week01"], "").stdout;
    assert!(
        shown.contains("Received late: 1 day after your due time"),
        "{shown}"
    );
    stack.stop();
    assert_eq!(
        stored_answers(data.path(), "student02"),
        serde_json::json!([{"questionId": "2", "answer": ["a", "c"]}]),
        "a multiple answer is stored as a set, in option order"
    );
}
