//! The trainer's course folder: parsing and validation (every problem at once, with
//! file and position), and publishing it to the store (plan, then apply).
//!
//! File I/O stays outside: the caller reads the folder into [`CourseFiles`] and this
//! module decides what it means and what has to change in the store.

use crate::deadline::{display_in, local_to_utc, next_deadline, DEADLINE_HOUR};
use crate::ids::{AnswerId, IdError, QuestionId, StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey};
use crate::model::{AnswerOption, Catalog, KeyEntry, Question, Roster, Student, TestMeta};
use crate::ports::{ObjectStore, StoreError};
use crate::scoring::results::TestResults;
use crate::store_json;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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

// ---------------------------------------------------------------------------
// Problems

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

/// Collects the problems of one JSON file.
struct FileCheck<'p> {
    file: String,
    positions: HashMap<String, (usize, usize)>,
    problems: &'p mut Vec<Problem>,
    found: usize,
}

impl<'p> FileCheck<'p> {
    /// Parses the file; a syntax error is reported and gives `None`.
    fn open(
        file: &str,
        bytes: &[u8],
        problems: &'p mut Vec<Problem>,
    ) -> (Option<Value>, FileCheck<'p>) {
        let mut check = FileCheck {
            file: file.to_owned(),
            positions: HashMap::new(),
            problems,
            found: 0,
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
    fn report(&mut self, path: &str, message: impl Into<String>) {
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
        let file = self.file.clone();
        self.push(Problem {
            file,
            position,
            message: message.into(),
        });
    }

    fn array<'v>(&mut self, v: &'v Value, path: &str, what: &str) -> Option<&'v Vec<Value>> {
        match v.as_array() {
            Some(a) => Some(a),
            None => {
                self.report(path, format!("must be a JSON array of {what}"));
                None
            }
        }
    }

    fn object<'v>(
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

    fn string<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        path: &str,
        name: &str,
    ) -> Option<&'v str> {
        match obj.get(name) {
            None => {
                self.report(path, format!("missing field \"{name}\""));
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

    fn id<T>(
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

// ---------------------------------------------------------------------------
// The parsed course

/// One test folder.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseTest {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub title: String,
    /// Due date from `test.json`, when given.
    pub due: Option<DateTime<Utc>>,
    /// `false` keeps the test as a draft (or withdraws it).
    pub publish: bool,
    pub questions: Vec<Question>,
    pub key: Vec<KeyEntry>,
    /// Where `due` was written, for problems found when publishing.
    due_position: Option<Problem>,
}

impl CourseTest {
    pub fn name(&self) -> String {
        format!("{}/{}", self.subject, self.test_id)
    }
}

/// A valid course folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    pub roster: Roster,
    /// Sorted by subject, then test id.
    pub tests: Vec<CourseTest>,
}

impl Course {
    pub fn test(&self, subject: &SubjectName, test: &TestId) -> Option<&CourseTest> {
        self.tests
            .iter()
            .find(|t| &t.subject == subject && &t.test_id == test)
    }

    /// Due dates given in `test.json` that are not in the future. They are errors only
    /// when a test is first published or its due date changes (see [`plan`]); without a
    /// store to compare with they are worth a warning.
    pub fn due_dates_not_after(&self, now: DateTime<Utc>, tz: Tz) -> Vec<Problem> {
        self.tests
            .iter()
            .filter(|t| t.publish)
            .filter_map(|t| {
                let due = t.due?;
                (due <= now).then(|| past_due_problem(t, due, now, tz))
            })
            .collect()
    }
}

fn past_due_problem(test: &CourseTest, due: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> Problem {
    let mut p = test.due_position.clone().unwrap_or_else(|| Problem {
        file: format!(
            "{SUBJECTS_DIR}/{}/{}/{TEST_SETTINGS}",
            test.subject, test.test_id
        ),
        position: None,
        message: String::new(),
    });
    p.message = format!(
        "due date {} is not in the future (now {}); a test can only be published or moved to a future due date",
        display_in(due, tz),
        display_in(now, tz)
    );
    p
}

/// Parses a due date: RFC 3339, or a wall-clock time in the trainer's zone
/// (`2026-11-30 23:00`), or a date alone (that day at the usual deadline hour).
pub fn parse_due(raw: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(local_to_utc(tz, t.date(), t.time()));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let at = NaiveTime::from_hms_opt(DEADLINE_HOUR, 0, 0).unwrap_or(NaiveTime::MIN);
        return Ok(local_to_utc(tz, d, at));
    }
    Err(format!(
        "due {raw:?} is not a date; write \"2026-11-30 23:00\" (the trainer's time zone) or RFC 3339 such as \"2026-11-30T23:00:00+01:00\""
    ))
}

/// A plausible email address: one `@`, something before it, a dotted domain after it,
/// no spaces. Delivery is the real test; this catches typos.
pub fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.chars().all(|c| c.is_ascii_graphic() || !c.is_ascii())
        && !s.chars().any(char::is_whitespace)
}

