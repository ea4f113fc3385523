//! Shared set-up of the course module's tests: a small course and a store's view of it.

use crate::course::CourseFiles;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout;
use crate::model::Catalog;
use crate::scoring::results::TestResults;
use crate::store_json;
use crate::testing::MemoryStore;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub const TZ: Tz = chrono_tz::Europe::Warsaw;

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn course() -> CourseFiles {
    let mut files = CourseFiles::new();
    files.insert(
        "studentsList.json",
        r#"[{"student_id": "student01", "email": "s1@example.com"}, {"student_id": "student02", "email": "s2@example.com"}]"#,
    );
    for test in ["t1", "t2"] {
        files.insert(
            format!("subjects/os/{test}/questions.json"),
            r#"[{"questionId": "1", "question": "Q?", "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}]}]"#,
        );
        files.insert(
            format!("subjects/os/{test}/questionsKey.json"),
            r#"[{"questionId": "1", "answer": "a"}]"#,
        );
    }
    files.insert(
        "subjects/os/t2/test.json",
        r#"{"title": "Second", "publish": false}"#,
    );
    files
}

/// Stores one graded result of `student`, as the scorer would have.
pub async fn scored_once(store: &MemoryStore, subject: &str, test: &str, student: &str) {
    let (subject, test) = (
        SubjectName::parse(subject).unwrap(),
        TestId::parse(test).unwrap(),
    );
    let student = StudentId::parse(student).unwrap();
    let content = crate::scoring::grading::TestContent {
        subject: &subject,
        test_id: &test,
        title: "T",
        questions: &[],
        key: &[],
        rules: &Default::default(),
    };
    let score =
        crate::scoring::grading::grade(content, &student, &[], 5, utc("2026-11-30T22:00:00Z"));
    let mut results = TestResults::default();
    results.scores.insert(student, score.into());
    results.save(store, &subject, &test).await.unwrap();
}

pub async fn catalog(store: &MemoryStore) -> Catalog {
    store_json::read(store, &layout::catalog())
        .await
        .unwrap()
        .unwrap_or_default()
}
