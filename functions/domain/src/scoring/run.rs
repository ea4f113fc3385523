//! One scoring pass: take the lease, read the snapshot ([`super::snapshot`]), make
//! the plan ([`super::plan`]), perform it ([`super::execute`]), release the lease.
//!
//! Nothing is remembered between passes except what is stored, so a pass after a
//! crash, a retry or a duplicate event simply finds less to do.
//!
//! What a pass costs in store requests: one read per submission to grade; per test
//! that still has work, one listing (per 1000 keys), one read of its results and at
//! most two writes of them; one journal write per wave of emails. Tests that are
//! settled (reported, everyone emailed) cost one read.

use super::budget::{Budget, Stop};
use super::email;
use super::execute::{Context, Executor};
use super::ledger::{Lease, LeaseError};
use super::plan;
use super::snapshot::{self, Reading};
use crate::ids::{StudentId, SubjectName, TestId};
use crate::ports::{Clock, Mailer, ObjectStore, StoreError, SystemClock};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::email::FailedSend;

/// Emails per journal write by default: at 16, a 100 x 10 course stays within 1.1
/// store requests per submission while a crash re-sends at most 16 emails.
pub const DEFAULT_LEDGER_BATCH: usize = 16;

/// Settings of the scorer (read from env by the binaries, never here).
#[derive(Clone)]
pub struct ScoringConfig {
    /// The trainer's zone: dates in emails are shown in it; the scheduler fires in it.
    pub time_zone: Tz,
    /// Top of the grade scale (grades are `0..=max_grade`).
    pub max_grade: u32,
    /// `From:` of every email, `Name <address>` or `address`.
    pub sender: String,
    /// Where the trainer's report goes.
    pub trainer_email: String,
    /// Emails per second; `None` sends as fast as the mail service answers.
    pub send_rate: Option<f64>,
    /// Objects read at the same time.
    pub read_concurrency: usize,
    /// Stop this long before the invocation's deadline, so everything is recorded
    /// (at most a quarter of the time the invocation has, for short timeouts).
    pub safety_margin: Duration,
    /// How long a run may hold the lease at most (a crashed run blocks others this long).
    pub lease_ttl: Duration,
    /// Emails recorded in the journal with one write (group commit). A crash between
    /// an accepted email and its wave's record re-sends at most this many emails on
    /// the next pass; 1 records every email on its own, at one write per email.
    pub ledger_batch: usize,
    /// Where the lease and the time budget read the time (the scoring time itself
    /// is [`RunOptions::now`]). Tests move a clock of their own instead of sleeping.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ScoringConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoringConfig")
            .field("time_zone", &self.time_zone)
            .field("max_grade", &self.max_grade)
            .field("sender", &self.sender)
            .field("trainer_email", &self.trainer_email)
            .field("send_rate", &self.send_rate)
            .field("read_concurrency", &self.read_concurrency)
            .field("safety_margin", &self.safety_margin)
            .field("lease_ttl", &self.lease_ttl)
            .field("ledger_batch", &self.ledger_batch)
            .finish_non_exhaustive()
    }
}

impl ScoringConfig {
    pub fn new(sender: impl Into<String>, trainer_email: impl Into<String>) -> Self {
        Self {
            time_zone: crate::deadline::DEFAULT_TIME_ZONE,
            max_grade: 5,
            sender: sender.into(),
            trainer_email: trainer_email.into(),
            send_rate: None,
            read_concurrency: 16,
            safety_margin: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(15 * 60),
            ledger_batch: DEFAULT_LEDGER_BATCH,
            clock: Arc::new(SystemClock),
        }
    }
}

/// What one pass is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Tests due at least [`crate::deadline::GRADING_GRACE`] before this instant are scored.
    pub now: DateTime<Utc>,
    /// The invocation must be finished by then (the Lambda deadline); `None` = no
    /// limit. Turned into [`ScoringConfig::clock`]'s time once, when the pass starts.
    pub deadline: Option<Instant>,
    /// Work everything out and render the emails, but write and send nothing.
    pub dry_run: bool,
}

/// A result written (or, in a dry run, that would be written).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoredItem {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub student_id: StudentId,
    pub points: super::points::Points,
    pub total: u32,
    pub grade: u32,
    pub revision: u32,
    /// On a correction: the grade the student was told before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_grade: Option<u32>,
}