/// Parses and checks the whole course folder, reporting every problem at once.
pub fn parse(files: &CourseFiles, tz: Tz) -> Result<Course, Problems> {
    let mut problems = Vec::new();

    // Group the test folders first, so a missing file is reported once per folder.
    let mut folders: BTreeMap<(String, String), BTreeMap<String, &[u8]>> = BTreeMap::new();
    for (path, bytes) in &files.0 {
        if !CourseFiles::is_course_path(path) || path == layout::ROSTER {
            continue;
        }
        let parts: Vec<&str> = path.split('/').collect();
        if let [_, subject, test, file] = parts.as_slice() {
            folders
                .entry(((*subject).to_owned(), (*test).to_owned()))
                .or_default()
                .insert((*file).to_owned(), bytes);
        }
    }

    let mut known_subjects = BTreeSet::new();
    let mut tests = Vec::new();
    let mut bad_subjects = BTreeSet::new();
    for ((subject_raw, test_raw), folder_files) in &folders {
        let folder = format!("{SUBJECTS_DIR}/{subject_raw}/{test_raw}");
        let subject = match SubjectName::parse(subject_raw.as_str()) {
            Ok(s) => Some(s),
            Err(e) => {
                if bad_subjects.insert(subject_raw.clone()) {
                    problems.push(Problem {
                        file: format!("{SUBJECTS_DIR}/{subject_raw}"),
                        position: None,
                        message: format!("folder name is not a valid subject name: {e}"),
                    });
                }
                None
            }
        };
        let test_id = match TestId::parse(test_raw.as_str()) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(Problem {
                    file: folder.clone(),
                    position: None,
                    message: format!("folder name is not a valid test id: {e}"),
                });
                None
            }
        };
        if let Some(s) = &subject {
            known_subjects.insert(s.clone());
        }
        for name in folder_files.keys() {
            let known =
                [layout::QUESTIONS, layout::ANSWER_KEY, TEST_SETTINGS].contains(&name.as_str());
            if !known && name.ends_with(".json") {
                problems.push(Problem {
                    file: format!("{folder}/{name}"),
                    position: None,
                    message: format!(
                        "unexpected file; a test folder holds {}, {} and optionally {TEST_SETTINGS}",
                        layout::QUESTIONS,
                        layout::ANSWER_KEY
                    ),
                });
            }
        }
        let questions = match folder_files.get(layout::QUESTIONS) {
            Some(bytes) => parse_questions(
                &format!("{folder}/{}", layout::QUESTIONS),
                bytes,
                &mut problems,
            ),
            None => {
                problems.push(Problem {
                    file: folder.clone(),
                    position: None,
                    message: format!("missing {}", layout::QUESTIONS),
                });
                None
            }
        };
        let key = match folder_files.get(layout::ANSWER_KEY) {
            Some(bytes) => parse_key(
                &format!("{folder}/{}", layout::ANSWER_KEY),
                bytes,
                questions.as_deref(),
                &mut problems,
            ),
            None => {
                problems.push(Problem {
                    file: folder.clone(),
                    position: None,
                    message: format!("missing {}", layout::ANSWER_KEY),
                });
                None
            }
        };
        let settings = match folder_files.get(TEST_SETTINGS) {
            Some(bytes) => parse_settings(
                &format!("{folder}/{TEST_SETTINGS}"),
                bytes,
                tz,
                &mut problems,
            ),
            None => Some(Settings {
                publish: true,
                ..Settings::default()
            }),
        };
        if let (Some(subject), Some(test_id), Some(questions), Some(key), Some(settings)) =
            (subject, test_id, questions, key, settings)
        {
            let title = settings.title.unwrap_or_else(|| test_id.to_string());
            tests.push(CourseTest {
                subject,
                test_id,
                title,
                due: settings.due,
                publish: settings.publish,
                questions,
                key,
                due_position: settings.due_position,
            });
        }
    }

    let roster = match files.0.get(layout::ROSTER) {
        Some(bytes) => parse_roster(layout::ROSTER, bytes, &known_subjects, &mut problems),
        None => {
            problems.push(Problem {
                file: layout::ROSTER.to_owned(),
                position: None,
                message: "missing: the course folder needs the roster (a JSON array of {\"student_id\", \"email\"})"
                    .to_owned(),
            });
            None
        }
    };

    match roster {
        Some(roster) if problems.is_empty() => Ok(Course { roster, tests }),
        _ => Err(Problems(problems)),
    }
}

fn parse_questions(file: &str, bytes: &[u8], problems: &mut Vec<Problem>) -> Option<Vec<Question>> {
    let (value, mut c) = FileCheck::open(file, bytes, problems);
    let value = value?;
    let items = c.array(&value, "", "questions")?;
    if items.is_empty() {
        c.report("", "the test has no questions");
    }
    let mut out = Vec::new();
    let mut first_at: HashMap<QuestionId, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("[{i}]");
        let Some(obj) = c.object(item, &path, "question") else {
            continue;
        };
        let id = c.id(obj, &path, "questionId", QuestionId::parse);
        if let Some(id) = &id {
            if let Some(first) = first_at.get(id) {
                c.report(
                    &format!("{path}.questionId"),
                    format!("questionId \"{id}\" is used twice (first at [{first}])"),
                );
            } else {
                first_at.insert(id.clone(), i);
            }
        }
        let text = c.string(obj, &path, "question");
        if text.is_some_and(|t| t.trim().is_empty()) {
            c.report(&format!("{path}.question"), "the question text is empty");
        }
        let shown = id
            .as_ref()
            .map_or_else(|| format!("at [{i}]"), |id| format!("\"{id}\""));
        let answers = match obj.get("answers") {
            None => {
                c.report(&path, "missing field \"answers\"");
                None
            }
            Some(v) => c.array(v, &format!("{path}.answers"), "answers"),
        };
        let mut options = Vec::new();
        if let Some(answers) = answers {
            if answers.len() < 2 {
                c.report(
                    &format!("{path}.answers"),
                    format!(
                        "question {shown} has {} answer(s); it needs at least 2",
                        answers.len()
                    ),
                );
            }
            let mut seen: HashMap<AnswerId, usize> = HashMap::new();
            for (j, answer) in answers.iter().enumerate() {
                let apath = format!("{path}.answers[{j}]");
                let Some(aobj) = c.object(answer, &apath, "answer") else {
                    continue;
                };
                let aid = c.id(aobj, &apath, "answerId", AnswerId::parse);
                let body = c.string(aobj, &apath, "answerBody");
                if let Some(aid) = aid {
                    if let Some(first) = seen.get(&aid) {
                        c.report(
                            &format!("{apath}.answerId"),
                            format!("answerId \"{aid}\" is used twice in question {shown} (first at answers[{first}])"),
                        );
                    } else {
                        seen.insert(aid.clone(), j);
                        if let Some(body) = body {
                            options.push(AnswerOption {
                                answer_id: aid,
                                answer_body: body.to_owned(),
                            });
                        }
                    }
                }
            }
        }
        if let (Some(question_id), Some(question)) = (id, text) {
            out.push(Question {
                question_id,
                question: question.to_owned(),
                answers: options,
            });
        }
    }
    (c.found == 0).then_some(out)
}

