//! Answers given on the command line (`submit --answers a,c,-,b` or `1=a,2=c`),
//! checked against the test before anything is sent. A multiple-answer question
//! takes its options separated by spaces or `+` (`a,b c,-` or `2=b+c`); in the
//! `1=a` form also by commas (`1=a,2=b,c`).

use crate::choice::{parse_choice, Given};
use ework_domain::model::Question;

/// Why an answer list cannot be used; shown as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswersError(String);

/// Turns an answers file into the `--answers` form: `#` comment lines dropped,
/// new lines work like commas. With one answer per line, a line's own commas
/// separate the options of a multiple-answer question (`a,c`).
pub fn from_file(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let per_line = lines.iter().filter(|l| !l.is_empty()).count() > 1;
    lines
        .iter()
        .map(|l| {
            if per_line && !l.contains('=') {
                l.replace(',', " ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
        .trim_matches(',')
        .to_string()
}

/// Parses `a,c,-,b` (one per question, in order; `-` or nothing = unanswered) or
/// `1=a,3=b` (by question id, the others unanswered).
pub fn parse(spec: &str, questions: &[Question]) -> Result<Vec<Given>, AnswersError> {
    let tokens: Vec<&str> = spec.split([',', '\n']).map(str::trim).collect();
    let keyed = tokens.iter().any(|t| t.contains('='));
    let mut slots: Vec<Option<String>> = vec![None; questions.len()];
    if keyed {
        let mut last: Option<usize> = None;
        for token in tokens.into_iter().filter(|t| !t.is_empty()) {
            let Some((qid, answer)) = token.split_once('=') else {
                // `2=a,c`: a further option of the multiple-answer question before it.
                match last.and_then(|i| questions[i].multiple.then_some(i)) {
                    Some(i) => {
                        if let Some(slot) = slots[i].as_mut() {
                            slot.push(' ');
                            slot.push_str(token);
                        }
                        continue;
                    }
                    None => {
                        return Err(AnswersError(format!(
                            "{token:?}: write every answer as question=answer, e.g. 1=a"
                        )))
                    }
                }
            };
            let index = questions
                .iter()
                .position(|q| q.question_id.as_str() == qid.trim())
                .ok_or_else(|| {
                    AnswersError(format!("this test has no question {:?}", qid.trim()))
                })?;
            if slots[index].is_some() {
                return Err(AnswersError(format!(
                    "question {} is answered twice",
                    qid.trim()
                )));
            }
            slots[index] = Some(answer.trim().to_string());
            last = Some(index);
        }
    } else {
        if tokens.len() != questions.len() {
            return Err(AnswersError(format!(
                "the test has {} questions but {} answers were given; give one per question, `-` to leave one unanswered",
                questions.len(),
                tokens.len()
            )));
        }
        for (slot, token) in slots.iter_mut().zip(tokens) {
            *slot = Some(token.to_string());
        }
    }
    let mut given = Vec::new();
    for (n, (question, slot)) in questions.iter().zip(slots).enumerate() {
        let Some(raw) = slot.filter(|s| !s.is_empty() && s != "-") else {
            continue;
        };
        let answer = parse_choice(&raw, question).map_err(|why| {
            let at = format!(
                "answer {raw:?} to question {} ({})",
                n + 1,
                question.question_id
            );
            if question.multiple || !why.contains("is not an option") {
                return AnswersError(format!("{at}: {why}"));
            }
            let options: Vec<&str> = question
                .answers
                .iter()
                .map(|a| a.answer_id.as_str())
                .collect();
            AnswersError(format!(
                "{at} is not one of its options: {}",
                options.join(", ")
            ))
        })?;
        given.push(Given {
            question_id: question.question_id.clone(),
            answer,
        });
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions(n: usize) -> Vec<Question> {
        (1..=n)
            .map(|i| crate::choice::tests::question(&i.to_string(), &["a", "b", "c"], false))
            .collect()
    }

    /// Questions 1 and 3 single-answer, 2 multiple-answer.
    fn mixed() -> Vec<Question> {
        let mut qs = questions(3);
        qs[1].multiple = true;
        qs
    }

    fn pairs(given: &[Given]) -> Vec<(String, String)> {
        given
            .iter()
            .map(|g| (g.question_id.to_string(), g.answer.shown()))
            .collect()
    }

    #[test]
    fn a_multiple_answer_question_takes_its_options_in_every_form() {
        let want: Vec<(String, String)> = vec![
            ("1".into(), "a".into()),
            ("2".into(), "b, c".into()),
            ("3".into(), "a".into()),
        ];
        for spec in [
            "a,b c,a",
            "a, C+b ,a",
            "1=a,2=c b,3=a",
            "1=a,2=b,c,3=a",
            "2=c,b,b,1=a,3=A",
        ] {
            assert_eq!(pairs(&parse(spec, &mixed()).unwrap()), want, "{spec:?}");
        }
        let file = from_file("# q1\na\nb,c\na\n");
        assert_eq!(pairs(&parse(&file, &mixed()).unwrap()), want, "{file:?}");
    }

    #[test]
    fn several_options_for_a_single_answer_question_or_unknown_ones_are_refused() {
        let err = parse("1=a,b", &mixed()).unwrap_err().to_string();
        assert!(err.contains("question=answer"), "{err}");
        let err = parse("a b,b,a", &mixed()).unwrap_err().to_string();
        assert_eq!(
            err,
            "answer \"a b\" to question 1 (1): this question takes one answer, but 2 were given (a, b)"
        );
        let err = parse("a,b z,a", &mixed()).unwrap_err().to_string();
        assert_eq!(
            err,
            "answer \"b z\" to question 2 (2): \"z\" is not an option of this question; its options are a, b, c"
        );
    }

    #[test]
    fn answers_in_order_with_gaps_and_upper_case() {
        let given = parse("a, C,-,", &questions(4)).unwrap();
        assert_eq!(
            pairs(&given),
            [("1".into(), "a".into()), ("2".into(), "c".into())]
        );
    }

    #[test]
    fn answers_by_question_id() {
        let given = parse("3=b,1=a", &questions(3)).unwrap();
        assert_eq!(
            pairs(&given),
            [("1".into(), "a".into()), ("3".into(), "b".into())]
        );
        assert!(parse("1=a,1=b", &questions(3))
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(parse("9=a", &questions(3))
            .unwrap_err()
            .to_string()
            .contains("no question \"9\""));
    }

    #[test]
    fn wrong_count_and_unknown_options_are_named() {
        let err = parse("a,b", &questions(3)).unwrap_err().to_string();
        assert!(err.contains("3 questions but 2 answers"), "{err}");
        let err = parse("a,z,b", &questions(3)).unwrap_err().to_string();
        assert!(
            err.contains("\"z\" to question 2") && err.contains("a, b, c"),
            "{err}"
        );
    }

    #[test]
    fn answers_file_takes_lines_and_comments() {
        let spec = from_file("# my answers\na\nb\n-\nc\n");
        assert_eq!(spec, "a,b,-,c");
        assert_eq!(parse(&spec, &questions(4)).unwrap().len(), 3);
    }
}
