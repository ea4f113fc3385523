//! The local outbox's `.eml` files as far as a student's data goes: the text of every
//! part decoded (7bit, 8bit, quoted-printable, base64), the lines that name a student
//! found (for an export) or taken out (for an erasure, e.g. their row in a trainer's
//! report and its grades.csv), and the message put back together with each changed
//! part in base64. Everything else of the message is kept byte for byte.

use base64::Engine;

/// What names a student: their id, email and name, matched without regard to case
/// and only as whole words (`student01` does not match `student010`).
#[derive(Debug, Clone)]
pub struct Needles(Vec<String>);

impl Needles {
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> Needles {
        Needles(
            terms
                .into_iter()
                .map(|t| t.trim().to_lowercase())
                .filter(|t| t.chars().count() >= 3)
                .collect(),
        )
    }

    /// Whether `line` names the student.
    pub fn in_line(&self, line: &str) -> bool {
        let lower = line.to_lowercase();
        self.0.iter().any(|needle| whole_word_in(&lower, needle))
    }
}

/// Characters that continue an id or an address: a match next to one is part of a
/// longer word.
fn word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+')
}

fn whole_word_in(haystack: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(i) = haystack[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = haystack[..start].chars().next_back();
        let after = haystack[end..].chars().next();
        // A trailing '.' ends a sentence rather than continuing an address.
        let after_ok = match after {
            None => true,
            Some('.') => haystack[end + 1..]
                .chars()
                .next()
                .is_none_or(|c| !word_char(c)),
            Some(c) => !word_char(c),
        };
        if before.is_none_or(|c| !word_char(c)) && after_ok {
            return true;
        }
        from = start + needle.len().max(1);
    }
    false
}

/// The decoded text lines of the message that name the student.
pub fn lines_naming(raw: &[u8], needles: &Needles) -> Vec<String> {
    let mut found = Vec::new();
    walk(raw, needles, false, &mut found);
    found
}

/// The message without the lines that name the student, or `None` when none does.
pub fn redact(raw: &[u8], needles: &Needles) -> Option<Vec<u8>> {
    let mut found = Vec::new();
    walk(raw, needles, true, &mut found)
}

/// Header block, the blank line after it, and the body.
fn split_entity(raw: &[u8]) -> (&[u8], &[u8], &[u8]) {
    for sep in [&b"\r\n\r\n"[..], &b"\n\n"[..]] {
        if let Some(i) = raw.windows(sep.len()).position(|w| w == sep) {
            return (&raw[..i], sep, &raw[i + sep.len()..]);
        }
    }
    (raw, b"", b"")
}

/// A header's value, continuation lines unfolded; `name` without the colon.
fn header(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.split('\n').map(|l| l.trim_end_matches('\r')) {
        match &mut value {
            Some(v) if line.starts_with([' ', '\t']) => {
                v.push(' ');
                v.push_str(line.trim());
            }
            Some(_) => break,
            None => {
                if let Some((n, v)) = line.split_once(':') {
                    if n.trim().eq_ignore_ascii_case(name) {
                        value = Some(v.trim().to_owned());
                    }
                }
            }
        }
    }
    value
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|param| {
        let (k, v) = param.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Processes one MIME entity; returns it rewritten when `redacting` and it changed.
fn walk(
    raw: &[u8],
    needles: &Needles,
    redacting: bool,
    found: &mut Vec<String>,
) -> Option<Vec<u8>> {
    let (head, sep, body) = split_entity(raw);
    let head_text = String::from_utf8_lossy(head);
    let content_type = header(&head_text, "Content-Type")
        .unwrap_or_else(|| "text/plain".to_owned())
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        let boundary = boundary(&header(&head_text, "Content-Type")?)?;
        let delimiter = format!("--{boundary}");
        let chunks = split_on(body, delimiter.as_bytes());
        let mut changed = false;
        let mut rebuilt: Vec<Vec<u8>> = Vec::with_capacity(chunks.len());
        for (i, chunk) in chunks.iter().enumerate() {
            // The preamble, and the close delimiter's "--" with the epilogue, stay.
            let is_part = i > 0 && !chunk.starts_with(b"--");
            let inner = is_part.then(|| trim_line_breaks(chunk));
            match inner.and_then(|(lead, part, tail)| {
                walk(part, needles, redacting, found).map(|new| (lead, new, tail))
            }) {
                Some((lead, new, tail)) => {
                    changed = true;
                    rebuilt.push([lead, &new[..], tail].concat());
                }
                None => rebuilt.push(chunk.to_vec()),
            }
        }
        if !changed {
            return None;
        }
        let mut out = [head, sep].concat();
        out.extend_from_slice(&rebuilt.join(delimiter.as_bytes()));
        return Some(out);
    }
    if !content_type.starts_with("text/") {
        return None;
    }
    let encoding = header(&head_text, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let decoded = match encoding.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(
                body.iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect::<Vec<u8>>(),
            )
            .ok()?,
        "quoted-printable" => quoted_printable(body),
        _ => body.to_vec(),
    };
    let text = String::from_utf8_lossy(&decoded);
    let mut kept = Vec::new();
    let mut dropped = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if needles.in_line(bare) {
            found.push(bare.to_owned());
            dropped = true;
        } else {
            kept.push(line);
        }
    }
    if !redacting || !dropped {
        return None;
    }
    let newline = if head_text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut out = without_header(&head_text, "Content-Transfer-Encoding");
    out.push_str(newline);
    out.push_str("Content-Transfer-Encoding: base64");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(sep);
    let encoded = base64::engine::general_purpose::STANDARD.encode(kept.concat().as_bytes());
    for line in encoded.as_bytes().chunks(76) {
        bytes.extend_from_slice(line);
        bytes.extend_from_slice(newline.as_bytes());
    }
    Some(bytes)
}

