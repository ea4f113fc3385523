//! A test as the importers and the exporter see it: questions in order, options in
//! order, and the key as single, multiple or weighted. Ids are given on the way into
//! the course files (questions 1, 2, ...; options a, b, ...), so every format only
//! has to get text, order and key right.

use std::fmt;

/// One test read from (or to be written to) a question bank format.
#[derive(Debug, Clone, PartialEq)]
pub struct Bank {
    pub questions: Vec<Item>,
}

/// One question: its text, its options and which of them are right.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub text: String,
    pub options: Vec<String>,
    pub key: Key,
}

/// Which options are right, by position in [`Item::options`].
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// One right option: a single-answer question.
    Single(usize),
    /// Several right options: a multiple-answer question (the student picks the set).
    Multiple(Vec<usize>),
    /// A weight per option, as a decimal string such as `0.5` or `-0.25` (kept as
    /// written so that export and import give back the same number); `None` for an
    /// option without weight (0).
    Weighted(Vec<Option<String>>),
}

/// Something a format cannot express or a file gets wrong, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Every error of a file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceErrors(pub Vec<SourceError>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{}:", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceErrors {}

/// The answer id of the option at `index`: a, b, ..., z, then aa, ab, ...
pub fn answer_id(index: usize) -> String {
    let letter = |i: usize| char::from(b'a' + (i % 26) as u8);
    if index < 26 {
        letter(index).to_string()
    } else {
        format!("{}{}", letter(index / 26 - 1), letter(index))
    }
}

/// Moves the decimal point of a plain decimal (`-12.5`) by `shift` places (negative:
/// to the left), as text, so that 33.33% becomes exactly `0.3333` and back. `None`
/// for anything that is not a plain decimal.
pub fn shift_decimal(raw: &str, shift: i32) -> Option<String> {
    let raw = raw.trim();
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw.strip_prefix('+').unwrap_or(raw)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let all: String = format!("{int}{frac}");
    let point = int.len() as i64 + i64::from(shift);
    let mut padded = all;
    let mut point = point;
    while point < 1 {
        padded.insert(0, '0');
        point += 1;
    }
    while (padded.len() as i64) < point {
        padded.push('0');
    }
    let (i, f) = padded.split_at(point as usize);
    let i = i.trim_start_matches('0');
    let f = f.trim_end_matches('0');
    let i = if i.is_empty() { "0" } else { i };
    let body = if f.is_empty() {
        i.to_owned()
    } else {
        format!("{i}.{f}")
    };
    Some(if negative && body != "0" {
        format!("-{body}")
    } else {
        body
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_ids_run_through_the_alphabet_and_then_double_up() {
        assert_eq!(answer_id(0), "a");
        assert_eq!(answer_id(2), "c");
        assert_eq!(answer_id(25), "z");
        assert_eq!(answer_id(26), "aa");
        assert_eq!(answer_id(27), "ab");
        assert_eq!(answer_id(52), "ba");
    }

    #[test]
    fn a_decimal_point_moves_as_text_both_ways() {
        for (raw, shift, want) in [
            ("50", -2, Some("0.5")),
            ("100", -2, Some("1")),
            ("-50", -2, Some("-0.5")),
            ("33.33", -2, Some("0.3333")),
            ("5", -2, Some("0.05")),
            ("0", -2, Some("0")),
            ("0.5", 2, Some("50")),
            ("-0.25", 2, Some("-25")),
            ("0.3333", 2, Some("33.33")),
            ("1", 2, Some("100")),
            ("0.001", 2, Some("0.1")),
            ("+20", -2, Some("0.2")),
            ("abc", -2, None),
            ("", -2, None),
            ("1e3", -2, None),
        ] {
            assert_eq!(
                shift_decimal(raw, shift).as_deref(),
                want,
                "{raw} by {shift}"
            );
        }
    }
}
