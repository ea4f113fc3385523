//! Rescoring that explains itself: a corrected email says what changed, the report
//! lists whose grade changed, and a rescore may name one student (an appeal).
//!
//! The figures are worked out by hand from `sample::answer_of` for test 1 (keys
//! a, b, c, d; question 1's key corrected from a to b):
//!
//! | student | q1..q4 given | before       | after        |
//! |---------|--------------|--------------|--------------|
//! | 0001    | b b a d      | 2/4, grade 3 | 3/4, grade 4 |
//! | 0002    | a b a d      | 3/4, grade 4 | 2/4, grade 3 |
//! | 0003    | a b a d      | 3/4, grade 4 | 2/4, grade 3 |
//! | 0004    | a b c d      | 4/4, grade 5 | 3/4, grade 4 |

use super::grading::KeyChange;
use super::inspect;
use super::ledger;
use super::points::Points;
use super::results::TestResults;
use super::sample;
use super::score_pass;
use super::tests::{
    after_deadline, assert_balanced, config, killed_then_rerun, pass, seeded, subjects, ManualClock,
};
use crate::ids::{AnswerId, QuestionId, StudentId};
use crate::layout;
use crate::model::KeyEntry;
use crate::ports::ObjectStore;
use crate::store_json;
use crate::testing::{DiesAfter, MemoryMailer, MemoryStore};
use chrono::Duration;
use chrono::{DateTime, Utc};

/// The trainer corrects question 1 of test 1 from "a" to "b".
async fn correct_the_key(store: &MemoryStore) {
    let (s, t) = (sample::subject_of(0), sample::test_of(0));
    let mut key: Vec<KeyEntry> = store_json::read(store, &layout::answer_key(&s, &t))
        .await
        .unwrap()
        .unwrap();
    key[0].answer = AnswerId::parse("b").unwrap().into();
    store_json::write(store, &layout::answer_key(&s, &t), &key)
        .await
        .unwrap();
}

/// Asks for a rescore of test 1, of one student or all, as `trainer score
/// --rescore` does.
async fn ask(store: &MemoryStore, student: Option<&str>) {
    let (s, t) = (sample::subject_of(0), sample::test_of(0));
    let marker = layout::rescore_marker(&s, &t);
    let waiting = store.get(&marker).await.unwrap();
    let student = student.map(|id| StudentId::parse(id).unwrap());
    let body = ledger::rescore_request(
        waiting.as_deref(),
        &s,
        &t,
        student.as_ref(),
        DateTime::<Utc>::UNIX_EPOCH,
    );
    store.put(&marker, body).await.unwrap();
}

fn to(student: &str) -> String {
    format!("{student}@example.com")
}

/// The plain text of the message sent to `address`, among `sent`.
fn text_to(mailer: &MemoryMailer, address: &str) -> Vec<String> {
    mailer
        .sent()
        .iter()
        .filter(|(to, _)| to.join(",") == address)
        .map(|(_, raw)| {
            inspect::parse(raw)
                .part("text/plain")
                .map(|p| p.text())
                .unwrap_or_default()
        })
        .collect()
}

