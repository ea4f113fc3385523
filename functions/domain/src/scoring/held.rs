//! The results a pass holds in memory: a test's results object with every result
//! compact (grades as numbers, per-question detail packed into 10 bytes a question,
//! ids, titles and markings stored once per test), so 100 000 results take a few
//! megabytes, partial credit and points included.
//! A full [`Score`] exists only while a results object is written or an email
//! rendered; a stored object is read into this form one result at a time.
//!
//! Lossless: writing a held object back gives the JSON it was read from (or, for a
//! result that does not fit the compact form, keeps that result whole).

use super::grading::{LateResult, Previous, QuestionResult, Score};
use super::points::Points;
use super::results::{strip_texts, TestResults};
use crate::ids::{QuestionId, StudentId, SubjectName, TestId};
use crate::model::Answer;
use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

/// An interned id's slot; `NONE` = no answer / not in the key.
type Slot = u16;
const NONE: Slot = Slot::MAX;

/// One question of a result: what was given, what the key said, how it was
/// marked, whether it scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    question: Slot,
    given: Slot,
    correct: Slot,
    marking: Slot,
    is_correct: bool,
}

/// What a question was worth and what it gave beyond right or wrong: the fraction
/// earned and the penalty, as their bits, so a value like 1/3 comes back exactly.
/// A test has few of them (its points and scheme), so they are stored once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Marking {
    points: u32,
    earned: Option<u64>,
    penalty: Option<u64>,
}

impl Marking {
    fn of(q: &QuestionResult) -> Self {
        Self {
            points: q.points,
            earned: q.earned.map(f64::to_bits),
            penalty: q.penalty.map(f64::to_bits),
        }
    }
}

/// Values stored once per test and referred to by slot.
#[derive(Debug)]
struct Interned<T> {
    values: Vec<T>,
    slots: HashMap<T, Slot>,
}

