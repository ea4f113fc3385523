//! `test-time submit`: send answers given on the command line, from a file or from the draft.

use super::{client, AppError, Context, Kept};
use crate::answers::{self};
use crate::api::TestPage;
use crate::choice::{self, Upload};
use crate::config::Config;
use crate::deadline::late_warning;
use crate::draft::Draft;
use crate::flow::{self};
use crate::interrupt::{self, Phase};
use crate::prompt::Term;
use chrono::Utc;
use ework_domain::ids::{SubjectName, TestId};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Where `submit` takes its answers from.
pub(super) enum AnswerSource {
    /// `--answers` or `--answers-file`, in the `a,c,-,b` / `1=a` form.
    Given(String),
    /// `--draft`.
    Draft,
}

impl AnswerSource {
    /// `--draft` wins; else `--answers`, else the file of `--answers-file`, else none.
    pub(super) fn from_flags(
        answers: Option<String>,
        answers_file: Option<PathBuf>,
        draft: bool,
    ) -> Result<Self, AppError> {
        Ok(match (answers, answers_file, draft) {
            (_, _, true) => AnswerSource::Draft,
            (Some(a), _, _) => AnswerSource::Given(a),
            (None, Some(path), _) => AnswerSource::Given(answers::from_file(
                &std::fs::read_to_string(&path).map_err(|source| AppError::Read {
                    what: path.display().to_string(),
                    source,
                })?,
            )),
            (None, None, false) => AnswerSource::Given(String::new()),
        })
    }
}

pub(super) fn resend_command(subject: &SubjectName, test: &TestId) -> String {
    format!("test-time submit {subject} {test} --draft")
}

pub(super) fn submit<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    config: &Config,
    subject: &SubjectName,
    test: &TestId,
    source: AnswerSource,
    json: bool,
) -> Result<(), AppError> {
    let api = client(config, ctx.timeout)?;
    let drafts = ctx.drafts();
    let page = ctx.waiting.run("Loading the test…", || {
        api.get_test(&config.student_id, subject, test)
    })?;
    let questions = &page.questions;
    let (given, from_draft) = match source {
        AnswerSource::Given(spec) => (answers::parse(&spec, questions)?, false),
        AnswerSource::Draft => {
            let draft = drafts
                .load(&config.student_id, subject, test)?
                .ok_or_else(|| AppError::NoDraft {
                    subject: subject.clone(),
                    test: test.clone(),
                    path: drafts.path(&config.student_id, subject, test),
                })?;
            let answers = draft.answers_for(questions);
            let fitting = answers.iter().flatten().count();
            if fitting < draft.answered() {
                let mut err = std::io::stderr();
                let _ = writeln!(
                    err,
                    "warning: {} answer(s) of the draft no longer fit the test and are left out",
                    draft.answered() - fitting
                );
            }
            (choice::given_answers(questions, &answers), true)
        }
    };
    // The test as served carries the student's own due and late window (extension
    // and extra time applied), so the warning is theirs, not the class's.
    if let Some(warning) = page
        .info
        .as_ref()
        .and_then(|i| late_warning(i.due_at, i.late.as_ref(), Utc::now()))
    {
        let _ = writeln!(std::io::stderr(), "warning: {warning}");
    }
    let request = Upload {
        subject_name: subject.clone(),
        test_id: test.clone(),
        student_id: config.student_id.clone(),
        test_result: given,
    };
    let resend = resend_command(subject, test);
    let path = drafts.path(&config.student_id, subject, test);
    interrupt::set(Phase::Sending {
        draft: from_draft.then(|| path.clone()),
        resend: resend.clone(),
    });
    let outcome = ctx
        .waiting
        .run("Sending your answers…", || api.upload(&request));
    interrupt::set(Phase::Idle);
    let uploaded = match outcome {
        Ok(uploaded) => uploaded,
        Err(source) => {
            // Kept for a later `--draft` (a draft they came from is still there).
            let kept = if from_draft {
                Some(path)
            } else {
                let draft = new_draft(config, &page, subject, test);
                drafts
                    .save(&Draft {
                        position: questions.len(),
                        test_result: request.test_result.clone(),
                        ..draft
                    })
                    .ok()
            };
            return Err(AppError::NotSent {
                source,
                kept: kept.map(|path| Kept { path, resend }),
            });
        }
    };
    // Stored by the API: the draft has served its purpose.
    if let Err(e) = drafts.remove(&config.student_id, subject, test) {
        let _ = writeln!(std::io::stderr(), "warning: {e}");
    }
    if json {
        let text =
            serde_json::to_string_pretty(&uploaded.receipt).map_err(std::io::Error::other)?;
        term.say(&text)?;
        return Ok(());
    }
    flow::show_receipt(
        term,
        &uploaded.receipt,
        uploaded.message.as_deref(),
        &request.test_result,
    )?;
    Ok(())
}

/// An empty draft of a test; the answers are filled in as they come.
pub(super) fn new_draft(
    config: &Config,
    page: &TestPage,
    subject: &SubjectName,
    test: &TestId,
) -> Draft {
    Draft {
        api_url: config.api_url.clone(),
        student_id: config.student_id.clone(),
        subject_name: subject.clone(),
        test_id: test.clone(),
        title: page
            .info
            .as_ref()
            .map(|i| i.title.clone())
            .unwrap_or_default(),
        due_at: page.info.as_ref().map(|i| i.due_at),
        saved_at: Utc::now(),
        position: 0,
        test_result: Vec::new(),
    }
}
