//! The Aiken format: a question line, options `A. ` or `A) ` in letter order, and
//! `ANSWER: B`. Single-answer only, like the format itself.

use super::model::{Bank, Item, Key, SourceError, SourceErrors};

/// A question being read.
#[derive(Default)]
struct Open {
    line: usize,
    text: Vec<String>,
    options: Vec<String>,
}

/// Parses an Aiken file; every error at once.
pub fn parse(text: &str) -> Result<Bank, SourceErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut errors = Vec::new();
    let mut questions = Vec::new();
    let mut open: Option<Open> = None;
    let err = |line: usize, column: usize, message: String| SourceError {
        line,
        column,
        message,
    };
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let indent = raw.len() - raw.trim_start().len();
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let column = indent + 1;
        if let Some(letter) = answer_line(trimmed) {
            let Some(q) = open.take() else {
                errors.push(err(line, column, "ANSWER: without a question".to_owned()));
                continue;
            };
            let index = letter.map(|l| usize::from(l as u8 - b'A'));
            match index {
                _ if q.options.len() < 2 => errors.push(err(
                    q.line,
                    1,
                    format!(
                        "the question has {} option(s); it needs at least 2",
                        q.options.len()
                    ),
                )),
                Some(i) if i < q.options.len() => questions.push(Item {
                    text: q.text.join("\n"),
                    options: q.options,
                    key: Key::Single(i),
                }),
                _ => errors.push(err(
                    line,
                    // At the letter (or where it should be).
                    column + trimmed.len() - trimmed["ANSWER:".len()..].trim_start().len(),
                    format!(
                        "the answer must be one of the option letters A..{}",
                        char::from(b'A' + q.options.len() as u8 - 1)
                    ),
                )),
            }
            continue;
        }
        let q = open.get_or_insert_with(|| Open {
            line,
            ..Open::default()
        });
        match option_line(trimmed) {
            Some((letter, body)) if !q.text.is_empty() => {
                let expected = char::from(b'A' + (q.options.len() % 26) as u8);
                if letter != expected {
                    errors.push(err(
                        line,
                        column,
                        format!("option {letter} where {expected} was expected"),
                    ));
                } else if body.is_empty() {
                    errors.push(err(line, column, format!("option {letter} is empty")));
                }
                q.options.push(body.to_owned());
            }
            _ if !q.options.is_empty() => {
                errors.push(err(
                    line,
                    column,
                    "expected the next option (\"C. ...\") or \"ANSWER: X\"".to_owned(),
                ));
            }
            _ => q.text.push(trimmed.to_owned()),
        }
    }
    if let Some(q) = open {
        errors.push(err(
            q.line,
            1,
            "the question has no \"ANSWER: X\" line".to_owned(),
        ));
    }
    if questions.is_empty() && errors.is_empty() {
        errors.push(err(1, 1, "no questions found".to_owned()));
    }
    if errors.is_empty() {
        Ok(Bank { questions })
    } else {
        Err(SourceErrors(errors))
    }
}

/// `ANSWER: B`: `Some(Some('B'))`; `Some(None)` when the letter is missing or not one.
fn answer_line(line: &str) -> Option<Option<char>> {
    let rest = line.strip_prefix("ANSWER:")?.trim();
    let mut chars = rest.chars();
    Some(match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_uppercase() => Some(c),
        _ => None,
    })
}

/// `A. text` or `A) text`.
fn option_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let letter = chars.next().filter(|c| c.is_ascii_uppercase())?;
    let rest = chars.as_str();
    let body = rest
        .strip_prefix(". ")
        .or_else(|| rest.strip_prefix(") "))?;
    Some((letter, body.trim()))
}
