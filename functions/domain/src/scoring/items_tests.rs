//! Item analysis checked against hand-worked data sets (the arithmetic is in the
//! comments) and against the independent Python reference in
//! `functions/domain/tests/data/item_analysis/`.

use super::*;
use crate::ids::{StudentId, SubjectName, TestId};
use chrono::{TimeZone, Utc};

const TOL: f64 = 1e-6;

fn a(id: &str) -> AnswerId {
    AnswerId::parse(id).unwrap()
}

fn item(id: &str, options: &[&str], key: &[&str]) -> Item {
    Item {
        question_id: QuestionId::parse(id).unwrap(),
        options: options.iter().map(|o| a(o)).collect(),
        key: key.iter().map(|k| a(k)).collect(),
    }
}

/// One student's (earned, chosen) per item; `None` = not presented.
type Row = Vec<Option<(f64, Vec<AnswerId>)>>;

fn row(cells: &[(f64, &str)]) -> Row {
    cells
        .iter()
        .map(|(e, c)| {
            let chosen = if c.is_empty() { vec![] } else { vec![a(c)] };
            Some((*e, chosen))
        })
        .collect()
}

fn run(items: &[Item], rows: &[Row]) -> ItemAnalysis {
    analyse(items, |visit| {
        for r in rows {
            let attempt: Vec<Option<Response>> = r
                .iter()
                .map(|c| {
                    c.as_ref().map(|(earned, chosen)| Response {
                        earned: *earned,
                        points: 1.0,
                        chosen,
                    })
                })
                .collect();
            visit(&attempt);
        }
    })
}

fn close(actual: Option<f64>, expected: f64, what: &str) {
    let v = actual.unwrap_or_else(|| panic!("{what} is blank, expected {expected}"));
    assert!((v - expected).abs() < TOL, "{what}: {v} != {expected}");
}

/// Data set A: four students, three questions scored 0/1.
///
/// | student | q1 (key a) | q2 (key b) | q3 (key c) | total |
/// |---------|------------|------------|------------|-------|
/// | s1      | a 1        | b 1        | c 1        | 3     |
/// | s2      | a 1        | b 1        | a 0        | 2     |
/// | s3      | a 1        | a 0        | b 0        | 1     |
/// | s4      | b 0        | a 0        | b 0        | 0     |
fn data_set_a() -> (Vec<Item>, Vec<Row>) {
    let items = vec![
        item("1", &["a", "b", "c"], &["a"]),
        item("2", &["a", "b"], &["b"]),
        item("3", &["a", "b", "c"], &["c"]),
    ];
    let rows = vec![
        row(&[(1.0, "a"), (1.0, "b"), (1.0, "c")]),
        row(&[(1.0, "a"), (1.0, "b"), (0.0, "a")]),
        row(&[(1.0, "a"), (0.0, "a"), (0.0, "b")]),
        row(&[(0.0, "b"), (0.0, "a"), (0.0, "b")]),
    ];
    (items, rows)
}

#[test]
fn facility_is_the_mean_fraction_of_the_points_earned() {
    let (items, rows) = data_set_a();
    let r = run(&items, &rows);
    // 3/4, 2/4, 1/4 of the students earned the point.
    for (stats, expected) in r.items.iter().zip([0.75, 0.5, 0.25]) {
        close(stats.facility, expected, "facility");
        assert_eq!(stats.n, 4);
    }
}

#[test]
fn discrimination_correlates_the_question_with_the_rest_of_the_test() {
    let (items, rows) = data_set_a();
    let r = run(&items, &rows);
    // q1: x = 1,1,1,0 and rest = 2,1,0,0: deviations (.25,.25,.25,-.75) and
    // (1.25,.25,-.75,-.75); Σdxdr = .75, Σdx² = .75, Σdr² = 2.75 → .75/√2.0625.
    close(r.items[0].discrimination, 0.75 / 2.0625f64.sqrt(), "q1");
    // q2: x = 1,1,0,0, rest = 2,1,1,0: Σdxdr = 1, Σdx² = 1, Σdr² = 2 → 1/√2.
    close(r.items[1].discrimination, 1.0 / 2f64.sqrt(), "q2");
    // q3 mirrors q1: x = 1,0,0,0, rest = 2,2,1,0.
    close(r.items[2].discrimination, 0.75 / 2.0625f64.sqrt(), "q3");
}

