//! The per-student settings of `test.json` (`extensions`, `late`, `feedback`) and
//! the roster's `extraTime`: parsed with their positions, and checked against what
//! is only known later (the roster's students, the due a test is published with).

use super::files::{FileCheck, Problem};
use super::parse::parse_due;
use crate::deadline::display_in;
use crate::ids::StudentId;
use crate::model::Roster;
use crate::windows::TestWindows;
use crate::windows::{parse_penalty, Extension, ExtraTime, Feedback, LatePolicy, Percent};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The settings fields this module reads.
pub(super) const FIELDS: &[&str] = &["extensions", "late", "feedback"];

/// The windows of a test as written, with where each part was, for the checks made
/// once the roster and the test's final due are known.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Located {
    pub(super) windows: TestWindows,
    /// Where each extension is, by student.
    extensions: BTreeMap<StudentId, Problem>,
    /// Where the late policy's `until` is.
    until: Option<Problem>,
}

impl Located {
    /// Reads one of [`FIELDS`] of `test.json`.
    pub(super) fn read(&mut self, c: &mut FileCheck, name: &str, v: &Value, tz: Tz) {
        let path = format!(".{name}");
        match name {
            "extensions" => self.extensions(c, v, &path, tz),
            "late" => self.late(c, v, &path, tz),
            _ => match v.as_str().map(Feedback::parse) {
                Some(Ok(f)) => self.windows.feedback = f,
                Some(Err(e)) => c.report(&path, e),
                None => c.report(&path, "\"feedback\" must be a string"),
            },
        }
    }

    fn extensions(&mut self, c: &mut FileCheck, v: &Value, path: &str, tz: Tz) {
        let Some(obj) = v.as_object() else {
            c.report(
                path,
                "\"extensions\" must be an object by student id, such as {\"student02\": {\"due\": \"2026-12-02 23:00\", \"reason\": \"illness\"}}",
            );
            return;
        };
        for (id, ext) in obj {
            let epath = format!("{path}.{id}");
            let student = match StudentId::parse(id.as_str()) {
                Ok(s) => s,
                Err(e) => {
                    c.report(&epath, format!("{id:?} is not a student id: {e}"));
                    continue;
                }
            };
            let Some(fields) = ext.as_object() else {
                c.report(&epath, "an extension must be an object such as {\"due\": \"2026-12-02 23:00\", \"reason\": \"...\"}");
                continue;
            };
            if let Some(ext) = extension(c, fields, &epath, tz) {
                self.extensions
                    .insert(student.clone(), c.problem_at(&epath, ""));
                self.windows.extensions.insert(student, ext);
            }
        }
    }

    fn late(&mut self, c: &mut FileCheck, v: &Value, path: &str, tz: Tz) {
        let Some(obj) = v.as_object() else {
            c.report(
                path,
                "\"late\" must be an object such as {\"until\": \"2026-12-03 23:00\", \"penalty\": \"10%/day\", \"floor\": \"50%\"}",
            );
            return;
        };
        let before = c.found;
        let mut until = None;
        let mut penalty = None;
        let mut floor = Percent::ZERO;
        for (name, v) in obj {
            let fpath = format!("{path}.{name}");
            let Some(text) = v.as_str() else {
                c.report(&fpath, format!("\"{name}\" must be a string"));
                continue;
            };
            match name.as_str() {
                "until" => match parse_due(text, tz) {
                    Ok(t) => until = Some(t),
                    Err(e) => c.report(&fpath, e.replacen("due", "until", 1)),
                },
                "penalty" => match parse_penalty(text) {
                    Ok(p) => penalty = Some(p),
                    Err(e) => c.report(&fpath, e),
                },
                "floor" => match Percent::parse(text) {
                    Ok(p) => floor = p,
                    Err(e) => c.report(&fpath, format!("floor {e}")),
                },
                _ => c.report(
                    &fpath,
                    format!("unknown field \"{name}\" (\"late\" knows until, penalty and floor)"),
                ),
            }
        }
        for (name, missing) in [("until", until.is_none()), ("penalty", penalty.is_none())] {
            if missing && c.found == before {
                c.report(path, format!("\"late\" needs \"{name}\""));
            }
        }
        if let (Some(until), Some(penalty)) = (until, penalty) {
            self.until = Some(c.problem_at(&format!("{path}.until"), ""));
            self.windows.late = Some(LatePolicy {
                until,
                penalty,
                floor,
            });
        }
    }

