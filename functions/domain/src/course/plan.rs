//! The plan of a sync: what changes for each test and student, and the writes that
//! make it, decided by a pure function of the course, the store's snapshot and now.

use super::files::{Problems, TEST_SETTINGS};
use super::parse::{past_due_problem, Course, CourseTest};
use crate::deadline::{display_in, next_deadline};
use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey};
use crate::model::{Catalog, KeyEntry, Question, Roster, TestMeta};
use crate::ports::{Etag, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::fmt;

/// Options of a sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Allow changing the answer key of scored tests; marks them for rescoring.
    pub rescore: bool,
    /// Compute and report the plan only.
    pub dry_run: bool,
}

/// What the store holds about one test.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredTest {
    pub questions: Option<Vec<Question>>,
    pub key: Option<Vec<KeyEntry>>,
    /// Number of results already scored (in the test's results object).
    pub scored: usize,
}

/// What the store holds that a sync compares with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    pub catalog: Catalog,
    pub roster: Option<Roster>,
    pub tests: BTreeMap<(SubjectName, TestId), StoredTest>,
    /// The versions of the shared objects read, which their writes are conditional on.
    pub versions: Versions,
}

/// The versions of the catalog and the roster a snapshot was read at (`None`: the
/// object did not exist). Others write them too (another sync, `student erase`), so
/// a sync replaces them only if they are still the versions its plan was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versions {
    pub catalog: Option<Etag>,
    pub roster: Option<Etag>,
}

/// Why a test leaves the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withdrawal {
    /// `test.json` says `"publish": false`.
    Draft,
    /// The folder is gone from the course.
    Gone,
}

/// One change to a published test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestChange {
    Questions,
    AnswerKey {
        rescore: bool,
    },
    Title {
        old: String,
        new: String,
    },
    Due {
        old: DateTime<Utc>,
        new: DateTime<Utc>,
    },
    /// Extensions, late policy or feedback timing changed.
    Windows,
    /// Scoring, penalty, shuffle or draw of `test.json`.
    Rules,
}

/// What happens to one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestAction {
    Publish {
        title: String,
        due_at: DateTime<Utc>,
    },
    Update(Vec<TestChange>),
    Withdraw(Withdrawal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPlan {
    pub subject: SubjectName,
    pub test_id: TestId,
    pub action: TestAction,
}

/// What happens to one student of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudentAction {
    Add { email: String },
    Change { fields: Vec<&'static str> },
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentPlan {
    pub student_id: StudentId,
    pub action: StudentAction,
}

/// The changes a sync makes, and the writes that make them.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub tests: Vec<TestPlan>,
    pub students: Vec<StudentPlan>,
    pub unchanged_tests: usize,
    pub unchanged_students: usize,
    /// Writes in the order they must happen: test content, rescore markers, catalog, roster.
    pub writes: Vec<(ObjectKey, Vec<u8>)>,
    /// The shared objects among `writes`, with the version each write expects to
    /// replace (`None`: it must still be absent).
    pub(super) expected: BTreeMap<ObjectKey, Option<Etag>>,
    time_zone: Tz,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tz = self.time_zone;
        if self.tests.is_empty() && self.students.is_empty() && self.writes.is_empty() {
            return write!(
                f,
                "Nothing to change: {} test(s) and {} student(s) are up to date.",
                self.unchanged_tests, self.unchanged_students
            );
        }
        writeln!(f, "Plan:")?;
        for t in &self.tests {
            let name = format!("{}/{}", t.subject, t.test_id);
            match &t.action {
                TestAction::Publish { title, due_at } => {
                    writeln!(f, "  publish   {name} \"{title}\", due {}", display_in(*due_at, tz))?
                }
                TestAction::Update(changes) => {
                    let what = join(changes.iter().map(|c| match c {
                        TestChange::Questions => "questions changed".to_owned(),
                        TestChange::AnswerKey { rescore: true } => {
                            "answer key changed (scored results will be rescored)".to_owned()
                        }
                        TestChange::AnswerKey { rescore: false } => "answer key changed".to_owned(),
                        TestChange::Title { old, new } => format!("title \"{old}\" -> \"{new}\""),
                        TestChange::Due { old, new } => {
                            format!("due {} -> {}", display_in(*old, tz), display_in(*new, tz))
                        }
                        TestChange::Windows => {
                            "extensions, late policy or feedback changed".to_owned()
                        }
                        TestChange::Rules => "scoring or variation rules changed".to_owned(),
                    }));
                    writeln!(f, "  update    {name}: {what}")?
                }
                TestAction::Withdraw(Withdrawal::Draft) => writeln!(
                    f,
                    "  withdraw  {name} (\"publish\": false in {TEST_SETTINGS}; submissions are kept)"
                )?,
                TestAction::Withdraw(Withdrawal::Gone) => {
                    writeln!(f, "  withdraw  {name} (no longer in the course folder; submissions are kept)")?
                }
            }
        }
        for s in &self.students {
            let id = &s.student_id;
            match &s.action {
                StudentAction::Add { email } => writeln!(f, "  add       student {id} <{email}>")?,
                StudentAction::Change { fields } => writeln!(f, "  update    student {id}: {} changed", join(fields))?,
                StudentAction::Remove => writeln!(
                    f,
                    "  remove    student {id} (keys and submissions are kept; erase them with `student erase`)"
                )?,
            }
        }
        write!(
            f,
            "Unchanged: {} test(s), {} student(s). Objects to write: {}.",
            self.unchanged_tests,
            self.unchanged_students,
            self.writes.len()
        )
    }
}

