//! What a pass knows as it goes: each test's results (held compactly), the emails
//! accepted and not yet recorded in the journal (the open wave), failures, whether
//! the report went out. The executor performs an effect and hands its outcome to
//! the rules here, which are pure: the same outcomes give the same state.

use super::correction::GradeChange;
use super::email::{FailedSend, GradeRow, Report, ReportTest};
use super::feedback::{self, Stage};
use super::grading::Score;
use super::held::HeldResults;
use super::items::{analyse_scores, items_from_scores, items_of, ItemAnalysis};
use super::plan::Scored;
use super::results::{fill_texts, JournalWave, Notified};
use super::run::ScoredItem;
use super::stats::TestStats;
use crate::ids::StudentId;
use crate::model::{KeyEntry, Question, Roster, Student, TestMeta};
use crate::ports::Etag;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// A student enrolled in a test: taking its subject, or having submitted anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolled {
    /// Their place in the roster.
    pub student: usize,
    pub submitted: bool,
    /// Their own close (see [`crate::windows::window`]).
    pub close: DateTime<Utc>,
    /// Their own close + grace has passed: their answers may be graded.
    pub gradable: bool,
}

/// Where a test's windows stand at the pass's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// The last close over the students who take the test.
    pub last_close: DateTime<Utc>,
    /// Every window has closed (+ grace): emails may carry the correct answers.
    pub reveal: bool,
    /// `"feedback": "at-last-close"`: no email before `reveal`.
    pub hold: bool,
}

/// The test's questions and answer key (what is left of them when one is missing).
#[derive(Debug, Default)]
pub struct Content {
    pub questions: Vec<Question>,
    pub key: Vec<KeyEntry>,
}

/// One closed test that still has work in this pass.
#[derive(Debug)]
pub struct TestState {
    pub meta: TestMeta,
    /// The tag of the rescore request being handled: it is marked done only if
    /// nobody asked again since it was read.
    pub rescore: Option<Etag>,
    /// The students that request names (an accepted appeal); `None`: everyone.
    pub rescore_only: Option<BTreeSet<StudentId>>,
    /// The results object, updated in memory as the pass goes.
    pub results: HeldResults,
    /// `results` differs from what is stored.
    pub dirty: bool,
    pub enrolled: Vec<Enrolled>,
    pub windows: Windows,
    /// Read only when there is something to grade or to email.
    pub content: Option<Arc<Content>>,
    /// Questions or key missing: nothing can be graded until the trainer fixes it.
    pub blocked: bool,
    /// An email covering this test failed in this pass.
    pub failed: bool,
    pub problems: Vec<String>,
}

impl TestState {
    fn questions(&self) -> &[Question] {
        self.content
            .as_ref()
            .map_or(&[], |c| c.questions.as_slice())
    }

    /// Who is owed an email about this test now: a result not emailed at its
    /// revision, or emailed without the answers that may now be revealed (see
    /// [`super::feedback`]).
    pub fn untold(&self) -> impl Iterator<Item = &StudentId> {
        self.results
            .scores
            .iter()
            .filter(|(id, s)| self.stage(id, s.revision).is_some())
            .map(|(id, _)| id)
    }

    /// The email owed to a student about their result at `revision`, if any.
    pub fn stage(&self, student: &StudentId, revision: u32) -> Option<Stage> {
        let r = &self.results;
        feedback::owed(
            r.told(student, revision),
            r.answered(student, revision),
            self.windows.reveal,
            self.windows.hold,
        )
    }

    /// The windows still open (students not gradable yet), for the report.
    pub fn open_windows(&self, roster: &Roster) -> Vec<(StudentId, DateTime<Utc>)> {
        let mut open: Vec<(StudentId, DateTime<Utc>)> = self
            .enrolled
            .iter()
            .filter(|e| !e.gradable)
            .map(|e| (roster.0[e.student].student_id.clone(), e.close))
            .collect();
        open.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        open
    }
}

/// How often the trainer hears again of an email that keeps failing (an address
/// SES rejects, a sandboxed account): passes run every 15 minutes and retry it
/// each time, but a report every pass would be 96 a day.
pub const FAILURES_REPORTED_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// The state of a pass between effects.
pub struct PassState {
    pub tests: Vec<TestState>,
    pub roster: Roster,
    /// Roster positions by student id.
    positions: HashMap<StudentId, usize>,
    /// Emails accepted by the mail service and not recorded yet: (test, entry).
    pub wave: Vec<(usize, Notified)>,
    /// Student emails sent for tests reported earlier (retries, late fixes).
    pub retried: Vec<String>,
    pub failed: Vec<FailedSend>,
    /// The trainer's report was accepted, or none was owed.
    pub report_done: bool,
}

impl PassState {
    pub fn new(tests: Vec<TestState>, roster: Roster) -> Self {
        // The last entry of a student wins, as in any lookup table.
        let positions = roster
            .0
            .iter()
            .enumerate()
            .map(|(i, s)| (s.student_id.clone(), i))
            .collect();
        Self {
            tests,
            roster,
            positions,
            wave: vec![],
            retried: vec![],
            failed: vec![],
            report_done: false,
        }
    }