#[test]
fn test_figures_use_variances_with_n_minus_one() {
    let (items, rows) = data_set_a();
    let t = run(&items, &rows).test;
    assert_eq!(t.n, 4);
    assert!((t.max_points - 3.0).abs() < TOL);
    // Totals 3,2,1,0: mean 1.5, variance (2.25+.25+.25+2.25)/3 = 5/3.
    close(t.mean, 1.5, "mean");
    close(t.sd, (5.0f64 / 3.0).sqrt(), "sd");
    // Item variances .25, 1/3, .25 sum to 5/6: alpha = 3/2 (1 - (5/6)/(5/3)) = .75.
    close(t.alpha, 0.75, "alpha");
    close(t.error_ratio, 0.5, "error ratio");
    close(
        t.standard_error,
        (5.0f64 / 3.0).sqrt() * 0.5,
        "standard error",
    );
}

#[test]
fn option_counts_and_the_top_third_follow_the_choices() {
    let (items, rows) = data_set_a();
    let r = run(&items, &rows);
    let counts = |i: usize| -> Vec<(String, usize, usize)> {
        r.items[i]
            .options
            .iter()
            .map(|c| (c.answer_id.to_string(), c.count, c.top_third))
            .collect()
    };
    // Top third: ⌈4/3⌉ = 2 students, s1 and s2 (totals 3 and 2).
    assert_eq!(
        counts(0),
        [("a".into(), 3, 2), ("b".into(), 1, 0), ("c".into(), 0, 0)]
    );
    assert_eq!(counts(1), [("a".into(), 2, 0), ("b".into(), 2, 2)]);
    assert_eq!(
        counts(2),
        [("a".into(), 1, 1), ("b".into(), 2, 0), ("c".into(), 1, 1)]
    );
    // q3: option a drew as many of the top third as the key, not more.
    assert!(r.items.iter().all(|i| i.flags.is_empty()), "{:?}", r.items);
}

/// Data set B, for the flags: four students.
///
/// | student | e (key a) | h (key a) | w (key a) | total |
/// |---------|-----------|-----------|-----------|-------|
/// | s1      | a 1       | b 0       | b 0       | 1     |
/// | s2      | a 1       | b 0       | b 0       | 1     |
/// | s3      | a 1       | c 0       | a 1       | 2     |
/// | s4      | a 1       | (none) 0  | a 1       | 2     |
#[test]
fn flags_mark_easy_hard_undiscriminating_and_miskeyed_questions() {
    let items = vec![
        item("e", &["a", "b"], &["a"]),
        item("h", &["a", "b", "c"], &["a"]),
        item("w", &["a", "b"], &["a"]),
    ];
    let rows = vec![
        row(&[(1.0, "a"), (0.0, "b"), (0.0, "b")]),
        row(&[(1.0, "a"), (0.0, "b"), (0.0, "b")]),
        row(&[(1.0, "a"), (0.0, "c"), (1.0, "a")]),
        row(&[(1.0, "a"), (0.0, ""), (1.0, "a")]),
    ];
    let r = run(&items, &rows);
    // e: everybody right: facility 1 > .95; no variance, so no discrimination.
    assert_eq!(r.items[0].flags, [Flag::Easy]);
    assert_eq!(r.items[0].discrimination, None);
    // h: nobody right: facility 0 < .2; the top third (⌈4/3⌉ = 2nd best total is
    // 2: s3, s4) chose c once and the key never.
    assert_eq!(r.items[1].flags, [Flag::Hard, Flag::ProbableWrongKey]);
    assert_eq!(r.items[1].unanswered, 1);
    // w: x = 0,0,1,1 and rest = 1,1,1,1: the rest has no variance.
    assert_eq!(r.items[2].discrimination, None);
    assert!(r.items[2].flags.is_empty());
}

