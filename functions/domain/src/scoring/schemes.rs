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
