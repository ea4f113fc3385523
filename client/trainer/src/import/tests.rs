//! Import and export: GIFT and Aiken parsing (tables of inputs and hand-written
//! expectations, errors with line:column), the course files they make, and round trips.

use super::model::{Bank, Item, Key, SourceErrors};
use super::*;

/// A case name, its input, and each error's line, column and part of its message.
type ErrorCase = (
    &'static str,
    &'static str,
    Vec<(usize, usize, &'static str)>,
);

/// Every case fails with exactly its errors, at their line and column.
fn check_errors(cases: Vec<ErrorCase>, parse: impl Fn(&str) -> Result<(), SourceErrors>) {
    for (name, text, want) in cases {
        let errors = parse(text).expect_err(name).0;
        let got: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
        let want_at: Vec<(usize, usize)> = want.iter().map(|w| (w.0, w.1)).collect();
        assert_eq!(got, want_at, "{name}: {errors:?}");
        for (e, w) in errors.iter().zip(&want) {
            assert!(
                e.message.contains(w.2),
                "{name}: {:?} lacks {:?}",
                e.message,
                w.2
            );
        }
    }
}

fn item(text: &str, options: &[&str], key: Key) -> Item {
    Item {
        text: text.to_owned(),
        options: options.iter().map(|s| s.to_string()).collect(),
        key,
    }
}

fn weights(ws: &[Option<&str>]) -> Key {
    Key::Weighted(ws.iter().map(|w| w.map(str::to_owned)).collect())
}

#[test]
fn gift_questions_parse_into_text_options_and_key() {
    let cases: Vec<(&str, &str, Vec<Item>)> = vec![
        (
            "one right answer is a single-answer question",
            "What is 2+2? {=4 ~3 ~5}",
            vec![item("What is 2+2?", &["4", "3", "5"], Key::Single(0))],
        ),
        (
            "several = make a multiple-answer question",
            "Which are primes? {=2 ~4 =3 ~9}",
            vec![item("Which are primes?", &["2", "4", "3", "9"], Key::Multiple(vec![0, 2]))],
        ),
        (
            "weights make a weighted key; = counts as 100%, ~ as nothing",
            "Pick {~%50%a ~%50%b ~%-50%c ~d}",
            vec![item(
                "Pick",
                &["a", "b", "c", "d"],
                weights(&[Some("0.5"), Some("0.5"), Some("-0.5"), None]),
            )],
        ),
        (
            "= next to weights counts as 100% and %0% as no weight",
            "Pick {=a ~%33.33%b ~%0%c}",
            vec![item(
                "Pick",
                &["a", "b", "c"],
                weights(&[Some("1"), Some("0.3333"), None]),
            )],
        ),
        (
            "comments, $CATEGORY, titles and blank lines between questions",
            "// a comment\n$CATEGORY: $course$/Networks\n\n::Q1:: First? {\n  =yes\n  ~no\n}\n\n\n// another\n::Q2::Second?{~x =y}\n",
            vec![
                item("First?", &["yes", "no"], Key::Single(0)),
                item("Second?", &["x", "y"], Key::Single(1)),
            ],
        ),
        (
            "escapes are literal characters, \\n a new line",
            "Is 1\\=1 \\{really\\}\\: a\\~b\\#c \\\\ d?\\nSure. {=yes \\= no ~no \\{x\\}}",
            vec![item(
                "Is 1=1 {really}: a~b#c \\ d?\nSure.",
                &["yes = no", "no {x}"],
                Key::Single(0),
            )],
        ),
        (
            "a question over several lines keeps its lines; feedback is dropped",
            "First line\nsecond line {\n=right#Well done\n~wrong#No\n####general\n}",
            vec![item(
                "First line\nsecond line",
                &["right", "wrong"],
                Key::Single(0),
            )],
        ),
        (
            "a [moodle] or [markdown] format prefix is dropped, CRLF lines read",
            "[markdown]Marked? {=a ~b}\r\n\r\n::t::[plain]Plain? {~a =b}\r\n",
            vec![
                item("Marked?", &["a", "b"], Key::Single(0)),
                item("Plain?", &["a", "b"], Key::Single(1)),
            ],
        ),
    ];
    for (name, text, want) in cases {
        let (bank, _) = gift::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(bank.questions, want, "{name}");
    }
}

#[test]
fn gift_feedback_is_noted_where_it_was_dropped() {
    let (_, notes) = gift::parse("Q {=a#yes ~b}").expect("parses");
    let at: Vec<(usize, usize)> = notes.0.iter().map(|n| (n.line, n.column)).collect();
    assert_eq!(at, vec![(1, 6)]);
}

#[test]
fn gift_errors_name_their_line_and_column() {
    let cases: Vec<ErrorCase> = vec![
        (
            "true/false",
            "Q1 {=a ~b}\n\nIs it? {T}",
            vec![(3, 9, "true/false")],
        ),
        (
            "true/false long",
            "Is it?\n{ FALSE }",
            vec![(2, 3, "true/false")],
        ),
        (
            "short answer",
            "Name it: {=one =uno}",
            vec![(1, 10, "short-answer")],
        ),
        (
            "matching",
            "Match {\n=a -> 1\n=b -> 2\n}",
            vec![(2, 4, "matching")],
        ),
        ("numeric", "How many? {#3:1}", vec![(1, 12, "numeric")]),
        ("essay", "Tell me. {}", vec![(1, 10, "essay")]),
        (
            "missing word",
            "The sky is {=blue ~red} today.",
            vec![(1, 25, "missing-word")],
        ),
        ("description", "Just some text", vec![(1, 1, "description")]),
        ("unclosed braces", "Q {=a ~b", vec![(1, 3, "not closed")]),
        ("unclosed title", "::T Q {=a ~b}", vec![(1, 1, "title")]),
        (
            "no right answer",
            "Q {~a ~b}",
            vec![(1, 3, "no answer is marked right")],
        ),
        ("bad weight", "Q {~%x%a ~b}", vec![(1, 5, "not a number")]),
        (
            "weight out of range",
            "Q {~%150%a ~b}",
            vec![(1, 5, "outside")],
        ),
        (
            "no positive weight",
            "Q {~%-50%a ~b}",
            vec![(1, 3, "positive weight")],
        ),
        ("empty answer", "Q {=a ~ }", vec![(1, 7, "empty")]),
        (
            "html text",
            "[html]<b>Q</b> {=a ~b}",
            vec![(1, 1, "[html]")],
        ),
        (
            "text before the first answer",
            "Q {a =b ~c}",
            vec![(1, 4, "expected =")],
        ),
        (
            "every error of the file at once",
            "A {T}\n\nB {=a ~b}\n\nC {#1}",
            vec![(1, 4, "true/false"), (5, 4, "numeric")],
        ),
    ];
    check_errors(cases, |text| gift::parse(text).map(|_| ()));
}

#[test]
fn aiken_questions_parse_with_both_option_styles() {
    let text = "What is 2+2?\nA. 3\nB. 4\nC) 5\nANSWER: B\n\nCapital of France?\nA) Paris\nB) Rome\nANSWER: A\nNext question?\nA. x\nB. y\nANSWER: B\n";
    let bank = aiken::parse(text).expect("parses");
    assert_eq!(
        bank.questions,
        vec![
            item("What is 2+2?", &["3", "4", "5"], Key::Single(1)),
            item("Capital of France?", &["Paris", "Rome"], Key::Single(0)),
            item("Next question?", &["x", "y"], Key::Single(1)),
        ]
    );
}

#[test]
fn aiken_errors_name_their_line() {
    let cases: Vec<ErrorCase> = vec![
        (
            "answer not an option",
            "Q?\nA. x\nB. y\nANSWER: C",
            vec![(4, 9, "A..B")],
        ),
        (
            "answer letter missing",
            "Q?\nA. x\nB. y\n  ANSWER:",
            vec![(4, 10, "A..B")],
        ),
        (
            "letters out of order",
            "Q?\nA. x\nC. y\nANSWER: A",
            vec![(3, 1, "where B")],
        ),
        ("no answer line", "Q?\nA. x\nB. y\n", vec![(1, 1, "ANSWER")]),
        (
            "one option",
            "Q?\nA. x\nANSWER: A",
            vec![(1, 1, "at least 2")],
        ),
        (
            "text after options",
            "Q?\nA. x\nB. y\nmore text\nANSWER: A",
            vec![(4, 1, "next option")],
        ),
        (
            "answer without question",
            "ANSWER: A",
            vec![(1, 1, "without a question")],
        ),
        ("empty file", "\n\n", vec![(1, 1, "no questions")]),
    ];
    check_errors(cases, |text| aiken::parse(text).map(|_| ()));
}

#[test]
fn the_course_files_carry_each_key_shape_as_the_course_format_writes_it() {
    let bank = Bank {
        questions: vec![
            item("S", &["x", "y"], Key::Single(1)),
            item("M", &["x", "y", "z"], Key::Multiple(vec![0, 2])),
            item(
                "W",
                &["x", "y", "z"],
                weights(&[Some("0.5"), Some("-0.5"), Some("0.5")]),
            ),
        ],
    };
    let (questions, key) = course::to_json(&bank);
    assert_eq!(
        questions[1],
        json!({"questionId": "2", "question": "M", "answers": [
            {"answerId": "a", "answerBody": "x"},
            {"answerId": "b", "answerBody": "y"},
            {"answerId": "c", "answerBody": "z"}]})
    );
    assert_eq!(
        key,
        json!([
            {"questionId": "1", "answer": "b"},
            {"questionId": "2", "answer": ["a", "c"]},
            {"questionId": "3", "answer": ["a", "c"], "weights": {"a": 0.5, "b": -0.5, "c": 0.5}}
        ])
    );
}

fn ids(subject: &str, test: &str) -> TestArgs {
    TestArgs {
        subject: subject.to_owned(),
        test: test.to_owned(),
    }
}

fn tz() -> chrono_tz::Tz {
    chrono_tz::Europe::Warsaw
}

/// The sample course copied into a scratch folder.
fn sample_course() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../course-sample");
    copy_dir(&sample, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read sample") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn read_test(dir: &Path, subject: &str, test: &str) -> Vec<(String, Value)> {
    let folder = dir.join("subjects").join(subject).join(test);
    let mut out = Vec::new();
    for name in [layout::QUESTIONS, layout::ANSWER_KEY, TEST_SETTINGS] {
        let bytes = std::fs::read(folder.join(name)).expect("test file");
        out.push((
            name.to_owned(),
            serde_json::from_slice(&bytes).expect("json"),
        ));
    }
    out
}

const SINGLE_GIFT: &str = "// Networks quiz\n::one:: How long is an IPv4 address? {\n=32 bits\n~64 bits\n~128 bits\n}\n\n::two:: Which port is HTTPS? {~80 =443 ~22}\n\nA \\{brace\\} and a colon\\: fine? {=yes ~no}\n";

#[test]
fn an_imported_single_answer_test_passes_the_course_validator() {
    let dir = sample_course();
    let (bank, _) = gift::parse(SINGLE_GIFT).expect("parses");
    write_test(
        &bank,
        dir.path(),
        &ids("networks", "quiz1"),
        &Settings::default(),
        tz(),
    )
    .expect("imports");
    let files = read_course_folder(dir.path()).expect("reads").files;
    let course = domain_course::parse(&files, tz()).expect("the whole course is valid");
    let test = course
        .tests
        .iter()
        .find(|t| t.test_id.as_str() == "quiz1")
        .expect("imported test");
    assert_eq!(test.questions.len(), 3);
    assert_eq!(test.questions[2].question, "A {brace} and a colon: fine?");
    assert!(!test.publish, "without --due the test is a draft");
    assert_eq!(test.title, "quiz1");
}

/// One question of each key shape: single, multiple (two `=`), weighted (`~%n%`,
/// with a `=` counting as 100% and an option without weight).
const DEPTH_GIFT: &str = "Port of HTTPS? {~80 =443 ~22}\n\nWhich are private ranges? {=10.0.0.0/8 ~8.8.8.0/24 =192.168.0.0/16}\n\nSecure protocols? {~%50%SSH ~%-50%Telnet =HTTPS ~FTP ~%25%SFTP}\n";

#[test]
fn an_imported_multiple_and_weighted_test_passes_the_course_validator_with_its_key_shapes() {
    let dir = sample_course();
    let (bank, _) = gift::parse(DEPTH_GIFT).expect("parses");
    write_test(
        &bank,
        dir.path(),
        &ids("networks", "quiz1"),
        &Settings::default(),
        tz(),
    )
    .expect("imports");
    // The key file holds exactly the shapes of the course format.
    let key = &read_test(dir.path(), "networks", "quiz1")[1].1;
    assert_eq!(
        key,
        &json!([
            {"questionId": "1", "answer": "b"},
            {"questionId": "2", "answer": ["a", "c"]},
            {"questionId": "3", "answer": ["a", "c", "e"], "weights": {"a": 0.5, "b": -0.5, "c": 1, "e": 0.25}}
        ])
    );
    // And the whole course, with it, passes the validator and reads as meant.
    let files = read_course_folder(dir.path()).expect("reads").files;
    let course = domain_course::parse(&files, tz()).expect("the whole course is valid");
    let test = course
        .tests
        .iter()
        .find(|t| t.test_id.as_str() == "quiz1")
        .expect("imported test");
    let multiple: Vec<bool> = test.questions.iter().map(|q| q.multiple).collect();
    assert_eq!(multiple, [false, true, true]);
    let answers: Vec<Vec<&str>> = test
        .key
        .iter()
        .map(|k| k.answer.ids().iter().map(|a| a.as_str()).collect())
        .collect();
    assert_eq!(answers, [vec!["b"], vec!["a", "c"], vec!["a", "c", "e"]]);
    let weights: Vec<(&str, f64)> = test.key[2]
        .weights
        .iter()
        .map(|(a, w)| (a.as_str(), *w))
        .collect();
    assert_eq!(weights, [("a", 0.5), ("b", -0.5), ("c", 1.0), ("e", 0.25)]);
    assert!(test.key[..2].iter().all(|k| k.weights.is_empty()));
}

#[test]
fn gift_to_course_to_gift_to_course_gives_the_same_course() {
    // Every key shape, each written test checked by the course validator on import.
    for gift_text in [SINGLE_GIFT, DEPTH_GIFT] {
        round_trip_through_the_course(gift_text);
    }
}

fn round_trip_through_the_course(gift_text: &str) {
    let dir = sample_course();
    let (bank, _) = gift::parse(gift_text).expect("parses");
    let settings = Settings {
        title: Some("Quiz".to_owned()),
        due: None,
        force: false,
    };
    write_test(
        &bank,
        dir.path(),
        &ids("networks", "quiz1"),
        &settings,
        tz(),
    )
    .expect("first");
    let exported = export_gift(dir.path(), &ids("networks", "quiz1")).expect("exports");
    let (again, _) = gift::parse(&exported).expect("the export parses");
    write_test(
        &again,
        dir.path(),
        &ids("networks", "quiz2"),
        &settings,
        tz(),
    )
    .expect("second");
    assert_eq!(
        read_test(dir.path(), "networks", "quiz1"),
        read_test(dir.path(), "networks", "quiz2")
    );
    // And an existing sample test, with its own ids, keeps text, options and key.
    let sample = export_gift(dir.path(), &ids("networks", "test01")).expect("exports");
    let (bank, _) = gift::parse(&sample).expect("parses");
    assert_eq!(bank.questions[1].options, vec!["80", "443", "22"]);
    assert_eq!(bank.questions[1].key, Key::Single(1));
}

#[test]
fn multiple_and_weighted_keys_survive_export_and_import() {
    let text = "Primes? {=2 ~4 =3}\n\nWeighted {~%50%a ~%-25%b ~%50%c ~d}\n\nThirds {~%33.3333%a ~%33.3333%b ~%33.3334%c ~%-100%d}\n";
    let (bank, _) = gift::parse(text).expect("parses");
    let (questions, key) = course::to_json(&bank);
    let (back, names) = course::from_json(&questions, &key).expect("reads back");
    assert_eq!(back, bank);
    let (again, _) = gift::parse(&gift::write(&back, &names, "t")).expect("re-parses");
    assert_eq!(course::to_json(&again), (questions, key));
    // Weights of a third (three of them adding up to 1) are valid course weights.
    let dir = sample_course();
    write_test(
        &again,
        dir.path(),
        &ids("networks", "quiz1"),
        &Settings::default(),
        tz(),
    )
    .expect("the course validator accepts them");
}

#[test]
fn an_import_with_errors_writes_nothing_and_neither_does_an_invalid_test() {
    let dir = sample_course();
    let folder = dir.path().join("subjects/networks/quiz1");
    // A question with one option is valid GIFT but not a valid course question.
    let (bank, _) = gift::parse("Only one? {=yes ~no}\n\nLonely {=a ~b}").expect("parses");
    let mut bad = bank.clone();
    bad.questions[1].options.truncate(1);
    let err = write_test(
        &bad,
        dir.path(),
        &ids("networks", "quiz1"),
        &Settings::default(),
        tz(),
    )
    .expect_err("one option is refused");
    assert!(format!("{err:#}").contains("at least 2"), "{err:#}");
    assert!(!folder.exists(), "nothing written");
}

#[test]
fn an_existing_test_is_replaced_only_with_force_and_keeps_its_settings() {
    let dir = sample_course();
    let (bank, _) = gift::parse("New? {=yes ~no}").expect("parses");
    let test01 = ids("networks", "test01");
    let err = write_test(&bank, dir.path(), &test01, &Settings::default(), tz())
        .expect_err("refused without --force");
    assert!(format!("{err:#}").contains("--force"), "{err:#}");
    let before = read_test(dir.path(), "networks", "test01");
    assert_eq!(before[0].1.as_array().map(Vec::len), Some(3), "unchanged");
    let force = Settings {
        force: true,
        ..Settings::default()
    };
    write_test(&bank, dir.path(), &test01, &force, tz()).expect("replaced");
    let after = read_test(dir.path(), "networks", "test01");
    assert_eq!(after[0].1.as_array().map(Vec::len), Some(1));
    assert_eq!(after[2], before[2], "test.json kept");
}

#[test]
fn a_due_date_publishes_the_imported_test_and_a_bad_one_writes_nothing() {
    let dir = sample_course();
    let (bank, _) = gift::parse(SINGLE_GIFT).expect("parses");
    let due = |d: &str| Settings {
        due: Some(d.to_owned()),
        ..Settings::default()
    };
    let err = write_test(
        &bank,
        dir.path(),
        &ids("networks", "quiz1"),
        &due("soon"),
        tz(),
    )
    .expect_err("bad due");
    assert!(format!("{err:#}").contains("test.json"), "{err:#}");
    assert!(!dir.path().join("subjects/networks/quiz1").exists());
    write_test(
        &bank,
        dir.path(),
        &ids("networks", "quiz1"),
        &due("2030-01-31 23:00"),
        tz(),
    )
    .expect("imports");
    let test = &read_test(dir.path(), "networks", "quiz1")[2].1;
    assert_eq!(test, &json!({"title": "quiz1", "due": "2030-01-31 23:00"}));
}

#[test]
fn an_import_into_an_empty_folder_makes_the_test_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bank = aiken::parse("Q?\nA. x\nB. y\nANSWER: B\n").expect("parses");
    write_test(
        &bank,
        &dir.path().join("course"),
        &ids("maths", "t1"),
        &Settings::default(),
        tz(),
    )
    .expect("imports without a roster yet");
    let files = read_test(&dir.path().join("course"), "maths", "t1");
    assert_eq!(files[1].1, json!([{"questionId": "1", "answer": "b"}]));
}

