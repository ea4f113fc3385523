//! How things look: colours (only on a terminal, never with `NO_COLOR`), times that
//! always name their zone, "in 2 days 4 h", and text wrapped to the terminal in
//! display columns (a CJK character takes two).

use chrono::{DateTime, FixedOffset, Offset, Utc};
use chrono_tz::Tz;

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

/// The student's zone: named when it can be found out (`TZ`, else the system's), so
/// a time reads `23:00 CET`; otherwise only the offset of `chrono::Local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalZone {
    Named(Tz),
    Unnamed,
}

impl LocalZone {
    /// Looks at `TZ` first (as the C library does), then asks the system. A name is
    /// kept only when it agrees with `chrono::Local` (what this machine's clock says).
    pub fn detect() -> LocalZone {
        let from_env = std::env::var("TZ").ok().and_then(|v| zone_from_tz_var(&v));
        let zone = from_env.or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| name.parse::<Tz>().ok())
        });
        let now = Utc::now();
        match zone {
            Some(tz)
                if now.with_timezone(&tz).offset().fix()
                    == now.with_timezone(&chrono::Local).offset().fix() =>
            {
                LocalZone::Named(tz)
            }
            _ => LocalZone::Unnamed,
        }
    }

    /// `t` in this zone, with the zone's abbreviation or offset: `Mon 2026-11-30 23:00 CET`.
    pub fn format(&self, t: DateTime<Utc>, pattern: &str) -> String {
        match self {
            LocalZone::Named(tz) => {
                let named = t.with_timezone(tz);
                format!("{} {}", named.format(pattern), zone_label(&named))
            }
            LocalZone::Unnamed => {
                let local = t.with_timezone(&chrono::Local);
                format!(
                    "{} {}",
                    local.format(pattern),
                    offset_label(local.offset().fix())
                )
            }
        }
    }

    /// The offset of this zone at `t`.
    pub fn offset_at(&self, t: DateTime<Utc>) -> FixedOffset {
        match self {
            LocalZone::Named(tz) => t.with_timezone(tz).offset().fix(),
            LocalZone::Unnamed => t.with_timezone(&chrono::Local).offset().fix(),
        }
    }
}

/// `TZ=Europe/Warsaw`, `TZ=:Europe/Warsaw` or a path into the zoneinfo database.
fn zone_from_tz_var(value: &str) -> Option<Tz> {
    let value = value.trim().trim_start_matches(':');
    if value.is_empty() {
        return None;
    }
    let name = match value.find("zoneinfo/") {
        Some(i) => &value[i + "zoneinfo/".len()..],
        None => value,
    };
    name.parse::<Tz>().ok()
}

/// `CET`, `EST`; zones without a letter abbreviation (`+03`) get `UTC+03:00`.
fn zone_label(t: &DateTime<Tz>) -> String {
    let abbreviation = t.format("%Z").to_string();
    if abbreviation.chars().any(|c| c.is_ascii_alphabetic()) {
        abbreviation
    } else {
        offset_label(t.offset().fix())
    }
}

/// `UTC`, `UTC+01:00`, `UTC-05:00`.
pub fn offset_label(offset: FixedOffset) -> String {
    if offset.local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        format!("UTC{offset}")
    }
}

const DAY_TIME: &str = "%a %Y-%m-%d %H:%M";

/// An instant as the API sent it (with the trainer's offset), shown in the student's
/// zone and naming it. When the trainer's offset differs, the trainer's time follows,
/// so the deadline in an error message from the server (in the trainer's zone) is
/// recognisably the same instant: `Mon 2026-11-30 17:00 EST (Mon 23:00 UTC+01:00 for
/// your trainer)`.
pub fn when(t: DateTime<FixedOffset>, zone: &LocalZone) -> String {
    let utc = t.with_timezone(&Utc);
    let mine = zone.format(utc, DAY_TIME);
    if zone.offset_at(utc) == *t.offset() {
        return mine;
    }
    let theirs = t.format(if same_day(t, utc, zone) {
        "%a %H:%M"
    } else {
        DAY_TIME
    });
    format!(
        "{mine} ({theirs} {} for your trainer)",
        offset_label(*t.offset())
    )
}

fn same_day(t: DateTime<FixedOffset>, utc: DateTime<Utc>, zone: &LocalZone) -> bool {
    let mine = utc.with_timezone(&zone.offset_at(utc));
    mine.date_naive() == t.date_naive()
}

/// "Mon 2026-11-30 23:00 CET (in 2 days 4 h)".
pub fn due(t: DateTime<FixedOffset>, now: DateTime<Utc>, zone: &LocalZone) -> String {
    format!(
        "{}, {}",
        when(t, zone),
        time_left(t.with_timezone(&Utc), now)
    )
}

/// An instant of this machine (a receipt's time, a draft's): `Mon 2026-11-30 21:14:05 CET`.
pub fn moment(t: DateTime<Utc>, zone: &LocalZone) -> String {
    zone.format(t, "%a %Y-%m-%d %H:%M:%S")
}

/// First 12 hex digits of a receipt hash: enough to compare, short enough to note down.
pub fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// Columns `text` takes on a terminal (colour codes take none, CJK characters two).
pub fn width_of(text: &str) -> usize {
    textwrap::core::display_width(text)
}

