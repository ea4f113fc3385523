//! The trainer's report as a trainer reads it in a plain-text mail client: aligned
//! tables with the roster's names (accents and CJK included), one table per question
//! (the item analysis, read as percent correct), and the names in `grades.csv`.

use super::email::{self, GradeRow, Report, ReportTest};
use super::inspect;
use super::items::{analyse, Item, ItemAnalysis, Response};
use super::stats::TestStats;
use super::table::width;
use crate::ids::{AnswerId, QuestionId, StudentId};
use crate::model::Student;
use chrono::{DateTime, Duration, Utc};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn student(id: &str, name: Option<&str>) -> Student {
    Student {
        student_id: StudentId::parse(id).unwrap(),
        email: format!("{id}@example.com"),
        name: name.map(str::to_owned),
        subjects: None,
        extra_time: None,
        extra: Default::default(),
    }
}

fn row<'a>(s: &'a Student, points: u32, grade: u32) -> GradeRow<'a> {
    GradeRow {
        student_id: &s.student_id,
        name: s.name.as_deref(),
        points: points.into(),
        total: 10,
        percentage: f64::from(points) * 10.0,
        grade,
        max_grade: 5,
    }
}

fn ids(list: &str) -> Vec<AnswerId> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|a| AnswerId::parse(a).unwrap())
        .collect()
}

/// What a student earned and chose in a question; `None` = not given it.
type Cell = Option<(f64, Vec<AnswerId>)>;

/// Three results, not every question given to everybody (a draw), `10` a
/// multiple-answer question of 2 points scored with partial credit:
///
/// | student | 1 (key a) | 2 (key b) | 10 (key a,c; 2 pts) | total |
/// |---------|-----------|-----------|---------------------|-------|
/// | s1      | a 1       | a 0       | a ½ → 1             | 2     |
/// | s22     | b 0       | -         | a,b 0               | 0     |
/// | s3      | a 1       | b 1       | -                   | 2     |
fn drawn_and_partial() -> ItemAnalysis {
    let item = |id: &str, options: &str, key: &str| Item {
        question_id: QuestionId::parse(id).unwrap(),
        options: ids(options),
        key: ids(key),
    };
    let items = [
        item("1", "a,b", "a"),
        item("2", "a,b", "b"),
        item("10", "a,b,c,d", "a,c"),
    ];
    let points = [1.0, 1.0, 2.0];
    let rows: [[Cell; 3]; 3] = [
        [
            Some((1.0, ids("a"))),
            Some((0.0, ids("a"))),
            Some((0.5, ids("a"))),
        ],
        [Some((0.0, ids("b"))), None, Some((0.0, ids("a,b")))],
        [Some((1.0, ids("a"))), Some((1.0, ids("b"))), None],
    ];
    analyse(&items, |visit| {
        for r in &rows {
            let attempt: Vec<Option<Response>> = r
                .iter()
                .zip(points)
                .map(|(cell, points)| {
                    cell.as_ref().map(|(earned, chosen)| Response {
                        earned: *earned,
                        points,
                        chosen,
                    })
                })
                .collect();
            visit(&attempt);
        }
    })
}

