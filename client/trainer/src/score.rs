//! `trainer score --now`: run one scoring pass on demand, on the local stack (emails
//! go to its outbox folder) or on a deployed stack (emails go through SES).

use crate::data_dir::Adopt;
use crate::outln;
use crate::target::{Opened, Target};
use anyhow::{bail, Context};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ework_adapters::outbox::OutboxMailer;
use ework_adapters::ses::{ses_client, SesMailer};
use ework_domain::deadline::display_in;
use ework_domain::ports::{MailError, Mailer};
use ework_domain::scoring::{score_pass, RunOptions, RunSummary, ScoringConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    /// Only published tests are scored: for a week whose test was never published,
    /// publish it with a due date a few minutes ahead, then score once it has passed.
    #[arg(
        long,
        value_name = "RFC3339",
        num_args = 0..=1,
        default_missing_value = "now",
        required_unless_present = "rescore",
        value_parser = parse_now
    )]
    now: Option<DateTime<Utc>>,
    /// Grade this closed test again (after correcting its key, or an accepted appeal)
    /// and email every student whose result changes, saying what changed; then score
    /// as --now does. With --student, only that student.
    #[arg(long, num_args = 2, value_names = ["SUBJECT", "TEST"])]
    rescore: Option<Vec<String>>,
    /// With --rescore: grade only this student again.
    #[arg(long, requires = "rescore", value_name = "ID")]
    student: Option<String>,
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
    /// From: address (a verified SES identity with --stack) [default with --stack: the
    /// scorer stack's SenderEmail].
    #[arg(long, env = "EWORK_SENDER")]
    sender: Option<String>,
    /// Where the trainer's report goes [default with --stack: the scorer stack's
    /// TrainerEmail].
    #[arg(long, env = "EWORK_TRAINER_EMAIL")]
    trainer_email: Option<String>,
    /// The scorer stack, whose SenderEmail, TrainerEmail, SesRegion,
    /// SesConfigurationSet and SendRate are used when not given here [default: the
    /// --stack name with its -api suffix replaced by -scorer].
    #[arg(long, env = "EWORK_SCORER_STACK", value_name = "NAME")]
    scorer_stack: Option<String>,
    /// SES region, when it differs from the stack's.
    #[arg(long, env = "EWORK_SES_REGION")]
    ses_region: Option<String>,
    /// SES configuration set.
    #[arg(long, env = "EWORK_SES_CONFIGURATION_SET")]
    configuration_set: Option<String>,
    /// Emails per second [default: the scorer stack's SendRate, else the SES account's
    /// quota, else 1; unlimited for an outbox]. The rate used, and why, is printed.
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

/// `--now` alone is the real clock; with a value, that instant.
fn parse_now(raw: &str) -> Result<DateTime<Utc>, String> {
    if raw == "now" {
        return Ok(Utc::now());
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("{raw:?} is not an RFC 3339 time such as 2026-11-30T23:05:00+01:00 ({e})")
        })
}

/// The scorer stack of an API stack named by the playbooks' convention
/// (`<prefix>-api`, `<prefix>-scorer`).
fn default_scorer_stack(api_stack: &str) -> String {
    match api_stack.strip_suffix("-api") {
        Some(prefix) => format!("{prefix}-scorer"),
        None => format!("{api_stack}-scorer"),
    }
}

/// What the scorer stack says about sending (its parameters), or why it could not
/// be read.
struct ScorerStack {
    name: String,
    parameters: Result<BTreeMap<String, String>, String>,
}