#[test]
fn a_question_the_stronger_students_miss_is_flagged_twice() {
    // Totals 3,2,2,1; q4 (key a) is chosen right only by the two weakest.
    let items = vec![
        item("1", &["a", "b"], &["a"]),
        item("2", &["a", "b"], &["b"]),
        item("3", &["a", "b", "c"], &["c"]),
        item("4", &["a", "b"], &["a"]),
    ];
    let rows = vec![
        row(&[(1.0, "a"), (1.0, "b"), (1.0, "c"), (0.0, "b")]),
        row(&[(1.0, "a"), (1.0, "b"), (0.0, "a"), (0.0, "b")]),
        row(&[(1.0, "a"), (0.0, "a"), (0.0, "b"), (1.0, "a")]),
        row(&[(0.0, "b"), (0.0, "a"), (0.0, "b"), (1.0, "a")]),
    ];
    let r = run(&items, &rows);
    // q4: x = 0,0,1,1, rest = 3,2,1,0: deviations (-.5,-.5,.5,.5), (1.5,.5,-.5,-1.5);
    // Σdxdr = -2, Σdx² = 1, Σdr² = 5 → -2/√5.
    close(r.items[3].discrimination, -2.0 / 5f64.sqrt(), "q4");
    // Top third: the 2nd best total is 2, so s1, s2, s3: b twice, the key once.
    assert_eq!(
        r.items[3].flags,
        [Flag::LowDiscrimination, Flag::ProbableWrongKey]
    );
    // Totals 3,2,2,1: variance 2/3; item variances .25+1/3+.25+1/3 = 7/6;
    // alpha = 4/3 (1 - (7/6)/(2/3)) = -1: the questions pull apart.
    close(r.test.alpha, -1.0, "alpha");
    close(r.test.error_ratio, 2f64.sqrt(), "error ratio");
}

#[test]
fn too_few_students_leave_the_figures_blank() {
    let (items, rows) = data_set_a();
    let none = run(&items, &[]);
    assert_eq!(none.test.n, 0);
    assert_eq!(
        (none.test.mean, none.test.sd, none.test.alpha),
        (None, None, None)
    );
    assert!(none
        .items
        .iter()
        .all(|i| i.facility.is_none() && i.flags.is_empty()));
    let one = run(&items, &rows[..1]);
    close(one.test.mean, 3.0, "mean of one");
    assert_eq!((one.test.sd, one.test.alpha), (None, None));
    assert!(one.items.iter().all(|i| i.discrimination.is_none()));
}

#[test]
fn a_question_not_presented_to_everybody_counts_only_those_who_had_it() {
    let (items, mut rows) = data_set_a();
    rows[3][2] = None;
    let r = run(&items, &rows);
    assert_eq!(r.items[2].n, 3);
    // s1..s3 on q3: 1, 0, 0.
    close(r.items[2].facility, 1.0 / 3.0, "facility");
    assert_eq!(r.test.alpha, None, "students answered different questions");
}

#[test]
fn stored_results_are_read_through_is_correct() {
    let (items, rows) = data_set_a();
    let scores: Vec<Score> = rows
        .iter()
        .enumerate()
        .map(|(s, r)| score(&items, s, r))
        .collect();
    let from_scores = analyse_scores(&items, |visit| scores.iter().for_each(&mut *visit));
    assert_eq!(from_scores, run(&items, &rows));
}

/// One option as a single answer, several as a multiple answer.
fn answer_of(ids: &[AnswerId]) -> Option<crate::model::Answer> {
    match ids {
        [] => None,
        [one] => Some(one.clone().into()),
        many => Some(crate::model::Answer::Many(many.to_vec())),
    }
}

