//! Runs one command: loads the configuration, talks to the API, prints.

use crate::answers::{self, AnswersError};
use crate::api::{ApiClient, ClientError, TestPage};
use crate::cli::{Cli, Command};
use crate::config::{self, Config, ConfigError, Layer, Paths, Settings, Source, Value};
use crate::draft::{Draft, DraftError, Drafts};
use crate::flow::{self, Decision};
use crate::interrupt::{self, Phase};
use crate::prompt::{InputError, Term};
use crate::render::{cell, due, moment, short_hash, width_of, wrap};
use crate::wait::Waiting;
use chrono::Utc;
use clap::CommandFactory;
use ework_domain::api::contract::{SubjectTests, TestInfo, UploadRequest};
use ework_domain::ids::{AnswerId, StudentId, SubjectName, TestId};
use ework_domain::model::{GivenAnswer, Question, Submission};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Unsent answers kept on disk, and the command that sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub path: PathBuf,
    pub resend: String,
}

impl Kept {
    fn hint(&self) -> String {
        format!(
            "your answers are kept in {}; send them with `{}` once this is fixed, or run `test-time` to resume them",
            self.path.display(),
            self.resend
        )
    }
}

/// Why a command failed; each kind has an exit code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("not sent: {source}")]
    NotSent {
        source: ClientError,
        kept: Option<Kept>,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Answers(#[from] AnswersError),
    #[error(transparent)]
    Draft(#[from] DraftError),
    #[error("there are no unsent answers to {subject}/{test} (a draft would be {path})")]
    NoDraft {
        subject: SubjectName,
        test: TestId,
        path: PathBuf,
    },
    #[error("{}", no_such_subject(.subject, .open))]
    NoSuchSubject {
        subject: SubjectName,
        open: Vec<SubjectName>,
    },
    #[error("input ended before the test was finished; nothing was submitted")]
    InputEnded { kept: Option<Kept> },
    /// The student chose to quit; what happened was already said.
    #[error("not submitted")]
    Quit,
    #[error("cannot read {what}: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
}

fn no_such_subject(subject: &SubjectName, open: &[SubjectName]) -> String {
    let names: Vec<&str> = open.iter().map(SubjectName::as_str).collect();
    match names.as_slice() {
        [] => format!(
            "you have no open test in {:?}; no test is open for you right now",
            subject.as_str()
        ),
        _ => format!(
            "you have no open test in {:?}; your subjects with open tests are: {}",
            subject.as_str(),
            names.join(", ")
        ),
    }
}

impl AppError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Client(e) | AppError::NotSent { source: e, .. } => e.exit_code(),
            AppError::Answers(_) => 2,
            AppError::NoSuchSubject { .. } => 7,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            AppError::Client(e) => e.hint().map(str::to_string),
            AppError::NotSent { source, kept } => match (kept, source.hint()) {
                (Some(kept), Some(hint)) => Some(format!("{hint}; {}", kept.hint())),
                (Some(kept), None) => Some(kept.hint()),
                (None, hint) => hint.map(str::to_string),
            },
            AppError::InputEnded { kept: Some(kept) } => Some(kept.hint()),
            AppError::NoDraft { .. } => Some(
                "`test-time show` tells what is submitted; `test-time list` marks tests with unsent answers".into(),
            ),
            AppError::NoSuchSubject { .. } => Some("`test-time list` shows your open tests".into()),
            AppError::Config(ConfigError::Missing { .. }) => None,
            AppError::Config(_) => Some("fix it with `test-time config --edit`".into()),
            _ => None,
        }
    }

    /// Already told on stdout: nothing more to print.
    pub fn is_quiet(&self) -> bool {
        matches!(self, AppError::Quit)
    }

    /// The output was closed (`| head`, `| true`): the reader wants no more, which is
    /// no failure.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, AppError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Ended => AppError::InputEnded { kept: None },
            InputError::Io(e) => AppError::Io(e),
        }
    }
}

