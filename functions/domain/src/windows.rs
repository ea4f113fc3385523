//! Per-student windows: a test's extensions, a student's standing extra time and the
//! test's late policy decide when each student's answers are due, until when they are
//! still accepted (late), and how much a late grade loses. Pure rules: the course
//! parser, the API and the scorer all ask here, so they cannot disagree.
//!
//! The rule (docs/trainer.md, "Deadlines per student"):
//! - own due = the latest of the test's due, the test's due + the student's
//!   `extraTime`, and the student's extension due (an extension is a date the trainer
//!   chose, so extra time is not added on top of it; nothing ever makes a due earlier);
//! - own close = the late policy's `until` moved by as much as the own due moved, or
//!   the own due without a late policy;
//! - days late = started days (24 h) between the own due and the receipt's time;
//!   grade factor = max(floor, 100% − penalty × days late).

use crate::ids::StudentId;
use crate::model::{Roster, Student, TestMeta};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// A share written as a percentage (`10%`, `12.5%`), held in hundredths of a percent
/// so arithmetic on it is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(u32);

/// 100 %, in hundredths of a percent.
const WHOLE: u32 = 10_000;

impl Percent {
    pub const ZERO: Percent = Percent(0);
    pub const HUNDRED: Percent = Percent(WHOLE);

    /// Parses `10%`, `12.5%` or `0.25%` (at most two decimals), between 0% and 100%.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!("{raw:?} is not a percentage; write it like \"10%\" or \"12.5%\" (0% to 100%)")
        };
        let number = raw.trim().strip_suffix('%').ok_or_else(bad)?.trim();
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole)
            || frac.len() > 2
            || !(frac.is_empty() || digits(frac))
            || number.ends_with('.')
        {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let value = whole * 100 + frac;
        if value > WHOLE {
            return Err(bad());
        }
        Ok(Self(value))
    }

    /// Hundredths of a percent (`10%` is 1000).
    pub fn hundredths(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}%"),
            f2 if f2 % 10 == 0 => write!(f, "{whole}.{}%", f2 / 10),
            f2 => write!(f, "{whole}.{f2:02}%"),
        }
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A standing accommodation of a student (`"extraTime": "48h"` in the roster): kept
/// as written, so the roster round-trips unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraTime {
    raw: String,
    span: Duration,
}

/// Longest extra time accepted: a typo such as `480d` is refused rather than
/// keeping a test open for a year.
const LONGEST_EXTRA_TIME: Duration = Duration::days(366);

impl ExtraTime {
    /// Parses `48h`, `2d`, `90m` or a sum such as `1d12h` (days of 24 h).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{raw:?} is not a duration; write it like \"48h\", \"2d\", \"90m\" or \"1d12h\""
            )
        };
        let s = raw.trim();
        let mut span = Duration::zero();
        let mut number = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let n: i64 = number.parse().map_err(|_| bad())?;
            number.clear();
            let part = match c {
                'd' => Duration::try_days(n),
                'h' => Duration::try_hours(n),
                'm' => Duration::try_minutes(n),
                _ => None,
            }
            .ok_or_else(bad)?;
            span = span.checked_add(&part).ok_or_else(bad)?;
        }
        if !number.is_empty() || s.is_empty() {
            return Err(bad());
        }
        if span > LONGEST_EXTRA_TIME {
            return Err(format!("{raw:?} is longer than a year; is it a typo?"));
        }
        Ok(Self {
            raw: s.to_owned(),
            span,
        })
    }

    pub fn span(&self) -> Duration {
        self.span
    }
}

impl fmt::Display for ExtraTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for ExtraTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for ExtraTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One student's extension of one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub due: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A test's late policy: answers are accepted until `until` (moved per student like
/// the due), and a late grade is multiplied by max(floor, 100% − penalty × days late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatePolicy {
    pub until: DateTime<Utc>,
    #[serde(with = "per_day")]
    pub penalty: Percent,
    pub floor: Percent,
}

impl LatePolicy {
    /// The penalty as written in `test.json`: `10%/day`.
    pub fn penalty_text(&self) -> String {
        format!("{}/day", self.penalty)
    }
}

/// `"10%/day"` on the wire.
mod per_day {
    use super::Percent;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Percent, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{p}/day"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Percent, D::Error> {
        let raw = String::deserialize(d)?;
        super::parse_penalty(&raw).map_err(serde::de::Error::custom)
    }
}

/// Parses a late penalty: `10%/day` (`10%` alone means the same).
pub fn parse_penalty(raw: &str) -> Result<Percent, String> {
    let s = raw.trim();
    let number = s.strip_suffix("/day").unwrap_or(s);
    Percent::parse(number).map_err(|_| {
        format!("penalty {raw:?} is not a percentage a day; write it like \"10%/day\"")
    })
}

/// When a student hears back (`"feedback"` in `test.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feedback {
    /// At their own close: the score and right/wrong per question, the correct
    /// answers only once every window of the test has closed (then in a follow-up).
    #[default]
    AtOwnClose,
    /// Nothing until every window of the test has closed, then everything at once.
    AtLastClose,
}

impl Feedback {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "at-own-close" => Ok(Self::AtOwnClose),
            "at-last-close" => Ok(Self::AtLastClose),
            _ => Err(format!(
                "feedback {raw:?} is not known; write \"at-own-close\" (the default) or \"at-last-close\""
            )),
        }
    }

    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// The per-student settings of a test, as they travel in its catalog entry; all
/// skipped when unset, so a catalog without them is written as it always was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestWindows {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<StudentId, Extension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<LatePolicy>,
    #[serde(default, skip_serializing_if = "Feedback::is_default")]
    pub feedback: Feedback,
}