async fn stored(store: &MemoryStore) -> TestResults {
    TestResults::load(store, &sample::subject_of(0), &sample::test_of(0))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_corrected_email_says_the_old_and_new_score_grade_and_key() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    correct_the_key(&store).await;
    ask(&store, None).await;
    let before = mailer.sent().len();
    pass(&store, &mailer, after_deadline()).await;

    let texts = text_to(&mailer, &to("student0002"));
    let corrected = texts.last().unwrap();
    assert_eq!(texts.len(), 2, "the first result and the correction");
    for line in [
        "What changed since the result you were sent before:",
        "Score: 3 / 4 points (75.0%) before, now 2 / 4 points (50.0%)",
        "Grade: 4 / 5 before, now 3 / 5",
        "Question 1 (Question 1 of test 1: which <option> is right?): the correct answer was a) Option a & more, it is now b) Option b & more",
    ] {
        assert!(corrected.contains(line), "{line:?} missing from:\n{corrected}");
    }
    assert!(
        !corrected.contains("Question 2 ("),
        "only questions whose key changed"
    );
    // The first email of a result says nothing about changes.
    assert!(!texts[0].contains("What changed"));
    for (_, raw) in &mailer.sent()[before..] {
        let html = inspect::parse(raw).part("text/html").unwrap().text();
        assert_balanced(&html);
        assert!(!html.contains("<option>"), "texts are escaped");
    }

    let stored = stored(&store).await;
    let previous = stored.scores[&sample::student_of(1)]
        .previous
        .clone()
        .unwrap();
    assert_eq!(
        (previous.revision, previous.points, previous.grade),
        (0, Points::whole(3), 4)
    );
    assert_eq!(
        previous.key_changes,
        vec![KeyChange {
            question_id: QuestionId::parse("1").unwrap(),
            old: Some(AnswerId::parse("a").unwrap().into()),
            new: Some(AnswerId::parse("b").unwrap().into()),
            old_text: None,
            new_text: None,
        }],
        "stored without texts"
    );
}

/// The report's lines about changed grades.
fn report_changes(mailer: &MemoryMailer, from: usize) -> Vec<String> {
    let sent = mailer.sent();
    let (_, raw) = sent[from..]
        .iter()
        .rev()
        .find(|(to, _)| to.join(",") == "trainer@example.com")
        .expect("a report");
    let text = inspect::parse(raw).part("text/plain").unwrap().text();
    let start = text
        .find("Grades changed by this rescore")
        .expect("the report lists the changes");
    text[start..]
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Problem"))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn the_rescore_report_lists_every_student_whose_grade_changed() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    correct_the_key(&store).await;
    ask(&store, None).await;
    let before = mailer.sent().len();
    let summary = pass(&store, &mailer, after_deadline()).await;
    assert_eq!(
        report_changes(&mailer, before),
        vec![
            "Grades changed by this rescore: 4",
            "student0001  grade 3 -> 4  points 2/4 -> 3/4",
            "student0002  grade 4 -> 3  points 3/4 -> 2/4",
            "student0003  grade 4 -> 3  points 3/4 -> 2/4",
            "student0004  grade 5 -> 4  points 4/4 -> 3/4",
        ]
    );
    let was: Vec<(String, Option<u32>, u32)> = summary
        .scored
        .iter()
        .map(|s| (s.student_id.to_string(), s.previous_grade, s.grade))
        .collect();
    assert_eq!(
        was,
        vec![
            ("student0001".into(), Some(3), 4),
            ("student0002".into(), Some(4), 3),
            ("student0003".into(), Some(4), 3),
            ("student0004".into(), Some(5), 4),
        ]
    );
}

#[tokio::test]
async fn rescoring_one_student_regrades_and_emails_only_that_student() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    correct_the_key(&store).await;
    ask(&store, Some("student0002")).await;
    let before = mailer.sent().len();
    let summary = pass(&store, &mailer, after_deadline()).await;
    let sent = subjects(&mailer)[before..].to_vec();
    assert_eq!(
        sent,
        vec![
            (
                to("student0002"),
                "[operating-systems] [test01] Test score (corrected)".into()
            ),
            (
                "trainer@example.com".into(),
                "[Ework] Scores report: operating-systems/test01".into()
            ),
        ]
    );
    assert_eq!(summary.scored.len(), 1);
    assert_eq!(
        report_changes(&mailer, before),
        vec![
            "Grades changed by this rescore: 1",
            "student0002  grade 4 -> 3  points 3/4 -> 2/4",
        ]
    );
    let results = stored(&store).await;
    assert_eq!(results.scores[&sample::student_of(0)].revision, 0);
    assert_eq!(results.scores[&sample::student_of(0)].grade, 3, "untouched");
    assert_eq!(results.scores[&sample::student_of(1)].revision, 1);
    let marker = store
        .get(&layout::rescore_marker(
            &sample::subject_of(0),
            &sample::test_of(0),
        ))
        .await
        .unwrap()
        .unwrap();
    assert!(!ledger::rescore_requested(&marker), "handled");

    // A later rescore of the whole test corrects the others; its report lists
    // only the grades it changed.
    ask(&store, None).await;
    let before = mailer.sent().len();
    pass(&store, &mailer, after_deadline()).await;
    assert_eq!(
        subjects(&mailer)[before..].len(),
        4,
        "three students + report"
    );
    assert_eq!(
        report_changes(&mailer, before),
        vec![
            "Grades changed by this rescore: 3",
            "student0001  grade 3 -> 4  points 2/4 -> 3/4",
            "student0003  grade 4 -> 3  points 3/4 -> 2/4",
            "student0004  grade 5 -> 4  points 4/4 -> 3/4",
        ]
    );
    let again = pass(&store, &mailer, after_deadline()).await;
    assert!(again.sent.is_empty() && again.report.is_none());
}