/// What every command needs besides the terminal.
pub struct Context {
    pub overrides: Layer,
    pub paths: Paths,
    pub timeout: Duration,
    pub waiting: Waiting,
}

impl Context {
    fn drafts(&self) -> Drafts {
        Drafts::new(&self.paths.drafts)
    }
}

/// Runs the parsed command line with the given input and output.
pub fn run<R: BufRead, W: Write>(
    cli: Cli,
    term: &mut Term<R, W>,
    waiting: Waiting,
) -> Result<(), AppError> {
    // These two need no configuration (and must work without a home directory).
    // Rendered whole first: a closed output is then one write error, not a panic.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "test-time", &mut script);
            term.out().write_all(&script)?;
            return Ok(term.out().flush()?);
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            crate::man::render(&mut page)?;
            term.out().write_all(&page)?;
            return Ok(term.out().flush()?);
        }
        _ => {}
    }
    let ctx = Context {
        overrides: Layer {
            api_url: cli.api_url.clone(),
            api_key: cli.api_key.clone(),
            student_id: cli.student_id.clone(),
        },
        paths: Paths::resolve(cli.config.clone())?,
        timeout: Duration::from_secs(cli.timeout.max(1)),
        waiting,
    };
    let command = cli.command.unwrap_or(Command::Take {
        subject: None,
        test: None,
    });
    match command {
        Command::Take { subject, test } => {
            let (config, set_up_now) = setup_if_needed(term, &ctx)?;
            take(term, &ctx, &config, subject, test, !set_up_now)
        }
        Command::List { json } => {
            let config = Settings::load(&ctx.overrides, &ctx.paths)?.complete()?;
            list(term, &ctx, &config, json)
        }
        Command::Show {
            subject,
            test,
            json,
        } => {
            let config = Settings::load(&ctx.overrides, &ctx.paths)?.complete()?;
            show(term, &ctx, &config, &subject, &test, json)
        }
        Command::Submit {
            subject,
            test,
            answers,
            answers_file,
            draft,
            json,
        } => {
            let config = Settings::load(&ctx.overrides, &ctx.paths)?.complete()?;
            let source = match (answers, answers_file, draft) {
                (_, _, true) => AnswerSource::Draft,
                (Some(a), _, _) => AnswerSource::Given(a),
                (None, Some(path), _) => AnswerSource::Given(answers::from_file(
                    &std::fs::read_to_string(&path).map_err(|source| AppError::Read {
                        what: path.display().to_string(),
                        source,
                    })?,
                )),
                (None, None, false) => AnswerSource::Given(String::new()),
            };
            submit(term, &ctx, &config, &subject, &test, source, json)
        }
        Command::Config { edit, save } => configure(term, &ctx, edit, save),
        Command::Completions { .. } | Command::Man => Ok(()),
    }
}

fn client(config: &Config, timeout: Duration) -> Result<ApiClient, ClientError> {
    ApiClient::new(&config.api_url, &config.api_key, timeout)
}

/// Prints `text` in yellow, wrapped.
fn warn<R: BufRead, W: Write>(term: &mut Term<R, W>, text: &str) -> std::io::Result<()> {
    let style = term.style;
    for line in wrap(text, term.width, "", "") {
        term.say(&style.yellow(&line))?;
    }
    Ok(())
}