    /// The roster entry of a student.
    pub fn student(&self, id: &StudentId) -> Option<&Student> {
        self.positions.get(id).map(|i| &self.roster.0[*i])
    }

    /// The student's results in `tests`, whole and with their texts, for one email.
    /// This is the only place a pass holds per-question detail, and only for the
    /// email being written.
    pub fn email_scores(&self, student: &StudentId, tests: &[usize]) -> Vec<(Score, Stage)> {
        tests
            .iter()
            .filter_map(|i| {
                let t = &self.tests[*i];
                let held = t.results.scores.get(student)?;
                let stage = t.stage(student, held.revision)?;
                let mut score = t.results.expand(student, held);
                fill_texts(&mut score, t.questions());
                Some((score, stage))
            })
            .collect()
    }

    /// An email about tests reported earlier, and not on a rescore: the trainer
    /// hears about it in a short report.
    pub fn is_retry(&self, tests: &[usize]) -> bool {
        tests.iter().any(|i| {
            let t = &self.tests[*i];
            t.results.reported && t.rescore.is_none()
        })
    }

    /// The mail service accepted the email: its results join the open wave.
    pub fn accepted(&mut self, student: &StudentId, tests: &[usize], message_id: &str) {
        for i in tests {
            let t = &self.tests[*i];
            let Some(held) = t.results.scores.get(student) else {
                continue;
            };
            let Some(stage) = t.stage(student, held.revision) else {
                continue;
            };
            let entry = Notified {
                subject: t.meta.subject.clone(),
                test_id: t.meta.test_id.clone(),
                student_id: student.clone(),
                revision: held.revision,
                message_id: message_id.to_owned(),
                withheld: stage == Stage::Withheld,
            };
            self.wave.push((*i, entry));
        }
    }

    /// The email failed: it is listed in the report and sent by the next pass.
    pub fn send_failed(&mut self, tests: &[usize], failure: FailedSend) {
        self.failed.push(failure);
        for i in tests {
            self.tests[*i].failed = true;
        }
    }

    /// The journal object recording the open wave; `None` when it is empty.
    pub fn wave_record(&self, sent_at: DateTime<Utc>) -> Option<JournalWave> {
        (!self.wave.is_empty()).then(|| JournalWave {
            sent_at: Some(sent_at),
            items: self.wave.iter().map(|(_, n)| n.clone()).collect(),
        })
    }

    /// The open wave was written: its emails count as told.
    pub fn wave_recorded(&mut self) {
        for (i, n) in self.wave.drain(..) {
            let t = &mut self.tests[i];
            if t.results.record(&n.student_id, n.revision, n.withheld) {
                t.dirty = true;
            }
        }
    }

    /// Whether the trainer is owed a report: for tests not reported yet (or
    /// rescored), after retried emails that went out, and for emails that failed
    /// again, at most once every [`FAILURES_REPORTED_EVERY`] per test.
    pub fn report_due(&self, tests: &[usize], now: DateTime<Utc>) -> bool {
        !tests.is_empty()
            || !self.retried.is_empty()
            || self.tests.iter().any(|t| {
                t.failed
                    && t.results.reported
                    && t.results
                        .failures_reported_at
                        .is_none_or(|at| now - at >= FAILURES_REPORTED_EVERY)
            })
    }

    /// The report that went out listed this pass's failed emails: remember when, per
    /// test, so the next passes retry them without mailing the trainer each time.
    pub fn failures_reported(&mut self, now: DateTime<Utc>) {
        for t in self.tests.iter_mut().filter(|t| t.failed) {
            t.results.failures_reported_at = Some(now);
            t.dirty = true;
        }
    }

