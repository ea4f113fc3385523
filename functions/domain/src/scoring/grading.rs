//! Grading one submission against the answer key.
//!
//! A stored result keeps the student's answer and the correct one per question; the
//! texts come back from `questions.json` when an email is written.

use super::points::{grade_of, percentage_of, Points};
use super::schemes;
use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::model::{Answer, GivenAnswer, KeyEntry, Question, TestRules};
use crate::variant;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `correct / total * max_grade`, rounded to the nearest integer, halves up.
///
/// Integer arithmetic so 2.5 is always 3 (no binary floating point surprises).
/// A test without questions grades 0.
pub fn round_half_up(correct: u32, total: u32, max_grade: u32) -> u32 {
    if total == 0 {
        return 0;
    }
    let correct = u64::from(correct.min(total));
    let (total, max) = (u64::from(total), u64::from(max_grade));
    let grade = (2 * correct * max + total) / (2 * total);
    u32::try_from(grade).unwrap_or(max_grade)
}

/// Points as a percentage with one decimal.
pub fn percentage(correct: u32, total: u32) -> f64 {
    if total == 0 {
        return 0.0;
    }
    (f64::from(correct) * 1000.0 / f64::from(total)).round() / 10.0
}

/// One question of a graded submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionResult {
    pub question_id: QuestionId,
    /// The texts are left out of stored results and filled in from `questions.json`
    /// for an email (see `scoring::results`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub question: String,
    /// The student's answer; `None` when unanswered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_text: Option<String>,
    /// The key's answer; `None` when the key lacks this question (nobody scores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct_text: Option<String>,
    /// Full points earned.
    pub is_correct: bool,
    /// Fraction of the question's points earned, in [0, 1], written only when it is
    /// not what `is_correct` says (1 or 0): see [`QuestionResult::earned`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earned: Option<f64>,
    /// What the question is worth, written when not 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub points: u32,
    /// Fraction of the question's points taken off for a wrong answer (negative
    /// marking), written when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<f64>,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl QuestionResult {
    /// Fraction of the question's points earned, in [0, 1] (penalty aside).
    pub fn earned(&self) -> f64 {
        self.earned
            .unwrap_or(if self.is_correct { 1.0 } else { 0.0 })
    }

    /// Points this question adds to the total: earned minus any penalty.
    pub fn signed_points(&self) -> Points {
        let earned = Points::of(self.points, self.earned());
        let lost = Points::of(self.points, self.penalty.unwrap_or(0.0));
        earned - lost
    }
}

/// The result of one student in one test (kept in the test's results object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub student_id: StudentId,
    pub title: String,
    /// Points earned, never below 0; fractional under partial credit or weights.
    pub points: Points,
    /// Points of the questions the student was given.
    pub total: u32,
    pub percentage: f64,
    pub grade: u32,
    pub max_grade: u32,
    /// 0 for the first result; a rescore that changes it writes the next revision.
    #[serde(default)]
    pub revision: u32,
    pub scored_at: DateTime<Utc>,
    pub questions: Vec<QuestionResult>,
    /// On a corrected result: what the student was told before, so the email can say
    /// what changed. Kept with the result (not only in the pass) so a pass that stops
    /// between writing it and emailing it still explains the correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<Previous>>,
    /// Received after the student's own due, inside the late window: what the grade
    /// lost and why (`grade` above is the grade after the penalty).
    /// Boxed: rare, and a result is held by the hundred thousand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<Box<LateResult>>,
}

/// The result a student was last told, as a corrected result remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Previous {
    pub revision: u32,
    pub points: Points,
    pub total: u32,
    pub percentage: f64,
    pub grade: u32,
    pub max_grade: u32,
    /// Each question whose key differs between the two results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_changes: Vec<KeyChange>,
    /// The rescore request that made the correction (its tag as read), so the
    /// trainer's report of that request lists it, even after a pass that stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// One question's key before and after a correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyChange {
    pub question_id: QuestionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Answer>,
    /// The texts, like [`QuestionResult`]'s: left out of stored results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_text: Option<String>,
}