fn parse_key(
    file: &str,
    bytes: &[u8],
    questions: Option<&[Question]>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<KeyEntry>> {
    let (value, mut c) = FileCheck::open(file, bytes, problems);
    let value = value?;
    let items = c.array(&value, "", "key entries")?;
    let mut out = Vec::new();
    let mut first_at: HashMap<QuestionId, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("[{i}]");
        let Some(obj) = c.object(item, &path, "key entry") else {
            continue;
        };
        let id = c.id(obj, &path, "questionId", QuestionId::parse);
        let answer = c.id(obj, &path, "answer", AnswerId::parse);
        let Some(id) = id else { continue };
        if let Some(first) = first_at.get(&id) {
            c.report(
                &format!("{path}.questionId"),
                format!("question \"{id}\" has more than one key entry (first at [{first}])"),
            );
            continue;
        }
        first_at.insert(id.clone(), i);
        if let Some(questions) = questions {
            match questions.iter().find(|q| q.question_id == id) {
                None => c.report(
                    &format!("{path}.questionId"),
                    format!("question \"{id}\" is not in {}", layout::QUESTIONS),
                ),
                Some(q) => {
                    if let Some(answer) = &answer {
                        if !q.has_answer(answer) {
                            let options: Vec<&str> =
                                q.answers.iter().map(|a| a.answer_id.as_str()).collect();
                            c.report(
                                &format!("{path}.answer"),
                                format!(
                                    "answer \"{answer}\" is not an option of question \"{id}\" (options: {})",
                                    options.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
        }
        if let Some(answer) = answer {
            out.push(KeyEntry {
                question_id: id,
                answer,
            });
        }
    }
    if let Some(questions) = questions {
        for q in questions {
            if !first_at.contains_key(&q.question_id) {
                c.report(
                    "",
                    format!("question \"{}\" has no key entry", q.question_id),
                );
            }
        }
    }
    (c.found == 0 && questions.is_some()).then_some(out)
}

#[derive(Debug, Default)]
struct Settings {
    title: Option<String>,
    due: Option<DateTime<Utc>>,
    due_position: Option<Problem>,
    publish: bool,
}

fn parse_settings(
    file: &str,
    bytes: &[u8],
    tz: Tz,
    problems: &mut Vec<Problem>,
) -> Option<Settings> {
    let (value, mut c) = FileCheck::open(file, bytes, problems);
    let value = value?;
    let Some(obj) = value.as_object() else {
        c.report("", "must be a JSON object such as {\"title\": \"...\", \"due\": \"2026-11-30 23:00\", \"publish\": true}");
        return None;
    };
    let mut settings = Settings {
        publish: true,
        ..Settings::default()
    };
    for (name, v) in obj {
        let path = format!(".{name}");
        match (name.as_str(), v) {
            ("title", Value::String(t)) if t.trim().is_empty() => {
                c.report(&path, "the title is empty")
            }
            ("title", Value::String(t)) => settings.title = Some(t.trim().to_owned()),
            ("due", Value::String(d)) => match parse_due(d, tz) {
                Ok(t) => {
                    settings.due = Some(t);
                    let (line, column) = c.positions.get(&path).copied().unwrap_or((1, 1));
                    settings.due_position = Some(Problem {
                        file: file.to_owned(),
                        position: Some(Position {
                            line,
                            column,
                            path: path.clone(),
                        }),
                        message: String::new(),
                    });
                }
                Err(e) => c.report(&path, e),
            },
            ("publish", Value::Bool(b)) => settings.publish = *b,
            ("title" | "due", _) => c.report(&path, format!("\"{name}\" must be a string")),
            ("publish", _) => c.report(&path, "\"publish\" must be true or false"),
            _ => c.report(
                &path,
                format!("unknown field \"{name}\" ({TEST_SETTINGS} knows title, due and publish)"),
            ),
        }
    }
    (c.found == 0).then_some(settings)
}

fn parse_roster(
    file: &str,
    bytes: &[u8],
    subjects: &BTreeSet<SubjectName>,
    problems: &mut Vec<Problem>,
) -> Option<Roster> {
    let (value, mut c) = FileCheck::open(file, bytes, problems);
    let value = value?;
    let items = c.array(&value, "", "students")?;
    let mut out = Vec::new();
    let mut ids: HashMap<StudentId, usize> = HashMap::new();
    let mut emails: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("[{i}]");
        let Some(obj) = c.object(item, &path, "student") else {
            continue;
        };
        let before = c.found;
        if let Some(id) = c.id(obj, &path, "student_id", StudentId::parse) {
            if let Some(first) = ids.get(&id) {
                c.report(
                    &format!("{path}.student_id"),
                    format!("student_id \"{id}\" is used twice (first at [{first}])"),
                );
            } else {
                ids.insert(id, i);
            }
        }
        if let Some(email) = c.string(obj, &path, "email") {
            if !is_plausible_email(email) {
                c.report(
                    &format!("{path}.email"),
                    format!("email {email:?} is not a valid address"),
                );
            } else if let Some(first) = emails.get(&email.to_ascii_lowercase()) {
                c.report(
                    &format!("{path}.email"),
                    format!("email \"{email}\" is used twice (first at [{first}])"),
                );
            } else {
                emails.insert(email.to_ascii_lowercase(), i);
            }
        }
        match obj.get("name") {
            None | Some(Value::String(_)) | Some(Value::Null) => {}
            Some(_) => c.report(&format!("{path}.name"), "\"name\" must be a string"),
        }
        match obj.get("subjects") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (j, s) in list.iter().enumerate() {
                    let spath = format!("{path}.subjects[{j}]");
                    match s.as_str().map(SubjectName::parse) {
                        None => c.report(&spath, "each subject must be a string"),
                        Some(Err(e)) => c.report(&spath, e.to_string()),
                        Some(Ok(s)) if !subjects.contains(&s) => c.report(
                            &spath,
                            format!("subject \"{s}\" is not a subject of this course"),
                        ),
                        Some(Ok(_)) => {}
                    }
                }
            }
            Some(_) => c.report(
                &format!("{path}.subjects"),
                "\"subjects\" must be an array of subject names",
            ),
        }
        if c.found == before {
            match serde_json::from_value::<Student>(item.clone()) {
                Ok(s) => out.push(s),
                Err(e) => c.report(&path, e.to_string()),
            }
        }
    }
    (c.found == 0).then_some(Roster(out))
}

// ---------------------------------------------------------------------------
// Publishing: what is in the store, the plan, applying it

/// Options of a sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Allow changing the answer key of scored tests; marks them for rescoring.
    pub rescore: bool,
    /// Compute and report the plan only.
    pub dry_run: bool,
}

/// What the store holds about one test.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredTest {
    pub questions: Option<Vec<Question>>,
    pub key: Option<Vec<KeyEntry>>,
    /// Number of results already scored (in the test's results object).
    pub scored: usize,
}

/// What the store holds that a sync compares with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    pub catalog: Catalog,
    pub roster: Option<Roster>,
    pub tests: BTreeMap<(SubjectName, TestId), StoredTest>,
}

