//! The assessment fields of a course folder: points and pools of questions,
//! multiple answers and weights of key entries, scoring, negative marking, shuffle
//! and draw of `test.json`. Each is checked where it is written, with a message
//! that says what would be right.

use super::files::{did_you_mean, FileCheck};
use crate::ids::AnswerId;
use crate::layout;
use crate::model::{Answer, Question, Scoring, TestRules};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// `"points"` of a question: a whole number from 1 (1 when left out).
pub(super) fn points(c: &mut FileCheck<'_>, obj: &Map<String, Value>, path: &str) -> u32 {
    let Some(v) = obj.get("points") else {
        return 1;
    };
    match v.as_u64().map(u32::try_from) {
        Some(Ok(n)) if n >= 1 => n,
        _ => {
            c.report(
                &format!("{path}.points"),
                format!("\"points\" must be a whole number from 1 (found {v}); leave it out for 1 point"),
            );
            1
        }
    }
}

/// `"pool"` of a question: a non-empty name.
pub(super) fn pool(c: &mut FileCheck<'_>, obj: &Map<String, Value>, path: &str) -> Option<String> {
    match obj.get("pool")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => {
            c.report(
                &format!("{path}.pool"),
                "\"pool\" must be a non-empty name such as \"A\"",
            );
            None
        }
    }
}

/// `"answer"` of a key entry: an option id, or a non-empty list of different ones.
pub(super) fn key_answer(
    c: &mut FileCheck<'_>,
    obj: &Map<String, Value>,
    path: &str,
) -> Option<Answer> {
    let at = format!("{path}.answer");
    match obj.get("answer") {
        Some(Value::Array(items)) => {
            if items.is_empty() {
                c.report(
                    &at,
                    "the list of correct answers is empty; list at least one option",
                );
                return None;
            }
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let parsed = item.as_str().map(|s| AnswerId::parse(s.to_owned()));
                match parsed {
                    Some(Ok(a)) if out.contains(&a) => c.report(
                        &format!("{at}[{i}]"),
                        format!("answer \"{a}\" is listed twice"),
                    ),
                    Some(Ok(a)) => out.push(a),
                    Some(Err(e)) => c.report(&format!("{at}[{i}]"), e.to_string()),
                    None => c.report(
                        &format!("{at}[{i}]"),
                        "each correct answer must be a string such as \"a\"",
                    ),
                }
            }
            (out.len() == items.len()).then_some(Answer::Many(out))
        }
        Some(Value::String(_)) | None => {
            c.id(obj, path, "answer", AnswerId::parse).map(Answer::One)
        }
        Some(_) => {
            c.report(
                &at,
                "\"answer\" must be an option such as \"a\", or a list such as [\"a\", \"c\"] for several correct answers",
            );
            None
        }
    }
}

/// The options of a question, for messages.
fn options(q: &Question) -> String {
    let ids: Vec<&str> = q.answers.iter().map(|a| a.answer_id.as_str()).collect();
    ids.join(", ")
}

/// Reports an option id that is not one of the question's, with the one it looks like.
pub(super) fn check_option(c: &mut FileCheck<'_>, at: &str, q: &Question, a: &AnswerId) {
    if q.has_answer(a) {
        return;
    }
    let known: Vec<&str> = q.answers.iter().map(|o| o.answer_id.as_str()).collect();
    let hint = did_you_mean(a.as_str(), &known)
        .map(|k| format!("; did you mean \"{k}\"?"))
        .unwrap_or_default();
    c.report(
        at,
        format!(
            "answer \"{a}\" is not an option of question \"{}\" (options: {}){hint}",
            q.question_id,
            options(q)
        ),
    );
}

