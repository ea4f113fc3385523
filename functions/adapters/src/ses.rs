//! The SES mailer: sends raw RFC 5322 messages with SES v2 `SendEmail`.
//!
//! Retries are ours (exponential backoff with jitter, throttling and transient
//! failures only), so the SDK's own retry layer is switched off in [`ses_client`]
//! to keep one place that decides how long a send may take.

use async_trait::async_trait;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::Region;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sesv2::Client;
use ework_domain::ports::{MailError, Mailer};
use std::time::Duration;

/// An SES v2 client from the shared AWS config; `region` overrides the config's
/// region (SES is often used in another region than the bucket).
pub fn ses_client(config: &aws_config::SdkConfig, region: Option<String>) -> Client {
    let mut builder =
        aws_sdk_sesv2::config::Builder::from(config).retry_config(RetryConfig::disabled());
    if let Some(region) = region.filter(|r| !r.trim().is_empty()) {
        builder = builder.region(Region::new(region));
    }
    Client::from_conf(builder.build())
}

/// How hard to try before a send counts as failed (it is then retried on the next run).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `n + 1` (n >= 1): doubling, capped, with up to 50% jitter
    /// so parallel senders do not retry in lockstep.
    fn delay(&self, n: u32) -> Duration {
        let base = self
            .first_delay
            .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)));
        let capped = base.min(self.max_delay);
        let jitter = rand::random::<f64>() * 0.5;
        capped.mul_f64(1.0 - jitter / 2.0)
    }
}

/// Sends through SES v2.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
    retry: RetryPolicy,
}

impl SesMailer {
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set: configuration_set.filter(|c| !c.trim().is_empty()),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The account's sending rate (messages per second), if SES tells us.
    pub async fn max_send_rate(&self) -> Option<f64> {
        match self.client.get_account().send().await {
            Ok(account) => account
                .send_quota()
                .map(|q| q.max_send_rate())
                .filter(|r| *r > 0.0),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the SES sending quota");
                None
            }
        }
    }

    async fn send_once(&self, to: &[String], raw: &[u8]) -> Result<String, MailError> {
        let message = RawMessage::builder()
            .data(Blob::new(raw.to_vec()))
            .build()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let out = self
            .client
            .send_email()
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(to.to_vec()))
                    .build(),
            )
            .content(EmailContent::builder().raw(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(map_error)?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}

/// Throttling, quota and transient transport failures are worth retrying; a
/// rejected message or a misconfiguration is not.
pub fn map_error(err: SdkError<SendEmailError>) -> MailError {
    let status = err.raw_response().map(|r| r.status().as_u16());
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let text = format!(
                "{}: {}",
                e.code().unwrap_or("SES error"),
                e.message().unwrap_or("")
            );
            match e {
                SendEmailError::TooManyRequestsException(_)
                | SendEmailError::LimitExceededException(_) => MailError::Unavailable(text),
                _ if matches!(
                    e.code(),
                    Some("Throttling" | "ThrottlingException" | "ServiceUnavailable")
                ) =>
                {
                    MailError::Unavailable(text)
                }
                _ if status.is_some_and(|s| s == 429 || s >= 500) => MailError::Unavailable(text),
                _ => MailError::Rejected(text),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            MailError::Unavailable(err.to_string())
        }
        _ => MailError::Rejected(err.to_string()),
    }
}

#[async_trait]
impl Mailer for SesMailer {
    #[tracing::instrument(skip_all, fields(to = ?to))]
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        let mut attempt = 1;
        loop {
            match self.send_once(to, &raw).await {
                Err(MailError::Unavailable(why)) if attempt < self.retry.attempts => {
                    let pause = self.retry.delay(attempt);
                    tracing::warn!(attempt, ?pause, %why, "SES unavailable or throttling; retrying");
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        let d1 = p.delay(1);
        let d3 = p.delay(3);
        assert!(
            d1 >= Duration::from_millis(75) && d1 <= Duration::from_millis(100),
            "{d1:?}"
        );
        assert!(
            d3 >= Duration::from_millis(225) && d3 <= Duration::from_millis(300),
            "{d3:?}"
        );
    }
}
