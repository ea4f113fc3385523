//! The student's own deadline as the listing gives it: the due (extensions and
//! extra time applied by the server) and the late window after it, in the
//! student's zone; the warning that a submission after the due is late, and what
//! the receipt of a late one says.

use crate::render::{due, time_left, when, LocalZone};
use chrono::{DateTime, FixedOffset, Utc};
use ework_domain::api::contract::LateWindow;
use ework_domain::windows::Lateness;

/// `10%/day, at least 50%`.
fn penalty(late: &LateWindow) -> String {
    // A floor of 0% is no floor: say nothing rather than "at least 0%".
    match late.floor.as_str() {
        "" | "0%" => late.penalty.clone(),
        floor => format!("{}, at least {floor}", late.penalty),
    }
}

/// Before the due: `Mon 2026-11-30 23:00 CET, in 2 days 4 h; late until Wed
/// 2026-12-02 23:00 CET with 10%/day, at least 50%`. In the late window:
/// `Mon 2026-11-30 23:00 CET, passed; late until Wed ... (in 1 day 2 h) with ...`.
pub fn deadline(
    due_at: DateTime<FixedOffset>,
    late: Option<&LateWindow>,
    now: DateTime<Utc>,
    zone: &LocalZone,
) -> String {
    let Some(late) = late else {
        return due(due_at, now, zone);
    };
    let passed = now >= due_at.with_timezone(&Utc);
    if passed {
        format!(
            "{}, passed; late until {}, {}, with {}",
            when(due_at, zone),
            when(late.until, zone),
            time_left(late.until.with_timezone(&Utc), now),
            penalty(late)
        )
    } else {
        format!(
            "{}; late until {} with {}",
            due(due_at, now, zone),
            when(late.until, zone),
            penalty(late)
        )
    }
}

/// Said before sending once the student's due has passed (the server still takes
/// the answers while the late window is open).
pub fn late_warning(
    due_at: DateTime<FixedOffset>,
    late: Option<&LateWindow>,
    now: DateTime<Utc>,
) -> Option<String> {
    if now < due_at.with_timezone(&Utc) {
        return None;
    }
    Some(match late {
        Some(late) => format!(
            "Your due time has passed: this submission will be late, and its score goes down by {}.",
            penalty(late)
        ),
        None => "Your due time has passed: the server may refuse this submission.".to_string(),
    })
}

/// What a receipt of a late upload says: `Received late: 1 day after your due time
/// (Mon 2026-11-30 23:00 CET); at 10%/day this submission counts 90% of its score.`
pub fn received_late(late: &Lateness, zone: &LocalZone) -> String {
    let days = match late.days_late {
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    };
    format!(
        "Received late: {days} after your due time ({}); at {} this submission counts {} of its score.",
        zone.format(late.due_at, "%a %Y-%m-%d %H:%M"),
        late.penalty,
        late.factor
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn window() -> LateWindow {
        LateWindow {
            until: at("2026-12-02T23:00:00+01:00"),
            penalty: "10%/day".into(),
            floor: "50%".into(),
        }
    }

    #[test]
    fn the_due_and_the_late_window_are_shown_in_the_students_zone() {
        let zone = LocalZone::Named(chrono_tz::America::New_York);
        let due_at = at("2026-11-30T23:00:00+01:00");
        let before = due_at.with_timezone(&Utc) - chrono::Duration::hours(28);
        assert_eq!(
            deadline(due_at, Some(&window()), before, &zone),
            "Mon 2026-11-30 17:00 EST (Mon 23:00 UTC+01:00 for your trainer), in 1 day 4 h; \
             late until Wed 2026-12-02 17:00 EST (Wed 23:00 UTC+01:00 for your trainer) with 10%/day, at least 50%"
        );
        let utc = LocalZone::Named(chrono_tz::UTC);
        let after = due_at.with_timezone(&Utc) + chrono::Duration::hours(2);
        assert_eq!(
            deadline(at("2026-11-30T22:00:00+00:00"), Some(&window()), after, &utc),
            "Mon 2026-11-30 22:00 UTC, passed; late until Wed 2026-12-02 22:00 UTC (Wed 23:00 UTC+01:00 for your trainer), in 1 day 22 h, with 10%/day, at least 50%"
        );
    }

    #[test]
    fn without_a_late_window_only_the_due_is_shown() {
        let utc = LocalZone::Named(chrono_tz::UTC);
        let due_at = at("2026-11-30T22:00:00+00:00");
        let now = due_at.with_timezone(&Utc) - chrono::Duration::minutes(90);
        assert_eq!(
            deadline(due_at, None, now, &utc),
            "Mon 2026-11-30 22:00 UTC, in 1 h 30 min"
        );
    }

    #[test]
    fn a_submission_after_the_due_is_warned_about_and_one_before_is_not() {
        let due_at = at("2026-11-30T22:00:00+00:00");
        let due_utc = due_at.with_timezone(&Utc);
        let w = window();
        assert_eq!(
            late_warning(due_at, Some(&w), due_utc - chrono::Duration::seconds(1)),
            None
        );
        assert_eq!(
            late_warning(due_at, Some(&w), due_utc).as_deref(),
            Some("Your due time has passed: this submission will be late, and its score goes down by 10%/day, at least 50%.")
        );
        let no_floor = LateWindow {
            floor: "0%".into(),
            ..window()
        };
        assert!(late_warning(due_at, Some(&no_floor), due_utc)
            .unwrap()
            .ends_with("by 10%/day."));
    }

    #[test]
    fn a_late_receipt_says_how_late_by_whose_due_and_what_it_costs() {
        let utc = LocalZone::Named(chrono_tz::UTC);
        let late = |days_late: u32, factor: &str| Lateness {
            due_at: at("2026-11-30T22:00:00+00:00").with_timezone(&Utc),
            days_late,
            penalty: "10%/day".into(),
            factor: ework_domain::windows::Percent::parse(factor).unwrap(),
        };
        assert_eq!(
            received_late(&late(1, "90%"), &utc),
            "Received late: 1 day after your due time (Mon 2026-11-30 22:00 UTC); at 10%/day this submission counts 90% of its score."
        );
        assert!(received_late(&late(3, "70%"), &utc)
            .starts_with("Received late: 3 days after your due time"));
    }
}
