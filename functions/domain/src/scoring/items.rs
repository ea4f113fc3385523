//! Item analysis of one test, as Moodle's quiz statistics compute it (see
//! docs/scorer.md, "Item analysis"): per question the facility index, the
//! discrimination index, what students chose and flags for questions worth a second
//! look; per test the spread of the totals and Cronbach's alpha.
//!
//! Pure arithmetic over what the caller walks: the results are visited twice (once
//! for the moments, once for what the top third chose), so a pass never holds a
//! second copy of a big test's results. Moments are accumulated Welford's way, which
//! stays exact for constant data (a question everybody got right has variance 0,
//! not 1e-17).

use super::grading::{QuestionResult, Score};
use crate::ids::{AnswerId, QuestionId};
use crate::model::{KeyEntry, Question};
use serde::Serialize;
use std::collections::HashMap;

/// The fraction of its points a question earned, in [0, 1]: 1 or 0 for a single
/// answer, a part under partial scoring or weights; a wrong-answer penalty aside.
pub fn earned_fraction(q: &QuestionResult) -> f64 {
    q.earned()
}

/// The points a question of a result is worth.
pub fn question_points(q: &QuestionResult) -> f64 {
    f64::from(q.points)
}

/// What a student chose in a question (empty when unanswered).
pub fn chosen(q: &QuestionResult) -> &[AnswerId] {
    q.given.as_ref().map_or(&[], |a| a.ids())
}

/// A question as the analysis sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub question_id: QuestionId,
    /// The question's options, in its order.
    pub options: Vec<AnswerId>,
    /// The key's answers (empty when the key lacks the question).
    pub key: Vec<AnswerId>,
}

/// The items of a test, in the order of its questions.
pub fn items_of(questions: &[Question], key: &[KeyEntry]) -> Vec<Item> {
    let keyed: HashMap<&QuestionId, &KeyEntry> = key.iter().map(|k| (&k.question_id, k)).collect();
    questions
        .iter()
        .map(|q| Item {
            question_id: q.question_id.clone(),
            options: q.answers.iter().map(|a| a.answer_id.clone()).collect(),
            key: keyed
                .get(&q.question_id)
                .map(|k| k.answer.ids().to_vec())
                .unwrap_or_default(),
        })
        .collect()
}

/// The items of a test whose questions were not read (a report owed after every
/// email went out): the questions in the order results hold them, the key the
/// results recorded, and as options the answers given or keyed, sorted.
pub fn items_from_scores(each: impl Fn(&mut dyn FnMut(&Score))) -> Vec<Item> {
    let mut items: Vec<Item> = vec![];
    let mut at: HashMap<QuestionId, usize> = HashMap::new();
    each(&mut |score| {
        for q in &score.questions {
            let i = *at.entry(q.question_id.clone()).or_insert_with(|| {
                items.push(Item {
                    question_id: q.question_id.clone(),
                    options: vec![],
                    key: q.correct.as_ref().map_or(vec![], |a| a.ids().to_vec()),
                });
                items.len() - 1
            });
            let item = &mut items[i];
            for a in chosen(q)
                .iter()
                .chain(q.correct.as_ref().map_or(&[][..], |a| a.ids()))
            {
                if !item.options.contains(a) {
                    item.options.push(a.clone());
                }
            }
        }
    });
    for item in &mut items {
        item.options.sort();
    }
    items
}

/// One student's response to one item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Response<'a> {
    /// Fraction of the question's points earned, in [0, 1].
    pub earned: f64,
    /// The question's points.
    pub points: f64,
    pub chosen: &'a [AnswerId],
}

/// One student's responses, aligned with the items; `None` = not presented.
pub type Attempt<'a> = [Option<Response<'a>>];

/// A stored result as an attempt at `items` (questions matched by id; a question the
/// result does not hold was not presented).
pub fn attempt_of<'s>(
    index: &HashMap<&QuestionId, usize>,
    score: &'s Score,
) -> Vec<Option<Response<'s>>> {
    let mut attempt = vec![None; index.len()];
    for q in &score.questions {
        if let Some(i) = index.get(&q.question_id) {
            attempt[*i] = Some(Response {
                earned: earned_fraction(q).clamp(0.0, 1.0),
                points: question_points(q),
                chosen: chosen(q),
            });
        }
    }
    attempt
}

/// Why a question deserves a second look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// Facility below 0.2.
    Hard,
    /// Facility above 0.95.
    Easy,
    /// Discrimination below 0.1.
    LowDiscrimination,
    /// An option outside the key drew more of the top third than the least
    /// chosen keyed option.
    ProbableWrongKey,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Hard => "hard",
            Flag::Easy => "easy",
            Flag::LowDiscrimination => "low-discrimination",
            Flag::ProbableWrongKey => "probable-wrong-key",
        }
    }

    /// In words, for the report's HTML.
    pub fn label(self) -> &'static str {
        match self {
            Flag::Hard => "hard",
            Flag::Easy => "easy",
            Flag::LowDiscrimination => "low discrimination",
            Flag::ProbableWrongKey => "probable wrong key",
        }
    }
}

