//! How much of a question's points one answer earns: the scoring schemes of a test
//! (exact, partial, per-option weights) and negative marking, as pure functions.

use crate::ids::AnswerId;
use crate::model::{Answer, KeyEntry, Scoring, TestRules};
use std::collections::BTreeSet;

/// What one answer earned, as fractions of the question's points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    /// In [0, 1].
    pub earned: f64,
    /// In [0, 1]: taken off for a wrong single answer under negative marking.
    pub penalty: f64,
}

impl Mark {
    const NONE: Mark = Mark {
        earned: 0.0,
        penalty: 0.0,
    };

    pub fn is_full(&self) -> bool {
        self.earned >= 1.0
    }

    /// The fraction, when it is neither all nor nothing (what a stored result
    /// writes besides `isCorrect`).
    pub fn earned_if_partial(&self) -> Option<f64> {
        (self.earned > 0.0 && self.earned < 1.0).then_some(self.earned)
    }
}

/// Marks one answer against its key entry. No key entry or no answer earns
/// nothing and loses nothing.
pub fn mark(key: Option<&KeyEntry>, given: Option<&Answer>, rules: &TestRules) -> Mark {
    let (Some(key), Some(given)) = (key, given) else {
        return Mark::NONE;
    };
    let chosen: BTreeSet<&AnswerId> = given.ids().iter().collect();
    if !key.weights.is_empty() {
        let sum: f64 = chosen.iter().filter_map(|a| key.weights.get(*a)).sum();
        return Mark {
            earned: sum.clamp(0.0, 1.0),
            penalty: 0.0,
        };
    }
    let right: BTreeSet<&AnswerId> = key.answer.ids().iter().collect();
    match &key.answer {
        Answer::One(_) => {
            if chosen == right {
                Mark {
                    earned: 1.0,
                    penalty: 0.0,
                }
            } else {
                Mark {
                    earned: 0.0,
                    penalty: rules.wrong_answer_penalty.unwrap_or(0.0).clamp(0.0, 1.0),
                }
            }
        }
        Answer::Many(_) => {
            let earned = match rules.scoring {
                Scoring::Exact => f64::from(u8::from(chosen == right)),
                Scoring::Partial => partial(&chosen, &right),
            };
            Mark {
                earned,
                penalty: 0.0,
            }
        }
    }
}

