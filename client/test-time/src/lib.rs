//! `test-time`: the students' terminal client for Ework Trainings.

pub mod answers;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod flow;
pub mod prompt;
pub mod render;
