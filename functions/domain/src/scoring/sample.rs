//! A synthetic course of N students x M closed tests, for the scorer's tests and
//! benchmark (the local stack's sample course lives in the trainer's command). It
//! lives here, not in `ework-testkit`, because the scoring unit tests seed it too.

use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::layout;
use crate::model::{
    Answer, AnswerOption, Catalog, GivenAnswer, KeyEntry, Question, Roster, Scoring, Student,
    TestMeta, TestRules,
};
use crate::ports::{ObjectStore, StoreError};
use crate::store_json;
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    pub students: usize,
    pub tests: usize,
    pub questions: usize,
    /// Every test is due at this instant.
    pub due_at: DateTime<Utc>,
    /// Makes the email addresses unique (tests share one moto): `<id>@<domain>`.
    pub email_domain: String,
    /// Objects written at the same time.
    pub concurrency: usize,
}

/// What the seeded tests are like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// One point a question, one answer each (the original format).
    #[default]
    SingleAnswer,
    /// Every question worth 2 points; even questions multiple-answer (key `a, c`)
    /// scored with partial credit, the others single-answer with a 0.25
    /// wrong-answer penalty: the results carry fractions, points and penalties.
    Depth,
}

/// The subject of test number `j` (two subjects, alternating).
pub fn subject_of(j: usize) -> SubjectName {
    let name = if j.is_multiple_of(2) {
        "operating-systems"
    } else {
        "databases"
    };
    SubjectName::parse(name).unwrap_or_else(|_| unreachable_id())
}

pub fn test_of(j: usize) -> TestId {
    TestId::parse(format!("test{:02}", j + 1)).unwrap_or_else(|_| unreachable_id())
}

pub fn student_of(i: usize) -> StudentId {
    StudentId::parse(format!("student{:04}", i + 1)).unwrap_or_else(|_| unreachable_id())
}

fn unreachable_id<T>() -> T {
    // The formats above are valid ids by construction.
    panic!("generated id is invalid")
}

/// Whether student `i` submitted test `j` (about one in five did not).
pub fn submits(i: usize, j: usize) -> bool {
    (i + j) % 5 != 4
}

/// The answer student `i` gives to question `q` of test `j`: `None` = unanswered.
pub fn answer_of(i: usize, j: usize, q: usize) -> Option<&'static str> {
    if (i + q) % 11 == 10 {
        return None;
    }
    let right = key_of(q);
    if (i * 7 + j * 3 + q).is_multiple_of(2 + i % 4) {
        Some(if right == "a" { "b" } else { "a" })
    } else {
        Some(right)
    }
}

/// Whether question `q` of a [`Shape::Depth`] test is multiple-answer.
fn multiple(shape: Shape, q: usize) -> bool {
    shape == Shape::Depth && q.is_multiple_of(2)
}

/// What student `i` gives to question `q` of test `j`, in `shape`.
fn given(shape: Shape, i: usize, j: usize, q: usize) -> Option<Answer> {
    if !multiple(shape, q) {
        return answer_of(i, j, q).map(|a| aid(a).into());
    }
    // All right, half right, half right and one wrong (0), one wrong, unanswered.
    let chosen: &[&str] = match (i + j + q) % 5 {
        0 => &["a", "c"],
        1 => &["c"],
        2 => &["a", "b"],
        3 => &["d"],
        _ => return None,
    };
    Some(Answer::Many(chosen.iter().map(|a| aid(a)).collect()))
}

/// The key's answer of question `q`.
pub fn key_of(q: usize) -> &'static str {
    ["a", "b", "c", "d"][q % 4]
}

fn qid(q: usize) -> QuestionId {
    QuestionId::parse(format!("{}", q + 1)).unwrap_or_else(|_| unreachable_id())
}

fn aid(a: &str) -> AnswerId {
    AnswerId::parse(a).unwrap_or_else(|_| unreachable_id())
}

