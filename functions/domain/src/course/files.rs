//! The course folder as files, and its problems: where each one is (file, line,
//! column and JSON path) and how one JSON file is checked value by value.

use crate::ids::IdError;
use crate::layout;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Per-test settings file inside a test folder (optional).
pub const TEST_SETTINGS: &str = "test.json";
/// Folder of the course that holds `<subject>/<testId>/` folders.
pub const SUBJECTS_DIR: &str = "subjects";

/// The course folder as read from disk: relative path (with `/`) to bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CourseFiles(pub BTreeMap<String, Vec<u8>>);

impl CourseFiles {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) one file.
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.0.insert(path.into(), bytes.into());
    }

    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        self.0.remove(path)
    }

    /// Whether a path inside the folder is one the course is made of, so a reader can
    /// skip everything else (`.git`, notes, editor files).
    pub fn is_course_path(path: &str) -> bool {
        let hidden = path.split('/').any(|seg| seg.starts_with('.'));
        !hidden && (path == layout::ROSTER || path.starts_with("subjects/"))
    }
}

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    /// JSON path of the value (`[1].answers[0].answerId`); empty for the whole document.
    pub path: String,
}

/// One thing wrong with the course folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path inside the course folder (a file, or a folder for a missing file).
    pub file: String,
    pub position: Option<Position>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.position {
            Some(p) if p.path.is_empty() => {
                write!(f, "{}:{}:{}: {}", self.file, p.line, p.column, self.message)
            }
            Some(p) => write!(
                f,
                "{}:{}:{}: {}: {}",
                self.file, p.line, p.column, p.path, self.message
            ),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "the course folder has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Line and column of every value of a JSON document, by path. Only called on text
/// that `serde_json` already accepted, so it can be forgiving.
fn locate(text: &str) -> HashMap<String, (usize, usize)> {
    struct Scanner<'a> {
        chars: std::iter::Peekable<std::str::Chars<'a>>,
        line: usize,
        column: usize,
        out: HashMap<String, (usize, usize)>,
    }
    impl Scanner<'_> {
        fn bump(&mut self) -> Option<char> {
            let c = self.chars.next()?;
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
            Some(c)
        }
        fn ws(&mut self) {
            while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
                self.bump();
            }
        }
        fn string(&mut self) -> String {
            let mut s = String::new();
            self.bump();
            while let Some(c) = self.bump() {
                match c {
                    '"' => break,
                    '\\' => {
                        if let Some(n) = self.bump() {
                            s.push(n);
                        }
                    }
                    c => s.push(c),
                }
            }
            s
        }
        fn value(&mut self, path: String, depth: usize) {
            self.ws();
            self.out.insert(path.clone(), (self.line, self.column));
            if depth > 64 {
                return;
            }
            match self.chars.peek() {
                Some('{') => {
                    self.bump();
                    loop {
                        self.ws();
                        if self.chars.peek() != Some(&'"') {
                            self.bump();
                            break;
                        }
                        let key = self.string();
                        self.ws();
                        self.bump();
                        self.value(format!("{path}.{key}"), depth + 1);
                        self.ws();
                        if self.bump() != Some(',') {
                            break;
                        }
                    }
                }
                Some('[') => {
                    self.bump();
                    self.ws();
                    if self.chars.peek() == Some(&']') {
                        self.bump();
                        return;
                    }
                    let mut i = 0;
                    loop {
                        self.value(format!("{path}[{i}]"), depth + 1);
                        self.ws();
                        if self.bump() != Some(',') {
                            break;
                        }
                        i += 1;
                    }
                }
                Some('"') => {
                    self.string();
                }
                _ => {
                    while self
                        .chars
                        .peek()
                        .is_some_and(|c| !matches!(c, ',' | ']' | '}') && !c.is_whitespace())
                    {
                        self.bump();
                    }
                }
            }
        }
    }
    let mut scanner = Scanner {
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
        out: HashMap::new(),
    };
    scanner.value(String::new(), 0);
    scanner.out
}