/// Why a course could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Invalid(Problems),
    #[error(
        "the answer key changed for {} which already {} scored results; nothing was written. \
         Run the sync again with --rescore to rescore them (students whose result changes get a new email), \
         or restore the old key",
        join(.0.iter().map(|(s, t, _)| format!("{s}/{t}"))),
        if .0.len() == 1 { "has" } else { "have" }
    )]
    ScoredKeyChanged(Vec<(SubjectName, TestId, usize)>),
    #[error(
        "the scoring rules (scoring, wrongAnswerPenalty, shuffle, draw or the points total) changed for {} \
         which already {} scored results; nothing was written. Run the sync again with --rescore to rescore \
         them (students whose result changes get a new email), or restore the old settings",
        join(.0.iter().map(|(s, t, _)| format!("{s}/{t}"))),
        if .0.len() == 1 { "has" } else { "have" }
    )]
    ScoredRulesChanged(Vec<(SubjectName, TestId, usize)>),
    /// The catalog or the roster changed under every attempt to write it (each one
    /// re-read the store and planned again).
    #[error(
        "{0} was changed by another writer each of the {1} times this sync tried to replace it, \
         so it was not written; is another sync or `trainer student erase` running? Run the sync again"
    )]
    Contended(ObjectKey, u32),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not encode {0}: {1}")]
    Encode(String, serde_json::Error),
}

fn to_json<T: serde::Serialize>(what: &ObjectKey, value: &T) -> Result<Vec<u8>, PublishError> {
    serde_json::to_vec_pretty(value).map_err(|e| PublishError::Encode(what.to_string(), e))
}

fn sorted_key(key: &[KeyEntry]) -> Vec<KeyEntry> {
    let mut k = key.to_vec();
    k.sort_by(|a, b| a.question_id.cmp(&b.question_id));
    k
}

/// What [`plan`] has decided so far, test by test.
#[derive(Default)]
struct Draft {
    problems: Vec<super::files::Problem>,
    refused: Vec<(SubjectName, TestId, usize)>,
    refused_rules: Vec<(SubjectName, TestId, usize)>,
    tests: Vec<TestPlan>,
    content_writes: Vec<(ObjectKey, Vec<u8>)>,
    marker_writes: Vec<(ObjectKey, Vec<u8>)>,
    unchanged_tests: usize,
    catalog: Vec<TestMeta>,
}

