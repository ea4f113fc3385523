//! The scorer (every 15 minutes in AWS, at every close locally): grade each student
//! once their own window has closed, email them their result and the trainer a
//! report, exactly once (see docs/scorer.md for the one duplicate window).
//!
//! A pass is [`snapshot`] (read what is stored) → [`plan`] (pure: the effects to
//! perform) → [`execute`] (perform them in order, within the [`budget`]), with the
//! pass's [`state`] updated by pure rules from each outcome; [`run`] wraps it in the
//! lease. Results are held compactly while a pass runs ([`held`]).

pub mod budget;
pub mod correction;
pub mod email;
pub mod execute;
pub mod feedback;
pub mod grading;
pub mod held;
pub mod inspect;
pub mod items;
pub mod items_render;
pub mod ledger;
pub mod mime;
pub mod plan;
pub mod points;
mod report_body;
pub mod results;
pub mod run;
pub mod sample;
pub mod scheduler;
pub mod schemes;
pub mod snapshot;
pub mod state;
pub mod stats;
pub mod table;

pub use run::{score_pass, RunOptions, RunSummary, ScoringConfig, ScoringError};
pub use scheduler::run_scheduler;

#[cfg(test)]
mod idle_tests;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod rescore_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod windows_props;
#[cfg(test)]
mod windows_tests;

#[cfg(test)]
mod email_depth_tests;

#[cfg(test)]
mod depth_tests;