/// First run: asks for whatever is missing, checks it with the API, and saves it only
/// once the API accepted it. Returns whether it set up now.
fn setup_if_needed<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
) -> Result<(Config, bool), AppError> {
    let mut settings = Settings::load(&ctx.overrides, &ctx.paths)?;
    if let Ok(config) = settings.complete() {
        return Ok((config, false));
    }
    term.say(
        &term
            .style
            .bold("Welcome to test-time! Let's set it up once."),
    )?;
    loop {
        ask_settings(term, &mut settings, false)?;
        let config = settings.complete()?;
        let api = client(&config, ctx.timeout)?;
        let checked = ctx.waiting.run("Checking your settings…", || {
            api.list_tests(&config.student_id)
        });
        let Err(e) = checked else {
            config::save(&ctx.paths.file, &config)?;
            term.say("")?;
            term.say(&term.style.bold(&format!("Welcome, {}!", config.student_id)))?;
            term.tell(&format!(
                "Your settings work and are saved to {} (readable only by you). Change them any time with `test-time config --edit`.",
                ctx.paths.file.display()
            ))?;
            return Ok((config, true));
        };
        // Ask again for what was refused; anything else is not the settings' fault.
        let again = match &e {
            ClientError::MissingKey { .. }
            | ClientError::WrongKey { .. }
            | ClientError::Forbidden { .. } => "your API key",
            ClientError::NotOnRoster { .. } => "your student id",
            ClientError::Network { .. }
            | ClientError::Timeout { .. }
            | ClientError::BadResponse { .. }
            | ClientError::NotFound { .. }
            | ClientError::Rejected { .. } => "the API URL",
            ClientError::TestClosed { .. } | ClientError::Server { .. } => return Err(e.into()),
        };
        warn(term, &format!("{e}. Type {again} again."))?;
        match again {
            "your API key" => settings.api_key = None,
            "your student id" => settings.student_id = None,
            _ => settings.api_url = None,
        }
    }
}

/// Asks for each value (only missing ones unless `all`); Enter keeps the current one.
fn ask_settings<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    settings: &mut Settings,
    all: bool,
) -> Result<(), AppError> {
    let typed = |value: String| {
        Some(Value {
            value,
            source: Source::Typed,
        })
    };
    if all || settings.api_url.is_none() {
        loop {
            let current = settings.api_url.as_ref().map(|v| v.value.clone());
            let prompt = match &current {
                Some(c) => format!("API URL [Enter keeps {c}]: "),
                None => "API URL (from your trainer): ".to_string(),
            };
            let line = term.ask(&prompt)?;
            let Some(raw) = (if line.is_empty() { current } else { Some(line) }) else {
                continue;
            };
            match config::normalize_url(&raw) {
                Ok(url) => {
                    settings.api_url = typed(url);
                    break;
                }
                Err(e) => warn(term, &e.to_string())?,
            }
        }
    }
    if all || settings.api_key.is_none() {
        loop {
            let current = settings.api_key.as_ref().map(|v| v.value.clone());
            let prompt = match &current {
                Some(c) => format!(
                    "API key (input hidden) [Enter keeps {}]: ",
                    config::mask_key(c)
                ),
                None => "API key (input hidden): ".to_string(),
            };
            let line = term.ask_hidden(&prompt)?;
            match (line.is_empty(), current) {
                (false, _) => {
                    settings.api_key = typed(line);
                    break;
                }
                (true, Some(_)) => break,
                (true, None) => warn(
                    term,
                    "the key cannot be empty; paste the key your trainer sent you",
                )?,
            }
        }
    }
    if all || settings.student_id.is_none() {
        loop {
            let current = settings.student_id.as_ref().map(|v| v.value.clone());
            let prompt = match &current {
                Some(c) => format!("Student id [Enter keeps {c}]: "),
                None => "Student id (e.g. student01): ".to_string(),
            };
            let line = term.ask(&prompt)?;
            let Some(raw) = (if line.is_empty() { current } else { Some(line) }) else {
                continue;
            };
            match StudentId::parse(raw.clone()) {
                Ok(_) => {
                    settings.student_id = typed(raw);
                    break;
                }
                Err(e) => warn(term, &e.to_string())?,
            }
        }
    }
    Ok(())
}

