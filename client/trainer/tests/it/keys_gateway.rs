//! `trainer keys` on the local store and on a stack in moto, where each key is also an
//! API Gateway API key (same value) attached to the stack's usage plan.

use crate::course_support::{copy_of_sample, run, trainer, MotoStack, NOW};
use ework_adapters::local::LocalStore;
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::keys::{hash_key, Keyring};
use ework_domain::ports::FixedClock;

/// Picks `  <studentId>  <key>` lines out of the output.
fn issued(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (id, key) = (parts.next()?, parts.next()?);
            (key.starts_with("ewk_") && key.len() == 44 && parts.next().is_none())
                .then(|| (id.to_owned(), key.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn keys_issued_locally_open_the_api_and_revoked_ones_do_not() {
    let course = copy_of_sample();
    let data = tempfile::tempdir().unwrap();
    let local = |args: &[&str]| {
        let mut cmd = trainer();
        cmd.args(args).arg("--local").arg(data.path());
        run(&mut cmd)
    };
    assert!(
        run(trainer()
            .arg("sync")
            .arg(course.path())
            .arg("--local")
            .arg(data.path())
            .args(["--now", NOW]))
        .ok
    );

    let out = local(&["keys", "issue", "--missing"]);
    assert!(out.ok, "{out:?}");
    let keys = issued(&out.stdout);
    let ids: Vec<&str> = keys.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["student01", "student02", "student03", "student04"],
        "{out:?}"
    );
    let again = local(&["keys", "issue", "student01"]);
    assert!(
        !again.ok
            && again
                .stderr
                .contains("student01 already has a key; use `trainer keys rotate student01`"),
        "{again:?}"
    );
    let stranger = local(&["keys", "issue", "student99"]);
    assert!(
        !stranger.ok && stranger.stderr.contains("student99 is not on the roster"),
        "{stranger:?}"
    );

    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc();
    let list_tests = |key: &str| {
        let store = LocalStore::open(data.path()).unwrap();
        let api = Api::new(store, FixedClock(now), ApiConfig::default());
        let req = ApiRequest {
            method: "POST".into(),
            path: "/api/v1/tests".into(),
            api_key: Some(key.to_owned()),
            body: br#"{"studentId": "student01"}"#.to_vec(),
            ..ApiRequest::default()
        };
        async move { api.handle(req).await.status }
    };
    let first = keys[0].1.clone();
    assert_eq!(list_tests(&first).await, 200);

    let rotated = local(&["keys", "rotate", "student01"]);
    assert!(rotated.ok, "{rotated:?}");
    let new = issued(&rotated.stdout);
    assert_eq!(new.len(), 1);
    assert_eq!(list_tests(&first).await, 403, "the old key stops working");
    assert_eq!(list_tests(&new[0].1).await, 200);

    let listed = local(&["keys", "list"]);
    assert!(listed.ok, "{listed:?}");
    assert_eq!(
        listed
            .stdout
            .lines()
            .filter(|l| l.starts_with("student"))
            .count(),
        4,
        "{listed:?}"
    );
    assert!(
        !listed.stdout.contains(&new[0].1),
        "keys are never shown again"
    );

    let revoked = local(&["keys", "revoke", "student01"]);
    assert!(
        revoked.ok && revoked.stdout.contains("Revoked 1 key(s) of student01."),
        "{revoked:?}"
    );
    assert_eq!(list_tests(&new[0].1).await, 403);
    let listed = local(&["keys", "list"]);
    assert!(
        listed.stdout.contains("Without a key: student01"),
        "{listed:?}"
    );
}

#[tokio::test]
async fn on_a_stack_each_key_is_also_an_api_gateway_key_on_the_usage_plan() {
    let Some(stack) = MotoStack::create().await else {
        return;
    };
    let course = copy_of_sample();
    assert!(run(&mut stack.trainer(&["sync", course.path().to_str().unwrap(), "--now", NOW])).ok);
    let gateway = aws_sdk_apigateway::Client::new(&stack.aws);
    let plan_keys = || async {
        let got = gateway
            .get_usage_plan_keys()
            .usage_plan_id(&stack.usage_plan_id)
            .send()
            .await
            .unwrap();
        got.items()
            .iter()
            .map(|k| {
                (
                    k.id().unwrap().to_owned(),
                    k.value().unwrap_or_default().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let registry = || async {
        let objects = stack.objects().await;
        serde_json::from_slice::<Keyring>(&objects["_system/keyring/student02"]).unwrap()
    };

    let out = run(&mut stack.trainer(&["keys", "issue", "student02"]));
    assert!(out.ok, "{out:?}");
    let key = issued(&out.stdout).remove(0).1;
    let reg = registry().await;
    assert_eq!(reg.keys.len(), 1);
    assert_eq!(
        reg.keys[0].sha256.as_str(),
        hash_key(&key),
        "only the hash is stored"
    );
    let gateway_id = reg.keys[0]
        .gateway_key_id
        .clone()
        .expect("the gateway key id is recorded");
    let got = gateway
        .get_api_key()
        .api_key(&gateway_id)
        .include_value(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.value(),
        Some(key.as_str()),
        "the gateway key has the same value"
    );
    assert!(got.enabled());
    assert_eq!(plan_keys().await, [(gateway_id.clone(), key.clone())]);

    let rotated = run(&mut stack.trainer(&["keys", "rotate", "student02"]));
    assert!(rotated.ok, "{rotated:?}");
    let new_key = issued(&rotated.stdout).remove(0).1;
    let new_id = registry().await.keys[0].gateway_key_id.clone().unwrap();
    assert_ne!(new_id, gateway_id);
    assert_eq!(plan_keys().await, [(new_id.clone(), new_key)]);
    assert!(
        gateway
            .get_api_key()
            .api_key(&gateway_id)
            .send()
            .await
            .is_err(),
        "the old gateway key is deleted"
    );

    let listed = run(&mut stack.trainer(&["keys", "list"]));
    assert!(
        listed.stdout.contains(&format!("API Gateway key {new_id}")),
        "{listed:?}"
    );

    let revoked = run(&mut stack.trainer(&["keys", "revoke", "student02"]));
    assert!(revoked.ok, "{revoked:?}");
    assert!(plan_keys().await.is_empty());
    assert!(gateway.get_api_key().api_key(&new_id).send().await.is_err());
    assert!(registry().await.keys.is_empty());
}

#[tokio::test]
async fn a_stack_keeping_student_keys_out_of_api_gateway_issues_rotates_and_revokes_without_it() {
    let Some(stack) = MotoStack::create_without_gateway_keys().await else {
        return;
    };
    let course = copy_of_sample();
    assert!(run(&mut stack.trainer(&["sync", course.path().to_str().unwrap(), "--now", NOW])).ok);
    let gateway = aws_sdk_apigateway::Client::new(&stack.aws);
    let gateway_keys = || async {
        let got = gateway.get_api_keys().limit(500).send().await.unwrap();
        got.items()
            .iter()
            .filter(|k| k.name().unwrap_or_default().starts_with(&stack.name))
            .count()
    };
    let registry = || async {
        let objects = stack.objects().await;
        serde_json::from_slice::<Keyring>(&objects["_system/keyring/student02"]).unwrap()
    };

    let out = run(&mut stack.trainer(&["keys", "issue", "student02"]));
    assert!(out.ok, "no usage plan is asked for: {out:?}");
    let key = issued(&out.stdout).remove(0).1;
    let reg = registry().await;
    assert_eq!(reg.keys.len(), 1);
    assert_eq!(reg.keys[0].sha256.as_str(), hash_key(&key));
    assert_eq!(reg.keys[0].gateway_key_id, None, "{reg:?}");
    assert_eq!(gateway_keys().await, 0, "no API Gateway key is made");

    let rotated = run(&mut stack.trainer(&["keys", "rotate", "student02"]));
    assert!(rotated.ok, "{rotated:?}");
    let new_key = issued(&rotated.stdout).remove(0).1;
    let reg = registry().await;
    assert_eq!(reg.keys.len(), 1);
    assert_eq!(reg.keys[0].sha256.as_str(), hash_key(&new_key));
    assert_eq!(reg.keys[0].gateway_key_id, None);
    assert_eq!(gateway_keys().await, 0);

    let issued_all = run(&mut stack.trainer(&["keys", "issue", "--missing"]));
    assert!(issued_all.ok, "{issued_all:?}");
    assert_eq!(issued(&issued_all.stdout).len(), 3, "{issued_all:?}");
    assert_eq!(gateway_keys().await, 0);

    let listed = run(&mut stack.trainer(&["keys", "list"]));
    assert!(
        listed.ok && !listed.stdout.contains("API Gateway key"),
        "{listed:?}"
    );

    let revoked = run(&mut stack.trainer(&["keys", "revoke", "student02"]));
    assert!(
        revoked.ok && revoked.stdout.contains("Revoked 1 key(s) of student02."),
        "{revoked:?}"
    );
    assert!(registry().await.keys.is_empty());
}
