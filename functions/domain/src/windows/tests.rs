//! The window rule and the late penalty, table by table, with hand-computed values.

use super::*;
use crate::ids::{SubjectName, TestId};
use crate::scoring::points::Points;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const DUE: &str = "2026-11-30T22:00:00Z";

fn meta(late: Option<(&str, &str, &str)>, extensions: &[(&str, &str)]) -> TestMeta {
    TestMeta {
        subject: SubjectName::parse("os").unwrap(),
        test_id: TestId::parse("t1").unwrap(),
        title: "T".into(),
        published_at: utc("2026-11-23T22:00:00Z"),
        due_at: utc(DUE),
        rules: Default::default(),
        windows: TestWindows {
            extensions: extensions
                .iter()
                .map(|(id, due)| {
                    let ext = Extension {
                        due: utc(due),
                        reason: None,
                    };
                    (StudentId::parse(*id).unwrap(), ext)
                })
                .collect(),
            late: late.map(|(until, penalty, floor)| LatePolicy {
                until: utc(until),
                penalty: parse_penalty(penalty).unwrap(),
                floor: Percent::parse(floor).unwrap(),
            }),
            feedback: Feedback::AtOwnClose,
        },
    }
}

fn student(id: &str, extra: Option<&str>) -> Student {
    Student {
        student_id: StudentId::parse(id).unwrap(),
        email: format!("{id}@example.com"),
        name: None,
        subjects: None,
        extra_time: extra.map(|e| ExtraTime::parse(e).unwrap()),
        extra: Default::default(),
    }
}

#[test]
fn percentages_parse_to_hundredths_and_print_as_written() {
    for (raw, hundredths, shown) in [
        ("10%", 1000, "10%"),
        ("12.5%", 1250, "12.5%"),
        ("0.25%", 25, "0.25%"),
        (" 100% ", 10_000, "100%"),
        ("0%", 0, "0%"),
    ] {
        let p = Percent::parse(raw).unwrap();
        assert_eq!(
            (p.hundredths(), p.to_string()),
            (hundredths, shown.to_owned()),
            "{raw}"
        );
    }
    for bad in ["10", "101%", "-5%", "1.234%", "%", "ten%", "10.%", "1e2%"] {
        assert!(Percent::parse(bad).is_err(), "{bad} accepted");
    }
    assert_eq!(parse_penalty("10%/day").unwrap().hundredths(), 1000);
    assert!(parse_penalty("10%/week").is_err());
}

