//! First run and `test-time config`: asking for the settings, checking them with the API, saving them.

use super::{client, warn, AppError, Context};
use crate::api::ClientError;
use crate::config::{self, Config, Settings, Source, Value};
use crate::prompt::Term;
use ework_domain::ids::StudentId;
use std::io::{BufRead, Write};

/// First run: asks for whatever is missing, checks it with the API, and saves it only
/// once the API accepted it. Returns whether it set up now.
pub(super) fn setup_if_needed<R: BufRead, W: Write>(
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
        let e = match checked {
            Err(e) => e,
            Ok(listing) => {
                let name = listing.name_of(&config.student_id);
                config::save(&ctx.paths.file, &config)?;
                term.say("")?;
                term.say(&term.style.bold(&format!("Welcome, {name}!")))?;
                term.tell(&format!(
                "Your settings work and are saved to {} (readable only by you). Change them any time with `test-time config --edit`.",
                ctx.paths.file.display()
            ))?;
                return Ok((config, true));
            }
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
pub(super) fn ask_settings<R: BufRead, W: Write>(
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

pub(super) fn configure<R: BufRead, W: Write>(
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