fn score(items: &[Item], student: usize, r: &Row) -> Score {
    // Stored in another order than the test's: matched by question id.
    let questions = items
        .iter()
        .zip(r)
        .rev()
        .map(|(it, cell)| {
            let (earned, chosen) = cell.as_ref().unwrap();
            QuestionResult {
                question_id: it.question_id.clone(),
                question: String::new(),
                given: answer_of(chosen),
                given_text: None,
                correct: answer_of(&it.key),
                correct_text: None,
                is_correct: *earned == 1.0,
                earned: (*earned != 1.0 && *earned != 0.0).then_some(*earned),
                points: 1,
                penalty: None,
            }
        })
        .collect();
    Score {
        subject: SubjectName::parse("os").unwrap(),
        test_id: TestId::parse("t1").unwrap(),
        student_id: StudentId::parse(format!("s{student}")).unwrap(),
        title: "T".into(),
        points: Default::default(),
        total: 0,
        percentage: 0.0,
        grade: 0,
        max_grade: 5,
        revision: 0,
        scored_at: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
        questions,
        previous: None,
        late: None,
    }
}

/// Compares a JSON value with the reference: numbers within [`TOL`], the rest exactly.
fn same_json(actual: &serde_json::Value, expected: &serde_json::Value, path: &str) {
    use serde_json::Value;
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!((a - e).abs() < TOL, "{path}: {a} != {e}");
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{path}: lengths");
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                same_json(a, e, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(e), "{path}: fields");
            for (k, e) in e {
                same_json(&a[k], e, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

#[test]
fn matches_the_python_reference() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/data/item_analysis/expected.json")).unwrap();
    let sets = doc.as_object().unwrap();
    assert_eq!(sets.len(), 2, "the full and the drawn data set");
    for (name, set) in sets {
        let input = &set["input"];
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        let mut points = vec![];
        let items: Vec<Item> = input["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| {
                points.push(it["points"].as_f64().unwrap());
                let options = strings(&it["options"]);
                let key = strings(&it["key"]);
                let options: Vec<&str> = options.iter().map(String::as_str).collect();
                let key: Vec<&str> = key.iter().map(String::as_str).collect();
                item(it["questionId"].as_str().unwrap(), &options, &key)
            })
            .collect();
        let rows: Vec<Row> = input["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|at| {
                at["responses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        (!r.is_null()).then(|| {
                            let chosen = strings(&r["chosen"]).iter().map(|c| a(c)).collect();
                            (r["earned"].as_f64().unwrap(), chosen)
                        })
                    })
                    .collect()
            })
            .collect();
        let result = analyse(&items, |visit| {
            for r in &rows {
                let attempt: Vec<Option<Response>> = r
                    .iter()
                    .zip(&points)
                    .map(|(c, p)| {
                        c.as_ref().map(|(earned, chosen)| Response {
                            earned: *earned,
                            points: *p,
                            chosen,
                        })
                    })
                    .collect();
                visit(&attempt);
            }
        });
        let actual = serde_json::to_value(&result).unwrap();
        same_json(&actual, &set["expected"], name);
    }
}

#[test]
fn without_the_questions_the_items_come_from_the_results() {
    let (items, rows) = data_set_a();
    let scores: Vec<Score> = rows
        .iter()
        .enumerate()
        .map(|(s, r)| score(&items, s, r))
        .collect();
    let each = |visit: &mut dyn FnMut(&Score)| scores.iter().for_each(&mut *visit);
    let derived = items_from_scores(each);
    // Stored in reverse order; the options are the answers seen or keyed, sorted
    // (nobody chose q1's c).
    let ids: Vec<&str> = derived.iter().map(|i| i.question_id.as_str()).collect();
    assert_eq!(ids, ["3", "2", "1"]);
    assert_eq!(derived[2].options, [a("a"), a("b")]);
    assert_eq!(derived[2].key, [a("a")]);
    let analysis = analyse_scores(&derived, each);
    close(analysis.items[2].facility, 0.75, "q1 facility");
    close(analysis.test.alpha, 0.75, "alpha");
}

