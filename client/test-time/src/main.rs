//! Entry point: parse the command line, run, turn failures into a message and an exit code.

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use test_time::{app, cli::Cli, prompt::Term, render::Style};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var("NO_COLOR").ok();
    let style = Style::detect(std::io::stdout().is_terminal(), no_color.as_deref());
    let err_style = Style::detect(std::io::stderr().is_terminal(), no_color.as_deref());
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let mut term = Term::new(stdin.lock(), std::io::stdout().lock(), style, tty);
    match app::run(cli, &mut term) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{} {e}", err_style.red(&err_style.bold("error:")));
            if let Some(hint) = e.hint() {
                eprintln!("{} {hint}", err_style.bold("hint:"));
            }
            ExitCode::from(e.exit_code())
        }
    }
}
