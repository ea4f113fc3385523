//! The trainer's course folder: parsing and validation (every problem at once, with
//! file and position), and publishing it to the store (plan, then apply).
//!
//! File I/O stays outside: the caller reads the folder into [`CourseFiles`] and this
//! module decides what it means and what has to change in the store.
//!
//! - `files`: the folder as files, its problems and where they are;
//! - `parse`: questions, key, `test.json` and roster into a [`Course`];
//! - `plan`: what a sync changes, a pure function of course, store snapshot and now;
//! - `publish`: reading the store, applying a plan, [`sync`];
//! - `windows`: extensions, late policy, feedback timing and extra time.

mod files;
mod parse;
mod plan;
mod publish;
mod rules;
mod windows;

#[cfg(test)]
mod fixtures;

pub use files::{CourseFiles, Position, Problem, Problems, SUBJECTS_DIR, TEST_SETTINGS};
pub use parse::{is_plausible_email, parse, parse_due, Course, CourseTest};
pub use plan::{
    plan, Plan, PublishError, Published, StoredTest, StudentAction, StudentPlan, SyncOptions,
    TestAction, TestChange, TestPlan, Versions, Withdrawal,
};
pub use publish::{apply, load_published, publish, sync, ApplyError, SyncReport};