#[test]
fn the_text_report_aligns_names_with_accents_and_cjk_and_shows_percent_correct_once_per_question() {
    let zoe = student("s1", Some("Zoë Łukasiewicz"));
    let wang = student("s22", Some("王小明"));
    let anon = student("s3", None);
    let late = student("s4", Some("José Ñúñez"));
    let report = one_test(
        vec![row(&zoe, 7, 4), row(&wang, 10, 5), row(&anon, 0, 1)],
        vec![&late],
        TestStats::of(&[4, 5, 1], 4, 5),
        drawn_and_partial(),
    );
    let from = email::parse_mailbox("a@example.com").unwrap();
    let mail =
        email::trainer_report(&from, &from, &report, |id| format!("{id}@example.com")).unwrap();
    let parsed = inspect::parse(&mail.raw);
    let text = parsed.part("text/plain").unwrap().text();

    let grades: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Grades")
        .skip(1)
        .take(4)
        .collect();
    assert_eq!(
        grades,
        [
            "  Subject  Test  Student  Name             Points  Grade",
            "  os       t1    s1       Zoë Łukasiewicz    7/10    4/5",
            "  os       t1    s22      王小明            10/10    5/5",
            "  os       t1    s3                          0/10    1/5",
        ],
        "{text}"
    );
    let ends: Vec<usize> = grades.iter().map(|l| width(l)).collect();
    assert!(ends.iter().all(|w| *w == ends[0]), "{ends:?}");

    // Percent correct over the students given each question: 1: 2 of 3; 2: 1 of 2;
    // 10: (½ + 0) / 2. Discrimination against the rest of the test (totals 2, 0, 2):
    // 1: x = 1,0,1 vs rest 1,0,1 → 1; 2: x = 0,1 vs rest 2,1 → −1; 10: x = 1,0 vs
    // rest 1,0 → 1. Top third: ⌈3/3⌉ = 1, the best total 2 is shared by s1 and s3.
    let questions: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Item analysis: "))
        .take(5)
        .collect();
    assert_eq!(
        questions,
        [
            "Item analysis: n 3, mean 1.333 of 4 points, sd 1.155; alpha -, error ratio -, standard error -",
            "  Question  Correct  Students  Discrim.  Key   Answers: count (top third)          Flags",
            "  1           66.7%         3     1.000  a     a 2 (2), b 1 (0)",
            "  2           50.0%         2    -1.000  b     a 1 (1), b 1 (1)                    low-discrimination",
            "  10          25.0%         2     1.000  a, c  a 2 (1), b 1 (0), c 0 (0), d 0 (0)",
        ],
        "{text}"
    );
    // One table per question, not two saying the same.
    assert_eq!(text.matches("  Question  ").count(), 1, "{text}");
    assert!(!text.contains("Percent correct per question"), "{text}");
    assert!(
        text.contains("  os       t1    s4       José Ñúñez  s4@example.com"),
        "{text}"
    );

    let html = parsed.part("text/html").unwrap().text();
    assert!(html.contains("<td>王小明</td>"), "{html}");
    assert_eq!(
        html.matches("<th align=\"left\">Question</th>").count(),
        1,
        "{html}"
    );
    assert!(!html.contains("Percent correct per question"), "{html}");
    assert!(
        html.contains("<td valign=\"top\" align=\"right\">66.7%<br><span style=\"color:#666;font-size:12px;\">of&nbsp;3</span></td>"),
        "{html}"
    );
    // Each keyed answer of the multiple-answer question is ticked.
    assert!(
        html.contains("<b>a:&nbsp;2&nbsp;(1)&nbsp;&#10003;</b>"),
        "{html}"
    );
    assert!(
        html.contains("<b>c:&nbsp;0&nbsp;(0)&nbsp;&#10003;</b>"),
        "{html}"
    );

    let csv = parsed.part("text/csv").unwrap().text();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "subject,test,student,email,points,total,percentage,grade,max_grade,name",
            "os,t1,s1,s1@example.com,7,10,70.0,4,5,Zoë Łukasiewicz",
            "os,t1,s22,s22@example.com,10,10,100.0,5,5,王小明",
            "os,t1,s3,s3@example.com,0,10,0.0,1,5,",
        ]
    );
}

#[test]
fn without_names_in_the_roster_the_name_column_is_left_out_of_the_text() {
    let a = student("s1", None);
    let report = big_report(std::slice::from_ref(&a), 1);
    let from = email::parse_mailbox("a@example.com").unwrap();
    let mail = email::trainer_report(&from, &from, &report, |_| String::new()).unwrap();
    let text = inspect::parse(&mail.raw)
        .part("text/plain")
        .unwrap()
        .text()
        .replace("\r\n", "\n");
    assert!(
        text.contains(
            "  Subject  Test  Student  Points  Grade\n  os       t1    s1         5/10    3/5\n"
        ),
        "{text}"
    );
    // No questions analysed (none read, no results): no per-question table.
    assert!(!text.contains("  Question  "), "{text}");
}

