//! `test-time list`: the open tests as a table, blocks on a narrow terminal, or JSON.

use super::{client, AppError, Context};
use crate::config::Config;
use crate::deadline::deadline;
use crate::prompt::Term;
use crate::render::{cell, width_of};
use chrono::Utc;
use ework_domain::ids::{SubjectName, TestId};
use std::io::{BufRead, Write};

/// The widest the title column gets; longer titles are cut.
const TITLE_WIDTH: usize = 30;

/// `Processes (3 points)`; a long title is cut before the points, so they always show.
fn title_cell(title: &str, points: Option<u32>) -> String {
    let Some(points) = points else {
        return title.to_string();
    };
    let note = format!(" ({points} points)");
    let room = TITLE_WIDTH.saturating_sub(width_of(&note));
    if width_of(title) <= room {
        return format!("{title}{note}");
    }
    format!("{}{note}", cell(title, room).trim_end())
}

pub(super) fn list<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    config: &Config,
    json: bool,
) -> Result<(), AppError> {
    let api = client(config, ctx.timeout)?;
    let listing = ctx.waiting.run("Loading your open tests…", || {
        api.list_tests(&config.student_id)
    })?;
    let name = listing.student.as_ref().and_then(|s| s.name.clone());
    let listing = listing.subjects;
    let drafts = ctx.drafts();
    let unsent = drafts.of_student(&config.student_id, &config.api_url);
    let drafted = |s: &SubjectName, t: &TestId| {
        unsent
            .iter()
            .any(|d| &d.subject_name == s && &d.test_id == t)
    };
    if json {
        let tests: Vec<serde_json::Value> = listing
            .iter()
            .flat_map(|s| s.tests.iter().map(move |t| (&s.subject, t)))
            .map(|(subject, t)| {
                let mut test = serde_json::json!({
                    "subject": subject,
                    "testId": t.test_id,
                    "title": t.title,
                    "dueAt": t.due_at,
                    "submitted": t.submitted,
                    "unsentDraft": drafted(subject, &t.test_id),
                });
                if let Some(late) = &t.late {
                    test["late"] = serde_json::json!(late);
                }
                if let Some(points) = t.points {
                    test["points"] = serde_json::json!(points);
                }
                test
            })
            .collect();
        let mut doc = serde_json::json!({ "studentId": config.student_id, "openTests": tests });
        if let Some(name) = name {
            doc["name"] = serde_json::json!(name);
        }
        let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
        term.say(&text)?;
        return Ok(());
    }
    let now = Utc::now();
    let zone = term.zone;
    let rows: Vec<[String; 5]> = listing
        .iter()
        .flat_map(|s| s.tests.iter().map(move |t| (&s.subject, t)))
        .map(|(subject, t)| {
            let mut status = if t.submitted { "submitted" } else { "to take" }.to_string();
            if drafted(subject, &t.test_id) {
                status.push_str(", unsent draft");
            }
            [
                subject.to_string(),
                t.test_id.to_string(),
                title_cell(&t.title, t.points),
                deadline(t.due_at, t.late.as_ref(), now, &zone),
                status,
            ]
        })
        .collect();
    if rows.is_empty() {
        term.say("No open tests for you right now.")?;
        return Ok(());
    }
    let style = term.style;
    let paint = |status: &str| {
        if status.starts_with("submitted") {
            style.green(status)
        } else {
            style.yellow(status)
        }
    };
    let header = ["SUBJECT", "TEST", "TITLE", "DUE", "STATUS"];
    let mut widths: Vec<usize> = header.iter().map(|h| width_of(h)).collect();
    for row in &rows {
        for (w, value) in widths.iter_mut().zip(row) {
            *w = (*w).max(width_of(value));
        }
    }
    widths[2] = widths[2].min(TITLE_WIDTH);
    let total = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    if term.width.is_some_and(|w| total > w) {
        // Too narrow for a table: one block per test.
        for row in &rows {
            let [subject, test, title, due, status] = row;
            term.say("")?;
            term.say_wrapped("", "  ", &format!("{subject} / {test}: {}", paint(status)))?;
            term.say_wrapped("  ", "  ", title)?;
            term.say_wrapped("  due ", "      ", due)?;
        }
        return Ok(());
    }
    let line = |cells: [&str; 5], status: String| {
        format!(
            "{}  {}  {}  {}  {status}",
            cell(cells[0], widths[0]),
            cell(cells[1], widths[1]),
            cell(cells[2], widths[2]),
            cell(cells[3], widths[3]),
        )
    };
    term.say(&style.bold(&line(
        [header[0], header[1], header[2], header[3], header[4]],
        header[4].to_string(),
    )))?;
    for row in &rows {
        let [subject, test, title, due, status] = row;
        term.say(&line([subject, test, title, due, status], paint(status)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_title_is_cut_before_its_points() {
        assert_eq!(title_cell("Processes", Some(3)), "Processes (3 points)");
        assert_eq!(
            title_cell("Processes and the kernel", None),
            "Processes and the kernel"
        );
        let cut = title_cell("Processes and the kernel", Some(4));
        // 30 columns: " (4 points)" takes 11, the title 16 and the dots 3.
        assert_eq!(cut, "Processes and th... (4 points)");
        assert_eq!(width_of(&cut), TITLE_WIDTH);
    }
}
