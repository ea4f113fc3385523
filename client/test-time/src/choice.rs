//! A student's answer to one question in the wire shape: a string for a
//! single-answer question, an array of answer ids for a multiple-answer one
//! (`"multiple": true` in `GET /api/v1/test`).
//!
//! The client keeps its own types for answers (drafts, uploads, the stored
//! submission) so that a draft written before multiple answers existed still reads,
//! and so the client does not depend on how the server holds them. An upload goes
//! out as the API's own `contract::UploadRequest` ([`Upload::to_wire`]).

use ework_domain::api::contract::{UploadAnswer, UploadRequest};
use ework_domain::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use ework_domain::model::{Answer, Question, Receipt};
use serde::{Deserialize, Serialize};

/// One question's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Choice {
    One(AnswerId),
    /// Sorted by id, no repeats (see [`Choice::many`]).
    Many(Vec<AnswerId>),
}

impl Choice {
    /// A set of options in its one spelling: sorted, repeats removed. The server
    /// digests what it stores, so one spelling keeps the receipt check simple.
    pub fn many(mut ids: Vec<AnswerId>) -> Choice {
        ids.sort();
        ids.dedup();
        Choice::Many(ids)
    }

    pub fn ids(&self) -> &[AnswerId] {
        match self {
            Choice::One(id) => std::slice::from_ref(id),
            Choice::Many(ids) => ids,
        }
    }

    pub fn contains(&self, id: &AnswerId) -> bool {
        self.ids().contains(id)
    }

    /// How the answer is shown: `a` or `a, c`.
    pub fn shown(&self) -> String {
        let ids: Vec<&str> = self.ids().iter().map(AnswerId::as_str).collect();
        ids.join(", ")
    }

    /// This answer in the shape `question` takes, keeping only its options; `None`
    /// when nothing fits (an option the test no longer has, or several options
    /// for a single-answer question).
    pub fn fit(&self, question: &Question) -> Option<Choice> {
        let kept: Vec<AnswerId> = self
            .ids()
            .iter()
            .filter(|id| question.has_answer(id))
            .cloned()
            .collect();
        match (question.multiple, kept.as_slice()) {
            (_, []) => None,
            (true, _) => Some(Choice::many(kept)),
            (false, [one]) if self.ids().len() == 1 => Some(Choice::One(one.clone())),
            (false, _) => None,
        }
    }
}

/// The options of a question as typed: `a/b/c`.
pub fn options_of(question: &Question) -> String {
    let ids: Vec<&str> = question
        .answers
        .iter()
        .map(|a| a.answer_id.as_str())
        .collect();
    ids.join("/")
}

/// Reads `a`, or for a multiple-answer question `a,c` / `a c` / `a+c` (any case;
/// repeats count once). Anything that is not an option is refused by name.
pub fn parse_choice(input: &str, question: &Question) -> Result<Choice, String> {
    let tokens: Vec<&str> = input
        .split([',', ' ', '+', '\t'])
        .filter(|t| !t.is_empty())
        .collect();
    let mut ids = Vec::new();
    for token in &tokens {
        match AnswerId::parse(*token) {
            Ok(id) if question.has_answer(&id) => ids.push(id),
            _ => {
                return Err(format!(
                    "{token:?} is not an option of this question; its options are {}",
                    options_of(question).replace('/', ", ")
                ))
            }
        }
    }
    match (question.multiple, ids.len()) {
        (_, 0) => Err("no answer given".to_string()),
        (true, _) => Ok(Choice::many(ids)),
        (false, 1) => Ok(Choice::One(ids.remove(0))),
        (false, _) => Err(format!(
            "this question takes one answer, but {} were given ({})",
            tokens.len(),
            tokens.join(", ")
        )),
    }
}

/// What a question is worth, when it is not the usual 1 point.
pub fn points_note(question: &Question) -> Option<String> {
    match question.points {
        1 => None,
        n => Some(format!("{n} points")),
    }
}

/// One answer of an upload, a draft or a stored submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Given {
    pub question_id: QuestionId,
    pub answer: Choice,
}

