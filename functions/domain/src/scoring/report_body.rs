//! The trainer's report as read: per test its statistics, grade distribution and
//! item analysis (the one per-question table, see [`items_render`]), then the grades,
//! missing submissions, retried emails and failed sends, in the text part (aligned
//! tables, see [`table`]) and the HTML part alike.

use super::email::{escape, GradeRow, Report, ReportTest, HTML_HEAD, HTML_TAIL, TABLE};
use super::feedback;
use super::items_render;
use super::stats::TestStats;
use super::table::{self, Align};
use crate::deadline::display_in;
use crate::model::Student;
use chrono_tz::Tz;
use std::fmt::Write;

fn fmt_opt_f(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

fn fmt_opt_u(v: Option<u32>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Horizontal bars made of table cells with a background colour: the one kind of
/// bar chart Outlook, Gmail and Apple Mail all draw (no images, no CSS flexbox).
fn distribution_html(stats: &TestStats) -> String {
    let top = stats.distribution.iter().copied().max().unwrap_or(0).max(1);
    let mut html = String::from(
        "<table cellpadding=\"2\" cellspacing=\"0\" border=\"0\" role=\"presentation\">\n",
    );
    for (grade, count) in stats.distribution.iter().enumerate().rev() {
        let width = count * 200 / top;
        let bar = if width == 0 {
            "<td width=\"1\" style=\"width:1px;height:14px;\"></td>".to_owned()
        } else {
            format!(
                "<td width=\"{width}\" bgcolor=\"#2f6fb0\" style=\"width:{width}px;height:14px;background-color:#2f6fb0;\"></td>"
            )
        };
        let _ = writeln!(
            html,
            "<tr><td align=\"right\" style=\"width:60px;\">grade {grade}</td><td>\
             <table cellpadding=\"0\" cellspacing=\"0\" border=\"0\" role=\"presentation\"><tr>{bar}\
             <td style=\"padding-left:6px;\">{count}</td></tr></table></td></tr>"
        );
    }
    html.push_str("</table>\n");
    html
}

/// The report's text or HTML (the other goes to [`Discard`]).
pub(super) fn report_body(report: &Report, text: &mut dyn Write, html: &mut dyn Write) {
    let tz = report.time_zone;
    let _ = writeln!(
        text,
        "Scorer report of {}",
        display_in(report.generated_at, tz)
    );
    let _ = html.write_str(HTML_HEAD);
    let _ = writeln!(
        html,
        "<h1 style=\"font-size:18px;\">Scorer report of {}</h1>",
        escape(&display_in(report.generated_at, tz))
    );
    for t in &report.tests {
        test_statistics(text, html, t, tz);
        // One table per question: the item analysis, read as percent correct.
        let _ = text.write_str("\n");
        items_render::text(text, &t.items);
        items_render::html(html, &t.items);
    }
    if !report.tests.is_empty() {
        grades_table(text, html, report);
        missing_table(text, html, report);
    }
    retried_list(text, html, report);
    failed_table(text, html, report);
    let attached = if missing_attached(report) {
        "grades.csv, item-analysis.csv, test-statistics.csv and missing.csv"
    } else {
        "grades.csv, item-analysis.csv and test-statistics.csv"
    };
    let _ = writeln!(text, "\nAttached: {attached}.");
    let _ = writeln!(html, "<p>Attached: {attached}.</p>");
    let _ = html.write_str(HTML_TAIL);
}

/// The most rows a table or list of the body shows, so that none grows with the
/// course. Beyond it the body gives the count: grades and missing submissions are
/// then in `grades.csv` and `missing.csv`; a rescore's changes, open windows, retried
/// and failed sends are only counted (failures by error); problems list the first
/// ones. At 100 000 grades the tables alone were 30 MB of text and HTML, which with
/// `grades.csv` went over the 40 MB SES takes and held the scorer over its memory
/// target, and nobody reads them in a mail client (Gmail clips an HTML body after
/// 102 KB).
pub(super) const BODY_ROWS: usize = 1000;

/// The missing submissions go to `missing.csv` (the body has too many to list).
pub(super) fn missing_attached(report: &Report) -> bool {
    report.tests.iter().map(|t| t.missing.len()).sum::<usize>() > BODY_ROWS
}

/// What the body says instead of a table of `file`'s rows.
fn too_many(text: &mut dyn Write, html: &mut dyn Write, lead: &str, file: &str) {
    let line = format!("{lead} to list here: every one is in the attached {file}.");
    let _ = writeln!(text, "  {line}");
    let _ = writeln!(html, "<p>{}</p>", escape(&line));
}

/// One test's statistics and problems.
fn test_statistics(text: &mut dyn Write, html: &mut dyn Write, t: &ReportTest, tz: Tz) {
    let st = &t.stats;
    let rescored = if t.rescored { " (rescored)" } else { "" };
    let _ = write!(
        text,
        "\n== {} / {} - {}{rescored} (closed {})\nSubmitted {}/{}; mean {}, median {}, min {}, max {}\nGrade distribution:\n",
        t.meta.subject,
        t.meta.test_id,
        t.meta.title,
        display_in(t.meta.due_at, tz),
        st.submitted,
        st.enrolled,
        fmt_opt_f(st.mean),
        fmt_opt_f(st.median),
        fmt_opt_u(st.min),
        fmt_opt_u(st.max)
    );
    for (grade, count) in st.distribution.iter().enumerate().rev() {
        let _ = writeln!(
            text,
            "  grade {grade}: {:<20} {count}",
            "#".repeat((*count).min(20))
        );
    }
    let _ = write!(
        html,
        "<h2 style=\"font-size:16px;\">{} / {} &ndash; {}{rescored}</h2>\n<p>Closed {}</p>\n{TABLE}\
         <tr><th align=\"left\">Submitted</th><th align=\"left\">Mean</th><th align=\"left\">Median</th>\
         <th align=\"left\">Min</th><th align=\"left\">Max</th></tr>\n\
         <tr><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n</table>\n",
        escape(t.meta.subject.as_str()),
        escape(t.meta.test_id.as_str()),
        escape(&t.meta.title),
        escape(&display_in(t.meta.due_at, tz)),
        st.submitted,
        st.enrolled,
        fmt_opt_f(st.mean),
        fmt_opt_f(st.median),
        fmt_opt_u(st.min),
        fmt_opt_u(st.max)
    );
    let _ = html.write_str("<p>Grade distribution</p>\n");
    let _ = html.write_str(&distribution_html(st));
    if t.rescored {
        super::correction::report_changes(text, html, &t.changes);
    }
    feedback::open_windows(text, html, &t.open_windows, tz);
    for p in t.problems.iter().take(BODY_ROWS) {
        let _ = writeln!(text, "Problem: {p}");
        let _ = writeln!(
            html,
            "<p style=\"color:#b42318;\">Problem: {}</p>",
            escape(p)
        );
    }
    // Usually one kind, one per student (unreadable submissions): the first
    // thousand show what to fix.
    let more = t.problems.len().saturating_sub(BODY_ROWS);
    if more > 0 {
        let plural = if more == 1 { "" } else { "s" };
        let line = format!("And {more} more problem{plural}, not listed.");
        let _ = writeln!(text, "{line}");
        let _ = writeln!(html, "<p>{line}</p>");
    }
}

/// The grades of every test in the report; the Name column only when the roster
/// names someone.
fn grades_table(text: &mut dyn Write, html: &mut dyn Write, report: &Report) {
    let rows: Vec<(&ReportTest<'_>, &GradeRow<'_>)> = report
        .tests
        .iter()
        .flat_map(|t| t.scores.iter().map(move |s| (t, s)))
        .collect();
    let _ = writeln!(text, "\nGrades");
    let _ = writeln!(html, "<h2 style=\"font-size:16px;\">Grades</h2>");
    if rows.len() > BODY_ROWS {
        let lead = format!("{} grades, too many", rows.len());
        return too_many(text, html, &lead, "grades.csv");
    }
    let named = rows.iter().any(|(_, s)| s.name.is_some());
    let mut columns = vec![
        ("Subject", Align::Left),
        ("Test", Align::Left),
        ("Student", Align::Left),
    ];
    if named {
        columns.push(("Name", Align::Left));
    }
    columns.extend([("Points", Align::Right), ("Grade", Align::Right)]);
    // One row's cells, made when needed: held for every row at once they would be
    // most of the pass's memory at 100 000 submissions.
    let cells = |(t, s): &(&ReportTest<'_>, &GradeRow<'_>)| {
        let mut row = vec![
            t.meta.subject.to_string(),
            t.meta.test_id.to_string(),
            s.student_id.to_string(),
        ];
        if named {
            row.push(s.name.unwrap_or_default().to_owned());
        }
        row.push(format!("{}/{}", s.points, s.total));
        row.push(format!("{}/{}", s.grade, s.max_grade));
        row
    };
    table::render_each(text, "  ", &columns, || rows.iter().map(cells));
    let _ = write!(html, "{TABLE}<tr>");
    for (name, align) in &columns {
        let side = if *align == Align::Right {
            "right"
        } else {
            "left"
        };
        let _ = write!(html, "<th align=\"{side}\">{name}</th>");
    }
    let _ = html.write_str("</tr>\n");
    for row in rows.iter().map(cells) {
        let _ = html.write_str("<tr>");
        for (cell, (_, align)) in row.iter().zip(&columns) {
            let side = if *align == Align::Right {
                " align=\"right\""
            } else {
                ""
            };
            let _ = write!(html, "<td{side}>{}</td>", escape(cell));
        }
        let _ = html.write_str("</tr>\n");
    }
    let _ = html.write_str("</table>\n");
}

/// Enrolled students without a submission.
fn missing_table(text: &mut dyn Write, html: &mut dyn Write, report: &Report) {
    let missing: Vec<(&ReportTest<'_>, &Student)> = report
        .tests
        .iter()
        .flat_map(|t| t.missing.iter().map(move |m| (t, *m)))
        .collect();
    let _ = writeln!(text, "\nMissing submissions: {}", missing.len());
    let _ = writeln!(
        html,
        "<h2 style=\"font-size:16px;\">Missing submissions ({})</h2>",
        missing.len()
    );
    if missing.is_empty() {
        return;
    }
    if missing.len() > BODY_ROWS {
        return too_many(text, html, "Too many", "missing.csv");
    }
    let named = missing.iter().any(|(_, m)| m.name.is_some());
    let mut columns = vec![
        ("Subject", Align::Left),
        ("Test", Align::Left),
        ("Student", Align::Left),
    ];
    if named {
        columns.push(("Name", Align::Left));
    }
    columns.push(("Email", Align::Left));
    let cells: Vec<Vec<String>> = missing
        .iter()
        .map(|(t, m)| {
            let mut row = vec![
                t.meta.subject.to_string(),
                t.meta.test_id.to_string(),
                m.student_id.to_string(),
            ];
            if named {
                row.push(m.name.clone().unwrap_or_default());
            }
            row.push(m.email.clone());
            row
        })
        .collect();
    let _ = text.write_str(&table::render("  ", &columns, &cells));
    let _ = html.write_str(TABLE);
    let _ = html.write_str("<tr>");
    for (name, _) in &columns {
        let _ = write!(html, "<th align=\"left\">{name}</th>");
    }
    let _ = html.write_str("</tr>\n");
    for row in &cells {
        let _ = html.write_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            // The address is the last column: let it wrap, or a phone scrolls sideways.
            let wrap = if i + 1 == row.len() {
                " style=\"word-break:break-all;\""
            } else {
                ""
            };
            let _ = write!(html, "<td{wrap}>{}</td>", escape(cell));
        }
        let _ = html.write_str("</tr>\n");
    }
    let _ = html.write_str("</table>\n");
}

fn retried_list(text: &mut dyn Write, html: &mut dyn Write, report: &Report) {
    let n = report.retried.len();
    if n > BODY_ROWS {
        let line =
            format!("Emails sent again after an earlier failure: {n}, too many to list here.");
        let _ = writeln!(text, "\n{line}");
        let _ = writeln!(html, "<h2 style=\"font-size:16px;\">{line}</h2>");
        return;
    }
    if n > 0 {
        let _ = text.write_str("\nEmails sent again after an earlier failure:\n");
        let _ = html.write_str(
            "<h2 style=\"font-size:16px;\">Emails sent after an earlier failure</h2>\n<ul>\n",
        );
        for r in &report.retried {
            let _ = writeln!(text, "  {r}");
            let _ = writeln!(html, "<li>{}</li>", escape(r));
        }
        let _ = html.write_str("</ul>\n");
    }
}

fn failed_table(text: &mut dyn Write, html: &mut dyn Write, report: &Report) {
    if !report.failed.is_empty() {
        let _ = writeln!(
            text,
            "\nFailed sends (retried on the next run): {}",
            report.failed.len()
        );
        let _ = writeln!(
            html,
            "<h2 style=\"font-size:16px;color:#b42318;\">Failed sends ({}), retried on the next run</h2>",
            report.failed.len()
        );
        if report.failed.len() > BODY_ROWS {
            return failures_by_error(text, html, report);
        }
        let _ = writeln!(
            html,
            "{TABLE}<tr><th align=\"left\">To</th><th align=\"left\">Subject</th><th align=\"left\">Error</th></tr>"
        );
        let cells: Vec<Vec<String>> = report
            .failed
            .iter()
            .map(|f| vec![f.to.clone(), f.subject.clone(), f.error.clone()])
            .collect();
        let columns = [
            ("To", Align::Left),
            ("Subject", Align::Left),
            ("Error", Align::Left),
        ];
        let _ = text.write_str(&table::render("  ", &columns, &cells));
        for f in &report.failed {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&f.to),
                escape(&f.subject),
                escape(&f.error)
            );
        }
        let _ = html.write_str("</table>\n");
    }
}