/// Pads or cuts `text` to `width` display columns (tables).
pub fn cell(text: &str, width: usize) -> String {
    let used = width_of(text);
    if used <= width {
        return format!("{text}{}", " ".repeat(width - used));
    }
    let room = width.saturating_sub(3);
    let mut cut = String::new();
    let mut taken = 0;
    for c in text.chars() {
        let w = width_of(c.encode_utf8(&mut [0; 4]));
        if taken + w > room {
            break;
        }
        cut.push(c);
        taken += w;
    }
    let dots = ".".repeat(width.min(3));
    format!("{cut}{dots}{}", " ".repeat(room - taken))
}

/// Wraps `text` to `width` columns: the first line starts with `first`, the others
/// with `rest` (a hanging indent). Without a width (not a terminal) it is one line.
pub fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> Vec<String> {
    let Some(width) = width else {
        return vec![format!("{first}{text}")];
    };
    // A width too small for the indent still gets a few columns of text.
    let width = width.max(width_of(first).max(width_of(rest)) + 8);
    // Never split at a hyphen: ids such as operating-systems are copied from here.
    let options = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut lines: Vec<String> = Vec::new();
    // Line breaks in the text (a multi-line question) are kept.
    for (i, paragraph) in text.split('\n').enumerate() {
        let options = if i == 0 {
            options.clone()
        } else {
            options.clone().initial_indent(rest)
        };
        let wrapped = textwrap::wrap(paragraph, options);
        if wrapped.is_empty() {
            lines.push(if i == 0 { first } else { rest }.trim_end().to_string());
        }
        lines.extend(wrapped.into_iter().map(|l| l.into_owned()));
    }
    lines
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
    fn a_tz_variable_names_a_zone_in_any_of_its_spellings() {
        assert_eq!(
            zone_from_tz_var("Europe/Warsaw"),
            Some(chrono_tz::Europe::Warsaw)
        );
        assert_eq!(
            zone_from_tz_var(":America/New_York"),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(
            zone_from_tz_var("/usr/share/zoneinfo/Asia/Tokyo"),
            Some(chrono_tz::Asia::Tokyo)
        );
        assert_eq!(zone_from_tz_var(""), None);
        assert_eq!(zone_from_tz_var("Nowhere/City"), None);
    }

    #[test]
    fn zones_are_named_by_abbreviation_or_offset() {
        let winter = utc("2026-11-30T22:00:00Z");
        assert_eq!(
            zone_label(&winter.with_timezone(&chrono_tz::Europe::Warsaw)),
            "CET"
        );
        assert_eq!(
            zone_label(&winter.with_timezone(&chrono_tz::America::New_York)),
            "EST"
        );
        assert_eq!(
            offset_label(FixedOffset::east_opt(3600).unwrap()),
            "UTC+01:00"
        );
        assert_eq!(offset_label(FixedOffset::east_opt(0).unwrap()), "UTC");
    }

    #[test]
    fn a_time_names_the_students_zone_and_the_trainers_when_they_differ() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T23:00:00+01:00").unwrap();
        let warsaw = LocalZone::Named(chrono_tz::Europe::Warsaw);
        assert_eq!(when(at, &warsaw), "Mon 2026-11-30 23:00 CET");
        let new_york = LocalZone::Named(chrono_tz::America::New_York);
        assert_eq!(
            when(at, &new_york),
            "Mon 2026-11-30 17:00 EST (Mon 23:00 UTC+01:00 for your trainer)"
        );
        let tokyo = LocalZone::Named(chrono_tz::Asia::Tokyo);
        assert_eq!(
            when(at, &tokyo),
            "Tue 2026-12-01 07:00 JST (Mon 2026-11-30 23:00 UTC+01:00 for your trainer)"
        );
        let now = utc("2026-11-28T19:00:00Z");
        assert_eq!(
            due(at, now, &warsaw),
            "Mon 2026-11-30 23:00 CET, in 2 days 3 h"
        );
    }

    #[test]
    fn cells_are_padded_or_cut_to_display_width() {
        assert_eq!(cell("ab", 4), "ab  ");
        assert_eq!(cell("abcdefgh", 6), "abc...");
        // Two columns per CJK character: the cell is as wide as an ASCII one.
        assert_eq!(width_of("進程"), 4);
        assert_eq!(cell("進程", 6), "進程  ");
        let cut = cell("進程與核心", 8);
        assert_eq!(width_of(&cut), 8, "{cut:?}");
        assert!(cut.starts_with("進程..."), "{cut:?}");
        assert_eq!(width_of(&cell("\x1b[1mbold\x1b[0m", 6)), 6);
    }

    #[test]
    fn text_wraps_at_words_with_a_hanging_indent() {
        let lines = wrap(
            "Which system call creates a new process on Linux?",
            Some(20),
            "1. ",
            "   ",
        );
        assert_eq!(
            lines,
            [
                "1. Which system call",
                "   creates a new",
                "   process on Linux?"
            ]
        );
        assert!(lines.iter().all(|l| width_of(l) <= 20));
        assert_eq!(
            wrap(
                "You have unsent answers: operating-systems / test01",
                Some(30),
                "",
                ""
            ),
            ["You have unsent answers:", "operating-systems / test01"],
            "ids are not split at their hyphens"
        );
        assert_eq!(
            wrap("one line", None, "> ", "  "),
            ["> one line"],
            "not a terminal: not wrapped"
        );
    }

    #[test]
    fn cjk_text_wraps_by_display_columns() {
        let text = "哪個系統呼叫會在Linux上建立一個新的行程？";
        let lines = wrap(text, Some(16), "", "");
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(width_of(line) <= 16, "{line:?} is {} wide", width_of(line));
        }
        assert_eq!(lines.concat(), text, "nothing lost or added");
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
}
