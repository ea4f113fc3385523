//! Rendering the emails: multipart/alternative (plain text + HTML) built with
//! lettre's message builder; the trainer's report also carries the grades as CSV.

use super::feedback::{self, Stage};
use super::grading::QuestionResult;
use super::grading::Score;
use super::items::ItemAnalysis;
use super::items_render;
use super::mime::{self, Base64, Count, Discard, QuotedPrintable, Sink};
use super::report_body::{missing_attached, report_body};
use super::stats::TestStats;
use crate::model::{Answer, Student, TestMeta};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::Message;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// A message ready for the mail port.
#[derive(Debug, Clone)]
pub struct RenderedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub raw: Vec<u8>,
}

/// Why a message could not be built (a bad address in the roster or config).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("invalid email address {0:?}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
}

/// Parses `Name <a@b>` or `a@b`.
pub fn parse_mailbox(raw: &str) -> Result<Mailbox, RenderError> {
    raw.trim()
        .parse::<Mailbox>()
        .map_err(|_| RenderError::Address(raw.to_owned()))
}

/// A Message-ID derived from what the email is about, so a message re-sent in the
/// documented duplicate window carries the same id and mail clients fold the pair.
fn message_id(identity: &str) -> String {
    let digest = hex::encode(Sha256::digest(identity.as_bytes()));
    format!("<{}@scorer.ework>", &digest[..32])
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `a) text`, or `a, c) text a; text c` for several answers.
fn answer_label(id: Option<&Answer>, text: Option<&str>) -> String {
    match (id, text) {
        (None, _) => "(no answer)".to_owned(),
        (Some(id), Some(text)) => format!("{id}) {text}"),
        (Some(id @ Answer::One(_)), None) => format!("{id}) (not an option of this question)"),
        (Some(id), None) => format!("{id}) (not all options of this question)"),
    }
}

fn correct_label(id: Option<&Answer>, text: Option<&str>) -> String {
    match id {
        None => "(not in the answer key)".to_owned(),
        Some(_) => answer_label(id, text),
    }
}

pub(super) const HTML_HEAD: &str =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Ework Trainings</title></head>\n\
<body style=\"font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;\">\n";
pub(super) const HTML_TAIL: &str = "</body></html>\n";
pub(super) const TABLE: &str =
    "<table cellpadding=\"4\" cellspacing=\"0\" border=\"1\" style=\"border-collapse:collapse;border-color:#ccc;\">\n";

/// Subject of a student's email.
pub fn student_subject(scores: &[&Score]) -> String {
    let corrected = scores.iter().any(|s| s.revision > 0);
    let suffix = if corrected {
        "Test score (corrected)"
    } else {
        "Test score"
    };
    match scores {
        [one] => format!("[{}] [{}] {suffix}", one.subject, one.test_id),
        _ => {
            let tests: Vec<String> = scores
                .iter()
                .map(|s| format!("{}/{}", s.subject, s.test_id))
                .collect();
            format!("[Ework] Test scores: {}", tests.join(", "))
        }
    }
}

/// The email telling one student their results (one or more tests), answers included.
pub fn student_email(
    from: &Mailbox,
    student: &Student,
    scores: &[&Score],
    date: DateTime<Utc>,
    tz: Tz,
) -> Result<RenderedMail, RenderError> {
    let items: Vec<(&Score, Stage)> = scores.iter().map(|s| (*s, Stage::Full)).collect();
    student_email_staged(from, student, &items, date, tz)
}

/// The email telling one student their results, each at its [`Stage`]: with the
/// correct answers, without them while others may still submit, or the answers
/// in a follow-up.
pub fn student_email_staged(
    from: &Mailbox,
    student: &Student,
    items: &[(&Score, Stage)],
    date: DateTime<Utc>,
    // Times in the email (a late result's due and receipt) read in the trainer's zone,
    // as the API and test-time show them.
    tz: Tz,
) -> Result<RenderedMail, RenderError> {
    let to = parse_mailbox(&student.email)?;
    let greeting = student
        .name
        .clone()
        .unwrap_or_else(|| student.student_id.to_string());
    let scores: Vec<&Score> = items.iter().map(|(s, _)| *s).collect();
    let subject = feedback::subject(items).unwrap_or_else(|| student_subject(&scores));

    let mut text = format!("Hello {greeting},\n\nhere are your results.\n");
    let mut html = String::from(HTML_HEAD);
    let _ = write!(
        html,
        "<p>Hello {},</p>\n<p>here are your results.</p>\n",
        escape(&greeting)
    );
    for (s, stage) in items {
        let (s, stage) = (*s, *stage);
        let corrected = if s.revision > 0 {
            " (corrected result)"
        } else {
            ""
        };
        let _ = write!(
            text,
            "\n{} / {} - {}{corrected}\nScore: {} / {} points ({:.1}%)\nGrade: {} / {}\n\n",
            s.subject, s.test_id, s.title, s.points, s.total, s.percentage, s.grade, s.max_grade
        );
        let _ = write!(
            html,
            "<h2 style=\"font-size:16px;\">{} / {} &ndash; {}{corrected}</h2>\n\
             <p>Score: <b>{} / {}</b> points ({:.1}%)<br>Grade: <b>{} / {}</b></p>\n",
            escape(s.subject.as_str()),
            escape(s.test_id.as_str()),
            escape(&s.title),
            s.points,
            s.total,
            s.percentage,
            s.grade,
            s.max_grade
        );
        super::correction::student_changes(s, &mut text, &mut html);
        feedback::notes(s, stage, tz, &mut text, &mut html);
        let _ = writeln!(
            html,
            "{TABLE}<tr><th align=\"left\">#</th><th align=\"left\">Question</th><th align=\"left\">Your answer</th>\
             <th align=\"left\">Correct answer</th><th align=\"left\">Result</th></tr>"
        );
        let with_points = shows_points(s);
        for (i, q) in s.questions.iter().enumerate() {
            question_rows(&mut text, &mut html, i + 1, q, with_points, stage);
        }
        html.push_str("</table>\n");
    }
    text.push_str("\nThis message was sent by the Ework Trainings scorer.\n");
    html.push_str("<p style=\"color:#666;font-size:12px;\">This message was sent by the Ework Trainings scorer.</p>\n");
    html.push_str(HTML_TAIL);

    let mut identity = format!("student:{}", student.student_id);
    for (s, stage) in items {
        let _ = write!(identity, ":{}/{}/r{}", s.subject, s.test_id, s.revision);
        // A full email keeps the id it always had; the two halves get their own.
        match stage {
            Stage::Full => {}
            Stage::Withheld => identity.push_str(":withheld"),
            Stage::Answers => identity.push_str(":answers"),
        }
    }
    let id = message_id(&identity);
    let message = Message::builder()
        .from(from.clone())
        .to(to.clone())
        .subject(subject.clone())
        .date(date.into())
        .message_id(Some(id.clone()))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| RenderError::Build(e.to_string()))?;
    Ok(RenderedMail {
        to: vec![to.email.to_string()],
        subject,
        message_id: id,
        raw: message.formatted(),
    })
}