/// How many students chose an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionCount {
    pub answer_id: AnswerId,
    pub count: usize,
    /// Of them, students in the top third by total.
    pub top_third: usize,
    /// False for an answer that is not an option of the question.
    pub is_option: bool,
}

/// The statistics of one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStats {
    pub question_id: QuestionId,
    /// Students who were presented the question.
    pub n: usize,
    /// Mean fraction of the question's points earned; `None` when nobody had it.
    pub facility: Option<f64>,
    /// Pearson correlation of the question's score with the rest of the test;
    /// `None` when either has no variance (or fewer than two students).
    pub discrimination: Option<f64>,
    pub key: Vec<AnswerId>,
    /// The options in the question's order, then other answers given.
    pub options: Vec<OptionCount>,
    pub unanswered: usize,
    pub flags: Vec<Flag>,
}

/// The statistics of the test's totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestFigures {
    pub n: usize,
    /// The largest total any student could reach (their questions' points).
    pub max_points: f64,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    /// Cronbach's alpha (KR-20 for all-or-nothing questions); `None` with fewer than
    /// two questions or students, totals without variance, or students who were
    /// presented different questions.
    pub alpha: Option<f64>,
    /// √(1 − alpha).
    pub error_ratio: Option<f64>,
    /// sd × error ratio.
    pub standard_error: Option<f64>,
}

/// A test's item analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemAnalysis {
    pub test: TestFigures,
    pub items: Vec<ItemStats>,
}

/// Below this a variance is rounding noise: scores are multiples of a point's
/// fraction, far above it.
const ZERO_VARIANCE: f64 = 1e-12;

/// Running mean and co-moments of (question score, rest of test), Welford's way.
#[derive(Debug, Default, Clone)]
struct Moments {
    n: usize,
    earned: f64,
    mean_x: f64,
    mean_r: f64,
    m2_x: f64,
    m2_r: f64,
    c_xr: f64,
}

impl Moments {
    fn add(&mut self, earned: f64, x: f64, r: f64) {
        self.n += 1;
        let n = self.n as f64;
        self.earned += earned;
        let dx = x - self.mean_x;
        self.mean_x += dx / n;
        let dr = r - self.mean_r;
        self.mean_r += dr / n;
        self.m2_x += dx * (x - self.mean_x);
        self.m2_r += dr * (r - self.mean_r);
        self.c_xr += dx * (r - self.mean_r);
    }

    fn variance_x(&self) -> Option<f64> {
        (self.n > 1).then(|| self.m2_x / (self.n - 1) as f64)
    }

    fn correlation(&self) -> Option<f64> {
        let n1 = self.n.checked_sub(1).filter(|n| *n > 0)? as f64;
        let (vx, vr) = (self.m2_x / n1, self.m2_r / n1);
        if vx <= ZERO_VARIANCE || vr <= ZERO_VARIANCE {
            return None;
        }
        Some((self.c_xr / (self.m2_x * self.m2_r).sqrt()).clamp(-1.0, 1.0))
    }
}

/// Running mean and variance of the totals.
#[derive(Debug, Default)]
struct Totals {
    values: Vec<f64>,
    mean: f64,
    m2: f64,
}

impl Totals {
    fn add(&mut self, t: f64) {
        self.values.push(t);
        let d = t - self.mean;
        self.mean += d / self.values.len() as f64;
        self.m2 += d * (t - self.mean);
    }

    fn variance(&self) -> Option<f64> {
        let n = self.values.len();
        (n > 1).then(|| self.m2 / (n - 1) as f64)
    }

    /// The lowest total in the top third (ties at the cut are in): the
    /// ⌈n/3⌉-th best.
    fn top_third_cut(&self) -> Option<f64> {
        let mut sorted = self.values.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let m = sorted.len().div_ceil(3);
        m.checked_sub(1).and_then(|i| sorted.get(i).copied())
    }
}

fn total_of(attempt: &Attempt<'_>) -> f64 {
    attempt.iter().flatten().map(|r| r.earned * r.points).sum()
}

/// Answer counts of one item; answers that are not options are appended as seen.
fn counter(item: &Item) -> Vec<OptionCount> {
    item.options
        .iter()
        .map(|a| OptionCount {
            answer_id: a.clone(),
            count: 0,
            top_third: 0,
            is_option: true,
        })
        .collect()
}

/// Counts each option a student chose once, every option of a multiple answer
/// (an answer listing one twice, which upload refuses, still counts it once).
fn count_into(counts: &mut Vec<OptionCount>, chosen: &[AnswerId], top: bool) {
    for (n, a) in chosen.iter().enumerate() {
        if chosen[..n].contains(a) {
            continue;
        }
        let i = match counts.iter().position(|c| &c.answer_id == a) {
            Some(i) => i,
            None => {
                counts.push(OptionCount {
                    answer_id: a.clone(),
                    count: 0,
                    top_third: 0,
                    is_option: false,
                });
                counts.len() - 1
            }
        };
        if top {
            counts[i].top_third += 1;
        } else {
            counts[i].count += 1;
        }
    }
}

