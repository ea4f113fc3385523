//! The interactive parts of taking a test: choosing it, answering the questions
//! (skip, go back, re-asked on bad input) and the review before submitting. Every
//! change is handed to a callback, which keeps the draft.

use crate::choice::{options_of, parse_choice, points_note, Choice, Given};
use crate::deadline::deadline;
use crate::prompt::{InputError, Term};
use crate::render::{cell, moment, short_hash, width_of};
use chrono::{DateTime, Utc};
use ework_domain::api::contract::{SubjectTests, TestSummary};
use ework_domain::ids::{AnswerId, SubjectName, TestId};
use ework_domain::model::{Question, Receipt};
use std::io::{BufRead, Write};

/// What one line typed at a question means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Answer(Choice),
    /// One option typed at a multiple-answer question: it goes in or out of the selection.
    Toggle(AnswerId),
    /// Enter: keep the current answer (or leave it unanswered).
    Keep,
    /// `-`: clear the answer and move on.
    Skip,
    /// `<`: previous question.
    Back,
    Help,
    /// Not an option of this question; the text is what was typed.
    Invalid(String),
}

/// Reads one typed line. `-`, `<` and `?` can never be answer ids (an id starts
/// with a letter or digit), so they are safe as commands. At a multiple-answer
/// question one option toggles it, several (`a,c`) are the whole answer.
pub fn parse_step(input: &str, question: &Question) -> Step {
    let input = input.trim();
    match input {
        "" => Step::Keep,
        "-" => Step::Skip,
        "<" => Step::Back,
        "?" => Step::Help,
        _ => match parse_choice(input, question) {
            Ok(Choice::Many(ids)) if ids.len() == 1 && AnswerId::parse(input).is_ok() => {
                Step::Toggle(ids[0].clone())
            }
            Ok(choice) => Step::Answer(choice),
            Err(_) => Step::Invalid(input.to_string()),
        },
    }
}

/// Where to go after a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Next,
    Back,
}

/// Called after every change with the answers and the question to resume at.
pub type OnChange<'a> = dyn FnMut(&[Option<Choice>], usize) + 'a;

/// Below this many columns the prompts get their short form.
const NARROW: usize = 60;

/// `[2 points, several answers]` after the question's number, when either applies.
fn marks(question: &Question) -> String {
    let mut marks: Vec<String> = points_note(question).into_iter().collect();
    if question.multiple {
        marks.push("several answers".into());
    }
    if marks.is_empty() {
        String::new()
    } else {
        format!("  [{}]", marks.join(", "))
    }
}

