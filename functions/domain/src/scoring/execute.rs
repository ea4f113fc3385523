//! Performing a plan: each [`Effect`] in order against the store and the mail
//! service, with the time budget checked before every write of results, every
//! email and the report, the journal's group commit, retries of the writes that
//! follow an accepted email, and pacing of the sends. What each outcome means for
//! the pass is decided by the pure rules of [`super::state`].

use super::budget::{Budget, Stop};
use super::email::{self, FailedSend, RenderedMail};
use super::feedback::Stage;
use super::plan::{Effect, Plan, Scored};
use super::run::{RunSummary, ScoringConfig, ScoringError, SentItem};
use super::state::PassState;
use crate::layout::{self, ObjectKey, PassStamp};
use crate::ports::{Mailer, ObjectStore, StoreError, Swapped};
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use std::time::Duration;

/// Attempts at a write after an email was accepted, and the first pause.
const RECORD_ATTEMPTS: u32 = 8;
const RECORD_FIRST_PAUSE: Duration = Duration::from_millis(20);

/// What an executor works with.
pub struct Context<'a> {
    pub store: &'a dyn ObjectStore,
    pub mailer: &'a dyn Mailer,
    pub config: &'a ScoringConfig,
    /// `From:` of every email.
    pub from: Mailbox,
    /// Where the report goes.
    pub trainer: Mailbox,
    pub budget: Budget,
    /// The scoring time (shown in the emails).
    pub now: DateTime<Utc>,
    /// Render everything, write and send nothing.
    pub dry_run: bool,
}

/// Performs the effects of one plan. Tests drive it one effect at a time with
/// [`Executor::perform`]; a pass calls [`Executor::run`].
pub struct Executor<'a> {
    cx: Context<'a>,
    /// Names this pass's journal waves.
    stamp: PassStamp,
    waves: u32,
    /// Journal waves to purge: read at the start, then written by this pass.
    journal: Vec<ObjectKey>,
    pacer: Pacer,
    pub state: PassState,
    /// The results written by this pass, for the summary.
    scored: Vec<Scored>,
    pub summary: RunSummary,
}

impl<'a> Executor<'a> {
    /// An executor for `plan` (its effects are passed to [`Executor::run`]).
    pub fn new(plan: Plan, cx: Context<'a>) -> Self {
        let mut summary = RunSummary::empty(cx.now, cx.dry_run);
        summary.closed_tests = plan.closed_tests;
        let scored = plan.scored;
        summary.problems = plan.problems;
        Self {
            stamp: PassStamp::new(cx.budget.now(), rand::random()),
            waves: 0,
            journal: plan.journal,
            pacer: Pacer::new(cx.config.send_rate),
            cx,
            state: PassState::new(plan.tests, plan.roster),
            scored,
            summary,
        }
    }

    /// Performs every effect; a stop for time first records the open wave.
    pub async fn run(&mut self, effects: &[Effect]) -> Result<(), Stop> {
        for effect in effects {
            if let Err(stop) = self.perform(effect).await {
                if matches!(stop, Stop::Time(_)) {
                    self.journal_wave().await?;
                }
                return Err(stop);
            }
        }
        // A plan without tests owes nothing.
        if effects.is_empty() {
            self.state.report_done = true;
        }
        Ok(())
    }

    /// Performs one effect.
    pub async fn perform(&mut self, effect: &Effect) -> Result<(), Stop> {
        match effect {
            Effect::WriteResults(i) => {
                self.cx.budget.check("time ran low while writing results")?;
                self.write_results(*i).await?;
            }
            Effect::Email { student, tests } => {
                self.cx.budget.check("time ran low while sending")?;
                self.email(*student, tests).await;
            }
            Effect::JournalWave => self.journal_wave().await?,
            Effect::Report { tests } => self.report(tests).await?,
            Effect::Settle(i) => {
                if !self.cx.dry_run && self.state.settle(*i) {
                    self.write_results(*i).await?;
                }
            }
            Effect::PurgeJournal => {
                if !self.cx.dry_run {
                    for key in &self.journal {
                        self.cx.store.purge(key).await?;
                    }
                }
            }
            Effect::MarkRescoreDone(i) => {
                if !self.cx.dry_run && self.state.may_mark_done(*i) {
                    self.mark_rescore_done(*i).await?;
                }
            }
        }
        Ok(())
    }

