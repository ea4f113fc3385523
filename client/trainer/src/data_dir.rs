//! The local stack's data dir records the trainer's time zone, so every command on
//! that dir reads due dates and deadlines in the zone the stack runs in.
//!
//! The record is a small plain file, `<data-dir>/stack.json` (`{"timeZone": "…"}`),
//! beside the encrypted store: a zone name is not secret, and keeping it out of the
//! store lets a command check it before it opens (or creates) anything else.

use anyhow::{bail, Context};
use chrono_tz::Tz;
use ework_domain::deadline::{parse_time_zone, DEFAULT_TIME_ZONE};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the record inside the data dir.
pub const RECORD_FILE: &str = "stack.json";

/// Largest record read; a real one is a few dozen bytes.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    time_zone: String,
}

/// What a command does when the data dir has no record yet (a dir created before
/// zones were recorded, or a dir a command reaches before the stack's first start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopt {
    /// Record the zone it uses: the stack's start, and commands that write what the
    /// zone decides (published due dates, scoring).
    Record,
    /// Use the zone and record nothing: previews and reads promise to write nothing.
    ReadOnly,
}

impl Adopt {
    /// `Record`, unless the command is a dry run.
    pub fn unless_dry_run(dry_run: bool) -> Adopt {
        if dry_run {
            Adopt::ReadOnly
        } else {
            Adopt::Record
        }
    }
}

/// Path of the record of `dir`.
pub fn record_path(dir: &Path) -> PathBuf {
    dir.join(RECORD_FILE)
}

/// The zone of the data dir `dir`. `given` is `--time-zone` (or `EWORK_TIME_ZONE`):
/// it must name the recorded zone, if there is one; without a record, the given zone
/// (else the default) is used, and recorded when `adopt` says so.
pub fn time_zone(dir: &Path, given: Option<&str>, adopt: Adopt) -> anyhow::Result<Tz> {
    let given = given
        .map(|name| parse_time_zone(name).map_err(anyhow::Error::msg))
        .transpose()?;
    if let Some(recorded) = read(dir)? {
        check(dir, recorded, given)?;
        return Ok(recorded);
    }
    let tz = given.unwrap_or(DEFAULT_TIME_ZONE);
    if adopt == Adopt::ReadOnly {
        return Ok(tz);
    }
    match write_new(dir, tz)? {
        // Another command recorded a zone first: that one is the dir's.
        Some(recorded) => {
            check(dir, recorded, given)?;
            Ok(recorded)
        }
        None => Ok(tz),
    }
}

/// The recorded zone, if the dir has a record.
pub fn read(dir: &Path) -> anyhow::Result<Option<Tz>> {
    let path = record_path(dir);
    let bytes = match fs::File::open(&path) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(MAX_RECORD_BYTES)
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {}", path.display()))?;
            bytes
        }
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let record: Record = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is damaged; it should read {{\"timeZone\": \"<IANA zone>\"}} with the zone this data dir runs in",
            path.display()
        )
    })?;
    let tz = parse_time_zone(&record.time_zone)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("reading the time zone recorded in {}", path.display()))?;
    Ok(Some(tz))
}

fn check(dir: &Path, recorded: Tz, given: Option<Tz>) -> anyhow::Result<()> {
    match given {
        Some(given) if given != recorded => bail!(
            "the data dir {dir} runs in the time zone {recorded} (recorded in {record}), \
             but --time-zone or EWORK_TIME_ZONE asks for {given}. Due dates and deadlines of one data dir \
             are read in one zone: drop --time-zone and unset EWORK_TIME_ZONE (or pass --time-zone {recorded}) \
             to work in {recorded}, or start a new data dir for {given} \
             (trainer local --data-dir <new dir> --time-zone {given})",
            dir = dir.display(),
            record = record_path(dir).display(),
        ),
        _ => Ok(()),
    }
}

/// Writes the record unless there is one. Returns the zone already recorded when
/// another command won the race.
fn write_new(dir: &Path, tz: Tz) -> anyhow::Result<Option<Tz>> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = record_path(dir);
    let temp = dir.join(format!(
        ".{RECORD_FILE}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut body = serde_json::to_vec_pretty(&Record {
        time_zone: tz.name().to_owned(),
    })?;
    body.push(b'\n');
    let written = fs::File::create(&temp)
        .and_then(|mut f| f.write_all(&body).and_then(|_| f.sync_all()))
        .with_context(|| format!("writing {}", temp.display()));
    // A link, not a rename: it fails when the record exists, so the first command
    // to record a zone wins and a reader never sees half a file.
    let linked = written.and_then(|_| match fs::hard_link(&temp, &path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    });
    let _ = fs::remove_file(&temp);
    if linked? {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        tracing::info!(time_zone = %tz, record = %path.display(), "time zone recorded");
        Ok(None)
    } else {
        read(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    #[test]
    fn a_new_dir_records_the_given_zone_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let tz = time_zone(dir.path(), Some("America/New_York"), Adopt::Record).unwrap();
        assert_eq!(tz, New_York);
        assert_eq!(read(dir.path()).unwrap(), Some(New_York));
        assert_eq!(
            time_zone(dir.path(), None, Adopt::ReadOnly).unwrap(),
            New_York
        );
        assert_eq!(
            time_zone(dir.path(), Some("America/New_York"), Adopt::Record).unwrap(),
            New_York
        );
    }

    #[test]
    fn a_new_dir_without_a_zone_records_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let tz = time_zone(dir.path(), None, Adopt::Record).unwrap();
        assert_eq!(tz, DEFAULT_TIME_ZONE);
        assert_eq!(read(dir.path()).unwrap(), Some(DEFAULT_TIME_ZONE));
    }

    #[test]
    fn a_conflicting_zone_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        time_zone(dir.path(), Some("America/New_York"), Adopt::Record).unwrap();
        let err = time_zone(dir.path(), Some("Europe/Warsaw"), Adopt::ReadOnly).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("America/New_York"), "{msg}");
        assert!(msg.contains("Europe/Warsaw"), "{msg}");
        assert!(msg.contains("unset EWORK_TIME_ZONE"), "{msg}");
        assert_eq!(
            read(dir.path()).unwrap(),
            Some(New_York),
            "record unchanged"
        );
    }

    #[test]
    fn a_read_only_command_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let tz = time_zone(dir.path(), Some("America/New_York"), Adopt::ReadOnly).unwrap();
        assert_eq!(tz, New_York);
        assert!(!record_path(dir.path()).exists());
    }

    #[test]
    fn an_unknown_zone_creates_nothing() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        assert!(time_zone(&dir, Some("Nowhere/City"), Adopt::Record).is_err());
        assert!(!dir.exists());
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(record_path(dir.path()), "{").unwrap();
        let msg = format!(
            "{:#}",
            time_zone(dir.path(), None, Adopt::Record).unwrap_err()
        );
        assert!(msg.contains(RECORD_FILE), "{msg}");
    }

    #[test]
    fn the_first_recorder_wins_a_race() {
        let dir = tempfile::tempdir().unwrap();
        write_new(dir.path(), New_York).unwrap();
        assert_eq!(
            write_new(dir.path(), DEFAULT_TIME_ZONE).unwrap(),
            Some(New_York)
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, [RECORD_FILE]);
    }
}
