//! `trainer validate <dir>`: reads the course folder and reports every problem at once.

use crate::outln;
use crate::target::Target;
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use ework_domain::course::{self, CourseFiles, Problems, PublishError, SyncOptions};
use ework_domain::layout;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Largest file read from a course folder; a course file is a few KiB.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The course folder (studentsList.json, or studentsList/studentsList.json as in
    /// the original project, and subjects/<subject>/<testId>/).
    pub dir: PathBuf,
    /// With a target, also check against what is published there (due dates of new
    /// tests, answer keys of scored tests).
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub clock: ClockArgs,
}

/// Time settings shared by `validate` and `sync`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClockArgs {
    /// The trainer's IANA time zone for due dates written without an offset
    /// [default: the zone recorded in the --local data dir, or the stack's TimeZone
    /// parameter, else Europe/Warsaw]. A data dir refuses a zone other than its own.
    #[arg(long, env = "EWORK_TIME_ZONE", value_name = "ZONE")]
    pub time_zone: Option<String>,
    /// Pretend it is this instant (RFC 3339); for rehearsals and tests.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now, hide = true)]
    pub now: Option<DateTime<Utc>>,
}

impl ClockArgs {
    pub fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant: {e}"))
}

/// Where the original project kept its roster: `studentsList/studentsList.json`
/// (its `files/` folder). Read as if it were `studentsList.json`.
pub const ORIGINAL_ROSTER: &str = "studentsList/studentsList.json";

/// A course folder as read from disk.
#[derive(Debug, Clone, Default)]
pub struct CourseDir {
    pub files: CourseFiles,
    /// Where the roster really is, when not at `studentsList.json`.
    pub roster_at: Option<&'static str>,
}

impl CourseDir {
    /// Problems name the files as they are in the folder.
    pub fn locate(&self, mut problems: Problems) -> Problems {
        if let Some(real) = self.roster_at {
            for p in &mut problems.0 {
                if p.file == layout::ROSTER {
                    p.file = real.to_owned();
                }
            }
        }
        problems
    }

    /// A publish error with its problems located.
    pub fn locate_error(&self, e: PublishError) -> PublishError {
        match e {
            PublishError::Invalid(problems) => PublishError::Invalid(self.locate(problems)),
            other => other,
        }
    }
}

/// The files of a course folder; see [`read_course_folder`].
#[cfg(test)]
pub fn read_course_dir(dir: &Path) -> anyhow::Result<CourseFiles> {
    read_course_folder(dir).map(|folder| folder.files)
}

/// Reads the files a course is made of (the roster and everything under `subjects/`),
/// skipping hidden files and folders such as `.git`. The roster may also be where the
/// original project kept it, [`ORIGINAL_ROSTER`].
pub fn read_course_folder(dir: &Path) -> anyhow::Result<CourseDir> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let mut files = CourseFiles::new();
    let mut original_roster = None;
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let abs = dir.join(&rel);
        let entries =
            std::fs::read_dir(&abs).with_context(|| format!("reading {}", abs.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", abs.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let rel_path = rel.join(name);
            let Some(key) = rel_path
                .to_str()
                .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"))
            else {
                continue;
            };
            let meta = std::fs::metadata(entry.path())
                .with_context(|| format!("reading {}", entry.path().display()))?;
            let original = key == ORIGINAL_ROSTER;
            if meta.is_dir() {
                // Only the roster and subjects/ matter; do not wander into unrelated folders.
                let roster_dir = ORIGINAL_ROSTER.split('/').next() == Some(key.as_str());
                if key == course::SUBJECTS_DIR || key.starts_with("subjects/") || roster_dir {
                    pending.push(rel_path);
                }
            } else if meta.is_file() && (original || CourseFiles::is_course_path(&key)) {
                if meta.len() > MAX_FILE_BYTES {
                    bail!(
                        "{} is larger than {} MiB; is it really a course file?",
                        entry.path().display(),
                        MAX_FILE_BYTES >> 20
                    );
                }
                let bytes = std::fs::read(entry.path())
                    .with_context(|| format!("reading {}", entry.path().display()))?;
                if original {
                    original_roster = Some(bytes);
                } else {
                    files.insert(key, bytes);
                }
            }
        }
    }
    let mut roster_at = None;
    if let Some(bytes) = original_roster {
        if files.0.contains_key(layout::ROSTER) {
            bail!(
                "{} has both {} and {ORIGINAL_ROSTER}; keep one of them",
                dir.display(),
                layout::ROSTER
            );
        }
        files.insert(layout::ROSTER, bytes);
        roster_at = Some(ORIGINAL_ROSTER);
    }
    Ok(CourseDir { files, roster_at })
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let folder = read_course_folder(&args.dir)?;
    let files = &folder.files;
    let opened = if args.target.is_set() {
        Some(args.target.open().await?)
    } else {
        None
    };
    let tz = match &opened {
        Some(o) => o.time_zone(args.clock.time_zone.as_deref())?,
        None => crate::target::Opened::default_time_zone(args.clock.time_zone.as_deref())?,
    };
    let now = args.clock.now();
    let course = match course::parse(files, tz) {
        Ok(course) => course,
        Err(problems) => {
            eprintln!("{}: {}", args.dir.display(), folder.locate(problems));
            return Ok(ExitCode::FAILURE);
        }
    };
    for p in course.feedback_warnings() {
        eprintln!("warning: {p}");
    }
    match &opened {
        Some(opened) => {
            let published = course::load_published(opened.store.as_ref(), Some(&course)).await?;
            match course::plan(
                &course,
                &published,
                now,
                tz,
                SyncOptions {
                    rescore: false,
                    dry_run: true,
                },
            ) {
                Ok(_) => {}
                Err(PublishError::Invalid(problems)) => {
                    eprintln!("{}: {}", args.dir.display(), folder.locate(problems));
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => {
                    eprintln!("{}: {e}", args.dir.display());
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        None => {
            for p in course.due_dates_not_after(now, tz) {
                eprintln!("warning: {p} (fine for a test already published with this date)");
            }
        }
    }
    let to_publish = course.tests.iter().filter(|t| t.publish).count();
    outln!(
        "{} is valid: {} student(s), {} test(s) ({} to publish, {} draft(s)).",
        args.dir.display(),
        course.roster.0.len(),
        course.tests.len(),
        to_publish,
        course.tests.len() - to_publish
    )?;
    Ok(ExitCode::SUCCESS)
}
