//! The scorer's decisions, as pure functions: which tests are closed and still
//! have work, who is graded, which grades become new results (and revisions), who
//! is emailed about what, where the journal records the emails, what the report
//! covers. [`plan`] turns a [`Snapshot`] into the effects a pass performs, in order;
//! [`super::execute`] performs them.
//!
//! Why this order is exactly-once: a test's results are written before any email
//! about them, so every email matches what is stored; an email is recorded in the
//! journal (a wave at a time) before the report; and a pass that stops after any
//! prefix of its effects leaves the store so that a fresh plan emails exactly the
//! results that are neither in a results object's `notified` nor in the journal,
//! which are the ones not emailed yet plus, at most, the wave accepted and not
//! recorded when it stopped (the documented duplicate window).

use super::grading::Previous;
use super::held::{HeldResults, HeldScore};
use super::results::Notified;
use super::snapshot::{Graded, Snapshot};
use super::state::{Content, Enrolled, TestState, Windows};
use crate::ids::StudentId;
use crate::model::{Catalog, KeyEntry, Question, Roster, TestMeta};
use crate::windows::{self, Feedback};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// One thing a pass does to the outside world, in plan order. Each performs at
/// most one store write or one send, so a pass killed between two effects is a
/// prefix of its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write test `i`'s results object (new grades and revisions), before any
    /// email about it.
    WriteResults(usize),
    /// Email a student (roster position) every result of `tests` not emailed yet.
    Email { student: usize, tests: Vec<usize> },
    /// Record the emails accepted since the previous wave in one journal object
    /// (nothing to write when none was accepted).
    JournalWave,
    /// The trainer's report about `tests` (and about retried emails), when owed.
    Report { tests: Vec<usize> },
    /// Fold the pass into test `i`'s results: emailed revisions, reported,
    /// settled, the deadline scored for; written when anything changed.
    Settle(usize),
    /// Remove the journal waves read at the start and written by this pass: they
    /// are folded into the results now.
    PurgeJournal,
    /// Mark test `i`'s rescore request done, if the report went out, none of its
    /// emails failed and nobody asked again since it was read.
    MarkRescoreDone(usize),
}

/// A result this pass writes (new or changed): its test and the student's place in
/// the roster (the figures are in the test's results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    pub test: usize,
    pub student: usize,
}

/// What a pass does, worked out from its snapshot.
pub struct Plan {
    pub roster: Roster,
    pub closed_tests: usize,
    /// The tests with work, results updated with this pass's grades.
    pub tests: Vec<TestState>,
    pub journal: Vec<crate::layout::ObjectKey>,
    pub effects: Vec<Effect>,
    /// Results written (new or changed).
    pub scored: Vec<Scored>,
    /// What the trainer should fix, by test.
    pub problems: Vec<String>,
}

/// Tests whose first window has closed and its grace is over, by deadline: the
/// close of a student without extension or extra time (the due, or the end of the
/// late window), since every other window closes later.
pub fn closed_tests(catalog: Catalog, now: DateTime<Utc>) -> Vec<TestMeta> {
    let mut closed: Vec<TestMeta> = catalog
        .tests
        .into_iter()
        // Not at the deadline itself: uploads acknowledged just before it may still
        // be writing (see `deadline::GRADING_GRACE`).
        .filter(|t| windows::base_window(t).gradable(now))
        .collect();
    closed.sort_by(|a, b| {
        (a.due_at, &a.subject, &a.test_id).cmp(&(b.due_at, &b.subject, &b.test_id))
    });
    closed
}

/// Folds the journal's entries about this test into its `notified`; returns
/// whether that changed anything.
pub fn fold_journal(results: &mut HeldResults, journal: &[Notified]) -> bool {
    let mut changed = false;
    let (subject, test_id) = (results.subject.clone(), results.test_id.clone());
    for n in journal
        .iter()
        .filter(|n| n.subject == subject && n.test_id == test_id)
    {
        if results.record(&n.student_id, n.revision, n.withheld) {
            changed = true;
        }
    }
    changed
}

/// Where the test's windows stand at `now` (see [`super::feedback`]).
pub fn windows_at(meta: &TestMeta, roster: &Roster, now: DateTime<Utc>) -> Windows {
    let last_close = windows::last_close(meta, roster);
    Windows {
        last_close,
        reveal: crate::deadline::gradable(last_close, now),
        hold: meta.windows.feedback == Feedback::AtLastClose,
    }
}