fn configure<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    edit: bool,
    save: bool,
) -> Result<(), AppError> {
    let (overrides, paths) = (&ctx.overrides, &ctx.paths);
    let mut settings = Settings::load(overrides, paths)?;
    if edit || save {
        if edit {
            ask_settings(term, &mut settings, true)?;
        }
        let config = settings.complete()?;
        config::save(&paths.file, &config)?;
        term.say(&format!("Saved to {}", paths.file.display()))?;
        settings = Settings::load(overrides, paths)?;
    }
    term.say(&format!("Config file: {}", paths.file.display()))?;
    let show = |name: &str, v: &Option<Value>, mask: bool| match v {
        Some(v) => {
            let shown = if mask {
                config::mask_key(&v.value)
            } else {
                v.value.clone()
            };
            format!("  {name:<11} {shown}   (from {})", v.source)
        }
        None => format!("  {name:<11} (not set)"),
    };
    term.say(&show("API URL:", &settings.api_url, false))?;
    term.say(&show("API key:", &settings.api_key, true))?;
    term.say(&show("Student id:", &settings.student_id, false))?;
    term.say(&format!("Drafts:      {}", paths.drafts.display()))?;
    Ok(())
}

fn list<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    config: &Config,
    json: bool,
) -> Result<(), AppError> {
    let api = client(config, ctx.timeout)?;
    let listing = ctx.waiting.run("Loading your open tests…", || {
        api.list_tests(&config.student_id)
    })?;
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
                serde_json::json!({
                    "subject": subject,
                    "testId": t.test_id,
                    "title": t.title,
                    "dueAt": t.due_at,
                    "submitted": t.submitted,
                    "unsentDraft": drafted(subject, &t.test_id),
                })
            })
            .collect();
        let doc = serde_json::json!({ "studentId": config.student_id, "openTests": tests });
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
                t.title.clone(),
                due(t.due_at, now, &zone),
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
    widths[2] = widths[2].min(30);
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

fn print_header<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    info: Option<&TestInfo>,
    subject: &SubjectName,
    test: &TestId,
    count: usize,
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
    if let Some(info) = info {
        let zone = term.zone;
        term.say_wrapped("Due ", "    ", &due(info.due_at, Utc::now(), &zone))?;
    }
    term.say(&format!("{count} question(s)."))
}

/// The submitted answers, in question order.
fn submitted_answers(submission: &Submission, questions: &[Question]) -> Vec<Option<AnswerId>> {
    questions
        .iter()
        .map(|q| {
            submission
                .test_result
                .iter()
                .find(|g| g.question_id == q.question_id)
                .map(|g| g.answer.clone())
        })
        .collect()
}