/// Points per question are shown when they say more than right or wrong: some
/// question is not worth 1, earned a part, or cost a penalty.
fn shows_points(s: &Score) -> bool {
    s.questions
        .iter()
        .any(|q| q.points != 1 || q.earned.is_some() || q.penalty.is_some())
}

/// One question of a student's email, in the text and the HTML part.
fn question_rows(
    text: &mut String,
    html: &mut String,
    n: usize,
    q: &QuestionResult,
    with_points: bool,
    stage: Stage,
) {
    let given = answer_label(q.given.as_ref(), q.given_text.as_deref());
    // While another student may still submit, the key stays out of the email.
    let correct = match stage {
        Stage::Withheld => feedback::WITHHELD.to_owned(),
        _ => correct_label(q.correct.as_ref(), q.correct_text.as_deref()),
    };
    let (verdict, colour) = if q.is_correct {
        ("correct", "#1a7f37")
    } else if q.earned.is_some() {
        ("partly correct", "#9a6700")
    } else {
        ("wrong", "#b42318")
    };
    let points = format!("{} / {}", q.signed_points(), q.points);
    let _ = write!(
        text,
        "{n}. {}\n   Your answer:    {given}\n   Correct answer: {correct}\n   Result:         {verdict}\n",
        q.question
    );
    if with_points {
        let _ = writeln!(text, "   Points:         {points}");
    }
    // The points stay on one line of their own: "(0.34 /" above "2)" misreads.
    let verdict = if with_points {
        format!(
            "{}<br><span style=\"white-space:nowrap;\">({})</span>",
            escape(verdict),
            escape(&points)
        )
    } else {
        escape(verdict)
    };
    let _ = writeln!(
        html,
        "<tr><td>{n}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"color:{colour};\">{verdict}</td></tr>",
        escape(&q.question),
        escape(&given),
        escape(&correct),
    );
}

