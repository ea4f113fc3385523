//! What the scorer keeps: one results object per closed test, and a journal of the
//! emails a pass sent that are not folded into those objects yet.
//!
//! Why batched and not an object per student: a pass then costs one read per
//! submission and a handful of writes per test, instead of three requests per
//! submission (read, result, ledger entry). The price is the journal's group commit:
//! emails are recorded a wave at a time (see [`crate::scoring::ScoringConfig::ledger_batch`]).

use super::grading::Score;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey, PassStamp};
use crate::model::Question;
use crate::ports::{ObjectStore, StoreError};
use crate::store_json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// `_system/results/<subject>/<test>/results.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResults {
    /// Every graded submission, by student. Question and answer texts are left out
    /// (they come from the test's `questions.json` when an email is written), which
    /// keeps the object and the scorer's memory small.
    /// (Shared with the pass's report and emails rather than copied.)
    #[serde(default)]
    pub scores: BTreeMap<StudentId, Arc<Score>>,
    /// The revision of their result each student was last emailed.
    #[serde(default)]
    pub notified: BTreeMap<StudentId, u32>,
    /// The trainer's report covering this test was accepted for delivery.
    #[serde(default)]
    pub reported: bool,
    /// Reported, and every result emailed at its current revision: later passes
    /// skip the test unless a rescore is asked for.
    #[serde(default)]
    pub settled: bool,
    /// The deadline the test was scored for: a test settled for another deadline (the
    /// trainer moved it) is looked at again.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// Students whose last email (at this revision) gave their score without the
    /// correct answers, because other students' windows were still open: they get
    /// the answers in a follow-up once every window has closed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub withheld: BTreeMap<StudentId, u32>,
    /// The last report went out while some students' windows were still open: the
    /// trainer gets another once they have all closed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// The last close over the test's students the test was settled for, when it
    /// is later than `dueAt` (a new extension opens the test again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_close_at: Option<DateTime<Utc>>,
    /// When the trainer was last told of emails about this test that failed: a send
    /// that keeps failing is retried every pass (every 15 minutes in AWS) but
    /// reported again only a day later (see `state::FAILURES_REPORTED_EVERY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures_reported_at: Option<DateTime<Utc>>,
}

impl TestResults {
    pub async fn load(
        store: &(impl ObjectStore + ?Sized),
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<Option<TestResults>, StoreError> {
        store_json::read(store, &layout::results(subject, test)).await
    }

    pub async fn save(
        &self,
        store: &(impl ObjectStore + ?Sized),
        subject: &SubjectName,
        test: &TestId,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(self).map_err(|e| StoreError::Failed(e.to_string()))?;
        store.put(&layout::results(subject, test), bytes).await
    }

    /// Forgets one student (erasure). Returns whether anything was removed.
    pub fn remove_student(&mut self, student: &StudentId) -> bool {
        let a = self.scores.remove(student).is_some();
        let b = self.notified.remove(student).is_some();
        let c = self.withheld.remove(student).is_some();
        a || b || c
    }

    /// True when the student was emailed the result's current revision.
    pub fn told(&self, student: &StudentId, revision: u32) -> bool {
        self.notified.get(student).is_some_and(|r| *r >= revision)
    }
}

/// Drops the texts a stored result need not repeat.
pub fn strip_texts(score: &mut Score) {
    for q in &mut score.questions {
        q.question.clear();
        q.given_text = None;
        q.correct_text = None;
    }
    for c in score.previous.iter_mut().flat_map(|p| &mut p.key_changes) {
        c.old_text = None;
        c.new_text = None;
    }
}

/// Puts the texts back from the test's questions, for an email.
pub fn fill_texts(score: &mut Score, questions: &[Question]) {
    let by_id: HashMap<_, _> = questions.iter().map(|q| (&q.question_id, q)).collect();
    for r in &mut score.questions {
        let Some(q) = by_id.get(&r.question_id) else {
            continue;
        };
        let text = |a: &Option<crate::model::Answer>| super::grading::answer_texts(q, a.as_ref()?);
        if r.question.is_empty() {
            r.question.clone_from(&q.question);
        }
        if r.given_text.is_none() {
            r.given_text = text(&r.given);
        }
        if r.correct_text.is_none() {
            r.correct_text = text(&r.correct);
        }
    }
    for c in score.previous.iter_mut().flat_map(|p| &mut p.key_changes) {
        let Some(q) = by_id.get(&c.question_id) else {
            continue;
        };
        let text = |a: &Option<crate::model::Answer>| super::grading::answer_texts(q, a.as_ref()?);
        c.old_text = c.old_text.take().or_else(|| text(&c.old));
        c.new_text = c.new_text.take().or_else(|| text(&c.new));
    }
}

/// One email recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notified {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub student_id: StudentId,
    pub revision: u32,
    pub message_id: String,
    /// The email gave the score without the correct answers (see
    /// [`TestResults::withheld`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// `_system/journal/<pass>/<wave>`: the emails of one wave, written once after the
/// mail service accepted them all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalWave {
    pub sent_at: Option<DateTime<Utc>>,
    pub items: Vec<Notified>,
}

