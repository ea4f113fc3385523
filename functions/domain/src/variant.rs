//! Per-student variation of a test: which questions a student is given (a draw from
//! each pool) and in which order they see questions and options (`shuffle`).
//!
//! Pure and stable: everything follows from (student, subject, test) and the test's
//! questions, through a small generator of our own seeded from SHA-256, so the API
//! serving the test and the scorer grading it always agree, on every machine and
//! with every version of every dependency. Ids never change: grading, emails and
//! exports speak of the original question and option ids.

use crate::ids::{QuestionId, StudentId, SubjectName, TestId};
use crate::model::{Question, TestRules};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and well mixed; its output is
/// fixed by its definition, unlike a library generator's.
struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator for one purpose (`order`, `pool:A`, `options:3`) of one
    /// student's copy of one test.
    fn new(student: &StudentId, subject: &SubjectName, test: &TestId, purpose: &str) -> Self {
        let mut h = Sha256::new();
        for part in [
            "ework-variant-v1",
            student.as_str(),
            subject.as_str(),
            test.as_str(),
            purpose,
        ] {
            h.update(part.as_bytes());
            // A separator no id contains, so ("ab","c") and ("a","bc") differ.
            h.update([0u8]);
        }
        let digest = h.finalize();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        SplitMix64(u64::from_le_bytes(seed))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), without the bias of a plain remainder.
    fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }

    /// Fisher-Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// The questions the student is given, in the student's order: every question
/// without a pool, a stable draw of `draw[pool]` from each pool the test draws
/// from (all of a pool it does not), shuffled when the test says so.
pub fn given<'q>(
    rules: &TestRules,
    subject: &SubjectName,
    test: &TestId,
    student: &StudentId,
    questions: &'q [Question],
) -> Vec<&'q Question> {
    let mut pools: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, q) in questions.iter().enumerate() {
        if let Some(pool) = &q.pool {
            pools.entry(pool.as_str()).or_default().push(i);
        }
    }
    let mut dropped = HashSet::new();
    for (pool, mut members) in pools {
        let Some(&n) = rules.draw.get(pool) else {
            continue;
        };
        let mut rng = SplitMix64::new(student, subject, test, &format!("pool:{pool}"));
        rng.shuffle(&mut members);
        let keep = usize::try_from(n).unwrap_or(usize::MAX).min(members.len());
        dropped.extend(members.into_iter().skip(keep));
    }
    let mut out: Vec<&Question> = questions
        .iter()
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .map(|(_, q)| q)
        .collect();
    if rules.shuffle {
        SplitMix64::new(student, subject, test, "order").shuffle(&mut out);
    }
    out
}

/// The ids of the questions the student is given (what grading counts).
pub fn given_ids(
    rules: &TestRules,
    subject: &SubjectName,
    test: &TestId,
    student: &StudentId,
    questions: &[Question],
) -> HashSet<QuestionId> {
    given(rules, subject, test, student, questions)
        .into_iter()
        .map(|q| q.question_id.clone())
        .collect()
}