/// Failed sends counted by error, most frequent first (an outage or throttling
/// fails every send of a pass the same way): at most [`FAILURE_KINDS`] errors.
fn failures_by_error(text: &mut dyn Write, html: &mut dyn Write, report: &Report) {
    let mut counts: std::collections::HashMap<&str, usize> = Default::default();
    for f in &report.failed {
        *counts.entry(f.error.as_str()).or_default() += 1;
    }
    let mut kinds: Vec<(&str, usize)> = counts.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let others: usize = kinds.iter().skip(FAILURE_KINDS).map(|(_, n)| n).sum();
    kinds.truncate(FAILURE_KINDS);
    let _ = writeln!(text, "  Too many to list here; by error:");
    let _ = writeln!(html, "<p>Too many to list here; by error:</p>");
    let cells: Vec<Vec<String>> = kinds
        .iter()
        .map(|(error, n)| vec![n.to_string(), (*error).to_owned()])
        .collect();
    let columns = [("Sends", Align::Right), ("Error", Align::Left)];
    let _ = text.write_str(&table::render("  ", &columns, &cells));
    let _ = writeln!(
        html,
        "{TABLE}<tr><th align=\"right\">Sends</th><th align=\"left\">Error</th></tr>"
    );
    for (error, n) in &kinds {
        let _ = writeln!(
            html,
            "<tr><td align=\"right\">{n}</td><td>{}</td></tr>",
            escape(error)
        );
    }
    let _ = html.write_str("</table>\n");
    if others > 0 {
        let line = format!("And {others} with other errors.");
        let _ = writeln!(text, "  {line}");
        let _ = writeln!(html, "<p>{line}</p>");
    }
}

/// The most kinds of error the report counts failed sends by.
const FAILURE_KINDS: usize = 10;
