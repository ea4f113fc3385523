//! `test-time show`: a test with the answers submitted, and whether the receipt matches them.

use super::{client, warn, AppError, Context};
use crate::api::TestPage;
use crate::choice::{by_question, points_note, Choice, Sent};
use crate::config::Config;
use crate::deadline::deadline;
use crate::prompt::Term;
use crate::render::{moment, short_hash, width_of, wrap};
use chrono::{DateTime, FixedOffset, Utc};
use ework_domain::api::contract::{LateWindow, TestInfo, TestSummary};
use ework_domain::ids::{SubjectName, TestId};
use ework_domain::model::Question;
use std::io::{BufRead, Write};

/// The student's own due and late window: from the test as served (the API sends
/// both with it), else from the listing (an API that sends no `test` field).
pub(super) fn own_window<'a>(
    info: Option<&'a TestInfo>,
    summary: Option<&'a TestSummary>,
) -> Option<(DateTime<FixedOffset>, Option<&'a LateWindow>)> {
    info.map(|i| (i.due_at, i.late.as_ref()))
        .or_else(|| summary.map(|s| (s.due_at, s.late.as_ref())))
}

/// The test's title, the student's own deadline and late window, and the number of
/// questions and points.
pub(super) fn print_header<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    (info, summary): (Option<&TestInfo>, Option<&TestSummary>),
    subject: &SubjectName,
    test: &TestId,
    questions: &[Question],
) -> std::io::Result<()> {
    let style = term.style;
    let title = info.map(|i| i.title.as_str()).unwrap_or("");
    term.say("")?;
    for line in wrap(
        &format!("{subject} / {test}: {title}"),
        term.width,
        "",
        "  ",
    ) {
        term.say(&style.bold(&line))?;
    }
    let zone = term.zone;
    if let Some((due_at, late)) = own_window(info, summary) {
        let text = deadline(due_at, late, Utc::now(), &zone);
        term.say_wrapped("Due ", "    ", &text)?;
    }
    let count = questions.len();
    let points: u32 = questions.iter().map(|q| q.points).sum();
    let total = summary.and_then(|s| s.points).unwrap_or(points);
    if questions.iter().any(|q| q.points != 1) || total != points {
        term.say(&format!("{count} question(s), {total} points."))
    } else {
        term.say(&format!("{count} question(s)."))
    }
}

/// The submitted answers, in question order.
pub(super) fn submitted_answers(submission: &Sent, questions: &[Question]) -> Vec<Option<Choice>> {
    by_question(&submission.test_result, questions)
}

pub(super) fn show<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    config: &Config,
    subject: &SubjectName,
    test: &TestId,
    json: bool,
) -> Result<(), AppError> {
    let api = client(config, ctx.timeout)?;
    let page = ctx.waiting.run("Loading the test…", || {
        api.get_test(&config.student_id, subject, test)
    })?;
    let TestPage {
        info,
        questions,
        submission,
    } = page;
    let matches = submission
        .as_ref()
        .and_then(|s| s.receipt.as_ref().map(|r| r.describes(&s.test_result)));
    if json {
        let value = serde_json::json!({
            "test": info,
            "questions": questions,
            "submission": submission,
            "receiptMatchesAnswers": matches,
        });
        let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
        term.say(&text)?;
        return Ok(());
    }
    print_header(term, (info.as_ref(), None), subject, test, &questions)?;
    let chosen = submission
        .as_ref()
        .map(|s| submitted_answers(s, &questions))
        .unwrap_or_else(|| vec![None; questions.len()]);
    let style = term.style;
    for (i, (q, mine)) in questions.iter().zip(&chosen).enumerate() {
        term.say("")?;
        let first = format!("{}. ", i + 1);
        let rest = " ".repeat(first.len());
        let mut text = q.question.clone();
        if let Some(points) = points_note(q) {
            text.push_str(&format!("  [{points}]"));
        }
        if q.multiple {
            text.push_str("  [several answers]");
        }
        term.say_wrapped(&first, &rest, &text)?;
        for a in &q.answers {
            let mark = if mine.as_ref().is_some_and(|c| c.contains(&a.answer_id)) {
                "  <- your answer"
            } else {
                ""
            };
            let first = format!("  {}) ", a.answer_id);
            let rest = " ".repeat(width_of(&first));
            let lines = wrap(
                &format!("{}{mark}", a.answer_body),
                term.width,
                &first,
                &rest,
            );
            for line in lines {
                if mark.is_empty() {
                    term.say(&line)?;
                } else {
                    term.say(&style.green(&line))?;
                }
            }
        }
    }
    term.say("")?;
    let zone = term.zone;
    match &submission {
        None => term.say("Not submitted yet.")?,
        Some(s) => {
            let answered = s.test_result.len();
            term.tell(&format!(
                "Submitted: {answered} of {} question(s) answered.",
                questions.len()
            ))?;
            match (&s.receipt, matches) {
                (Some(r), Some(true)) => term.tell(&format!(
                    "Received {}; receipt sha256 {} (it matches the answers stored).",
                    moment(r.received_at, &zone),
                    short_hash(&r.sha256)
                ))?,
                (Some(r), _) => warn(
                    term,
                    &format!(
                        "Received {}; receipt sha256 {} does NOT match the answers stored: tell your trainer.",
                        moment(r.received_at, &zone),
                        short_hash(&r.sha256)
                    ),
                )?,
                (None, _) => term.tell("It was stored before receipts were kept: there is no receipt.")?,
            }
            if let Some(late) = s.receipt.as_ref().and_then(|r| r.late.as_ref()) {
                warn(term, &crate::deadline::received_late(late, &zone))?;
            }
        }
    }
    if let Ok(Some(d)) = ctx.drafts().load(&config.student_id, subject, test) {
        term.tell(&format!(
            "Unsent answers ({} answered, saved {}) are kept in {}: `test-time take {subject} {test}` resumes them, `test-time submit {subject} {test} --draft` sends them.",
            d.answered(),
            moment(d.saved_at, &zone),
            ctx.drafts().path(&config.student_id, subject, test).display()
        ))?;
    }
    Ok(())
}
