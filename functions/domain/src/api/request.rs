//! Turning raw request parts into typed input, with a message a student can act on
//! for every way it can be wrong.

use super::contract::{UploadAnswer, UploadRequest};
use super::error::ApiError;
use crate::ids::{AnswerId, IdError, QuestionId, StudentId, SubjectName, TestId};
use crate::model::Answer;
use serde_json::{Map, Value};
use std::str::FromStr;

/// Parses a JSON object body.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "request body is empty; send a JSON object".into(),
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::BadRequest(format!(
            "request body must be a JSON object, not {}",
            kind_of(&other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn bad_id(e: IdError) -> ApiError {
    ApiError::BadRequest(e.to_string())
}

/// A required string field parsed into an id type.
pub fn required_id<T: FromStr<Err = IdError>>(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<T, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Err(ApiError::BadRequest(format!("missing field `{field}`"))),
        Some(Value::String(s)) => s.parse().map_err(bad_id),
        Some(other) => Err(ApiError::BadRequest(format!(
            "field `{field}` must be a string, not {}",
            kind_of(other)
        ))),
    }
}

/// An optional string field parsed into an id type.
pub fn optional_id<T: FromStr<Err = IdError>>(
    map: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<T>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_id(map, field).map(Some),
    }
}

/// One answer id of `testResult[i]`.
fn answer_id(s: &str, i: usize, question: &QuestionId) -> Result<AnswerId, ApiError> {
    AnswerId::parse(s.trim())
        .map_err(|e| ApiError::BadRequest(format!("testResult[{i}] (question {question}): {e}")))
}

/// Parses a `POST /api/v1/test` body field by field, so each way it can be wrong
/// gets its own message; the result is the type the client serialized.
pub fn upload(body: &[u8]) -> Result<UploadRequest, ApiError> {
    let body = json_object(body)?;
    Ok(UploadRequest {
        subject_name: required_id::<SubjectName>(&body, "subjectName")?,
        test_id: required_id::<TestId>(&body, "testId")?,
        student_id: required_id::<StudentId>(&body, "studentId")?,
        test_result: answers(&body)?,
    })
}

/// Parses the `testResult` array; an answer left empty (`""`, `null` or `[]`) is `None`.
pub fn answers(map: &Map<String, Value>) -> Result<Vec<UploadAnswer>, ApiError> {
    let items = match map.get("testResult") {
        None | Some(Value::Null) => {
            return Err(ApiError::BadRequest("missing field `testResult`".into()))
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "field `testResult` must be an array of {{\"questionId\", \"answer\"}}, not {}",
                kind_of(other)
            )))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(entry) = item else {
                return Err(ApiError::BadRequest(format!(
                    "testResult[{i}] must be an object with `questionId` and `answer`, not {}",
                    kind_of(item)
                )));
            };
            let question_id = required_id::<QuestionId>(entry, "questionId")
                .map_err(|e| ApiError::BadRequest(format!("testResult[{i}]: {e}")))?;
            let answer = match entry.get("answer") {
                None => {
                    return Err(ApiError::BadRequest(format!(
                        "testResult[{i}]: missing field `answer` (send \"\" to leave a question unanswered)"
                    )))
                }
                Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(Answer::One(answer_id(s, i, &question_id)?)),
                Some(Value::Array(items)) if items.is_empty() => None,
                Some(Value::Array(items)) => Some(Answer::Many(
                    items
                        .iter()
                        .map(|item| match item {
                            Value::String(s) => answer_id(s, i, &question_id),
                            other => Err(ApiError::BadRequest(format!(
                                "testResult[{i}] (question {question_id}): each answer in the list must be a string, not {}",
                                kind_of(other)
                            ))),
                        })
                        .collect::<Result<_, _>>()?,
                )),
                Some(other) => {
                    return Err(ApiError::BadRequest(format!(
                        "testResult[{i}]: field `answer` must be a string (or a list of strings for a question with several answers), not {}",
                        kind_of(other)
                    )))
                }
            };
            Ok(UploadAnswer {
                question_id,
                answer,
            })
        })
        .collect()
}

