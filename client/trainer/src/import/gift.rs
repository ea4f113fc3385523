//! Moodle's GIFT format, the multiple-choice part of it: `=` right, `~` wrong,
//! `~%50%` weighted options, `::title::`, `// comments`, `$CATEGORY` lines and the
//! escapes `\~ \= \# \{ \} \: \\ \n`. Every other GIFT question type is reported with
//! its line and column, because a test that silently lost a question is worse than
//! an import that refuses.

use super::model::{shift_decimal, Bank, Item, Key, SourceError, SourceErrors};

/// One character of a question block and where it was in the file.
#[derive(Debug, Clone, Copy)]
struct At {
    c: char,
    line: usize,
    column: usize,
    /// Written as `\c`: never a marker.
    escaped: bool,
}

/// What a parse found besides the questions: things dropped on purpose.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Notes(pub Vec<SourceError>);

/// Parses a GIFT file; every error at once, nothing half-read.
pub fn parse(text: &str) -> Result<(Bank, Notes), SourceErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut errors = Vec::new();
    let mut notes = Notes::default();
    let mut questions = Vec::new();
    for block in blocks(text) {
        match parse_block(&block, &mut notes) {
            Ok(item) => questions.push(item),
            Err(e) => errors.push(e),
        }
    }
    if questions.is_empty() && errors.is_empty() {
        errors.push(SourceError {
            line: 1,
            column: 1,
            message: "no questions found".to_owned(),
        });
    }
    if errors.is_empty() {
        Ok((Bank { questions }, notes))
    } else {
        Err(SourceErrors(errors))
    }
}

