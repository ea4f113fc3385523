//! `trainer`: the trainer's command. Runs the local stack, validates and publishes
//! the course, manages student keys, scores tests and reads the deployed stack.

mod config;
mod data_dir;
mod eml;
mod import;
mod keys;
mod local;
mod out;
mod report;
mod rescore;
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
    /// Make a test of the course from a question bank (GIFT, Aiken).
    #[command(subcommand)]
    Import(import::Import),
    /// Write a test of the course as a question bank (GIFT).
    #[command(subcommand)]
    Export(import::Export),
    /// Item analysis of a test's stored results: facility, discrimination, answer
    /// counts, flags, alpha (text, --json or --csv).
    Report(report::Args),
}

fn main() -> ExitCode {
    // Before the runtime starts its threads: `trainer local` and `trainer score`
    // run the local store, whose blocking threads would otherwise each keep an
    // arena of freed multi-MB buffers (see ework_adapters::arenas).
    ework_adapters::arenas::cap_malloc_arenas();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(Cli::parse()))
}

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Local(args) => local::run(args).await,
        Command::Validate(args) => validate::run(args).await,
        Command::Sync(args) => sync::run(args).await,
        Command::Keys(cmd) => keys::run(cmd).await,
        Command::Config(args) => config::run(args).await,
        Command::Student(cmd) => student::run(cmd).await,
        Command::Score(args) => score::run(args).await,
        Command::Import(cmd) => import::run_import(cmd).await,
        Command::Export(cmd) => import::run_export(cmd).await,
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