fn show<R: BufRead, W: Write>(
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
    print_header(term, info.as_ref(), subject, test, questions.len())?;
    let chosen = submission
        .as_ref()
        .map(|s| submitted_answers(s, &questions))
        .unwrap_or_else(|| vec![None; questions.len()]);
    let style = term.style;
    for (i, (q, mine)) in questions.iter().zip(&chosen).enumerate() {
        term.say("")?;
        let first = format!("{}. ", i + 1);
        let rest = " ".repeat(first.len());
        term.say_wrapped(&first, &rest, &q.question)?;
        for a in &q.answers {
            let mark = if mine.as_ref() == Some(&a.answer_id) {
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

/// Where `submit` takes its answers from.
enum AnswerSource {
    /// `--answers` or `--answers-file`, in the `a,c,-,b` / `1=a` form.
    Given(String),
    /// `--draft`.
    Draft,
}

fn resend_command(subject: &SubjectName, test: &TestId) -> String {
    format!("test-time submit {subject} {test} --draft")
}

fn submit<R: BufRead, W: Write>(
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
            (flow::given_answers(questions, &answers), true)
        }
    };
    let request = UploadRequest {
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
fn new_draft(config: &Config, page: &TestPage, subject: &SubjectName, test: &TestId) -> Draft {
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

/// Offers the unsent drafts of open tests; returns the one to resume.
fn offer_drafts<'d, R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    drafts: &[&'d Draft],
) -> Result<Option<&'d Draft>, AppError> {
    let zone = term.zone;
    let describe = |d: &Draft| {
        format!(
            "{} / {}: {} answered, saved {}",
            d.subject_name,
            d.test_id,
            d.answered(),
            moment(d.saved_at, &zone)
        )
    };
    match drafts {
        [] => Ok(None),
        [only] => {
            term.say("")?;
            term.tell(&format!("You have unsent answers: {}.", describe(only)))?;
            Ok(term.confirm("Resume them?", true)?.then_some(*only))
        }
        many => {
            term.say("")?;
            term.say("You have unsent answers:")?;
            for (i, d) in many.iter().enumerate() {
                term.say_wrapped(&format!("  {}. ", i + 1), "     ", &describe(d))?;
            }
            loop {
                let line = term.ask(&format!(
                    "Resume which? [1-{}, Enter = choose another test]: ",
                    many.len()
                ))?;
                if line.is_empty() {
                    return Ok(None);
                }
                match line.parse::<usize>() {
                    Ok(n) if (1..=many.len()).contains(&n) => return Ok(Some(many[n - 1])),
                    _ => warn(
                        term,
                        &format!(
                            "{line:?}: type a number from 1 to {}, or Enter.",
                            many.len()
                        ),
                    )?,
                }
            }
        }
    }
}

/// Keeps the draft of one attempt: saved after every change, from the first answer on.
struct Keeper<'a> {
    drafts: &'a Drafts,
    template: Draft,
    questions: &'a [Question],
    saved: Option<PathBuf>,
    warned: bool,
}

impl Keeper<'_> {
    fn save(&mut self, answers: &[Option<AnswerId>], position: usize) -> Option<PathBuf> {
        let draft = Draft {
            saved_at: Utc::now(),
            position,
            test_result: flow::given_answers(self.questions, answers),
            ..self.template.clone()
        };
        match self.drafts.save(&draft) {
            Ok(path) => {
                interrupt::draft_saved(path.clone());
                self.saved = Some(path.clone());
                Some(path)
            }
            Err(e) => {
                if !self.warned {
                    self.warned = true;
                    let _ = writeln!(
                        std::io::stderr(),
                        "warning: {e}; your answers are only in this window until they are sent"
                    );
                }
                None
            }
        }
    }

    fn kept(&self, resend: &str) -> Option<Kept> {
        self.saved.clone().map(|path| Kept {
            path,
            resend: resend.to_string(),
        })
    }
}