/// The last close a settled test records: only when later than the due, so a
/// test without per-student windows keeps the results object it always had.
pub fn scored_last_close(meta: &TestMeta, w: &Windows) -> Option<DateTime<Utc>> {
    (w.last_close != meta.due_at).then_some(w.last_close)
}

/// A settled test is skipped (one read a pass) until a rescore, a moved deadline
/// or last close (a new extension), or journal entries to fold.
pub fn has_work(
    meta: &TestMeta,
    results: &HeldResults,
    w: &Windows,
    rescore: bool,
    folded: bool,
) -> bool {
    !results.settled
        || results.due_at != Some(meta.due_at)
        || results.last_close_at != scored_last_close(meta, w)
        || rescore
        || folded
}

/// A report sent while windows were open is owed again once they have all
/// closed (the trainer then sees every grade and who never submitted). Returns
/// whether the results changed.
pub fn reopen_report(results: &mut HeldResults, w: &Windows) -> bool {
    let reopen = results.reported && results.partial && w.reveal;
    if reopen {
        results.reported = false;
    }
    reopen
}

/// Roster students taking the subject, plus roster students who submitted anyway,
/// each with their own close.
pub fn enrolled(
    roster: &Roster,
    meta: &TestMeta,
    submitted: &BTreeSet<StudentId>,
    now: DateTime<Utc>,
) -> Vec<Enrolled> {
    roster
        .0
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let submitted = submitted.contains(&s.student_id);
            let w = windows::window(meta, s);
            (s.takes(&meta.subject) || submitted).then_some(Enrolled {
                student: i,
                submitted,
                close: w.close,
                gradable: w.gradable(now),
            })
        })
        .collect()
}

/// Who is graded: every enrolled student with a submission and no result yet, or
/// every one on a rescore; nobody while the test is blocked.
pub fn to_grade<'t, 'r: 't>(
    t: &'t TestState,
    roster: &'r Roster,
) -> impl Iterator<Item = &'r StudentId> + 't {
    t.enrolled
        .iter()
        .filter(move |e| grades(t, e, roster))
        .map(|e| &roster.0[e.student].student_id)
}

/// Whether `e` is graded in this pass (see [`to_grade`]): never before their own
/// close + grace, so a late upload is always seen; a rescore request for some
/// students grades only them again.
pub fn grades(t: &TestState, e: &Enrolled, roster: &Roster) -> bool {
    let id = &roster.0[e.student].student_id;
    let asked = t.rescore.is_some() && t.rescore_only.as_ref().is_none_or(|only| only.contains(id));
    e.submitted && e.gradable && !t.blocked && (asked || !t.results.scores.contains_key(id))
}

/// A test's content as read: problems for the trainer, and whether grading is
/// blocked (a file missing). Results graded earlier can still be emailed then,
/// with the texts that are left.
pub fn check_content(
    questions: Option<Vec<Question>>,
    key: Option<Vec<KeyEntry>>,
) -> (Content, Vec<String>, bool) {
    match (questions, key) {
        (Some(questions), Some(key)) => {
            let keyed: BTreeSet<_> = key.iter().map(|e| &e.question_id).collect();
            let problems = questions
                .iter()
                .filter(|q| !keyed.contains(&q.question_id))
                .map(|q| {
                    format!(
                        "question {} has no entry in the answer key; it counts as wrong for everyone",
                        q.question_id
                    )
                })
                .collect();
            (Content { questions, key }, problems, false)
        }
        (q, k) => {
            let what = if q.is_none() {
                "questions.json"
            } else {
                "questionsKey.json"
            };
            let problem =
                format!("{what} is missing; the test cannot be graded until it is published");
            let content = Content {
                questions: q.unwrap_or_default(),
                key: k.unwrap_or_default(),
            };
            (content, vec![problem], true)
        }
    }
}

