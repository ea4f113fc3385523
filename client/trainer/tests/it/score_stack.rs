//! `trainer score --stack` on moto: the sender and the trainer's address come from the
//! scorer stack when not given, and the send rate used is printed with its reason.

use crate::course_support::{copy_of_sample, run, unique, MotoStack, NOW};

/// A stand-in for the scorer stack: only its parameters matter to the trainer.
async fn scorer_stack(stack: &MotoStack, send_rate: &str) -> String {
    let name = unique("scorer");
    let template = r#"
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  SenderEmail: {Type: String}
  TrainerEmail: {Type: String}
  SendRate: {Type: String, Default: ""}
Resources:
  Anything:
    Type: AWS::S3::Bucket
"#;
    let param = |k: &str, v: &str| {
        aws_sdk_cloudformation::types::Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    aws_sdk_cloudformation::Client::new(&stack.aws)
        .create_stack()
        .stack_name(&name)
        .template_body(template)
        .parameters(param("SenderEmail", "scorer@example.org"))
        .parameters(param("TrainerEmail", "me@example.org"))
        .parameters(param("SendRate", send_rate))
        .send()
        .await
        .unwrap();
    name
}

#[tokio::test]
async fn score_on_a_stack_reads_the_scorer_stack_and_says_which_send_rate_it_uses() {
    let Some(stack) = MotoStack::create().await else {
        return;
    };
    let course = copy_of_sample();
    let synced = run(&mut stack.trainer(&["sync", course.path().to_str().unwrap(), "--now", NOW]));
    assert!(synced.ok, "{synced:?}");
    let after_the_deadline = "2026-12-01T00:00:00+01:00";

    let with_rate = scorer_stack(&stack, "3").await;
    let out = run(&mut stack.trainer(&[
        "score",
        "--now",
        after_the_deadline,
        "--dry-run",
        "--scorer-stack",
        &with_rate,
    ]));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "Using SenderEmail and TrainerEmail of the scorer stack {with_rate}."
        )),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(&format!(
            "Send rate: would send 3 email(s) per second: the SendRate of the scorer stack {with_rate}."
        )),
        "{out:?}"
    );
    assert!(out.stdout.contains("me@example.org"), "{out:?}");

    // A flag wins, and says so.
    let out = run(&mut stack.trainer(&[
        "score",
        "--now",
        after_the_deadline,
        "--dry-run",
        "--scorer-stack",
        &with_rate,
        "--send-rate",
        "7",
    ]));
    assert!(
        out.ok
            && out
                .stderr
                .contains("7 email(s) per second: given by --send-rate"),
        "{out:?}"
    );

    // Without a SendRate, SES is asked; whatever it answers, the reason is printed.
    let without = scorer_stack(&stack, "").await;
    let out = run(&mut stack.trainer(&[
        "score",
        "--now",
        after_the_deadline,
        "--dry-run",
        "--scorer-stack",
        &without,
    ]));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr
            .contains("the SES account's sending quota (GetAccount)")
            || out.stderr.contains("1 email(s) per second: SES GetAccount"),
        "{out:?}"
    );

    // No scorer stack and no flags: the error says what is missing and where it looks.
    let out = run(&mut stack.trainer(&[
        "score",
        "--now",
        after_the_deadline,
        "--dry-run",
        "--scorer-stack",
        "no-such-scorer",
    ]));
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr.contains("--sender and --trainer-email")
            && out.stderr.contains("no-such-scorer could not be read"),
        "{out:?}"
    );
}

/// The results object of operating-systems/test01 of the sample course, for three
/// students answering (key: 1a 2b 3c 4a 5b):
/// student01 a b c a b (5 right), student02 a b a a c (3), student03 b b a c c (1).
fn three_results() -> (ework_domain::layout::ObjectKey, Vec<u8>) {
    use ework_domain::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
    use ework_domain::model::{GivenAnswer, KeyEntry, Question};
    use ework_domain::scoring::grading::{grade, TestContent};
    use ework_domain::scoring::results::TestResults;
    let dir = crate::course_support::sample_dir().join("subjects/operating-systems/test01");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let questions: Vec<Question> = serde_json::from_slice(&read("questions.json")).unwrap();
    let key: Vec<KeyEntry> = serde_json::from_slice(&read("questionsKey.json")).unwrap();
    let (s, t) = (
        SubjectName::parse("operating-systems").unwrap(),
        TestId::parse("test01").unwrap(),
    );
    let content = TestContent {
        subject: &s,
        test_id: &t,
        title: "Processes and the kernel",
        questions: &questions,
        key: &key,
        rules: &Default::default(),
    };
    let mut results = TestResults::default();
    for (student, answers) in [
        ("student01", "abcab"),
        ("student02", "abaac"),
        ("student03", "bbacc"),
    ] {
        let given: Vec<GivenAnswer> = answers
            .chars()
            .enumerate()
            .map(|(q, a)| GivenAnswer {
                question_id: QuestionId::parse((q + 1).to_string()).unwrap(),
                answer: AnswerId::parse(a.to_string()).unwrap().into(),
            })
            .collect();
        let id = StudentId::parse(student).unwrap();
        let score = grade(content, &id, &given, 5, chrono::Utc::now());
        results.scores.insert(id, std::sync::Arc::new(score));
    }
    (
        ework_domain::layout::results(&s, &t),
        serde_json::to_vec(&results).unwrap(),
    )
}

#[tokio::test]
async fn report_on_a_stack_reads_the_stored_results_and_questions() {
    let Some(stack) = MotoStack::create().await else {
        return;
    };
    let course = copy_of_sample();
    let synced = run(&mut stack.trainer(&["sync", course.path().to_str().unwrap(), "--now", NOW]));
    assert!(synced.ok, "{synced:?}");
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "operating-systems", "test01"];
        args.extend_from_slice(extra);
        run(&mut stack.trainer(&args))
    };
    let none = report(&[]);
    assert!(
        !none.ok
            && none
                .stderr
                .contains("no results for operating-systems/test01"),
        "{none:?}"
    );

    let (key, bytes) = three_results();
    crate::course_support::s3(&stack.aws)
        .put_object()
        .bucket(&stack.bucket)
        .key(key.as_str())
        .body(bytes.into())
        .send()
        .await
        .unwrap();
    let json = report(&["--json"]);
    assert!(json.ok, "{json:?}");
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["statistics"]["n"], 3);
    // Totals 5, 3, 1: mean 3.
    assert!((doc["statistics"]["mean"].as_f64().unwrap() - 3.0).abs() < 1e-9);
    let facility: Vec<f64> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["facility"].as_f64().unwrap())
        .collect();
    let expected = [2.0 / 3.0, 1.0, 1.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0];
    assert!(
        facility
            .iter()
            .zip(expected)
            .all(|(f, e)| (f - e).abs() < 1e-9),
        "{facility:?}"
    );
    assert_eq!(doc["items"][1]["flags"], serde_json::json!(["easy"]));
    // The options come from questions.json: nobody chose 3d, and it is listed.
    assert_eq!(doc["items"][2]["options"][3]["answerId"], "d");
    assert_eq!(doc["items"][2]["options"][3]["count"], 0);

    let csv = report(&["--csv"]);
    assert!(csv.ok, "{csv:?}");
    assert_eq!(csv.stdout.lines().count(), 1 + 5, "{}", csv.stdout);
    assert!(
        csv.stdout
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("operating-systems,test01,2,3,1.000,,b,"),
        "{}",
        csv.stdout
    );
}
