//! How things look: colours (only on a terminal, never with `NO_COLOR`), due
//! times in the student's zone and "in 2 days 4 h".

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// Colours on or off, decided once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour only when writing to a terminal and `NO_COLOR` is unset or empty
    /// (see no-color.org).
    pub fn detect(stdout_is_terminal: bool, no_color: Option<&str>) -> Style {
        Style {
            color: stdout_is_terminal && no_color.is_none_or(str::is_empty),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn cyan(&self, t: &str) -> String {
        self.paint("36", t)
    }
}

/// "in 2 days 4 h", "in 3 h 5 min", "in 12 min", or "closed".
pub fn time_left(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (due - now).num_seconds();
    if secs <= 0 {
        return "closed".to_string();
    }
    let minutes = secs / 60;
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (days, hours, mins) {
        (0, 0, 0) => "in less than a minute".to_string(),
        (0, 0, m) => format!("in {m} min"),
        (0, h, 0) => format!("in {h} h"),
        (0, h, m) => format!("in {h} h {m} min"),
        (d, 0, _) => format!("in {}", plural(d, "day", "days")),
        (d, h, _) => format!("in {} {h} h", plural(d, "day", "days")),
    }
}

/// A due time in the given zone (the student's local one in the program):
/// `Mon 2026-11-30 23:00`.
pub fn due_in_zone<Z: TimeZone>(due: DateTime<FixedOffset>, zone: &Z) -> String
where
    Z::Offset: std::fmt::Display,
{
    due.with_timezone(zone)
        .format("%a %Y-%m-%d %H:%M")
        .to_string()
}

/// "Mon 2026-11-30 23:00 (in 2 days 4 h)" in the student's local zone.
pub fn due_local(due: DateTime<FixedOffset>, now: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        due_in_zone(due, &chrono::Local),
        time_left(due.with_timezone(&Utc), now)
    )
}

/// First 12 hex digits of a receipt hash: enough to compare, short enough to note down.
pub fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// Pads or cuts `text` to `width` characters (tables).
pub fn cell(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count > width {
        let cut: String = text.chars().take(width.saturating_sub(3)).collect();
        format!("{cut}...")
    } else {
        format!("{text}{}", " ".repeat(width - count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn time_left_reads_like_a_person_would_say_it() {
        let now = utc("2026-11-23T10:00:00Z");
        assert_eq!(time_left(utc("2026-11-25T14:30:00Z"), now), "in 2 days 4 h");
        assert_eq!(time_left(utc("2026-11-24T10:00:00Z"), now), "in 1 day");
        assert_eq!(time_left(utc("2026-11-23T13:05:59Z"), now), "in 3 h 5 min");
        assert_eq!(time_left(utc("2026-11-23T12:00:00Z"), now), "in 2 h");
        assert_eq!(time_left(utc("2026-11-23T10:12:00Z"), now), "in 12 min");
        assert_eq!(
            time_left(utc("2026-11-23T10:00:30Z"), now),
            "in less than a minute"
        );
        assert_eq!(time_left(utc("2026-11-23T09:59:00Z"), now), "closed");
    }

    #[test]
    fn due_time_is_shown_in_the_students_zone_not_the_trainers() {
        // Trainer in Warsaw (+01:00), student in New York (-05:00).
        let due = DateTime::parse_from_rfc3339("2026-11-30T23:00:00+01:00").unwrap();
        let new_york = FixedOffset::west_opt(5 * 3600).unwrap();
        assert_eq!(due_in_zone(due, &new_york), "Mon 2026-11-30 17:00");
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(Style::detect(true, None).color);
        assert!(Style::detect(true, Some("")).color);
        assert!(!Style::detect(true, Some("1")).color);
        assert!(!Style::detect(false, None).color);
        assert_eq!(Style { color: false }.bold("x"), "x");
        assert_eq!(Style { color: true }.bold("x"), "\x1b[1mx\x1b[0m");
    }

    #[test]
    fn cells_are_padded_or_cut_to_width() {
        assert_eq!(cell("ab", 4), "ab  ");
        assert_eq!(cell("abcdefgh", 6), "abc...");
    }
}