impl ScorerStack {
    fn get(&self, key: &str) -> Option<String> {
        self.parameters
            .as_ref()
            .ok()?
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Why a value is missing, for the error that needs it.
    fn missing(&self, key: &str) -> String {
        match &self.parameters {
            Ok(_) => format!("the scorer stack {} has no {key}", self.name),
            Err(e) => format!("the scorer stack {} could not be read: {e}", self.name),
        }
    }
}

/// The causes of an error, innermost last: an SDK error's own text says little.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The send rate for SES, and why: the flag, the scorer stack's SendRate, the SES
/// account's quota, or one per second when SES does not tell.
async fn choose_send_rate(
    flag: Option<f64>,
    scorer: Option<&ScorerStack>,
    ses: &aws_sdk_sesv2::Client,
) -> (f64, String) {
    if let Some(rate) = flag {
        return (rate, "given by --send-rate (or EWORK_SEND_RATE)".into());
    }
    if let Some((stack, rate)) = scorer.and_then(|s| {
        s.get("SendRate")
            .and_then(|r| r.parse::<f64>().ok())
            .filter(|r| *r > 0.0)
            .map(|r| (s.name.clone(), r))
    }) {
        return (rate, format!("the SendRate of the scorer stack {stack}"));
    }
    match ses.get_account().send().await {
        Ok(account) => match account.send_quota().map(|q| q.max_send_rate()) {
            Some(rate) if rate > 0.0 => {
                (rate, "the SES account's sending quota (GetAccount)".into())
            }
            _ => (
                1.0,
                "SES GetAccount gave no sending quota; 1 per second is the safe default. \
                 Pass --send-rate or set SendRate on the scorer stack to go faster"
                    .into(),
            ),
        },
        Err(e) => (
            1.0,
            format!(
                "SES GetAccount was not answered ({}); 1 per second is the safe default. \
                 Pass --send-rate or set SendRate on the scorer stack to go faster",
                error_chain(&e)
            ),
        ),
    }
}

impl Args {
    /// The instant to score as of: --now, else (with --rescore alone) the real clock.
    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let now = args.now();
    if args.max_grade == 0 {
        bail!("--max-grade must be at least 1");
    }
    if let Some(refused) = refuse_ahead_of_the_clock(&args) {
        return Ok(refused);
    }
    let opened = args.target.open().await?;
    if let Some(ids) = &args.rescore {
        crate::rescore::ask(
            opened.store.as_ref(),
            ids,
            args.student.as_deref(),
            now,
            args.dry_run,
        )
        .await?;
    }
    let tz = opened.time_zone_adopting(
        args.time_zone.as_deref(),
        Adopt::unless_dry_run(args.dry_run),
    )?;