/// The field name among `known` that `unknown` looks like a misspelling of: the
/// same letters up to case, `_` and `-` (`studentId` for `student_id`), or one or
/// two letters off in a long enough name (`titel`, `subject`), but not `dueDate`.
pub fn did_you_mean<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    let plain = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let unknown = plain(unknown);
    known
        .iter()
        .map(|k| {
            let k_plain = plain(k);
            (edit_distance(&unknown, &k_plain), k_plain.len(), *k)
        })
        .filter(|(d, len, _)| *d <= 2 && d * 3 <= *len)
        .min_by_key(|(d, _, _)| *d)
        .map(|(_, _, k)| k)
}

/// Edits (insert, delete, replace, swap two neighbours) turning `a` into `b`.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut rows = vec![(0..=b.len()).collect::<Vec<_>>(); a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// Collects the problems of one JSON file.
pub(super) struct FileCheck<'p> {
    file: String,
    pub(super) positions: HashMap<String, (usize, usize)>,
    problems: &'p mut Vec<Problem>,
    /// Problems found in this file so far.
    pub(super) found: usize,
    /// Every field name the objects of this file know: a field not among them that
    /// looks like a missing one is reported as its misspelling.
    pub(super) fields: &'static [&'static str],
}

impl<'p> FileCheck<'p> {
    /// Parses the file; a syntax error is reported and gives `None`.
    pub(super) fn open(
        file: &str,
        bytes: &[u8],
        problems: &'p mut Vec<Problem>,
    ) -> (Option<Value>, FileCheck<'p>) {
        let mut check = FileCheck {
            file: file.to_owned(),
            positions: HashMap::new(),
            problems,
            found: 0,
            fields: &[],
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            check.report_plain("is not UTF-8 text");
            return (None, check);
        };
        match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                check.positions = locate(text);
                (Some(v), check)
            }
            Err(e) => {
                let full = e.to_string();
                let suffix = format!(" at line {} column {}", e.line(), e.column());
                let message = full.strip_suffix(&suffix).unwrap_or(&full);
                // serde_json counts bytes; editors (and `locate`) count characters.
                let column = text
                    .lines()
                    .nth(e.line().saturating_sub(1))
                    .and_then(|l| l.get(..e.column().saturating_sub(1)))
                    .map_or(e.column(), |before| before.chars().count() + 1);
                check.push(Problem {
                    file: file.to_owned(),
                    position: Some(Position {
                        line: e.line(),
                        column,
                        path: String::new(),
                    }),
                    message: format!("not valid JSON: {message}"),
                });
                (None, check)
            }
        }
    }

    fn push(&mut self, p: Problem) {
        self.found += 1;
        self.problems.push(p);
    }

    fn report_plain(&mut self, message: impl Into<String>) {
        let file = self.file.clone();
        self.push(Problem {
            file,
            position: None,
            message: message.into(),
        });
    }

    /// Reports at a JSON path (or the nearest enclosing value that has a position).
    pub(super) fn report(&mut self, path: &str, message: impl Into<String>) {
        let p = self.problem_at(path, message);
        self.push(p);
    }

    /// A problem at a JSON path of this file, not reported: for checks that can only
    /// be made later (against the roster, or the due a test is published with).
    pub(super) fn problem_at(&self, path: &str, message: impl Into<String>) -> Problem {
        let mut probe = path;
        let at = loop {
            if let Some(at) = self.positions.get(probe) {
                break Some(*at);
            }
            match probe.rfind(['.', '[']) {
                Some(i) => probe = &probe[..i],
                None => break self.positions.get("").copied(),
            }
        };
        let position = at.map(|(line, column)| Position {
            line,
            column,
            path: path.to_owned(),
        });
        Problem {
            file: self.file.clone(),
            position,
            message: message.into(),
        }
    }

    pub(super) fn array<'v>(
        &mut self,
        v: &'v Value,
        path: &str,
        what: &str,
    ) -> Option<&'v Vec<Value>> {
        match v.as_array() {
            Some(a) => Some(a),
            None => {
                self.report(path, format!("must be a JSON array of {what}"));
                None
            }
        }
    }

    pub(super) fn object<'v>(
        &mut self,
        v: &'v Value,
        path: &str,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match v.as_object() {
            Some(o) => Some(o),
            None => {
                self.report(path, format!("each {what} must be a JSON object"));
                None
            }
        }
    }

    /// The field of an object not known to this file that looks like `name`.
    fn misspelling_of<'v>(&self, obj: &'v Map<String, Value>, name: &str) -> Option<&'v str> {
        obj.keys()
            .map(String::as_str)
            .filter(|k| !self.fields.contains(k))
            .find(|k| did_you_mean(k, &[name]).is_some())
    }

    /// Reports a required field as missing, or the field that looks like its misspelling.
    pub(super) fn missing(&mut self, obj: &Map<String, Value>, path: &str, name: &str) {
        match self.misspelling_of(obj, name) {
            Some(found) => self.report(
                &format!("{path}.{found}"),
                format!("unknown field \"{found}\"; did you mean {name}?"),
            ),
            None => self.report(path, format!("missing field \"{name}\"")),
        }
    }

    /// Reports fields that look like misspellings of the optional `names` the object
    /// lacks (they would be kept as unknown fields, and the setting silently lost).
    pub(super) fn misspelt(&mut self, obj: &Map<String, Value>, path: &str, names: &[&str]) {
        for name in names.iter().filter(|n| !obj.contains_key(**n)) {
            if let Some(found) = self.misspelling_of(obj, name) {
                self.report(
                    &format!("{path}.{found}"),
                    format!("unknown field \"{found}\"; did you mean {name}?"),
                );
            }
        }
    }

    pub(super) fn string<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        path: &str,
        name: &str,
    ) -> Option<&'v str> {
        match obj.get(name) {
            None => {
                self.missing(obj, path, name);
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.report(
                    &format!("{path}.{name}"),
                    format!("\"{name}\" must be a string"),
                );
                None
            }
        }
    }

    pub(super) fn id<T>(
        &mut self,
        obj: &Map<String, Value>,
        path: &str,
        name: &str,
        parse: fn(String) -> Result<T, IdError>,
    ) -> Option<T> {
        let raw = self.string(obj, path, name)?;
        match parse(raw.to_owned()) {
            Ok(id) => Some(id),
            Err(e) => {
                self.report(&format!("{path}.{name}"), e.to_string());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_field_name_is_recognised_but_a_different_one_is_not() {
        let known = ["student_id", "email", "name", "subjects"];
        assert_eq!(did_you_mean("studentId", &known), Some("student_id"));
        assert_eq!(did_you_mean("Student-ID", &known), Some("student_id"));
        assert_eq!(did_you_mean("emial", &known), Some("email"));
        assert_eq!(did_you_mean("subject", &known), Some("subjects"));
        assert_eq!(did_you_mean("group", &known), None);
        let settings = ["title", "due", "publish"];
        assert_eq!(did_you_mean("titel", &settings), Some("title"));
        assert_eq!(did_you_mean("dueDate", &settings), None);
        assert_eq!(did_you_mean("do", &settings), None);
    }

    #[test]
    fn positions_point_at_the_offending_value() {
        let at = locate("[\n  {\"a\": 1,\n   \"b\": [true, \"x\"]}\n]");
        assert_eq!(at[""], (1, 1));
        assert_eq!(at["[0]"], (2, 3));
        assert_eq!(at["[0].a"], (2, 9));
        assert_eq!(at["[0].b[1]"], (3, 16));
    }

    #[test]
    fn columns_count_characters_in_syntax_errors_too() {
        let mut problems = Vec::new();
        FileCheck::open("q.json", "[\"zażółć\" x]".as_bytes(), &mut problems);
        assert_eq!(
            problems[0].to_string(),
            "q.json:1:11: not valid JSON: expected `,` or `]`"
        );
        let at = locate("[\"zażółć\", 1]");
        assert_eq!(at["[1]"], (1, 12));
    }
}
