//! `trainer validate`: a table of broken course folders, each with the exact problem
//! reported (file, line:column, JSON path, message), and the CLI's exit codes.

use crate::course_support;

use crate::course_support::{copy_of_sample, run, sample_dir, trainer};
use ework_domain::course::{self, CourseFiles};

const TZ: chrono_tz::Tz = chrono_tz::Europe::Warsaw;
const Q: &str = "subjects/os/t1/questions.json";
const K: &str = "subjects/os/t1/questionsKey.json";
const S: &str = "subjects/os/t1/test.json";

const QUESTIONS: &str = r#"[
  {"questionId": "1", "question": "Kernel?",
   "answers": [{"answerId": "a", "answerBody": "core"}, {"answerId": "b", "answerBody": "shell"}]},
  {"questionId": "2", "question": "Fork?",
   "answers": [{"answerId": "a", "answerBody": "copy"}, {"answerId": "b", "answerBody": "wait"}]}
]"#;
const KEY: &str = r#"[{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "a"}]"#;
const ROSTER: &str = r#"[
  {"student_id": "student01", "email": "student01@example.com"},
  {"student_id": "student02", "email": "student02@example.com"}
]"#;

/// A small valid course: one subject `os` with one test `t1`, two students.
fn valid() -> CourseFiles {
    let mut files = CourseFiles::new();
    files.insert("studentsList.json", ROSTER);
    files.insert(Q, QUESTIONS);
    files.insert(K, KEY);
    files
}

fn problems(files: &CourseFiles) -> Vec<String> {
    match course::parse(files, TZ) {
        Ok(_) => Vec::new(),
        Err(p) => p.0.iter().map(ToString::to_string).collect(),
    }
}

fn with(path: &str, text: &str) -> CourseFiles {
    let mut files = valid();
    files.insert(path, text);
    files
}

fn without(path: &str) -> CourseFiles {
    let mut files = valid();
    files.remove(path);
    files
}

#[test]
fn the_small_course_of_these_tests_is_valid() {
    assert_eq!(problems(&valid()), Vec::<String>::new());
}