impl Previous {
    /// What `told` said, against the fresh result `fresh`: figures and the key of
    /// every question whose key changed. `told` is the result the student was last
    /// emailed; when that was itself a correction never emailed, pass the one before
    /// (see [`Score::last_told`]).
    pub fn between(told: &Score, fresh: &Score, request: Option<String>) -> Previous {
        let old_keys: HashMap<&QuestionId, Option<&Answer>> = told
            .questions
            .iter()
            .map(|q| (&q.question_id, q.correct.as_ref()))
            .collect();
        let key_changes = fresh
            .questions
            .iter()
            .filter_map(|q| {
                let old = old_keys.get(&q.question_id).copied().flatten();
                (old != q.correct.as_ref()).then(|| KeyChange {
                    question_id: q.question_id.clone(),
                    old: old.cloned(),
                    new: q.correct.clone(),
                    old_text: None,
                    new_text: None,
                })
            })
            .collect();
        Previous {
            revision: told.revision,
            points: told.points,
            total: told.total,
            percentage: told.percentage,
            grade: told.grade,
            max_grade: told.max_grade,
            key_changes,
            request,
        }
    }
}

/// Why a late result's grade is lower: own due, receipt time, started days late,
/// the policy's penalty, the factor, and the grade it would have had on time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LateResult {
    #[serde(flatten)]
    pub lateness: crate::windows::Lateness,
    pub received_at: DateTime<Utc>,
    pub grade_on_time: u32,
}

/// Applies the late penalty to a graded result received at `received_at`.
pub fn apply_late(
    score: &mut Score,
    lateness: crate::windows::Lateness,
    received_at: DateTime<Utc>,
) {
    let grade_on_time = score.grade;
    score.grade =
        crate::windows::late_grade(score.points, score.total, score.max_grade, lateness.factor);
    score.late = Some(Box::new(LateResult {
        lateness,
        received_at,
        grade_on_time,
    }));
}

impl Score {
    /// True when two results say the same to the student (revision and time aside).
    pub fn same_result(&self, other: &Score) -> bool {
        self.points == other.points
            && self.total == other.total
            && self.grade == other.grade
            && self.max_grade == other.max_grade
            && self.questions == other.questions
            && self.late == other.late
    }

    /// The result as the student was last told it, when this one was never emailed:
    /// its own `previous` figures with the keys as they were then. `None` when the
    /// student was never told anything before it.
    pub fn last_told(&self) -> Option<Score> {
        let p = self.previous.as_ref()?;
        let mut told = self.clone();
        told.revision = p.revision;
        told.points = p.points;
        told.total = p.total;
        told.percentage = p.percentage;
        told.grade = p.grade;
        told.max_grade = p.max_grade;
        told.previous = None;
        for q in &mut told.questions {
            if let Some(c) = p
                .key_changes
                .iter()
                .find(|c| c.question_id == q.question_id)
            {
                q.correct.clone_from(&c.old);
            }
        }
        Some(told)
    }
}

/// What grading needs to know about the test.
#[derive(Debug, Clone, Copy)]
pub struct TestContent<'a> {
    pub subject: &'a SubjectName,
    pub test_id: &'a TestId,
    pub title: &'a str,
    pub questions: &'a [Question],
    pub key: &'a [KeyEntry],
    /// Scoring scheme, penalty, pools (from the catalog entry).
    pub rules: &'a TestRules,
}

/// The text of answer `a` of question `q`, if it is one of its options.
pub fn answer_text(q: &Question, a: &AnswerId) -> Option<String> {
    q.answers
        .iter()
        .find(|o| &o.answer_id == a)
        .map(|o| o.answer_body.clone())
}

/// The texts of an answer: the option's text, or the options' texts joined by `; `
/// for several; `None` when one of them is not an option of the question.
pub fn answer_texts(q: &Question, a: &Answer) -> Option<String> {
    match a {
        Answer::One(a) => answer_text(q, a),
        Answer::Many(list) => {
            let texts: Option<Vec<String>> = list.iter().map(|a| answer_text(q, a)).collect();
            texts.map(|t| t.join("; "))
        }
    }
}

