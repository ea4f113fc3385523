//! Parsing the course folder into a [`Course`]: questions, key, settings and roster,
//! with every problem reported at once.

use super::files::{did_you_mean, CourseFiles, FileCheck, Position, Problem, Problems};
use super::files::{SUBJECTS_DIR, TEST_SETTINGS};
use super::rules;
use super::windows::{self, Located};
use crate::deadline::{display_in, local_to_utc, DEADLINE_HOUR};
use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::layout;
use crate::model::{AnswerOption, KeyEntry, Question, Roster, Student, TestRules};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// Scoring and variation rules from `test.json`.
    pub rules: TestRules,
    /// Where `due` was written, for problems found when publishing.
    due_position: Option<Problem>,
    /// Extensions, late policy and feedback timing, with their positions.
    pub(super) windows: Located,
}

impl CourseTest {
    pub fn name(&self) -> String {
        format!("{}/{}", self.subject, self.test_id)
    }

    /// Extensions, late policy and feedback timing from `test.json`.
    pub fn windows(&self) -> &crate::windows::TestWindows {
        &self.windows.windows
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

pub(super) fn past_due_problem(
    test: &CourseTest,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Problem {
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

/// The files of each test folder, by (subject, test) folder name, so a missing file
/// is reported once per folder.
fn test_folders(files: &CourseFiles) -> BTreeMap<(String, String), BTreeMap<String, &[u8]>> {
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
    folders
}

/// Parses and checks the whole course folder, reporting every problem at once.
pub fn parse(files: &CourseFiles, tz: Tz) -> Result<Course, Problems> {
    let mut problems = Vec::new();
    let mut known_subjects = BTreeSet::new();
    let mut tests = Vec::new();
    let mut bad_subjects = BTreeSet::new();
    for ((subject_raw, test_raw), folder_files) in &test_folders(files) {
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
        if let Some(s) = &subject {
            known_subjects.insert(s.clone());
        }
        let folder = format!("{SUBJECTS_DIR}/{subject_raw}/{test_raw}");
        if let Some(test) = parse_test(&folder, subject, test_raw, folder_files, tz, &mut problems)
        {
            tests.push(test);
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

    if let Some(roster) = &roster {
        for t in &tests {
            problems.extend(t.windows.check_roster(roster));
        }
    }
    match roster {
        Some(roster) if problems.is_empty() => Ok(Course { roster, tests }),
        _ => Err(Problems(problems)),
    }
}

/// Parses one test folder; `None` when it has problems (reported) or its subject
/// folder name is not valid.
fn parse_test(
    folder: &str,
    subject: Option<SubjectName>,
    test_raw: &str,
    folder_files: &BTreeMap<String, &[u8]>,
    tz: Tz,
    problems: &mut Vec<Problem>,
) -> Option<CourseTest> {
    let test_id = match TestId::parse(test_raw) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(Problem {
                file: folder.to_owned(),
                position: None,
                message: format!("folder name is not a valid test id: {e}"),
            });
            None
        }
    };
    for name in folder_files.keys() {
        let known = [layout::QUESTIONS, layout::ANSWER_KEY, TEST_SETTINGS].contains(&name.as_str());
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
    let missing = |name: &str| Problem {
        file: folder.to_owned(),
        position: None,
        message: format!("missing {name}"),
    };
    let questions = match folder_files.get(layout::QUESTIONS) {
        Some(bytes) => parse_questions(&format!("{folder}/{}", layout::QUESTIONS), bytes, problems),
        None => {
            problems.push(missing(layout::QUESTIONS));
            None
        }
    };
    let key = match folder_files.get(layout::ANSWER_KEY) {
        Some(bytes) => {
            let file = format!("{folder}/{}", layout::ANSWER_KEY);
            parse_key(&file, bytes, questions.as_deref(), problems)
        }
        None => {
            problems.push(missing(layout::ANSWER_KEY));
            None
        }
    };
    let settings = match folder_files.get(TEST_SETTINGS) {
        Some(bytes) => {
            let file = format!("{folder}/{TEST_SETTINGS}");
            parse_settings(&file, bytes, tz, questions.as_deref(), problems)
        }
        None => Some(Settings {
            publish: true,
            ..Settings::default()
        }),
    };
    if let Some(s) = &settings {
        if let Some(due) = s.due {
            problems.extend(s.windows.check_due(due, tz));
        }
    }
    let (subject, test_id, mut questions, key, settings) =
        (subject?, test_id?, questions?, key?, settings?);
    rules::mark_multiple(&mut questions, &key);
    let mut rules = settings.rules;
    rules.points = rules::total_points(&questions, &rules);
    Some(CourseTest {
        title: settings.title.unwrap_or_else(|| test_id.to_string()),
        subject,
        test_id,
        due: settings.due,
        publish: settings.publish,
        questions,
        key,
        rules,
        due_position: settings.due_position,
        windows: settings.windows,
    })
}

/// The fields of a question and of its answers.
const QUESTION_FIELDS: &[&str] = &[
    "questionId",
    "question",
    "answers",
    "answerId",
    "answerBody",
    "points",
    "pool",
];
/// The fields of a key entry.
const KEY_FIELDS: &[&str] = &["questionId", "answer", "weights"];
/// The fields of `test.json`.
const SETTINGS_FIELDS: &[&str] = &[
    "title",
    "due",
    "publish",
    "scoring",
    "wrongAnswerPenalty",
    "shuffle",
    "draw",
    "extensions",
    "late",
    "feedback",
];
/// "a, b and c": the fields a file knows, for an unknown field's message.
fn known_list(fields: &[&str]) -> String {
    match fields {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
/// The fields of a roster entry the system reads (others are kept as they are).
const ROSTER_FIELDS: &[&str] = &["student_id", "email", "name", "subjects", "extraTime"];

fn parse_questions(file: &str, bytes: &[u8], problems: &mut Vec<Problem>) -> Option<Vec<Question>> {
    let (value, mut c) = FileCheck::open(file, bytes, problems);
    c.fields = QUESTION_FIELDS;
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
                c.missing(obj, &path, "answers");
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
        let points = rules::points(&mut c, obj, &path);
        let pool = rules::pool(&mut c, obj, &path);
        c.misspelt(obj, &path, &["points", "pool"]);
        if let (Some(question_id), Some(question)) = (id, text) {
            out.push(Question {
                question_id,
                question: question.to_owned(),
                answers: options,
                points,
                pool,
                multiple: false,
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
    c.fields = KEY_FIELDS;
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
        let answer = rules::key_answer(&mut c, obj, &path);
        c.misspelt(obj, &path, &["weights"]);
        let Some(id) = id else { continue };
        if let Some(first) = first_at.get(&id) {
            c.report(
                &format!("{path}.questionId"),
                format!("question \"{id}\" has more than one key entry (first at [{first}])"),
            );
            continue;
        }
        first_at.insert(id.clone(), i);
        let question = questions.and_then(|qs| qs.iter().find(|q| q.question_id == id));
        if questions.is_some() && question.is_none() {
            c.report(
                &format!("{path}.questionId"),
                format!("question \"{id}\" is not in {}", layout::QUESTIONS),
            );
        }
        if let (Some(q), Some(answer)) = (question, &answer) {
            for (j, a) in answer.ids().iter().enumerate() {
                let at = match answer {
                    crate::model::Answer::One(_) => format!("{path}.answer"),
                    crate::model::Answer::Many(_) => format!("{path}.answer[{j}]"),
                };
                rules::check_option(&mut c, &at, q, a);
            }
        }
        let weights = rules::weights(&mut c, obj, &path, question);
        if let Some(answer) = answer {
            out.push(KeyEntry {
                question_id: id,
                answer,
                weights,
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
    windows: Located,
    rules: TestRules,
}

fn parse_settings(
    file: &str,
    bytes: &[u8],
    tz: Tz,
    questions: Option<&[Question]>,
    problems: &mut Vec<Problem>,
) -> Option<Settings> {
    let (value, mut c) = FileCheck::open(file, bytes, problems);
    c.fields = SETTINGS_FIELDS;
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
            (name, v) if windows::FIELDS.contains(&name) => {
                settings.windows.read(&mut c, name, v, tz)
            }
            ("title" | "due", _) => c.report(&path, format!("\"{name}\" must be a string")),
            ("publish", _) => c.report(&path, "\"publish\" must be true or false"),
            _ if rules::setting(&mut c, &mut settings.rules, name, v) => {}
            _ => {
                let hint = did_you_mean(name, SETTINGS_FIELDS)
                    .map(|known| format!("; did you mean {known}?"))
                    .unwrap_or_default();
                c.report(
                    &path,
                    format!(
                        "unknown field \"{name}\" ({TEST_SETTINGS} knows {}){hint}",
                        known_list(SETTINGS_FIELDS)
                    ),
                )
            }
        }
    }
    if let Some(questions) = questions {
        rules::check_draw(&mut c, &settings.rules, questions);
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
    c.fields = ROSTER_FIELDS;
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
        windows::check_extra_time(&mut c, obj, &path);
        c.misspelt(obj, &path, &["name", "subjects", "extraTime"]);
        if c.found == before {
            match serde_json::from_value::<Student>(item.clone()) {
                Ok(s) => out.push(s),
                Err(e) => c.report(&path, e.to_string()),
            }
        }
    }
    (c.found == 0).then_some(Roster(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::fixtures::{course, utc, TZ};

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
}
