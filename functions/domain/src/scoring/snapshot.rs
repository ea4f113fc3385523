//! Reading what a pass starts from: catalog, roster, rescore requests with their
//! tags, the journal, each closed test's results object, the listing and content
//! of the tests with work left, and their submissions (graded as they are read).
//! Which of these to read is decided by the pure rules of [`super::plan`]; this
//! module only does the reading, with bounded concurrency.
//!
//! What it costs: 1 GET catalog, 1 GET roster, 1 LIST rescore requests (+ 1 GET
//! each), 1 LIST journal (+ 1 GET a wave), 1 GET results per closed test; for tests
//! with work left, 1 LIST of the test, questions and key, 1 GET per submission to grade.

use super::budget::{Budget, Stop};
use super::grading::{self, Score, TestContent};
use super::held::{HeldResults, HeldScore};
use super::plan;
use super::results::{JournalWave, Notified};
use super::state::TestState;
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey, JOURNAL_PREFIX, SUBMISSION};
use crate::model::{Catalog, KeyEntry, Question, Roster, Student, Submission, TestMeta};
use crate::ports::{Etag, ObjectStore, StoreError};
use crate::store_json;
use crate::windows;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Submissions graded a batch at a time, with a time check before each batch.
const GRADING_BATCH: usize = 512;

/// Everything a plan is made from.
pub struct Snapshot {
    pub now: DateTime<Utc>,
    pub roster: Roster,
    /// Tests past their deadline's grace.
    pub closed_tests: usize,
    /// The closed tests with work left, in deadline order, with the journal's
    /// entries folded into their results.
    pub tests: Vec<TestState>,
    /// Submissions read and graded, not compared with the stored results yet (a
    /// batch at a time: no one allocation grows with the course).
    pub graded: Vec<Vec<Graded>>,
    /// Journal waves left by passes that stopped before folding them.
    pub journal: Vec<ObjectKey>,
}

/// A submission read and graded.
pub struct Graded {
    pub test: usize,
    /// The student's place in the roster.
    pub student: usize,
    pub score: HeldScore,
}

/// What the scorer reads with, besides the store.
#[derive(Clone, Copy)]
pub struct Reading<'a> {
    pub store: &'a dyn ObjectStore,
    pub now: DateTime<Utc>,
    pub max_grade: u32,
    pub concurrency: usize,
    pub budget: &'a Budget,
}

/// The course as the pass sees it: the roster and the tests past their grace.
pub struct Course {
    pub roster: Roster,
    pub closed: Vec<TestMeta>,
}

/// Reads catalog and roster.
pub async fn read_course(
    store: &dyn ObjectStore,
    now: DateTime<Utc>,
) -> Result<Course, StoreError> {
    let catalog: Catalog = store_json::read(store, &layout::catalog())
        .await?
        .unwrap_or_default();
    let roster: Roster = store_json::read(store, &layout::roster())
        .await?
        .unwrap_or_default();
    Ok(Course {
        roster,
        closed: plan::closed_tests(catalog, now),
    })
}

/// Reads the rest of the snapshot of a pass.
pub async fn read(r: Reading<'_>, course: Course) -> Result<Snapshot, Stop> {
    let Course { roster, closed } = course;
    let mut snapshot = Snapshot {
        now: r.now,
        roster,
        closed_tests: closed.len(),
        tests: vec![],
        graded: vec![],
        journal: vec![],
    };
    if closed.is_empty() {
        return Ok(snapshot);
    }
    let rescore = rescore_requests(r.store).await?;
    let (journal, entries) = read_journal(r.store).await?;
    snapshot.journal = journal;
    snapshot.tests = load_tests(r, closed, &snapshot.roster, &rescore, &entries).await?;
    if snapshot.tests.is_empty() {
        return Ok(snapshot);
    }
    r.budget.check("time ran low while listing")?;
    for t in &mut snapshot.tests {
        load_content(r.store, t, &snapshot.roster).await?;
    }
    snapshot.graded = grade(r, &mut snapshot.tests, &snapshot.roster).await?;
    Ok(snapshot)
}

/// Active rescore requests by test: the tag each was read with and the students it
/// names (`None`: all).
type Requests = BTreeMap<(SubjectName, TestId), (Etag, Option<BTreeSet<StudentId>>)>;