#[test]
fn each_broken_course_folder_reports_its_exact_problem() {
    let renamed = |from: &str, to: &str| {
        let mut files = CourseFiles::new();
        for (path, bytes) in valid().0 {
            files.insert(path.replace(from, to), bytes);
        }
        files
    };
    let cases: Vec<(&str, CourseFiles, Vec<&str>)> = vec![
        (
            "questions.json is not JSON",
            with(Q, "[\n  {\"questionId\": \"1\",}\n]"),
            vec!["subjects/os/t1/questions.json:2:22: not valid JSON: trailing comma"],
        ),
        ("questions.json is not an array", with(Q, "{}"), vec!["subjects/os/t1/questions.json:1:1: must be a JSON array of questions"]),
        ("a test without questions", with(Q, "[]"), vec!["subjects/os/t1/questions.json:1:1: the test has no questions"]),
        (
            "a subject folder with an invalid name",
            renamed("subjects/os/", "subjects/Op Sys/"),
            vec!["subjects/Op Sys: folder name is not a valid subject name: subjectName \"Op Sys\" may only contain letters, digits, '.', '_' and '-'"],
        ),
        (
            "a test folder with an invalid name",
            renamed("/t1/", "/_t1/"),
            vec!["subjects/os/_t1: folder name is not a valid test id: testId \"_t1\" must start with a letter or digit"],
        ),
        (
            "a question id that could escape a key",
            with(
                Q,
                &QUESTIONS.replace("\"questionId\": \"2\"", "\"questionId\": \"../2\""),
            ),
            vec!["subjects/os/t1/questions.json:4:18: [1].questionId: questionId \"../2\" must start with a letter or digit"],
        ),
        (
            "a question with one answer",
            with(
                Q,
                &QUESTIONS.replace(", {\"answerId\": \"b\", \"answerBody\": \"shell\"}", ""),
            ),
            vec!["subjects/os/t1/questions.json:3:15: [0].answers: question \"1\" has 1 answer(s); it needs at least 2"],
        ),
        (
            "a question with the same answer id twice (case-insensitive)",
            with(
                Q,
                &QUESTIONS.replace(
                    "\"answerId\": \"b\", \"answerBody\": \"shell\"",
                    "\"answerId\": \"A\", \"answerBody\": \"shell\"",
                ),
            ),
            vec!["subjects/os/t1/questions.json:3:70: [0].answers[1].answerId: answerId \"a\" is used twice in question \"1\" (first at answers[0])"],
        ),
        (
            "two questions with the same id",
            with(
                Q,
                &QUESTIONS.replace("\"questionId\": \"2\"", "\"questionId\": \"1\""),
            ),
            vec!["subjects/os/t1/questions.json:4:18: [1].questionId: questionId \"1\" is used twice (first at [0])"],
        ),
        (
            "a question missing its answers",
            with(Q, r#"[{"questionId": "1", "question": "Kernel?"}]"#),
            vec!["subjects/os/t1/questions.json:1:2: [0]: missing field \"answers\""],
        ),
        (
            "a question without a key entry",
            with(K, r#"[{"questionId": "1", "answer": "a"}]"#),
            vec!["subjects/os/t1/questionsKey.json:1:1: question \"2\" has no key entry"],
        ),
        (
            "two key entries for one question",
            with(
                K,
                r#"[{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "a"}, {"questionId": "1", "answer": "b"}]"#,
            ),
            vec!["subjects/os/t1/questionsKey.json:1:89: [2].questionId: question \"1\" has more than one key entry (first at [0])"],
        ),
        (
            "a key entry for an unknown question",
            with(
                K,
                r#"[{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "a"}, {"questionId": "9", "answer": "a"}]"#,
            ),
            vec!["subjects/os/t1/questionsKey.json:1:89: [2].questionId: question \"9\" is not in questions.json"],
        ),
        (
            "a key answer that is not an option",
            with(
                K,
                r#"[{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "e"}]"#,
            ),
            vec!["subjects/os/t1/questionsKey.json:1:68: [1].answer: answer \"e\" is not an option of question \"2\" (options: a, b)"],
        ),
        ("a test folder without its key", without(K), vec!["subjects/os/t1: missing questionsKey.json"]),
        (
            "a course without a roster",
            without("studentsList.json"),
            vec!["studentsList.json: missing: the course folder needs the roster (a JSON array of {\"student_id\", \"email\"})"],
        ),
        (
            "a student id used twice",
            with(
                "studentsList.json",
                &ROSTER.replace("student02\", \"email", "student01\", \"email"),
            ),
            vec!["studentsList.json:3:18: [1].student_id: student_id \"student01\" is used twice (first at [0])"],
        ),
        (
            "an email used twice",
            with(
                "studentsList.json",
                &ROSTER.replace("student02@example.com", "Student01@example.com"),
            ),
            vec!["studentsList.json:3:40: [1].email: email \"Student01@example.com\" is used twice (first at [0])"],
        ),
        (
            "a malformed email",
            with(
                "studentsList.json",
                &ROSTER.replace("student02@example.com", "student02 at example"),
            ),
            vec!["studentsList.json:3:40: [1].email: email \"student02 at example\" is not a valid address"],
        ),
        (
            "an invalid student id",
            with(
                "studentsList.json",
                &ROSTER.replace("\"student02\"", "\"student/02\""),
            ),
            vec!["studentsList.json:3:18: [1].student_id: studentId \"student/02\" may only contain letters, digits, '.', '_' and '-'"],
        ),
        (
            "a roster entry without an email",
            with("studentsList.json", r#"[{"student_id": "student01"}]"#),
            vec!["studentsList.json:1:2: [0]: missing field \"email\""],
        ),
        (
            "a student enrolled in a subject the course does not have",
            with(
                "studentsList.json",
                r#"[{"student_id": "student01", "email": "s1@example.com", "subjects": ["os", "history"]}]"#,
            ),
            vec!["studentsList.json:1:76: [0].subjects[1]: subject \"history\" is not a subject of this course"],
        ),
        (
            "test.json with an unknown field",
            with(S, r#"{"title": "Kernel", "dueDate": "2026-11-30"}"#),
            vec!["subjects/os/t1/test.json:1:32: .dueDate: unknown field \"dueDate\" (test.json knows title, due, publish, scoring, wrongAnswerPenalty, shuffle, draw, extensions, late and feedback)"],
        ),
        (
            "test.json with a due date that is not a date",
            with(S, r#"{"due": "next monday"}"#),
            vec!["subjects/os/t1/test.json:1:9: .due: due \"next monday\" is not a date; write \"2026-11-30 23:00\" (the trainer's time zone) or RFC 3339 such as \"2026-11-30T23:00:00+01:00\""],
        ),
        (
            "test.json with a publish flag that is not a boolean",
            with(S, r#"{"publish": "yes"}"#),
            vec!["subjects/os/t1/test.json:1:13: .publish: \"publish\" must be true or false"],
        ),
        (
            "a misspelt file in a test folder",
            with("subjects/os/t1/questionKey.json", "[]"),
            vec!["subjects/os/t1/questionKey.json: unexpected file; a test folder holds questions.json, questionsKey.json and optionally test.json"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, files, expected) in cases {
        let found = problems(&files);
        if found != expected {
            failures.push(format!(
                "{name}:\n  expected {expected:#?}\n  found    {found:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_misspelt_field_name_is_reported_with_the_field_meant() {
    let cases: Vec<(&str, CourseFiles, Vec<&str>)> = vec![
        (
            "a roster entry with studentId for student_id",
            with(
                "studentsList.json",
                r#"[{"studentId": "student01", "email": "s1@example.com"}]"#,
            ),
            vec!["studentsList.json:1:16: [0].studentId: unknown field \"studentId\"; did you mean student_id?"],
        ),
        (
            "a roster entry with e-mail for email",
            with(
                "studentsList.json",
                r#"[{"student_id": "student01", "e-mail": "s1@example.com"}]"#,
            ),
            vec!["studentsList.json:1:40: [0].e-mail: unknown field \"e-mail\"; did you mean email?"],
        ),
        (
            "a roster entry with subject for subjects",
            with(
                "studentsList.json",
                r#"[{"student_id": "student01", "email": "s1@example.com", "subject": ["os"]}]"#,
            ),
            vec!["studentsList.json:1:68: [0].subject: unknown field \"subject\"; did you mean subjects?"],
        ),
        (
            "test.json with titel for title",
            with(S, r#"{"titel": "Kernel"}"#),
            vec!["subjects/os/t1/test.json:1:11: .titel: unknown field \"titel\" (test.json knows title, due, publish, scoring, wrongAnswerPenalty, shuffle, draw, extensions, late and feedback); did you mean title?"],
        ),
        (
            "an answer with answerbody for answerBody",
            with(
                Q,
                &QUESTIONS.replace("\"answerBody\": \"core\"", "\"answerbody\": \"core\""),
            ),
            vec!["subjects/os/t1/questions.json:3:48: [0].answers[0].answerbody: unknown field \"answerbody\"; did you mean answerBody?"],
        ),
        (
            "a roster entry with a field of its own is still valid",
            with(
                "studentsList.json",
                r#"[{"student_id": "student01", "email": "s1@example.com", "group": "B"}]"#,
            ),
            vec![],
        ),
    ];
    let mut failures = Vec::new();
    for (name, files, expected) in cases {
        let found = problems(&files);
        if found != expected {
            failures.push(format!(
                "{name}:\n  expected {expected:#?}\n  found    {found:#?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_sample_course_validates() {
    let out = run(trainer().arg("validate").arg(sample_dir()));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout
            .ends_with("is valid: 4 student(s), 3 test(s) (2 to publish, 1 draft(s)).\n"),
        "{out:?}"
    );
}

/// Every course file under `dir`, by path relative to it.
fn read_folder(dir: &std::path::Path) -> CourseFiles {
    fn walk(root: &std::path::Path, dir: &std::path::Path, files: &mut CourseFiles) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if CourseFiles::is_course_path(&rel) {
                    files.insert(rel, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    let mut files = CourseFiles::new();
    walk(dir, dir, &mut files);
    files
}

#[test]
fn the_depth_sample_course_with_points_lists_weights_pools_and_windows_validates() {
    let dir = sample_dir().join("../course-sample-depth");
    let out = run(trainer().arg("validate").arg(&dir));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout
            .ends_with("is valid: 4 student(s), 1 test(s) (1 to publish, 0 draft(s)).\n"),
        "{out:?}"
    );
    let files = read_folder(&dir);
    let course = course::parse(&files, TZ).unwrap();
    let t = &course.tests[0];
    let points: Vec<u32> = t.questions.iter().map(|q| q.points).collect();
    assert_eq!(points, [2, 2, 1, 1, 1, 1, 1]);
    assert!(t.questions[0].multiple && t.questions[1].multiple && !t.questions[2].multiple);
    assert_eq!(t.key[1].weights.len(), 4);
    assert!(t.rules.shuffle);
    assert_eq!(t.rules.draw.get("memory"), Some(&2));
    // And the windows: an extension with its reason, a late policy with a floor,
    // feedback held to the last close, and a roster accommodation.
    let w = t.windows();
    let ext = w.extensions.values().next().unwrap();
    assert!(ext.reason.as_deref().is_some_and(|r| r.contains("illness")));
    let late = w.late.unwrap();
    assert_eq!(
        (late.penalty_text(), late.floor.to_string()),
        ("10%/day".to_owned(), "50%".to_owned())
    );
    assert_eq!(w.feedback, ework_domain::windows::Feedback::AtLastClose);
    assert_eq!(
        course.roster.0[2]
            .extra_time
            .as_ref()
            .unwrap()
            .span()
            .num_hours(),
        24
    );
}

#[test]
fn validate_reports_every_problem_of_a_folder_and_fails() {
    let dir = copy_of_sample();
    let test = dir.path().join("subjects/networks/test01");
    std::fs::write(
        test.join("questionsKey.json"),
        r#"[{"questionId": "1", "answer": "a"}, {"questionId": "2", "answer": "b"}]"#,
    )
    .unwrap();
    std::fs::write(
        test.join("test.json"),
        "{\"title\": \"Addresses\",\n \"due\": \"soon\"}",
    )
    .unwrap();
    let out = run(trainer().arg("validate").arg(dir.path()));
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr.contains("the course folder has 2 problems:"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(
            "\n  subjects/networks/test01/questionsKey.json:1:1: question \"3\" has no key entry"
        ),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(
            "\n  subjects/networks/test01/test.json:2:9: .due: due \"soon\" is not a date"
        ),
        "{out:?}"
    );
}

#[test]
fn validate_warns_about_past_due_dates_without_a_target_but_passes() {
    let dir = copy_of_sample();
    std::fs::write(
        dir.path().join("subjects/networks/test01/test.json"),
        r#"{"due": "2026-01-05 23:00"}"#,
    )
    .unwrap();
    let out = run(trainer()
        .arg("validate")
        .arg(dir.path())
        .args(["--now", course_support::NOW]));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr.contains("warning: subjects/networks/test01/test.json:1:9: .due: due date 2026-01-05 23:00 CET is not in the future"),
        "{out:?}"
    );
}

#[test]
fn validate_warns_when_right_wrong_at_each_close_would_give_away_a_two_option_answer() {
    let dir = copy_of_sample();
    course_support::publish_the_two_option_draft_with_a_late_window(dir.path());
    let out = run(trainer()
        .arg("validate")
        .arg(dir.path())
        .args(["--now", course_support::NOW]));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr.contains(course_support::TWO_OPTION_WARNING),
        "{out:?}"
    );
}