/// The analysis of `items` over the attempts `visit` walks: it is called twice and
/// must hand the same attempts in the same order both times.
pub fn analyse(items: &[Item], visit: impl Fn(&mut dyn FnMut(&Attempt<'_>))) -> ItemAnalysis {
    let k = items.len();
    let mut moments = vec![Moments::default(); k];
    let mut counts: Vec<Vec<OptionCount>> = items.iter().map(counter).collect();
    let mut unanswered = vec![0usize; k];
    let mut totals = Totals::default();
    let mut complete = true;
    let mut max_points: f64 = 0.0;
    visit(&mut |attempt| {
        let total = total_of(attempt);
        totals.add(total);
        let possible: f64 = attempt.iter().flatten().map(|r| r.points).sum();
        max_points = max_points.max(possible);
        for (i, slot) in attempt.iter().take(k).enumerate() {
            let Some(r) = slot else {
                complete = false;
                continue;
            };
            let x = r.earned * r.points;
            moments[i].add(r.earned, x, total - x);
            count_into(&mut counts[i], r.chosen, false);
            unanswered[i] += usize::from(r.chosen.is_empty());
        }
        complete &= attempt.len() >= k;
    });
    if let Some(cut) = totals.top_third_cut() {
        visit(&mut |attempt| {
            if total_of(attempt) < cut {
                return;
            }
            for (i, r) in attempt.iter().take(k).enumerate() {
                if let Some(r) = r {
                    count_into(&mut counts[i], r.chosen, true);
                }
            }
        });
    }
    let stats: Vec<ItemStats> = items
        .iter()
        .zip(moments.iter())
        .zip(counts)
        .zip(unanswered)
        .map(|(((item, m), options), unanswered)| item_stats(item, m, options, unanswered))
        .collect();
    let test = test_figures(&totals, &moments, complete && k > 0, max_points);
    ItemAnalysis { test, items: stats }
}

fn item_stats(item: &Item, m: &Moments, options: Vec<OptionCount>, unanswered: usize) -> ItemStats {
    let facility = (m.n > 0).then(|| m.earned / m.n as f64);
    let discrimination = m.correlation();
    let mut flags = vec![];
    match facility {
        Some(f) if f < 0.2 => flags.push(Flag::Hard),
        Some(f) if f > 0.95 => flags.push(Flag::Easy),
        _ => {}
    }
    if discrimination.is_some_and(|d| d < 0.1) {
        flags.push(Flag::LowDiscrimination);
    }
    if probable_wrong_key(&item.key, &options) {
        flags.push(Flag::ProbableWrongKey);
    }
    ItemStats {
        question_id: item.question_id.clone(),
        n: m.n,
        facility,
        discrimination,
        key: item.key.clone(),
        options,
        unanswered,
        flags,
    }
}

/// An option outside the key drew more of the top third than the key did (for a key
/// of several answers: than its least chosen answer, since one wrong answer in it
/// makes the key wrong; see docs/scorer.md, "Item analysis"). Ties are not flagged.
fn probable_wrong_key(key: &[AnswerId], options: &[OptionCount]) -> bool {
    let top = |a: &AnswerId| {
        options
            .iter()
            .find(|c| &c.answer_id == a)
            .map_or(0, |c| c.top_third)
    };
    let Some(keyed) = key.iter().map(top).min() else {
        return false;
    };
    options
        .iter()
        .filter(|c| c.is_option && !key.contains(&c.answer_id))
        .any(|c| c.top_third > keyed)
}

fn test_figures(
    totals: &Totals,
    moments: &[Moments],
    complete: bool,
    max_points: f64,
) -> TestFigures {
    let n = totals.values.len();
    let mean = (n > 0).then_some(totals.mean);
    let variance = totals.variance();
    let sd = variance.map(f64::sqrt);
    let k = moments.len();
    let alpha = variance
        .filter(|v| complete && k > 1 && *v > ZERO_VARIANCE)
        .and_then(|v| {
            let items: Option<f64> = moments.iter().map(Moments::variance_x).sum();
            let kf = k as f64;
            items.map(|sum| kf / (kf - 1.0) * (1.0 - sum / v))
        });
    let error_ratio = alpha.map(|a| (1.0 - a).max(0.0).sqrt());
    let standard_error = sd.zip(error_ratio).map(|(sd, er)| sd * er);
    TestFigures {
        n,
        max_points,
        mean,
        sd,
        alpha,
        error_ratio,
        standard_error,
    }
}

/// The analysis of a test's stored results (each visited twice through `each`).
pub fn analyse_scores(items: &[Item], each: impl Fn(&mut dyn FnMut(&Score))) -> ItemAnalysis {
    let index: HashMap<&QuestionId, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (&it.question_id, i))
        .collect();
    analyse(items, |visit| {
        each(&mut |score| visit(&attempt_of(&index, score)));
    })
}

#[cfg(test)]
#[path = "items_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "items_multi_tests.rs"]
pub(crate) mod multi_tests;
