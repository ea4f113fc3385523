//! The student email of a test with points, several answers and partial credit.

use super::email::student_email;
use super::grading::{grade, TestContent};
use super::inspect;
use super::results::{fill_texts, strip_texts};
use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::model::{
    Answer, AnswerOption, GivenAnswer, KeyEntry, Question, Scoring, Student, TestRules,
};
use chrono::{DateTime, Utc};

fn question(id: &str, points: u32) -> Question {
    Question {
        question_id: QuestionId::parse(id).unwrap(),
        question: format!("Question {id}?"),
        answers: ["a", "b", "c"]
            .iter()
            .map(|o| AnswerOption {
                answer_id: AnswerId::parse(*o).unwrap(),
                answer_body: format!("text {o}"),
            })
            .collect(),
        points,
        pool: None,
        multiple: false,
    }
}

fn list(ids: &[&str]) -> Answer {
    Answer::Many(ids.iter().map(|a| AnswerId::parse(*a).unwrap()).collect())
}

fn plain_text(
    questions: &[Question],
    key: &[KeyEntry],
    answers: &[GivenAnswer],
    rules: &TestRules,
) -> String {
    let (s, t) = (
        SubjectName::parse("os").unwrap(),
        TestId::parse("t1").unwrap(),
    );
    let student = Student {
        student_id: StudentId::parse("s1").unwrap(),
        email: "s1@example.com".into(),
        name: Some("Ada".into()),
        subjects: None,
        extra_time: None,
        extra: Default::default(),
    };
    let content = TestContent {
        subject: &s,
        test_id: &t,
        title: "T",
        questions,
        key,
        rules,
    };
    let mut score = grade(
        content,
        &student.student_id,
        answers,
        5,
        DateTime::<Utc>::UNIX_EPOCH,
    );
    // As the scorer does: stored without texts, filled in for the email.
    strip_texts(&mut score);
    fill_texts(&mut score, questions);
    let from = "Ework <scorer@example.com>".parse().unwrap();
    let mail = student_email(
        &from,
        &student,
        &[&score],
        DateTime::<Utc>::UNIX_EPOCH,
        crate::deadline::DEFAULT_TIME_ZONE,
    )
    .unwrap();
    let parsed = inspect::parse(&mail.raw);
    let html = parsed.part("text/html").unwrap().text();
    assert!(html.contains("</table>"), "{html}");
    parsed
        .part("text/plain")
        .unwrap()
        .text()
        .replace("\r\n", "\n")
}

#[test]
fn several_answers_are_listed_with_their_texts_and_points_per_question_shown() {
    let questions = [question("1", 2), question("2", 1)];
    let key = [
        KeyEntry {
            question_id: QuestionId::parse("1").unwrap(),
            answer: list(&["a", "c"]),
            weights: Default::default(),
        },
        KeyEntry {
            question_id: QuestionId::parse("2").unwrap(),
            answer: AnswerId::parse("b").unwrap().into(),
            weights: Default::default(),
        },
    ];
    let answers = [
        GivenAnswer {
            question_id: QuestionId::parse("1").unwrap(),
            answer: list(&["a"]),
        },
        GivenAnswer {
            question_id: QuestionId::parse("2").unwrap(),
            answer: AnswerId::parse("a").unwrap().into(),
        },
    ];
    let rules = TestRules {
        scoring: Scoring::Partial,
        wrong_answer_penalty: Some(0.25),
        ..TestRules::default()
    };
    let text = plain_text(&questions, &key, &answers, &rules);
    // 2 x 1/2 - 1 x 0.25 = 0.75 of 3: 25 %, grade 1.25 -> 1.
    assert!(
        text.contains("Score: 0.75 / 3 points (25.0%)\nGrade: 1 / 5"),
        "{text}"
    );
    assert!(text.contains(
        "1. Question 1?\n   Your answer:    a) text a\n   Correct answer: a, c) text a; text c\n   Result:         partly correct\n   Points:         1 / 2\n"
    ), "{text}");
    assert!(text.contains(
        "2. Question 2?\n   Your answer:    a) text a\n   Correct answer: b) text b\n   Result:         wrong\n   Points:         -0.25 / 1\n"
    ), "{text}");
}

#[test]
fn one_point_questions_are_shown_as_they_always_were() {
    let questions = [question("1", 1)];
    let key = [KeyEntry {
        question_id: QuestionId::parse("1").unwrap(),
        answer: AnswerId::parse("b").unwrap().into(),
        weights: Default::default(),
    }];
    let answers = [GivenAnswer {
        question_id: QuestionId::parse("1").unwrap(),
        answer: AnswerId::parse("b").unwrap().into(),
    }];
    let text = plain_text(&questions, &key, &answers, &TestRules::default());
    assert!(text.contains("Score: 1 / 1 points (100.0%)"), "{text}");
    assert!(text.contains("   Result:         correct\n"), "{text}");
    assert!(!text.contains("Points:"), "{text}");
}