/// One student's window of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Answers received after this are late.
    pub due: DateTime<Utc>,
    /// Answers are accepted until this instant (the grace of
    /// [`crate::deadline::accepts_writes`] aside); equal to `due` without a late policy.
    pub close: DateTime<Utc>,
}

impl Window {
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        now < self.close
    }

    /// Whether the scorer may grade this student's answers (see
    /// [`crate::deadline::gradable`]).
    pub fn gradable(&self, now: DateTime<Utc>) -> bool {
        crate::deadline::gradable(self.close, now)
    }
}

/// The window of a student without extension or extra time.
pub fn base_window(meta: &TestMeta) -> Window {
    own_window(meta, meta.due_at)
}

fn own_window(meta: &TestMeta, due: DateTime<Utc>) -> Window {
    let close = match &meta.windows.late {
        // `until` moves with the due, so everyone's late window is as long.
        Some(late) => late.until + (due - meta.due_at),
        None => due,
    };
    Window { due, close }
}

/// A student's window of a test (the rule is in the module's documentation).
pub fn window(meta: &TestMeta, student: &Student) -> Window {
    let mut due = meta.due_at;
    if let Some(extra) = &student.extra_time {
        due = due.max(meta.due_at + extra.span());
    }
    if let Some(ext) = meta.windows.extensions.get(&student.student_id) {
        due = due.max(ext.due);
    }
    own_window(meta, due)
}

/// The last close of a test over the roster students who take it (at least the
/// close of a student without accommodations): until then someone may still submit.
pub fn last_close(meta: &TestMeta, roster: &Roster) -> DateTime<Utc> {
    roster
        .0
        .iter()
        .filter(|s| s.takes(&meta.subject))
        .map(|s| window(meta, s).close)
        .fold(base_window(meta).close, DateTime::max)
}

/// The first close of any window of any test strictly after `after` (a test's own
/// close and every roster student's): when a scheduler next has something to grade.
pub fn next_close(
    catalog: &crate::model::Catalog,
    roster: &Roster,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    catalog
        .tests
        .iter()
        .flat_map(|t| {
            let own = roster
                .0
                .iter()
                .filter(|s| s.takes(&t.subject))
                .map(move |s| window(t, s).close);
            std::iter::once(base_window(t).close).chain(own)
        })
        .filter(|close| *close > after)
        .min()
}

/// The windows still open at `now`, by student, with their close: what the trainer's
/// report lists.
pub fn open_windows(
    meta: &TestMeta,
    roster: &Roster,
    now: DateTime<Utc>,
) -> Vec<(StudentId, DateTime<Utc>)> {
    let mut open: Vec<(StudentId, DateTime<Utc>)> = roster
        .0
        .iter()
        .filter(|s| s.takes(&meta.subject))
        .map(|s| (s.student_id.clone(), window(meta, s).close))
        .filter(|(_, close)| now < *close)
        .collect();
    // One line per student (the roster's last entry of a student wins elsewhere;
    // the latest close is the one that keeps the window open).
    open.sort_by(|a, b| (&a.0, b.1).cmp(&(&b.0, a.1)));
    open.dedup_by(|a, b| a.0 == b.0);
    open.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    open
}

/// How late an upload was and what it costs, as the receipt and the result say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lateness {
    /// The student's own due.
    pub due_at: DateTime<Utc>,
    /// Started days after the own due (1 for a second late).
    pub days_late: u32,
    /// The policy's penalty, as written (`10%/day`).
    pub penalty: String,
    /// What the grade is multiplied by.
    pub factor: Percent,
}

/// Started days between `due` and `received` (0 when on time).
pub fn days_late(due: DateTime<Utc>, received: DateTime<Utc>) -> u32 {
    if received <= due {
        return 0;
    }
    let late = (received - due).num_milliseconds();
    let day = Duration::days(1).num_milliseconds();
    u32::try_from((late + day - 1) / day).unwrap_or(u32::MAX)
}

/// max(floor, 100% − penalty × days).
pub fn factor(policy: &LatePolicy, days: u32) -> Percent {
    let lost = u64::from(policy.penalty.0) * u64::from(days);
    let left = u64::from(WHOLE).saturating_sub(lost);
    Percent(u32::try_from(left).unwrap_or(0).max(policy.floor.0))
}

/// What an upload received at `received` owes for being late; `None` when on time
/// or when the test has no late policy (an upload accepted in the grace after a
/// plain due passed its deadline check on time).
pub fn lateness(meta: &TestMeta, window: Window, received: DateTime<Utc>) -> Option<Lateness> {
    let policy = meta.windows.late.as_ref()?;
    let days = days_late(window.due, received);
    (days > 0).then(|| Lateness {
        due_at: window.due,
        days_late: days,
        penalty: policy.penalty_text(),
        factor: factor(policy, days),
    })
}

/// The grade of `points` of `total` scaled by `factor`: round_half_up(points ×
/// factor / total × max_grade), in integers (like
/// [`crate::scoring::grading::round_half_up`]).
pub fn late_grade(
    points: crate::scoring::points::Points,
    total: u32,
    max_grade: u32,
    factor: Percent,
) -> u32 {
    if total == 0 {
        return 0;
    }
    // Points are held in thousandths (fractional credit); the grade is computed on them.
    let milli = u128::try_from(points.milli().clamp(0, i64::from(total) * 1000)).unwrap_or(0);
    let num = milli * u128::from(factor.0) * u128::from(max_grade);
    let den = u128::from(total) * 1000 * u128::from(WHOLE);
    u32::try_from((2 * num + den) / (2 * den)).unwrap_or(max_grade)
}

#[cfg(test)]
mod tests;
