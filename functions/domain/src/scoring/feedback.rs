//! Feedback timing: no email reveals a test's correct answers while any student
//! who takes it may still submit (extensions and late windows included), and each
//! student still hears back as early as that allows.
//!
//! The rule (docs/scorer.md, "Feedback timing"), for a result at revision r:
//! - with `"feedback": "at-own-close"` (the default), once the student's own
//!   close and the grace have passed they get their score and right/wrong per
//!   question; the correct answers are in it only if every window of the test has
//!   closed (and its grace passed), otherwise they follow in one more email then;
//! - with `"feedback": "at-last-close"`, nothing goes out before every window has
//!   closed, then one email with everything.
//!
//! Recorded per student as the revision last emailed (`notified`) and, when that
//! email withheld the answers, the same revision in `withheld`. Read as one number,
//! stage = 2 × revision + (1 if the answers were in it), records only ever move
//! forward: folding a journal twice, or an older wave after a newer one, changes
//! nothing, which keeps the scorer's exactly-once argument as it was.

use super::email::escape;
use super::grading::Score;
use crate::deadline::display_in;
use crate::ids::StudentId;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What one email about one result says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Score, right/wrong and the correct answers: every window has closed.
    Full,
    /// Score and right/wrong only: other students may still submit.
    Withheld,
    /// The correct answers after a [`Stage::Withheld`] email of the same result.
    Answers,
}

/// The email a student is owed about a result now, if any.
pub fn owed(told: bool, answered: bool, reveal: bool, hold_until_last: bool) -> Option<Stage> {
    match (told, answered, reveal) {
        (_, _, false) if hold_until_last => None,
        (false, _, true) => Some(Stage::Full),
        (false, _, false) => Some(Stage::Withheld),
        (true, false, true) => Some(Stage::Answers),
        _ => None,
    }
}

fn stage(
    notified: &BTreeMap<StudentId, u32>,
    withheld: &BTreeMap<StudentId, u32>,
    s: &StudentId,
) -> Option<u64> {
    let n = *notified.get(s)?;
    let answers = withheld.get(s) != Some(&n);
    Some(2 * u64::from(n) + u64::from(answers))
}

/// Whether the student was emailed `revision` (or a later one) with its answers.
pub fn answered(
    notified: &BTreeMap<StudentId, u32>,
    withheld: &BTreeMap<StudentId, u32>,
    student: &StudentId,
    revision: u32,
) -> bool {
    stage(notified, withheld, student).is_some_and(|s| s > 2 * u64::from(revision))
}

/// Records an email about `revision`; returns whether the record moved forward.
pub fn record(
    notified: &mut BTreeMap<StudentId, u32>,
    withheld: &mut BTreeMap<StudentId, u32>,
    student: &StudentId,
    revision: u32,
    without_answers: bool,
) -> bool {
    let new = 2 * u64::from(revision) + u64::from(!without_answers);
    if stage(notified, withheld, student).is_some_and(|old| old >= new) {
        return false;
    }
    notified.insert(student.clone(), revision);
    if without_answers {
        withheld.insert(student.clone(), revision);
    } else {
        withheld.remove(student);
    }
    true
}

/// What a score-only email shows where the correct answer would be: short, so the
/// column stays narrow on a phone (the note above the table says when and why).
pub const WITHHELD: &str = "(sent later)";

/// The subject of an email that only brings correct answers; `None` otherwise.
pub fn subject(items: &[(&Score, Stage)]) -> Option<String> {
    if items.is_empty() || items.iter().any(|(_, st)| *st != Stage::Answers) {
        return None;
    }
    Some(match items {
        [(one, _)] => format!("[{}] [{}] Correct answers", one.subject, one.test_id),
        many => {
            let tests: Vec<String> = many
                .iter()
                .map(|(s, _)| format!("{}/{}", s.subject, s.test_id))
                .collect();
            format!("[Ework] Correct answers: {}", tests.join(", "))
        }
    })
}

