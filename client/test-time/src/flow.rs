//! The interactive parts of taking a test: choosing it, answering the questions
//! (skip, go back, re-asked on bad input) and the review before submitting.

use crate::prompt::{InputError, Term};
use crate::render::{due_local, short_hash};
use chrono::{DateTime, Local, Utc};
use ework_domain::api::contract::{SubjectTests, TestSummary};
use ework_domain::ids::{AnswerId, SubjectName};
use ework_domain::model::{GivenAnswer, Question, Receipt};
use std::io::{BufRead, Write};

/// What one line typed at a question means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Answer(AnswerId),
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
/// with a letter or digit), so they are safe as commands.
pub fn parse_step(input: &str, question: &Question) -> Step {
    let input = input.trim();
    match input {
        "" => Step::Keep,
        "-" => Step::Skip,
        "<" => Step::Back,
        "?" => Step::Help,
        _ => match AnswerId::parse(input) {
            Ok(id) if question.has_answer(&id) => Step::Answer(id),
            _ => Step::Invalid(input.to_string()),
        },
    }
}

/// Where to go after a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Next,
    Back,
}

fn options(question: &Question) -> String {
    question
        .answers
        .iter()
        .map(|a| a.answer_id.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// Shows question `index` and stores the answer in `answers[index]`.
pub fn ask_question<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    questions: &[Question],
    answers: &mut [Option<AnswerId>],
    index: usize,
) -> Result<Nav, InputError> {
    let question = &questions[index];
    let style = term.style;
    let answered = answers.iter().filter(|a| a.is_some()).count();
    term.say("")?;
    term.say(&format!(
        "{}  {}",
        style.bold(&style.cyan(&format!("Question {}/{}", index + 1, questions.len()))),
        style.dim(&format!("({answered} answered so far)"))
    ))?;
    term.say(&style.bold(&question.question))?;
    for option in &question.answers {
        term.say(&format!(
            "  {}) {}",
            style.bold(option.answer_id.as_str()),
            option.answer_body
        ))?;
    }
    let opts = options(question);
    loop {
        let prompt = match &answers[index] {
            Some(current) => {
                format!("Your answer ({opts}; Enter keeps {current}, - clears, < back, ? help): ")
            }
            None => format!("Your answer ({opts}; Enter skips, < back, ? help): "),
        };
        let line = term.ask(&prompt)?;
        match parse_step(&line, question) {
            Step::Answer(id) => {
                answers[index] = Some(id);
                return Ok(Nav::Next);
            }
            Step::Keep => return Ok(Nav::Next),
            Step::Skip => {
                answers[index] = None;
                return Ok(Nav::Next);
            }
            Step::Back => return Ok(Nav::Back),
            Step::Help => term.say(&format!(
                "Type one of {opts} (upper or lower case), Enter to {}, - to leave it unanswered, < to go back one question.",
                if answers[index].is_some() { "keep your answer" } else { "skip it for now" }
            ))?,
            Step::Invalid(typed) => {
                let msg = format!("{typed:?} is not an answer to this question; type one of {opts}.");
                let painted = style.yellow(&msg);
                term.say(&painted)?;
            }
        }
    }
}

/// Goes through all questions from the first; `<` moves back, even past skipped ones.
pub fn answer_all<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    questions: &[Question],
    answers: &mut [Option<AnswerId>],
) -> Result<(), InputError> {
    let mut index = 0;
    while index < questions.len() {
        match ask_question(term, questions, answers, index)? {
            Nav::Next => index += 1,
            Nav::Back if index == 0 => term.say("This is the first question.")?,
            Nav::Back => index -= 1,
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

/// Lists every answer, then asks to submit, quit, or change one question (and
/// shows the list again after a change).
pub fn review<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    questions: &[Question],
    answers: &mut [Option<AnswerId>],
    resubmitting: bool,
) -> Result<Decision, InputError> {
    let style = term.style;
    loop {
        term.say("")?;
        term.say(&style.bold("Review your answers"))?;
        for (i, (q, a)) in questions.iter().zip(answers.iter()).enumerate() {
            let shown = match a {
                Some(a) => style.green(a.as_str()),
                None => style.yellow("(skipped)"),
            };
            term.say(&format!(
                "  {:>2}. {}  ->  {shown}",
                i + 1,
                crate::render::cell(&q.question, 50)
            ))?;
        }
        let skipped = answers.iter().filter(|a| a.is_none()).count();
        let mut summary = format!("{} answered, {skipped} skipped", questions.len() - skipped);
        if skipped > 0 {
            summary.push_str(" (a skipped question counts as wrong)");
        }
        term.say(&summary)?;
        if resubmitting {
            term.say(&style.yellow(
                "You already submitted this test: submitting again replaces your earlier answers.",
            ))?;
        }
        let count = questions.len();
        let line = term.ask(&format!("Submit now? (y = submit, n = quit without submitting, 1-{count} = change that answer): "))?;
        match line.to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(Decision::Submit),
            "n" | "no" => return Ok(Decision::Quit),
            other => match other.parse::<usize>() {
                Ok(n) if (1..=count).contains(&n) => {
                    // Back from a single change returns to the review, not to the previous question.
                    ask_question(term, questions, answers, n - 1)?;
                }
                _ => term.say(&style.yellow(&format!(
                    "{line:?}: type y, n or a question number from 1 to {count}."
                )))?,
            },
        }
    }
}

/// The answers in upload shape; unanswered questions are left out.
pub fn given_answers(questions: &[Question], answers: &[Option<AnswerId>]) -> Vec<GivenAnswer> {
    questions
        .iter()
        .zip(answers)
        .filter_map(|(q, a)| {
            a.clone().map(|answer| GivenAnswer {
                question_id: q.question_id.clone(),
                answer,
            })
        })
        .collect()
}

/// An open test picked from a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub subject: SubjectName,
    pub test: TestSummary,
}