/// A query parameter that must appear exactly once.
pub fn single_query(query: &[(String, String)], name: &'static str) -> Result<String, ApiError> {
    let mut values = query.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (None, _) => Err(ApiError::BadRequest(format!(
            "missing query parameter `{name}`"
        ))),
        (Some(_), Some(_)) => Err(ApiError::BadRequest(format!(
            "query parameter `{name}` is given more than once"
        ))),
        (Some(v), None) => Ok(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_are_bad_requests_with_a_reason() {
        for (body, needle) in [
            (&b""[..], "empty"),
            (b"{", "not valid JSON"),
            (b"[1]", "an array"),
            (b"\"x\"", "a string"),
        ] {
            let err = json_object(body).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(json_object(deep.as_bytes()).unwrap_err().status(), 400);
    }

    #[test]
    fn answers_name_the_broken_entry() {
        let map =
            json_object(br#"{"testResult":[{"questionId":"1","answer":"A"},{"questionId":"2"}]}"#)
                .unwrap();
        let err = answers(&map).unwrap_err();
        assert!(err.to_string().contains("testResult[1]"), "{err}");
        let map = json_object(
            br#"{"testResult":[{"questionId":"1","answer":""},{"questionId":"2","answer":"B"}]}"#,
        )
        .unwrap();
        let parsed = answers(&map).unwrap();
        assert_eq!(parsed[0].answer, None);
        assert_eq!(parsed[1].answer.as_ref().unwrap().to_string(), "b");
    }

    fn upload_request(answers: &[(&str, Option<Answer>)]) -> UploadRequest {
        UploadRequest {
            subject_name: SubjectName::parse("operating-systems").unwrap(),
            test_id: TestId::parse("test01").unwrap(),
            student_id: StudentId::parse("student01").unwrap(),
            test_result: answers
                .iter()
                .map(|(q, a)| UploadAnswer {
                    question_id: QuestionId::parse(*q).unwrap(),
                    answer: a.clone(),
                })
                .collect(),
        }
    }

    fn one(a: &str) -> Option<Answer> {
        Some(Answer::One(AnswerId::parse(a).unwrap()))
    }

    fn many(list: &[&str]) -> Option<Answer> {
        Some(Answer::Many(
            list.iter().map(|a| AnswerId::parse(*a).unwrap()).collect(),
        ))
    }

    #[test]
    fn the_original_clients_body_is_exactly_what_the_contract_type_writes() {
        // The bash client's body (scripts/bench/load.sh), byte for byte.
        let bash = r#"{"subjectName":"operating-systems","testId":"test01","studentId":"student01","testResult":[{"questionId":"1","answer":"a"},{"questionId":"2","answer":"b"}]}"#;
        let want = upload_request(&[("1", one("a")), ("2", one("b"))]);
        assert_eq!(upload(bash.as_bytes()).unwrap(), want);
        assert_eq!(serde_json::to_string(&want).unwrap(), bash);
    }

    #[test]
    fn an_upload_request_round_trips_through_json_and_the_precise_parser() {
        let request = upload_request(&[("1", one("b")), ("2", many(&["a", "c"])), ("3", None)]);
        let body = serde_json::to_vec(&request).unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json["testResult"],
            serde_json::json!([
                {"questionId": "1", "answer": "b"},
                {"questionId": "2", "answer": ["a", "c"]},
                {"questionId": "3", "answer": ""},
            ])
        );
        assert_eq!(upload(&body).unwrap(), request);
        // serde's reading of the same type agrees with the precise parser.
        let derived: UploadRequest = serde_json::from_slice(&body).unwrap();
        assert_eq!(derived, request);
    }

    #[test]
    fn empty_answers_in_any_spelling_read_as_unanswered_both_ways() {
        for empty in [r#""""#, r#"" ""#, "null", "[]"] {
            let body = format!(
                r#"{{"subjectName":"operating-systems","testId":"test01","studentId":"student01","testResult":[{{"questionId":"3","answer":{empty}}}]}}"#
            );
            let want = upload_request(&[("3", None)]);
            assert_eq!(upload(body.as_bytes()).unwrap(), want, "{empty}");
            let derived: UploadRequest = serde_json::from_str(&body).unwrap();
            assert_eq!(derived, want, "{empty}");
        }
    }

    #[test]
    fn repeated_or_missing_query_parameters_are_refused() {
        let q = vec![
            ("testId".to_string(), "a".to_string()),
            ("testId".to_string(), "b".to_string()),
        ];
        assert!(single_query(&q, "testId")
            .unwrap_err()
            .to_string()
            .contains("more than once"));
        assert!(single_query(&q, "subjectName")
            .unwrap_err()
            .to_string()
            .contains("missing"));
    }
}