/// An email handed to the mail service (or, in a dry run, that would be).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentItem {
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
}

/// What a pass did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub now: DateTime<Utc>,
    pub dry_run: bool,
    /// Everything due was done; `false` means a follow-up pass has work left.
    pub complete: bool,
    pub closed_tests: usize,
    pub scored: Vec<ScoredItem>,
    pub sent: Vec<SentItem>,
    pub failed: Vec<FailedSend>,
    pub report: Option<SentItem>,
    pub problems: Vec<String>,
    pub stopped_early: Option<String>,
}

impl RunSummary {
    /// Nothing done yet.
    pub fn empty(now: DateTime<Utc>, dry_run: bool) -> Self {
        Self {
            now,
            dry_run,
            complete: false,
            closed_tests: 0,
            scored: vec![],
            sent: vec![],
            failed: vec![],
            report: None,
            problems: vec![],
            stopped_early: None,
        }
    }
}

/// Why a pass could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    #[error("scorer configuration: {0}")]
    Config(String),
    #[error("another scorer run is in progress (lease held until {0}); try again later")]
    Busy(DateTime<Utc>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LeaseError> for ScoringError {
    fn from(e: LeaseError) -> Self {
        match e {
            LeaseError::Busy(until) => ScoringError::Busy(until),
            LeaseError::Store(e) => ScoringError::Store(e),
        }
    }
}

/// Runs one scoring pass. The Lambda, `trainer score --now` and the local scheduler
/// all call this.
#[tracing::instrument(skip_all, fields(now = %options.now, dry_run = options.dry_run))]
pub async fn score_pass(
    store: &dyn ObjectStore,
    mailer: &dyn Mailer,
    config: &ScoringConfig,
    options: RunOptions,
) -> Result<RunSummary, ScoringError> {
    let from = email::parse_mailbox(&config.sender)
        .map_err(|e| ScoringError::Config(format!("sender: {e}")))?;
    let trainer = email::parse_mailbox(&config.trainer_email)
        .map_err(|e| ScoringError::Config(format!("trainer email: {e}")))?;
    if config.max_grade == 0 {
        return Err(ScoringError::Config("max grade must be at least 1".into()));
    }
    let clock = config.clock.clone();
    let left = options
        .deadline
        .map(|d| d.saturating_duration_since(Instant::now()));
    let lease = if options.dry_run {
        None
    } else {
        // The lease is about real time (other processes), not the scoring time, which
        // a manual re-run may set in the past.
        let ttl = left.map_or(config.lease_ttl, |l| config.lease_ttl.min(l));
        let now = clock.now();
        let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15));
        Some(Lease::acquire(store, now, until).await?)
    };
    // At most a quarter of the time the invocation has, for short timeouts.
    let margin = left.map_or(config.safety_margin, |l| config.safety_margin.min(l / 4));
    let cx = Context {
        store,
        mailer,
        config,
        from,
        trainer,
        budget: Budget::until(clock, options.deadline, margin),
        now: options.now,
        dry_run: options.dry_run,
    };
    let result = pass(cx).await;
    if let Some(lease) = lease {
        if let Err(e) = lease.release(store).await {
            tracing::warn!(error = %e, "could not release the scorer lease; it expires by itself");
        }
    }
    result
}

/// Snapshot, plan, effects.
async fn pass(cx: Context<'_>) -> Result<RunSummary, ScoringError> {
    let course = snapshot::read_course(cx.store, cx.now).await?;
    let closed_tests = course.closed.len();
    let reading = Reading {
        store: cx.store,
        now: cx.now,
        max_grade: cx.config.max_grade,
        concurrency: cx.config.read_concurrency,
        budget: &cx.budget,
    };
    let snapshot = match snapshot::read(reading, course).await {
        Ok(s) => s,
        Err(Stop::Time(why)) => {
            let mut summary = RunSummary::empty(cx.now, cx.dry_run);
            summary.closed_tests = closed_tests;
            summary.stopped_early = Some(why.to_owned());
            return Ok(summary);
        }
        Err(Stop::Failed(e)) => return Err(e),
    };
    let mut plan = plan::plan(snapshot, cx.config.ledger_batch);
    let effects = std::mem::take(&mut plan.effects);
    let mut executor = Executor::new(plan, cx);
    let outcome = executor.run(&effects).await;
    executor.finish(outcome)
}