/// `"weights"` of a key entry: option -> fraction of the question's points in [-1, 1].
pub(super) fn weights(
    c: &mut FileCheck<'_>,
    obj: &Map<String, Value>,
    path: &str,
    question: Option<&Question>,
) -> BTreeMap<AnswerId, f64> {
    let mut out = BTreeMap::new();
    let Some(v) = obj.get("weights") else {
        return out;
    };
    let at = format!("{path}.weights");
    let Some(map) = v.as_object() else {
        c.report(
            &at,
            "\"weights\" must be an object such as {\"a\": 0.5, \"c\": 0.5, \"b\": -0.5}",
        );
        return out;
    };
    for (name, w) in map {
        let wat = format!("{at}.{name}");
        let id = match AnswerId::parse(name.clone()) {
            Ok(id) => id,
            Err(e) => {
                c.report(&wat, e.to_string());
                continue;
            }
        };
        if let Some(q) = question {
            check_option(c, &wat, q, &id);
        }
        match w.as_f64() {
            Some(w) if (-1.0..=1.0).contains(&w) => {
                out.insert(id, w);
            }
            _ => c.report(
                &wat,
                format!("the weight of \"{id}\" must be a number from -1 to 1 (a fraction of the question's points), not {w}"),
            ),
        }
    }
    if !out.is_empty() && out.values().all(|w| *w <= 0.0) {
        c.report(
            &at,
            "no weight is above 0, so nobody could earn a point for this question",
        );
    }
    out
}

/// The rule fields of `test.json`; `false` when `name` is not one of them.
pub(super) fn setting(c: &mut FileCheck<'_>, rules: &mut TestRules, name: &str, v: &Value) -> bool {
    let path = format!(".{name}");
    match name {
        "scoring" => match v.as_str() {
            Some("exact") => rules.scoring = Scoring::Exact,
            Some("partial") => rules.scoring = Scoring::Partial,
            other => {
                let hint = other
                    .and_then(|s| did_you_mean(s, &["exact", "partial"]))
                    .map(|k| format!("; did you mean \"{k}\"?"))
                    .unwrap_or_default();
                c.report(
                    &path,
                    format!("\"scoring\" must be \"exact\" or \"partial\", not {v}{hint}"),
                )
            }
        },
        "wrongAnswerPenalty" => match v.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => {
                rules.wrong_answer_penalty = (p > 0.0).then_some(p)
            }
            _ => c.report(
                &path,
                format!("\"wrongAnswerPenalty\" must be a number from 0 to 1 (a fraction of the question's points, such as 0.25), not {v}"),
            ),
        },
        "shuffle" => match v {
            Value::Bool(b) => rules.shuffle = *b,
            _ => c.report(&path, "\"shuffle\" must be true or false"),
        },
        "draw" => draw(c, rules, &path, v),
        _ => return false,
    }
    true
}

fn draw(c: &mut FileCheck<'_>, rules: &mut TestRules, path: &str, v: &Value) {
    let Some(map) = v.as_object() else {
        c.report(path, "\"draw\" must be an object such as {\"A\": 2}: how many questions of each pool every student gets");
        return;
    };
    for (pool, n) in map {
        match n.as_u64().map(u32::try_from) {
            Some(Ok(n)) if n >= 1 => {
                rules.draw.insert(pool.clone(), n);
            }
            _ => c.report(
                &format!("{path}.{pool}"),
                format!("the draw from pool \"{pool}\" must be a whole number from 1, not {n}"),
            ),
        }
    }
}

/// A draw against the pools of the questions: every pool drawn from exists and
/// holds at least as many questions as are drawn.
pub(super) fn check_draw(c: &mut FileCheck<'_>, rules: &TestRules, questions: &[Question]) {
    let mut sizes: BTreeMap<&str, u32> = BTreeMap::new();
    for q in questions {
        if let Some(p) = &q.pool {
            *sizes.entry(p.as_str()).or_default() += 1;
        }
    }
    let pools: Vec<&str> = sizes.keys().copied().collect();
    for (pool, n) in &rules.draw {
        let at = format!(".draw.{pool}");
        match sizes.get(pool.as_str()) {
            None => {
                let hint = did_you_mean(pool, &pools)
                    .map(|k| format!("; did you mean \"{k}\"?"))
                    .unwrap_or_default();
                let known = if pools.is_empty() {
                    format!("no question of {} has a \"pool\"", layout::QUESTIONS)
                } else {
                    format!("pools: {}", pools.join(", "))
                };
                c.report(
                    &at,
                    format!("pool \"{pool}\" has no questions ({known}){hint}"),
                );
            }
            Some(size) if n > size => c.report(
                &at,
                format!("pool \"{pool}\" has {size} question(s); {n} cannot be drawn from it"),
            ),
            Some(_) => {}
        }
    }
}