/// Where the marker asking the scorer to score a test again lives (the scorer's
/// ledger owns the name; this is the one place sync takes it from).
pub fn rescore_marker(subject: &SubjectName, test: &TestId) -> Result<ObjectKey, StoreError> {
    crate::scoring::ledger::rescore_marker(subject, test)
}

/// Reads what a sync needs to compare: the catalog, the roster and, for every test
/// in the catalog or the course, its stored questions, key and scored results.
pub async fn load_published(
    store: &(impl ObjectStore + ?Sized),
    course: Option<&Course>,
) -> Result<Published, StoreError> {
    let catalog: Catalog = store_json::read(store, &layout::catalog())
        .await?
        .unwrap_or_default();
    let roster: Option<Roster> = store_json::read(store, &layout::roster()).await?;
    let mut names: BTreeSet<(SubjectName, TestId)> = catalog
        .tests
        .iter()
        .map(|t| (t.subject.clone(), t.test_id.clone()))
        .collect();
    if let Some(course) = course {
        names.extend(
            course
                .tests
                .iter()
                .map(|t| (t.subject.clone(), t.test_id.clone())),
        );
    }
    let mut tests = BTreeMap::new();
    for (subject, test) in names {
        // A stored file that no longer parses counts as different, so sync rewrites it.
        let questions = store
            .get(&layout::questions(&subject, &test))
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let key = store
            .get(&layout::answer_key(&subject, &test))
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let scored = TestResults::load(store, &subject, &test)
            .await?
            .map_or(0, |r| r.scores.len());
        tests.insert(
            (subject, test),
            StoredTest {
                questions,
                key,
                scored,
            },
        );
    }
    Ok(Published {
        catalog,
        roster,
        tests,
    })
}

/// Why a test leaves the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withdrawal {
    /// `test.json` says `"publish": false`.
    Draft,
    /// The folder is gone from the course.
    Gone,
}

/// One change to a published test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestChange {
    Questions,
    AnswerKey {
        rescore: bool,
    },
    Title {
        old: String,
        new: String,
    },
    Due {
        old: DateTime<Utc>,
        new: DateTime<Utc>,
    },
}

