//! Answers given on the command line (`submit --answers a,c,-,b` or `1=a,2=c`),
//! checked against the test before anything is sent.

use ework_domain::ids::AnswerId;
use ework_domain::model::{GivenAnswer, Question};

/// Why an answer list cannot be used; shown as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswersError(String);

/// Turns an answers file into the `--answers` form: `#` comment lines dropped,
/// new lines work like commas.
pub fn from_file(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(",")
        .trim_matches(',')
        .to_string()
}

/// Parses `a,c,-,b` (one per question, in order; `-` or nothing = unanswered) or
/// `1=a,3=b` (by question id, the others unanswered).
pub fn parse(spec: &str, questions: &[Question]) -> Result<Vec<GivenAnswer>, AnswersError> {
    let tokens: Vec<&str> = spec.split([',', '\n']).map(str::trim).collect();
    let keyed = tokens.iter().any(|t| t.contains('='));
    let mut slots: Vec<Option<&str>> = vec![None; questions.len()];
    if keyed {
        for token in tokens.into_iter().filter(|t| !t.is_empty()) {
            let (qid, answer) = token.split_once('=').ok_or_else(|| {
                AnswersError(format!(
                    "{token:?}: write every answer as question=answer, e.g. 1=a"
                ))
            })?;
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
            slots[index] = Some(answer.trim());
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
            *slot = Some(token);
        }
    }
    let mut given = Vec::new();
    for (n, (question, slot)) in questions.iter().zip(slots).enumerate() {
        let Some(raw) = slot.filter(|s| !s.is_empty() && *s != "-") else {
            continue;
        };
        let answer = AnswerId::parse(raw)
            .ok()
            .filter(|a| question.has_answer(a))
            .ok_or_else(|| {
                let options: Vec<&str> = question
                    .answers
                    .iter()
                    .map(|a| a.answer_id.as_str())
                    .collect();
                AnswersError(format!(
                    "answer {raw:?} to question {} ({}) is not one of its options: {}",
                    n + 1,
                    question.question_id,
                    options.join(", ")
                ))
            })?;
        given.push(GivenAnswer {
            question_id: question.question_id.clone(),
            answer: answer.into(),
        });
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ework_domain::ids::QuestionId;
    use ework_domain::model::AnswerOption;

    fn questions(n: usize) -> Vec<Question> {
        (1..=n)
            .map(|i| Question {
                question_id: QuestionId::parse(i.to_string()).unwrap(),
                question: format!("Q{i}"),
                answers: ["a", "b", "c"]
                    .iter()
                    .map(|o| AnswerOption {
                        answer_id: AnswerId::parse(*o).unwrap(),
                        answer_body: o.to_string(),
                    })
                    .collect(),
                points: 1,
                pool: None,
                multiple: false,
            })
            .collect()
    }

    fn pairs(given: &[GivenAnswer]) -> Vec<(String, String)> {
        given
            .iter()
            .map(|g| (g.question_id.to_string(), g.answer.to_string()))
            .collect()
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
