//! `trainer sync <dir>`: validate the course folder, show what would change in the
//! store, and publish it (tests, then the catalog, then the roster).

use crate::data_dir::Adopt;
use crate::target::Target;
use crate::validate::{read_course_dir, ClockArgs};
use ework_domain::course::{self, PublishError, SyncOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The course folder (studentsList.json and subjects/<subject>/<testId>/).
    pub dir: PathBuf,
    #[command(flatten)]
    pub target: Target,
    /// Print the plan and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow changing the answer key of a test that was already scored: its results are
    /// scored again and only students whose result changed get a new email.
    #[arg(long)]
    pub rescore: bool,
    #[command(flatten)]
    pub clock: ClockArgs,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let files = read_course_dir(&args.dir)?;
    let opened = args.target.open().await?;
    let tz = opened.time_zone_adopting(
        args.clock.time_zone.as_deref(),
        Adopt::unless_dry_run(args.dry_run),
    )?;
    let options = SyncOptions {
        rescore: args.rescore,
        dry_run: args.dry_run,
    };
    println!("Syncing {} to {}", args.dir.display(), opened.description);
    match course::sync(opened.store.as_ref(), &files, args.clock.now(), tz, options).await {
        Ok(report) => {
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (PublishError::Invalid(_) | PublishError::ScoredKeyChanged(_))) => {
            eprintln!("{}: {e}", args.dir.display());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