/// What happens to one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestAction {
    Publish {
        title: String,
        due_at: DateTime<Utc>,
    },
    Update(Vec<TestChange>),
    Withdraw(Withdrawal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPlan {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub action: TestAction,
}

/// What happens to one student of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudentAction {
    Add { email: String },
    Change { fields: Vec<&'static str> },
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentPlan {
    pub student_id: StudentId,
    pub action: StudentAction,
}

/// The changes a sync makes, and the writes that make them.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub tests: Vec<TestPlan>,
    pub students: Vec<StudentPlan>,
    pub unchanged_tests: usize,
    pub unchanged_students: usize,
    /// Writes in the order they must happen: test content, rescore markers, catalog, roster.
    pub writes: Vec<(ObjectKey, Vec<u8>)>,
    time_zone: Tz,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tz = self.time_zone;
        if self.tests.is_empty() && self.students.is_empty() && self.writes.is_empty() {
            return write!(
                f,
                "Nothing to change: {} test(s) and {} student(s) are up to date.",
                self.unchanged_tests, self.unchanged_students
            );
        }
        writeln!(f, "Plan:")?;
        for t in &self.tests {
            let name = format!("{}/{}", t.subject, t.test_id);
            match &t.action {
                TestAction::Publish { title, due_at } => {
                    writeln!(f, "  publish   {name} \"{title}\", due {}", display_in(*due_at, tz))?
                }
                TestAction::Update(changes) => {
                    let what = join(changes.iter().map(|c| match c {
                        TestChange::Questions => "questions changed".to_owned(),
                        TestChange::AnswerKey { rescore: true } => {
                            "answer key changed (scored results will be rescored)".to_owned()
                        }
                        TestChange::AnswerKey { rescore: false } => "answer key changed".to_owned(),
                        TestChange::Title { old, new } => format!("title \"{old}\" -> \"{new}\""),
                        TestChange::Due { old, new } => {
                            format!("due {} -> {}", display_in(*old, tz), display_in(*new, tz))
                        }
                    }));
                    writeln!(f, "  update    {name}: {what}")?
                }
                TestAction::Withdraw(Withdrawal::Draft) => writeln!(
                    f,
                    "  withdraw  {name} (\"publish\": false in {TEST_SETTINGS}; submissions are kept)"
                )?,
                TestAction::Withdraw(Withdrawal::Gone) => {
                    writeln!(f, "  withdraw  {name} (no longer in the course folder; submissions are kept)")?
                }
            }
        }
        for s in &self.students {
            let id = &s.student_id;
            match &s.action {
                StudentAction::Add { email } => writeln!(f, "  add       student {id} <{email}>")?,
                StudentAction::Change { fields } => writeln!(f, "  update    student {id}: {} changed", join(fields))?,
                StudentAction::Remove => writeln!(
                    f,
                    "  remove    student {id} (keys and submissions are kept; erase them with `student erase`)"
                )?,
            }
        }
        write!(
            f,
            "Unchanged: {} test(s), {} student(s). Objects to write: {}.",
            self.unchanged_tests,
            self.unchanged_students,
            self.writes.len()
        )
    }
}

/// The outcome of a sync: the plan and whether it was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncReport {
    pub plan: Plan,
    /// False for a dry run.
    pub applied: bool,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.plan)?;
        if self.plan.is_empty() {
            Ok(())
        } else if self.applied {
            write!(f, "\nDone: {} object(s) written.", self.plan.writes.len())
        } else {
            write!(f, "\nDry run: nothing was written.")
        }
    }
}

/// Why a course could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Invalid(Problems),
    #[error(
        "the answer key changed for {} which already {} scored results; nothing was written. \
         Run the sync again with --rescore to rescore them (students whose result changes get a new email), \
         or restore the old key",
        join(.0.iter().map(|(s, t, _)| format!("{s}/{t}"))),
        if .0.len() == 1 { "has" } else { "have" }
    )]
    ScoredKeyChanged(Vec<(SubjectName, TestId, usize)>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not encode {0}: {1}")]
    Encode(String, serde_json::Error),
}

fn to_json<T: serde::Serialize>(what: &ObjectKey, value: &T) -> Result<Vec<u8>, PublishError> {
    serde_json::to_vec_pretty(value).map_err(|e| PublishError::Encode(what.to_string(), e))
}

fn sorted_key(key: &[KeyEntry]) -> Vec<KeyEntry> {
    let mut k = key.to_vec();
    k.sort_by(|a, b| a.question_id.cmp(&b.question_id));
    k
}

