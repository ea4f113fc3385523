//! Deadlines: a test closes on the first Monday 23:00 in the trainer's time zone
//! after it was published, daylight saving time included.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// Hour of the weekly deadline, local time.
pub const DEADLINE_HOUR: u32 = 23;

/// How long after a test's deadline the scorer waits before it grades the test.
///
/// An upload checks the deadline and then writes; a write acknowledged to a student
/// may land a little after the deadline. Grading only once `due + GRADING_GRACE` has
/// passed makes every acknowledged submission visible to the scorer, because no
/// upload can take that long from its check to its write: in AWS the upload function
/// is killed after its timeout (at most 29 s behind API Gateway, checked by the
/// template tests), clocks agree to well under a second, and an upload re-checks the
/// clock right before writing (see [`accepts_writes`]). For the same reason the AWS
/// schedule fires at minutes 5, 20, 35 and 50 (a close on a quarter hour, like 23:00,
/// is graded at its grace) and the local scheduler at each close + this grace.
pub const GRADING_GRACE: Duration = Duration::minutes(5);

/// Whether an upload that passed the deadline check may still write: only while the
/// scorer cannot have started on the test (half the grace, the rest being room for
/// the write itself).
pub fn accepts_writes(due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < due + GRADING_GRACE / 2
}

/// Whether the scorer may grade a test due at `due`: every write acknowledged
/// before the deadline has landed.
pub fn gradable(due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    due + GRADING_GRACE <= now
}

/// The trainer's zone when nothing else is configured.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Europe::Warsaw;

/// Parses an IANA zone name such as `Europe/Warsaw`.
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone {name:?} (use an IANA name such as Europe/Warsaw)"))
}

/// Turns a local wall-clock time into an instant. A time that does not exist (in a
/// spring-forward gap) moves forward to the first instant that does; an ambiguous one
/// (fall-back) takes the earlier instant, so a deadline is never extended by an hour.
pub fn local_to_utc(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    let mut probe = naive;
    loop {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => return a.min(b).with_timezone(&Utc),
            LocalResult::None => probe += Duration::minutes(1),
        }
    }
}

/// The first Monday 23:00 (local) strictly after `after`.
pub fn next_deadline(after: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = after.with_timezone(&tz);
    let mut date = local.date_naive();
    let at = NaiveTime::from_hms_opt(DEADLINE_HOUR, 0, 0).unwrap_or(NaiveTime::MIN);
    loop {
        if date.weekday() == Weekday::Mon {
            let candidate = local_to_utc(tz, date, at);
            if candidate > after {
                return candidate;
            }
        }
        date = match date.succ_opt() {
            Some(d) => d,
            None => return after,
        };
    }
}

/// Formats an instant for a human in the trainer's zone: `2026-11-30 23:00 CET`.
pub fn display_in(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn tuesday_publication_closes_next_monday_at_23_warsaw_winter_time() {
        // 2026-11-24 is a Tuesday; Warsaw is UTC+1 in November.
        let due = next_deadline(utc("2026-11-24T18:00:00Z"), DEFAULT_TIME_ZONE);
        assert_eq!(due, utc("2026-11-30T22:00:00Z"));
    }

    #[test]
    fn summer_deadline_is_23_warsaw_summer_time() {
        let due = next_deadline(utc("2026-06-02T10:00:00Z"), DEFAULT_TIME_ZONE);
        assert_eq!(due, utc("2026-06-08T21:00:00Z"));
    }

    #[test]
    fn deadline_in_the_week_clocks_go_forward_uses_summer_offset() {
        // Clocks go forward on Sunday 2026-03-29; the Monday after is UTC+2.
        let due = next_deadline(utc("2026-03-24T10:00:00Z"), DEFAULT_TIME_ZONE);
        assert_eq!(due, utc("2026-03-30T21:00:00Z"));
    }

    #[test]
    fn deadline_in_the_week_clocks_go_back_uses_winter_offset() {
        // Clocks go back on Sunday 2026-10-25; the Monday after is UTC+1.
        let due = next_deadline(utc("2026-10-20T10:00:00Z"), DEFAULT_TIME_ZONE);
        assert_eq!(due, utc("2026-10-26T22:00:00Z"));
    }

    #[test]
    fn publishing_on_monday_before_23_closes_the_same_evening() {
        let due = next_deadline(utc("2026-11-23T12:00:00Z"), DEFAULT_TIME_ZONE);
        assert_eq!(due, utc("2026-11-23T22:00:00Z"));
    }

    #[test]
    fn publishing_exactly_at_the_deadline_moves_to_the_next_week() {
        let due = next_deadline(utc("2026-11-23T22:00:00Z"), DEFAULT_TIME_ZONE);
        assert_eq!(due, utc("2026-11-30T22:00:00Z"));
    }

    #[test]
    fn a_zone_without_dst_keeps_the_same_utc_time_all_year() {
        let tokyo = parse_time_zone("Asia/Tokyo").unwrap();
        assert_eq!(
            next_deadline(utc("2026-01-06T00:00:00Z"), tokyo),
            utc("2026-01-12T14:00:00Z")
        );
        assert_eq!(
            next_deadline(utc("2026-07-07T00:00:00Z"), tokyo),
            utc("2026-07-13T14:00:00Z")
        );
    }

    #[test]
    fn a_local_time_in_a_dst_gap_moves_forward() {
        let t = local_to_utc(
            DEFAULT_TIME_ZONE,
            NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(t, utc("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn unknown_zone_names_are_refused() {
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