/// What every student's test is worth, when some question is not worth 1 point:
/// questions without a pool, whole pools not drawn from, and `n` x the points of a
/// drawn pool whose questions are all worth the same. `None` when every question
/// is worth 1 (the count says it) or draws of one pool may differ in points.
pub(super) fn total_points(questions: &[Question], rules: &TestRules) -> Option<u32> {
    if questions.iter().all(|q| q.points == 1) {
        return None;
    }
    let mut total = 0u32;
    let mut pools: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for q in questions {
        match q.pool.as_deref().filter(|p| rules.draw.contains_key(*p)) {
            Some(pool) => {
                pools.entry(pool).or_default().insert(q.points);
            }
            None => total = total.saturating_add(q.points),
        }
    }
    for (pool, points) in pools {
        let [each] = points.into_iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        total = total.saturating_add(each.saturating_mul(rules.draw[pool]));
    }
    Some(total)
}

/// Marks the questions the key answers with a list as multiple-answer.
pub(super) fn mark_multiple(questions: &mut [Question], key: &[crate::model::KeyEntry]) {
    let many: BTreeSet<_> = key
        .iter()
        .filter(|k| k.answer.is_many())
        .map(|k| &k.question_id)
        .collect();
    for q in questions {
        q.multiple = many.contains(&q.question_id);
    }
}

#[cfg(test)]
mod tests {
    use crate::course::fixtures::{course, TZ};
    use crate::course::{parse, CourseFiles};
    use crate::model::{Answer, Scoring};

