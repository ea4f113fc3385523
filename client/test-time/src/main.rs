//! Entry point: parse the command line, run, turn failures into a message and an exit code.

use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use test_time::render::{LocalZone, Style};
use test_time::wait::Waiting;
use test_time::{app, cli::Cli, interrupt, prompt::Term};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var("NO_COLOR").ok();
    let stdout_tty = std::io::stdout().is_terminal();
    let style = Style::detect(stdout_tty, no_color.as_deref());
    let err_style = Style::detect(std::io::stderr().is_terminal(), no_color.as_deref());
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    on_ctrl_c(tty);
    let width = columns(stdout_tty);
    interrupt::set_width(width);
    let mut term = Term::new(stdin.lock(), std::io::stdout().lock(), style, tty)
        .with_width(width)
        .with_zone(LocalZone::detect());
    let result = app::run(cli, &mut term, Waiting::detect());
    drop(term);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `| head` has what it wanted: no message, no failure.
        Err(e) if e.is_closed_output() => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stderr must not turn into a panic either.
            let mut err = std::io::stderr().lock();
            if !e.is_quiet() {
                let _ = writeln!(err, "{} {e}", err_style.red(&err_style.bold("error:")));
            }
            if let Some(hint) = e.hint() {
                let _ = writeln!(err, "{} {hint}", err_style.bold("hint:"));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Width to wrap to: `COLUMNS` when set, else the terminal's; nothing when stdout
/// is not a terminal.
fn columns(stdout_tty: bool) -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    if !stdout_tty {
        return None;
    }
    #[cfg(unix)]
    {
        rustix::termios::tcgetwinsize(std::io::stdout())
            .ok()
            .map(|w| usize::from(w.ws_col))
            .filter(|n| *n > 0)
    }
    #[cfg(not(unix))]
    None
}

/// Ctrl-C: put the terminal back (a hidden prompt turns echo off), say what became of
/// the answers, and exit with 130 like a shell does.
fn on_ctrl_c(stdin_tty: bool) {
    #[cfg(unix)]
    let saved = stdin_tty
        .then(|| rustix::termios::tcgetattr(std::io::stdin()).ok())
        .flatten();
    #[cfg(not(unix))]
    let _ = stdin_tty;
    let handler = move || {
        #[cfg(unix)]
        if let Some(termios) = &saved {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                termios,
            );
        }
        let mut err = std::io::stderr();
        let _ = writeln!(err);
        if let Some(message) = interrupt::current_message() {
            let _ = writeln!(err, "{message}");
        }
        std::process::exit(130);
    };
    // Without a handler Ctrl-C still ends the program, only without the message.
    let _ = ctrlc::set_handler(handler);
}
