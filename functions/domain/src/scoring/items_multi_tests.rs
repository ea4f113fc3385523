//! Item analysis of multiple-answer questions with partial credit, read from stored
//! results (`Answer::Many`, `earned`, `points`) as the report reads them; every
//! expected figure is worked out by hand in the comments.

use super::*;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::model::Answer;
use chrono::{TimeZone, Utc};

const TOL: f64 = 1e-9;

fn a(id: &str) -> AnswerId {
    AnswerId::parse(id).unwrap()
}

fn ids(list: &str) -> Vec<AnswerId> {
    list.split(',').filter(|s| !s.is_empty()).map(a).collect()
}

/// (question, options, key, points)
const QUESTIONS: [(&str, &str, &str, u32); 3] = [
    ("m", "a,b,c,d", "a,c", 2),
    ("s", "a,b,c", "a", 1),
    ("w", "a,b,c,d", "a,b", 1),
];

/// Data set C: six students; `m` and `w` are multiple-answer questions scored
/// `partial` (max(0, (right chosen − wrong chosen) / keyed)), `m` worth 2 points;
/// `w`'s key is wrong (the right answer is a, c). Per student: (chosen, earned).
///
/// | student | m (key a,c; 2 pts) | s (key a) | w (key a,b) | total |
/// |---------|--------------------|-----------|-------------|-------|
/// | s1      | a,c 1   → 2        | a 1       | a,c 0       | 3     |
/// | s2      | a,c 1   → 2        | a 1       | a,c 0       | 3     |
/// | s3      | a   ½   → 1        | a 1       | a   ½       | 2.5   |
/// | s4      | a,b 0   → 0        | b 0       | a,b 1       | 1     |
/// | s5      | c   ½   → 1        | c 0       | b   ½       | 1.5   |
/// | s6      | (none) 0           | b 0       | b,d 0       | 0     |
const STUDENTS: [[(&str, f64); 3]; 6] = [
    [("a,c", 1.0), ("a", 1.0), ("a,c", 0.0)],
    [("a,c", 1.0), ("a", 1.0), ("a,c", 0.0)],
    [("a", 0.5), ("a", 1.0), ("a", 0.5)],
    [("a,b", 0.0), ("b", 0.0), ("a,b", 1.0)],
    [("c", 0.5), ("c", 0.0), ("b", 0.5)],
    [("", 0.0), ("b", 0.0), ("b,d", 0.0)],
];

/// A stored answer as the API writes it: a list for a multiple-answer question.
fn answer(multiple: bool, list: &str) -> Option<Answer> {
    let chosen = ids(list);
    match (multiple, chosen.as_slice()) {
        (_, []) => None,
        (false, [one]) => Some(Answer::One(one.clone())),
        _ => Some(Answer::Many(chosen)),
    }
}

fn scores() -> Vec<Score> {
    STUDENTS
        .iter()
        .enumerate()
        .map(|(s, cells)| {
            let questions = QUESTIONS
                .iter()
                .zip(cells)
                .map(|((id, _, key, points), (chosen, earned))| {
                    let multiple = key.contains(',');
                    QuestionResult {
                        question_id: QuestionId::parse(*id).unwrap(),
                        question: String::new(),
                        given: answer(multiple, chosen),
                        given_text: None,
                        correct: answer(multiple, key),
                        correct_text: None,
                        is_correct: *earned == 1.0,
                        // As grading writes it: only when neither 0 nor 1.
                        earned: (*earned > 0.0 && *earned < 1.0).then_some(*earned),
                        points: *points,
                        penalty: None,
                    }
                })
                .collect();
            Score {
                subject: SubjectName::parse("os").unwrap(),
                test_id: TestId::parse("t1").unwrap(),
                student_id: StudentId::parse(format!("s{}", s + 1)).unwrap(),
                title: "T".into(),
                points: Default::default(),
                total: 4,
                percentage: 0.0,
                grade: 0,
                max_grade: 5,
                revision: 0,
                scored_at: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
                questions,
                previous: None,
                late: None,
            }
        })
        .collect()
}

fn items() -> Vec<Item> {
    QUESTIONS
        .iter()
        .map(|(id, options, key, _)| Item {
            question_id: QuestionId::parse(*id).unwrap(),
            options: ids(options),
            key: ids(key),
        })
        .collect()
}

pub(crate) fn data_set_c() -> ItemAnalysis {
    let scores = scores();
    analyse_scores(&items(), |visit| scores.iter().for_each(&mut *visit))
}

struct Expected {
    question: &'static str,
    facility: f64,
    discrimination: f64,
    /// (option, chosen by, of them in the top third)
    counts: &'static [(&'static str, usize, usize)],
    unanswered: usize,
    flags: &'static [Flag],
}