/// The header block without one header (and its continuation lines).
fn without_header(head: &str, name: &str) -> String {
    let newline = if head.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines = Vec::new();
    let mut skipping = false;
    for line in head.split(newline) {
        if skipping && line.starts_with([' ', '\t']) {
            continue;
        }
        skipping = line
            .split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name));
        if !skipping {
            lines.push(line);
        }
    }
    lines.join(newline)
}

/// Splits at every occurrence of `delimiter` that starts a line.
fn split_on<'a>(body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delimiter.len() <= body.len() {
        let at_line_start = i == 0 || body[i - 1] == b'\n';
        if at_line_start && body[i..].starts_with(delimiter) {
            chunks.push(&body[start..i]);
            i += delimiter.len();
            start = i;
        } else {
            i += 1;
        }
    }
    chunks.push(&body[start..]);
    chunks
}

/// A part between two delimiters: the line break after the delimiter, the part,
/// and the line break before the next one.
fn trim_line_breaks(chunk: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let lead = if chunk.starts_with(b"\r\n") {
        2
    } else if chunk.starts_with(b"\n") {
        1
    } else {
        0
    };
    let rest = &chunk[lead..];
    let tail = if rest.ends_with(b"\r\n") {
        2
    } else if rest.ends_with(b"\n") {
        1
    } else {
        0
    };
    (
        &chunk[..lead],
        &rest[..rest.len() - tail],
        &rest[rest.len() - tail..],
    )
}

fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            // Soft line break.
            if body[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if body[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = body
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(body[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "From: scorer@example.org\r\nTo: trainer@example.org\r\nSubject: report\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n boundary=\"OUTER\"\r\n\r\n\
--OUTER\r\nContent-Type: multipart/alternative;\r\n boundary=\"INNER\"\r\n\r\n\
--INNER\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
=3D=3D os / t1\r\nGrades\r\n  os  t1  student01  5/5  5/5\r\n  os  t1  student010  1/5  1/5\r\n\
Missing: student02  student02@example.org\r\nA very long line that quoted-printable folds with a s=\r\noft break\r\n\
--INNER\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
<tr><td>student01</td><td>5</td></tr>\r\n<tr><td>student010</td><td>1</td></tr>\r\n\
--INNER--\r\n\r\n--OUTER\r\nContent-Disposition: attachment; filename=\"grades.csv\"\r\n\
Content-Type: text/csv; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
student,email,grade\r\nstudent01,student01@example.org,5\r\nstudent010,s10@example.org,1\r\n\r\n--OUTER--\r\n";

    fn student01() -> Needles {
        Needles::new(["student01", "student01@example.org"])
    }

    #[test]
    fn the_lines_naming_a_student_are_found_in_every_decoded_part() {
        let lines = lines_naming(REPORT.as_bytes(), &student01());
        assert_eq!(
            lines,
            [
                "  os  t1  student01  5/5  5/5",
                "<tr><td>student01</td><td>5</td></tr>",
                "student01,student01@example.org,5",
            ]
        );
    }

    #[test]
    fn a_redacted_report_keeps_everyone_else_and_its_structure() {
        let redacted = redact(REPORT.as_bytes(), &student01()).expect("student01 is named");
        assert!(lines_naming(&redacted, &student01()).is_empty());
        let text = String::from_utf8(redacted.clone()).unwrap();
        assert!(!text.contains("student01,"), "{text}");
        let student010 = Needles::new(["student010"]);
        assert_eq!(lines_naming(&redacted, &student010).len(), 3, "{text}");
        let student02 = Needles::new(["student02"]);
        assert_eq!(
            lines_naming(&redacted, &student02),
            ["Missing: student02  student02@example.org"]
        );
        assert!(text.starts_with("From: scorer@example.org\r\n"), "{text}");
        assert!(text.contains("boundary=\"INNER\""), "{text}");
        assert!(text.trim_end().ends_with("--OUTER--"), "{text}");
        assert!(
            lines_naming(&redacted, &Needles::new(["soft break"]))
                .iter()
                .any(|l| l.ends_with("with a soft break")),
            "quoted-printable soft breaks are joined"
        );
        assert_eq!(
            redact(&redacted, &student01()),
            None,
            "nothing left to take out"
        );
    }

    #[test]
    fn names_match_whole_words_only_and_ignore_case() {
        let n = Needles::new(["student01", "Anna Kowalska", "a@b.example"]);
        assert!(n.in_line("Grade of STUDENT01: 5"));
        assert!(n.in_line("anna kowalska, 5"));
        assert!(n.in_line("mail a@b.example."));
        assert!(!n.in_line("student010 5"));
        assert!(!n.in_line("xstudent01"));
        assert!(!n.in_line("ba@b.example"));
    }
}