/// A report of one test, "os/t1", closed on 2026-11-30.
fn one_test<'a>(
    scores: Vec<GradeRow<'a>>,
    missing: Vec<&'a Student>,
    stats: TestStats,
    items: ItemAnalysis,
) -> Report<'a> {
    let due = utc("2026-11-30T22:00:00Z");
    Report {
        generated_at: due,
        time_zone: crate::deadline::DEFAULT_TIME_ZONE,
        max_grade: 5,
        tests: vec![ReportTest {
            meta: crate::model::TestMeta {
                subject: crate::ids::SubjectName::parse("os").unwrap(),
                test_id: crate::ids::TestId::parse("t1").unwrap(),
                title: "Processes".into(),
                published_at: due - Duration::days(7),
                due_at: due,
                windows: Default::default(),
                rules: Default::default(),
            },
            rescored: false,
            changes: vec![],
            items,
            open_windows: vec![],
            scores,
            missing,
            stats,
            problems: vec![],
        }],
        failed: vec![],
        retried: vec![],
    }
}

/// The first `graded` students with a result (5 of 10 points, grade 3), the rest missing.
fn big_report(students: &[Student], graded: usize) -> Report<'_> {
    let (done, missing) = students.split_at(graded);
    one_test(
        done.iter().map(|s| row(s, 5, 3)).collect(),
        missing.iter().collect(),
        TestStats::of(&vec![3; graded], students.len(), 5),
        ItemAnalysis::default(),
    )
}

/// The report's message, parsed, with its text (`\n` line ends) and HTML parts.
fn rendered(report: &Report) -> (email::RenderedMail, inspect::Parsed, String, String) {
    let from = email::parse_mailbox("a@example.com").unwrap();
    let mail =
        email::trainer_report(&from, &from, report, |id| format!("{id}@example.com")).unwrap();
    let parsed = inspect::parse(&mail.raw);
    let text = parsed
        .part("text/plain")
        .unwrap()
        .text()
        .replace("\r\n", "\n");
    let html = parsed.part("text/html").unwrap().text();
    (mail, parsed, text, html)
}

#[test]
fn beyond_a_thousand_rows_the_body_gives_the_count_and_the_attachments_hold_every_row() {
    let students: Vec<Student> = (0..2002)
        .map(|i| student(&format!("s{i:04}"), Some("Ada Lovelace")))
        .collect();
    let report = big_report(&students, 1001);
    let (mail, parsed, text, html) = rendered(&report);

    assert!(
        text.contains("\nGrades\n  1001 grades, too many to list here: every one is in the attached grades.csv.\n"),
        "{text}"
    );
    assert!(
        text.contains("\nMissing submissions: 1001\n  Too many to list here: every one is in the attached missing.csv.\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "Attached: grades.csv, item-analysis.csv, test-statistics.csv and missing.csv."
        ),
        "{text}"
    );
    assert!(
        html.contains(
            "<p>1001 grades, too many to list here: every one is in the attached grades.csv.</p>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<p>Too many to list here: every one is in the attached missing.csv.</p>"),
        "{html}"
    );
    // No row of either table in the bodies.
    for body in [&text, &html] {
        assert!(!body.contains("s0000") && !body.contains("s2001"), "{body}");
    }

    let file = |name: &str| {
        parsed
            .parts
            .iter()
            .find(|p| {
                p.header("content-disposition")
                    .is_some_and(|d| d.contains(name))
            })
            .unwrap_or_else(|| panic!("no {name}"))
            .text()
    };
    let grades = file("grades.csv");
    assert_eq!(grades.lines().count(), 1 + 1001);
    assert!(grades.contains("\nos,t1,s1000,s1000@example.com,5,10,50.0,3,5,Ada Lovelace\n"));
    let missing = file("missing.csv");
    let lines: Vec<&str> = missing.lines().collect();
    assert_eq!(lines.len(), 1 + 1001);
    assert_eq!(lines[0], "subject,test,student,email,name");
    assert_eq!(lines[1], "os,t1,s1001,s1001@example.com,Ada Lovelace");
    assert_eq!(lines[1001], "os,t1,s2001,s2001@example.com,Ada Lovelace");
    // The message is its attachments (base64: 4/3) and a few kilobytes: no table in
    // the bodies grows with the course, so SES's 40 MB holds ~220 000 submissions.
    let attached = (grades.len() + missing.len()) * 4 / 3 * 78 / 76;
    assert!(
        mail.raw.len() < attached + 16 * 1024,
        "{} vs {attached}",
        mail.raw.len()
    );
}