/// max(0, (right chosen - wrong chosen) / number right).
fn partial(chosen: &BTreeSet<&AnswerId>, right: &BTreeSet<&AnswerId>) -> f64 {
    if right.is_empty() {
        return 0.0;
    }
    let hits = chosen.intersection(right).count() as f64;
    let misses = chosen.difference(right).count() as f64;
    ((hits - misses) / right.len() as f64).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::QuestionId;
    use proptest::prelude::*;

    fn ids(list: &str) -> Vec<AnswerId> {
        list.chars()
            .map(|c| AnswerId::parse(c.to_string()).unwrap())
            .collect()
    }

    fn many(list: &str) -> Answer {
        Answer::Many(ids(list))
    }

    fn one(a: &str) -> Answer {
        Answer::One(AnswerId::parse(a).unwrap())
    }

    fn key(answer: Answer, weights: &[(&str, f64)]) -> KeyEntry {
        KeyEntry {
            question_id: QuestionId::parse("1").unwrap(),
            answer,
            weights: weights
                .iter()
                .map(|(a, w)| (AnswerId::parse(*a).unwrap(), *w))
                .collect(),
        }
    }

    fn rules(scoring: Scoring, penalty: Option<f64>) -> TestRules {
        TestRules {
            scoring,
            wrong_answer_penalty: penalty,
            ..TestRules::default()
        }
    }

    #[test]
    fn exact_scoring_gives_everything_for_the_key_set_and_nothing_otherwise() {
        let k = key(many("ac"), &[]);
        let r = rules(Scoring::Exact, None);
        for (chosen, earned) in [
            ("ac", 1.0),
            ("ca", 1.0),
            ("a", 0.0),
            ("abc", 0.0),
            ("bd", 0.0),
        ] {
            let m = mark(Some(&k), Some(&many(chosen)), &r);
            assert_eq!(m.earned, earned, "{chosen}");
            assert_eq!(m.penalty, 0.0, "{chosen}");
        }
    }

    #[test]
    fn partial_scoring_counts_right_minus_wrong_over_the_number_right() {
        let k = key(many("ac"), &[]);
        let r = rules(Scoring::Partial, None);
        // (right - wrong) / 2, at least 0.
        for (chosen, earned) in [
            ("ac", 1.0),   // (2 - 0) / 2
            ("a", 0.5),    // (1 - 0) / 2
            ("ab", 0.0),   // (1 - 1) / 2
            ("abc", 0.5),  // (2 - 1) / 2
            ("acd", 0.5),  // (2 - 1) / 2
            ("bd", 0.0),   // (0 - 2) / 2 -> 0
            ("abcd", 0.0), // (2 - 2) / 2
        ] {
            assert_eq!(
                mark(Some(&k), Some(&many(chosen)), &r).earned,
                earned,
                "{chosen}"
            );
        }
        let three = key(many("abc"), &[]);
        let third = mark(Some(&three), Some(&many("a")), &r).earned;
        assert!((third - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn weights_add_up_the_chosen_options_clamped_to_zero_and_one() {
        let k = key(many("ac"), &[("a", 0.5), ("c", 0.5), ("b", -0.5)]);
        // Weights decide whatever the scoring says.
        for scoring in [Scoring::Exact, Scoring::Partial] {
            let r = rules(scoring, Some(0.25));
            for (chosen, earned) in [
                ("ac", 1.0),  // 0.5 + 0.5
                ("a", 0.5),   // 0.5
                ("ab", 0.0),  // 0.5 - 0.5
                ("abc", 0.5), // 0.5 - 0.5 + 0.5
                ("b", 0.0),   // -0.5 -> 0
                ("d", 0.0),   // no weight
            ] {
                let m = mark(Some(&k), Some(&many(chosen)), &r);
                assert_eq!((m.earned, m.penalty), (earned, 0.0), "{chosen}");
            }
        }
        let generous = key(many("ac"), &[("a", 0.7), ("c", 0.6)]);
        let m = mark(Some(&generous), Some(&many("ac")), &TestRules::default());
        assert_eq!(m.earned, 1.0, "1.3 is clamped to 1");
        let single = key(one("a"), &[("a", 1.0), ("b", 0.5)]);
        let m = mark(Some(&single), Some(&one("b")), &TestRules::default());
        assert_eq!(
            m.earned, 0.5,
            "a single-answer key may weigh its options too"
        );
    }

    #[test]
    fn a_wrong_single_answer_costs_the_penalty_and_no_answer_costs_nothing() {
        let k = key(one("a"), &[]);
        let r = rules(Scoring::Exact, Some(0.25));
        let m = |given: Option<Answer>| {
            let m = mark(Some(&k), given.as_ref(), &r);
            (m.earned, m.penalty)
        };
        assert_eq!(m(Some(one("a"))), (1.0, 0.0));
        assert_eq!(m(Some(one("b"))), (0.0, 0.25));
        assert_eq!(m(None), (0.0, 0.0));
        let lenient = mark(Some(&k), Some(&one("b")), &TestRules::default());
        assert_eq!((lenient.earned, lenient.penalty), (0.0, 0.0));
        // Negative marking is for single-answer questions only.
        let multi = key(many("ac"), &[]);
        let m = mark(Some(&multi), Some(&many("b")), &r);
        assert_eq!((m.earned, m.penalty), (0.0, 0.0));
    }

    #[test]
    fn a_question_missing_from_the_key_earns_nothing() {
        let m = mark(None, Some(&one("a")), &rules(Scoring::Partial, Some(1.0)));
        assert_eq!((m.earned, m.penalty), (0.0, 0.0));
    }

    fn subset(mask: u8) -> String {
        "abcde"
            .chars()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, c)| c)
            .collect()
    }

    proptest! {
        #[test]
        fn every_mark_is_a_fraction_of_the_points(
            key_mask in 1u8..32,
            chosen_mask in 0u8..32,
            single in any::<bool>(),
            partial in any::<bool>(),
            weights in proptest::collection::vec(-1.0f64..=1.0, 0..5),
            penalty in proptest::option::of(0.0f64..=1.0),
        ) {
            let answer = if single { one(&subset(key_mask)[..1]) } else { many(&subset(key_mask)) };
            let named: Vec<(String, f64)> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| (subset(1 << i), *w))
                .collect();
            let named: Vec<(&str, f64)> = named.iter().map(|(a, w)| (a.as_str(), *w)).collect();
            let k = key(answer, &named);
            let scoring = if partial { Scoring::Partial } else { Scoring::Exact };
            let given = many(&subset(chosen_mask));
            let m = mark(Some(&k), Some(&given), &rules(scoring, penalty));
            prop_assert!((0.0..=1.0).contains(&m.earned), "{m:?}");
            prop_assert!((0.0..=1.0).contains(&m.penalty), "{m:?}");
            prop_assert!(m.earned == 0.0 || m.penalty == 0.0, "{m:?}");
        }
    }
}
