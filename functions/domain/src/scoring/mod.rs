//! The weekly scorer: grade closed tests, email every student their result and the
//! trainer a report, exactly once (see the README's "The weekly scorer" for the one duplicate window).

pub mod email;
pub mod grading;
pub mod inspect;
pub mod ledger;
pub mod results;
pub mod run;
pub mod sample;
pub mod scheduler;
pub mod stats;

pub use run::{score_pass, RunOptions, RunSummary, ScoringConfig, ScoringError};
pub use scheduler::run_scheduler;

#[cfg(test)]
mod tests;
