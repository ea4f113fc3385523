//! The SES mailer against moto (real SES v2 wire format) and against a tiny fake
//! SES on 127.0.0.1 that throttles on demand (moto never throttles).

use aws_sdk_sesv2::config::{Credentials, Region};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ework_adapters::ses::{ses_client, RetryPolicy, SesMailer};
use ework_domain::ports::{MailError, Mailer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn aws_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}@ses-test.example.com", hex_nonce())
}

fn hex_nonce() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:04x}", t, std::process::id() & 0xffff)
}

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    }
}

#[tokio::test]
async fn raw_mail_reaches_moto_with_its_recipients_and_bytes() {
    let Some(moto) = ework_testkit::moto::url_or_skip() else {
        return;
    };
    let config = aws_config(&moto).await;
    let client = ses_client(&config, None);
    let sender = unique("sender");
    let to = unique("student");
    client
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("verify sender in moto");
    let mailer = SesMailer::new(client, None);
    let raw =
        format!("From: {sender}\r\nTo: {to}\r\nSubject: [os] [t1] Test score\r\n\r\nHello\r\n");
    let id = mailer
        .send(std::slice::from_ref(&to), raw.clone().into_bytes())
        .await
        .expect("send");
    assert!(!id.is_empty());

    let data = ework_testkit::moto::state(&moto).await;
    let sent: Vec<&serde_json::Value> = data["ses"]["RawMessage"]
        .as_array()
        .expect("moto lists raw messages")
        .iter()
        .filter(|m| {
            m["destinations"]
                .as_array()
                .is_some_and(|d| d.iter().any(|a| a == to.as_str()))
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["id"], id.as_str());
    assert_eq!(sent[0]["raw_data"], raw.as_str());
}

#[tokio::test]
async fn moto_without_a_sending_quota_api_gives_no_rate() {
    let Some(moto) = ework_testkit::moto::url_or_skip() else {
        return;
    };
    let config = aws_config(&moto).await;
    let mailer = SesMailer::new(ses_client(&config, None), None);
    // moto does not implement GetAccount: the caller falls back to its configured rate.
    assert_eq!(mailer.max_send_rate().await, None);
}

/// A fake SES endpoint answering the first `throttle` requests with 429.
async fn fake_ses(throttle: usize, reject: bool) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let json = [("content-type", "application/json")];
            if reject {
                let err = [
                    ("x-amzn-ErrorType", "MessageRejected"),
                    ("content-type", "application/json"),
                ];
                (
                    StatusCode::BAD_REQUEST,
                    err,
                    r#"{"message":"Email address is not verified."}"#,
                )
                    .into_response()
            } else if n < throttle {
                let err = [
                    ("x-amzn-ErrorType", "TooManyRequestsException"),
                    ("content-type", "application/json"),
                ];
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    err,
                    r#"{"message":"Maximum sending rate exceeded."}"#,
                )
                    .into_response()
            } else {
                (
                    StatusCode::OK,
                    json,
                    format!(r#"{{"MessageId":"fake-{n}"}}"#),
                )
                    .into_response()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_until_ses_accepts() {
    let (url, calls) = fake_ses(2, false).await;
    let mailer = SesMailer::new(
        ses_client(&aws_config(&url).await, None),
        Some("ework".into()),
    )
    .with_retry(fast_retries(5));
    let id = mailer
        .send(&["a@example.com".into()], b"Subject: x\r\n\r\ny".to_vec())
        .await
        .unwrap();
    assert_eq!(id, "fake-2");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn persistent_throttling_is_reported_as_unavailable_after_the_last_attempt() {
    let (url, calls) = fake_ses(usize::MAX, false).await;
    let mailer =
        SesMailer::new(ses_client(&aws_config(&url).await, None), None).with_retry(fast_retries(3));
    let err = mailer
        .send(&["a@example.com".into()], b"x".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Unavailable(_)), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_rejected_message_is_not_retried() {
    let (url, calls) = fake_ses(0, true).await;
    let mailer =
        SesMailer::new(ses_client(&aws_config(&url).await, None), None).with_retry(fast_retries(5));
    let err = mailer
        .send(&["a@example.com".into()], b"x".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Rejected(_)), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