/// Active rescore requests, with the tag each was read with.
async fn rescore_requests(store: &dyn ObjectStore) -> Result<Requests, StoreError> {
    let mut active = BTreeMap::new();
    for o in store.list(layout::RESCORE_PREFIX).await? {
        let Some(ids) = layout::parse_rescore_marker(o.key.as_str()) else {
            continue;
        };
        if let Some((bytes, tag)) = store.get_tagged(&o.key).await? {
            if super::ledger::rescore_requested(&bytes) {
                active.insert(ids, (tag, super::ledger::rescore_students(&bytes)));
            }
        }
    }
    Ok(active)
}

/// The journal left by passes that stopped before folding it into the results.
async fn read_journal(
    store: &dyn ObjectStore,
) -> Result<(Vec<ObjectKey>, Vec<Notified>), StoreError> {
    let keys: Vec<ObjectKey> = store
        .list(JOURNAL_PREFIX)
        .await?
        .into_iter()
        .map(|o| o.key)
        .collect();
    let mut entries = vec![];
    for key in &keys {
        // An unreadable wave cannot tell who was emailed; failing the pass beats
        // emailing its students again.
        if let Some(wave) = store_json::read::<JournalWave>(store, key).await? {
            entries.extend(wave.items);
        }
    }
    Ok((keys, entries))
}

/// One read per closed test; one listing more for each test with work left.
async fn load_tests(
    r: Reading<'_>,
    closed: Vec<TestMeta>,
    roster: &Roster,
    rescore: &Requests,
    journal: &[Notified],
) -> Result<Vec<TestState>, StoreError> {
    let futures: Vec<_> = closed
        .into_iter()
        .map(|meta| load_test(r.store, r.now, meta, roster, rescore, journal))
        .collect();
    let loaded: Vec<Result<Option<TestState>, StoreError>> = stream::iter(futures)
        .buffered(r.concurrency.max(1))
        .collect()
        .await;
    let mut tests = vec![];
    for t in loaded {
        tests.extend(t?);
    }
    Ok(tests)
}

async fn load_test(
    store: &dyn ObjectStore,
    now: DateTime<Utc>,
    meta: TestMeta,
    roster: &Roster,
    rescore: &Requests,
    journal: &[Notified],
) -> Result<Option<TestState>, StoreError> {
    let (s, t) = (&meta.subject, &meta.test_id);
    let key = layout::results(s, t);
    let mut results = match store.get(&key).await? {
        Some(bytes) => HeldResults::from_json(&bytes, s, t)
            .map_err(|e| StoreError::Failed(format!("{key} is not valid: {e}")))?,
        None => HeldResults::empty(s.clone(), t.clone()),
    };
    let mut dirty = plan::fold_journal(&mut results, journal);
    let (rescore, rescore_only) = match rescore.get(&(s.clone(), t.clone())).cloned() {
        Some((tag, only)) => (Some(tag), only),
        None => (None, None),
    };
    let windows = plan::windows_at(&meta, roster, now);
    if !plan::has_work(&meta, &results, &windows, rescore.is_some(), dirty) {
        return Ok(None);
    }
    dirty |= plan::reopen_report(&mut results, &windows);
    let submitted: BTreeSet<StudentId> = store
        .list(&layout::test_prefix(s, t))
        .await?
        .iter()
        .filter_map(|o| layout::parse_student_object(o.key.as_str()))
        .filter(|so| so.file == SUBMISSION)
        .map(|so| so.student)
        .collect();
    let enrolled = plan::enrolled(roster, &meta, &submitted, now);
    Ok(Some(TestState {
        meta,
        rescore,
        rescore_only,
        results,
        dirty,
        enrolled,
        windows,
        content: None,
        blocked: false,
        failed: false,
        problems: vec![],
    }))
}

/// Reads questions and key of a test that has something to grade or to email.
async fn load_content(
    store: &dyn ObjectStore,
    t: &mut TestState,
    roster: &Roster,
) -> Result<(), StoreError> {
    if plan::to_grade(t, roster).next().is_none() && t.untold().next().is_none() {
        return Ok(());
    }
    let (s, id) = (&t.meta.subject, &t.meta.test_id);
    let questions: Option<Vec<Question>> =
        store_json::read(store, &layout::questions(s, id)).await?;
    let key: Option<Vec<KeyEntry>> = store_json::read(store, &layout::answer_key(s, id)).await?;
    let (content, problems, blocked) = plan::check_content(questions, key);
    t.problems.extend(problems);
    t.blocked = blocked;
    t.content = Some(Arc::new(content));
    Ok(())
}

