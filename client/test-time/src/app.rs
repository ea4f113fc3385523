//! Runs one command: loads the configuration, talks to the API, prints.

use crate::answers::{self, AnswersError};
use crate::api::{ApiClient, ClientError};
use crate::cli::{Cli, Command};
use crate::config::{self, Config, ConfigError, Layer, Paths, Settings, Source, Value};
use crate::flow::{self, Decision};
use crate::prompt::{InputError, Term};
use crate::render::{cell, due_local};
use chrono::Utc;
use clap::CommandFactory;
use ework_domain::api::contract::{TestInfo, UploadRequest};
use ework_domain::ids::{StudentId, SubjectName, TestId};
use std::io::{BufRead, Write};
use std::time::Duration;

/// Why a command failed; each kind has an exit code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Answers(#[from] AnswersError),
    #[error("input ended before the test was finished; nothing was submitted")]
    InputEnded,
    #[error("not submitted: you chose to quit, your answers were not sent")]
    Quit,
    #[error("cannot read {what}: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<InputError> for AppError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Ended => AppError::InputEnded,
            InputError::Io(e) => AppError::Io(e),
        }
    }
}

impl AppError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Client(e) => e.exit_code(),
            AppError::Answers(_) => 2,
            _ => 1,
        }
    }

    pub fn hint(&self) -> Option<&'static str> {
        match self {
            AppError::Client(e) => e.hint(),
            AppError::Config(ConfigError::Missing { .. }) => None,
            AppError::Config(_) => Some("fix it with `test-time config --edit`"),
            _ => None,
        }
    }
}

/// Runs the parsed command line with the given input and output.
pub fn run<R: BufRead, W: Write>(cli: Cli, term: &mut Term<R, W>) -> Result<(), AppError> {
    // These two need no configuration (and must work without a home directory).
    match &cli.command {
        Some(Command::Completions { shell }) => {
            clap_complete::generate(*shell, &mut Cli::command(), "test-time", term.out());
            return Ok(());
        }
        Some(Command::Man) => return Ok(clap_mangen::Man::new(Cli::command()).render(term.out())?),
        _ => {}
    }
    let overrides = Layer {
        api_url: cli.api_url.clone(),
        api_key: cli.api_key.clone(),
        student_id: cli.student_id.clone(),
    };
    let paths = Paths::resolve(cli.config.clone())?;
    let timeout = Duration::from_secs(cli.timeout.max(1));
    let command = cli.command.unwrap_or(Command::Take {
        subject: None,
        test: None,
    });
    match command {
        Command::Take { subject, test } => {
            let config = setup_if_needed(term, &overrides, &paths)?;
            take(term, &config, timeout, subject, test)
        }
        Command::List { json } => {
            let config = Settings::load(&overrides, &paths)?.complete()?;
            list(term, &config, timeout, json)
        }
        Command::Show {
            subject,
            test,
            json,
        } => {
            let config = Settings::load(&overrides, &paths)?.complete()?;
            show(term, &config, timeout, &subject, &test, json)
        }
        Command::Submit {
            subject,
            test,
            answers,
            answers_file,
            json,
        } => {
            let config = Settings::load(&overrides, &paths)?.complete()?;
            let spec = match (answers, answers_file) {
                (Some(a), _) => a,
                (None, Some(path)) => {
                    answers::from_file(&std::fs::read_to_string(&path).map_err(|source| {
                        AppError::Read {
                            what: path.display().to_string(),
                            source,
                        }
                    })?)
                }
                (None, None) => String::new(),
            };
            submit(term, &config, timeout, &subject, &test, &spec, json)
        }
        Command::Config { edit, save } => configure(term, &overrides, &paths, edit, save),
        Command::Completions { .. } | Command::Man => Ok(()),
    }
}

fn client(config: &Config, timeout: Duration) -> Result<ApiClient, ClientError> {
    ApiClient::new(&config.api_url, &config.api_key, timeout)
}

/// First run: asks for whatever is missing and saves the result.
fn setup_if_needed<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    overrides: &Layer,
    paths: &Paths,
) -> Result<Config, AppError> {
    let mut settings = Settings::load(overrides, paths)?;
    if let Ok(config) = settings.complete() {
        return Ok(config);
    }
    term.say(
        &term
            .style
            .bold("Welcome to test-time! Let's set it up once."),
    )?;
    term.say(&format!(
        "Your settings will be saved to {} (readable only by you).",
        paths.file.display()
    ))?;
    ask_settings(term, &mut settings, false)?;
    let config = settings.complete()?;
    config::save(&paths.file, &config)?;
    term.say("Saved. Change it any time with `test-time config --edit`.")?;
    Ok(config)
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
                Err(e) => term.say(&term.style.yellow(&e.to_string()))?,
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
                (true, None) => term.say(
                    &term
                        .style
                        .yellow("the key cannot be empty; paste the key your trainer sent you"),
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
                Err(e) => term.say(&term.style.yellow(&e.to_string()))?,
            }
        }
    }
    Ok(())
}

fn configure<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    overrides: &Layer,
    paths: &Paths,
    edit: bool,
    save: bool,
) -> Result<(), AppError> {
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
    Ok(())
}

