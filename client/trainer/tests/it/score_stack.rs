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
