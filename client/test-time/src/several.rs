//! A multiple-answer question in the interactive flow: typing an option adds it
//! to the selection or takes it out again (the selection is shown after each
//! change), typing several (`a,c`) gives the whole answer, Enter confirms.

use crate::choice::{options_of, parse_choice, Choice};
use crate::flow::{parse_step, say_problem, Nav, Step};
use crate::prompt::{InputError, Term};
use ework_domain::ids::AnswerId;
use ework_domain::model::Question;
use std::io::{BufRead, Write};

/// A multiple-answer question: a typed option goes in or out of the selection
/// (shown after each change), `a,c` is the whole answer, Enter confirms.
pub(crate) fn ask_several<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    question: &Question,
    answer: &mut Option<Choice>,
    narrow: bool,
) -> Result<Nav, InputError> {
    let opts = options_of(question);
    let mut selection: Vec<AnswerId> = answer
        .as_ref()
        .map(|c| c.ids().to_vec())
        .unwrap_or_default();
    let shown = |selection: &[AnswerId]| match selection {
        [] => "none".to_string(),
        some => Choice::many(some.to_vec()).shown(),
    };
    let confirm =
        |selection: &[AnswerId]| (!selection.is_empty()).then(|| Choice::many(selection.to_vec()));
    loop {
        let current = shown(&selection);
        let prompt = if narrow {
            format!("Answers ({opts}; Enter=[{current}], ?): ")
        } else {
            format!("Your answers ({opts}; letters toggle, Enter confirms [{current}], ? help): ")
        };
        let line = term.ask(&prompt)?;
        match parse_step(&line, question) {
            Step::Toggle(id) => {
                match selection.iter().position(|s| s == &id) {
                    Some(at) => {
                        selection.remove(at);
                    }
                    None => selection.push(id),
                }
                selection.sort();
                term.tell(&format!("Selected: {}", shown(&selection)))?;
            }
            Step::Answer(choice) => {
                *answer = Some(choice);
                return Ok(Nav::Next);
            }
            Step::Keep => {
                *answer = confirm(&selection);
                return Ok(Nav::Next);
            }
            Step::Skip => {
                *answer = None;
                return Ok(Nav::Next);
            }
            Step::Back => {
                // What was toggled is kept, as if confirmed.
                *answer = confirm(&selection);
                return Ok(Nav::Back);
            }
            Step::Help => {
                let help = format!(
                    "Several answers may be right. Type a letter of {opts} to add it or take it out again, or all your answers at once (a,c); Enter confirms the selection (none skips), - clears it, < goes back one question. Ctrl-C stops; your answers are kept."
                );
                term.tell(&help)?;
            }
            Step::Invalid(typed) => {
                let why = parse_choice(&typed, question).err().unwrap_or_default();
                say_problem(term, &format!("{why}."))?;
            }
        }
    }
}