/// Writes roster, catalog, questions, keys and submissions of single-answer tests.
pub async fn seed(store: &(impl ObjectStore + ?Sized), spec: &SeedSpec) -> Result<(), StoreError> {
    seed_shaped(store, spec, Shape::SingleAnswer).await
}

/// Writes roster, catalog, questions, keys and submissions of tests in `shape`.
pub async fn seed_shaped(
    store: &(impl ObjectStore + ?Sized),
    spec: &SeedSpec,
    shape: Shape,
) -> Result<(), StoreError> {
    let depth = shape == Shape::Depth;
    let points = if depth { 2 } else { 1 };
    let roster = Roster(
        (0..spec.students)
            .map(|i| Student {
                student_id: student_of(i),
                email: format!("{}@{}", student_of(i), spec.email_domain),
                name: Some(format!("Student {}", i + 1)),
                subjects: None,
                extra_time: None,
                extra: Default::default(),
            })
            .collect(),
    );
    store_json::write(store, &layout::roster(), &roster).await?;
    let catalog = Catalog {
        tests: (0..spec.tests)
            .map(|j| TestMeta {
                subject: subject_of(j),
                test_id: test_of(j),
                title: format!("Test {} of {}", j + 1, subject_of(j)),
                published_at: spec.due_at - Duration::days(7),
                due_at: spec.due_at,
                windows: Default::default(),
                rules: if depth {
                    TestRules {
                        scoring: Scoring::Partial,
                        wrong_answer_penalty: Some(0.25),
                        points: u32::try_from(spec.questions * 2).ok(),
                        ..Default::default()
                    }
                } else {
                    TestRules::default()
                },
            })
            .collect(),
    };
    store_json::write(store, &layout::catalog(), &catalog).await?;
    for j in 0..spec.tests {
        let questions: Vec<Question> = (0..spec.questions)
            .map(|q| Question {
                question_id: qid(q),
                question: format!(
                    "Question {} of test {}: which <option> is right?",
                    q + 1,
                    j + 1
                ),
                answers: ["a", "b", "c", "d"]
                    .iter()
                    .map(|a| AnswerOption {
                        answer_id: aid(a),
                        answer_body: format!("Option {a} & more"),
                    })
                    .collect(),
                points,
                pool: None,
                multiple: multiple(shape, q),
            })
            .collect();
        let key: Vec<KeyEntry> = (0..spec.questions)
            .map(|q| KeyEntry {
                question_id: qid(q),
                answer: if multiple(shape, q) {
                    Answer::Many(vec![aid("a"), aid("c")])
                } else {
                    aid(key_of(q)).into()
                },
                weights: Default::default(),
            })
            .collect();
        store_json::write(
            store,
            &layout::questions(&subject_of(j), &test_of(j)),
            &questions,
        )
        .await?;
        store_json::write(
            store,
            &layout::answer_key(&subject_of(j), &test_of(j)),
            &key,
        )
        .await?;
    }
    let pairs: Vec<(usize, usize)> = (0..spec.tests)
        .flat_map(|j| (0..spec.students).map(move |i| (i, j)))
        .filter(|(i, j)| submits(*i, *j))
        .collect();
    let writes: Vec<_> = pairs
        .into_iter()
        .map(|(i, j)| async move {
            let answers: Vec<GivenAnswer> = (0..spec.questions)
                .filter_map(|q| {
                    given(shape, i, j, q).map(|answer| GivenAnswer {
                        question_id: qid(q),
                        answer,
                    })
                })
                .collect();
            store_json::write(
                store,
                &layout::submission(&subject_of(j), &test_of(j), &student_of(i)),
                &answers,
            )
            .await
        })
        .collect();
    stream::iter(writes)
        .buffer_unordered(spec.concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Points student `i` should get in test `j` (the oracle the tests check against).
pub fn expected_points(i: usize, j: usize, questions: usize) -> u32 {
    let n = (0..questions)
        .filter(|q| answer_of(i, j, *q) == Some(key_of(*q)))
        .count();
    u32::try_from(n).unwrap_or(0)
}