/// The lines under a test's score: the late penalty, and what this email holds
/// back or brings.
pub fn notes(score: &Score, stage: Stage, tz: Tz, text: &mut String, html: &mut String) {
    if let Some(late) = &score.late {
        let l = &late.lateness;
        let line = format!(
            "Late: received {}, {} started day(s) after your due {}; penalty {}: grade x {} ({} -> {}).",
            display_in(late.received_at, tz),
            l.days_late,
            display_in(l.due_at, tz),
            l.penalty,
            l.factor,
            late.grade_on_time,
            score.grade
        );
        let _ = writeln!(text, "{line}\n");
        let _ = writeln!(html, "<p style=\"color:#b42318;\">{}</p>", escape(&line));
    }
    let note = match stage {
        Stage::Full => return,
        Stage::Withheld => "Other students may still submit this test, so the correct answers are not shown yet; you will get them by email once every window has closed.",
        Stage::Answers => "Every window of this test has closed: here are the correct answers.",
    };
    let _ = writeln!(text, "{note}\n");
    let _ = writeln!(html, "<p><i>{}</i></p>", escape(note));
}

/// The report's list of windows still open, by close.
pub fn open_windows(
    text: &mut dyn Write,
    html: &mut dyn Write,
    open: &[(StudentId, DateTime<Utc>)],
    tz: Tz,
) {
    if open.is_empty() {
        return;
    }
    let heading = format!(
        "Open windows ({}; graded and reported once they close):",
        open.len()
    );
    if open.len() > super::report_body::BODY_ROWS {
        let last = open
            .iter()
            .map(|(_, close)| *close)
            .max()
            .unwrap_or_default();
        let line = format!(
            "{heading} too many to list here; the last closes {}.",
            display_in(last, tz)
        );
        let _ = writeln!(text, "{line}");
        let _ = writeln!(html, "<p>{}</p>", escape(&line));
        return;
    }
    let _ = writeln!(text, "{heading}");
    let _ = writeln!(html, "<p>{heading}</p>\n<ul>");
    for (student, close) in open {
        let _ = writeln!(text, "  {student} until {}", display_in(*close, tz));
        let _ = writeln!(
            html,
            "<li>{} until {}</li>",
            escape(student.as_str()),
            escape(&display_in(*close, tz))
        );
    }
    let _ = html.write_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_owed_follows_the_windows_and_the_trainers_choice() {
        use Stage::*;
        // (told, answered, every window closed, at-last-close, owed)
        let table = [
            (false, false, false, false, Some(Withheld)),
            (false, false, true, false, Some(Full)),
            (true, false, false, false, None),
            (true, false, true, false, Some(Answers)),
            (true, true, true, false, None),
            (false, false, false, true, None),
            (false, false, true, true, Some(Full)),
            (true, true, false, false, None),
        ];
        for (told, answered, reveal, hold, expected) in table {
            assert_eq!(
                owed(told, answered, reveal, hold),
                expected,
                "told {told} answered {answered} reveal {reveal} hold {hold}"
            );
        }
    }

    #[test]
    fn records_only_move_forward_whatever_the_order_they_are_folded_in() {
        let s = StudentId::parse("s1").unwrap();
        let emails = [(0, true), (0, false), (1, true), (1, false)];
        // Every order of the four emails ends in the same record: revision 1 answered.
        let orders = [
            [0, 1, 2, 3],
            [3, 2, 1, 0],
            [1, 0, 3, 2],
            [2, 0, 3, 1],
            [0, 2, 1, 3],
        ];
        for order in orders {
            let (mut n, mut w) = (BTreeMap::new(), BTreeMap::new());
            for i in order {
                let (rev, without) = emails[i];
                record(&mut n, &mut w, &s, rev, without);
                // Folding the same email again changes nothing.
                assert!(!record(&mut n, &mut w, &s, rev, without));
            }
            assert_eq!((n.get(&s), w.get(&s)), (Some(&1), None), "{order:?}");
            assert!(answered(&n, &w, &s, 1));
        }
        let (mut n, mut w) = (BTreeMap::new(), BTreeMap::new());
        record(&mut n, &mut w, &s, 0, true);
        assert!(!answered(&n, &w, &s, 0));
        // A journal written before this field existed means the answers were in it.
        let legacy = BTreeMap::from([(s.clone(), 0)]);
        assert!(answered(&legacy, &BTreeMap::new(), &s, 0));
        assert!(!answered(&legacy, &BTreeMap::new(), &s, 1));
    }
}