/// Picks a subject, then a test, by number, asking only when there is a choice.
/// `None` when nothing is open.
pub fn choose_test<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    listing: &[SubjectTests],
    now: DateTime<Utc>,
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
                term.say(&format!(
                    "  {}. {}  ({} open, {to_take} to take)",
                    i + 1,
                    s.subject,
                    s.tests.len()
                ))?;
            }
            many[term.choose("Subject", many.len())?]
        }
    };
    let line = |t: &TestSummary| {
        let mark = if t.submitted {
            style.green("  [submitted, can be resubmitted]")
        } else {
            String::new()
        };
        format!(
            "{}  {}  due {}{mark}",
            style.bold(t.test_id.as_str()),
            t.title,
            due_local(t.due_at, now)
        )
    };
    let test = match subject.tests.as_slice() {
        [only] => {
            term.say(&format!("Open test in {}: {}", subject.subject, line(only)))?;
            only
        }
        many => {
            term.say(&style.bold(&format!("Open tests in {}:", subject.subject)))?;
            for (i, t) in many.iter().enumerate() {
                term.say(&format!("  {}. {}", i + 1, line(t)))?;
            }
            &many[term.choose("Test", many.len())?]
        }
    };
    Ok(Some(Chosen {
        subject: subject.subject.clone(),
        test: test.clone(),
    }))
}

/// Prints the receipt of an upload.
pub fn show_receipt<R: BufRead, W: Write>(
    term: &mut Term<R, W>,
    receipt: &Receipt,
    message: Option<&str>,
) -> std::io::Result<()> {
    let style = term.style;
    let at = receipt
        .received_at
        .with_timezone(&Local)
        .format("%a %Y-%m-%d %H:%M:%S");
    term.say("")?;
    term.say(&style.green(&style.bold(&format!("Submitted at {at} (your time)."))))?;
    term.say(&format!(
        "Receipt: sha256 {}  (keep it: it identifies exactly what was stored)",
        short_hash(&receipt.sha256)
    ))?;
    if receipt.replaced {
        term.say("This submission replaced your earlier one.")?;
    }
    if let Some(m) = message {
        term.say(m)?;
    } else if receipt.unanswered > 0 {
        term.say(&format!(
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
    use ework_domain::ids::{QuestionId, TestId};
    use ework_domain::model::AnswerOption;

    fn question(id: &str, options: &[&str]) -> Question {
        Question {
            question_id: QuestionId::parse(id).unwrap(),
            question: format!("Question number {id}?"),
            answers: options
                .iter()
                .map(|o| AnswerOption {
                    answer_id: AnswerId::parse(*o).unwrap(),
                    answer_body: format!("option {o}"),
                })
                .collect(),
        }
    }

    fn term(input: &str) -> Term<&[u8], Vec<u8>> {
        Term::new(input.as_bytes(), Vec::new(), Style { color: false }, false)
    }

    fn ids(answers: &[Option<AnswerId>]) -> Vec<Option<&str>> {
        answers
            .iter()
            .map(|a| a.as_ref().map(AnswerId::as_str))
            .collect()
    }

    #[test]
    fn typed_lines_map_to_steps_and_answers_are_case_insensitive() {
        let q = question("1", &["a", "b"]);
        assert_eq!(
            parse_step(" B ", &q),
            Step::Answer(AnswerId::parse("b").unwrap())
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
        answer_all(&mut t, &qs, &mut answers).unwrap();
        assert_eq!(ids(&answers), [Some("a"), Some("b"), Some("c")]);
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(
            out.contains("\"z\" is not an answer to this question; type one of a/b."),
            "{out}"
        );
        assert_eq!(out.matches("Question 2/3").count(), 2, "{out}");
    }

    #[test]
    fn back_on_the_first_question_stays_there() {
        let qs = [question("1", &["a"])];
        let mut answers = vec![None];
        let mut t = term("<\na\n");
        answer_all(&mut t, &qs, &mut answers).unwrap();
        assert_eq!(ids(&answers), [Some("a")]);
        assert!(String::from_utf8(t.out().clone())
            .unwrap()
            .contains("This is the first question."));
    }

    #[test]
    fn review_can_change_an_answer_before_submitting() {
        let qs = [question("1", &["a", "b"]), question("2", &["a", "b"])];
        let mut answers = vec![Some(AnswerId::parse("a").unwrap()), None];
        let mut t = term("maybe\n2\nb\ny\n");
        assert_eq!(
            review(&mut t, &qs, &mut answers, true).unwrap(),
            Decision::Submit
        );
        assert_eq!(ids(&answers), [Some("a"), Some("b")]);
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(out.contains("1 answered, 1 skipped"), "{out}");
        assert!(out.contains("2 answered, 0 skipped"), "{out}");
        assert!(out.contains("replaces your earlier answers"), "{out}");
        assert!(out.contains("\"maybe\": type y, n"), "{out}");
    }

    #[test]
    fn unanswered_questions_are_left_out_of_the_upload() {
        let qs = [question("1", &["a"]), question("2", &["a"])];
        let given = given_answers(&qs, &[None, Some(AnswerId::parse("a").unwrap())]);
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
            }],
        }];
        let mut t = term("");
        let now = due.with_timezone(&Utc) - chrono::Duration::hours(28);
        let chosen = choose_test(&mut t, &listing, now).unwrap().unwrap();
        assert_eq!(chosen.test.test_id.as_str(), "t1");
        let out = String::from_utf8(t.out().clone()).unwrap();
        assert!(
            out.contains("(in 1 day 4 h)") && out.contains("[submitted"),
            "{out}"
        );
    }
}
