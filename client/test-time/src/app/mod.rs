//! Runs one command: loads the configuration, talks to the API, prints.

mod error;
mod list;
mod setup;
mod show;
mod submit;
mod take;

pub use error::{AppError, Kept};

use crate::api::{ApiClient, ClientError};
use crate::cli::{Cli, Command};
use crate::config::{Config, Layer, Paths, Settings};
use crate::draft::Drafts;
use crate::prompt::Term;
use crate::render::wrap;
use crate::wait::Waiting;
use clap::CommandFactory;
use std::io::{BufRead, Write};
use std::time::Duration;

/// What every command needs besides the terminal.
pub struct Context {
    pub overrides: Layer,
    pub paths: Paths,
    pub timeout: Duration,
    pub waiting: Waiting,
}

impl Context {
    pub(crate) fn drafts(&self) -> Drafts {
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
            let (config, set_up_now) = setup::setup_if_needed(term, &ctx)?;
            take::take(term, &ctx, &config, subject, test, !set_up_now)
        }
        Command::List { json } => {
            let config = Settings::load(&ctx.overrides, &ctx.paths)?.complete()?;
            list::list(term, &ctx, &config, json)
        }
        Command::Show {
            subject,
            test,
            json,
        } => {
            let config = Settings::load(&ctx.overrides, &ctx.paths)?.complete()?;
            show::show(term, &ctx, &config, &subject, &test, json)
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
            let source = submit::AnswerSource::from_flags(answers, answers_file, draft)?;
            submit::submit(term, &ctx, &config, &subject, &test, source, json)
        }
        Command::Config { edit, save } => setup::configure(term, &ctx, edit, save),
        Command::Completions { .. } | Command::Man => Ok(()),
    }
}

pub(crate) fn client(config: &Config, timeout: Duration) -> Result<ApiClient, ClientError> {
    ApiClient::new(&config.api_url, &config.api_key, timeout)
}

/// Prints `text` in yellow, wrapped.
pub(crate) fn warn<R: BufRead, W: Write>(term: &mut Term<R, W>, text: &str) -> std::io::Result<()> {
    let style = term.style;
    for line in wrap(text, term.width, "", "") {
        term.say(&style.yellow(&line))?;
    }
    Ok(())
}
