//! `trainer`: the trainer's command. Runs the local stack, validates and publishes
//! the course, manages student keys, scores tests and reads the deployed stack.

mod config;
mod data_dir;
mod eml;
mod keys;
mod local;
mod out;
mod report;
mod sample;
mod score;
mod student;
mod sync;
mod target;
mod validate;
mod versions;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "trainer",
    version,
    about = "Run, publish and score Ework Trainings tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole system on this machine (API, encrypted store, scheduler, outbox).
    Local(local::Args),
    /// Check a course folder and report every problem at once.
    Validate(validate::Args),
    /// Validate a course folder and publish what changed.
    Sync(sync::Args),
    /// Issue, rotate, revoke and list students' API keys.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Print the deployed stack's API URL, bucket and usage plan.
    Config(config::Args),
    /// Export or erase everything stored about a student (GDPR).
    #[command(subcommand)]
    Student(student::Command),
    /// Grade closed tests and send the emails now.
    Score(score::Args),
    /// Item analysis of a test's stored results: facility, discrimination, answer
    /// counts, flags, alpha (text, --json or --csv).
    Report(report::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Local(args) => local::run(args).await,
        Command::Validate(args) => validate::run(args).await,
        Command::Sync(args) => sync::run(args).await,
        Command::Keys(cmd) => keys::run(cmd).await,
        Command::Config(args) => config::run(args).await,
        Command::Student(cmd) => student::run(cmd).await,
        Command::Score(args) => score::run(args).await,
        Command::Report(args) => report::run(args).await,
    };
    match result {
        Ok(code) => code,
        // `| head` has what it wanted: no message, no failure.
        Err(e) if out::is_closed_output(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stderr must not turn into a panic either.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
