//! The item analysis as the trainer reads it: `item-analysis.csv` and
//! `test-statistics.csv` (numbers with a dot and three decimals, blank when
//! undefined), a text table and an HTML table for the report and `trainer report`.

use super::email::escape;
use super::items::{ItemAnalysis, ItemStats};
use super::table::{self, Align};
use crate::ids::{SubjectName, TestId};
use std::fmt::Write;

/// One test's analysis with what it is about.
pub type Analysed<'a> = (&'a SubjectName, &'a TestId, &'a ItemAnalysis);

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.3}"))
}

fn shown(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// `a 16 (10), b 3 (0)`: how many chose each answer, of them in the top third.
fn answers(i: &ItemStats) -> String {
    let mut parts: Vec<String> = i
        .options
        .iter()
        .map(|c| {
            let other = if c.is_option { "" } else { "?" };
            format!("{}{other} {} ({})", c.answer_id, c.count, c.top_third)
        })
        .collect();
    if i.unanswered > 0 {
        parts.push(format!("none {}", i.unanswered));
    }
    parts.join(", ")
}

fn key(i: &ItemStats) -> String {
    i.key
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn flags(i: &ItemStats) -> String {
    i.flags
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `item-analysis.csv`: one row per question of every test.
pub fn item_analysis_csv<'a>(
    tests: impl IntoIterator<Item = Analysed<'a>>,
    out: impl std::io::Write,
) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "subject",
        "test",
        "questionId",
        "n",
        "facility",
        "discrimination",
        "key",
        "answers",
        "unanswered",
        "flags",
    ])?;
    for (subject, test, a) in tests {
        for i in &a.items {
            w.write_record([
                subject.to_string(),
                test.to_string(),
                i.question_id.to_string(),
                i.n.to_string(),
                num(i.facility),
                num(i.discrimination),
                key(i),
                answers(i),
                i.unanswered.to_string(),
                flags(i),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// `test-statistics.csv`: one row per test.
pub fn test_statistics_csv<'a>(
    tests: impl IntoIterator<Item = Analysed<'a>>,
    out: impl std::io::Write,
) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "subject",
        "test",
        "n",
        "maxPoints",
        "mean",
        "sd",
        "alpha",
        "errorRatio",
        "standardError",
    ])?;
    for (subject, test, a) in tests {
        let t = &a.test;
        w.write_record([
            subject.to_string(),
            test.to_string(),
            t.n.to_string(),
            format!("{:.3}", t.max_points),
            num(t.mean),
            num(t.sd),
            num(t.alpha),
            num(t.error_ratio),
            num(t.standard_error),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn summary(a: &ItemAnalysis) -> String {
    let t = &a.test;
    format!(
        "n {}, mean {} of {:.0} points, sd {}; alpha {}, error ratio {}, standard error {}",
        t.n,
        shown(t.mean),
        t.max_points,
        shown(t.sd),
        shown(t.alpha),
        shown(t.error_ratio),
        shown(t.standard_error)
    )
}

/// Facility as the trainer reads it: the percent of the question's points the
/// students given it earned (`-` when nobody was).
pub fn percent_correct(i: &ItemStats) -> String {
    i.facility
        .map_or_else(|| "-".to_owned(), |f| format!("{:.1}%", f * 100.0))
}

/// Every keyed option, `a, c`.
fn key_list(i: &ItemStats) -> String {
    i.key
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

const TEXT_LEGEND: &str =
    "  Correct: share of the points earned by the students given the question \
(hard below\n  20%, easy above 95%). Discrim.: correlation with the rest of the test (low below \
0.1).\n  probable-wrong-key: an option outside the key drew more of the top third (the best \
totals)\n  than the least chosen keyed option.\n";

/// The analysis as the report's one per-question table (aligned in display
/// columns, see [`table`]): percent correct, students, discrimination, key,
/// answer counts and flags.
pub fn text(out: &mut dyn Write, a: &ItemAnalysis) {
    let _ = writeln!(out, "Item analysis: {}", summary(a));
    if a.items.is_empty() {
        return;
    }
    let columns = [
        ("Question", Align::Left),
        ("Correct", Align::Right),
        ("Students", Align::Right),
        ("Discrim.", Align::Right),
        ("Key", Align::Left),
        ("Answers: count (top third)", Align::Left),
        ("Flags", Align::Left),
    ];
    let rows: Vec<Vec<String>> = a
        .items
        .iter()
        .map(|i| {
            vec![
                i.question_id.to_string(),
                percent_correct(i),
                i.n.to_string(),
                shown(i.discrimination),
                key_list(i),
                answers(i),
                flags(i),
            ]
        })
        .collect();
    let _ = out.write_str(&table::render("  ", &columns, &rows));
    let _ = out.write_str(TEXT_LEGEND);
}

const RED: &str = "#b42318";
const GREY: &str = "color:#666;font-size:12px;";
const TABLE: &str = "<table cellpadding=\"4\" cellspacing=\"0\" border=\"1\" \
                     style=\"border-collapse:collapse;border-color:#ccc;\">\n";

/// The analysis as HTML that reads on a phone: the test's figures in a small table,
/// then the report's one row per question with few columns: percent correct over
/// the students given it, discrimination, each answer's count kept on one line and
/// the answers wrapping between them, every keyed answer bold with a tick, flags
/// in red.
pub fn html(out: &mut dyn Write, a: &ItemAnalysis) {
    let t = &a.test;
    let _ = write!(
        out,
        "<p style=\"margin:12px 0 4px 0;\">Item analysis</p>\n{TABLE}\
         <tr><th align=\"left\">n</th><th align=\"left\">Mean (of {:.0})</th><th align=\"left\">SD</th>\
         <th align=\"left\">Alpha</th><th align=\"left\">Error ratio</th><th align=\"left\">Std. error</th></tr>\n\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n</table>\n",
        t.max_points,
        t.n,
        shown(t.mean),
        shown(t.sd),
        shown(t.alpha),
        shown(t.error_ratio),
        shown(t.standard_error)
    );
    if a.items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<div style=\"height:6px;\"></div>{TABLE}<tr><th align=\"left\">Question</th>\
         <th align=\"right\">Correct</th><th align=\"right\">Discrim&shy;ination</th>\
         <th align=\"left\">Answers: count (top third)</th></tr>"
    );
    for i in &a.items {
        let _ = writeln!(
            out,
            "<tr><td valign=\"top\">{}{}</td>\
             <td valign=\"top\" align=\"right\">{}<br><span style=\"{GREY}\">of&nbsp;{}</span></td>\
             <td valign=\"top\" align=\"right\">{}</td><td valign=\"top\">{}</td></tr>",
            escape(i.question_id.as_str()),
            flags_html(i),
            escape(&percent_correct(i)),
            i.n,
            shown(i.discrimination),
            answers_html(i)
        );
    }
    let _ = write!(
        out,
        "</table>\n<p style=\"{GREY}margin:4px 0 0 0;\">Correct: share of the question's points \
         earned by the students given it (&ldquo;of 10&rdquo;: ten were), flagged below 20% or \
         above 95%. Discrimination: \
         correlation with the rest of the test (flagged below 0.1). &#10003; marks each keyed \
         answer; a probable wrong key is an answer outside the key that the top third chose more \
         often than the least chosen keyed answer.</p>\n"
    );
}

fn flags_html(i: &ItemStats) -> String {
    i.flags
        .iter()
        .map(|f| {
            format!(
                "<br><span style=\"color:{RED};\">{}</span>",
                escape(f.label())
            )
        })
        .collect()
}

fn answers_html(i: &ItemStats) -> String {
    let mut cells: Vec<String> = i
        .options
        .iter()
        .map(|c| {
            let other = if c.is_option { "" } else { " (not an option)" };
            let text = format!(
                "{}{other}:&nbsp;{}&nbsp;({})",
                escape(c.answer_id.as_str()),
                c.count,
                c.top_third
            );
            if i.key.contains(&c.answer_id) {
                format!("<b>{text}&nbsp;&#10003;</b>")
            } else {
                text
            }
        })
        .collect();
    if i.unanswered > 0 {
        cells.push(format!("none:&nbsp;{}", i.unanswered));
    }
    // The separator stays with the answer before it, so no line starts with one.
    let last = cells.len().saturating_sub(1);
    cells
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let sep = if n < last { "&nbsp;&middot;" } else { "" };
            format!("<span style=\"white-space:nowrap;\">{c}{sep}</span>")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AnswerId, QuestionId};
    use crate::scoring::items::{analyse, Item, Response};

    fn a(id: &str) -> AnswerId {
        AnswerId::parse(id).unwrap()
    }

    /// Two questions, three students: q1 (key a) right, right, wrong (b); q2 (key b)
    /// right, wrong (a), unanswered.
    fn sample() -> ItemAnalysis {
        let items = vec![
            Item {
                question_id: QuestionId::parse("1").unwrap(),
                options: vec![a("a"), a("b")],
                key: vec![a("a")],
            },
            Item {
                question_id: QuestionId::parse("2").unwrap(),
                options: vec![a("a"), a("b")],
                key: vec![a("b")],
            },
        ];
        let rows = [
            [(1.0, vec![a("a")]), (1.0, vec![a("b")])],
            [(1.0, vec![a("a")]), (0.0, vec![a("a")])],
            [(0.0, vec![a("b")]), (0.0, vec![])],
        ];
        analyse(&items, |visit| {
            for r in &rows {
                let attempt: Vec<Option<Response>> = r
                    .iter()
                    .map(|(earned, chosen)| {
                        Some(Response {
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

    #[test]
    fn item_analysis_csv_has_a_row_per_question_with_three_decimals() {
        let (s, t) = (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        );
        let analysis = sample();
        let mut out = vec![];
        item_analysis_csv([(&s, &t, &analysis)], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "subject,test,questionId,n,facility,discrimination,key,answers,unanswered,flags"
        );
        // q1: x = 1,1,0 and rest = 1,0,0: r = 0.5. q2: x = 1,0,0, rest = 1,1,0: r = 0.5.
        // Top third: ⌈3/3⌉ = 1 student (total 2).
        assert_eq!(lines[1], "os,t1,1,3,0.667,0.500,a,\"a 2 (1), b 1 (0)\",0,");
        assert_eq!(
            lines[2],
            "os,t1,2,3,0.333,0.500,b,\"a 1 (0), b 1 (1), none 1\",1,"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn test_statistics_csv_leaves_undefined_figures_blank() {
        let (s, t) = (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        );
        let analysis = sample();
        let mut out = vec![];
        test_statistics_csv([(&s, &t, &analysis)], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "subject,test,n,maxPoints,mean,sd,alpha,errorRatio,standardError"
        );
        // Totals 2,1,0: mean 1, sd 1; item variances 1/3 each: alpha = 2 (1 - 2/3) = 2/3,
        // error ratio √(1/3), standard error the same (sd 1).
        assert_eq!(lines[1], "os,t1,3,2.000,1.000,1.000,0.667,0.577,0.577");
        let empty = analyse(&[], |_| {});
        let mut out = vec![];
        test_statistics_csv([(&s, &t, &empty)], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().nth(1), Some("os,t1,0,0.000,,,,,"));
    }

    #[test]
    fn html_marks_the_key_and_shows_flags_in_red() {
        let mut analysis = sample();
        analysis.items[1].flags = vec![crate::scoring::items::Flag::ProbableWrongKey];
        let mut html = String::new();
        super::html(&mut html, &analysis);
        assert!(
            html.contains("<b>a:&nbsp;2&nbsp;(1)&nbsp;&#10003;</b>"),
            "{html}"
        );
        assert!(html.contains(">none:&nbsp;1</span>"), "{html}");
        assert!(html.contains(&format!("color:{RED};\">probable wrong key</span>")));
        // n 3, mean 1 of 2, sd 1, alpha 2/3 (see the CSV test).
        assert!(
            html.contains("<td>3</td><td>1.000</td><td>1.000</td><td>0.667</td>"),
            "{html}"
        );
        let mut text = String::new();
        super::text(&mut text, &analysis);
        assert!(
            text.contains("  2           33.3%         3     0.500  b    a 1 (0), b 1 (1), none 1    probable-wrong-key\n"),
            "{text}"
        );
        assert!(
            text.starts_with("Item analysis: n 3, mean 1.000 of 2 points"),
            "{text}"
        );
    }
}