#[test]
fn at_a_thousand_rows_the_body_still_lists_them_and_nothing_more_is_attached() {
    let students: Vec<Student> = (0..2000)
        .map(|i| student(&format!("s{i:04}"), None))
        .collect();
    let report = big_report(&students, 1000);
    let (_, parsed, text, _) = rendered(&report);
    assert!(
        text.contains("\n  os       t1    s0999      5/10    3/5\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  os       t1    s1999    s1999@example.com\n"),
        "{text}"
    );
    assert!(!text.contains("missing.csv"), "{text}");
    assert!(parsed.parts.iter().all(|p| !p
        .header("content-disposition")
        .is_some_and(|d| d.contains("missing.csv"))));
}

#[test]
fn beyond_a_thousand_no_other_list_of_the_body_grows_with_the_course_either() {
    let students: Vec<Student> = (0..1001)
        .map(|i| student(&format!("s{i:04}"), None))
        .collect();
    let mut report = big_report(&students, 1001);
    let close = utc("2026-12-02T22:00:00Z");
    let test = &mut report.tests[0];
    test.rescored = true;
    test.changes = students
        .iter()
        .map(|s| super::correction::GradeChange {
            student_id: &s.student_id,
            old_points: 4.into(),
            old_total: 10,
            old_grade: 2,
            points: 5.into(),
            grade: 3,
            total: 10,
        })
        .collect();
    test.open_windows = students
        .iter()
        .map(|s| (s.student_id.clone(), close))
        .collect();
    test.open_windows[500].1 = utc("2026-12-04T22:00:00Z");
    test.problems = students
        .iter()
        .map(|s| format!("submission of {} is unreadable", s.student_id))
        .collect();
    report.failed = students
        .iter()
        .map(|s| email::FailedSend {
            to: format!("{}@example.com", s.student_id),
            subject: "[os] [t1] Test score".into(),
            error: if s.student_id.as_str() == "s0007" {
                "MessageRejected: Email address is not verified.".into()
            } else {
                "TooManyRequestsException: Maximum sending rate exceeded.".into()
            },
        })
        .collect();
    report.retried = students
        .iter()
        .map(|s| format!("{} os/t1", s.student_id))
        .collect();
    let (_, _, text, html) = rendered(&report);
    for line in [
        "Grades changed by this rescore: 1001\n  Too many to list here: the attached grades.csv has every new grade; the old ones are in the earlier report.\n",
        "Open windows (1001; graded and reported once they close): too many to list here; the last closes 2026-12-04 23:00 CET.\n",
        "Problem: submission of s0999 is unreadable\nAnd 1 more problem, not listed.\n",
        "\nEmails sent again after an earlier failure: 1001, too many to list here.\n",
        "\nFailed sends (retried on the next run): 1001\n  Too many to list here; by error:\n  Sends  Error\n   1000  TooManyRequestsException: Maximum sending rate exceeded.\n      1  MessageRejected: Email address is not verified.\n",
    ] {
        assert!(text.contains(line), "{line}\n---\n{text}");
    }
    for fragment in [
        "<p>Too many to list here: the attached grades.csv has every new grade; the old ones are in the earlier report.</p>",
        "too many to list here; the last closes 2026-12-04 23:00 CET.</p>",
        "<p>And 1 more problem, not listed.</p>",
        "<td align=\"right\">1000</td><td>TooManyRequestsException: Maximum sending rate exceeded.</td>",
    ] {
        assert!(html.contains(fragment), "{fragment}\n---\n{html}");
    }
    // Only the first thousand problems name a student; no other list does.
    for body in [&text, &html] {
        assert_eq!(body.matches("s0000").count(), 1, "{body}");
        assert!(!body.contains("s1000"), "{body}");
    }
}