    /// Emails accepted and not recorded yet: what a pass killed now sends again.
    pub fn unrecorded(&self) -> &[(usize, super::results::Notified)] {
        &self.state.wave
    }

    /// Writes a test's results object (a normal put: the lease makes this pass the
    /// only writer, and earlier versions stay in the bucket's history). Retried like
    /// a journal write, since after the report it is what records it.
    async fn write_results(&mut self, i: usize) -> Result<(), StoreError> {
        if self.cx.dry_run {
            return Ok(());
        }
        let t = &self.state.tests[i];
        let key = layout::results(&t.meta.subject, &t.meta.test_id);
        let store = self.cx.store;
        // Serialized for each attempt rather than kept and copied: one buffer of
        // the object's size at a time.
        insist(&key, || async {
            let bytes = t
                .results
                .to_json()
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            store.put(&key, bytes).await
        })
        .await?;
        self.state.tests[i].dirty = false;
        Ok(())
    }

    /// One student's email. A failure does not stop the pass: it is reported and
    /// the next pass sends it.
    async fn email(&mut self, student: usize, tests: &[usize]) {
        let st = &self.state.roster.0[student];
        let id = st.student_id.clone();
        let scores = self.state.email_scores(&id, tests);
        let items: Vec<(&super::grading::Score, Stage)> =
            scores.iter().map(|(s, stage)| (s, *stage)).collect();
        let rendered = match email::student_email_staged(
            &self.cx.from,
            st,
            &items,
            self.cx.now,
            self.cx.config.time_zone,
        ) {
            Ok(r) => r,
            Err(e) => {
                let refs: Vec<&super::grading::Score> = scores.iter().map(|(s, _)| s).collect();
                let failure = FailedSend {
                    to: st.email.clone(),
                    subject: email::student_subject(&refs),
                    error: e.to_string(),
                };
                self.state.send_failed(tests, failure);
                return;
            }
        };
        drop(scores);
        if self.cx.dry_run {
            self.summary.sent.push(sent_item(&rendered));
            return;
        }
        let label = format!("{} <{}>: {}", id, st.email, rendered.subject);
        let to = st.email.clone();
        let is_retry = self.state.is_retry(tests);
        let item = sent_item(&rendered);
        match self.send(rendered).await {
            Ok(message_id) => {
                self.state.accepted(&id, tests, &message_id);
                self.summary.sent.push(item);
                if is_retry {
                    self.state.retried.push(label);
                }
            }
            Err(error) => {
                tracing::warn!(student = %id, %error, "student email failed; retried on the next run");
                let failure = FailedSend {
                    to,
                    subject: item.subject,
                    error,
                };
                self.state.send_failed(tests, failure);
            }
        }
    }

    /// Records the emails of the open wave in one journal object, so the next
    /// pass does not send them again.
    async fn journal_wave(&mut self) -> Result<(), StoreError> {
        let Some(record) = self.state.wave_record(self.cx.budget.now()) else {
            return Ok(());
        };
        self.waves += 1;
        let key = layout::journal_wave(&self.stamp, self.waves);
        let bytes = serde_json::to_vec(&record).map_err(|e| StoreError::Failed(e.to_string()))?;
        // This write is what stands between accepted emails and duplicates on the
        // next run (a create that did land and then reported a timeout is found as
        // already existing on the retry).
        insist(&key, || self.cx.store.create(&key, bytes.clone())).await?;
        self.journal.push(key);
        self.state.wave_recorded();
        Ok(())
    }

