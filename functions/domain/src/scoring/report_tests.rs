//! The trainer's report as a trainer reads it in a plain-text mail client: aligned
//! tables with the roster's names (accents and CJK included), percent correct per
//! question, and the names in `grades.csv`.

use super::email::{self, GradeRow, Report, ReportTest};
use super::inspect;
use super::stats::{QuestionRate, TestStats};
use super::table::width;
use crate::ids::{QuestionId, StudentId};
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

fn rate(id: &str, earned: f64, students: usize) -> QuestionRate {
    QuestionRate {
        question_id: QuestionId::parse(id).unwrap(),
        earned,
        students,
    }
}

#[test]
fn the_text_report_aligns_names_with_accents_and_cjk_and_shows_percent_correct() {
    let zoe = student("s1", Some("Zoë Łukasiewicz"));
    let wang = student("s22", Some("王小明"));
    let anon = student("s3", None);
    let late = student("s4", Some("José Ñúñez"));
    let due = utc("2026-11-30T22:00:00Z");
    let report = Report {
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
            items: Default::default(),
            open_windows: vec![],
            scores: vec![row(&zoe, 7, 4), row(&wang, 10, 5), row(&anon, 0, 1)],
            missing: vec![&late],
            stats: TestStats::of(&[4, 5, 1], 4, 5),
            // 2 of 3 right, 1 of 3, and one question nobody got.
            questions: vec![rate("1", 2.0, 3), rate("2", 1.0, 3), rate("10", 0.0, 3)],
            problems: vec![],
        }],
        failed: vec![],
        retried: vec![],
    };
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

    let rates: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Percent correct per question:")
        .skip(1)
        .take(4)
        .collect();
    assert_eq!(
        rates,
        [
            "  Question  Correct  Answered by",
            "  1           66.7%            3",
            "  2           33.3%            3",
            "  10           0.0%            3",
        ],
        "{text}"
    );
    assert!(
        text.contains("  os       t1    s4       José Ñúñez  s4@example.com"),
        "{text}"
    );

    let html = parsed.part("text/html").unwrap().text();
    assert!(html.contains("<td>王小明</td>"), "{html}");
    assert!(html.contains("Percent correct per question"), "{html}");

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
    let due = utc("2026-11-30T22:00:00Z");
    let report = Report {
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
            items: Default::default(),
            open_windows: vec![],
            scores: vec![row(&a, 5, 3)],
            missing: vec![],
            stats: TestStats::of(&[3], 1, 5),
            questions: vec![],
            problems: vec![],
        }],
        failed: vec![],
        retried: vec![],
    };
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
    assert!(!text.contains("Percent correct"), "{text}");
}