/// The answers in question order, `None` for unanswered, each in the shape its
/// question takes; answers to questions the test does not have are dropped.
pub fn by_question(given: &[Given], questions: &[Question]) -> Vec<Option<Choice>> {
    questions
        .iter()
        .map(|q| {
            given
                .iter()
                .find(|g| g.question_id == q.question_id)
                .and_then(|g| g.answer.fit(q))
        })
        .collect()
}

/// The answers in upload shape (a string or an array, as the question takes);
/// unanswered questions are left out.
pub fn given_answers(questions: &[Question], answers: &[Option<Choice>]) -> Vec<Given> {
    questions
        .iter()
        .zip(answers)
        .filter_map(|(q, a)| {
            a.as_ref().and_then(|a| a.fit(q)).map(|answer| Given {
                question_id: q.question_id.clone(),
                answer,
            })
        })
        .collect()
}

/// `POST /api/v1/test` body, with the answers in their wire shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub subject_name: SubjectName,
    pub test_id: TestId,
    pub student_id: StudentId,
    pub test_result: Vec<Given>,
}

impl Upload {
    /// The body as sent: the API's own [`UploadRequest`], so client and server agree
    /// on one wire shape. Unanswered questions stay left out, as they always were.
    pub fn to_wire(&self) -> UploadRequest {
        UploadRequest {
            subject_name: self.subject_name.clone(),
            test_id: self.test_id.clone(),
            student_id: self.student_id.clone(),
            test_result: self.test_result.iter().map(Given::to_wire).collect(),
        }
    }
}

impl Given {
    fn to_wire(&self) -> UploadAnswer {
        let answer = match &self.answer {
            Choice::One(id) => Answer::One(id.clone()),
            Choice::Many(ids) => Answer::Many(ids.clone()),
        };
        UploadAnswer {
            question_id: self.question_id.clone(),
            answer: Some(answer),
        }
    }
}

/// The stored submission as `GET /api/v1/test` returns it: the answers and their
/// receipt, or a bare array of answers (stored before receipts were kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "SentWire")]
pub struct Sent {
    pub test_result: Vec<Given>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SentWire {
    #[serde(rename_all = "camelCase")]
    Current {
        test_result: Vec<Given>,
        #[serde(default)]
        receipt: Option<Receipt>,
    },
    Legacy(Vec<Given>),
}

impl From<SentWire> for Sent {
    fn from(wire: SentWire) -> Self {
        match wire {
            SentWire::Current {
                test_result,
                receipt,
            } => Sent {
                test_result,
                receipt,
            },
            SentWire::Legacy(test_result) => Sent {
                test_result,
                receipt: None,
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ework_domain::model::AnswerOption;

    pub(crate) fn question(id: &str, options: &[&str], multiple: bool) -> Question {
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
            points: 1,
            pool: None,
            multiple,
        }
    }

    fn id(s: &str) -> AnswerId {
        AnswerId::parse(s).unwrap()
    }

    #[test]
    fn a_multiple_answer_is_typed_with_commas_or_spaces_in_any_case_once_each() {
        let q = question("2", &["a", "b", "c", "d"], true);
        let want = Choice::Many(vec![id("a"), id("c")]);
        for typed in ["a,c", "a c", "C, a", "c+a", " a ,c,a ", "A C c"] {
            assert_eq!(parse_choice(typed, &q), Ok(want.clone()), "{typed:?}");
        }
        assert_eq!(
            parse_choice("b", &q),
            Ok(Choice::Many(vec![id("b")])),
            "one option is a set of one"
        );
    }

    #[test]
    fn options_a_question_does_not_have_are_refused_by_name() {
        let q = question("2", &["a", "b", "c"], true);
        let err = parse_choice("a,z", &q).unwrap_err();
        assert_eq!(
            err,
            "\"z\" is not an option of this question; its options are a, b, c"
        );
        assert!(parse_choice("a,-", &q).unwrap_err().contains("\"-\""));
    }

    #[test]
    fn a_single_answer_question_takes_exactly_one_option() {
        let q = question("1", &["a", "b"], false);
        assert_eq!(parse_choice(" B ", &q), Ok(Choice::One(id("b"))));
        assert_eq!(
            parse_choice("a,b", &q).unwrap_err(),
            "this question takes one answer, but 2 were given (a, b)"
        );
    }

    #[test]
    fn answers_go_out_as_strings_or_arrays_as_the_question_takes_them() {
        let qs = [
            question("1", &["a", "b"], false),
            question("2", &["a", "b", "c"], true),
            question("3", &["a", "b"], false),
        ];
        let answers = [
            Some(Choice::One(id("b"))),
            // A draft from before the question became multiple-answer.
            Some(Choice::One(id("c"))),
            None,
        ];
        let json = serde_json::to_value(given_answers(&qs, &answers)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"questionId": "1", "answer": "b"},
                {"questionId": "2", "answer": ["c"]},
            ])
        );
    }