/// One student's line in the report's grades table and CSV: the figures only (the
/// per-question detail is for the student's email).
#[derive(Debug, Clone, PartialEq)]
pub struct GradeRow<'a> {
    pub student_id: &'a crate::ids::StudentId,
    /// The roster's name for the student, if it has one.
    pub name: Option<&'a str>,
    pub points: super::points::Points,
    pub total: u32,
    pub percentage: f64,
    pub grade: u32,
    pub max_grade: u32,
}

/// One test in the trainer's report.
#[derive(Debug, Clone)]
pub struct ReportTest<'a> {
    pub meta: TestMeta,
    /// The test was graded again on the trainer's request.
    pub rescored: bool,
    /// Every result of the test (roster students who submitted), by student id.
    pub scores: Vec<GradeRow<'a>>,
    /// Enrolled students without a submission.
    pub missing: Vec<&'a Student>,
    pub stats: TestStats,
    /// On a rescore: every student whose result it changed (see
    /// [`super::correction::report_changes`]).
    pub changes: Vec<super::correction::GradeChange<'a>>,
    /// The item analysis of the test's results (see [`super::items`]): the report's
    /// per-question table, percent correct included.
    pub items: ItemAnalysis,
    /// Things the trainer should fix (unreadable submissions, questions missing from the key).
    pub problems: Vec<String>,
    /// Students who may still submit, with their own close.
    pub open_windows: Vec<(crate::ids::StudentId, DateTime<Utc>)>,
}

/// An email that could not be handed to the mail service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedSend {
    pub to: String,
    pub subject: String,
    pub error: String,
}

/// Everything the trainer's report shows.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub generated_at: DateTime<Utc>,
    pub time_zone: Tz,
    pub max_grade: u32,
    pub tests: Vec<ReportTest<'a>>,
    /// Student emails that failed in this run; they are retried on the next run.
    pub failed: Vec<FailedSend>,
    /// Student emails sent in this run for tests reported earlier (retries, late fixes).
    pub retried: Vec<String>,
}

/// Subject of the trainer's report.
pub fn report_subject(report: &Report) -> String {
    match report.tests.as_slice() {
        [] => "[Ework] Scorer report: retried emails".to_owned(),
        [one] => format!(
            "[Ework] Scores report: {}/{}",
            one.meta.subject, one.meta.test_id
        ),
        many => format!("[Ework] Scores report: {} tests", many.len()),
    }
}

/// The grades of every test in the report as CSV (one row per student and test).
pub fn grades_csv(
    report: &Report,
    roster_email: impl Fn(&crate::ids::StudentId) -> String,
) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::new();
    write_csv(report, &roster_email, &mut out)?;
    Ok(out)
}

