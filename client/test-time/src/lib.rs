//! `test-time`: the students' terminal client for Ework Trainings.

pub mod answers;
pub mod api;
pub mod app;
pub mod choice;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod draft;
pub mod flow;
pub mod interrupt;
pub mod man;
pub mod prompt;
pub mod render;
pub mod several;
pub mod wait;