/// Compares the course with the store and decides every write. Pure: no I/O.
pub fn plan(
    course: &Course,
    published: &Published,
    now: DateTime<Utc>,
    tz: Tz,
    options: SyncOptions,
) -> Result<Plan, PublishError> {
    let mut problems = Vec::new();
    let mut refused = Vec::new();
    let mut tests = Vec::new();
    let mut content_writes = Vec::new();
    let mut marker_writes = Vec::new();
    let mut unchanged_tests = 0;
    let mut catalog: Vec<TestMeta> = Vec::new();

    for t in &course.tests {
        let current = published.catalog.find(&t.subject, &t.test_id);
        let stored = published.tests.get(&(t.subject.clone(), t.test_id.clone()));
        if !t.publish {
            if current.is_some() {
                tests.push(TestPlan {
                    subject: t.subject.clone(),
                    test_id: t.test_id.clone(),
                    action: TestAction::Withdraw(Withdrawal::Draft),
                });
            }
            continue;
        }
        let questions_changed = stored.and_then(|s| s.questions.as_ref()) != Some(&t.questions);
        let key_changed =
            stored.and_then(|s| s.key.as_deref()).map(sorted_key) != Some(sorted_key(&t.key));
        let scored = stored.map_or(0, |s| s.scored);
        if key_changed && scored > 0 {
            if options.rescore {
                let marker = rescore_marker(&t.subject, &t.test_id)?;
                let body = serde_json::json!({
                    "subject": t.subject, "testId": t.test_id, "requestedAt": now,
                });
                marker_writes.push((marker.clone(), to_json(&marker, &body)?));
            } else {
                refused.push((t.subject.clone(), t.test_id.clone(), scored));
            }
        }
        if questions_changed {
            let k = layout::questions(&t.subject, &t.test_id);
            content_writes.push((k.clone(), to_json(&k, &t.questions)?));
        }
        if key_changed {
            let k = layout::answer_key(&t.subject, &t.test_id);
            content_writes.push((k.clone(), to_json(&k, &t.key)?));
        }
        match current {
            None => {
                let due_at = match t.due {
                    Some(due) if due <= now => {
                        problems.push(past_due_problem(t, due, now, tz));
                        due
                    }
                    Some(due) => due,
                    None => next_deadline(now, tz),
                };
                catalog.push(TestMeta {
                    subject: t.subject.clone(),
                    test_id: t.test_id.clone(),
                    title: t.title.clone(),
                    published_at: now,
                    due_at,
                });
                tests.push(TestPlan {
                    subject: t.subject.clone(),
                    test_id: t.test_id.clone(),
                    action: TestAction::Publish {
                        title: t.title.clone(),
                        due_at,
                    },
                });
            }
            Some(meta) => {
                let mut changes = Vec::new();
                if questions_changed {
                    changes.push(TestChange::Questions);
                }
                if key_changed {
                    changes.push(TestChange::AnswerKey {
                        rescore: options.rescore && scored > 0,
                    });
                }
                if meta.title != t.title {
                    changes.push(TestChange::Title {
                        old: meta.title.clone(),
                        new: t.title.clone(),
                    });
                }
                let mut due_at = meta.due_at;
                if let Some(due) = t.due.filter(|d| *d != meta.due_at) {
                    if due <= now {
                        problems.push(past_due_problem(t, due, now, tz));
                    }
                    changes.push(TestChange::Due {
                        old: meta.due_at,
                        new: due,
                    });
                    due_at = due;
                }
                catalog.push(TestMeta {
                    title: t.title.clone(),
                    due_at,
                    ..meta.clone()
                });
                if changes.is_empty() {
                    unchanged_tests += 1;
                } else {
                    tests.push(TestPlan {
                        subject: t.subject.clone(),
                        test_id: t.test_id.clone(),
                        action: TestAction::Update(changes),
                    });
                }
            }
        }
    }
    for meta in &published.catalog.tests {
        if course.test(&meta.subject, &meta.test_id).is_none() {
            tests.push(TestPlan {
                subject: meta.subject.clone(),
                test_id: meta.test_id.clone(),
                action: TestAction::Withdraw(Withdrawal::Gone),
            });
        }
    }
    if !problems.is_empty() {
        return Err(PublishError::Invalid(Problems(problems)));
    }
    if !refused.is_empty() {
        return Err(PublishError::ScoredKeyChanged(refused));
    }

    let mut writes = content_writes;
    writes.extend(marker_writes);
    catalog.sort_by(|a, b| (&a.subject, &a.test_id).cmp(&(&b.subject, &b.test_id)));
    let mut old_catalog = published.catalog.tests.clone();
    old_catalog.sort_by(|a, b| (&a.subject, &a.test_id).cmp(&(&b.subject, &b.test_id)));
    if catalog != old_catalog {
        let k = layout::catalog();
        writes.push((k.clone(), to_json(&k, &Catalog { tests: catalog })?));
    }

    let (students, unchanged_students) = plan_roster(&course.roster, published.roster.as_ref());
    if published.roster.as_ref() != Some(&course.roster) {
        let k = layout::roster();
        writes.push((k.clone(), to_json(&k, &course.roster)?));
    }

    Ok(Plan {
        tests,
        students,
        unchanged_tests,
        unchanged_students,
        writes,
        time_zone: tz,
    })
}

fn plan_roster(new: &Roster, old: Option<&Roster>) -> (Vec<StudentPlan>, usize) {
    let empty = Roster::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    let mut unchanged = 0;
    for s in &new.0 {
        match old.find(&s.student_id) {
            None => out.push(StudentPlan {
                student_id: s.student_id.clone(),
                action: StudentAction::Add {
                    email: s.email.clone(),
                },
            }),
            Some(before) => {
                let mut fields = Vec::new();
                if before.email != s.email {
                    fields.push("email");
                }
                if before.name != s.name {
                    fields.push("name");
                }
                if before.subjects != s.subjects {
                    fields.push("subjects");
                }
                if before.extra != s.extra {
                    fields.push("other fields");
                }
                if fields.is_empty() {
                    unchanged += 1;
                } else {
                    out.push(StudentPlan {
                        student_id: s.student_id.clone(),
                        action: StudentAction::Change { fields },
                    });
                }
            }
        }
    }
    for s in &old.0 {
        if new.find(&s.student_id).is_none() {
            out.push(StudentPlan {
                student_id: s.student_id.clone(),
                action: StudentAction::Remove,
            });
        }
    }
    (out, unchanged)
}

/// Performs the writes of a plan, in order. Returns the keys written.
pub async fn apply(
    store: &(impl ObjectStore + ?Sized),
    plan: &Plan,
) -> Result<Vec<ObjectKey>, StoreError> {
    let mut written = Vec::with_capacity(plan.writes.len());
    for (key, bytes) in &plan.writes {
        store.put(key, bytes.clone()).await?;
        written.push(key.clone());
    }
    Ok(written)
}

/// Validates the course, compares it with the store and (unless a dry run) applies the plan.
pub async fn sync(
    store: &(impl ObjectStore + ?Sized),
    files: &CourseFiles,
    now: DateTime<Utc>,
    tz: Tz,
    options: SyncOptions,
) -> Result<SyncReport, PublishError> {
    let course = parse(files, tz).map_err(PublishError::Invalid)?;
    let published = load_published(store, Some(&course)).await?;
    let plan = plan(&course, &published, now, tz, options)?;
    if !options.dry_run {
        apply(store, &plan).await?;
    }
    Ok(SyncReport {
        plan,
        applied: !options.dry_run,
    })
}

