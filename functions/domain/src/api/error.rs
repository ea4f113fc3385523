//! Every way a request can fail, and the one place that maps them to HTTP status.

use crate::ports::StoreError;

/// A failed API request. Messages of 4xx variants are shown to the student as they
/// are; 5xx variants keep their cause for the logs and show a generic message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing API key: send your personal key in the x-api-key header")]
    MissingKey,
    #[error("{1}")]
    Forbidden(Denied, String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {method} is not allowed here; use {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("request body is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },
    #[error("{0}")]
    Unprocessable(String),
    #[error("the service is busy, please try again in a minute")]
    Unavailable(#[source] StoreError),
    #[error("something went wrong on our side; the trainer has been told")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a 403 was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    InvalidKey,
    NotYourId,
    NotOnRoster,
    NotEnrolled,
    TestClosed,
}

impl Denied {
    pub fn as_str(self) -> &'static str {
        match self {
            Denied::InvalidKey => "invalid_key",
            Denied::NotYourId => "not_your_id",
            Denied::NotOnRoster => "not_on_roster",
            Denied::NotEnrolled => "not_enrolled",
            Denied::TestClosed => "test_closed",
        }
    }
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::MissingKey => 401,
            ApiError::Forbidden(..) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::Unprocessable(_) => 422,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// A stable, machine-readable name of the error, sent as `reason` so clients
    /// need not parse messages.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::MissingKey => "missing_key",
            ApiError::Forbidden(denied, _) => denied.as_str(),
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => ApiError::Unavailable(e),
            StoreError::Failed(_) => ApiError::internal(e),
        }
    }
}

impl From<crate::keys::KeyError> for ApiError {
    fn from(e: crate::keys::KeyError) -> Self {
        match e {
            crate::keys::KeyError::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_error_maps_to_a_4xx_and_store_trouble_to_503() {
        assert_eq!(ApiError::MissingKey.status(), 401);
        assert_eq!(
            ApiError::PayloadTooLarge { size: 2, limit: 1 }.status(),
            413
        );
        assert_eq!(
            ApiError::from(StoreError::Unavailable("slow down".into())).status(),
            503
        );
        assert_eq!(
            ApiError::from(StoreError::Failed("denied".into())).status(),
            500
        );
    }

    #[test]
    fn server_errors_do_not_leak_their_cause_in_the_message() {
        let e = ApiError::from(StoreError::Failed(
            "AccessDenied arn:aws:s3:::secret".into(),
        ));
        assert!(!e.to_string().contains("arn"));
    }
}