impl<T> Default for Interned<T> {
    fn default() -> Self {
        Self {
            values: vec![],
            slots: HashMap::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Interned<T> {
    /// The slot of `v`; `None` once a test has more distinct values than slots.
    fn slot(&mut self, v: &T) -> Option<Slot> {
        if let Some(s) = self.slots.get(v) {
            return Some(*s);
        }
        let s = Slot::try_from(self.values.len())
            .ok()
            .filter(|s| *s < NONE)?;
        self.values.push(v.clone());
        self.slots.insert(v.clone(), s);
        Some(s)
    }

    fn optional(&mut self, v: Option<&T>) -> Option<Slot> {
        v.map_or(Some(NONE), |v| self.slot(v))
    }

    fn get(&self, s: Slot) -> Option<&T> {
        self.values.get(usize::from(s))
    }
}

/// The per-question detail of a held result.
#[derive(Debug, Clone)]
enum Detail {
    Packed(Box<[Packed]>),
    /// A result the compact form cannot hold exactly (texts kept from an older
    /// format, ids that do not match its place): kept as read.
    Whole(Box<Score>),
}

/// One result, compact. The grade figures are kept at the top for the report.
#[derive(Debug, Clone)]
pub struct HeldScore {
    pub points: Points,
    pub total: u32,
    pub percentage: f64,
    pub grade: u32,
    pub max_grade: u32,
    pub revision: u32,
    scored_at: DateTime<Utc>,
    /// Rare (late uploads only), so boxed: an on-time result pays one pointer.
    late: Option<Box<LateResult>>,
    title: Slot,
    detail: Detail,
}

impl HeldScore {
    /// What a corrected result remembers of the one before (such results are held
    /// whole, see [`HeldResults::compact`]).
    pub fn previous(&self) -> Option<&Previous> {
        match &self.detail {
            Detail::Whole(score) => score.previous.as_deref(),
            Detail::Packed(_) => None,
        }
    }
}

/// A test's results object, held compactly (see [`TestResults`] for the fields).
#[derive(Debug)]
pub struct HeldResults {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub scores: BTreeMap<StudentId, HeldScore>,
    pub notified: BTreeMap<StudentId, u32>,
    pub reported: bool,
    pub settled: bool,
    pub due_at: Option<DateTime<Utc>>,
    /// See [`TestResults`]: students whose last email withheld the answers, the
    /// report sent while windows were open, the last close scored for.
    pub withheld: BTreeMap<StudentId, u32>,
    pub partial: bool,
    pub last_close_at: Option<DateTime<Utc>>,
    pub failures_reported_at: Option<DateTime<Utc>>,
    questions: Interned<QuestionId>,
    answers: Interned<Answer>,
    titles: Interned<Arc<str>>,
    markings: Interned<Marking>,
}

impl HeldResults {
    /// No results yet.
    pub fn empty(subject: SubjectName, test_id: TestId) -> Self {
        Self {
            subject,
            test_id,
            scores: BTreeMap::new(),
            notified: BTreeMap::new(),
            reported: false,
            settled: false,
            due_at: None,
            withheld: BTreeMap::new(),
            partial: false,
            last_close_at: None,
            failures_reported_at: None,
            questions: Interned::default(),
            answers: Interned::default(),
            titles: Interned::default(),
            markings: Interned::default(),
        }
    }

    /// Reads the JSON of a results object, one result at a time.
    pub fn from_json(
        bytes: &[u8],
        subject: &SubjectName,
        test_id: &TestId,
    ) -> Result<Self, serde_json::Error> {
        let mut held = Self::empty(subject.clone(), test_id.clone());
        let mut de = serde_json::Deserializer::from_slice(bytes);
        ResultsSeed(&mut held).deserialize(&mut de)?;
        de.end()?;
        Ok(held)
    }

    /// The JSON of the results object, as [`TestResults`] writes it. Sized by a
    /// first, counting pass: a big test's object is megabytes, and a buffer grown by
    /// doubling would leave as much again behind.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut size = ByteCount(0);
        serde_json::to_writer(&mut size, &ResultsJson(self))?;
        let mut out = Vec::with_capacity(size.0);
        serde_json::to_writer(&mut out, &ResultsJson(self))?;
        Ok(out)
    }

    /// True when the student was emailed the result's current revision.
    pub fn told(&self, student: &StudentId, revision: u32) -> bool {
        self.notified.get(student).is_some_and(|r| *r >= revision)
    }

    /// True when the student was emailed the result's current revision with its
    /// correct answers (not only the score, see [`super::feedback`]).
    pub fn answered(&self, student: &StudentId, revision: u32) -> bool {
        super::feedback::answered(&self.notified, &self.withheld, student, revision)
    }

    /// Records an email about `revision` (with or without the answers); an older
    /// record never overrides a newer one, so folding a journal twice or out of
    /// order changes nothing. Returns whether anything changed.
    pub fn record(&mut self, student: &StudentId, revision: u32, withheld: bool) -> bool {
        super::feedback::record(
            &mut self.notified,
            &mut self.withheld,
            student,
            revision,
            withheld,
        )
    }

    /// Holds a freshly graded result: the texts are dropped (they come back from
    /// the questions for an email), so it is always compact.
    pub fn hold_graded(&mut self, mut score: Score) -> HeldScore {
        strip_texts(&mut score);
        self.compact(score)
    }

    /// Packs a result when every part of it has a slot and nothing is lost.
    fn compact(&mut self, score: Score) -> HeldScore {
        // A corrected result keeps what it corrects: rare, so kept whole.
        let fits = score.subject == self.subject
            && score.test_id == self.test_id
            && score.previous.is_none()
            && score.questions.iter().all(|q| {
                q.question.is_empty() && q.given_text.is_none() && q.correct_text.is_none()
            });
        let packed = if fits { self.pack(&score) } else { None };
        let title = packed
            .as_ref()
            .and_then(|_| self.titles.slot(&Arc::from(score.title.as_str())));
        match (packed, title) {
            (Some(p), Some(title)) => HeldScore {
                title,
                detail: Detail::Packed(p),
                ..whole(score)
            },
            _ => whole(score),
        }
    }

    fn pack(&mut self, score: &Score) -> Option<Box<[Packed]>> {
        score
            .questions
            .iter()
            .map(|q| {
                Some(Packed {
                    question: self.questions.slot(&q.question_id)?,
                    given: self.answers.optional(q.given.as_ref())?,
                    correct: self.answers.optional(q.correct.as_ref())?,
                    marking: self.markings.slot(&Marking::of(q))?,
                    is_correct: q.is_correct,
                })
            })
            .collect()
    }

    /// The result as stored (texts left out), for writing it or an email.
    pub fn expand(&self, student: &StudentId, held: &HeldScore) -> Score {
        let packed = match &held.detail {
            Detail::Whole(score) => return Score::clone(score),
            Detail::Packed(p) => p,
        };
        Score {
            subject: self.subject.clone(),
            test_id: self.test_id.clone(),
            student_id: student.clone(),
            title: self
                .titles
                .get(held.title)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            points: held.points,
            total: held.total,
            percentage: held.percentage,
            grade: held.grade,
            max_grade: held.max_grade,
            revision: held.revision,
            scored_at: held.scored_at,
            questions: self.unpack(packed),
            previous: None,
            late: held.late.clone(),
        }
    }

    fn unpack(&self, packed: &[Packed]) -> Vec<QuestionResult> {
        let answer = |s: Slot| self.answers.get(s).cloned();
        packed
            .iter()
            .filter_map(|p| {
                let marking = self.markings.get(p.marking)?;
                Some(QuestionResult {
                    question_id: self.questions.get(p.question)?.clone(),
                    question: String::new(),
                    given: answer(p.given),
                    given_text: None,
                    correct: answer(p.correct),
                    correct_text: None,
                    is_correct: p.is_correct,
                    earned: marking.earned.map(f64::from_bits),
                    points: marking.points,
                    penalty: marking.penalty.map(f64::from_bits),
                })
            })
            .collect()
    }

    /// True when two results of this test say the same to the student (revision
    /// and time aside), like [`Score::same_result`].
    pub fn same_result(&self, a: &HeldScore, b: &HeldScore) -> bool {
        let figures = |h: &HeldScore| (h.points, h.total, h.grade, h.max_grade);
        if figures(a) != figures(b) || a.late != b.late {
            return false;
        }
        let questions = |h: &HeldScore| match &h.detail {
            Detail::Packed(p) => self.unpack(p),
            Detail::Whole(s) => s.questions.clone(),
        };
        match (&a.detail, &b.detail) {
            (Detail::Packed(x), Detail::Packed(y)) => x == y,
            _ => questions(a) == questions(b),
        }
    }

    /// The object as the plain type (tests and tools).
    pub fn to_results(&self) -> TestResults {
        TestResults {
            scores: self
                .scores
                .iter()
                .map(|(id, h)| (id.clone(), Arc::new(self.expand(id, h))))
                .collect(),
            notified: self.notified.clone(),
            reported: self.reported,
            settled: self.settled,
            due_at: self.due_at,
            withheld: self.withheld.clone(),
            partial: self.partial,
            last_close_at: self.last_close_at,
            failures_reported_at: self.failures_reported_at,
        }
    }
}

/// A result held as it is.
fn whole(score: Score) -> HeldScore {
    HeldScore {
        points: score.points,
        total: score.total,
        percentage: score.percentage,
        grade: score.grade,
        max_grade: score.max_grade,
        revision: score.revision,
        scored_at: score.scored_at,
        late: score.late.clone(),
        title: NONE,
        detail: Detail::Whole(Box::new(score)),
    }
}

/// Counts the bytes written.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes a held object with the field names and order of [`TestResults`].
struct ResultsJson<'a>(&'a HeldResults);

impl Serialize for ResultsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut st = s.serialize_struct("TestResults", 5)?;
        st.serialize_field("scores", &ScoresJson(r))?;
        st.serialize_field("notified", &r.notified)?;
        st.serialize_field("reported", &r.reported)?;
        st.serialize_field("settled", &r.settled)?;
        st.serialize_field("dueAt", &r.due_at)?;
        // Written only when set, so a test without per-student windows keeps the
        // object it always had.
        if !r.withheld.is_empty() {
            st.serialize_field("withheld", &r.withheld)?;
        }
        if r.partial {
            st.serialize_field("partial", &r.partial)?;
        }
        if let Some(at) = &r.last_close_at {
            st.serialize_field("lastCloseAt", at)?;
        }
        if let Some(at) = &r.failures_reported_at {
            st.serialize_field("failuresReportedAt", at)?;
        }
        st.end()
    }
}