/// The question blocks of a file: lines between blank lines, without comment and
/// `$CATEGORY` lines, as positioned characters with escapes resolved.
fn blocks(text: &str) -> Vec<Vec<At>> {
    let mut out = Vec::new();
    let mut current: Vec<At> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") || trimmed.starts_with("$CATEGORY") {
            continue;
        }
        if trimmed.is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            current.push(At {
                c: '\n',
                line: n + 1,
                column: line.chars().count() + 1,
                escaped: false,
            });
        }
        let mut chars = line.chars().enumerate().peekable();
        while let Some((i, c)) = chars.next() {
            let at = |c, escaped| At {
                c,
                line: n + 1,
                column: i + 1,
                escaped,
            };
            if c == '\\' {
                match chars.peek().map(|&(_, n)| n) {
                    Some(e @ ('~' | '=' | '#' | '{' | '}' | ':' | '\\')) => {
                        chars.next();
                        current.push(at(e, true));
                    }
                    Some('n') => {
                        chars.next();
                        current.push(at('\n', true));
                    }
                    _ => current.push(at(c, true)),
                }
            } else {
                current.push(at(c, false));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn error(at: &At, message: impl Into<String>) -> SourceError {
    SourceError {
        line: at.line,
        column: at.column,
        message: message.into(),
    }
}

fn text_of(chars: &[At]) -> String {
    chars
        .iter()
        .map(|a| a.c)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn is(a: &At, c: char) -> bool {
    a.c == c && !a.escaped
}

fn parse_block(block: &[At], notes: &mut Notes) -> Result<Item, SourceError> {
    let first = block[0];
    let mut rest = skip_ws(block);
    // `::title::` names the question in Moodle; the course format has no place for it.
    if rest.len() >= 2 && is(&rest[0], ':') && is(&rest[1], ':') {
        let close = (2..rest.len().saturating_sub(1))
            .find(|&i| is(&rest[i], ':') && is(&rest[i + 1], ':'))
            .ok_or_else(|| error(&rest[0], "the title is not closed with ::"))?;
        rest = skip_ws(&rest[close + 2..]);
    }
    if let Some(format) = text_format(rest) {
        if !format.eq_ignore_ascii_case("[html]") {
            rest = skip_ws(&rest[format.chars().count()..]);
        } else {
            return Err(error(
                &rest[0],
                "[html] question text is not supported (use plain text)",
            ));
        }
    }
    let open = rest.iter().position(|a| is(a, '{')).ok_or_else(|| {
        error(
            &first,
            "no answers in { }: a description without a question is not supported",
        )
    })?;
    let close = rest[open..]
        .iter()
        .position(|a| is(a, '}'))
        .map(|i| open + i)
        .ok_or_else(|| error(&rest[open], "the answers' { is not closed with }"))?;
    let text = text_of(&rest[..open]);
    if text.is_empty() {
        return Err(error(
            &rest[open],
            "the question has no text before its answers",
        ));
    }
    if let Some(after) = rest[close + 1..].iter().find(|a| !a.c.is_whitespace()) {
        return Err(error(
            after,
            "text after the answers (a missing-word question) is not supported; put the answers at the end",
        ));
    }
    let (options, key) = parse_answers(&rest[open], &rest[open + 1..close], notes)?;
    Ok(Item { text, options, key })
}

fn skip_ws(chars: &[At]) -> &[At] {
    let start = chars
        .iter()
        .position(|a| !a.c.is_whitespace())
        .unwrap_or(chars.len());
    &chars[start..]
}

/// `[plain]`, `[moodle]`, `[markdown]` or `[html]` at the start of the question text.
fn text_format(chars: &[At]) -> Option<String> {
    if !chars.first().is_some_and(|a| is(a, '[')) {
        return None;
    }
    let end = chars.iter().take(12).position(|a| is(a, ']'))?;
    let word: String = chars[..=end].iter().map(|a| a.c).collect();
    ["[plain]", "[moodle]", "[markdown]", "[html]"]
        .contains(&word.to_ascii_lowercase().as_str())
        .then_some(word)
}

/// One `=`/`~` answer as written.
struct Raw {
    right: bool,
    percent: Option<(String, At)>,
    text: String,
}

/// The options and key inside `{ }`; `open` is the `{`, for errors about the whole.
fn parse_answers(
    open: &At,
    inner: &[At],
    notes: &mut Notes,
) -> Result<(Vec<String>, Key), SourceError> {
    let body = skip_ws(inner);
    let Some(head) = body.first() else {
        return Err(error(open, "an essay question ({}) is not supported"));
    };
    if is(head, '#') {
        return Err(error(head, "a numeric question ({#...}) is not supported"));
    }
    let word: String = body
        .iter()
        .take_while(|a| !is(a, '#'))
        .map(|a| a.c)
        .collect::<String>()
        .trim()
        .to_ascii_uppercase();
    if ["T", "F", "TRUE", "FALSE"].contains(&word.as_str()) {
        return Err(error(
            head,
            "a true/false question is not supported; write it as {=True ~False}",
        ));
    }
    if !(is(head, '=') || is(head, '~')) {
        return Err(error(
            head,
            "expected = (right) or ~ (wrong) before each answer",
        ));
    }
    if let Some(w) = inner.windows(2).find(|w| is(&w[0], '-') && is(&w[1], '>')) {
        return Err(error(&w[0], "a matching question (->) is not supported"));
    }
    let raws = split_answers(body, notes)?;
    if !raws.iter().any(|r| !r.right) {
        return Err(error(
            open,
            "a short-answer question (only = answers) is not supported; add wrong options with ~",
        ));
    }
    let options = raws.iter().map(|r| r.text.clone()).collect();
    Ok((options, key_of(open, &raws)?))
}

/// Splits `=a ~b#feedback ~%50%c` into answers; feedback is dropped with a note.
fn split_answers(body: &[At], notes: &mut Notes) -> Result<Vec<Raw>, SourceError> {
    let mut raws: Vec<Raw> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let marker = body[i];
        i += 1;
        let mut percent = None;
        if body.get(i).is_some_and(|a| is(a, '%')) {
            let end = body[i + 1..]
                .iter()
                .position(|a| is(a, '%'))
                .map(|e| i + 1 + e)
                .ok_or_else(|| error(&body[i], "the weight is not closed with %"))?;
            let raw: String = body[i + 1..end].iter().map(|a| a.c).collect();
            percent = Some((raw, body[i]));
            i = end + 1;
        }
        let start = i;
        while i < body.len() && !(is(&body[i], '=') || is(&body[i], '~') || is(&body[i], '#')) {
            i += 1;
        }
        let text = text_of(&body[start..i]);
        if text.is_empty() {
            return Err(error(&marker, "the answer is empty"));
        }
        if i < body.len() && is(&body[i], '#') {
            notes.0.push(error(
                &body[i],
                "feedback is not kept (the course format has no place for it)",
            ));
            while i < body.len() && !(is(&body[i], '=') || is(&body[i], '~')) {
                i += 1;
            }
        }
        raws.push(Raw {
            right: marker.c == '=',
            percent,
            text,
        });
    }
    Ok(raws)
}

/// The key: weighted when any answer has a `%n%`, else single or multiple by the
/// number of `=` answers.
fn key_of(open: &At, raws: &[Raw]) -> Result<Key, SourceError> {
    if raws.iter().any(|r| r.percent.is_some()) {
        let mut weights = Vec::new();
        for r in raws {
            let weight = match &r.percent {
                Some((raw, at)) => {
                    let w = shift_decimal(raw, -2)
                        .ok_or_else(|| error(at, format!("the weight %{raw}% is not a number")))?;
                    let value: f64 = w.parse().unwrap_or(f64::NAN);
                    if !(-1.0..=1.0).contains(&value) {
                        return Err(error(
                            at,
                            format!("the weight %{raw}% is outside -100..100"),
                        ));
                    }
                    (value != 0.0).then_some(w)
                }
                None if r.right => Some("1".to_owned()),
                None => None,
            };
            weights.push(weight);
        }
        let positive = weights.iter().flatten().any(|w| !w.starts_with('-'));
        if !positive {
            return Err(error(open, "no answer has a positive weight"));
        }
        return Ok(Key::Weighted(weights));
    }
    let right: Vec<usize> = (0..raws.len()).filter(|&i| raws[i].right).collect();
    match right.as_slice() {
        [] => Err(error(open, "no answer is marked right with =")),
        [one] => Ok(Key::Single(*one)),
        _ => Ok(Key::Multiple(right)),
    }
}

/// Writes a test as GIFT; `names` are the question ids, written as titles.
pub fn write(bank: &Bank, names: &[String], heading: &str) -> String {
    let mut out = String::new();
    for line in heading.lines() {
        out.push_str(&format!("// {line}\n"));
    }
    for (n, item) in bank.questions.iter().enumerate() {
        out.push('\n');
        if let Some(name) = names.get(n) {
            out.push_str(&format!("::{}::", escape(name)));
        }
        out.push_str(&escape(&item.text));
        out.push_str(" {\n");
        for (i, option) in item.options.iter().enumerate() {
            let marker = match &item.key {
                Key::Single(right) if *right == i => "=".to_owned(),
                Key::Multiple(right) if right.contains(&i) => "=".to_owned(),
                Key::Weighted(weights) => match weights.get(i).cloned().flatten() {
                    Some(w) => format!("~%{}%", shift_decimal(&w, 2).unwrap_or(w)),
                    None => "~".to_owned(),
                },
                _ => "~".to_owned(),
            };
            out.push_str(&format!("  {marker}{}\n", escape(option)));
        }
        out.push_str("}\n");
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '~' | '=' | '#' | '{' | '}' | ':' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