    const QUESTIONS: &str = r#"[
  {"questionId": "1", "question": "One?", "points": 2, "pool": "A",
   "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}, {"answerId": "c", "answerBody": "z"}]},
  {"questionId": "2", "question": "Two?", "pool": "A",
   "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}, {"answerId": "c", "answerBody": "z"}]},
  {"questionId": "3", "question": "Three?",
   "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}]}
]"#;
    const KEY: &str = r#"[
  {"questionId": "1", "answer": ["a", "c"]},
  {"questionId": "2", "answer": ["b"], "weights": {"b": 1, "a": -0.5}},
  {"questionId": "3", "answer": "a"}
]"#;
    const SETTINGS: &str =
        r#"{"scoring": "partial", "wrongAnswerPenalty": 0.25, "shuffle": true, "draw": {"A": 1}}"#;

    fn depth(questions: &str, key: &str, settings: &str) -> CourseFiles {
        let mut files = course();
        files.insert("subjects/os/t1/questions.json", questions);
        files.insert("subjects/os/t1/questionsKey.json", key);
        files.insert("subjects/os/t1/test.json", settings);
        files
    }

    /// The problems of a course, one line each.
    fn problems(files: &CourseFiles) -> Vec<String> {
        parse(files, TZ)
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn points_pools_lists_weights_and_rules_are_read() {
        let course = parse(&depth(QUESTIONS, KEY, SETTINGS), TZ).unwrap();
        let t = &course.tests[0];
        assert_eq!(t.questions[0].points, 2);
        assert_eq!(t.questions[1].points, 1);
        assert_eq!(t.questions[0].pool.as_deref(), Some("A"));
        let multiple: Vec<bool> = t.questions.iter().map(|q| q.multiple).collect();
        assert_eq!(multiple, [true, true, false]);
        assert!(matches!(&t.key[0].answer, Answer::Many(l) if l.len() == 2));
        assert_eq!(t.key[1].weights.len(), 2);
        assert_eq!(t.rules.scoring, Scoring::Partial);
        assert_eq!(t.rules.wrong_answer_penalty, Some(0.25));
        assert!(t.rules.shuffle);
        assert_eq!(t.rules.draw.get("A"), Some(&1));
    }

    #[test]
    fn the_original_layout_has_default_rules_and_one_point_questions() {
        let course = parse(&course(), TZ).unwrap();
        let t = &course.tests[0];
        assert_eq!(t.rules, crate::model::TestRules::default());
        assert!(t
            .questions
            .iter()
            .all(|q| q.points == 1 && !q.multiple && q.pool.is_none()));
    }

    #[test]
    fn every_mistake_in_the_new_fields_is_reported_where_it_is() {
        let questions = QUESTIONS
            .replace(r#""points": 2"#, r#""points": 0"#)
            .replace(r#""pool": "A",
   "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}, {"answerId": "c", "answerBody": "z"}]},
  {"questionId": "3""#, r#""pool": "A", "pionts": 3,
   "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}, {"answerId": "c", "answerBody": "z"}]},
  {"questionId": "3""#);
        let key = r#"[
  {"questionId": "1", "answer": ["a", "d", "a"]},
  {"questionId": "2", "answer": ["b"], "weights": {"bb": 1, "a": 2}},
  {"questionId": "3", "answer": []}
]"#;
        let settings = r#"{"scoring": "partail", "wrongAnswerPenalty": 1.5, "shuffle": "yes", "draw": {"B": 1, "A": 0}}"#;
        assert_eq!(
            problems(&depth(&questions, key, settings)),
            [
                "subjects/os/t1/questions.json:2:53: [0].points: \"points\" must be a whole number from 1 (found 0); leave it out for 1 point",
                "subjects/os/t1/questions.json:4:66: [1].pionts: unknown field \"pionts\"; did you mean points?",
                "subjects/os/t1/questionsKey.json:2:44: [0].answer[2]: answer \"a\" is listed twice",
                "subjects/os/t1/questionsKey.json:3:66: [1].weights.a: the weight of \"a\" must be a number from -1 to 1 (a fraction of the question's points), not 2",
                "subjects/os/t1/questionsKey.json:4:33: [2].answer: the list of correct answers is empty; list at least one option",
                "subjects/os/t1/test.json:1:91: .draw.A: the draw from pool \"A\" must be a whole number from 1, not 0",
                "subjects/os/t1/test.json:1:13: .scoring: \"scoring\" must be \"exact\" or \"partial\", not \"partail\"; did you mean \"partial\"?",
                "subjects/os/t1/test.json:1:62: .shuffle: \"shuffle\" must be true or false",
                "subjects/os/t1/test.json:1:46: .wrongAnswerPenalty: \"wrongAnswerPenalty\" must be a number from 0 to 1 (a fraction of the question's points, such as 0.25), not 1.5",
            ]
        );
    }

    #[test]
    fn weights_naming_unknown_options_and_draws_from_unknown_pools_are_problems() {
        let key = KEY.replace(r#""b": 1, "a": -0.5"#, r#""bb": 1, "a": -0.5"#);
        let settings = r#"{"draw": {"a": 1}}"#;
        let no_gain = KEY.replace(r#""b": 1, "a": -0.5"#, r#""b": 0, "a": -0.5"#);
        assert_eq!(
            problems(&depth(QUESTIONS, &no_gain, "{}")),
            ["subjects/os/t1/questionsKey.json:3:51: [1].weights: no weight is above 0, so nobody could earn a point for this question"]
        );
        assert_eq!(
            problems(&depth(QUESTIONS, &key, settings)),
            [
                "subjects/os/t1/questionsKey.json:3:58: [1].weights.bb: answer \"bb\" is not an option of question \"2\" (options: a, b, c)",
                "subjects/os/t1/test.json:1:16: .draw.a: pool \"a\" has no questions (pools: A); did you mean \"A\"?",
            ]
        );
    }

    #[test]
    fn a_list_key_naming_an_unknown_option_and_a_draw_too_big_are_problems() {
        let key = KEY.replace(r#"["a", "c"]"#, r#"["a", "e"]"#);
        let settings = r#"{"draw": {"A": 3}}"#;
        assert_eq!(
            problems(&depth(QUESTIONS, &key, settings)),
            [
                "subjects/os/t1/questionsKey.json:2:39: [0].answer[1]: answer \"e\" is not an option of question \"1\" (options: a, b, c)",
                "subjects/os/t1/test.json:1:16: .draw.A: pool \"A\" has 2 question(s); 3 cannot be drawn from it",
            ]
        );
    }

    #[test]
    fn the_total_is_worked_out_when_points_differ_and_every_draw_adds_up_the_same() {
        use super::total_points;
        use crate::model::TestRules;
        let t = parse(&depth(QUESTIONS, KEY, SETTINGS), TZ).unwrap().tests[0].clone();
        // Pool A (questions 1 and 2) is worth 2 and 1: draws differ.
        assert_eq!(t.rules.points, None);
        let mut qs = t.questions.clone();
        qs[1].points = 2;
        // 1 of pool A (2 points) + question 3 (1 point).
        assert_eq!(total_points(&qs, &t.rules), Some(3));
        // Without a draw: every question, 2 + 2 + 1.
        assert_eq!(total_points(&qs, &TestRules::default()), Some(5));
        // One point everywhere: the count says it.
        let ones = parse(&course(), TZ).unwrap().tests[0].clone();
        assert_eq!(total_points(&ones.questions, &TestRules::default()), None);
    }
}