    let local_dir = args.target.local.clone().filter(|_| opened.stack.is_none());
    let outbox = args
        .outbox
        .clone()
        .or_else(|| local_dir.as_deref().map(local_outbox));
    let scorer = scorer_stack(&args, &opened, outbox.as_deref()).await;
    let (sender, trainer) = addresses(&args, scorer.as_ref(), outbox.as_deref())?;
    let (mailer, rate) = mailer(&args, &opened, scorer.as_ref(), outbox.as_deref()).await?;

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
        outln!("{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
        print_summary(&summary, &opened.description, tz, outbox.as_deref())?;
    }
    Ok(if summary.complete && summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A --now later than the real clock: refused (the usage exit status) unless
/// --force, which only warns.
fn refuse_ahead_of_the_clock(args: &Args) -> Option<ExitCode> {
    let (now, real_now) = (args.now(), Utc::now());
    if !grades_ahead_of_the_clock(now, real_now, args.dry_run) {
        return None;
    }
    let (asked, real) = (rfc3339(now), rfc3339(real_now));
    if !args.force {
        eprintln!(
            "error: --now {asked} is later than the real clock ({real}): tests due by then \
             would be graded now, while the API still accepts answers to them until each \
             student's own close, and answers it accepts after this pass would not be graded in it. \
             Use a bare --now (the real clock) or a past instant, preview with --dry-run, \
             or add --force to accept that risk."
        );
        return Some(ExitCode::from(USAGE));
    }
    eprintln!(
        "warning: --force: scoring as of {asked}, later than the real clock ({real}). The API \
         still accepts answers to the tests graded here until each student's own close; answers it \
         accepts after this pass will not be graded in this pass (and may never be)."
    );
    None
}

/// A deployed stack's scorer knows how it sends: its parameters, read when the emails
/// go through SES (not to an outbox).
async fn scorer_stack(args: &Args, opened: &Opened, outbox: Option<&Path>) -> Option<ScorerStack> {
    let (Some(stack), Some(aws), None) = (&opened.stack, &opened.aws, outbox) else {
        return None;
    };
    let name = args
        .scorer_stack
        .clone()
        .unwrap_or_else(|| default_scorer_stack(&stack.stack_name));
    let parameters = crate::target::stack_parameters(aws, &name)
        .await
        .map_err(|e| format!("{e:#}"));
    Some(ScorerStack { name, parameters })
}

/// The From: and trainer addresses: the flags, else the scorer stack's, else (for an
/// outbox) the local stack's; SES needs both.
fn addresses(
    args: &Args,
    scorer: Option<&ScorerStack>,
    outbox: Option<&Path>,
) -> anyhow::Result<(String, String)> {
    let from_scorer = |key: &str| scorer.and_then(|s| s.get(key));
    let sender = args.sender.clone().or_else(|| from_scorer("SenderEmail"));
    let trainer = args
        .trainer_email
        .clone()
        .or_else(|| from_scorer("TrainerEmail"));
    if let Some(s) = scorer {
        let taken: Vec<&str> = [
            (args.sender.is_none() && sender.is_some(), "SenderEmail"),
            (
                args.trainer_email.is_none() && trainer.is_some(),
                "TrainerEmail",
            ),
        ]
        .into_iter()
        .filter_map(|(used, name)| used.then_some(name))
        .collect();
        if !taken.is_empty() {
            eprintln!(
                "Using {} of the scorer stack {}.",
                taken.join(" and "),
                s.name
            );
        }
    }
    match (sender, trainer, outbox) {
        (Some(s), Some(t), _) => Ok((s, t)),
        (s, t, Some(_)) => Ok((
            s.unwrap_or_else(|| LOCAL_SENDER.into()),
            t.unwrap_or_else(|| LOCAL_TRAINER.into()),
        )),
        (s, _, None) => {
            let missing = if s.is_none() {
                "SenderEmail"
            } else {
                "TrainerEmail"
            };
            let why = scorer
                .map(|sc| format!(" ({})", sc.missing(missing)))
                .unwrap_or_default();
            bail!(
                "sending through SES needs --sender and --trainer-email (or EWORK_SENDER / \
                 EWORK_TRAINER_EMAIL){why}; with --stack they are read from the scorer stack \
                 (--scorer-stack NAME)"
            )
        }
    }
}

/// Where the emails go (the outbox, SES, or nowhere in a dry run) and the send rate;
/// for SES the rate chosen, and why, is printed.
async fn mailer(
    args: &Args,
    opened: &Opened,
    scorer: Option<&ScorerStack>,
    outbox: Option<&Path>,
) -> anyhow::Result<(Arc<dyn Mailer>, Option<f64>)> {
    if let Some(dir) = outbox {
        if args.dry_run {
            return Ok((Arc::new(NoMail), None));
        }
        let mailer = OutboxMailer::open(dir)
            .with_context(|| format!("opening the outbox {}", dir.display()))?;
        return Ok((Arc::new(mailer), args.send_rate));
    }
    let aws = match &opened.aws {
        Some(aws) => aws.clone(),
        None => ework_adapters::s3::load_aws_config().await,
    };
    let from_scorer = |key: &str| scorer.and_then(|s| s.get(key));
    let region = args.ses_region.clone().or_else(|| from_scorer("SesRegion"));
    let configuration_set = args
        .configuration_set
        .clone()
        .or_else(|| from_scorer("SesConfigurationSet"));
    let client = ses_client(&aws, region);
    let (chosen, why) = choose_send_rate(args.send_rate, scorer, &client).await;
    let would = if args.dry_run { "would send" } else { "sends" };
    eprintln!("Send rate: {would} {chosen} email(s) per second: {why}.");
    if args.dry_run {
        Ok((Arc::new(NoMail), None))
    } else {
        Ok((
            Arc::new(SesMailer::new(client, configuration_set)),
            Some(chosen),
        ))
    }
}

fn print_summary(
    s: &RunSummary,
    target: &str,
    tz: chrono_tz::Tz,
    outbox: Option<&std::path::Path>,
) -> std::io::Result<()> {
    let (would, sent) = if s.dry_run {
        ("would be ", "would be sent")
    } else {
        ("", "sent")
    };
    outln!(
        "Scoring {target} as of {}{}",
        display_in(s.now, tz),
        if s.dry_run {
            " (dry run: nothing is written or sent)"
        } else {
            ""
        }
    )?;
    outln!("Closed tests: {}", s.closed_tests)?;
    outln!("Results {would}written: {}", s.scored.len())?;
    for r in &s.scored {
        let again = match (r.revision, r.previous_grade) {
            (0, _) => String::new(),
            (rev, Some(was)) if was != r.grade => {
                format!(" (rescored, revision {rev}; grade {was} -> {})", r.grade)
            }
            (rev, _) => format!(" (rescored, revision {rev})"),
        };
        outln!(
            "  {}/{}  {}  {}/{} points  grade {}{again}",
            r.subject,
            r.test_id,
            r.student_id,
            r.points,
            r.total,
            r.grade
        )?;
    }
    outln!("Student emails {sent}: {}", s.sent.len())?;
    for m in &s.sent {
        outln!("  {}  {}", m.to.join(", "), m.subject)?;
    }
    match &s.report {
        Some(r) => outln!("Trainer report {sent}: {}  {}", r.to.join(", "), r.subject)?,
        None => outln!("Trainer report: none (no newly closed tests)")?,
    }
    if let (Some(dir), false) = (outbox, s.dry_run) {
        if !s.sent.is_empty() || s.report.is_some() {
            outln!("Emails written to {}", dir.display())?;
        }
    }
    for f in &s.failed {
        outln!(
            "FAILED: {}  {}  ({}); retried on the next run",
            f.to,
            f.subject,
            f.error
        )?;
    }
    for p in &s.problems {
        outln!("Problem: {p}")?;
    }
    if let Some(why) = &s.stopped_early {
        outln!("Stopped early: {why}; run again to finish")?;
    }
    Ok(())
}
