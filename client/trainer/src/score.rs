//! `trainer score --now`: run one scoring pass on demand, on the local stack (emails
//! go to its outbox folder) or on a deployed stack (emails go through SES).

use crate::data_dir::Adopt;
use crate::target::Target;
use anyhow::{bail, Context};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ework_adapters::outbox::OutboxMailer;
use ework_adapters::ses::{ses_client, SesMailer};
use ework_domain::deadline::display_in;
use ework_domain::ports::{MailError, Mailer};
use ework_domain::scoring::{score_pass, RunOptions, RunSummary, ScoringConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Sender and trainer address of the local stack (the outbox does not deliver).
pub const LOCAL_SENDER: &str = "Ework Trainings <scorer@ework.localhost>";
pub const LOCAL_TRAINER: &str = "trainer@ework.localhost";

/// Folder of the local stack's outbox inside its data dir.
pub fn local_outbox(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("outbox")
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Score now (required, so the command never runs by accident). With a value,
    /// score as if it were that instant (RFC 3339), e.g. to re-run a past week. An
    /// instant later than the real clock is refused unless --force (or --dry-run).
    #[arg(long, value_name = "RFC3339", num_args = 0..=1, default_missing_value = "now")]
    now: Option<String>,
    /// Allow a --now later than the real clock. Risky: tests whose due date has passed
    /// at that instant are graded although the API still accepts answers to them until
    /// their due date on the real clock; answers accepted after this pass are not graded
    /// in it (and may never be, once the test is settled).
    #[arg(long)]
    force: bool,
    /// Print what would be scored and sent; write and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the emails as .eml files into this folder instead of sending them
    /// (default for --local: <data-dir>/outbox).
    #[arg(long, value_name = "DIR")]
    outbox: Option<PathBuf>,
    /// The trainer's zone (IANA name); default: the zone recorded in the --local data
    /// dir (which refuses any other), or the stack's, else Europe/Warsaw.
    #[arg(long, env = "EWORK_TIME_ZONE")]
    time_zone: Option<String>,
    /// Top of the grade scale.
    #[arg(long, env = "EWORK_MAX_GRADE", default_value_t = 5)]
    max_grade: u32,
    /// From: address (a verified SES identity with --stack).
    #[arg(long, env = "EWORK_SENDER")]
    sender: Option<String>,
    /// Where the trainer's report goes.
    #[arg(long, env = "EWORK_TRAINER_EMAIL")]
    trainer_email: Option<String>,
    /// SES region, when it differs from the stack's.
    #[arg(long, env = "EWORK_SES_REGION")]
    ses_region: Option<String>,
    /// SES configuration set.
    #[arg(long, env = "EWORK_SES_CONFIGURATION_SET")]
    configuration_set: Option<String>,
    /// Emails per second (default: the SES account's quota; unlimited for an outbox).
    #[arg(long, env = "EWORK_SEND_RATE")]
    send_rate: Option<f64>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Stands in for the mailer in a dry run, where nothing may be sent.
struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _to: &[String], _raw: Vec<u8>) -> Result<String, MailError> {
        Err(MailError::Rejected("dry run: nothing is sent".into()))
    }
}

/// Exit status of a refused invocation, as for any other usage error.
const USAGE: u8 = 2;