#[test]
fn extra_time_parses_days_hours_minutes_and_sums_and_keeps_its_text() {
    for (raw, minutes) in [
        ("48h", 48 * 60),
        ("2d", 48 * 60),
        ("90m", 90),
        ("1d12h", 36 * 60),
        ("0m", 0),
    ] {
        let e = ExtraTime::parse(raw).unwrap();
        assert_eq!(e.span().num_minutes(), minutes, "{raw}");
        assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{raw}\""));
    }
    for bad in [
        "",
        "48",
        "h",
        "2w",
        "-1h",
        "1.5h",
        "400d",
        "99999999999999999999h",
    ] {
        assert!(ExtraTime::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn a_students_window_is_the_latest_of_due_extra_time_and_extension() {
    let late = Some(("2026-12-03T22:00:00Z", "10%/day", "50%"));
    let ext = [
        ("s3", "2026-12-02T22:00:00Z"),
        ("s4", "2026-11-29T22:00:00Z"),
    ];
    // (test late policy, student, extra time, own due, own close)
    let table = [
        (None, "s1", None, DUE, DUE),
        (
            None,
            "s2",
            Some("48h"),
            "2026-12-02T22:00:00Z",
            "2026-12-02T22:00:00Z",
        ),
        (
            None,
            "s3",
            None,
            "2026-12-02T22:00:00Z",
            "2026-12-02T22:00:00Z",
        ),
        // Extra time is not added on top of an extension: the later one counts.
        (
            None,
            "s3",
            Some("1d"),
            "2026-12-02T22:00:00Z",
            "2026-12-02T22:00:00Z",
        ),
        (
            None,
            "s3",
            Some("3d"),
            "2026-12-03T22:00:00Z",
            "2026-12-03T22:00:00Z",
        ),
        // An extension never makes a due earlier.
        (None, "s4", None, DUE, DUE),
        // The late window moves with the own due: 3 days long for everyone.
        (late, "s1", None, DUE, "2026-12-03T22:00:00Z"),
        (
            late,
            "s2",
            Some("48h"),
            "2026-12-02T22:00:00Z",
            "2026-12-05T22:00:00Z",
        ),
        (
            late,
            "s3",
            None,
            "2026-12-02T22:00:00Z",
            "2026-12-05T22:00:00Z",
        ),
        (
            late,
            "s2",
            Some("90m"),
            "2026-11-30T23:30:00Z",
            "2026-12-03T23:30:00Z",
        ),
    ];
    for (late, id, extra, due, close) in table {
        let w = window(&meta(late, &ext), &student(id, extra));
        assert_eq!(
            (w.due, w.close),
            (utc(due), utc(close)),
            "{id} extra {extra:?} late {}",
            late.is_some()
        );
    }
}

#[test]
fn the_last_close_is_the_latest_window_of_the_students_who_take_the_test() {
    let m = meta(None, &[("s2", "2026-12-01T22:00:00Z")]);
    let mut roster = Roster(vec![student("s1", None), student("s2", None)]);
    assert_eq!(last_close(&m, &roster), utc("2026-12-01T22:00:00Z"));
    // A student of other subjects only does not keep the test open.
    let mut other = student("s3", Some("7d"));
    other.subjects = Some(vec![SubjectName::parse("db").unwrap()]);
    roster.0.push(other);
    assert_eq!(last_close(&m, &roster), utc("2026-12-01T22:00:00Z"));
    roster.0.push(student("s4", Some("3d")));
    assert_eq!(last_close(&m, &roster), utc("2026-12-03T22:00:00Z"));
    assert_eq!(last_close(&m, &Roster::default()), utc(DUE));
    let open = open_windows(&m, &roster, utc("2026-12-01T00:00:00Z"));
    let shown: Vec<(&str, DateTime<Utc>)> = open.iter().map(|(s, t)| (s.as_str(), *t)).collect();
    assert_eq!(
        shown,
        [
            ("s2", utc("2026-12-01T22:00:00Z")),
            ("s4", utc("2026-12-03T22:00:00Z"))
        ]
    );
}

#[test]
fn days_late_count_started_days_after_the_own_due() {
    for (received, days) in [
        ("2026-11-30T21:59:59Z", 0),
        (DUE, 0),
        ("2026-11-30T22:00:01Z", 1),
        ("2026-12-01T22:00:00Z", 1),
        ("2026-12-01T22:00:01Z", 2),
        ("2026-12-03T21:00:00Z", 3),
    ] {
        assert_eq!(days_late(utc(DUE), utc(received)), days, "{received}");
    }
}

#[test]
fn the_grade_factor_loses_the_penalty_per_day_down_to_the_floor() {
    // (penalty, floor, days late, factor)
    for (penalty, floor, days, factor_shown) in [
        ("10%/day", "50%", 0, "100%"),
        ("10%/day", "50%", 1, "90%"),
        ("10%/day", "50%", 3, "70%"),
        ("10%/day", "50%", 5, "50%"),
        ("10%/day", "50%", 9, "50%"),
        ("12.5%/day", "0%", 3, "62.5%"),
        ("30%/day", "0%", 4, "0%"),
        ("10%/day", "0%", u32::MAX, "0%"),
    ] {
        let policy = LatePolicy {
            until: utc(DUE),
            penalty: parse_penalty(penalty).unwrap(),
            floor: Percent::parse(floor).unwrap(),
        };
        assert_eq!(
            factor(&policy, days).to_string(),
            factor_shown,
            "{penalty} {days}"
        );
    }
}

#[test]
fn a_late_grade_is_the_factor_times_the_fraction_rounded_half_up() {
    // (points, total, max grade, factor, grade): 8/10 × 90% × 5 = 3.6 → 4;
    // 7/10 × 70% × 5 = 2.45 → 2; 5/10 × 50% × 5 = 1.25 → 1; 9/10 × 100% × 5 = 4.5 → 5.
    for (points, total, max, f, grade) in [
        (8, 10, 5, "90%", 4),
        (7, 10, 5, "70%", 2),
        (5, 10, 5, "50%", 1),
        (9, 10, 5, "100%", 5),
        (3, 4, 10, "62.5%", 5),
        (0, 0, 5, "50%", 0),
    ] {
        let f = Percent::parse(f).unwrap();
        assert_eq!(
            late_grade(Points::whole(points), total, max, f),
            grade,
            "{points}/{total} × {f}"
        );
    }
    assert_eq!(
        late_grade(Points::whole(8), 10, 5, Percent::HUNDRED),
        crate::scoring::grading::round_half_up(8, 10, 5)
    );
}

#[test]
fn lateness_is_reported_only_after_the_own_due_of_a_test_with_a_late_policy() {
    let late = Some(("2026-12-03T22:00:00Z", "10%/day", "50%"));
    let m = meta(late, &[]);
    let s2 = student("s2", Some("1d"));
    let w = window(&m, &s2);
    assert_eq!(lateness(&m, w, utc("2026-12-01T21:00:00Z")), None);
    let l = lateness(&m, w, utc("2026-12-02T23:00:00Z")).unwrap();
    assert_eq!(
        (
            l.due_at,
            l.days_late,
            l.penalty.as_str(),
            l.factor.to_string()
        ),
        (utc("2026-12-01T22:00:00Z"), 2, "10%/day", "80%".to_owned())
    );
    let plain = meta(None, &[]);
    let w = window(&plain, &s2);
    assert_eq!(lateness(&plain, w, utc("2026-12-02T23:00:00Z")), None);
}

#[test]
fn a_catalog_entry_without_windows_is_written_as_before_and_one_with_them_round_trips() {
    let plain = meta(None, &[]);
    let json = serde_json::to_string(&plain).unwrap();
    assert_eq!(
        json,
        r#"{"subject":"os","testId":"t1","title":"T","publishedAt":"2026-11-23T22:00:00Z","dueAt":"2026-11-30T22:00:00Z"}"#
    );
    let mut full = meta(
        Some(("2026-12-03T22:00:00Z", "12.5%/day", "50%")),
        &[("s2", "2026-12-02T22:00:00Z")],
    );
    full.windows.feedback = Feedback::AtLastClose;
    let json = serde_json::to_string(&full).unwrap();
    assert!(
        json.contains(
            r#""late":{"until":"2026-12-03T22:00:00Z","penalty":"12.5%/day","floor":"50%"}"#
        ),
        "{json}"
    );
    assert!(json.contains(r#""feedback":"at-last-close""#), "{json}");
    assert_eq!(serde_json::from_str::<TestMeta>(&json).unwrap(), full);
    let student_json =
        r#"{"student_id":"s2","email":"s2@example.com","extraTime":"48h","team":"blue"}"#;
    let s: Student = serde_json::from_str(student_json).unwrap();
    assert_eq!(
        s.extra_time.as_ref().map(|e| e.span().num_hours()),
        Some(48)
    );
    assert_eq!(serde_json::to_string(&s).unwrap(), student_json);
}

#[test]
fn the_worked_example_of_docs_trainer_md_holds() {
    use crate::course::parse_due;
    let tz = crate::deadline::DEFAULT_TIME_ZONE;
    let at = |s: &str| parse_due(s, tz).unwrap();
    let mut m = meta(None, &[]);
    m.due_at = at("2026-11-30 23:00");
    m.windows.extensions.insert(
        StudentId::parse("student02").unwrap(),
        Extension {
            due: at("2026-12-02 23:00"),
            reason: Some("illness".into()),
        },
    );
    m.windows.late = Some(LatePolicy {
        until: at("2026-12-03 23:00"),
        penalty: parse_penalty("10%/day").unwrap(),
        floor: Percent::parse("50%").unwrap(),
    });
    // (student, extra time, own due, own close, received, days late, factor, grade 4/4, grade 3/4)
    let table = [
        (
            "student01",
            None,
            "2026-11-30 23:00",
            "2026-12-03 23:00",
            "2026-11-30 22:59",
            0,
            "100%",
            5,
            4,
        ),
        (
            "student01",
            None,
            "2026-11-30 23:00",
            "2026-12-03 23:00",
            "2026-12-01 08:00",
            1,
            "90%",
            5,
            3,
        ),
        (
            "student01",
            None,
            "2026-11-30 23:00",
            "2026-12-03 23:00",
            "2026-12-02 23:30",
            3,
            "70%",
            4,
            3,
        ),
        (
            "student02",
            None,
            "2026-12-02 23:00",
            "2026-12-05 23:00",
            "2026-12-04 23:00",
            2,
            "80%",
            4,
            3,
        ),
        (
            "student03",
            Some("24h"),
            "2026-12-01 23:00",
            "2026-12-04 23:00",
            "2026-12-04 22:00",
            3,
            "70%",
            4,
            3,
        ),
    ];
    for (id, extra, due, close, received, days, f, all, three) in table {
        let w = window(&m, &student(id, extra));
        assert_eq!((w.due, w.close), (at(due), at(close)), "{id}");
        let l = lateness(&m, w, at(received));
        let factor = l.as_ref().map_or(Percent::HUNDRED, |l| l.factor);
        assert_eq!(l.map_or(0, |l| l.days_late), days, "{id} {received}");
        assert_eq!(factor.to_string(), f, "{id} {received}");
        assert_eq!(
            late_grade(Points::whole(4), 4, 5, factor),
            all,
            "{id} {received} 4/4"
        );
        assert_eq!(
            late_grade(Points::whole(3), 4, 5, factor),
            three,
            "{id} {received} 3/4"
        );
    }
    let steep = LatePolicy {
        penalty: parse_penalty("20%/day").unwrap(),
        ..m.windows.late.unwrap()
    };
    assert_eq!(factor(&steep, 3).to_string(), "50%");
    assert_eq!(late_grade(Points::whole(4), 4, 5, factor(&steep, 3)), 3);
}
