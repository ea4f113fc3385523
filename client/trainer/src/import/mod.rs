//! `trainer import gift|aiken` and `trainer export gift`: question banks from the
//! formats trainers already have, into a test folder of the course and back.
//!
//! An import writes nothing unless the whole file is understood and the test it makes
//! passes the course validator; then the three files are written each by rename.

mod aiken;
mod course;
mod gift;
mod model;

use crate::outln;
use crate::validate::read_course_folder;
use anyhow::{bail, Context};
use ework_domain::course::{self as domain_course, CourseFiles, SUBJECTS_DIR, TEST_SETTINGS};
use ework_domain::ids::{SubjectName, TestId};
use ework_domain::layout;
use model::Bank;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Largest question bank read; a bank of a thousand questions is far below it.
const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, clap::Subcommand)]
pub enum Import {
    /// Import a Moodle GIFT file (multiple-choice questions: =, ~, ~%50%).
    Gift(ImportArgs),
    /// Import an Aiken file (question, "A. " options, "ANSWER: B").
    Aiken(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The question bank to read.
    pub file: PathBuf,
    #[command(flatten)]
    pub test: TestArgs,
    /// The course folder to write subjects/<subject>/<test>/ into.
    #[arg(long, value_name = "COURSE_DIR")]
    pub into: PathBuf,
    /// The test's title in test.json [default: the test id].
    #[arg(long)]
    pub title: Option<String>,
    /// The due date for test.json ("2026-12-01 23:00"); without it the test is
    /// written as a draft ("publish": false).
    #[arg(long)]
    pub due: Option<String>,
    /// Replace the questions and key of a test that already has them (an existing
    /// test.json is kept).
    #[arg(long)]
    pub force: bool,
    /// The trainer's IANA time zone for --due [default: Europe/Warsaw].
    #[arg(long, env = "EWORK_TIME_ZONE", value_name = "ZONE")]
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TestArgs {
    /// The subject (folder under subjects/).
    #[arg(long)]
    pub subject: String,
    /// The test id (folder under subjects/<subject>/).
    #[arg(long)]
    pub test: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum Export {
    /// Write a test of the course as Moodle GIFT.
    Gift(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The course folder.
    pub dir: PathBuf,
    #[command(flatten)]
    pub test: TestArgs,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub async fn run_import(cmd: Import) -> anyhow::Result<ExitCode> {
    let (args, is_gift) = match cmd {
        Import::Gift(args) => (args, true),
        Import::Aiken(args) => (args, false),
    };
    let text = read_source(&args.file)?;
    let parsed = if is_gift {
        gift::parse(&text).map(|(bank, notes)| {
            for note in notes.0 {
                eprintln!("warning: {}:{note}", args.file.display());
            }
            bank
        })
    } else {
        aiken::parse(&text)
    };
    let bank = match parsed {
        Ok(bank) => bank,
        Err(errors) => {
            eprintln!("{}: nothing imported; {errors}", args.file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let tz = crate::target::Opened::default_time_zone(args.time_zone.as_deref())?;
    let kept = args.force
        && test_folder(&args.test)
            .is_ok_and(|rel| args.into.join(rel).join(TEST_SETTINGS).exists());
    if kept && (args.title.is_some() || args.due.is_some()) {
        eprintln!("warning: --force keeps the test's existing {TEST_SETTINGS}; --title and --due are not applied (edit it instead)");
    }
    let settings = Settings {
        title: args.title.clone(),
        due: args.due.clone(),
        force: args.force,
    };
    let written = write_test(&bank, &args.into, &args.test, &settings, tz)?;
    outln!(
        "Imported {} question(s) into {}.{}",
        bank.questions.len(),
        written.display(),
        if args.due.is_none() && !args.force {
            " It is a draft: set \"due\" and remove \"publish\": false in test.json to publish it."
        } else {
            ""
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

pub async fn run_export(cmd: Export) -> anyhow::Result<ExitCode> {
    let Export::Gift(args) = cmd;
    let text = export_gift(&args.dir, &args.test)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn read_source(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > MAX_SOURCE_BYTES {
        bail!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_SOURCE_BYTES >> 20
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

/// What goes into `test.json` besides the questions.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub title: Option<String>,
    pub due: Option<String>,
    pub force: bool,
}

/// The test folder of `ids` inside `dir`, after checking the ids.
fn test_folder(ids: &TestArgs) -> anyhow::Result<String> {
    let subject = SubjectName::parse(ids.subject.as_str())
        .with_context(|| format!("--subject {:?}", ids.subject))?;
    let test =
        TestId::parse(ids.test.as_str()).with_context(|| format!("--test {:?}", ids.test))?;
    Ok(format!("{SUBJECTS_DIR}/{subject}/{test}"))
}

/// Writes the bank as test `ids` of the course in `dir`, once the course validator
/// accepts it; returns the test folder.
pub fn write_test(
    bank: &Bank,
    dir: &Path,
    ids: &TestArgs,
    settings: &Settings,
    tz: chrono_tz::Tz,
) -> anyhow::Result<PathBuf> {
    let rel = test_folder(ids)?;
    let folder = dir.join(&rel);
    let existing: Vec<&str> = [layout::QUESTIONS, layout::ANSWER_KEY]
        .into_iter()
        .filter(|name| folder.join(name).exists())
        .collect();
    if !existing.is_empty() && !settings.force {
        bail!(
            "{} already has {}; nothing written (--force replaces the questions and key)",
            folder.display(),
            existing.join(" and ")
        );
    }
    let (questions, key) = course::to_json(bank);
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        (layout::QUESTIONS, pretty(&questions)),
        (layout::ANSWER_KEY, pretty(&key)),
    ];
    if !folder.join(TEST_SETTINGS).exists() {
        let mut test = json!({"title": settings.title.clone().unwrap_or_else(|| ids.test.clone())});
        match &settings.due {
            Some(due) => test["due"] = Value::String(due.clone()),
            None => test["publish"] = Value::Bool(false),
        }
        files.push((TEST_SETTINGS, pretty(&test)));
    }
    check(dir, &rel, &files, tz)?;
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    for (name, bytes) in &files {
        let mut tmp = tempfile::NamedTempFile::new_in(&folder)
            .with_context(|| format!("writing in {}", folder.display()))?;
        tmp.write_all(bytes)?;
        tmp.persist(folder.join(name))
            .with_context(|| format!("writing {}", folder.join(name).display()))?;
    }
    Ok(folder)
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Runs the course validator over the course as it would be after the import and
/// fails on any problem in the imported test (problems elsewhere in the course, or a
/// course folder without roster yet, are not the import's to judge).
fn check(
    dir: &Path,
    rel: &str,
    files: &[(&str, Vec<u8>)],
    tz: chrono_tz::Tz,
) -> anyhow::Result<()> {
    let mut course = if dir.is_dir() {
        read_course_folder(dir)?.files
    } else {
        CourseFiles::new()
    };
    for (name, bytes) in files {
        course.insert(format!("{rel}/{name}"), bytes.clone());
    }
    let Err(problems) = domain_course::parse(&course, tz) else {
        return Ok(());
    };
    let ours: Vec<String> = problems
        .0
        .iter()
        .filter(|p| p.file == rel || p.file.starts_with(&format!("{rel}/")))
        .map(|p| p.to_string())
        .collect();
    if ours.is_empty() {
        return Ok(());
    }
    bail!(
        "the imported test would not be valid; nothing written:\n  {}",
        ours.join("\n  ")
    )
}

/// The GIFT text of test `ids` of the course in `dir`.
pub fn export_gift(dir: &Path, ids: &TestArgs) -> anyhow::Result<String> {
    let folder = dir.join(test_folder(ids)?);
    let read = |name: &str| -> anyhow::Result<Value> {
        let path = folder.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))
    };
    let questions = read(layout::QUESTIONS)?;
    let (bank, names) = course::from_json(&questions, &read(layout::ANSWER_KEY)?)
        .with_context(|| format!("reading the test in {}", folder.display()))?;
    for (field, why) in [
        ("points", "points per question"),
        ("pool", "question pools"),
    ] {
        let n = questions
            .as_array()
            .into_iter()
            .flatten()
            .filter(|q| q.get(field).is_some())
            .count();
        if n > 0 {
            eprintln!("warning: GIFT has no {why}: \"{field}\" of {n} question(s) is not exported");
        }
    }
    let title = folder
        .join(TEST_SETTINGS)
        .exists()
        .then(|| read(TEST_SETTINGS))
        .transpose()?
        .and_then(|v| v.get("title").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| ids.test.clone());
    let heading = format!(
        "{title}\nsubject {}, test {}; exported by `trainer export gift`",
        ids.subject, ids.test
    );
    Ok(gift::write(&bank, &names, &heading))
}

#[cfg(test)]
mod tests;
