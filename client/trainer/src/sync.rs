//! `trainer sync <dir>`: validate the course folder, show what would change in the
//! store, and publish it (tests, then the catalog, then the roster).

use crate::data_dir::Adopt;
use crate::outln;
use crate::target::Target;
use crate::validate::{read_course_folder, ClockArgs};
use ework_domain::course::{self, PublishError, SyncOptions, SyncReport, TestAction, TestChange};
use ework_domain::layout;
use ework_domain::ports::ObjectStore;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The course folder (studentsList.json, or studentsList/studentsList.json as in
    /// the original project, and subjects/<subject>/<testId>/).
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
    let folder = read_course_folder(&args.dir)?;
    let opened = args.target.open().await?;
    let tz = opened.time_zone_adopting(
        args.clock.time_zone.as_deref(),
        Adopt::unless_dry_run(args.dry_run),
    )?;
    let options = SyncOptions {
        rescore: args.rescore,
        dry_run: args.dry_run,
    };
    outln!("Syncing {} to {}", args.dir.display(), opened.description)?;
    match course::sync(
        opened.store.as_ref(),
        &folder.files,
        args.clock.now(),
        tz,
        options,
    )
    .await
    .map_err(|e| folder.locate_error(e))
    {
        Ok(report) => {
            for p in &report.warnings {
                eprintln!("warning: {p}");
            }
            outln!("{report}")?;
            for line in submissions_note(opened.store.as_ref(), &report).await? {
                outln!("{line}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(
            e @ (PublishError::Invalid(_)
            | PublishError::ScoredKeyChanged(_)
            | PublishError::ScoredRulesChanged(_)),
        ) => {
            eprintln!("{}: {e}", args.dir.display());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

/// For each published test whose questions change: how many students have already
/// submitted answers to the questions as they were.
async fn submissions_note(
    store: &dyn ObjectStore,
    report: &SyncReport,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for t in &report.plan.tests {
        let TestAction::Update(changes) = &t.action else {
            continue;
        };
        if !changes.contains(&TestChange::Questions) {
            continue;
        }
        let submitted = store
            .list(&layout::test_prefix(&t.subject, &t.test_id))
            .await?
            .iter()
            .filter(|o| layout::parse_student_object(o.key.as_str()).is_some())
            .count();
        let when = if report.applied { "had" } else { "has" };
        lines.push(match submitted {
            0 => format!(
                "Note: {}/{} {when} no submissions yet.",
                t.subject, t.test_id
            ),
            n => format!(
                "Note: {}/{} {when} {n} submission(s) already, made before this change to its \
                 questions; they are graded as they are unless those students submit again \
                 before the deadline, so tell them.",
                t.subject, t.test_id
            ),
        });
    }
    Ok(lines)
}