impl Draft {
    fn push(&mut self, t: &CourseTest, action: TestAction) {
        self.tests.push(TestPlan {
            subject: t.subject.clone(),
            test_id: t.test_id.clone(),
            action,
        });
    }

    /// Decides the writes and the catalog entry of one test of the course.
    fn test(
        &mut self,
        t: &CourseTest,
        published: &Published,
        now: DateTime<Utc>,
        tz: Tz,
        options: SyncOptions,
    ) -> Result<(), PublishError> {
        let current = published.catalog.find(&t.subject, &t.test_id);
        let stored = published.tests.get(&(t.subject.clone(), t.test_id.clone()));
        if !t.publish {
            if current.is_some() {
                self.push(t, TestAction::Withdraw(Withdrawal::Draft));
            }
            return Ok(());
        }
        let questions_changed = stored.and_then(|s| s.questions.as_ref()) != Some(&t.questions);
        let key_changed =
            stored.and_then(|s| s.key.as_deref()).map(sorted_key) != Some(sorted_key(&t.key));
        let scored = stored.map_or(0, |s| s.scored);
        // New rules regrade as a new key does: the same consent is needed.
        let rules_changed = current.is_some_and(|m| m.rules != t.rules);
        if (key_changed || rules_changed) && scored > 0 {
            if options.rescore {
                let marker = layout::rescore_marker(&t.subject, &t.test_id);
                let body = serde_json::json!({
                    "subject": t.subject, "testId": t.test_id, "requestedAt": now,
                });
                self.marker_writes
                    .push((marker.clone(), to_json(&marker, &body)?));
            } else if key_changed {
                self.refused
                    .push((t.subject.clone(), t.test_id.clone(), scored));
            } else {
                self.refused_rules
                    .push((t.subject.clone(), t.test_id.clone(), scored));
            }
        }
        if questions_changed {
            let k = layout::questions(&t.subject, &t.test_id);
            self.content_writes
                .push((k.clone(), to_json(&k, &t.questions)?));
        }
        if key_changed {
            let k = layout::answer_key(&t.subject, &t.test_id);
            self.content_writes.push((k.clone(), to_json(&k, &t.key)?));
        }
        let mut changes = Vec::new();
        if questions_changed {
            changes.push(TestChange::Questions);
        }
        if key_changed {
            changes.push(TestChange::AnswerKey {
                rescore: options.rescore && scored > 0,
            });
        }
        if rules_changed {
            changes.push(TestChange::Rules);
        }
        match current {
            None => self.publish(t, now, tz),
            Some(meta) => self.update(t, meta, changes, now, tz),
        }
        Ok(())
    }

    /// A test published for the first time: due when `test.json` says, or at the
    /// next regular deadline.
    fn publish(&mut self, t: &CourseTest, now: DateTime<Utc>, tz: Tz) {
        let due_at = match t.due {
            Some(due) if due <= now => {
                self.problems.push(past_due_problem(t, due, now, tz));
                due
            }
            Some(due) => due,
            None => next_deadline(now, tz),
        };
        self.check_windows(t, due_at, tz);
        self.catalog.push(TestMeta {
            subject: t.subject.clone(),
            test_id: t.test_id.clone(),
            title: t.title.clone(),
            published_at: now,
            due_at,
            windows: t.windows().clone(),
            rules: t.rules.clone(),
        });
        self.push(
            t,
            TestAction::Publish {
                title: t.title.clone(),
                due_at,
            },
        );
    }

    /// A late window or extension must end after the due the test is published
    /// with; a due written in `test.json` was checked with the folder already.
    fn check_windows(&mut self, t: &CourseTest, due_at: DateTime<Utc>, tz: Tz) {
        if t.due.is_none() {
            self.problems.extend(t.windows.check_due(due_at, tz));
        }
    }

