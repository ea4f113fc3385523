//! The scorer's guarantees over generated courses with per-student windows: random
//! extensions, extra time, late policies, feedback choice, receipt times, pass times
//! and a kill at any call of any pass. After the passes, every submission is graded
//! with the penalty a hand oracle gives, every student gets exactly one score email
//! and exactly one email with the answers (besides the documented duplicate
//! window), never before their own close, and no answers before the last close.

use super::inspect;
use super::results::TestResults;
use super::tests::ManualClock;
use super::windows_tests::{killed_pass_at, TRAINER};
use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
use crate::layout;
use crate::model::{AnswerOption, Catalog, GivenAnswer, KeyEntry, Question, Receipt, Roster};
use crate::model::{Student, Submission, TestMeta};
use crate::store_json;
use crate::testing::{MemoryMailer, MemoryStore};
use crate::windows::{Extension, ExtraTime, Feedback, LatePolicy, Percent, TestWindows};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use std::sync::Arc;

fn due() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[derive(Debug, Clone)]
struct Who {
    /// Extra time in hours (0: none).
    extra_hours: i64,
    /// Extension, hours after the due (0: none).
    extension_hours: i64,
    /// Receipt time, hours after the due; `None`: no submission.
    received_hours: Option<i64>,
    /// Questions right, of 4.
    right: usize,
}

#[derive(Debug, Clone)]
struct Case {
    students: Vec<Who>,
    /// (late window in hours after the due, penalty %, floor %).
    late: Option<(i64, u32, u32)>,
    at_last_close: bool,
    /// Hours after the due of the passes before the final one.
    passes: Vec<i64>,
    /// (pass index, call) at which one pass dies.
    kill: Option<(usize, usize)>,
}