/// The test as the student sees it: their questions in their order, options in
/// their order, without the pool names.
pub fn served(
    rules: &TestRules,
    subject: &SubjectName,
    test: &TestId,
    student: &StudentId,
    questions: &[Question],
) -> Vec<Question> {
    given(rules, subject, test, student, questions)
        .into_iter()
        .map(|q| {
            let mut q = q.clone();
            q.pool = None;
            if rules.shuffle {
                let purpose = format!("options:{}", q.question_id);
                SplitMix64::new(student, subject, test, &purpose).shuffle(&mut q.answers);
            }
            q
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AnswerId;
    use crate::model::AnswerOption;
    use proptest::prelude::*;

    fn question(id: usize, pool: Option<&str>, options: usize) -> Question {
        Question {
            question_id: QuestionId::parse(format!("q{id}")).unwrap(),
            question: format!("Question {id}?"),
            answers: (0..options)
                .map(|o| AnswerOption {
                    answer_id: AnswerId::parse(format!("o{o}")).unwrap(),
                    answer_body: format!("option {o}"),
                })
                .collect(),
            points: 1,
            pool: pool.map(str::to_owned),
            multiple: false,
        }
    }

    fn ids(qs: &[&Question]) -> Vec<String> {
        qs.iter().map(|q| q.question_id.to_string()).collect()
    }

    fn names() -> (SubjectName, TestId) {
        (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        )
    }

    #[test]
    fn the_generator_is_fixed_by_its_definition() {
        // SplitMix64's published first output for seed 0.
        let mut g = SplitMix64(0);
        assert_eq!(g.next(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn without_shuffle_or_draw_everyone_gets_the_test_as_written() {
        let (s, t) = names();
        let qs: Vec<Question> = (0..5).map(|i| question(i, None, 3)).collect();
        let student = StudentId::parse("student01").unwrap();
        let served = served(&TestRules::default(), &s, &t, &student, &qs);
        assert_eq!(served, qs);
    }

    #[test]
    fn questions_without_a_pool_are_always_given_and_undrawn_pools_whole() {
        let (s, t) = names();
        let qs = vec![
            question(0, None, 2),
            question(1, Some("A"), 2),
            question(2, Some("A"), 2),
            question(3, Some("A"), 2),
            question(4, Some("B"), 2),
            question(5, Some("B"), 2),
        ];
        let rules = TestRules {
            draw: [("A".to_owned(), 1)].into_iter().collect(),
            ..TestRules::default()
        };
        for n in 0..20 {
            let student = StudentId::parse(format!("s{n}")).unwrap();
            let got = ids(&given(&rules, &s, &t, &student, &qs));
            assert_eq!(got.len(), 4, "{got:?}");
            assert_eq!(got[0], "q0");
            assert_eq!(&got[2..], ["q4", "q5"]);
        }
    }

    #[test]
    fn different_students_get_different_orders() {
        let (s, t) = names();
        let qs: Vec<Question> = (0..8).map(|i| question(i, None, 4)).collect();
        let rules = TestRules {
            shuffle: true,
            ..TestRules::default()
        };
        let orders: HashSet<Vec<String>> = (0..10)
            .map(|n| {
                let student = StudentId::parse(format!("s{n}")).unwrap();
                ids(&given(&rules, &s, &t, &student, &qs))
            })
            .collect();
        assert!(orders.len() > 5, "{orders:?}");
    }

    proptest! {
        #[test]
        fn a_shuffle_is_a_permutation_stable_per_student(
            n in 1usize..30,
            options in 2usize..7,
            student in "[a-z][a-z0-9]{0,10}",
        ) {
            let (s, t) = names();
            let qs: Vec<Question> = (0..n).map(|i| question(i, None, options)).collect();
            let rules = TestRules { shuffle: true, ..TestRules::default() };
            let student = StudentId::parse(student).unwrap();
            let first = served(&rules, &s, &t, &student, &qs);
            let again = served(&rules, &s, &t, &student, &qs);
            prop_assert_eq!(&first, &again);
            let mut got: Vec<String> = first.iter().map(|q| q.question_id.to_string()).collect();
            got.sort();
            let mut want: Vec<String> = qs.iter().map(|q| q.question_id.to_string()).collect();
            want.sort();
            prop_assert_eq!(got, want);
            for q in &first {
                let original = qs.iter().find(|o| o.question_id == q.question_id).unwrap();
                let mut a: Vec<_> = q.answers.clone();
                a.sort_by(|x, y| x.answer_id.cmp(&y.answer_id));
                prop_assert_eq!(&a, &original.answers);
            }
        }

        #[test]
        fn a_draw_is_stable_and_of_the_right_size(
            pool_a in 1usize..10,
            pool_b in 1usize..10,
            free in 0usize..5,
            draw_a in 1u32..12,
            shuffle in any::<bool>(),
            student in "[a-z][a-z0-9]{0,10}",
        ) {
            let (s, t) = names();
            let mut qs: Vec<Question> = (0..free).map(|i| question(i, None, 2)).collect();
            qs.extend((0..pool_a).map(|i| question(100 + i, Some("A"), 2)));
            qs.extend((0..pool_b).map(|i| question(200 + i, Some("B"), 2)));
            let rules = TestRules {
                shuffle,
                draw: [("A".to_owned(), draw_a), ("B".to_owned(), 1)].into_iter().collect(),
                ..TestRules::default()
            };
            let student = StudentId::parse(student).unwrap();
            let got = given(&rules, &s, &t, &student, &qs);
            prop_assert_eq!(ids(&got), ids(&given(&rules, &s, &t, &student, &qs)));
            let from = |p: &str| got.iter().filter(|q| q.pool.as_deref() == Some(p)).count();
            prop_assert_eq!(from("A"), pool_a.min(draw_a as usize));
            prop_assert_eq!(from("B"), 1);
            prop_assert_eq!(got.iter().filter(|q| q.pool.is_none()).count(), free);
            let unique: HashSet<_> = got.iter().map(|q| &q.question_id).collect();
            prop_assert_eq!(unique.len(), got.len());
        }
    }
}