    #[test]
    fn the_body_an_upload_sends_parses_on_the_server_into_the_same_request() {
        let qs = [
            question("1", &["a", "b"], false),
            question("2", &["a", "b", "c"], true),
            question("3", &["a", "b"], false),
            question("4", &["a", "b", "c", "d"], true),
        ];
        let answers = [
            Some(Choice::One(id("b"))),
            Some(Choice::many(vec![id("c"), id("a")])),
            None,
            Some(Choice::many(vec![id("d")])),
        ];
        let upload = Upload {
            subject_name: SubjectName::parse("operating-systems").unwrap(),
            test_id: TestId::parse("test01").unwrap(),
            student_id: StudentId::parse("student01").unwrap(),
            test_result: given_answers(&qs, &answers),
        };
        let sent = upload.to_wire();
        let answer = |q: &str, a: Option<Answer>| UploadAnswer {
            question_id: QuestionId::parse(q).unwrap(),
            answer: a,
        };
        // Question 3, left empty, is left out, as test-time always sent it.
        assert_eq!(
            sent.test_result,
            [
                answer("1", Some(Answer::One(id("b")))),
                answer("2", Some(Answer::Many(vec![id("a"), id("c")]))),
                answer("4", Some(Answer::Many(vec![id("d")]))),
            ]
        );
        let body = serde_json::to_vec(&sent).unwrap();
        let parsed = ework_domain::api::request::upload(&body).unwrap();
        assert_eq!(parsed, sent);
    }

    #[test]
    fn stored_answers_fit_the_questions_or_are_dropped() {
        let qs = [
            question("1", &["a", "b"], false),
            question("2", &["a", "b", "c"], true),
            question("3", &["a", "b"], false),
            question("4", &["a", "b"], false),
        ];
        let stored: Sent = serde_json::from_value(serde_json::json!([
            {"questionId": "1", "answer": "a"},
            {"questionId": "2", "answer": ["c", "z", "a"]},
            {"questionId": "3", "answer": ["a", "b"]},
            {"questionId": "4", "answer": "z"},
            {"questionId": "9", "answer": "a"},
        ]))
        .unwrap();
        let shown: Vec<Option<String>> = by_question(&stored.test_result, &qs)
            .iter()
            .map(|c| c.as_ref().map(Choice::shown))
            .collect();
        assert_eq!(
            shown,
            [Some("a".to_string()), Some("a, c".to_string()), None, None]
        );
    }

    #[test]
    fn a_submission_with_a_receipt_reads_and_its_receipt_checks_the_arrays() {
        let answers = vec![Given {
            question_id: QuestionId::parse("2").unwrap(),
            answer: Choice::many(vec![id("c"), id("a")]),
        }];
        let (student, subject, test) = (
            StudentId::parse("s1").unwrap(),
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        );
        let at = chrono::Utc::now();
        // What the server digests: the JSON of the stored answers.
        let stored = serde_json::json!([{"questionId": "2", "answer": ["a", "c"]}]);
        let receipt = Receipt {
            sha256: Receipt::digest(&student, &subject, &test, at, stored.as_array().unwrap()),
            student_id: student,
            subject_name: subject,
            test_id: test,
            received_at: at,
            replaced: false,
            unanswered: 0,
            late: None,
        };
        assert!(receipt.describes(&answers));
        let sent: Sent = serde_json::from_value(serde_json::json!({
            "testResult": stored,
            "receipt": receipt,
        }))
        .unwrap();
        assert_eq!(sent.test_result, answers);
        assert!(sent.receipt.is_some());
    }
}