    /// A test already published keeps its publication time, and its due date unless
    /// `test.json` sets another one.
    fn update(
        &mut self,
        t: &CourseTest,
        meta: &TestMeta,
        mut changes: Vec<TestChange>,
        now: DateTime<Utc>,
        tz: Tz,
    ) {
        if meta.title != t.title {
            changes.push(TestChange::Title {
                old: meta.title.clone(),
                new: t.title.clone(),
            });
        }
        let mut due_at = meta.due_at;
        if let Some(due) = t.due.filter(|d| *d != meta.due_at) {
            if due <= now {
                self.problems.push(past_due_problem(t, due, now, tz));
            }
            changes.push(TestChange::Due {
                old: meta.due_at,
                new: due,
            });
            due_at = due;
        }
        self.check_windows(t, due_at, tz);
        if &meta.windows != t.windows() {
            changes.push(TestChange::Windows);
        }
        self.catalog.push(TestMeta {
            title: t.title.clone(),
            due_at,
            windows: t.windows().clone(),
            rules: t.rules.clone(),
            ..meta.clone()
        });
        if changes.is_empty() {
            self.unchanged_tests += 1;
        } else {
            self.push(t, TestAction::Update(changes));
        }
    }
}

/// Compares the course with the store and decides every write. Pure: no I/O.
pub fn plan(
    course: &Course,
    published: &Published,
    now: DateTime<Utc>,
    tz: Tz,
    options: SyncOptions,
) -> Result<Plan, PublishError> {
    let mut draft = Draft::default();
    for t in &course.tests {
        draft.test(t, published, now, tz, options)?;
    }
    for meta in &published.catalog.tests {
        if course.test(&meta.subject, &meta.test_id).is_none() {
            draft.tests.push(TestPlan {
                subject: meta.subject.clone(),
                test_id: meta.test_id.clone(),
                action: TestAction::Withdraw(Withdrawal::Gone),
            });
        }
    }
    if !draft.problems.is_empty() {
        return Err(PublishError::Invalid(Problems(draft.problems)));
    }
    if !draft.refused.is_empty() {
        return Err(PublishError::ScoredKeyChanged(draft.refused));
    }
    if !draft.refused_rules.is_empty() {
        return Err(PublishError::ScoredRulesChanged(draft.refused_rules));
    }

    let mut writes = draft.content_writes;
    writes.extend(draft.marker_writes);
    let mut expected = BTreeMap::new();
    let mut catalog = draft.catalog;
    catalog.sort_by(|a, b| (&a.subject, &a.test_id).cmp(&(&b.subject, &b.test_id)));
    let mut old_catalog = published.catalog.tests.clone();
    old_catalog.sort_by(|a, b| (&a.subject, &a.test_id).cmp(&(&b.subject, &b.test_id)));
    if catalog != old_catalog {
        let k = layout::catalog();
        writes.push((k.clone(), to_json(&k, &Catalog { tests: catalog })?));
        expected.insert(k, published.versions.catalog.clone());
    }

    let (students, unchanged_students) = plan_roster(&course.roster, published.roster.as_ref());
    if published.roster.as_ref() != Some(&course.roster) {
        let k = layout::roster();
        writes.push((k.clone(), to_json(&k, &course.roster)?));
        expected.insert(k, published.versions.roster.clone());
    }

    Ok(Plan {
        tests: draft.tests,
        students,
        unchanged_tests: draft.unchanged_tests,
        unchanged_students,
        writes,
        expected,
        time_zone: tz,
    })
}

