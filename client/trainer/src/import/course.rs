//! A [`Bank`] as the three files of a test folder (`questions.json`,
//! `questionsKey.json`, `test.json`) and back. The key shapes are the course
//! format's: `"answer": "b"` (single), `"answer": ["a", "c"]` (multiple) and, for
//! weights, `"answer"` the options of positive weight with `"weights": {"a": 0.5}`.

use super::model::{answer_id, Bank, Item, Key};
use anyhow::{anyhow, bail, Context};
use serde_json::{json, Map, Value};

/// The JSON of `questions.json` and `questionsKey.json` for a bank (ids 1, 2, ... and
/// a, b, ...).
pub fn to_json(bank: &Bank) -> (Value, Value) {
    let mut questions = Vec::new();
    let mut key = Vec::new();
    for (n, item) in bank.questions.iter().enumerate() {
        let id = (n + 1).to_string();
        let answers: Vec<Value> = item
            .options
            .iter()
            .enumerate()
            .map(|(i, body)| json!({"answerId": answer_id(i), "answerBody": body}))
            .collect();
        questions.push(json!({"questionId": id, "question": item.text, "answers": answers}));
        let entry = match &item.key {
            Key::Single(i) => json!({"questionId": id, "answer": answer_id(*i)}),
            Key::Multiple(right) => {
                let ids: Vec<String> = right.iter().map(|&i| answer_id(i)).collect();
                json!({"questionId": id, "answer": ids})
            }
            Key::Weighted(weights) => {
                let mut map = Map::new();
                let mut right = Vec::new();
                for (i, w) in weights.iter().enumerate() {
                    let Some(w) = w else { continue };
                    if !w.starts_with('-') {
                        right.push(answer_id(i));
                    }
                    // shift_decimal gave a plain decimal, which JSON reads as a number.
                    let number = serde_json::from_str::<Value>(w).unwrap_or(Value::Null);
                    map.insert(answer_id(i), number);
                }
                json!({"questionId": id, "answer": right, "weights": map})
            }
        };
        key.push(entry);
    }
    (Value::Array(questions), Value::Array(key))
}

/// A test folder's questions and key read back into a bank, with the question ids;
/// the shapes are checked only as far as export needs them (`trainer validate`
/// checks the rest).
pub fn from_json(questions: &Value, key: &Value) -> anyhow::Result<(Bank, Vec<String>)> {
    let questions = questions
        .as_array()
        .ok_or_else(|| anyhow!("questions.json is not an array"))?;
    let key = key
        .as_array()
        .ok_or_else(|| anyhow!("questionsKey.json is not an array"))?;
    let mut bank = Bank { questions: vec![] };
    let mut names = Vec::new();
    for (n, q) in questions.iter().enumerate() {
        let id = str_field(q, "questionId").with_context(|| format!("questions.json [{n}]"))?;
        let text = str_field(q, "question").with_context(|| format!("question {id}"))?;
        let mut ids = Vec::new();
        let mut options = Vec::new();
        for a in q
            .get("answers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            ids.push(str_field(a, "answerId").with_context(|| format!("question {id}"))?);
            options.push(str_field(a, "answerBody").with_context(|| format!("question {id}"))?);
        }
        let entry = key
            .iter()
            .find(|e| e.get("questionId").and_then(Value::as_str) == Some(id.as_str()))
            .ok_or_else(|| anyhow!("question {id} has no key entry"))?;
        let key = key_of(entry, &ids).with_context(|| format!("key of question {id}"))?;
        bank.questions.push(Item { text, options, key });
        names.push(id);
    }
    Ok((bank, names))
}

fn str_field(v: &Value, name: &str) -> anyhow::Result<String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("\"{name}\" is missing or not a string"))
}

fn key_of(entry: &Value, ids: &[String]) -> anyhow::Result<Key> {
    let index = |id: &str| {
        ids.iter()
            .position(|x| x == id)
            .ok_or_else(|| anyhow!("\"{id}\" is not an option"))
    };
    if let Some(weights) = entry.get("weights") {
        let weights = weights
            .as_object()
            .ok_or_else(|| anyhow!("\"weights\" is not an object"))?;
        let mut out = vec![None; ids.len()];
        for (id, w) in weights {
            if !w.is_number() {
                bail!("the weight of \"{id}\" is not a number");
            }
            out[index(id)?] = (w.as_f64() != Some(0.0)).then(|| w.to_string());
        }
        return Ok(Key::Weighted(out));
    }
    match entry.get("answer") {
        Some(Value::String(id)) => Ok(Key::Single(index(id)?)),
        Some(Value::Array(list)) => {
            let mut right = Vec::new();
            for v in list {
                let id = v
                    .as_str()
                    .ok_or_else(|| anyhow!("an answer is not a string"))?;
                right.push(index(id)?);
            }
            right.sort_unstable();
            Ok(Key::Multiple(right))
        }
        _ => bail!("\"answer\" is missing or not a string or array"),
    }
}
