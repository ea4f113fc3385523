//! What a correction says: in a student's corrected email, the score and grade they
//! were sent before and now, and each question whose key changed; in the trainer's
//! report of a rescore, every student whose grade changed, old → new.

use super::email::escape;
use super::grading::Score;
use crate::ids::StudentId;
use crate::model::Answer;
use std::fmt::Write;

fn key_label(id: Option<&Answer>, text: Option<&str>) -> String {
    match (id, text) {
        (None, _) => "(not in the answer key)".to_owned(),
        (Some(id), Some(text)) => format!("{id}) {text}"),
        (Some(id), None) => format!("{id})"),
    }
}

/// The lines saying what changed, the same for both parts of the email.
fn change_lines(s: &Score) -> Vec<String> {
    let Some(p) = &s.previous else {
        return vec![];
    };
    let mut lines = vec![
        format!(
            "Score: {} / {} points ({:.1}%) before, now {} / {} points ({:.1}%)",
            p.points, p.total, p.percentage, s.points, s.total, s.percentage
        ),
        format!(
            "Grade: {} / {} before, now {} / {}",
            p.grade, p.max_grade, s.grade, s.max_grade
        ),
    ];
    for c in &p.key_changes {
        let number = s
            .questions
            .iter()
            .position(|q| q.question_id == c.question_id)
            .map_or_else(|| c.question_id.to_string(), |i| (i + 1).to_string());
        let question = s
            .questions
            .iter()
            .find(|q| q.question_id == c.question_id)
            .map(|q| q.question.as_str())
            .filter(|t| !t.is_empty())
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        lines.push(format!(
            "Question {number}{question}: the correct answer was {}, it is now {}",
            key_label(c.old.as_ref(), c.old_text.as_deref()),
            key_label(c.new.as_ref(), c.new_text.as_deref())
        ));
    }
    lines
}

/// The "what changed" part of a corrected result; nothing for a first result (or a
/// correction of a result the student was never sent).
pub fn student_changes(s: &Score, text: &mut String, html: &mut String) {
    let lines = change_lines(s);
    if lines.is_empty() {
        return;
    }
    text.push_str("What changed since the result you were sent before:\n");
    html.push_str("<p><b>What changed</b> since the result you were sent before:</p>\n<ul>\n");
    for line in &lines {
        let _ = writeln!(text, "  {line}");
        let _ = writeln!(html, "<li>{}</li>", escape(line));
    }
    text.push('\n');
    html.push_str("</ul>\n");
}

/// A student whose result a rescore changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeChange<'a> {
    pub student_id: &'a StudentId,
    pub old_points: super::points::Points,
    pub old_total: u32,
    pub old_grade: u32,
    pub points: super::points::Points,
    pub grade: u32,
    pub total: u32,
}

/// The report's list of changed grades for a rescored test.
pub fn report_changes(text: &mut dyn Write, html: &mut dyn Write, changes: &[GradeChange]) {
    let changed: Vec<&GradeChange> = changes.iter().filter(|c| c.old_grade != c.grade).collect();
    let _ = writeln!(text, "Grades changed by this rescore: {}", changed.len());
    let _ = writeln!(
        html,
        "<p>Grades changed by this rescore: {}</p>",
        changed.len()
    );
    if changed.is_empty() {
        return;
    }
    if changed.len() > super::report_body::BODY_ROWS {
        let line = "Too many to list here: the attached grades.csv has every new grade; the old ones are in the earlier report.";
        let _ = writeln!(text, "  {line}");
        let _ = writeln!(html, "<p>{line}</p>");
        return;
    }
    let _ = writeln!(
        html,
        "<table cellpadding=\"4\" cellspacing=\"0\" border=\"1\" style=\"border-collapse:collapse;border-color:#ccc;\">\n\
         <tr><th align=\"left\">Student</th><th align=\"left\">Grade</th><th align=\"left\">Points</th></tr>"
    );
    for c in changed {
        let _ = writeln!(
            text,
            "  {}  grade {} -> {}  points {}/{} -> {}/{}",
            c.student_id, c.old_grade, c.grade, c.old_points, c.old_total, c.points, c.total
        );
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{} &rarr; {}</td><td>{}/{} &rarr; {}/{}</td></tr>",
            escape(c.student_id.as_str()),
            c.old_grade,
            c.grade,
            c.old_points,
            c.old_total,
            c.points,
            c.total
        );
    }
    let _ = html.write_str("</table>\n");
}