/// The effects of a pass, in order: results, emails with journal waves every
/// `ledger_batch` emails, the report, then folding everything into the results.
pub fn plan(snapshot: Snapshot, ledger_batch: usize) -> Plan {
    let Snapshot {
        roster,
        closed_tests,
        mut tests,
        graded,
        journal,
        ..
    } = snapshot;
    let mut effects = vec![];
    let mut scored = vec![];
    let mut problems = vec![];
    if !tests.is_empty() {
        let written = decide_grades(&mut tests, &roster, graded, &mut scored);
        effects.extend(written.into_iter().map(Effect::WriteResults));
        effects.extend(emails(&tests, &roster, ledger_batch));
        let reported: Vec<usize> = (0..tests.len())
            .filter(|i| !tests[*i].results.reported || tests[*i].rescore.is_some())
            .collect();
        effects.push(Effect::Report { tests: reported });
        effects.extend((0..tests.len()).map(Effect::Settle));
        effects.push(Effect::PurgeJournal);
        effects.extend(
            (0..tests.len())
                .filter(|i| tests[*i].rescore.is_some() && !tests[*i].blocked)
                .map(Effect::MarkRescoreDone),
        );
        for t in &tests {
            problems.extend(
                t.problems
                    .iter()
                    .map(|p| format!("{}/{}: {p}", t.meta.subject, t.meta.test_id)),
            );
        }
    }
    Plan {
        roster,
        closed_tests,
        tests,
        journal,
        effects,
        scored,
        problems,
    }
}

/// Adopts the fresh grades that differ from the stored ones (a changed one gets
/// the next revision); returns the tests whose results object must be written.
fn decide_grades(
    tests: &mut [TestState],
    roster: &Roster,
    graded: Vec<Vec<Graded>>,
    scored: &mut Vec<Scored>,
) -> BTreeSet<usize> {
    let mut written = BTreeSet::new();
    for g in graded.into_iter().flatten() {
        let t = &mut tests[g.test];
        let student = &roster.0[g.student].student_id;
        let mut fresh = g.score;
        if let Some(old) = t.results.scores.get(student) {
            if t.results.same_result(&fresh, old) {
                continue;
            }
            let old = old.clone();
            fresh = corrected(t, student, fresh, &old);
        }
        t.results.scores.insert(student.clone(), fresh);
        t.dirty = true;
        // The last report went out while windows were open: the trainer hears
        // about the grades that came in since.
        if t.results.partial {
            t.results.reported = false;
        }
        written.insert(g.test);
        scored.push(Scored {
            test: g.test,
            student: g.student,
        });
    }
    written
}

/// A fresh grade replacing `old`: the next revision, remembering what the student
/// was last told (their emailed result, or what an unemailed correction remembered)
/// and the rescore request it answers.
fn corrected(
    t: &mut TestState,
    student: &StudentId,
    fresh: HeldScore,
    old: &HeldScore,
) -> HeldScore {
    let old_full = t.results.expand(student, old);
    let told = if t.results.told(student, old.revision) {
        Some(old_full)
    } else {
        old_full.last_told()
    };
    let mut score = t.results.expand(student, &fresh);
    score.revision = old.revision + 1;
    let request = t.rescore.as_ref().map(|tag| tag.0.clone());
    score.previous = told.map(|told| Box::new(Previous::between(&told, &score, request)));
    t.results.hold_graded(score)
}

/// One email per roster student covering every result they were not told yet, by
/// student id; a journal wave after every `batch` emails and after the last.
fn emails(tests: &[TestState], roster: &Roster, batch: usize) -> Vec<Effect> {
    let mut pending: BTreeMap<&StudentId, Vec<usize>> = BTreeMap::new();
    for (i, t) in tests.iter().enumerate() {
        for id in t.untold() {
            pending.entry(id).or_default().push(i);
        }
    }
    // The last roster entry of a student wins, as in any lookup table.
    let positions: BTreeMap<&StudentId, usize> = roster
        .0
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.student_id, i))
        .collect();
    let mut effects = vec![];
    let mut in_wave = 0;
    // Someone taken off the roster is not emailed.
    for (id, tests) in pending {
        let Some(student) = positions.get(id) else {
            continue;
        };
        effects.push(Effect::Email {
            student: *student,
            tests,
        });
        in_wave += 1;
        if in_wave == batch.max(1) {
            effects.push(Effect::JournalWave);
            in_wave = 0;
        }
    }
    if in_wave > 0 {
        effects.push(Effect::JournalWave);
    }
    effects
}