#[test]
fn the_worked_example_of_docs_scorer_md_renders_as_shown_there() {
    use crate::scoring::items_render::{item_analysis_csv, test_statistics_csv};
    let (items, rows) = data_set_a();
    let r = run(&items, &rows);
    let (s, t) = (
        SubjectName::parse("os").unwrap(),
        TestId::parse("t1").unwrap(),
    );
    let mut out = vec![];
    item_analysis_csv([(&s, &t, &r)], &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "subject,test,questionId,n,facility,discrimination,key,answers,unanswered,flags\n\
         os,t1,1,4,0.750,0.522,a,\"a 3 (2), b 1 (0), c 0 (0)\",0,\n\
         os,t1,2,4,0.500,0.707,b,\"a 2 (0), b 2 (2)\",0,\n\
         os,t1,3,4,0.250,0.522,c,\"a 1 (1), b 2 (0), c 1 (1)\",0,\n"
    );
    let mut out = vec![];
    test_statistics_csv([(&s, &t, &r)], &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "subject,test,n,maxPoints,mean,sd,alpha,errorRatio,standardError\n\
         os,t1,4,3.000,1.500,1.291,0.750,0.500,0.645\n"
    );
}

/// The report's attachment called `name`, decoded.
fn attachment(raw: &[u8], name: &str) -> String {
    let parsed = crate::scoring::inspect::parse(raw);
    let part = parsed
        .parts
        .iter()
        .find(|p| {
            p.header("content-disposition")
                .is_some_and(|d| d.contains(&format!("\"{name}\"")))
        })
        .unwrap_or_else(|| panic!("no {name} attached"));
    part.text()
}

#[tokio::test]
async fn the_report_attaches_the_item_analysis_and_test_statistics() {
    use crate::scoring::inspect;
    use crate::scoring::sample;
    use crate::scoring::tests::{after_deadline, assert_balanced, pass, seeded};
    use crate::testing::MemoryMailer;
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    let (_, raw) = mailer.sent().pop().unwrap();

    let items = attachment(&raw, "item-analysis.csv");
    let lines: Vec<&str> = items.lines().collect();
    assert!(
        lines[0].starts_with("subject,test,questionId,n,facility,discrimination,"),
        "{items}"
    );
    assert_eq!(
        lines.len(),
        1 + 2 * 4,
        "a row per question of each test:\n{items}"
    );
    // Facility of every question, counted from the sample's own answers (students
    // who submitted; a question is right when the answer is the key's).
    for j in 0..2 {
        for q in 0..4 {
            let takers: Vec<usize> = (0..5).filter(|i| sample::submits(*i, j)).collect();
            let right = takers
                .iter()
                .filter(|i| sample::answer_of(**i, j, q) == Some(sample::key_of(q)))
                .count();
            let prefix = format!(
                "{},{},{},{},{:.3},",
                sample::subject_of(j),
                sample::test_of(j),
                q + 1,
                takers.len(),
                right as f64 / takers.len() as f64
            );
            assert!(
                lines.iter().any(|l| l.starts_with(&prefix)),
                "{prefix}\n{items}"
            );
        }
    }

    let stats = attachment(&raw, "test-statistics.csv");
    let lines: Vec<&str> = stats.lines().collect();
    assert_eq!(
        lines[0],
        "subject,test,n,maxPoints,mean,sd,alpha,errorRatio,standardError"
    );
    assert_eq!(lines.len(), 3, "{stats}");
    let html = inspect::parse(&raw).part("text/html").unwrap().text();
    assert_balanced(&html);
    assert_eq!(html.matches(">Item analysis</p>").count(), 2);
}