/// Top third: ⌈6/3⌉ = 2, the 2nd best total is 3: s1 and s2.
const EXPECTED: [Expected; 3] = [
    // m: earned 1,1,½,0,½,0 → 3/6. x = 2,2,1,0,1,0 (mean 1), rest = 1,1,1.5,1,.5,0
    // (mean 5/6): dx = 1,1,0,−1,0,−1, dr = 1/6,1/6,2/3,1/6,−1/3,−5/6; Σdxdr = 1,
    // Σdx² = 4, Σdr² = 48/36 = 4/3 → r = 1/√(16/3) = √3/4. Each option of a
    // multiple answer counts: a by s1..s4, c by s1, s2, s5. The least chosen keyed
    // option in the top third (a 2, c 2) beats b and d (0): no flag.
    Expected {
        question: "m",
        facility: 0.5,
        discrimination: 0.433_012_701_892_219_3,
        counts: &[("a", 4, 2), ("b", 1, 0), ("c", 3, 2), ("d", 0, 0)],
        unanswered: 1,
        flags: &[],
    },
    // s: x = 1,1,1,0,0,0 (mean ½), rest = 2,2,1.5,1,1.5,0 (mean 4/3): Σdxdr = 3/2,
    // Σdx² = 3/2, Σdr² = 102/36 = 17/6 → r = 1.5/√(1.5 · 17/6) = 3/√17.
    Expected {
        question: "s",
        facility: 0.5,
        discrimination: 0.727_606_875_108_998_9,
        counts: &[("a", 3, 2), ("b", 2, 0), ("c", 1, 0)],
        unanswered: 0,
        flags: &[],
    },
    // w: earned 0,0,½,1,½,0 → 2/6. x = 0,0,.5,1,.5,0 (mean 1/3), rest = 3,3,2,0,1,0
    // (mean 3/2): Σdxdr = −3/2, Σdx² = 5/6, Σdr² = 19/2 → r = −1.5/√(95/12).
    // Top third: a 2 and keyed b 0, while c (not keyed) 2 > 0: probable wrong key.
    Expected {
        question: "w",
        facility: 1.0 / 3.0,
        discrimination: -0.533_113_989_983_183_2,
        counts: &[("a", 4, 2), ("b", 3, 0), ("c", 2, 2), ("d", 1, 0)],
        unanswered: 0,
        flags: &[Flag::LowDiscrimination, Flag::ProbableWrongKey],
    },
];

#[test]
fn multiple_answers_count_each_option_and_facility_is_the_partial_credit() {
    let r = data_set_c();
    assert_eq!(r.items.len(), EXPECTED.len());
    for (got, want) in r.items.iter().zip(&EXPECTED) {
        let q = want.question;
        assert_eq!(got.question_id.as_str(), q);
        assert_eq!(got.n, 6, "{q}");
        let f = got.facility.unwrap();
        assert!((f - want.facility).abs() < TOL, "{q} facility {f}");
        let d = got.discrimination.unwrap();
        assert!(
            (d - want.discrimination).abs() < TOL,
            "{q} discrimination {d}"
        );
        let counts: Vec<(&str, usize, usize)> = got
            .options
            .iter()
            .map(|c| (c.answer_id.as_str(), c.count, c.top_third))
            .collect();
        assert_eq!(counts, want.counts, "{q}");
        assert_eq!(got.unanswered, want.unanswered, "{q}");
        assert_eq!(got.flags, want.flags, "{q}");
    }
    assert_eq!(
        r.items[0].key,
        [a("a"), a("c")],
        "every keyed option is kept"
    );
}

#[test]
fn test_figures_weigh_questions_by_their_points() {
    let t = data_set_c().test;
    // Totals 3,3,2.5,1,1.5,0: mean 11/6; Σ(T − mean)² = 264/36 = 22/3, variance 22/15.
    assert_eq!(t.n, 6);
    assert!((t.max_points - 4.0).abs() < TOL);
    let close = |v: Option<f64>, e: f64, what: &str| {
        let v = v.unwrap();
        assert!((v - e).abs() < TOL, "{what}: {v} != {e}");
    };
    close(t.mean, 11.0 / 6.0, "mean");
    close(t.sd, (22.0f64 / 15.0).sqrt(), "sd");
    // Item variances: m 4/5, s 3/10, w 1/6 = 19/15; alpha = 3/2 (1 − 19/22) = 9/44.
    close(t.alpha, 9.0 / 44.0, "alpha");
    close(t.error_ratio, (35.0f64 / 44.0).sqrt(), "error ratio");
}

/// A key, the top third's count per option, and whether it is flagged.
type KeyCase = (&'static str, &'static [(&'static str, usize)], bool);

#[test]
fn probable_wrong_key_compares_other_options_with_the_least_chosen_keyed_one() {
    let table: [KeyCase; 9] = [
        ("a", &[("a", 2), ("b", 3)], true),
        ("a", &[("a", 2), ("b", 2)], false),
        ("a,c", &[("a", 3), ("b", 2), ("c", 1)], true),
        ("a,c", &[("a", 3), ("b", 2), ("c", 2)], false),
        ("a,c", &[("a", 3), ("b", 0), ("c", 3), ("d", 0)], false),
        // One keyed option nobody in the top third chose: any other they chose wins.
        ("a,c", &[("a", 4), ("b", 1), ("c", 0)], true),
        // Only options count, not answers outside the question.
        ("a", &[("a", 1), ("x", 5)], false),
        ("", &[("a", 3)], false),
        // A key naming no option of the question was chosen by nobody.
        ("z", &[("a", 1)], true),
    ];
    for (key, counts, flagged) in table {
        let options: Vec<OptionCount> = counts
            .iter()
            .map(|(o, top)| OptionCount {
                answer_id: a(o),
                count: *top,
                top_third: *top,
                is_option: *o != "x",
            })
            .collect();
        assert_eq!(
            probable_wrong_key(&ids(key), &options),
            flagged,
            "key {key} with {counts:?}"
        );
    }
}

#[test]
fn an_option_listed_twice_in_one_answer_counts_once() {
    let items = [Item {
        question_id: QuestionId::parse("m").unwrap(),
        options: ids("a,b"),
        key: ids("a,b"),
    }];
    let twice = ids("a,a,b");
    let r = analyse(&items, |visit| {
        visit(&[Some(Response {
            earned: 1.0,
            points: 1.0,
            chosen: &twice,
        })]);
    });
    let counts: Vec<(usize, usize)> = r.items[0]
        .options
        .iter()
        .map(|c| (c.count, c.top_third))
        .collect();
    assert_eq!(counts, [(1, 1), (1, 1)]);
}