/// Publishes a course: validate, plan and apply, without rescoring.
pub async fn publish(
    store: &(impl ObjectStore + ?Sized),
    files: &CourseFiles,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<SyncReport, PublishError> {
    sync(store, files, now, tz, SyncOptions::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;

    const TZ: Tz = chrono_tz::Europe::Warsaw;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn course() -> CourseFiles {
        let mut files = CourseFiles::new();
        files.insert(
            "studentsList.json",
            r#"[{"student_id": "student01", "email": "s1@example.com"}, {"student_id": "student02", "email": "s2@example.com"}]"#,
        );
        for test in ["t1", "t2"] {
            files.insert(
                format!("subjects/os/{test}/questions.json"),
                r#"[{"questionId": "1", "question": "Q?", "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}]}]"#,
            );
            files.insert(
                format!("subjects/os/{test}/questionsKey.json"),
                r#"[{"questionId": "1", "answer": "a"}]"#,
            );
        }
        files.insert(
            "subjects/os/t2/test.json",
            r#"{"title": "Second", "publish": false}"#,
        );
        files
    }

    /// Stores one graded result of `student`, as the scorer would have.
    async fn scored_once(store: &MemoryStore, subject: &str, test: &str, student: &str) {
        let (subject, test) = (
            SubjectName::parse(subject).unwrap(),
            TestId::parse(test).unwrap(),
        );
        let student = StudentId::parse(student).unwrap();
        let content = crate::scoring::grading::TestContent {
            subject: &subject,
            test_id: &test,
            title: "T",
            questions: &[],
            key: &[],
        };
        let score =
            crate::scoring::grading::grade(content, &student, &[], 5, utc("2026-11-30T22:00:00Z"));
        let mut results = TestResults::default();
        results.scores.insert(student, score.into());
        results.save(store, &subject, &test).await.unwrap();
    }

    async fn catalog(store: &MemoryStore) -> Catalog {
        store_json::read(store, &layout::catalog())
            .await
            .unwrap()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn first_publication_writes_content_then_catalog_then_roster_with_the_default_due_date() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        let report = publish(&store, &course(), now, TZ).await.unwrap();
        let order: Vec<&str> = report.plan.writes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            order,
            [
                "os/t1/questions.json",
                "os/t1/questionsKey.json",
                "_system/catalog.json",
                "studentsList.json"
            ]
        );
        let catalog = catalog(&store).await;
        assert_eq!(catalog.tests.len(), 1, "the draft t2 is not published");
        assert_eq!(catalog.tests[0].title, "t1");
        assert_eq!(catalog.tests[0].published_at, now);
        assert_eq!(catalog.tests[0].due_at, utc("2026-11-30T22:00:00Z"));
        assert!(report
            .to_string()
            .contains("publish   os/t1 \"t1\", due 2026-11-30 23:00 CET"));
    }

    #[tokio::test]
    async fn syncing_twice_writes_nothing_the_second_time() {
        let store = MemoryStore::new();
        publish(&store, &course(), utc("2026-11-24T10:00:00Z"), TZ)
            .await
            .unwrap();
        let before = store.snapshot();
        let report = publish(&store, &course(), utc("2026-11-25T10:00:00Z"), TZ)
            .await
            .unwrap();
        assert!(report.plan.is_empty(), "{report}");
        assert_eq!(store.snapshot(), before);
        assert_eq!(store.versions("_system/catalog.json"), 1);
        assert_eq!(
            report.to_string(),
            "Nothing to change: 1 test(s) and 2 student(s) are up to date."
        );
    }

    #[tokio::test]
    async fn a_dry_run_reports_the_plan_and_writes_nothing() {
        let store = MemoryStore::new();
        let options = SyncOptions {
            dry_run: true,
            rescore: false,
        };
        let report = sync(&store, &course(), utc("2026-11-24T10:00:00Z"), TZ, options)
            .await
            .unwrap();
        assert_eq!(report.plan.writes.len(), 4);
        assert!(store.snapshot().is_empty());
        assert!(report
            .to_string()
            .ends_with("Dry run: nothing was written."));
    }

    #[tokio::test]
    async fn a_published_test_keeps_its_dates_until_test_json_sets_a_new_due_date() {
        let store = MemoryStore::new();
        let first = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), first, TZ).await.unwrap();
        let mut files = course();
        files.insert("subjects/os/t1/test.json", r#"{"title": "Kernel"}"#);
        publish(&store, &files, utc("2026-11-26T10:00:00Z"), TZ)
            .await
            .unwrap();
        let meta = catalog(&store).await.tests[0].clone();
        assert_eq!(
            (meta.title.as_str(), meta.published_at, meta.due_at),
            ("Kernel", first, utc("2026-11-30T22:00:00Z"))
        );

        files.insert(
            "subjects/os/t1/test.json",
            r#"{"title": "Kernel", "due": "2026-12-07 23:00"}"#,
        );
        let report = publish(&store, &files, utc("2026-11-26T10:00:00Z"), TZ)
            .await
            .unwrap();
        assert!(
            report
                .to_string()
                .contains("due 2026-11-30 23:00 CET -> 2026-12-07 23:00 CET"),
            "{report}"
        );
        let meta = catalog(&store).await.tests[0].clone();
        assert_eq!(
            (meta.published_at, meta.due_at),
            (first, utc("2026-12-07T22:00:00Z"))
        );
    }

    #[tokio::test]
    async fn a_past_due_date_is_refused_for_a_new_test_but_kept_for_an_old_closed_one() {
        let store = MemoryStore::new();
        let mut files = course();
        files.insert("subjects/os/t1/test.json", r#"{"due": "2026-11-30"}"#);
        publish(&store, &files, utc("2026-11-24T10:00:00Z"), TZ)
            .await
            .unwrap();
        // Weeks later the test is closed and still in the folder: nothing to do.
        let later = utc("2026-12-20T10:00:00Z");
        let report = publish(&store, &files, later, TZ).await.unwrap();
        assert!(report.plan.is_empty(), "{report}");
        // A new test with a past date is an error naming the file and position.
        files.insert("subjects/os/t2/test.json", r#"{"due": "2026-12-01 12:00"}"#);
        let err = publish(&store, &files, later, TZ).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the course folder has 1 problem:\n  subjects/os/t2/test.json:1:9: .due: due date 2026-12-01 12:00 CET \
             is not in the future (now 2026-12-20 11:00 CET); a test can only be published or moved to a future due date"
        );
    }

    #[tokio::test]
    async fn a_changed_key_of_a_scored_test_is_refused_unless_rescoring() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), now, TZ).await.unwrap();
        scored_once(&store, "os", "t1", "student01").await;
        let mut files = course();
        files.insert(
            "subjects/os/t1/questionsKey.json",
            r#"[{"questionId": "1", "answer": "b"}]"#,
        );
        let before = store.snapshot();
        let err = publish(&store, &files, now, TZ).await.unwrap_err();
        assert!(
            matches!(err, PublishError::ScoredKeyChanged(ref t) if t.len() == 1),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with("the answer key changed for os/t1 which already has scored results"));
        assert_eq!(store.snapshot(), before, "a refused sync writes nothing");

        let options = SyncOptions {
            rescore: true,
            dry_run: false,
        };
        let report = sync(&store, &files, now, TZ, options).await.unwrap();
        assert!(report
            .to_string()
            .contains("answer key changed (scored results will be rescored)"));
        let after = store.snapshot();
        assert!(after.contains_key("_system/rescore/os/t1"));
        let key: Vec<KeyEntry> = serde_json::from_slice(&after["os/t1/questionsKey.json"]).unwrap();
        assert_eq!(key[0].answer.as_str(), "b");
    }

    #[tokio::test]
    async fn a_changed_key_of_an_unscored_test_just_replaces_the_key() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), now, TZ).await.unwrap();
        let mut files = course();
        files.insert(
            "subjects/os/t1/questionsKey.json",
            r#"[{"questionId": "1", "answer": "b"}]"#,
        );
        let report = publish(&store, &files, now, TZ).await.unwrap();
        assert_eq!(report.plan.writes.len(), 1, "{report}");
        assert!(!store.snapshot().contains_key("_system/rescore/os/t1"));
    }

    #[tokio::test]
    async fn withdrawing_a_test_keeps_its_submissions_and_roster_changes_are_listed() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), now, TZ).await.unwrap();
        let submission = ObjectKey::parse("os/t1/student01/testResult.json").unwrap();
        store.put(&submission, b"[]".to_vec()).await.unwrap();
        let mut files = course();
        files.insert("subjects/os/t1/test.json", r#"{"publish": false}"#);
        files.insert(
            "studentsList.json",
            r#"[{"student_id": "student01", "email": "new@example.com"}, {"student_id": "student03", "email": "s3@example.com"}]"#,
        );
        let report = publish(&store, &files, now, TZ).await.unwrap();
        let text = report.to_string();
        assert!(
            text.contains(
                "withdraw  os/t1 (\"publish\": false in test.json; submissions are kept)"
            ),
            "{text}"
        );
        assert!(
            text.contains("add       student student03 <s3@example.com>"),
            "{text}"
        );
        assert!(
            text.contains("update    student student01: email changed"),
            "{text}"
        );
        assert!(text.contains("remove    student student02"), "{text}");
        assert!(catalog(&store).await.tests.is_empty());
        assert!(store.snapshot().contains_key(submission.as_str()));

        let gone = {
            let mut f = files.clone();
            f.0.retain(|k, _| !k.starts_with("subjects/os/t1/"));
            f
        };
        files.insert("subjects/os/t1/test.json", "{}");
        publish(&store, &files, now, TZ).await.unwrap();
        let report = publish(&store, &gone, now, TZ).await.unwrap();
        assert!(report
            .to_string()
            .contains("withdraw  os/t1 (no longer in the course folder; submissions are kept)"));
    }

    #[test]
    fn due_dates_may_be_local_dates_times_or_rfc_3339() {
        assert_eq!(
            parse_due("2026-11-30", TZ).unwrap(),
            utc("2026-11-30T22:00:00Z")
        );
        assert_eq!(
            parse_due("2026-07-06 20:30", TZ).unwrap(),
            utc("2026-07-06T18:30:00Z")
        );
        assert_eq!(
            parse_due("2026-11-30T23:00:00+01:00", TZ).unwrap(),
            utc("2026-11-30T22:00:00Z")
        );
        assert!(parse_due("monday", TZ).is_err());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut files = course();
        files.insert(
            "subjects/os/t1/questionsKey.json",
            r#"[{"questionId": "1", "answer": "z"}]"#,
        );
        files.insert("subjects/os/t2/questions.json", "[");
        files.insert(
            "studentsList.json",
            r#"[{"student_id": "x", "email": "nope"}]"#,
        );
        let problems = parse(&files, TZ).unwrap_err();
        assert_eq!(problems.0.len(), 3, "{problems}");
        assert!(problems
            .to_string()
            .starts_with("the course folder has 3 problems:"));
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