    /// The report about `tests`, with this pass's failures and retries.
    pub fn report(
        &self,
        tests: &[usize],
        generated_at: DateTime<Utc>,
        time_zone: Tz,
        max_grade: u32,
    ) -> Report<'_> {
        Report {
            generated_at,
            time_zone,
            max_grade,
            tests: tests
                .iter()
                .map(|i| self.report_test(&self.tests[*i], max_grade))
                .collect(),
            failed: self.failed.clone(),
            retried: self.retried.clone(),
        }
    }

    fn report_test<'a>(&'a self, t: &'a TestState, max_grade: u32) -> ReportTest<'a> {
        // Roster students only: someone removed from the roster is not in the report.
        let students = &self.roster.0;
        let scores: Vec<GradeRow> = t
            .enrolled
            .iter()
            .filter_map(|e| {
                let student = &students[e.student];
                let id = &student.student_id;
                let s = t.results.scores.get(id)?;
                Some(GradeRow {
                    student_id: id,
                    name: student.name.as_deref(),
                    points: s.points,
                    total: s.total,
                    percentage: s.percentage,
                    grade: s.grade,
                    max_grade: s.max_grade,
                })
            })
            .collect();
        let grades: Vec<u32> = scores.iter().map(|s| s.grade).collect();
        // A student whose window is still open is not missing yet: they are listed
        // with their close instead.
        let missing: Vec<&Student> = t
            .enrolled
            .iter()
            .filter(|e| !e.submitted && e.gradable)
            .map(|e| &students[e.student])
            .collect();
        ReportTest {
            meta: t.meta.clone(),
            rescored: t.rescore.is_some(),
            changes: self.changes(t),
            stats: TestStats::of(&grades, t.enrolled.len(), max_grade),
            items: self.item_analysis(t),
            scores,
            missing,
            problems: t.problems.clone(),
            open_windows: t.open_windows(&self.roster),
        }
    }

    /// The roster students whose result the rescore being handled changed, read
    /// from the stored results (each correction names its request), so a report
    /// sent again after a stopped pass lists them too.
    fn changes<'a>(&'a self, t: &'a TestState) -> Vec<GradeChange<'a>> {
        let Some(tag) = &t.rescore else {
            return vec![];
        };
        t.enrolled
            .iter()
            .filter_map(|e| {
                let id = &self.roster.0[e.student].student_id;
                let s = t.results.scores.get(id)?;
                let p = s
                    .previous()
                    .filter(|p| p.request.as_deref() == Some(tag.0.as_str()))?;
                Some(GradeChange {
                    student_id: id,
                    old_points: p.points,
                    old_total: p.total,
                    old_grade: p.grade,
                    points: s.points,
                    total: s.total,
                    grade: s.grade,
                })
            })
            .collect()
    }

    /// The item analysis of the results of roster students (as in the grades
    /// table), each expanded in turn: a big test is never held twice.
    fn item_analysis(&self, t: &TestState) -> ItemAnalysis {
        let students = &self.roster.0;
        let each = |visit: &mut dyn FnMut(&Score)| {
            for e in &t.enrolled {
                let id = &students[e.student].student_id;
                if let Some(held) = t.results.scores.get(id) {
                    visit(&t.results.expand(id, held));
                }
            }
        };
        let items = match t.content.as_deref() {
            Some(c) if !c.questions.is_empty() => items_of(&c.questions, &c.key),
            _ => items_from_scores(each),
        };
        analyse_scores(&items, each)
    }

    /// The report was accepted: its tests are reported (unless blocked, so the
    /// trainer hears about them again once they can be graded).
    pub fn reported(&mut self, tests: &[usize]) {
        for i in tests {
            let t = &mut self.tests[*i];
            if !t.blocked && !t.results.reported {
                t.results.reported = true;
                t.dirty = true;
            }
            // Sent while windows were open: the trainer hears again once they close.
            let partial = !t.windows.reveal;
            if !t.blocked && t.results.partial != partial {
                t.results.partial = partial;
                t.dirty = true;
            }
        }
        self.report_done = true;
    }

    /// Folds the pass into the test's flags: settled once reported and every
    /// roster student emailed at their result's revision. Returns whether the
    /// results object needs writing.
    pub fn settle(&mut self, i: usize) -> bool {
        let t = &mut self.tests[i];
        let settled = t.results.reported
            && !t.blocked
            && !t.failed
            && t.windows.reveal
            && t.results
                .scores
                .iter()
                // Someone taken off the roster is never emailed; they do not keep
                // the test open.
                .all(|(id, s)| {
                    t.results.answered(id, s.revision) || !self.positions.contains_key(id)
                });
        let last_close = super::plan::scored_last_close(&t.meta, &t.windows);
        if settled != t.results.settled
            || t.results.due_at != Some(t.meta.due_at)
            || t.results.last_close_at != last_close
        {
            t.results.settled = settled;
            t.results.due_at = Some(t.meta.due_at);
            t.results.last_close_at = last_close;
            t.dirty = true;
        }
        t.dirty
    }

    /// The summary's list of results written, by subject, test and student.
    pub fn scored_items(&self, scored: &[Scored]) -> Vec<ScoredItem> {
        let mut items: Vec<ScoredItem> = scored
            .iter()
            .filter_map(|s| {
                let t = &self.tests[s.test];
                let id = &self.roster.0[s.student].student_id;
                let held = t.results.scores.get(id)?;
                Some(ScoredItem {
                    subject: t.meta.subject.clone(),
                    test_id: t.meta.test_id.clone(),
                    student_id: id.clone(),
                    points: held.points,
                    total: held.total,
                    grade: held.grade,
                    revision: held.revision,
                    previous_grade: held.previous().map(|p| p.grade),
                })
            })
            .collect();
        items.sort_by(|a, b| {
            (&a.subject, &a.test_id, &a.student_id).cmp(&(&b.subject, &b.test_id, &b.student_id))
        });
        items
    }

    /// A handled rescore request is marked done once the report is out and none
    /// of the test's emails failed (else the next pass retries them).
    pub fn may_mark_done(&self, i: usize) -> bool {
        let t = &self.tests[i];
        self.report_done && !t.blocked && !t.failed && t.rescore.is_some()
    }
}