impl JournalWave {
    /// Forgets one student (erasure). Returns whether anything was removed.
    pub fn remove_student(&mut self, student: &StudentId) -> bool {
        let before = self.items.len();
        self.items.retain(|n| &n.student_id != student);
        self.items.len() != before
    }
}

/// The key of wave `wave` of pass `pass`, for a pass named by a plain string: the
/// stamp is parsed here and the key built by [`layout::journal_wave`].
pub fn journal_key(pass: &str, wave: u32) -> Result<ObjectKey, StoreError> {
    let pass = PassStamp::parse(pass).map_err(|e| StoreError::Failed(e.to_string()))?;
    Ok(layout::journal_wave(&pass, wave))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AnswerId, QuestionId};
    use crate::model::AnswerOption;
    use crate::model::{GivenAnswer, KeyEntry};
    use crate::scoring::grading::{self, TestContent};

    fn question(id: &str) -> Question {
        Question {
            question_id: QuestionId::parse(id).unwrap(),
            question: format!("What is {id}?"),
            answers: ["a", "b"]
                .iter()
                .map(|o| AnswerOption {
                    answer_id: AnswerId::parse(*o).unwrap(),
                    answer_body: format!("{id} option {o}"),
                })
                .collect(),
            points: 1,
            pool: None,
            multiple: false,
        }
    }

    #[test]
    fn a_stripped_result_gets_its_texts_back_from_the_questions() {
        let (s, t) = (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        );
        let questions = vec![question("q1"), question("q2")];
        let key = vec![
            KeyEntry {
                question_id: QuestionId::parse("q1").unwrap(),
                answer: AnswerId::parse("a").unwrap().into(),
                weights: Default::default(),
            },
            KeyEntry {
                question_id: QuestionId::parse("q2").unwrap(),
                answer: AnswerId::parse("b").unwrap().into(),
                weights: Default::default(),
            },
        ];
        let answers = vec![GivenAnswer {
            question_id: QuestionId::parse("q1").unwrap(),
            answer: AnswerId::parse("b").unwrap().into(),
        }];
        let content = TestContent {
            subject: &s,
            test_id: &t,
            title: "T",
            questions: &questions,
            key: &key,
            rules: &Default::default(),
        };
        let full = grading::grade(
            content,
            &StudentId::parse("s1").unwrap(),
            &answers,
            5,
            DateTime::<Utc>::UNIX_EPOCH,
        );
        let mut stored = full.clone();
        strip_texts(&mut stored);
        let json = serde_json::to_string(&stored).unwrap();
        assert!(!json.contains("option"), "texts left in {json}");
        let mut back: Score = serde_json::from_str(&json).unwrap();
        fill_texts(&mut back, &questions);
        assert_eq!(back, full);
    }

    #[test]
    fn a_student_is_told_until_a_later_revision_exists() {
        let st = StudentId::parse("s1").unwrap();
        let mut r = TestResults::default();
        assert!(!r.told(&st, 0));
        r.notified.insert(st.clone(), 0);
        assert!(r.told(&st, 0));
        assert!(!r.told(&st, 1));
        assert!(r.remove_student(&st));
        assert!(!r.remove_student(&st));
    }
}