struct ScoresJson<'a>(&'a HeldResults);

impl Serialize for ScoresJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        // One full result at a time.
        s.collect_map(r.scores.iter().map(|(id, h)| (id, r.expand(id, h))))
    }
}

/// Reads a results object into a [`HeldResults`] without holding it whole.
struct ResultsSeed<'a>(&'a mut HeldResults);

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a results object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let held = self.0;
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "scores" => map.next_value_seed(ScoresSeed(held))?,
                "notified" => held.notified = map.next_value()?,
                "reported" => held.reported = map.next_value()?,
                "settled" => held.settled = map.next_value()?,
                "dueAt" => held.due_at = map.next_value()?,
                "withheld" => held.withheld = map.next_value()?,
                "partial" => held.partial = map.next_value()?,
                "lastCloseAt" => held.last_close_at = map.next_value()?,
                "failuresReportedAt" => held.failures_reported_at = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct ScoresSeed<'a>(&'a mut HeldResults);

impl<'de> DeserializeSeed<'de> for ScoresSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ScoresSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("results by student")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let held = self.0;
        while let Some((student, score)) = map.next_entry::<StudentId, Score>()? {
            let h = if score.student_id == student {
                held.compact(score)
            } else {
                whole(score)
            };
            held.scores.insert(student, h);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AnswerId, QuestionId};

    fn ids() -> (SubjectName, TestId) {
        (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        )
    }

    fn score(student: &str, given: &[Option<&str>], revision: u32) -> Score {
        let (subject, test_id) = ids();
        let questions: Vec<QuestionResult> = given
            .iter()
            .enumerate()
            .map(|(i, g)| QuestionResult {
                question_id: QuestionId::parse(format!("q{i}")).unwrap(),
                question: String::new(),
                given: g.map(|a| AnswerId::parse(a).unwrap().into()),
                given_text: None,
                correct: Some(AnswerId::parse("a").unwrap().into()),
                correct_text: None,
                is_correct: *g == Some("a"),
                earned: None,
                points: 1,
                penalty: None,
            })
            .collect();
        let points = questions.iter().filter(|q| q.is_correct).count() as u32;
        Score {
            subject,
            test_id,
            student_id: StudentId::parse(student).unwrap(),
            title: "Test <1>".into(),
            points: points.into(),
            total: questions.len() as u32,
            percentage: 50.0,
            grade: points,
            max_grade: 5,
            revision,
            scored_at: DateTime::<Utc>::UNIX_EPOCH,
            questions,
            previous: None,
            late: None,
        }
    }

    fn stored() -> TestResults {
        let mut r = TestResults::default();
        for (id, given, rev) in [
            ("s1", vec![Some("a"), None, Some("b")], 0),
            ("s2", vec![Some("b"), Some("a"), Some("zz")], 2),
        ] {
            let st = StudentId::parse(id).unwrap();
            r.scores
                .insert(st.clone(), Arc::new(score(id, &given, rev)));
            r.notified.insert(st, rev);
        }
        r.reported = true;
        r.due_at = Some(DateTime::<Utc>::UNIX_EPOCH);
        r
    }

    #[test]
    fn a_results_object_read_into_the_compact_form_is_written_back_byte_for_byte() {
        let (s, t) = ids();
        let json = serde_json::to_vec(&stored()).unwrap();
        let held = HeldResults::from_json(&json, &s, &t).unwrap();
        assert!(held
            .scores
            .values()
            .all(|h| matches!(h.detail, Detail::Packed(_))));
        assert_eq!(held.to_json().unwrap(), json);
        assert_eq!(held.to_results(), stored());
    }

    #[test]
    fn a_result_the_compact_form_cannot_hold_exactly_is_kept_whole() {
        let (s, t) = ids();
        let mut r = stored();
        // An older object that kept the texts, and a result filed under another id.
        let mut texts = score("s3", &[Some("a")], 0);
        texts.questions[0].question = "What?".into();
        r.scores
            .insert(StudentId::parse("s3").unwrap(), Arc::new(texts));
        r.scores.insert(
            StudentId::parse("s4").unwrap(),
            Arc::new(score("s5", &[Some("a")], 0)),
        );
        let json = serde_json::to_vec(&r).unwrap();
        let held = HeldResults::from_json(&json, &s, &t).unwrap();
        let whole = held
            .scores
            .values()
            .filter(|h| matches!(h.detail, Detail::Whole(_)))
            .count();
        assert_eq!(whole, 2);
        assert_eq!(held.to_json().unwrap(), json);
    }

    #[test]
    fn lists_of_answers_points_partial_credit_and_penalties_pack_and_are_written_back_exactly() {
        let (s, t) = ids();
        let mut r = stored();
        let list = |l: &[&str]| {
            Some(crate::model::Answer::Many(
                l.iter().map(|a| AnswerId::parse(*a).unwrap()).collect(),
            ))
        };
        let mut listed = score("s3", &[Some("a")], 0);
        listed.questions[0].given = list(&["a", "c"]);
        listed.questions[0].correct = list(&["a", "c"]);
        // 0.5 of 3 points, then a wrong single answer worth 2 with a quarter off,
        // then a third of a point: fractions that are not exact in binary.
        let mut partial = score("s4", &[Some("a"), Some("b"), Some("b"), Some("a")], 0);
        partial.questions[1].given = list(&["a"]);
        partial.questions[1].correct = list(&["a", "c"]);
        partial.questions[1].earned = Some(0.5);
        partial.questions[1].points = 3;
        partial.questions[2].points = 2;
        partial.questions[2].penalty = Some(0.25);
        partial.questions[3].earned = Some(1.0 / 3.0);
        partial.points = Points::of(5, 0.5);
        for sc in [listed, partial] {
            r.scores.insert(sc.student_id.clone(), Arc::new(sc));
        }
        let json = serde_json::to_vec(&r).unwrap();
        let held = HeldResults::from_json(&json, &s, &t).unwrap();
        assert!(held
            .scores
            .values()
            .all(|h| matches!(h.detail, Detail::Packed(_))));
        assert_eq!(held.to_json().unwrap(), json);
        assert_eq!(held.to_results(), r);
        let s4 = StudentId::parse("s4").unwrap();
        let again = held.expand(&s4, &held.scores[&s4]);
        assert_eq!(again, *r.scores[&s4]);
    }

    #[test]
    fn unknown_fields_and_a_missing_object_part_read_as_defaults() {
        let (s, t) = ids();
        let held =
            HeldResults::from_json(br#"{"future": [1, 2], "reported": true}"#, &s, &t).unwrap();
        assert!(held.reported && held.scores.is_empty() && held.due_at.is_none());
        assert!(HeldResults::from_json(b"[]", &s, &t).is_err());
    }

    #[test]
    fn the_same_answers_are_the_same_result_whatever_the_revision() {
        let (s, t) = ids();
        let mut held = HeldResults::empty(s, t);
        let a = held.hold_graded(score("s1", &[Some("a"), None], 0));
        let b = held.hold_graded(score("s1", &[Some("a"), None], 3));
        let c = held.hold_graded(score("s1", &[Some("b"), None], 0));
        assert!(held.same_result(&a, &b));
        assert!(!held.same_result(&a, &c));
        let kept = whole(score("s1", &[Some("a"), None], 1));
        assert!(held.same_result(&a, &kept), "across the two forms");
        // The same answers marked differently (points, a penalty) are not.
        let mut worth_two = score("s1", &[Some("a"), None], 0);
        worth_two.questions[0].points = 2;
        let mut penalised = score("s1", &[Some("a"), None], 0);
        penalised.questions[1].penalty = Some(0.25);
        let d = held.hold_graded(worth_two);
        let e = held.hold_graded(penalised);
        assert!(
            !held.same_result(&a, &d) && !held.same_result(&a, &e) && !held.same_result(&d, &e)
        );
    }
}
