//! The Lambda handler: turns the schedule's event into one scoring pass.

use chrono::{DateTime, Utc};
use ework_domain::ports::{Clock, Mailer, ObjectStore};
use ework_domain::scoring::{score_pass, RunOptions, RunSummary, ScoringConfig, ScoringError};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use std::io::Write;
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

/// CloudWatch namespace of the scorer's metrics; cloudformation/scorer.yaml's alarms
/// (the heartbeat among them) read these names.
pub const METRICS_NAMESPACE: &str = "EworkTrainings";
/// 1 for a pass that finished everything due (a pass that finds nothing due
/// included), 0 for one that stopped early. Passes run every 15 minutes; the
/// heartbeat alarm fires after `HeartbeatGraceHours` of hours without a 1.
pub const PASSES_COMPLETED: &str = "PassesCompleted";

/// The pass summary as one CloudWatch Embedded Metric Format line: graded answers,
/// emails sent (the trainer's report included), failed emails, the pass's duration
/// and whether it completed, under the `Function` dimension (the function's name).
pub fn pass_metrics_line(
    function: &str,
    summary: &RunSummary,
    duration: Duration,
    at: DateTime<Utc>,
) -> String {
    let emailed = summary.sent.len() + usize::from(summary.report.is_some());
    json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [
                    {"Name": "Graded", "Unit": "Count"},
                    {"Name": "Emailed", "Unit": "Count"},
                    {"Name": "Failed", "Unit": "Count"},
                    {"Name": "Duration", "Unit": "Milliseconds"},
                    {"Name": PASSES_COMPLETED, "Unit": "Count"},
                ],
            }],
        },
        "Function": function,
        "Graded": summary.scored.len(),
        "Emailed": emailed,
        "Failed": summary.failed.len(),
        "Duration": u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        PASSES_COMPLETED: u8::from(summary.complete),
        "closedTests": summary.closed_tests,
        "passAt": summary.now.to_rfc3339(),
        "message": "scoring pass metrics",
    })
    .to_string()
}

/// An invocation that finds another pass holding the lease does nothing and
/// succeeds: the holder does the work, or, if it died, the next scheduled pass (a
/// quarter of an hour later) does once the lease has run out. Failing would make
/// Lambda retry into the same lease and end in the dead-letter queue, an alarm
/// for nothing (overlaps are ordinary with passes every 15 minutes: a long pass,
/// its retry, `trainer score`). Not a completed pass: no heartbeat metric.
pub fn stand_aside(options: RunOptions, until: DateTime<Utc>) -> RunSummary {
    let why = format!(
        "another scorer run holds the lease until {until}; it or the next scheduled pass does the work"
    );
    tracing::info!(%until, "scoring pass skipped: {why}");
    let mut summary = RunSummary::empty(options.now, options.dry_run);
    summary.problems.push(why);
    summary
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
        let started = Instant::now();
        let summary = match score_pass(
            self.store.as_ref(),
            self.mailer.as_ref(),
            &self.config,
            options,
        )
        .await
        {
            Err(ScoringError::Busy(until)) => return Ok(stand_aside(options, until)),
            other => other?,
        };
        // A dry run grades and sends nothing, so it must not count as a completed pass.
        if !summary.dry_run {
            let line = pass_metrics_line(
                &event.context.env_config.function_name,
                &summary,
                started.elapsed(),
                self.clock.now(),
            );
            // One write of one line: CloudWatch Logs turns it into metrics (EMF).
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
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
    use ework_domain::scoring::run::SentItem;

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

    fn summary(complete: bool) -> RunSummary {
        RunSummary {
            now: DateTime::<Utc>::UNIX_EPOCH,
            dry_run: false,
            complete,
            closed_tests: 2,
            scored: vec![],
            sent: vec![],
            failed: vec![],
            report: None,
            problems: vec![],
            stopped_early: None,
        }
    }

    #[test]
    fn a_pass_is_reported_as_one_embedded_metric_format_line() {
        let mut s = summary(true);
        let mail = SentItem {
            to: vec!["student@ework.test".into()],
            subject: "Your result".into(),
            message_id: "1".into(),
        };
        s.sent = vec![mail.clone(); 3];
        s.report = Some(mail);
        let at = DateTime::parse_from_rfc3339("2026-11-30T22:07:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let line = pass_metrics_line("ework-scorer", &s, Duration::from_millis(1234), at);

        assert!(!line.contains('\n'), "one line: {line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        let aws = &v["_aws"];
        assert_eq!(aws["Timestamp"], json!(at.timestamp_millis()));
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], json!("EworkTrainings"));
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["Graded", "Emailed", "Failed", "Duration", "PassesCompleted"]
        );
        // Every metric named in the directive is a number at the top level (EMF's rule).
        for name in names {
            assert!(v[name].is_number(), "{name} in {line}");
        }
        assert_eq!(v["Function"], json!("ework-scorer"));
        assert_eq!(v["Graded"], json!(0));
        assert_eq!(v["Emailed"], json!(4), "three students and the report");
        assert_eq!(v["Failed"], json!(0));
        assert_eq!(v["Duration"], json!(1234));
        assert_eq!(v["PassesCompleted"], json!(1));
    }

    #[test]
    fn a_pass_that_stopped_early_does_not_count_as_a_completed_pass() {
        let line = pass_metrics_line(
            "f",
            &summary(false),
            Duration::ZERO,
            DateTime::<Utc>::UNIX_EPOCH,
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["PassesCompleted"], json!(0));
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
