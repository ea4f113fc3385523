//! The local stack's stand-in for the EventBridge schedule: wake up at every
//! Monday 23:00 in the trainer's zone and at every window's close (a due set in
//! `test.json`, an extension, extra time, a late window), plus the grading grace,
//! and run a scoring pass.

use super::run::{score_pass, RunOptions, ScoringConfig};
use crate::deadline::{next_deadline, GRADING_GRACE};
use crate::model::{Catalog, Roster};
use crate::ports::{Clock, Mailer, ObjectStore};
use crate::{layout, store_json, windows};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How the scheduler waits: real sleeps in production; a test moves its clock
/// instead, so it never waits in real time.
#[async_trait]
pub trait Sleep: Send + Sync {
    async fn sleep(&self, d: Duration);
}

/// Waits in real time.
pub struct TokioSleep;

#[async_trait]
impl Sleep for TokioSleep {
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Longest single sleep: the deadline is recomputed at least this often, so a
/// suspended laptop or a changed system clock is noticed.
const MAX_NAP: Duration = Duration::from_secs(60);
/// Pause between attempts when a pass could not finish (busy lease, store down).
const RETRY_PAUSE: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: u32 = 30;

/// Runs until `shutdown` resolves: sleeps until the next Monday 23:00 in
/// `config.time_zone` (by `clock`) plus [`GRADING_GRACE`], runs [`score_pass`], and repeats. A pass that
/// does not complete is retried every minute (at most 30 times); being idempotent,
/// a retry only does what is left.
pub async fn run_scheduler(
    store: Arc<dyn ObjectStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    config: ScoringConfig,
    shutdown: impl Future<Output = ()>,
) {
    run_scheduler_with(store, mailer, clock, &TokioSleep, config, shutdown).await;
}

/// [`run_scheduler`], waiting with `sleep`. `clock` says when to fire; the passes'
/// lease and budget read `config.clock` (a fixed scoring time must not freeze them).
pub async fn run_scheduler_with(
    store: Arc<dyn ObjectStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    sleep: &dyn Sleep,
    config: ScoringConfig,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let tz = config.time_zone;
    // A deadline whose grace is still running is still to be scored.
    let mut after = clock.now() - GRADING_GRACE;
    loop {
        let mut scheduled = None;
        // Worked out again after every nap: a sync may add an extension meanwhile.
        let (deadline, due) = loop {
            let deadline = next_wake(store.as_ref(), after, tz).await;
            // Like the AWS schedule, a grace after the deadline: uploads acknowledged
            // just before it have landed by then.
            let due = deadline + GRADING_GRACE;
            if scheduled != Some(due) {
                tracing::info!(next_run = %due, "scorer scheduled");
                scheduled = Some(due);
            }
            let now = clock.now();
            if now >= due {
                break (deadline, due);
            }
            let nap = (due - now).to_std().unwrap_or_default().min(MAX_NAP);
            tokio::select! {
                () = &mut shutdown => return,
                () = sleep.sleep(nap) => {}
            }
        };
        for attempt in 1..=MAX_ATTEMPTS {
            let options = RunOptions {
                now: clock.now().max(due),
                deadline: None,
                dry_run: false,
            };
            match score_pass(store.as_ref(), mailer.as_ref(), &config, options).await {
                Ok(summary) if summary.complete => {
                    tracing::info!(
                        scored = summary.scored.len(),
                        sent = summary.sent.len(),
                        failed = summary.failed.len(),
                        "scoring pass complete"
                    );
                    break;
                }
                Ok(summary) => {
                    tracing::warn!(attempt, stopped = ?summary.stopped_early, "scoring pass incomplete")
                }
                Err(e) => tracing::warn!(attempt, error = %e, "scoring pass failed"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = sleep.sleep(RETRY_PAUSE) => {}
            }
        }
        after = deadline;
    }
}

/// The next instant after `after` that closes something: the weekly deadline, or
/// an earlier close of a window in the catalog (read each time; an unreadable
/// catalog or roster leaves the weekly deadline).
async fn next_wake(store: &dyn ObjectStore, after: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let weekly = next_deadline(after, tz);
    let catalog = store_json::read::<Catalog>(store, &layout::catalog()).await;
    let roster = store_json::read::<Roster>(store, &layout::roster()).await;
    let (Ok(catalog), Ok(roster)) = (catalog, roster) else {
        return weekly;
    };
    let (catalog, roster) = (catalog.unwrap_or_default(), roster.unwrap_or_default());
    windows::next_close(&catalog, &roster, after).map_or(weekly, |close| close.min(weekly))
}