/// Reads and grades every submission [`plan::to_grade`] names, a batch at a time.
async fn grade(
    r: Reading<'_>,
    tests: &mut [TestState],
    roster: &Roster,
) -> Result<Vec<Vec<Graded>>, Stop> {
    let mut graded = vec![];
    let mut cursor = (0, 0);
    loop {
        let batch = next_jobs(tests, roster, &mut cursor);
        if batch.is_empty() {
            return Ok(graded);
        }
        r.budget.check("time ran low while grading")?;
        // Futures are built eagerly (not in a stream closure) so the pass stays
        // `Send` and can be spawned by the local scheduler.
        let shared: &[TestState] = tests;
        let futures: Vec<_> = batch
            .iter()
            .enumerate()
            .map(|(n, (i, st))| {
                let student = &roster.0[*st];
                async move { (n, grade_one(r, &shared[*i], student).await) }
            })
            .collect();
        let mut outs: Vec<Option<Result<Option<Score>, StoreError>>> =
            std::iter::repeat_with(|| None).take(batch.len()).collect();
        let mut done = stream::iter(futures).buffer_unordered(r.concurrency.max(1));
        while let Some((n, out)) = done.next().await {
            outs[n] = Some(out);
        }
        drop(done);
        let mut kept = Vec::with_capacity(batch.len());
        for (&(i, student), out) in batch.iter().zip(outs) {
            let t = &mut tests[i];
            match out.unwrap_or(Ok(None)) {
                Ok(Some(score)) => kept.push(Graded {
                    test: i,
                    student,
                    score: t.results.hold_graded(score),
                }),
                Ok(None) => {}
                // A passing failure fails the pass, so the next one redoes the
                // job (recording a problem would skip the student's email for good).
                Err(e @ StoreError::Unavailable(_)) => return Err(e.into()),
                Err(e) => {
                    let id = &roster.0[student].student_id;
                    let again = t.results.scores.contains_key(id);
                    let what = if again {
                        "not graded again"
                    } else {
                        "not graded"
                    };
                    t.problems
                        .push(format!("submission of {id} unreadable, {what}: {e}"));
                }
            }
        }
        graded.push(kept);
    }
}

/// The next batch of (test, roster place) to grade, from `cursor` (test, enrolled).
fn next_jobs(
    tests: &[TestState],
    roster: &Roster,
    cursor: &mut (usize, usize),
) -> Vec<(usize, usize)> {
    let mut batch = Vec::with_capacity(GRADING_BATCH);
    while batch.len() < GRADING_BATCH {
        let (i, e) = *cursor;
        let Some(t) = tests.get(i) else { break };
        match t.enrolled.get(e) {
            Some(en) => {
                if plan::grades(t, en, roster) {
                    batch.push((i, en.student));
                }
                cursor.1 += 1;
            }
            None => *cursor = (i + 1, 0),
        }
    }
    batch
}

async fn grade_one(
    r: Reading<'_>,
    t: &TestState,
    student: &Student,
) -> Result<Option<Score>, StoreError> {
    let Some(content) = &t.content else {
        return Ok(None);
    };
    let (s, id) = (&t.meta.subject, &t.meta.test_id);
    let key = layout::submission(s, id, &student.student_id);
    let Some(submission) = store_json::read::<Submission>(r.store, &key).await? else {
        return Ok(None);
    };
    let test = TestContent {
        subject: s,
        test_id: id,
        title: &t.meta.title,
        questions: &content.questions,
        key: &content.key,
        rules: &t.meta.rules,
    };
    let mut score = grading::grade(
        test,
        &student.student_id,
        &submission.test_result,
        r.max_grade,
        r.now,
    );
    // The receipt's time decides lateness; a submission stored before receipts
    // existed predates late windows and is on time.
    if let Some(received) = submission.receipt.as_ref().map(|rc| rc.received_at) {
        let window = windows::window(&t.meta, student);
        if let Some(late) = windows::lateness(&t.meta, window, received) {
            grading::apply_late(&mut score, late, received);
        }
    }
    Ok(Some(score))
}
