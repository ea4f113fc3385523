//! Every way the gateway refuses a request before the handlers see it, and the one
//! place that turns such a refusal into the API's JSON envelope.

use ework_domain::api::{error_response, ApiError, ApiResponse};
use ework_domain::ports::StoreError;
use serde_json::json;
use std::time::Duration;

/// A request refused by the gateway itself.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the request headers did not arrive within {} s; check your connection and try again", secs(*.0))]
    HeadTimeout(Duration),
    #[error("the request body did not arrive within {} s; check your connection and try again", secs(*.0))]
    BodyTimeout(Duration),
    #[error("the request is not valid HTTP: {0}")]
    Malformed(String),
    #[error("the request is ambiguous: {0}")]
    Ambiguous(String),
    #[error("the request address is too long; the limit is {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("the request headers are too large; the limit is {limit} bytes and {headers} headers")]
    HeadTooLarge { limit: usize, headers: usize },
    #[error("the only expectation supported is `Expect: 100-continue`")]
    ExpectationFailed,
    #[error("request body is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { size: u64, limit: usize },
    /// Every connection the server may hold is taken.
    #[error("too many open connections")]
    Busy,
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

impl Refusal {
    /// The response: the same `{"code", "body", "reason"}` envelope as the handlers'
    /// errors. Refusals the API also knows take the API's own status and reason.
    pub fn response(&self) -> ApiResponse {
        let (status, reason) = match self {
            Refusal::Malformed(_) | Refusal::Ambiguous(_) => {
                return error_response(&ApiError::BadRequest(self.to_string()))
            }
            Refusal::PayloadTooLarge { size, limit } => {
                return error_response(&ApiError::PayloadTooLarge {
                    size: usize::try_from(*size).unwrap_or(usize::MAX),
                    limit: *limit,
                })
            }
            Refusal::Busy => {
                return error_response(&ApiError::Unavailable(StoreError::Unavailable(
                    self.to_string(),
                )))
            }
            Refusal::HeadTimeout(_) | Refusal::BodyTimeout(_) => (408, "request_timeout"),
            Refusal::UriTooLong { .. } => (414, "uri_too_long"),
            Refusal::HeadTooLarge { .. } => (431, "headers_too_large"),
            Refusal::ExpectationFailed => (417, "expectation_failed"),
        };
        ApiResponse {
            status,
            body: json!({"code": status, "body": self.to_string(), "reason": reason}),
            allow: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_an_envelope_with_its_status_a_message_and_a_reason() {
        for (refusal, status, reason) in [
            (
                Refusal::HeadTimeout(Duration::from_secs(10)),
                408,
                "request_timeout",
            ),
            (
                Refusal::BodyTimeout(Duration::from_millis(300)),
                408,
                "request_timeout",
            ),
            (Refusal::Malformed("x".into()), 400, "bad_request"),
            (Refusal::Ambiguous("x".into()), 400, "bad_request"),
            (Refusal::UriTooLong { limit: 1 }, 414, "uri_too_long"),
            (
                Refusal::HeadTooLarge {
                    limit: 1,
                    headers: 1,
                },
                431,
                "headers_too_large",
            ),
            (Refusal::ExpectationFailed, 417, "expectation_failed"),
            (
                Refusal::PayloadTooLarge { size: 2, limit: 1 },
                413,
                "payload_too_large",
            ),
            (Refusal::Busy, 503, "unavailable"),
        ] {
            let resp = refusal.response();
            assert_eq!(resp.status, status, "{refusal:?}");
            assert_eq!(resp.body["code"], status, "{refusal:?}");
            assert_eq!(resp.body["reason"], reason, "{refusal:?}");
            assert!(!resp.body["body"].as_str().unwrap_or("").is_empty());
        }
    }

    #[test]
    fn timeouts_are_told_in_seconds() {
        assert!(Refusal::HeadTimeout(Duration::from_secs(10))
            .to_string()
            .contains("within 10 s"));
        assert!(Refusal::BodyTimeout(Duration::from_millis(300))
            .to_string()
            .contains("within 0.3 s"));
    }
}
