//! The time a pass may take, read through the [`Clock`] port, and the one error that
//! stops a pass early: running low on time is an error carried by `?` from wherever
//! it is noticed, with everything done so far already recorded.

use super::run::ScoringError;
use crate::ports::{Clock, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a pass stopped before its plan was done.
#[derive(Debug, thiserror::Error)]
pub enum Stop {
    /// Time ran low (the reason says where); the next pass finishes the work.
    #[error("{0}")]
    Time(&'static str),
    /// The pass could not go on at all.
    #[error(transparent)]
    Failed(#[from] ScoringError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Failed(e.into())
    }
}

/// The invocation's deadline, as an instant of the pass's clock.
#[derive(Clone)]
pub struct Budget {
    clock: Arc<dyn Clock>,
    /// Stop once the clock passes this; `None` = no limit.
    stop_at: Option<DateTime<Utc>>,
}

impl Budget {
    /// No deadline: the pass runs until it is done.
    pub fn unlimited(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            stop_at: None,
        }
    }

    /// A budget for an invocation that must be finished by `deadline` (the
    /// Lambda's), stopping `margin` before it. The deadline comes as an `Instant`
    /// (what the runtime gives); it is turned into the clock's time once, here.
    pub fn until(clock: Arc<dyn Clock>, deadline: Option<Instant>, margin: Duration) -> Self {
        let stop_at = deadline.and_then(|d| {
            let left = d.saturating_duration_since(Instant::now());
            let left = to_chrono(left.saturating_sub(margin));
            // A deadline too far away to name is no limit.
            clock.now().checked_add_signed(left)
        });
        Self { clock, stop_at }
    }

    /// The time left before the stop; `None` = no limit.
    pub fn left(&self) -> Option<Duration> {
        let stop = self.stop_at?;
        Some((stop - self.clock.now()).to_std().unwrap_or_default())
    }

    /// `Err(Stop::Time(why))` once the time is up.
    pub fn check(&self, why: &'static str) -> Result<(), Stop> {
        match self.stop_at {
            Some(stop) if self.clock.now() >= stop => Err(Stop::Time(why)),
            _ => Ok(()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::tests::ManualClock;

    #[test]
    fn time_is_up_a_margin_before_the_deadline_by_the_clock_of_the_pass() {
        let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
        let deadline = Instant::now() + Duration::from_secs(60);
        let budget = Budget::until(clock.clone(), Some(deadline), Duration::from_secs(10));
        assert!(budget.check("early").is_ok());
        clock.advance(chrono::Duration::seconds(49));
        assert!(budget.check("still").is_ok());
        clock.advance(chrono::Duration::seconds(2));
        assert!(matches!(budget.check("late"), Err(Stop::Time("late"))));
        assert!(Budget::unlimited(clock).check("never").is_ok());
    }
}