    /// Problems only visible once the test's due is known: a late window or an
    /// extension that ends at or before it.
    pub(super) fn check_due(&self, due: DateTime<Utc>, tz: Tz) -> Vec<Problem> {
        let mut out = vec![];
        if let (Some(late), Some(at)) = (&self.windows.late, &self.until) {
            if late.until <= due {
                out.push(Problem {
                    message: format!(
                        "late until {} is not after the due {}; a late window ends after the due",
                        display_in(late.until, tz),
                        display_in(due, tz)
                    ),
                    ..at.clone()
                });
            }
        }
        for (student, ext) in &self.windows.extensions {
            if ext.due <= due {
                if let Some(at) = self.extensions.get(student) {
                    out.push(Problem {
                        message: format!(
                            "the extension of {student} ends {}, not after the test's due {}; an extension can only give more time",
                            display_in(ext.due, tz),
                            display_in(due, tz)
                        ),
                        ..at.clone()
                    });
                }
            }
        }
        out
    }

    /// Extensions of students who are not in the roster (a typo would otherwise
    /// leave the real student without their extension).
    pub(super) fn check_roster(&self, roster: &Roster) -> Vec<Problem> {
        self.extensions
            .iter()
            .filter(|(id, _)| roster.find(id).is_none())
            .map(|(id, at)| Problem {
                message: format!(
                    "extension for unknown student \"{id}\": not in {}",
                    crate::layout::ROSTER
                ),
                ..at.clone()
            })
            .collect()
    }
}

fn extension(
    c: &mut FileCheck,
    fields: &Map<String, Value>,
    path: &str,
    tz: Tz,
) -> Option<Extension> {
    let before = c.found;
    let mut due = None;
    let mut reason = None;
    for (name, v) in fields {
        let fpath = format!("{path}.{name}");
        match (name.as_str(), v) {
            ("due", Value::String(d)) => match parse_due(d, tz) {
                Ok(t) => due = Some(t),
                Err(e) => c.report(&fpath, e),
            },
            ("reason", Value::String(r)) => reason = Some(r.trim().to_owned()),
            ("due" | "reason", _) => c.report(&fpath, format!("\"{name}\" must be a string")),
            _ => c.report(
                &fpath,
                format!("unknown field \"{name}\" (an extension knows due and reason)"),
            ),
        }
    }
    if due.is_none() && c.found == before {
        c.missing(fields, path, "due");
    }
    Some(Extension { due: due?, reason })
}

/// Checks a roster entry's `extraTime`.
pub(super) fn check_extra_time(c: &mut FileCheck, obj: &Map<String, Value>, path: &str) {
    match obj.get("extraTime") {
        None | Some(Value::Null) => {}
        Some(Value::String(raw)) => {
            if let Err(e) = ExtraTime::parse(raw) {
                c.report(&format!("{path}.extraTime"), format!("extraTime {e}"));
            }
        }
        Some(_) => c.report(
            &format!("{path}.extraTime"),
            "\"extraTime\" must be a string such as \"48h\"",
        ),
    }
}