/// Shows question `index` and stores the answer in `answers[index]`.
pub fn ask_question<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    questions: &[Question],
    answers: &mut [Option<Choice>],
    index: usize,
) -> Result<Nav, InputError> {
    let question = &questions[index];
    let style = term.style;
    let answered = answers.iter().filter(|a| a.is_some()).count();
    let narrow = term.width.is_some_and(|w| w < NARROW);
    term.say("")?;
    term.say(&format!(
        "{}{}  {}",
        style.bold(&style.cyan(&format!("Question {}/{}", index + 1, questions.len()))),
        style.bold(&marks(question)),
        style.dim(&if narrow {
            format!("({answered} answered)")
        } else {
            format!("({answered} answered so far)")
        })
    ))?;
    for line in crate::render::wrap(&question.question, term.width, "", "") {
        term.say(&style.bold(&line))?;
    }
    for option in &question.answers {
        let id = option.answer_id.as_str();
        let first = format!("  {id}) ");
        let rest = " ".repeat(width_of(&first));
        let lines = crate::render::wrap(&option.answer_body, term.width, &first, &rest);
        for (n, line) in lines.iter().enumerate() {
            if n == 0 {
                // The id in bold: it is what to type.
                let body = line.get(first.len()..).unwrap_or_default();
                term.say(&format!("  {}) {body}", style.bold(id)))?;
            } else {
                term.say(line)?;
            }
        }
    }
    if question.multiple {
        return crate::several::ask_several(term, question, &mut answers[index], narrow);
    }
    let opts = options_of(question);
    loop {
        let prompt = match (&answers[index], narrow) {
            (Some(current), false) => format!(
                "Your answer ({opts}; Enter keeps {}, - clears, < back, ? help): ",
                current.shown()
            ),
            (None, false) => format!("Your answer ({opts}; Enter skips, < back, ? help): "),
            (Some(current), true) => format!("Answer ({opts}; Enter={}, ?): ", current.shown()),
            (None, true) => format!("Answer ({opts}, ?): "),
        };
        let line = term.ask(&prompt)?;
        match parse_step(&line, question) {
            Step::Answer(choice) => {
                answers[index] = Some(choice);
                return Ok(Nav::Next);
            }
            // Only a multiple-answer question toggles; one option is the answer here.
            Step::Toggle(id) => {
                answers[index] = Some(Choice::One(id));
                return Ok(Nav::Next);
            }
            Step::Keep => return Ok(Nav::Next),
            Step::Skip => {
                answers[index] = None;
                return Ok(Nav::Next);
            }
            Step::Back => return Ok(Nav::Back),
            Step::Help => {
                let help = format!(
                    "Type one of {opts} (upper or lower case), Enter to {}, - to leave it unanswered, < to go back one question. Ctrl-C stops; your answers are kept.",
                    if answers[index].is_some() { "keep your answer" } else { "skip it for now" }
                );
                term.tell(&help)?;
            }
            Step::Invalid(typed) => {
                let msg =
                    format!("{typed:?} is not an answer to this question; type one of {opts}.");
                say_problem(term, &msg)?;
            }
        }
    }
}

pub(crate) fn say_problem<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    msg: &str,
) -> Result<(), InputError> {
    let style = term.style;
    for line in crate::render::wrap(msg, term.width, "", "") {
        term.say(&style.yellow(&line))?;
    }
    Ok(())
}

/// Goes through the questions from `start`; `<` moves back, even past skipped ones.
/// `on_change` hears of every step.
pub fn answer_all<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    questions: &[Question],
    answers: &mut [Option<Choice>],
    start: usize,
    on_change: &mut OnChange<'_>,
) -> Result<(), InputError> {
    let mut index = start.min(questions.len());
    while index < questions.len() {
        let asked = index;
        let before = answers[asked].clone();
        match ask_question(term, questions, answers, index)? {
            Nav::Next => index += 1,
            Nav::Back if index == 0 => term.say("This is the first question.")?,
            Nav::Back => index -= 1,
        }
        // Kept from the first answer on (and when the last one is cleared).
        if answers.iter().any(Option::is_some) || before != answers[asked] {
            on_change(answers, index);
        }
    }
    Ok(())
}

/// What the student decided on the review screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Submit,
    Quit,
}

