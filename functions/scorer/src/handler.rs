//! The Lambda handler: turns the schedule's event into one scoring pass.

use chrono::{DateTime, Utc};
use ework_domain::ports::{Clock, Mailer, ObjectStore};
use ework_domain::scoring::{score_pass, RunOptions, RunSummary, ScoringConfig, ScoringError};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the invocation asks for. The EventBridge Scheduler sends `{}` (or its own
/// fields, ignored); a manual re-run may send `{"now": "<RFC 3339>"}` and
/// `"dryRun": true`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScorerEvent {
    pub now: Option<DateTime<Utc>>,
    pub dry_run: bool,
}

/// Why an invocation failed. Returning an error makes Lambda retry an asynchronous
/// invocation (twice, with backoff), which is how an unfinished pass is continued.
#[derive(Debug, thiserror::Error)]
pub enum ScorerError {
    #[error("bad event: {0}")]
    BadEvent(String),
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    #[error(
        "the pass stopped early ({0}); everything done so far is recorded and a retry continues"
    )]
    Incomplete(String),
}

impl ScorerEvent {
    pub fn parse(payload: &Value) -> Result<Self, ScorerError> {
        let Some(map) = payload.as_object() else {
            return Ok(Self::default());
        };
        let now = match map.get("now") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| ScorerError::BadEvent(format!("\"now\" must be RFC 3339 ({e})")))?
                    .with_timezone(&Utc),
            ),
            Some(other) => {
                return Err(ScorerError::BadEvent(format!(
                    "\"now\" must be a string, got {other}"
                )))
            }
        };
        let dry_run = match map.get("dryRun") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(ScorerError::BadEvent(format!(
                    "\"dryRun\" must be a boolean, got {other}"
                )))
            }
        };
        Ok(Self { now, dry_run })
    }
}

/// Anything before 2000-01-01 is not an epoch deadline: `0` (no Lambda context) or an
/// emulator's relative value (`cargo lambda watch` sends 600000).
const PLAUSIBLE_EPOCH_MS: u64 = 946_684_800_000;

/// The invocation's deadline (milliseconds since the epoch) as an `Instant`; `None`
/// when there is no usable deadline (local runs, emulators).
pub fn deadline_instant(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms < PLAUSIBLE_EPOCH_MS {
        return None;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Some(Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

/// The clients and settings built once per container.
pub struct Scorer {
    pub store: Arc<dyn ObjectStore>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub config: ScoringConfig,
}

impl Scorer {
    #[tracing::instrument(skip_all, fields(request_id = %event.context.request_id))]
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<RunSummary, ScorerError> {
        let request = ScorerEvent::parse(&event.payload)?;
        let options = RunOptions {
            now: request.now.unwrap_or_else(|| self.clock.now()),
            deadline: deadline_instant(event.context.deadline),
            dry_run: request.dry_run,
        };
        let remaining = options
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        tracing::info!(now = %options.now, dry_run = options.dry_run, ?remaining, "scoring pass starts");
        let summary = score_pass(
            self.store.as_ref(),
            self.mailer.as_ref(),
            &self.config,
            options,
        )
        .await?;
        tracing::info!(
            complete = summary.complete,
            scored = summary.scored.len(),
            sent = summary.sent.len(),
            failed = summary.failed.len(),
            report = summary.report.is_some(),
            "scoring pass finished"
        );
        match (&summary.stopped_early, summary.complete) {
            (Some(why), _) => Err(ScorerError::Incomplete(why.clone())),
            (None, false) => Err(ScorerError::Incomplete(
                "the trainer's report could not be sent".into(),
            )),
            (None, true) => Ok(summary),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_schedule_event_and_a_manual_override_are_both_accepted() {
        assert_eq!(
            ScorerEvent::parse(&json!({})).unwrap(),
            ScorerEvent::default()
        );
        assert_eq!(
            ScorerEvent::parse(&Value::Null).unwrap(),
            ScorerEvent::default()
        );
        let e = ScorerEvent::parse(&json!({"now": "2026-11-30T23:05:00+01:00", "dryRun": true}))
            .unwrap();
        assert_eq!(e.now.unwrap().to_rfc3339(), "2026-11-30T22:05:00+00:00");
        assert!(e.dry_run);
        // Extra fields a scheduler may add are ignored.
        assert!(ScorerEvent::parse(&json!({"source": "aws.scheduler"})).is_ok());
    }

    #[test]
    fn a_malformed_override_is_refused_instead_of_scoring_at_the_wrong_time() {
        assert!(ScorerEvent::parse(&json!({"now": "yesterday"})).is_err());
        assert!(ScorerEvent::parse(&json!({"now": 5})).is_err());
        assert!(ScorerEvent::parse(&json!({"dryRun": "yes"})).is_err());
    }

    #[test]
    fn an_unknown_deadline_means_no_time_limit() {
        assert!(deadline_instant(0).is_none());
        assert!(
            deadline_instant(600_000).is_none(),
            "cargo lambda's relative value"
        );
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            + 60_000;
        let d = deadline_instant(ms).unwrap();
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(55) && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }
}