fn write_csv(
    report: &Report,
    roster_email: &impl Fn(&crate::ids::StudentId) -> String,
    out: impl std::io::Write,
) -> Result<(), RenderError> {
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| RenderError::Build(e.to_string());
    w.write_record([
        "subject",
        "test",
        "student",
        "email",
        "points",
        "total",
        "percentage",
        "grade",
        "max_grade",
        // Last, so scripts reading the columns by position keep working.
        "name",
    ])
    .map_err(err)?;
    for t in &report.tests {
        for s in &t.scores {
            w.write_record([
                t.meta.subject.to_string(),
                t.meta.test_id.to_string(),
                s.student_id.to_string(),
                roster_email(s.student_id),
                s.points.to_string(),
                s.total.to_string(),
                format!("{:.1}", s.percentage),
                s.grade.to_string(),
                s.max_grade.to_string(),
                s.name.unwrap_or_default().to_owned(),
            ])
            .map_err(err)?;
        }
    }
    w.flush().map_err(|e| RenderError::Build(e.to_string()))
}

/// The trainer's report: grades, missing submissions, statistics, failed sends, CSV.
///
/// A report covers every grade of its tests, so for a big course it is tens of
/// megabytes: it is written once, straight into its encodings (see [`mime`]).
pub fn trainer_report(
    from: &Mailbox,
    trainer: &Mailbox,
    report: &Report,
    roster_email: impl Fn(&crate::ids::StudentId) -> String,
) -> Result<RenderedMail, RenderError> {
    let subject = report_subject(report);
    let id = report_message_id(report);
    let nonce = hex::encode(rand::random::<[u8; 8]>());
    let skeleton = report_skeleton(from, trainer, report, (&subject, &id), &nonce)?;
    let mut size = Count::default();
    write_report(&skeleton, &nonce, report, &roster_email, &mut size)?;
    let mut raw = Vec::with_capacity(size.0);
    write_report(&skeleton, &nonce, report, &roster_email, &mut raw)?;
    Ok(RenderedMail {
        to: vec![trainer.email.to_string()],
        subject,
        message_id: id,
        raw,
    })
}

/// The report's message with its three bodies written into `out`.
fn write_report<S: Sink>(
    skeleton: &[u8],
    nonce: &str,
    report: &Report,
    roster_email: &impl Fn(&crate::ids::StudentId) -> String,
    out: &mut S,
) -> Result<(), RenderError> {
    let mut csv_failed = None;
    let parts = if missing_attached(report) {
        &REPORT_PARTS[..]
    } else {
        &REPORT_PARTS[..REPORT_PARTS.len() - 1]
    };
    mime::assemble(skeleton, nonce, parts, out, |part, out| {
        if part == "csv" {
            let mut w = Base64::new(out);
            if let Err(e) = write_csv(report, roster_email, &mut w) {
                csv_failed = Some(e);
            }
            w.finish();
            return;
        }
        if part == "missing" {
            let mut w = Base64::new(out);
            if let Err(e) = write_missing_csv(report, &mut w) {
                csv_failed = Some(e);
            }
            w.finish();
            return;
        }
        if part == "items" || part == "teststats" {
            if let Err(e) = write_items_csv(part, report, out) {
                csv_failed = Some(e);
            }
            return;
        }
        let mut w = QuotedPrintable::new(out);
        if part == "text" {
            report_body(report, &mut w, &mut Discard);
        } else {
            report_body(report, &mut Discard, &mut w);
        }
        w.finish();
    })
    .map_err(RenderError::Build)?;
    csv_failed.map_or(Ok(()), Err)
}

/// In the message's order; `missing` only when the body cannot list them.
const REPORT_PARTS: [&str; 6] = ["text", "html", "csv", "items", "teststats", "missing"];