#[tokio::test]
async fn two_appeals_accepted_before_the_next_pass_are_both_rescored() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    correct_the_key(&store).await;
    ask(&store, Some("student0002")).await;
    ask(&store, Some("student0004")).await;
    let before = mailer.sent().len();
    pass(&store, &mailer, after_deadline()).await;
    let to_students: Vec<String> = subjects(&mailer)[before..]
        .iter()
        .map(|(to, _)| to.clone())
        .filter(|to| to != "trainer@example.com")
        .collect();
    assert_eq!(to_students, vec![to("student0002"), to("student0004")]);
}

#[tokio::test]
async fn a_pass_killed_after_writing_corrections_leaves_them_explained_by_the_next() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    correct_the_key(&store).await;
    ask(&store, None).await;
    // Dies at the second email: the results are written, one correction is sent.
    let (first, second) = killed_then_rerun(&store, 1, 1).await;
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 4, "three corrections + report: {second:?}");
    assert!(!second.contains(&first[0]), "nobody emailed twice");
    let results = stored(&store).await;
    for i in 0..4 {
        let score = &results.scores[&sample::student_of(i)];
        assert_eq!(score.revision, 1, "one correction each");
        assert_eq!(score.previous.as_ref().map(|p| p.revision), Some(0));
    }
}

#[tokio::test]
async fn a_correction_of_a_correction_never_sent_compares_with_what_was_sent() {
    let store = seeded().await;
    let mailer = MemoryMailer::default();
    pass(&store, &mailer, after_deadline()).await;
    correct_the_key(&store).await;
    ask(&store, Some("student0002")).await;
    // The pass dies as it hands over its first email: revision 1 is stored, never
    // sent. Then the key changes again (question 2: b to c) before the next pass.
    assert!(killed_at(&store, 0).await.is_empty());
    let (s, t) = (sample::subject_of(0), sample::test_of(0));
    let mut key: Vec<KeyEntry> = store_json::read(&store, &layout::answer_key(&s, &t))
        .await
        .unwrap()
        .unwrap();
    key[1].answer = AnswerId::parse("c").unwrap().into();
    store_json::write(&store, &layout::answer_key(&s, &t), &key)
        .await
        .unwrap();
    ask(&store, Some("student0002")).await;
    let before = mailer.sent().len();
    pass(&store, &mailer, after_deadline()).await;
    let texts = text_to(&mailer, &to("student0002"));
    assert_eq!(mailer.sent().len() - before, 2, "one correction + report");
    let corrected = texts.last().unwrap();
    // Student 0002 gave a, b, a, d: against a, b, c, d that was 3/4; against
    // b, c, c, d it is 1/4 (grade 1 of 5: 1.25 rounds down).
    for line in [
        "Score: 3 / 4 points (75.0%) before, now 1 / 4 points (25.0%)",
        "Grade: 4 / 5 before, now 1 / 5",
        "Question 1 (Question 1 of test 1: which <option> is right?): the correct answer was a) Option a & more, it is now b) Option b & more",
        "Question 2 (Question 2 of test 1: which <option> is right?): the correct answer was b) Option b & more, it is now c) Option c & more",
    ] {
        assert!(corrected.contains(line), "{line:?} missing from:\n{corrected}");
    }
    let score = &stored(&store).await.scores[&sample::student_of(1)];
    assert_eq!(score.revision, 2);
    assert_eq!(score.previous.as_ref().map(|p| p.revision), Some(0));
}