fn plan_roster(new: &Roster, old: Option<&Roster>) -> (Vec<StudentPlan>, usize) {
    let empty = Roster::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    let mut unchanged = 0;
    for s in &new.0 {
        match old.find(&s.student_id) {
            None => out.push(StudentPlan {
                student_id: s.student_id.clone(),
                action: StudentAction::Add {
                    email: s.email.clone(),
                },
            }),
            Some(before) => {
                let mut fields = Vec::new();
                if before.email != s.email {
                    fields.push("email");
                }
                if before.name != s.name {
                    fields.push("name");
                }
                if before.subjects != s.subjects {
                    fields.push("subjects");
                }
                if before.extra_time != s.extra_time {
                    fields.push("extraTime");
                }
                if before.extra != s.extra {
                    fields.push("other fields");
                }
                if fields.is_empty() {
                    unchanged += 1;
                } else {
                    out.push(StudentPlan {
                        student_id: s.student_id.clone(),
                        action: StudentAction::Change { fields },
                    });
                }
            }
        }
    }
    for s in &old.0 {
        if new.find(&s.student_id).is_none() {
            out.push(StudentPlan {
                student_id: s.student_id.clone(),
                action: StudentAction::Remove,
            });
        }
    }
    (out, unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::fixtures::{catalog, course, scored_once, utc, TZ};
    use crate::course::{publish, sync};
    use crate::ports::ObjectStore;
    use crate::testing::MemoryStore;

    #[tokio::test]
    async fn a_published_test_keeps_its_dates_until_test_json_sets_a_new_due_date() {
        let store = MemoryStore::new();
        let first = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), first, TZ).await.unwrap();
        let mut files = course();
        files.insert("subjects/os/t1/test.json", r#"{"title": "Kernel"}"#);
        publish(&store, &files, utc("2026-11-26T10:00:00Z"), TZ)
            .await
            .unwrap();
        let meta = catalog(&store).await.tests[0].clone();
        assert_eq!(
            (meta.title.as_str(), meta.published_at, meta.due_at),
            ("Kernel", first, utc("2026-11-30T22:00:00Z"))
        );

        files.insert(
            "subjects/os/t1/test.json",
            r#"{"title": "Kernel", "due": "2026-12-07 23:00"}"#,
        );
        let report = publish(&store, &files, utc("2026-11-26T10:00:00Z"), TZ)
            .await
            .unwrap();
        assert!(
            report
                .to_string()
                .contains("due 2026-11-30 23:00 CET -> 2026-12-07 23:00 CET"),
            "{report}"
        );
        let meta = catalog(&store).await.tests[0].clone();
        assert_eq!(
            (meta.published_at, meta.due_at),
            (first, utc("2026-12-07T22:00:00Z"))
        );
    }

    #[tokio::test]
    async fn a_past_due_date_is_refused_for_a_new_test_but_kept_for_an_old_closed_one() {
        let store = MemoryStore::new();
        let mut files = course();
        files.insert("subjects/os/t1/test.json", r#"{"due": "2026-11-30"}"#);
        publish(&store, &files, utc("2026-11-24T10:00:00Z"), TZ)
            .await
            .unwrap();
        // Weeks later the test is closed and still in the folder: nothing to do.
        let later = utc("2026-12-20T10:00:00Z");
        let report = publish(&store, &files, later, TZ).await.unwrap();
        assert!(report.plan.is_empty(), "{report}");
        // A new test with a past date is an error naming the file and position.
        files.insert("subjects/os/t2/test.json", r#"{"due": "2026-12-01 12:00"}"#);
        let err = publish(&store, &files, later, TZ).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the course folder has 1 problem:\n  subjects/os/t2/test.json:1:9: .due: due date 2026-12-01 12:00 CET \
             is not in the future (now 2026-12-20 11:00 CET); a test can only be published or moved to a future due date"
        );
    }

    #[tokio::test]
    async fn a_changed_key_of_a_scored_test_is_refused_unless_rescoring() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), now, TZ).await.unwrap();
        scored_once(&store, "os", "t1", "student01").await;
        let mut files = course();
        files.insert(
            "subjects/os/t1/questionsKey.json",
            r#"[{"questionId": "1", "answer": "b"}]"#,
        );
        let before = store.snapshot();
        let err = publish(&store, &files, now, TZ).await.unwrap_err();
        assert!(
            matches!(err, PublishError::ScoredKeyChanged(ref t) if t.len() == 1),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with("the answer key changed for os/t1 which already has scored results"));
        assert_eq!(store.snapshot(), before, "a refused sync writes nothing");

        let options = SyncOptions {
            rescore: true,
            dry_run: false,
        };
        let report = sync(&store, &files, now, TZ, options).await.unwrap();
        assert!(report
            .to_string()
            .contains("answer key changed (scored results will be rescored)"));
        let after = store.snapshot();
        assert!(after.contains_key("_system/rescore/os/t1"));
        let key: Vec<KeyEntry> = serde_json::from_slice(&after["os/t1/questionsKey.json"]).unwrap();
        assert_eq!(key[0].answer.to_string(), "b");
    }

    #[tokio::test]
    async fn changed_scoring_rules_of_a_scored_test_are_refused_unless_rescoring() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), now, TZ).await.unwrap();
        scored_once(&store, "os", "t1", "student01").await;
        let mut files = course();
        files.insert("subjects/os/t1/test.json", r#"{"wrongAnswerPenalty": 0.5}"#);
        let before = store.snapshot();
        let err = publish(&store, &files, now, TZ).await.unwrap_err();
        assert!(
            matches!(err, PublishError::ScoredRulesChanged(ref t) if t.len() == 1),
            "{err}"
        );
        assert!(err.to_string().starts_with(
            "the scoring rules (scoring, wrongAnswerPenalty, shuffle, draw or the points total) changed for os/t1"
        ));
        assert_eq!(store.snapshot(), before, "a refused sync writes nothing");
        let options = SyncOptions {
            rescore: true,
            dry_run: false,
        };
        let report = sync(&store, &files, now, TZ, options).await.unwrap();
        assert!(report
            .to_string()
            .contains("scoring or variation rules changed"));
        let after = store.snapshot();
        assert!(after.contains_key("_system/rescore/os/t1"));
        let catalog: Catalog = serde_json::from_slice(&after["_system/catalog.json"]).unwrap();
        assert_eq!(catalog.tests[0].rules.wrong_answer_penalty, Some(0.5));
    }

    #[tokio::test]
    async fn a_changed_key_of_an_unscored_test_just_replaces_the_key() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), now, TZ).await.unwrap();
        let mut files = course();
        files.insert(
            "subjects/os/t1/questionsKey.json",
            r#"[{"questionId": "1", "answer": "b"}]"#,
        );
        let report = publish(&store, &files, now, TZ).await.unwrap();
        assert_eq!(report.plan.writes.len(), 1, "{report}");
        assert!(!store.snapshot().contains_key("_system/rescore/os/t1"));
    }

    #[tokio::test]
    async fn withdrawing_a_test_keeps_its_submissions_and_roster_changes_are_listed() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        publish(&store, &course(), now, TZ).await.unwrap();
        let submission = ObjectKey::parse("os/t1/student01/testResult.json").unwrap();
        store.put(&submission, b"[]".to_vec()).await.unwrap();
        let mut files = course();
        files.insert("subjects/os/t1/test.json", r#"{"publish": false}"#);
        files.insert(
            "studentsList.json",
            r#"[{"student_id": "student01", "email": "new@example.com"}, {"student_id": "student03", "email": "s3@example.com"}]"#,
        );
        let report = publish(&store, &files, now, TZ).await.unwrap();
        let text = report.to_string();
        assert!(
            text.contains(
                "withdraw  os/t1 (\"publish\": false in test.json; submissions are kept)"
            ),
            "{text}"
        );
        assert!(
            text.contains("add       student student03 <s3@example.com>"),
            "{text}"
        );
        assert!(
            text.contains("update    student student01: email changed"),
            "{text}"
        );
        assert!(text.contains("remove    student student02"), "{text}");
        assert!(catalog(&store).await.tests.is_empty());
        assert!(store.snapshot().contains_key(submission.as_str()));

        let gone = {
            let mut f = files.clone();
            f.0.retain(|k, _| !k.starts_with("subjects/os/t1/"));
            f
        };
        files.insert("subjects/os/t1/test.json", "{}");
        publish(&store, &files, now, TZ).await.unwrap();
        let report = publish(&store, &gone, now, TZ).await.unwrap();
        assert!(report
            .to_string()
            .contains("withdraw  os/t1 (no longer in the course folder; submissions are kept)"));
    }
}