/// The enrolled students without a submission, when too many for the body.
fn write_missing_csv(report: &Report, out: impl std::io::Write) -> Result<(), RenderError> {
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| RenderError::Build(e.to_string());
    w.write_record(["subject", "test", "student", "email", "name"])
        .map_err(err)?;
    for t in &report.tests {
        for m in &t.missing {
            w.write_record([
                t.meta.subject.as_str(),
                t.meta.test_id.as_str(),
                m.student_id.as_str(),
                &m.email,
                m.name.as_deref().unwrap_or_default(),
            ])
            .map_err(err)?;
        }
    }
    w.flush().map_err(|e| RenderError::Build(e.to_string()))
}

/// The item analysis attachments (see [`items_render`]).
fn write_items_csv<S: Sink>(part: &str, report: &Report, out: &mut S) -> Result<(), RenderError> {
    let tests = report
        .tests
        .iter()
        .map(|t| (&t.meta.subject, &t.meta.test_id, &t.items));
    let mut w = Base64::new(out);
    let written = if part == "items" {
        items_render::item_analysis_csv(tests, &mut w)
    } else {
        items_render::test_statistics_csv(tests, &mut w)
    };
    w.finish();
    written.map_err(|e| RenderError::Build(e.to_string()))
}

/// The report's headers and MIME structure, with placeholder bodies.
fn report_skeleton(
    from: &Mailbox,
    trainer: &Mailbox,
    report: &Report,
    (subject, id): (&str, &str),
    nonce: &str,
) -> Result<Vec<u8>, RenderError> {
    let qp = ContentTransferEncoding::QuotedPrintable;
    let mut body = MultiPart::mixed()
        .multipart(MultiPart::alternative_plain_html(
            mime::placeholder("text", nonce, qp),
            mime::placeholder("html", nonce, qp),
        ))
        .singlepart(Attachment::new("grades.csv".to_owned()).body(
            mime::placeholder("csv", nonce, ContentTransferEncoding::Base64),
            csv_type()?,
        ))
        .singlepart(Attachment::new("item-analysis.csv".to_owned()).body(
            mime::placeholder("items", nonce, ContentTransferEncoding::Base64),
            csv_type()?,
        ))
        .singlepart(Attachment::new("test-statistics.csv".to_owned()).body(
            mime::placeholder("teststats", nonce, ContentTransferEncoding::Base64),
            csv_type()?,
        ));
    if missing_attached(report) {
        body = body.singlepart(Attachment::new("missing.csv".to_owned()).body(
            mime::placeholder("missing", nonce, ContentTransferEncoding::Base64),
            csv_type()?,
        ));
    }
    let message = Message::builder()
        .from(from.clone())
        .to(trainer.clone())
        .subject(subject)
        .date(report.generated_at.into())
        .message_id(Some(id.to_owned()))
        .multipart(body)
        .map_err(|e| RenderError::Build(e.to_string()))?;
    Ok(message.formatted())
}

fn csv_type() -> Result<ContentType, RenderError> {
    ContentType::parse("text/csv; charset=utf-8").map_err(|e| RenderError::Build(e.to_string()))
}

/// Derived from what the report is about (see [`message_id`]).
fn report_message_id(report: &Report) -> String {
    let mut identity = String::from("report");
    for t in &report.tests {
        let _ = write!(
            identity,
            ":{}/{}/{}",
            t.meta.subject, t.meta.test_id, t.rescored
        );
        // Two rescores of one test are two reports, not one message sent twice.
        for c in &t.changes {
            let _ = write!(identity, ":{}={}", c.student_id, c.grade);
        }
    }
    for r in &report.retried {
        let _ = write!(identity, ":retried {r}");
    }
    if report.tests.is_empty() {
        // Retry-only reports of different runs are different messages.
        let _ = write!(identity, ":{}", report.generated_at.to_rfc3339());
    }
    message_id(&identity)
}