/// Lists every answer, then asks to submit, quit (after asking again), or change one
/// question (and shows the list again after a change).
pub fn review<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    questions: &[Question],
    answers: &mut [Option<Choice>],
    resubmitting: bool,
    on_change: &mut OnChange<'_>,
) -> Result<Decision, InputError> {
    let style = term.style;
    loop {
        term.say("")?;
        term.say(&style.bold("Review your answers"))?;
        let answer_width = questions
            .iter()
            .zip(answers.iter())
            .map(|(_, a)| a.as_ref().map_or(9, |a| width_of(&a.shown())))
            .max()
            .unwrap_or(9);
        // "  12. " + question + "  ->  " + answer
        let room = term
            .width
            .map_or(50, |w| w.saturating_sub(6 + 6 + answer_width).max(10));
        for (i, (q, a)) in questions.iter().zip(answers.iter()).enumerate() {
            let shown = match a {
                Some(a) => style.green(&a.shown()),
                None => style.yellow("(skipped)"),
            };
            let text = q.question.replace('\n', " ");
            term.say(&format!(
                "  {:>2}. {}  ->  {shown}",
                i + 1,
                cell(&text, room)
            ))?;
        }
        let skipped = answers.iter().filter(|a| a.is_none()).count();
        let mut summary = format!("{} answered, {skipped} skipped", questions.len() - skipped);
        if skipped > 0 {
            summary.push_str(" (a skipped question counts as wrong)");
        }
        term.tell(&summary)?;
        if resubmitting {
            let note =
                "You already submitted this test: submitting again replaces your earlier answers.";
            for line in crate::render::wrap(note, term.width, "", "") {
                term.say(&style.yellow(&line))?;
            }
        }
        let count = questions.len();
        let prompt = if term.width.is_some_and(|w| w < NARROW) {
            format!("Submit? (y, n, 1-{count} to change): ")
        } else {
            format!("Submit now? (y = submit, n = quit without submitting, 1-{count} = change that answer): ")
        };
        let line = term.ask(&prompt)?;
        match line.to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(Decision::Submit),
            "n" | "no" => {
                if term.confirm(
                    "Quit without sending? Your answers stay in a draft on this computer.",
                    false,
                )? {
                    return Ok(Decision::Quit);
                }
            }
            other => match other.parse::<usize>() {
                Ok(n) if (1..=count).contains(&n) => {
                    // Back from a single change returns to the review, not to the previous question.
                    ask_question(term, questions, answers, n - 1)?;
                    on_change(answers, count);
                }
                _ => term.say(&style.yellow(&format!(
                    "{line:?}: type y, n or a question number from 1 to {count}."
                )))?,
            },
        }
    }
}

pub use crate::choice::given_answers;

/// An open test picked from a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub subject: SubjectName,
    pub test: TestSummary,
}

/// Picks a subject, then a test, by number, asking only when there is a choice.
/// `None` when nothing is open. `drafted` marks tests with unsent answers.
pub fn choose_test<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    listing: &[SubjectTests],
    now: DateTime<Utc>,
    drafted: &dyn Fn(&SubjectName, &TestId) -> bool,
) -> Result<Option<Chosen>, InputError> {
    let style = term.style;
    let subjects: Vec<&SubjectTests> = listing.iter().filter(|s| !s.tests.is_empty()).collect();
    let subject = match subjects.as_slice() {
        [] => return Ok(None),
        [only] => *only,
        many => {
            term.say(&style.bold("Subjects with open tests:"))?;
            for (i, s) in many.iter().enumerate() {
                let to_take = s.tests.iter().filter(|t| !t.submitted).count();
                term.say_wrapped(
                    &format!("  {}. ", i + 1),
                    "     ",
                    &format!("{}  ({} open, {to_take} to take)", s.subject, s.tests.len()),
                )?;
            }
            many[term.choose("Subject", many.len())?]
        }
    };
    let zone = term.zone;
    let line = |t: &TestSummary| {
        let mut marks = String::new();
        if t.submitted {
            marks.push_str("  [submitted, can be resubmitted]");
        }
        if drafted(&subject.subject, &t.test_id) {
            marks.push_str("  [unsent draft]");
        }
        let points = t
            .points
            .map(|p| format!(" ({p} points)"))
            .unwrap_or_default();
        format!(
            "{}  {}{points}  due {}{marks}",
            t.test_id,
            t.title,
            deadline(t.due_at, t.late.as_ref(), now, &zone)
        )
    };
    let test = match subject.tests.as_slice() {
        [only] => {
            term.say_wrapped(
                &format!("Open test in {}: ", subject.subject),
                "  ",
                &line(only),
            )?;
            only
        }
        many => {
            term.say(&style.bold(&format!("Open tests in {}:", subject.subject)))?;
            for (i, t) in many.iter().enumerate() {
                term.say_wrapped(&format!("  {}. ", i + 1), "     ", &line(t))?;
            }
            &many[term.choose("Test", many.len())?]
        }
    };
    Ok(Some(Chosen {
        subject: subject.subject.clone(),
        test: test.clone(),
    }))
}