fn take<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    ctx: &Context,
    config: &Config,
    subject: Option<SubjectName>,
    test: Option<TestId>,
    greet: bool,
) -> Result<(), AppError> {
    let api = client(config, ctx.timeout)?;
    let style = term.style;
    if greet {
        term.say(&format!("Hello {}!", config.student_id))?;
    }
    let listing = ctx.waiting.run("Loading your open tests…", || {
        api.list_tests(&config.student_id)
    })?;
    let now = Utc::now();
    let drafts = ctx.drafts();
    let is_open = |s: &SubjectName, t: &TestId| {
        listing
            .iter()
            .any(|l| &l.subject == s && l.tests.iter().any(|x| &x.test_id == t))
    };
    let unsent: Vec<Draft> = drafts
        .of_student(&config.student_id, &config.api_url)
        .into_iter()
        .filter(|d| is_open(&d.subject_name, &d.test_id))
        .collect();
    // With a test named too, the API says what is wrong with it (closed, unknown).
    if let (Some(s), None) = (&subject, &test) {
        if !listing
            .iter()
            .any(|l| &l.subject == s && !l.tests.is_empty())
        {
            return Err(AppError::NoSuchSubject {
                subject: s.clone(),
                open: listing
                    .iter()
                    .filter(|l| !l.tests.is_empty())
                    .map(|l| l.subject.clone())
                    .collect(),
            });
        }
    }
    let mut resumed: Option<Draft> = None;
    let (subject, test) = match (subject, test) {
        (Some(s), Some(t)) => (s, t),
        (subject, _) => {
            let offered: Vec<&Draft> = unsent
                .iter()
                .filter(|d| subject.as_ref().is_none_or(|s| &d.subject_name == s))
                .collect();
            match offer_drafts(term, &offered)? {
                Some(d) => {
                    resumed = Some(d.clone());
                    (d.subject_name.clone(), d.test_id.clone())
                }
                None => {
                    let shown: Vec<SubjectTests> = listing
                        .iter()
                        .filter(|l| subject.as_ref().is_none_or(|s| &l.subject == s))
                        .cloned()
                        .collect();
                    let drafted = |s: &SubjectName, t: &TestId| {
                        unsent
                            .iter()
                            .any(|d| &d.subject_name == s && &d.test_id == t)
                    };
                    match flow::choose_test(term, &shown, now, &drafted)? {
                        Some(chosen) => (chosen.subject, chosen.test.test_id),
                        None => {
                            term.tell("No open tests for you right now. See you next week!")?;
                            return Ok(());
                        }
                    }
                }
            }
        }
    };
    let submitted = listing
        .iter()
        .filter(|l| l.subject == subject)
        .flat_map(|l| &l.tests)
        .any(|x| x.test_id == test && x.submitted);
    let page = ctx.waiting.run("Loading the test…", || {
        api.get_test(&config.student_id, &subject, &test)
    })?;
    let questions = &page.questions;
    print_header(term, page.info.as_ref(), &subject, &test, questions.len())?;

    // Where to start: the unsent draft, else what was submitted, else nothing.
    let zone = term.zone;
    let draft = match resumed {
        Some(d) => Some(d),
        None => match drafts.load(&config.student_id, &subject, &test) {
            Ok(Some(d)) if d.api_url == config.api_url => {
                let question = format!(
                    "You have unsent answers to this test ({} of {} answered, saved {}). Continue from them?",
                    d.answered(),
                    questions.len(),
                    moment(d.saved_at, &zone)
                );
                term.confirm(&question, true)?.then_some(d)
            }
            Ok(_) => None,
            Err(e) => {
                warn(term, &format!("{e}; starting without it"))?;
                None
            }
        },
    };
    let from_submission = page
        .submission
        .as_ref()
        .filter(|s| draft.is_none() && !s.test_result.is_empty());
    let (mut answers, start) = match (&draft, from_submission) {
        (Some(d), _) => (d.answers_for(questions), d.position.min(questions.len())),
        (None, Some(s)) => (submitted_answers(s, questions), questions.len()),
        (None, None) => (vec![None; questions.len()], 0),
    };
    if submitted && draft.is_none() {
        warn(
            term,
            "You already submitted this test; you can change your answers until the deadline.",
        )?;
    }
    if from_submission.is_some() {
        term.tell(
            "Your submitted answers are filled in: change any of them at the review by its number.",
        )?;
    } else if start < questions.len() {
        let tip = "Type the letter of your answer. Enter skips a question, < goes back, ? helps.";
        for line in wrap(tip, term.width, "", "") {
            term.say(&style.dim(&line))?;
        }
    }

    let resend = resend_command(&subject, &test);
    let mut keeper = Keeper {
        drafts: &drafts,
        template: new_draft(config, &page, &subject, &test),
        questions,
        saved: None,
        warned: false,
    };
    if draft.is_some() {
        keeper.saved = Some(drafts.path(&config.student_id, &subject, &test));
    }
    interrupt::set(Phase::Answering {
        draft: keeper.saved.clone(),
        resend: resend.clone(),
    });
    let ended = |keeper: &Keeper, e: InputError| match e {
        InputError::Ended => AppError::InputEnded {
            kept: keeper.kept(&resend),
        },
        InputError::Io(e) => AppError::Io(e),
    };
    let answered = {
        let mut on_change = |a: &[Option<AnswerId>], at: usize| {
            keeper.save(a, at);
        };
        flow::answer_all(term, questions, &mut answers, start, &mut on_change)
    };
    answered.map_err(|e| ended(&keeper, e))?;
    let decision = {
        let mut on_change = |a: &[Option<AnswerId>], at: usize| {
            keeper.save(a, at);
        };
        flow::review(term, questions, &mut answers, submitted, &mut on_change)
    };
    let decision = decision.map_err(|e| ended(&keeper, e))?;
    if decision == Decision::Quit {
        interrupt::set(Phase::Idle);
        term.say("")?;
        if answers.iter().any(Option::is_some) {
            keeper.save(&answers, questions.len());
        }
        let text = match keeper.kept(&resend) {
            Some(kept) => format!(
                "Nothing sent. Your answers are kept in {}: run `test-time` to resume them, or send them with `{}`.",
                kept.path.display(),
                kept.resend
            ),
            None => "Nothing sent.".to_string(),
        };
        term.tell(&text)?;
        return Err(AppError::Quit);
    }
    let sent: Vec<GivenAnswer> = flow::given_answers(questions, &answers);
    let request = UploadRequest {
        subject_name: subject.clone(),
        test_id: test.clone(),
        student_id: config.student_id.clone(),
        test_result: sent.clone(),
    };
    // Kept before sending: a failure below loses nothing.
    keeper.save(&answers, questions.len());
    loop {
        interrupt::set(Phase::Sending {
            draft: keeper.saved.clone(),
            resend: resend.clone(),
        });
        let outcome = ctx
            .waiting
            .run("Sending your answers…", || api.upload(&request));
        interrupt::set(Phase::Answering {
            draft: keeper.saved.clone(),
            resend: resend.clone(),
        });
        match outcome {
            Ok(uploaded) => {
                interrupt::set(Phase::Idle);
                if let Err(e) = drafts.remove(&config.student_id, &subject, &test) {
                    warn(term, &format!("{e}"))?;
                }
                flow::show_receipt(term, &uploaded.receipt, uploaded.message.as_deref(), &sent)?;
                return Ok(());
            }
            Err(e) => {
                term.say("")?;
                warn(term, &format!("Not sent: {e}"))?;
                if let Some(path) = &keeper.saved {
                    term.tell(&format!("Your answers are kept in {}.", path.display()))?;
                }
                if e.is_transient() && term.confirm("Try sending again?", true).unwrap_or(false) {
                    continue;
                }
                interrupt::set(Phase::Idle);
                return Err(AppError::NotSent {
                    source: e,
                    kept: keeper.kept(&resend),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_subject_names_the_subjects_with_open_tests() {
        let err = AppError::NoSuchSubject {
            subject: SubjectName::parse("chemistry").unwrap(),
            open: vec![
                SubjectName::parse("networks").unwrap(),
                SubjectName::parse("operating-systems").unwrap(),
            ],
        };
        assert_eq!(
            err.to_string(),
            "you have no open test in \"chemistry\"; your subjects with open tests are: networks, operating-systems"
        );
        assert_eq!(err.exit_code(), 7);
    }

    #[test]
    fn a_failed_send_says_where_the_answers_are_and_how_to_resend() {
        let err = AppError::NotSent {
            source: ClientError::Timeout {
                url: "http://x".into(),
                seconds: 3,
            },
            kept: Some(Kept {
                path: PathBuf::from("/d/os/t1.json"),
                resend: "test-time submit os t1 --draft".into(),
            }),
        };
        assert_eq!(err.exit_code(), 5);
        let hint = err.hint().unwrap();
        assert!(hint.contains("/d/os/t1.json"), "{hint}");
        assert!(hint.contains("`test-time submit os t1 --draft`"), "{hint}");
        assert!(hint.starts_with("check your internet connection"), "{hint}");
    }

    #[test]
    fn a_closed_output_is_told_apart() {
        let closed = AppError::Io(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(closed.is_closed_output());
        assert!(!AppError::Quit.is_closed_output());
        assert!(AppError::Quit.is_quiet());
    }
}