fn who() -> impl Strategy<Value = Who> {
    (
        prop::sample::select(vec![0i64, 12, 24]),
        prop::sample::select(vec![0i64, 24, 60]),
        prop::option::weighted(0.85, -10i64..100),
        0usize..=4,
    )
        .prop_map(
            |(extra_hours, extension_hours, received_hours, right)| Who {
                extra_hours,
                extension_hours,
                received_hours,
                right,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(who(), 1..=4),
        prop::option::of((
            prop::sample::select(vec![24i64, 48, 72]),
            prop::sample::select(vec![0u32, 10, 25, 40]),
            prop::sample::select(vec![0u32, 50]),
        )),
        any::<bool>(),
        prop::collection::vec(0i64..150, 0..=4),
        prop::option::of((0usize..5, 1usize..150)),
    )
        .prop_map(|(students, late, at_last_close, mut passes, kill)| {
            passes.sort_unstable();
            Case {
                students,
                late,
                at_last_close,
                passes,
                kill,
            }
        })
}

fn id(i: usize) -> StudentId {
    StudentId::parse(format!("s{i}")).unwrap()
}

fn hours(h: i64) -> DateTime<Utc> {
    due() + Duration::hours(h)
}

/// The oracle's window of a student, in hours after the due: (own due, own close).
fn own(c: &Case, w: &Who) -> (i64, i64) {
    let own_due = w.extra_hours.max(w.extension_hours);
    let close = c.late.map_or(own_due, |(until, _, _)| until + own_due);
    (own_due, close)
}

/// The receipt time actually used: an upload after the own close is refused by
/// the API, so such a student submits an hour before the due instead.
fn received(c: &Case, w: &Who) -> Option<i64> {
    let (_, close) = own(c, w);
    w.received_hours.map(|h| if h < close { h } else { -1 })
}

/// The oracle's grade (max 5): right/4 × factor, halves up, in whole percents.
fn oracle_grade(c: &Case, w: &Who) -> u32 {
    let (own_due, _) = own(c, w);
    let factor = match (c.late, received(c, w)) {
        (Some((_, penalty, floor)), Some(r)) if r > own_due => {
            let days = u32::try_from((r - own_due + 23) / 24).unwrap();
            100u32.saturating_sub(penalty * days).max(floor)
        }
        _ => 100,
    };
    let right = u32::try_from(w.right).unwrap();
    // round_half_up(right × 5 × factor / (4 × 100))
    (2 * right * 5 * factor + 400) / 800
}

async fn seed(c: &Case) -> MemoryStore {
    let store = MemoryStore::new();
    let (subject, test) = (
        SubjectName::parse("os").unwrap(),
        TestId::parse("t1").unwrap(),
    );
    let aid = |a: &str| AnswerId::parse(a).unwrap();
    let qid = |q: usize| QuestionId::parse(format!("{q}")).unwrap();
    let questions: Vec<Question> = (0..4)
        .map(|q| Question {
            question_id: qid(q),
            question: format!("Q{q}?"),
            answers: ["a", "b"]
                .iter()
                .map(|a| AnswerOption {
                    answer_id: aid(a),
                    answer_body: format!("option {a}"),
                })
                .collect(),
            points: 1,
            pool: None,
            multiple: false,
        })
        .collect();
    let key: Vec<KeyEntry> = (0..4)
        .map(|q| KeyEntry {
            question_id: qid(q),
            answer: aid("a").into(),
            weights: Default::default(),
        })
        .collect();
    store_json::write(&store, &layout::questions(&subject, &test), &questions)
        .await
        .unwrap();
    store_json::write(&store, &layout::answer_key(&subject, &test), &key)
        .await
        .unwrap();
    let mut windows = TestWindows {
        feedback: if c.at_last_close {
            Feedback::AtLastClose
        } else {
            Feedback::AtOwnClose
        },
        ..TestWindows::default()
    };
    if let Some((until, penalty, floor)) = c.late {
        windows.late = Some(LatePolicy {
            until: hours(until),
            penalty: Percent::parse(&format!("{penalty}%")).unwrap(),
            floor: Percent::parse(&format!("{floor}%")).unwrap(),
        });
    }
    let mut roster = vec![];
    for (i, w) in c.students.iter().enumerate() {
        if w.extension_hours > 0 {
            let ext = Extension {
                due: hours(w.extension_hours),
                reason: None,
            };
            windows.extensions.insert(id(i), ext);
        }
        roster.push(Student {
            student_id: id(i),
            email: format!("{}@props.test", id(i)),
            name: None,
            subjects: None,
            extra_time: (w.extra_hours > 0)
                .then(|| ExtraTime::parse(&format!("{}h", w.extra_hours)).unwrap()),
            extra: Default::default(),
        });
        let Some(r) = received(c, w) else { continue };
        let answers: Vec<GivenAnswer> = (0..4)
            .map(|q| GivenAnswer {
                question_id: qid(q),
                answer: aid(if q < w.right { "a" } else { "b" }).into(),
            })
            .collect();
        let at = hours(r);
        let receipt = Receipt {
            sha256: Receipt::digest(&id(i), &subject, &test, at, &answers),
            student_id: id(i),
            subject_name: subject.clone(),
            test_id: test.clone(),
            received_at: at,
            replaced: false,
            unanswered: 0,
            late: None,
        };
        let submission = Submission {
            test_result: answers,
            receipt: Some(receipt),
        };
        store_json::write(
            &store,
            &layout::submission(&subject, &test, &id(i)),
            &submission,
        )
        .await
        .unwrap();
    }
    let catalog = Catalog {
        tests: vec![TestMeta {
            subject,
            test_id: test,
            title: "T".into(),
            published_at: due() - Duration::days(7),
            due_at: due(),
            windows,
            rules: Default::default(),
        }],
    };
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    store_json::write(&store, &layout::roster(), &Roster(roster))
        .await
        .unwrap();
    store
}

/// One student email: to whom, whether it is the score (not the answers-only
/// follow-up), whether it shows the correct answers, and the pass time.
struct Mail {
    to: String,
    score: bool,
    reveals: bool,
    at: i64,
}

async fn run(c: &Case) -> Result<(), TestCaseError> {
    let store = seed(c).await;
    let mailer = MemoryMailer::default();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let grace = crate::deadline::GRADING_GRACE;
    let mut times = c.passes.clone();
    // A final pass after every window (the longest: 60 h + 72 h) and one to spare.
    times.extend([200, 300]);
    let mut mails = vec![];
    let mut unrecorded = 0;
    for (n, h) in times.iter().enumerate() {
        let now = hours(*h) + grace;
        let kill = c
            .kill
            .filter(|(p, _)| *p == n)
            .map_or(usize::MAX, |(_, at)| at);
        let runs = if kill == usize::MAX {
            vec![usize::MAX]
        } else {
            vec![kill, usize::MAX]
        };
        for at in runs {
            let before = mailer.sent().len();
            let (_, left) = killed_pass_at(&store, &mailer, &clock, now, at).await;
            unrecorded += left;
            // The dead pass's lease expires before the rerun.
            clock.advance(Duration::minutes(2));
            for (to, raw) in &mailer.sent()[before..] {
                if to.iter().any(|t| t == TRAINER) {
                    continue;
                }
                let parsed = inspect::parse(raw);
                let subject = parsed.header("subject").unwrap_or_default().to_owned();
                let text = parsed
                    .part("text/plain")
                    .map(|p| p.text())
                    .unwrap_or_default();
                let reveals = text.lines().any(|l| {
                    l.trim_start().starts_with("Correct answer:") && !l.contains("(sent later)")
                });
                mails.push(Mail {
                    to: to.join(","),
                    score: subject.ends_with("Test score"),
                    reveals,
                    at: *h,
                });
            }
        }
    }
    // Every window closes at or after the close of a student without accommodations.
    let base = c.late.map_or(0, |(until, _, _)| until);
    let last_close = c.students.iter().map(|w| own(c, w).1).fold(base, i64::max);
    let results = TestResults::load(
        &store,
        &SubjectName::parse("os").unwrap(),
        &TestId::parse("t1").unwrap(),
    )
    .await
    .unwrap()
    .unwrap_or_default();
    let mut extra = 0;
    for (i, w) in c.students.iter().enumerate() {
        let to = format!("{}@props.test", id(i));
        let theirs: Vec<&Mail> = mails.iter().filter(|m| m.to == to).collect();
        let Some(_) = received(c, w) else {
            prop_assert!(theirs.is_empty(), "{to} did not submit and was emailed");
            continue;
        };
        let r = results.scores.get(&id(i));
        prop_assert_eq!(r.map(|r| r.grade), Some(oracle_grade(c, w)), "{} grade", to);
        let (_, close) = own(c, w);
        for m in &theirs {
            prop_assert!(
                m.at >= close,
                "{to} emailed at {} before their close {close}",
                m.at
            );
            prop_assert!(
                !m.reveals || m.at >= last_close,
                "{to} got answers at {}",
                m.at
            );
            prop_assert!(
                !c.at_last_close || m.at >= last_close,
                "{to} emailed before the last close"
            );
        }
        // One email with everything, or the score without the answers and then the
        // answers; any more are duplicates.
        let kinds: std::collections::BTreeSet<(bool, bool)> =
            theirs.iter().map(|m| (m.score, m.reveals)).collect();
        let full = [(true, true)].into_iter().collect();
        let halves = [(true, false), (false, true)].into_iter().collect();
        prop_assert!(kinds == full || kinds == halves, "{}: {:?}", to, kinds);
        extra += theirs.len() - kinds.len();
    }
    prop_assert!(
        extra <= unrecorded,
        "{extra} duplicates, {unrecorded} unrecorded at the kill"
    );
    prop_assert!(results.settled, "the test is settled after the last pass");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_course_with_windows_emails_each_score_and_the_answers_once_never_early(c in case()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(&c))?;
    }
}

#[test]
fn the_oracle_agrees_with_the_documented_example() {
    // 10%/day, floor 50%, 4/4 right, 1 day late: 90% of 5 = 4.5 → 5; 3 days: 3.5 → 4.
    let c = Case {
        students: vec![],
        late: Some((72, 10, 50)),
        at_last_close: false,
        passes: vec![],
        kill: None,
    };
    let w = |h| Who {
        extra_hours: 0,
        extension_hours: 0,
        received_hours: Some(h),
        right: 4,
    };
    assert_eq!(
        [1, 25, 49, 71].map(|h| oracle_grade(&c, &w(h))),
        [5, 4, 4, 4]
    );
    assert_eq!(oracle_grade(&c, &w(-1)), 5);
}