impl super::Course {
    /// Tests whose right/wrong, sent at each student's own close, gives away the
    /// answer of a two-option question while other students may still submit. A
    /// warning, not an error: the trainer may accept it, or have a reason.
    pub fn feedback_warnings(&self) -> Vec<Problem> {
        self.tests
            .iter()
            .filter(|t| t.publish && t.windows().feedback == Feedback::AtOwnClose)
            .filter(|t| {
                let w = t.windows();
                let extra_time = self
                    .roster
                    .0
                    .iter()
                    .any(|s| s.extra_time.is_some() && s.takes(&t.subject));
                !w.extensions.is_empty() || w.late.is_some() || extra_time
            })
            .filter_map(|t| {
                let two: Vec<&str> = t
                    .questions
                    .iter()
                    .filter(|q| !q.multiple && q.answers.len() == 2)
                    .map(|q| q.question_id.as_str())
                    .collect();
                let (which, its) = match two.as_slice() {
                    [] => return None,
                    [one] => (format!("question {one} has"), "its"),
                    many => (format!("questions {} have", many.join(", ")), "their"),
                };
                Some(Problem {
                    file: format!(
                        "{}/{}/{}/{}",
                        super::files::SUBJECTS_DIR,
                        t.subject,
                        t.test_id,
                        super::files::TEST_SETTINGS
                    ),
                    position: None,
                    message: format!(
                        "{which} two options and students close at different times (extensions, extra time or a late window): {its} right/wrong, sent at each student's own close, gives the answer away while others may still submit; write \"feedback\": \"at-last-close\" to send nothing before the last window closes"
                    ),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::course::fixtures::{course, utc, TZ};
    use crate::course::{parse, plan, Published, SyncOptions};
    use crate::windows::Feedback;

    const ROSTER: &str = r#"[{"student_id": "student01", "email": "s1@example.com"},
 {"student_id": "student02", "email": "s2@example.com", "extraTime": "48h"}]"#;

    fn with_settings(settings: &str) -> crate::course::CourseFiles {
        let mut files = course();
        files.insert("studentsList.json", ROSTER);
        files.insert("subjects/os/t1/test.json", settings);
        files
    }

    #[test]
    fn right_wrong_at_each_students_own_close_is_warned_about_when_it_gives_away_a_two_option_answer(
    ) {
        let warnings = |files: &crate::course::CourseFiles| -> Vec<String> {
            let c = parse(files, TZ).unwrap();
            c.feedback_warnings()
                .iter()
                .map(|p| p.to_string())
                .collect()
        };
        // student02's extra time makes the windows differ; t1's one question has
        // two options; t2 is a draft.
        assert_eq!(
            warnings(&with_settings(r#"{"due": "2026-11-30 23:00"}"#)),
            ["subjects/os/t1/test.json: question 1 has two options and students close at different times (extensions, extra time or a late window): its right/wrong, sent at each student's own close, gives the answer away while others may still submit; write \"feedback\": \"at-last-close\" to send nothing before the last window closes"]
        );
        let quiet = [
            with_settings(r#"{"due": "2026-11-30 23:00", "feedback": "at-last-close"}"#),
            // Everyone closes at once: right/wrong comes when nobody can submit.
            course(),
        ];
        for files in &quiet {
            assert_eq!(warnings(files), Vec::<String>::new());
        }
        let mut late = course();
        late.insert(
            "subjects/os/t1/test.json",
            r#"{"due": "2026-11-30 23:00", "late": {"until": "2026-12-01 23:00", "penalty": "10%/day"}}"#,
        );
        assert_eq!(warnings(&late).len(), 1);
    }

    #[test]
    fn extensions_late_policy_feedback_and_extra_time_are_read() {
        let files = with_settings(
            r#"{"due": "2026-11-30 23:00",
 "extensions": {"student01": {"due": "2026-12-02 23:00", "reason": "illness"}},
 "late": {"until": "2026-12-03 23:00", "penalty": "10%/day", "floor": "50%"},
 "feedback": "at-last-close"}"#,
        );
        let c = parse(&files, TZ).unwrap();
        let w = c.tests[0].windows();
        let ext = &w.extensions[&crate::ids::StudentId::parse("student01").unwrap()];
        assert_eq!(
            (ext.due, ext.reason.as_deref()),
            (utc("2026-12-02T22:00:00Z"), Some("illness"))
        );
        let late = w.late.unwrap();
        assert_eq!(
            (late.until, late.penalty_text(), late.floor.to_string()),
            (
                utc("2026-12-03T22:00:00Z"),
                "10%/day".to_owned(),
                "50%".to_owned()
            )
        );
        assert_eq!(w.feedback, Feedback::AtLastClose);
        let extra = c.roster.0[1].extra_time.as_ref().unwrap();
        assert_eq!(extra.span().num_hours(), 48);
        // Published into the catalog entry as written.
        let p = plan(
            &c,
            &Published::default(),
            utc("2026-11-24T10:00:00Z"),
            TZ,
            SyncOptions::default(),
        )
        .unwrap();
        let catalog = p
            .writes
            .iter()
            .find(|(k, _)| k.as_str().ends_with("catalog.json"))
            .unwrap();
        let text = String::from_utf8(catalog.1.clone()).unwrap();
        assert!(text.contains("\"penalty\": \"10%/day\""), "{text}");
        assert!(text.contains("\"reason\": \"illness\""), "{text}");
    }

    #[test]
    fn bad_windows_are_reported_with_their_positions_and_clear_messages() {
        let mut files = with_settings(
            r#"{"due": "2026-11-30 23:00",
 "extensions": {"student09": {"due": "2026-12-02 23:00"}, "student01": {"due": "2026-11-29 23:00"}},
 "late": {"until": "2026-11-30 22:00", "penalty": "10 percent", "floor": "150%"},
 "feedback": "never"}"#,
        );
        files.insert(
            "studentsList.json",
            r#"[{"student_id": "student01", "email": "s1@example.com", "extraTime": "two days"}]"#,
        );
        let problems = parse(&files, TZ).unwrap_err().to_string();
        for expected in [
            "subjects/os/t1/test.json:3:51: .late.penalty: penalty \"10 percent\" is not a percentage a day; write it like \"10%/day\"",
            "subjects/os/t1/test.json:3:74: .late.floor: floor \"150%\" is not a percentage",
            "subjects/os/t1/test.json:4:14: .feedback: feedback \"never\" is not known",
            "studentsList.json:1:70: [0].extraTime: extraTime \"two days\" is not a duration",
        ] {
            assert!(problems.contains(expected), "missing {expected:?} in\n{problems}");
        }
        // The unknown student is found once the roster parses.
        files.insert("studentsList.json", ROSTER);
        files.insert(
            "subjects/os/t1/test.json",
            r#"{"due": "2026-11-30 23:00", "extensions": {"student09": {"due": "2026-12-02 23:00"},
 "student01": {"due": "2026-11-29 23:00"}},
 "late": {"until": "2026-11-30 22:00", "penalty": "10%/day"}}"#,
        );
        let problems = parse(&files, TZ).unwrap_err().to_string();
        for expected in [
            "subjects/os/t1/test.json:1:57: .extensions.student09: extension for unknown student \"student09\": not in studentsList.json",
            "subjects/os/t1/test.json:2:15: .extensions.student01: the extension of student01 ends 2026-11-29 23:00 CET, not after the test's due 2026-11-30 23:00 CET; an extension can only give more time",
            "subjects/os/t1/test.json:3:20: .late.until: late until 2026-11-30 22:00 CET is not after the due 2026-11-30 23:00 CET",
        ] {
            assert!(problems.contains(expected), "missing {expected:?} in\n{problems}");
        }
    }

    #[test]
    fn a_late_window_is_checked_against_the_due_the_test_is_published_with() {
        // No due in test.json: the next Monday 23:00 (2026-11-30) is the due.
        let files =
            with_settings(r#"{"late": {"until": "2026-11-30 20:00", "penalty": "10%/day"}}"#);
        let c = parse(&files, TZ).unwrap();
        let err = plan(
            &c,
            &Published::default(),
            utc("2026-11-24T10:00:00Z"),
            TZ,
            SyncOptions::default(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains(".late.until: late until 2026-11-30 20:00 CET is not after the due 2026-11-30 23:00 CET"), "{err}");
    }

    #[test]
    fn a_changed_extra_time_is_a_change_of_that_student_in_the_plan() {
        let c = parse(&with_settings("{}"), TZ).unwrap();
        let now = utc("2026-11-24T10:00:00Z");
        let first = plan(&c, &Published::default(), now, TZ, SyncOptions::default()).unwrap();
        let published = Published {
            roster: Some(c.roster.clone()),
            ..Published::default()
        };
        let mut files = with_settings("{}");
        files.insert("studentsList.json", ROSTER.replace("\"48h\"", "\"72h\""));
        let changed = parse(&files, TZ).unwrap();
        let p = plan(&changed, &published, now, TZ, SyncOptions::default()).unwrap();
        assert!(
            p.to_string()
                .contains("update    student student02: extraTime changed"),
            "{p}"
        );
        assert!(first.to_string().contains("add       student student02"));
    }
}