    /// The trainer's report, once every email of the pass was attempted.
    async fn report(&mut self, tests: &[usize]) -> Result<(), Stop> {
        if !self.state.report_due(tests, self.cx.now) {
            self.state.report_done = true;
            return Ok(());
        }
        self.cx
            .budget
            .check("time ran low before the trainer's report")?;
        let c = self.cx.config;
        let report = self
            .state
            .report(tests, self.cx.now, c.time_zone, c.max_grade);
        let email_of = |id: &crate::ids::StudentId| {
            self.state
                .student(id)
                .map(|s| s.email.clone())
                .unwrap_or_default()
        };
        let rendered = email::trainer_report(&self.cx.from, &self.cx.trainer, &report, email_of)
            .map_err(|e| ScoringError::Config(e.to_string()))?;
        drop(report);
        let item = sent_item(&rendered);
        if self.cx.dry_run {
            self.summary.report = Some(item);
            self.state.report_done = true;
            return Ok(());
        }
        match self.send(rendered).await {
            Ok(_) => {
                self.summary.report = Some(item);
                self.state.reported(tests);
                self.state.failures_reported(self.cx.now);
            }
            Err(error) => {
                tracing::warn!(%error, "trainer report failed; retried on the next run");
                self.state.failed.push(FailedSend {
                    to: c.trainer_email.clone(),
                    subject: item.subject,
                    error,
                });
            }
        }
        Ok(())
    }

    async fn mark_rescore_done(&mut self, i: usize) -> Result<(), StoreError> {
        let t = &self.state.tests[i];
        let Some(request) = &t.rescore else {
            return Ok(());
        };
        let key = layout::rescore_marker(&t.meta.subject, &t.meta.test_id);
        // A conflict means the trainer asked again during this pass (the key
        // changed once more): that request stays for the next pass.
        let marked = self
            .cx
            .store
            .put_if_match(&key, super::ledger::RESCORE_DONE.to_vec(), request)
            .await?;
        if marked == Swapped::Conflict {
            tracing::info!(%key, "a new rescore request arrived during the pass; kept");
        }
        Ok(())
    }

    /// Hands a message over, paced to the send rate; the message moves (a report
    /// can be tens of megabytes).
    async fn send(&mut self, mail: RenderedMail) -> Result<String, String> {
        self.pacer.wait().await;
        self.cx
            .mailer
            .send(&mail.to, mail.raw)
            .await
            .map_err(|e| e.to_string())
    }

    /// The summary once the effects ran (or stopped).
    pub fn finish(mut self, outcome: Result<(), Stop>) -> Result<RunSummary, ScoringError> {
        match outcome {
            Ok(()) => self.summary.complete = self.state.report_done,
            Err(Stop::Time(why)) => self.summary.stopped_early = Some(why.to_owned()),
            Err(Stop::Failed(e)) => return Err(e),
        }
        self.summary.failed = std::mem::take(&mut self.state.failed);
        // Built last: the report, the biggest thing a pass holds, is gone by now.
        self.summary.scored = self.state.scored_items(&self.scored);
        Ok(self.summary)
    }
}

/// Retries a passing store failure with backoff before giving up: used for the
/// writes that come after an accepted email, where giving up means sending it
/// again on the next run.
async fn insist<T, F, Fut>(key: &ObjectKey, write: F) -> Result<T, StoreError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let (mut attempt, mut pause) = (1, RECORD_FIRST_PAUSE);
    loop {
        match write().await {
            Ok(v) => return Ok(v),
            Err(StoreError::Unavailable(e)) if attempt < RECORD_ATTEMPTS => {
                tracing::warn!(%key, attempt, error = %e, "write after an accepted email failed; retrying");
                tokio::time::sleep(pause).await;
                attempt += 1;
                pause *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

fn sent_item(mail: &RenderedMail) -> SentItem {
    SentItem {
        to: mail.to.clone(),
        subject: mail.subject.clone(),
        message_id: mail.message_id.clone(),
    }
}

/// Spaces sends out to the mail service's rate.
struct Pacer {
    gap: Option<Duration>,
    next: Option<tokio::time::Instant>,
}

impl Pacer {
    fn new(rate: Option<f64>) -> Self {
        let gap = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        Self { gap, next: None }
    }

    async fn wait(&mut self) {
        let Some(gap) = self.gap else { return };
        let now = tokio::time::Instant::now();
        let at = self.next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        self.next = Some(at + gap);
    }
}