#[tokio::test]
async fn at_every_kill_point_each_correction_is_sent_once_and_the_report_lists_all_four() {
    // Four corrections and the report: killed at each of the five sends.
    for limit in 0..5 {
        let store = seeded().await;
        let mailer = MemoryMailer::default();
        pass(&store, &mailer, after_deadline()).await;
        correct_the_key(&store).await;
        ask(&store, None).await;
        let first = killed_at(&store, limit).await;
        let rerun = MemoryMailer::default();
        pass(&store, &rerun, after_deadline()).await;
        let mut students: Vec<String> = first
            .iter()
            .chain(&subjects(&rerun))
            .map(|(to, _)| to.clone())
            .filter(|to| to != "trainer@example.com")
            .collect();
        students.sort();
        let want: Vec<String> = (1..=4).map(|i| to(&format!("student000{i}"))).collect();
        assert_eq!(students, want, "killed at send {limit}");
        // The report comes from the rerun, after a pass that may have sent some
        // corrections already: it still lists every change of the request.
        assert_eq!(report_changes(&rerun, 0).len(), 5, "killed at send {limit}");
    }
}

#[tokio::test]
async fn at_every_kill_point_an_appeal_is_answered_once_and_nobody_else_hears() {
    // Two appeals, so two corrections and the report: killed at each of the sends.
    for limit in 0..3 {
        let store = seeded().await;
        let mailer = MemoryMailer::default();
        pass(&store, &mailer, after_deadline()).await;
        correct_the_key(&store).await;
        ask(&store, Some("student0002")).await;
        ask(&store, Some("student0004")).await;
        let first = killed_at(&store, limit).await;
        let rerun = MemoryMailer::default();
        pass(&store, &rerun, after_deadline()).await;
        let mut students: Vec<String> = first
            .iter()
            .chain(&subjects(&rerun))
            .map(|(to, _)| to.clone())
            .filter(|to| to != "trainer@example.com")
            .collect();
        students.sort();
        assert_eq!(
            students,
            vec![to("student0002"), to("student0004")],
            "killed at send {limit}"
        );
        assert_eq!(report_changes(&rerun, 0).len(), 3, "killed at send {limit}");
        let results = stored(&store).await;
        let revisions: Vec<u32> = (0..4)
            .map(|i| results.scores[&sample::student_of(i)].revision)
            .collect();
        assert_eq!(revisions, vec![0, 1, 0, 1], "killed at send {limit}");
        let again = pass(&store, &rerun, after_deadline()).await;
        assert!(again.sent.is_empty() && again.report.is_none());
    }
}

/// Runs a pass that dies when it hands over email number `limit + 1` (one email a
/// journal wave); returns what it sent. Its clock runs an hour behind, so its lease
/// has expired for the next pass on the real clock.
pub(super) async fn killed_at(store: &MemoryStore, limit: usize) -> Vec<(String, String)> {
    let dying = DiesAfter {
        inner: MemoryMailer::default(),
        limit,
        calls: 0.into(),
        died: Default::default(),
    };
    let mut cfg = config();
    cfg.lease_ttl = std::time::Duration::from_millis(50);
    cfg.ledger_batch = 1;
    cfg.clock = std::sync::Arc::new(ManualClock::new(Utc::now() - Duration::hours(1)));
    tokio::select! {
        _ = score_pass(store, &dying, &cfg, after_deadline()) => panic!("the run should have been killed"),
        () = dying.died.notified() => {}
    }
    subjects(&dying.inner)
}