#[test]
fn bad_subject_or_test_ids_are_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bank = aiken::parse("Q?\nA. x\nB. y\nANSWER: B\n").expect("parses");
    for (s, t) in [("../x", "t1"), ("maths", "a/b"), ("", "t1")] {
        assert!(write_test(&bank, dir.path(), &ids(s, t), &Settings::default(), tz()).is_err());
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn the_worked_example_of_the_trainer_guide_gives_the_key_it_shows() {
    let text = "// Week 3. Comments, $CATEGORY lines and ::titles:: are read and dropped.\n$CATEGORY: $course$/Networks\n\n::ipv4:: How many bits long is an IPv4 address? {\n  =32\n  ~64\n  ~128\n}\n\nWhich of these are private address ranges? {=10.0.0.0/8 ~8.8.8.0/24 =192.168.0.0/16}\n\nPick the secure protocols. {~%50%SSH ~%50%HTTPS ~%-50%Telnet ~FTP}\n\nIs 1 \\= 1 \\{always\\}? {=yes ~no}\n";
    let (bank, _) = gift::parse(text).expect("parses");
    let (questions, key) = course::to_json(&bank);
    assert_eq!(
        key,
        json!([
            {"questionId": "1", "answer": "a"},
            {"questionId": "2", "answer": ["a", "c"]},
            {"questionId": "3", "answer": ["a", "b"], "weights": {"a": 0.5, "b": 0.5, "c": -0.5}},
            {"questionId": "4", "answer": "a"}
        ])
    );
    assert_eq!(questions[3]["question"], "Is 1 = 1 {always}?");
    // The test it makes passes the course validator (write_test runs it).
    let dir = sample_course();
    write_test(
        &bank,
        dir.path(),
        &ids("networks", "test03"),
        &Settings::default(),
        tz(),
    )
    .expect("the guide's example imports into a valid course");
}