/// Grades a submission. Unanswered questions, answers to unknown questions and
/// answers that are not options of the question all count as wrong; nothing here
/// can fail. Only the questions the student was given count (see [`crate::variant`]),
/// listed in the test's order.
pub fn grade(
    test: TestContent<'_>,
    student: &StudentId,
    answers: &[GivenAnswer],
    max_grade: u32,
    scored_at: DateTime<Utc>,
) -> Score {
    let key: HashMap<&QuestionId, &KeyEntry> =
        test.key.iter().map(|k| (&k.question_id, k)).collect();
    let given: HashMap<&QuestionId, &Answer> = answers
        .iter()
        .map(|a| (&a.question_id, &a.answer))
        .collect();
    let drawn = variant::given_ids(
        test.rules,
        test.subject,
        test.test_id,
        student,
        test.questions,
    );
    let questions: Vec<QuestionResult> = test
        .questions
        .iter()
        .filter(|q| drawn.contains(&q.question_id))
        .map(|q| {
            let given = given.get(&q.question_id).map(|a| (*a).clone());
            let entry = key.get(&q.question_id).copied();
            let mark = schemes::mark(entry, given.as_ref(), test.rules);
            let correct = entry.map(|k| k.answer.clone());
            QuestionResult {
                question_id: q.question_id.clone(),
                question: q.question.clone(),
                given_text: given.as_ref().and_then(|a| answer_texts(q, a)),
                correct_text: correct.as_ref().and_then(|a| answer_texts(q, a)),
                given,
                correct,
                is_correct: mark.is_full(),
                earned: mark.earned_if_partial(),
                points: q.points,
                penalty: (mark.penalty > 0.0).then_some(mark.penalty),
            }
        })
        .collect();
    let total = questions
        .iter()
        .fold(0u32, |t, q| t.saturating_add(q.points));
    let points = questions
        .iter()
        .map(QuestionResult::signed_points)
        .sum::<Points>()
        .at_least_zero();
    Score {
        subject: test.subject.clone(),
        test_id: test.test_id.clone(),
        student_id: student.clone(),
        title: test.title.to_owned(),
        points,
        total,
        percentage: percentage_of(points, total),
        grade: grade_of(points, total, max_grade),
        max_grade,
        revision: 0,
        scored_at,
        questions,
        previous: None,
        late: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AnswerOption;

    fn q(id: &str, options: &[&str]) -> Question {
        Question {
            question_id: QuestionId::parse(id).unwrap(),
            question: format!("Question {id}?"),
            answers: options
                .iter()
                .map(|o| AnswerOption {
                    answer_id: AnswerId::parse(*o).unwrap(),
                    answer_body: format!("option {o}"),
                })
                .collect(),
            points: 1,
            pool: None,
            multiple: false,
        }
    }

    fn k(id: &str, a: &str) -> KeyEntry {
        KeyEntry {
            question_id: QuestionId::parse(id).unwrap(),
            answer: AnswerId::parse(a).unwrap().into(),
            weights: Default::default(),
        }
    }

    fn given(id: &str, a: &str) -> GivenAnswer {
        GivenAnswer {
            question_id: QuestionId::parse(id).unwrap(),
            answer: AnswerId::parse(a).unwrap().into(),
        }
    }

    fn run(questions: &[Question], key: &[KeyEntry], answers: &[GivenAnswer]) -> Score {
        let s = SubjectName::parse("os").unwrap();
        let t = TestId::parse("t1").unwrap();
        let content = TestContent {
            subject: &s,
            test_id: &t,
            title: "T",
            questions,
            key,
            rules: &TestRules::default(),
        };
        grade(
            content,
            &StudentId::parse("s1").unwrap(),
            answers,
            5,
            DateTime::<Utc>::UNIX_EPOCH,
        )
    }

    #[test]
    fn grades_round_to_the_nearest_integer_with_halves_up() {
        assert_eq!(round_half_up(1, 2, 5), 3); // 2.5
        assert_eq!(round_half_up(3, 10, 5), 2); // 1.5
        assert_eq!(round_half_up(1, 10, 5), 1); // 0.5
        assert_eq!(round_half_up(2, 3, 5), 3); // 3.33
        assert_eq!(round_half_up(5, 6, 5), 4); // 4.17
        assert_eq!(round_half_up(7, 8, 5), 4); // 4.375
        assert_eq!(round_half_up(9, 10, 5), 5); // 4.5
        assert_eq!(round_half_up(0, 4, 5), 0);
        assert_eq!(round_half_up(4, 4, 5), 5);
    }

    #[test]
    fn max_grade_is_configurable() {
        assert_eq!(round_half_up(1, 2, 10), 5);
        assert_eq!(round_half_up(3, 4, 10), 8); // 7.5
        assert_eq!(round_half_up(3, 4, 100), 75);
    }

    #[test]
    fn a_test_without_questions_grades_zero_instead_of_dividing_by_zero() {
        assert_eq!(round_half_up(0, 0, 5), 0);
        assert_eq!(percentage(0, 0), 0.0);
    }

    #[test]
    fn correct_answers_score_and_the_rest_do_not() {
        let qs = [
            q("1", &["a", "b"]),
            q("2", &["a", "b"]),
            q("3", &["a", "b"]),
            q("4", &["a", "b"]),
        ];
        let key = [k("1", "a"), k("2", "b"), k("3", "a"), k("4", "b")];
        let score = run(
            &qs,
            &key,
            &[given("1", "a"), given("2", "b"), given("3", "b")],
        );
        assert_eq!(
            (score.points, score.total, score.grade),
            (Points::whole(2), 4, 3)
        );
        assert_eq!(score.percentage, 50.0);
        let third = &score.questions[2];
        assert_eq!(third.given_text.as_deref(), Some("option b"));
        assert_eq!(third.correct_text.as_deref(), Some("option a"));
        assert!(!third.is_correct);
        assert_eq!(score.questions[3].given, None);
    }

    #[test]
    fn missing_unknown_and_keyless_answers_count_as_wrong_without_crashing() {
        let qs = [q("1", &["a", "b"]), q("2", &["a", "b"]), q("3", &["a"])];
        // Key lacks question 3 and names a question that does not exist.
        let key = [k("1", "a"), k("2", "b"), k("99", "a")];
        let answers = [given("1", "z"), given("42", "a"), given("3", "a")];
        let score = run(&qs, &key, &answers);
        assert_eq!(
            (score.points, score.total, score.grade),
            (Points::whole(0), 3, 0)
        );
        assert_eq!(
            score.questions[0].given_text, None,
            "unknown option has no text"
        );
        assert_eq!(score.questions[2].correct, None);
    }

    #[test]
    fn an_empty_submission_scores_zero_out_of_all_questions() {
        let qs = [q("1", &["a"]), q("2", &["a"])];
        let score = run(&qs, &[k("1", "a"), k("2", "a")], &[]);
        assert_eq!(
            (score.points, score.total, score.grade),
            (Points::whole(0), 2, 0)
        );
    }

    #[test]
    fn scores_round_trip_through_json() {
        let qs = [q("1", &["a"])];
        let score = run(&qs, &[k("1", "a")], &[given("1", "A")]);
        let back: Score = serde_json::from_slice(&serde_json::to_vec(&score).unwrap()).unwrap();
        assert!(back.same_result(&score));
        assert_eq!(back.grade, 5);
    }

    fn graded(
        questions: &[Question],
        key: &[KeyEntry],
        answers: &[GivenAnswer],
        rules: &TestRules,
    ) -> Score {
        let s = SubjectName::parse("os").unwrap();
        let t = TestId::parse("t1").unwrap();
        let content = TestContent {
            subject: &s,
            test_id: &t,
            title: "T",
            questions,
            key,
            rules,
        };
        let student = StudentId::parse("s1").unwrap();
        grade(content, &student, answers, 5, DateTime::<Utc>::UNIX_EPOCH)
    }

    fn worth(mut q: Question, points: u32) -> Question {
        q.points = points;
        q
    }

    fn many(list: &[&str]) -> Answer {
        Answer::Many(list.iter().map(|a| AnswerId::parse(*a).unwrap()).collect())
    }

    fn k_many(id: &str, list: &[&str]) -> KeyEntry {
        KeyEntry {
            question_id: QuestionId::parse(id).unwrap(),
            answer: many(list),
            weights: Default::default(),
        }
    }

    fn given_many(id: &str, list: &[&str]) -> GivenAnswer {
        GivenAnswer {
            question_id: QuestionId::parse(id).unwrap(),
            answer: many(list),
        }
    }

    #[test]
    fn points_partial_credit_and_penalties_add_up_per_test() {
        // q1 2 points single, q2 3 points multiple (partial), q3 1 point single.
        let qs = [
            worth(q("1", &["a", "b"]), 2),
            worth(q("2", &["a", "b", "c", "d"]), 3),
            q("3", &["a", "b"]),
        ];
        let key = [k("1", "a"), k_many("2", &["a", "c"]), k("3", "b")];
        let rules = TestRules {
            scoring: crate::model::Scoring::Partial,
            wrong_answer_penalty: Some(0.5),
            ..TestRules::default()
        };
        let answers = [given("1", "a"), given_many("2", &["a"]), given("3", "a")];
        let score = graded(&qs, &key, &answers, &rules);
        // 2 + 3 x 1/2 - 1 x 0.5 = 3 of 6: 50 %, grade 2.5 -> 3.
        assert_eq!(score.points, Points::of(3, 1.0));
        assert_eq!((score.total, score.grade), (6, 3));
        assert_eq!(score.percentage, 50.0);
        let q2 = &score.questions[1];
        assert_eq!((q2.is_correct, q2.earned, q2.points), (false, Some(0.5), 3));
        assert_eq!(q2.signed_points().to_string(), "1.5");
        let q3 = &score.questions[2];
        assert_eq!((q3.earned(), q3.penalty), (0.0, Some(0.5)));
        assert_eq!(q3.signed_points().to_string(), "-0.5");
    }

    #[test]
    fn a_test_total_never_goes_below_zero() {
        let qs = [
            q("1", &["a", "b"]),
            q("2", &["a", "b"]),
            q("3", &["a", "b"]),
        ];
        let key = [k("1", "a"), k("2", "a"), k("3", "a")];
        let rules = TestRules {
            wrong_answer_penalty: Some(1.0),
            ..TestRules::default()
        };
        // One right (+1), two wrong (-1 each): -1 -> 0.
        let answers = [given("1", "a"), given("2", "b"), given("3", "b")];
        let score = graded(&qs, &key, &answers, &rules);
        assert_eq!(
            (score.points, score.total, score.grade),
            (Points::ZERO, 3, 0)
        );
        assert_eq!(score.percentage, 0.0);
        // Unanswered questions cost nothing: +1 of 3, grade 1.67 -> 2.
        let score = graded(&qs, &key, &[given("1", "a")], &rules);
        assert_eq!((score.points, score.grade), (Points::whole(1), 2));
    }

    #[test]
    fn a_third_of_a_point_is_kept_to_three_decimals_and_graded_on_them() {
        let qs = [q("1", &["a", "b", "c", "d"])];
        let key = [k_many("1", &["a", "b", "c"])];
        let rules = TestRules {
            scoring: crate::model::Scoring::Partial,
            ..TestRules::default()
        };
        let score = graded(&qs, &key, &[given_many("1", &["a"])], &rules);
        // 1/3 -> 0.333; 0.333 / 1 x 5 = 1.665 -> 2; 33.3 %.
        assert_eq!(score.points.to_string(), "0.333");
        assert_eq!((score.grade, score.percentage), (2, 33.3));
        let json = serde_json::to_string(&score).unwrap();
        assert!(json.contains(r#""points":0.333"#), "{json}");
        let back: Score = serde_json::from_str(&json).unwrap();
        assert!(back.same_result(&score));
    }

    #[test]
    fn exact_scoring_of_a_multiple_answer_question_needs_the_whole_set() {
        let qs = [q("1", &["a", "b", "c"]), q("2", &["a", "b", "c"])];
        let key = [k_many("1", &["a", "c"]), k_many("2", &["a", "c"])];
        let answers = [given_many("1", &["c", "a"]), given_many("2", &["a"])];
        let score = graded(&qs, &key, &answers, &TestRules::default());
        assert_eq!((score.points, score.total), (Points::whole(1), 2));
        assert!(score.questions[0].is_correct);
        assert_eq!(
            score.questions[1].earned, None,
            "all or nothing stores no fraction"
        );
    }

    #[test]
    fn a_student_is_graded_only_on_the_questions_drawn_for_them() {
        let mut qs: Vec<Question> = ["1", "2", "3", "4"]
            .iter()
            .map(|id| q(id, &["a", "b"]))
            .collect();
        for q in &mut qs[1..] {
            q.pool = Some("A".into());
        }
        let key: Vec<KeyEntry> = ["1", "2", "3", "4"].iter().map(|id| k(id, "a")).collect();
        let rules = TestRules {
            draw: [("A".to_owned(), 1)].into_iter().collect(),
            ..TestRules::default()
        };
        let everything: Vec<GivenAnswer> = ["1", "2", "3", "4"]
            .iter()
            .map(|id| given(id, "a"))
            .collect();
        let score = graded(&qs, &key, &everything, &rules);
        let s = SubjectName::parse("os").unwrap();
        let t = TestId::parse("t1").unwrap();
        let student = StudentId::parse("s1").unwrap();
        let drawn = crate::variant::given_ids(&rules, &s, &t, &student, &qs);
        assert_eq!(drawn.len(), 2);
        assert_eq!(
            (score.points, score.total, score.grade),
            (Points::whole(2), 2, 5)
        );
        let graded_ids: std::collections::HashSet<_> = score
            .questions
            .iter()
            .map(|q| q.question_id.clone())
            .collect();
        assert_eq!(graded_ids, drawn);
    }

    #[test]
    fn a_result_of_single_answer_one_point_questions_is_written_as_before() {
        let stored = r#"{"subject":"os","testId":"t1","studentId":"s1","title":"T","points":1,"total":2,"percentage":50.0,"grade":3,"maxGrade":5,"revision":0,"scoredAt":"1970-01-01T00:00:00Z","questions":[{"questionId":"1","given":"a","correct":"a","isCorrect":true},{"questionId":"2","correct":"b","isCorrect":false}]}"#;
        let score: Score = serde_json::from_str(stored).unwrap();
        assert_eq!(serde_json::to_string(&score).unwrap(), stored);
        let mut fresh = run(
            &[q("1", &["a", "b"]), q("2", &["a", "b"])],
            &[k("1", "a"), k("2", "b")],
            &[given("1", "a")],
        );
        crate::scoring::results::strip_texts(&mut fresh);
        assert_eq!(serde_json::to_string(&fresh).unwrap(), stored);
    }

    proptest::proptest! {
        #[test]
        fn a_score_is_between_zero_and_the_total(
            points in proptest::collection::vec(1u32..5, 1..6),
            picks in proptest::collection::vec(0u8..4, 1..6),
            penalty in proptest::option::of(0.0f64..=1.0),
            partial in proptest::bool::ANY,
        ) {
            let opts = ["a", "b", "c", "d"];
            let qs: Vec<Question> = points
                .iter()
                .enumerate()
                .map(|(i, p)| worth(q(&i.to_string(), &opts), *p))
                .collect();
            let key: Vec<KeyEntry> = (0..qs.len())
                .map(|i| if i % 2 == 0 { k(&i.to_string(), "a") } else { k_many(&i.to_string(), &["a", "c"]) })
                .collect();
            let answers: Vec<GivenAnswer> = picks
                .iter()
                .enumerate()
                .take(qs.len())
                .map(|(i, p)| {
                    let a = opts[usize::from(*p)];
                    if i % 2 == 0 { given(&i.to_string(), a) } else { given_many(&i.to_string(), &[a, "c"]) }
                })
                .collect();
            let rules = TestRules {
                scoring: if partial { crate::model::Scoring::Partial } else { crate::model::Scoring::Exact },
                wrong_answer_penalty: penalty,
                ..TestRules::default()
            };
            let score = graded(&qs, &key, &answers, &rules);
            proptest::prop_assert!(score.points >= Points::ZERO);
            proptest::prop_assert!(score.points <= Points::whole(score.total));
            proptest::prop_assert!(score.grade <= 5);
            for r in &score.questions {
                proptest::prop_assert!((0.0..=1.0).contains(&r.earned()));
            }
        }
    }
}