fn list<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    config: &Config,
    timeout: Duration,
    json: bool,
) -> Result<(), AppError> {
    let listing = client(config, timeout)?.list_tests(&config.student_id)?;
    if json {
        let text = serde_json::to_string_pretty(&listing).map_err(std::io::Error::other)?;
        term.say(&text)?;
        return Ok(());
    }
    let now = Utc::now();
    let rows: Vec<_> = listing
        .iter()
        .flat_map(|s| s.tests.iter().map(move |t| (&s.subject, t)))
        .collect();
    if rows.is_empty() {
        term.say("No open tests for you right now.")?;
        return Ok(());
    }
    let style = term.style;
    term.say(&style.bold(&format!(
        "{}  {}  {}  {}  STATUS",
        cell("SUBJECT", 20),
        cell("TEST", 10),
        cell("TITLE", 30),
        cell("DUE (your time)", 40)
    )))?;
    for (subject, t) in rows {
        let status = if t.submitted {
            style.green("submitted")
        } else {
            style.yellow("to take")
        };
        term.say(&format!(
            "{}  {}  {}  {}  {status}",
            cell(subject.as_str(), 20),
            cell(t.test_id.as_str(), 10),
            cell(&t.title, 30),
            cell(&due_local(t.due_at, now), 40)
        ))?;
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
    term.say(&style.bold(&format!("{subject} / {test}: {title}")))?;
    if let Some(info) = info {
        term.say(&format!("Due {}", due_local(info.due_at, Utc::now())))?;
    }
    term.say(&format!("{count} question(s)."))
}

fn show<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    config: &Config,
    timeout: Duration,
    subject: &SubjectName,
    test: &TestId,
    json: bool,
) -> Result<(), AppError> {
    let (info, questions) = client(config, timeout)?.get_test(&config.student_id, subject, test)?;
    if json {
        let value = serde_json::json!({ "test": info, "questions": questions });
        let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
        term.say(&text)?;
        return Ok(());
    }
    print_header(term, info.as_ref(), subject, test, questions.len())?;
    for (i, q) in questions.iter().enumerate() {
        term.say("")?;
        term.say(&format!("{}. {}", i + 1, q.question))?;
        for a in &q.answers {
            term.say(&format!("  {}) {}", a.answer_id, a.answer_body))?;
        }
    }
    Ok(())
}

fn submit<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    config: &Config,
    timeout: Duration,
    subject: &SubjectName,
    test: &TestId,
    spec: &str,
    json: bool,
) -> Result<(), AppError> {
    let api = client(config, timeout)?;
    let (_, questions) = api.get_test(&config.student_id, subject, test)?;
    let given = answers::parse(spec, &questions)?;
    let request = UploadRequest {
        subject_name: subject.clone(),
        test_id: test.clone(),
        student_id: config.student_id.clone(),
        test_result: given,
    };
    let uploaded = api.upload(&request)?;
    if json {
        let text =
            serde_json::to_string_pretty(&uploaded.receipt).map_err(std::io::Error::other)?;
        term.say(&text)?;
        return Ok(());
    }
    flow::show_receipt(term, &uploaded.receipt, uploaded.message.as_deref())?;
    Ok(())
}

fn take<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    config: &Config,
    timeout: Duration,
    subject: Option<SubjectName>,
    test: Option<TestId>,
) -> Result<(), AppError> {
    let api = client(config, timeout)?;
    let style = term.style;
    term.say(&format!("Hello {}!", config.student_id))?;
    let listing = api.list_tests(&config.student_id)?;
    let listing: Vec<_> = match &subject {
        Some(s) => listing.into_iter().filter(|l| &l.subject == s).collect(),
        None => listing,
    };
    let (subject, test, submitted) = match (subject, test) {
        (Some(s), Some(t)) => {
            let submitted = listing
                .iter()
                .flat_map(|l| &l.tests)
                .any(|x| x.test_id == t && x.submitted);
            (s, t, submitted)
        }
        _ => match flow::choose_test(term, &listing, Utc::now())? {
            Some(chosen) => (chosen.subject, chosen.test.test_id, chosen.test.submitted),
            None => {
                term.say("No open tests for you right now. See you next week!")?;
                return Ok(());
            }
        },
    };
    let (info, questions) = api.get_test(&config.student_id, &subject, &test)?;
    print_header(term, info.as_ref(), &subject, &test, questions.len())?;
    if submitted {
        term.say(&style.yellow(
            "You already submitted this test; you can change your answers until the deadline.",
        ))?;
    }
    term.say(
        &style.dim("Type the letter of your answer. Enter skips a question, < goes back, ? helps."),
    )?;
    let mut answers = vec![None; questions.len()];
    flow::answer_all(term, &questions, &mut answers)?;
    if flow::review(term, &questions, &mut answers, submitted)? == Decision::Quit {
        return Err(AppError::Quit);
    }
    let request = UploadRequest {
        subject_name: subject,
        test_id: test,
        student_id: config.student_id.clone(),
        test_result: flow::given_answers(&questions, &answers),
    };
    let uploaded = api.upload(&request)?;
    flow::show_receipt(term, &uploaded.receipt, uploaded.message.as_deref())?;
    Ok(())
}