/// Prints the receipt of an upload. `sent` are the answers sent, checked against it.
pub fn show_receipt<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    receipt: &Receipt,
    message: Option<&str>,
    sent: &[Given],
) -> std::io::Result<()> {
    let style = term.style;
    let at = moment(receipt.received_at, &term.zone);
    term.say("")?;
    for line in crate::render::wrap(&format!("Submitted at {at}."), term.width, "", "") {
        term.say(&style.green(&style.bold(&line)))?;
    }
    term.tell(&format!(
        "Receipt: sha256 {}  (keep it: it identifies exactly what was stored)",
        short_hash(&receipt.sha256)
    ))?;
    if !receipt.describes(sent) {
        let warning = "The receipt does not match the answers sent; check them with `test-time show` and tell your trainer.";
        for line in crate::render::wrap(warning, term.width, "", "") {
            term.say(&style.yellow(&line))?;
        }
    }
    if let Some(late) = &receipt.late {
        let text = crate::deadline::received_late(late, &term.zone);
        for line in crate::render::wrap(&text, term.width, "", "") {
            term.say(&style.yellow(&line))?;
        }
    }
    if receipt.replaced {
        term.tell("This submission replaced your earlier one.")?;
    }
    if let Some(m) = message {
        term.tell(m)?;
    } else if receipt.unanswered > 0 {
        term.tell(&format!(
            "{} question(s) left unanswered; they count as wrong.",
            receipt.unanswered
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Style;
    use ework_domain::ids::{StudentId, TestId};

    fn question(id: &str, options: &[&str]) -> Question {
        crate::choice::tests::question(id, options, false)
    }

    fn one(id: &str) -> Option<Choice> {
        Some(Choice::One(AnswerId::parse(id).unwrap()))
    }

    fn term(input: &str) -> Term<&[u8], Vec<u8>> {
        Term::new(input.as_bytes(), Vec::new(), Style { color: false }, false)
    }

    /// The answers of single-answer questions.
    fn ids(answers: &[Option<Choice>]) -> Vec<Option<&str>> {
        answers
            .iter()
            .map(|a| a.as_ref().map(|c| c.ids()[0].as_str()))
            .collect()
    }

    fn ignore() -> impl FnMut(&[Option<Choice>], usize) {
        |_: &[Option<Choice>], _: usize| {}
    }

    #[test]
    fn typed_lines_map_to_steps_and_answers_are_case_insensitive() {
        let q = question("1", &["a", "b"]);
        assert_eq!(
            parse_step(" B ", &q),
            Step::Answer(Choice::One(AnswerId::parse("b").unwrap()))
        );
        assert_eq!(parse_step("", &q), Step::Keep);
        assert_eq!(parse_step("-", &q), Step::Skip);
        assert_eq!(parse_step("<", &q), Step::Back);
        assert_eq!(parse_step("?", &q), Step::Help);
        assert_eq!(parse_step("c", &q), Step::Invalid("c".into()));
        assert_eq!(parse_step("../a", &q), Step::Invalid("../a".into()));
    }

    #[test]
    fn invalid_answer_is_asked_again_skip_and_back_work() {
        let qs = [
            question("1", &["a", "b"]),
            question("2", &["a", "b"]),
            question("3", &["a", "b", "c"]),
        ];
        let mut answers = vec![None; 3];
        // q1: "z" refused, then A; q2: skipped; q3: back to q2, answer b; q3: c.
        let mut t = term("z\nA\n\n<\nb\nc\n");
        answer_all(&mut t, &qs, &mut answers, 0, &mut ignore()).unwrap();
        assert_eq!(ids(&answers), [Some("a"), Some("b"), Some("c")]);
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(
            out.contains("\"z\" is not an answer to this question; type one of a/b."),
            "{out}"
        );
        assert_eq!(out.matches("Question 2/3").count(), 2, "{out}");
    }

    #[test]
    fn every_answer_is_handed_on_with_where_to_resume_from_the_first_answer_on() {
        let qs = [
            question("1", &["a"]),
            question("2", &["a"]),
            question("3", &["a"]),
        ];
        let mut answers = vec![None; 3];
        let mut seen = Vec::new();
        let mut record = |a: &[Option<Choice>], at: usize| {
            seen.push((a.iter().filter(|x| x.is_some()).count(), at))
        };
        // Q1 skipped (nothing to keep yet), Q2 answered, Q3 answered.
        let mut t = term("\na\na\n");
        answer_all(&mut t, &qs, &mut answers, 0, &mut record).unwrap();
        assert_eq!(seen, [(1, 2), (2, 3)]);
    }

    #[test]
    fn answering_resumes_at_the_given_question() {
        let qs = [question("1", &["a"]), question("2", &["a", "b"])];
        let mut answers = vec![one("a"), None];
        let mut t = term("b\n");
        answer_all(&mut t, &qs, &mut answers, 1, &mut ignore()).unwrap();
        assert_eq!(ids(&answers), [Some("a"), Some("b")]);
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(!out.contains("Question 1/2"), "{out}");
        assert!(out.contains("Question 2/2  (1 answered so far)"), "{out}");
    }

    #[test]
    fn back_on_the_first_question_stays_there() {
        let qs = [question("1", &["a"])];
        let mut answers = vec![None];
        let mut t = term("<\na\n");
        answer_all(&mut t, &qs, &mut answers, 0, &mut ignore()).unwrap();
        assert_eq!(ids(&answers), [Some("a")]);
        assert!(String::from_utf8(t.out().clone())
            .unwrap()
            .contains("This is the first question."));
    }

    #[test]
    fn a_narrow_terminal_gets_wrapped_questions_and_short_prompts() {
        let mut q = question("1", &["a", "b"]);
        q.question = "Which system call creates a new process on a Unix system?".into();
        q.answers[0].answer_body = "fork, which copies the calling process".into();
        let mut answers = vec![None];
        let mut t = term("a\n").with_width(Some(30));
        answer_all(&mut t, &[q], &mut answers, 0, &mut ignore()).unwrap();
        let out = String::from_utf8(t.out().clone()).unwrap();
        for line in out.lines() {
            assert!(width_of(line) <= 30, "{line:?} is wider than 30:\n{out}");
        }
        assert!(
            out.contains("  a) fork, which copies the\n     calling process"),
            "{out}"
        );
        assert!(out.contains("Answer (a/b, ?): a"), "{out}");
    }

    fn several(id: &str, options: &[&str]) -> Question {
        crate::choice::tests::question(id, options, true)
    }

    #[test]
    fn at_a_multiple_answer_question_letters_toggle_and_enter_confirms() {
        let mut q = several("1", &["a", "b", "c"]);
        q.points = 3;
        let mut answers = vec![None];
        // a in, c in, a out again, z refused, b in, Enter.
        let mut t = term("a\nC\na\nz\nb\n\n");
        answer_all(&mut t, &[q], &mut answers, 0, &mut ignore()).unwrap();
        assert_eq!(
            answers[0].as_ref().map(Choice::shown).as_deref(),
            Some("b, c")
        );
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(
            out.contains("Question 1/1  [3 points, several answers]"),
            "{out}"
        );
        let selected: Vec<&str> = out.lines().filter(|l| l.starts_with("Selected:")).collect();
        assert_eq!(
            selected,
            [
                "Selected: a",
                "Selected: a, c",
                "Selected: c",
                "Selected: b, c"
            ],
            "{out}"
        );
        assert!(
            out.contains("\"z\" is not an option of this question; its options are a, b, c."),
            "{out}"
        );
        assert!(out.contains("Enter confirms [b, c]"), "{out}");
    }

    #[test]
    fn toggling_a_and_c_then_a_out_again_sends_only_c_after_the_review() {
        let qs = [question("1", &["a", "b"]), several("2", &["a", "b", "c"])];
        let mut answers = vec![None, None];
        // Q1: b. Q2: a in, c in, a out, Enter. Review: y.
        let mut t = term(
            "b
a
c
a

y
",
        );
        answer_all(&mut t, &qs, &mut answers, 0, &mut ignore()).unwrap();
        assert_eq!(
            review(&mut t, &qs, &mut answers, false, &mut ignore()).unwrap(),
            Decision::Submit
        );
        let sent = serde_json::to_value(crate::choice::given_answers(&qs, &answers)).unwrap();
        assert_eq!(
            sent,
            serde_json::json!([
                {"questionId": "1", "answer": "b"},
                {"questionId": "2", "answer": ["c"]}
            ])
        );
        let out = String::from_utf8(t.out().clone()).unwrap();
        let selected: Vec<&str> = out.lines().filter(|l| l.starts_with("Selected:")).collect();
        assert_eq!(
            selected,
            ["Selected: a", "Selected: a, c", "Selected: c"],
            "{out}"
        );
        assert!(out.contains("->  c\n"), "{out}");
    }

    #[test]
    fn several_options_typed_at_once_are_the_whole_answer_and_a_dash_clears_it() {
        let qs = [several("1", &["a", "b", "c"]), several("2", &["a", "b"])];
        let mut answers = vec![
            None,
            Some(Choice::many(vec![AnswerId::parse("a").unwrap()])),
        ];
        let mut t = term("c, A\n-\n");
        answer_all(&mut t, &qs, &mut answers, 0, &mut ignore()).unwrap();
        assert_eq!(
            answers[0].as_ref().map(Choice::shown).as_deref(),
            Some("a, c")
        );
        assert_eq!(answers[1], None);
    }

    #[test]
    fn enter_at_a_multiple_answer_question_keeps_the_earlier_selection_and_back_keeps_toggles() {
        let qs = [question("1", &["a", "b"]), several("2", &["a", "b", "c"])];
        let mut answers = vec![
            one("a"),
            Some(Choice::many(vec![AnswerId::parse("b").unwrap()])),
        ];
        // Q2: c in, back to Q1 (Enter keeps a), Q2 again: Enter keeps b, c.
        let mut t = term("c\n<\n\n\n");
        answer_all(&mut t, &qs, &mut answers, 1, &mut ignore()).unwrap();
        assert_eq!(
            answers[1].as_ref().map(Choice::shown).as_deref(),
            Some("b, c")
        );
        assert_eq!(ids(&answers[..1]), [Some("a")]);
    }

    #[test]
    fn the_review_shows_every_option_of_a_multiple_answer() {
        let qs = [several("1", &["a", "b", "c"])];
        let mut answers = vec![Some(Choice::many(vec![
            AnswerId::parse("c").unwrap(),
            AnswerId::parse("a").unwrap(),
        ]))];
        let mut t = term("y\n");
        review(&mut t, &qs, &mut answers, false, &mut ignore()).unwrap();
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(out.contains("->  a, c"), "{out}");
    }

    #[test]
    fn review_can_change_an_answer_before_submitting() {
        let qs = [question("1", &["a", "b"]), question("2", &["a", "b"])];
        let mut answers = vec![one("a"), None];
        let mut changes = 0;
        let mut count = |_: &[Option<Choice>], _: usize| changes += 1;
        let mut t = term("maybe\n2\nb\ny\n");
        assert_eq!(
            review(&mut t, &qs, &mut answers, true, &mut count).unwrap(),
            Decision::Submit
        );
        assert_eq!(changes, 1);
        assert_eq!(ids(&answers), [Some("a"), Some("b")]);
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(out.contains("1 answered, 1 skipped"), "{out}");
        assert!(out.contains("2 answered, 0 skipped"), "{out}");
        assert!(out.contains("replaces your earlier answers"), "{out}");
        assert!(out.contains("\"maybe\": type y, n"), "{out}");
    }

    #[test]
    fn n_at_the_review_asks_before_quitting() {
        let qs = [question("1", &["a", "b"])];
        let mut answers = vec![None];
        // n, then "no, do not quit", then n and yes.
        let mut t = term("n\nn\nn\ny\n");
        assert_eq!(
            review(&mut t, &qs, &mut answers, false, &mut ignore()).unwrap(),
            Decision::Quit
        );
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert_eq!(out.matches("Quit without sending?").count(), 2, "{out}");
        assert_eq!(out.matches("Review your answers").count(), 2, "{out}");
    }

    #[test]
    fn the_review_lines_fit_a_narrow_terminal_with_cjk_questions() {
        let mut q = question("1", &["a", "b"]);
        q.question = "哪個系統呼叫會建立一個新的行程？".into();
        let mut answers = vec![one("a")];
        let mut t = term("y\n").with_width(Some(30));
        review(&mut t, &[q], &mut answers, false, &mut ignore()).unwrap();
        let out = String::from_utf8(t.out().clone()).unwrap();
        let row = out.lines().find(|l| l.contains("->")).unwrap();
        assert_eq!(width_of(row), 30, "{row:?}");
    }

    #[test]
    fn unanswered_questions_are_left_out_of_the_upload() {
        let qs = [question("1", &["a"]), question("2", &["a"])];
        let given = given_answers(&qs, &[None, one("a")]);
        assert_eq!(given.len(), 1);
        assert_eq!(given[0].question_id.as_str(), "2");
    }

    #[test]
    fn a_single_open_test_is_taken_without_asking() {
        let due = DateTime::parse_from_rfc3339("2026-11-30T23:00:00+01:00").unwrap();
        let listing = vec![SubjectTests {
            subject: SubjectName::parse("os").unwrap(),
            test_ids: vec![],
            tests: vec![TestSummary {
                test_id: TestId::parse("t1").unwrap(),
                title: "T".into(),
                due_at: due,
                submitted: true,
                late: None,
                points: None,
            }],
        }];
        let mut t = term("");
        let now = due.with_timezone(&Utc) - chrono::Duration::hours(28);
        let chosen = choose_test(&mut t, &listing, now, &|_, _| true)
            .unwrap()
            .unwrap();
        assert_eq!(chosen.test.test_id.as_str(), "t1");
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(
            out.contains("in 1 day 4 h") && out.contains("[submitted"),
            "{out}"
        );
        assert!(out.contains("UTC"), "the zone is named: {out}");
        assert!(out.contains("[unsent draft]"), "{out}");
    }

    #[test]
    fn a_receipt_that_does_not_describe_the_answers_sent_is_pointed_out() {
        let qs = [question("1", &["a", "b"])];
        let sent = given_answers(&qs, &[one("a")]);
        let at = Utc::now();
        let student = StudentId::parse("s1").unwrap();
        let subject = SubjectName::parse("os").unwrap();
        let test = TestId::parse("t1").unwrap();
        let receipt = Receipt {
            sha256: Receipt::digest(&student, &subject, &test, at, &sent),
            student_id: student,
            subject_name: subject,
            test_id: test,
            received_at: at,
            replaced: false,
            unanswered: 0,
            late: None,
        };
        let mut t = term("");
        show_receipt(&mut t, &receipt, None, &sent).unwrap();
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(!out.contains("does not match"), "{out}");
        let other = given_answers(&qs, &[one("b")]);
        let mut t = term("");
        show_receipt(&mut t, &receipt, None, &other).unwrap();
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(out.contains("does not match"), "{out}");
    }
}
