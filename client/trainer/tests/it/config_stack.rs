//! `trainer config`: the API URL, bucket and usage plan from a (moto) stack's outputs.

use crate::course_support;

use crate::course_support::{run, MotoStack};

#[tokio::test]
async fn config_prints_the_stack_outputs() {
    let Some(stack) = MotoStack::create().await else {
        return;
    };
    let url = format!(
        "https://{}.execute-api.eu-central-1.amazonaws.com/v1",
        stack.api_id
    );

    let out = run(&mut stack.trainer(&["config"]));
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout.contains(&format!("API URL:     {url}\n")),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("Usage plan:  {}\n", stack.usage_plan_id)),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("Bucket:      {}\n", stack.bucket)),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("Time zone:   Europe/Warsaw\n"),
        "{out:?}"
    );

    let out = run(&mut stack.trainer(&["config", "--json"]));
    assert!(out.ok, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["apiUrl"], url.as_str());
    assert_eq!(doc["apiId"], stack.api_id.as_str());
    assert_eq!(doc["usagePlanId"], stack.usage_plan_id.as_str());
    assert_eq!(doc["bucketName"], stack.bucket.as_str());
}

#[test]
fn config_of_an_unknown_stack_says_so() {
    let Some(moto) = course_support::moto_or_skip() else {
        return;
    };
    let out = run(course_support::trainer_on_moto(&moto).args([
        "config",
        "--stack",
        "no-such-stack-here",
    ]));
    assert!(!out.ok);
    assert!(
        out.stderr.contains("reading stack no-such-stack-here"),
        "{out:?}"
    );
}