/// Whether a pass as of `now` would grade ahead of the real clock and keep what it
/// graded; a dry run writes nothing, so it may look ahead freely.
fn grades_ahead_of_the_clock(now: DateTime<Utc>, real_now: DateTime<Utc>, dry_run: bool) -> bool {
    now > real_now && !dry_run
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_now(raw: &str) -> anyhow::Result<DateTime<Utc>> {
    if raw == "now" {
        return Ok(Utc::now());
    }
    Ok(DateTime::parse_from_rfc3339(raw)
        .with_context(|| {
            format!("--now {raw:?} is not an RFC 3339 time such as 2026-11-30T23:05:00+01:00")
        })?
        .with_timezone(&Utc))
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(now) = args.now.as_deref() else {
        bail!(
            "pass --now to grade closed tests and send the emails now (add --dry-run to preview)"
        );
    };
    let now = parse_now(now)?;
    if args.max_grade == 0 {
        bail!("--max-grade must be at least 1");
    }
    let real_now = Utc::now();
    if grades_ahead_of_the_clock(now, real_now, args.dry_run) {
        let (asked, real) = (rfc3339(now), rfc3339(real_now));
        if !args.force {
            eprintln!(
                "error: --now {asked} is later than the real clock ({real}): tests due by then \
                 would be graded now, while the API still accepts answers to them until their \
                 due date, and answers it accepts after this pass would not be graded in it. \
                 Use a bare --now (the real clock) or a past instant, preview with --dry-run, \
                 or add --force to accept that risk."
            );
            return Ok(ExitCode::from(USAGE));
        }
        eprintln!(
            "warning: --force: scoring as of {asked}, later than the real clock ({real}). The API \
             still accepts answers to the tests graded here until their due date; answers it \
             accepts after this pass will not be graded in this pass (and may never be)."
        );
    }
    let opened = args.target.open().await?;
    let tz = opened.time_zone_adopting(
        args.time_zone.as_deref(),
        Adopt::unless_dry_run(args.dry_run),
    )?;

    let local_dir = args.target.local.clone().filter(|_| opened.stack.is_none());
    let outbox = args
        .outbox
        .clone()
        .or_else(|| local_dir.as_deref().map(local_outbox));
    let (sender, trainer) = match (&args.sender, &args.trainer_email, &outbox) {
        (Some(s), Some(t), _) => (s.clone(), t.clone()),
        (s, t, Some(_)) => (
            s.clone().unwrap_or_else(|| LOCAL_SENDER.into()),
            t.clone().unwrap_or_else(|| LOCAL_TRAINER.into()),
        ),
        _ => bail!("sending through SES needs --sender and --trainer-email (or EWORK_SENDER / EWORK_TRAINER_EMAIL)"),
    };

    let mut rate = args.send_rate;
    let mailer: Arc<dyn Mailer> = if args.dry_run {
        Arc::new(NoMail)
    } else if let Some(dir) = &outbox {
        Arc::new(
            OutboxMailer::open(dir)
                .with_context(|| format!("opening the outbox {}", dir.display()))?,
        )
    } else {
        let aws = match &opened.aws {
            Some(aws) => aws.clone(),
            None => ework_adapters::s3::load_aws_config().await,
        };
        let ses = SesMailer::new(
            ses_client(&aws, args.ses_region.clone()),
            args.configuration_set.clone(),
        );
        if rate.is_none() {
            rate = Some(ses.max_send_rate().await.unwrap_or(1.0));
        }
        Arc::new(ses)
    };

    let mut config = ScoringConfig::new(sender, trainer);
    config.time_zone = tz;
    config.max_grade = args.max_grade;
    config.send_rate = rate;
    let options = RunOptions {
        now,
        deadline: None,
        dry_run: args.dry_run,
    };
    let summary = score_pass(opened.store.as_ref(), mailer.as_ref(), &config, options).await?;

    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary, &opened.description, tz, outbox.as_deref());
    }
    Ok(if summary.complete && summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_summary(
    s: &RunSummary,
    target: &str,
    tz: chrono_tz::Tz,
    outbox: Option<&std::path::Path>,
) {
    let (would, sent) = if s.dry_run {
        ("would be ", "would be sent")
    } else {
        ("", "sent")
    };
    println!(
        "Scoring {target} as of {}{}",
        display_in(s.now, tz),
        if s.dry_run {
            " (dry run: nothing is written or sent)"
        } else {
            ""
        }
    );
    println!("Closed tests: {}", s.closed_tests);
    println!("Results {would}written: {}", s.scored.len());
    for r in &s.scored {
        let again = if r.revision > 0 {
            format!(" (rescored, revision {})", r.revision)
        } else {
            String::new()
        };
        println!(
            "  {}/{}  {}  {}/{} points  grade {}{again}",
            r.subject, r.test_id, r.student_id, r.points, r.total, r.grade
        );
    }
    println!("Student emails {sent}: {}", s.sent.len());
    for m in &s.sent {
        println!("  {}  {}", m.to.join(", "), m.subject);
    }
    match &s.report {
        Some(r) => println!("Trainer report {sent}: {}  {}", r.to.join(", "), r.subject),
        None => println!("Trainer report: none (no newly closed tests)"),
    }
    if let (Some(dir), false) = (outbox, s.dry_run) {
        if !s.sent.is_empty() || s.report.is_some() {
            println!("Emails written to {}", dir.display());
        }
    }
    for f in &s.failed {
        println!(
            "FAILED: {}  {}  ({}); retried on the next run",
            f.to, f.subject, f.error
        );
    }
    for p in &s.problems {
        println!("Problem: {p}");
    }
    if let Some(why) = &s.stopped_early {
        println!("Stopped early: {why}; run again to finish");
    }
}
