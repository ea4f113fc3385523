//! Publishing a course: reading what the store holds, applying a plan's writes
//! (the shared catalog and roster only if unchanged since they were read), and
//! `sync`, which plans again when another writer came first.

use super::files::{CourseFiles, Problem};
use super::parse::{parse, Course};
use super::plan::{plan, Plan, PublishError, Published, StoredTest, SyncOptions, Versions};
use crate::ids::{SubjectName, TestId};
use crate::layout::{self, ObjectKey};
use crate::model::{Catalog, Roster};
use crate::ports::{Created, Etag, ObjectStore, StoreError, Swapped};
use crate::scoring::results::TestResults;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How many times a sync plans again after another writer changed the catalog or
/// the roster between its read and its write, before it gives up.
const SYNC_ATTEMPTS: u32 = 5;

/// Reads a JSON object with the version read; one that does not parse is a store
/// failure, as in [`crate::store_json::read`].
async fn read_tagged<T: DeserializeOwned>(
    store: &(impl ObjectStore + ?Sized),
    key: &ObjectKey,
) -> Result<(Option<T>, Option<Etag>), StoreError> {
    match store.get_tagged(key).await? {
        None => Ok((None, None)),
        Some((bytes, tag)) => serde_json::from_slice(&bytes)
            .map(|v| (Some(v), Some(tag)))
            .map_err(|e| StoreError::Failed(format!("{key} is not valid: {e}"))),
    }
}

/// Reads what a sync needs to compare: the catalog, the roster and, for every test
/// in the catalog or the course, its stored questions, key and scored results.
pub async fn load_published(
    store: &(impl ObjectStore + ?Sized),
    course: Option<&Course>,
) -> Result<Published, StoreError> {
    let (catalog, catalog_version) = read_tagged::<Catalog>(store, &layout::catalog()).await?;
    let catalog = catalog.unwrap_or_default();
    let (roster, roster_version) = read_tagged::<Roster>(store, &layout::roster()).await?;
    let mut names: BTreeSet<(SubjectName, TestId)> = catalog
        .tests
        .iter()
        .map(|t| (t.subject.clone(), t.test_id.clone()))
        .collect();
    if let Some(course) = course {
        names.extend(
            course
                .tests
                .iter()
                .map(|t| (t.subject.clone(), t.test_id.clone())),
        );
    }
    let mut tests = BTreeMap::new();
    for (subject, test) in names {
        // A stored file that no longer parses counts as different, so sync rewrites it.
        let questions = store
            .get(&layout::questions(&subject, &test))
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let key = store
            .get(&layout::answer_key(&subject, &test))
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let scored = TestResults::load(store, &subject, &test)
            .await?
            .map_or(0, |r| r.scores.len());
        tests.insert(
            (subject, test),
            StoredTest {
                questions,
                key,
                scored,
            },
        );
    }
    Ok(Published {
        catalog,
        roster,
        tests,
        versions: Versions {
            catalog: catalog_version,
            roster: roster_version,
        },
    })
}

/// The outcome of a sync: the plan and whether it was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncReport {
    pub plan: Plan,
    /// False for a dry run.
    pub applied: bool,
    /// How many times the store changed under the sync and it planned again (the
    /// plan shown is the last one; writes of earlier attempts are not counted).
    pub replanned: u32,
    /// What is worth a second look but not refused (see
    /// [`super::Course::feedback_warnings`]).
    pub warnings: Vec<Problem>,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.plan)?;
        if self.plan.is_empty() {
            Ok(())
        } else if self.applied {
            write!(f, "\nDone: {} object(s) written.", self.plan.writes.len())?;
            if self.replanned > 0 {
                write!(
                    f,
                    " (Another writer changed the store meanwhile; planned again {} time(s).)",
                    self.replanned
                )?;
            }
            Ok(())
        } else {
            write!(f, "\nDry run: nothing was written.")
        }
    }
}

/// Why the writes of a plan stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A shared object is no longer the version the plan was made from: the writes
    /// before it landed; it and the ones after it were not made.
    #[error("{0} changed since the plan was made")]
    Changed(ObjectKey),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Performs the writes of a plan, in order. Returns the keys written. The catalog
/// and the roster are replaced only if they are still the versions the plan was
/// computed from (created only if still absent).
pub async fn apply(
    store: &(impl ObjectStore + ?Sized),
    plan: &Plan,
) -> Result<Vec<ObjectKey>, ApplyError> {
    let mut written = Vec::with_capacity(plan.writes.len());
    for (key, bytes) in &plan.writes {
        let landed = match plan.expected.get(key) {
            None => {
                store.put(key, bytes.clone()).await?;
                true
            }
            Some(Some(tag)) => store.put_if_match(key, bytes.clone(), tag).await? == Swapped::Now,
            Some(None) => store.create(key, bytes.clone()).await? == Created::Now,
        };
        if !landed {
            return Err(ApplyError::Changed(key.clone()));
        }
        written.push(key.clone());
    }
    Ok(written)
}

/// Validates the course, compares it with the store and (unless a dry run) applies
/// the plan. When another writer (a second sync, `student erase`) changed the catalog
/// or the roster after they were read, it reads again and plans again from what that
/// writer left, so neither loses the other's change.
pub async fn sync(
    store: &(impl ObjectStore + ?Sized),
    files: &CourseFiles,
    now: DateTime<Utc>,
    tz: Tz,
    options: SyncOptions,
) -> Result<SyncReport, PublishError> {
    let course = parse(files, tz).map_err(PublishError::Invalid)?;
    let warnings = course.feedback_warnings();
    let mut replanned = 0;
    loop {
        let published = load_published(store, Some(&course)).await?;
        let plan = plan(&course, &published, now, tz, options)?;
        if options.dry_run {
            return Ok(SyncReport {
                plan,
                applied: false,
                replanned,
                warnings,
            });
        }
        match apply(store, &plan).await {
            Ok(_) => {
                return Ok(SyncReport {
                    plan,
                    applied: true,
                    replanned,
                    warnings,
                })
            }
            Err(ApplyError::Store(e)) => return Err(e.into()),
            Err(ApplyError::Changed(key)) if replanned + 1 < SYNC_ATTEMPTS => {
                tracing::info!(%key, "changed by another writer during the sync; planning again");
                replanned += 1;
                // A little jitter, so two syncs that collided do not collide again.
                let pause = rand::random::<u64>() % (1 + u64::from(replanned) * 5);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(ApplyError::Changed(key)) => {
                return Err(PublishError::Contended(key, replanned + 1))
            }
        }
    }
}

/// Publishes a course: validate, plan and apply, without rescoring.
pub async fn publish(
    store: &(impl ObjectStore + ?Sized),
    files: &CourseFiles,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<SyncReport, PublishError> {
    sync(store, files, now, tz, SyncOptions::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::fixtures::{catalog, course, utc, TZ};
    use crate::testing::{BeforeCall, Call, Hooked, MemoryStore};
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// Another writer of one shared object: right before each of the next `races`
    /// writes of `key` (after the sync read it and planned), it changes the object
    /// with `change`.
    struct Race {
        store: Arc<MemoryStore>,
        key: ObjectKey,
        races: AtomicU32,
        change: fn(Option<Vec<u8>>) -> Vec<u8>,
    }

    #[async_trait]
    impl BeforeCall for Race {
        async fn before(&self, call: Call, key: &str) {
            let go = call.writes()
                && key == self.key.as_str()
                && self
                    .races
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            if go {
                let current = self.store.get(&self.key).await.unwrap();
                self.store
                    .put(&self.key, (self.change)(current))
                    .await
                    .unwrap();
            }
        }
    }

    /// `inner` behind another writer of `key` (see [`Race`]).
    fn racing(
        inner: MemoryStore,
        key: ObjectKey,
        races: u32,
        change: fn(Option<Vec<u8>>) -> Vec<u8>,
    ) -> Hooked<Arc<MemoryStore>, Race> {
        let inner = Arc::new(inner);
        Hooked {
            inner: Arc::clone(&inner),
            hook: Race {
                store: inner,
                key,
                races: AtomicU32::new(races),
                change,
            },
        }
    }

    /// Another trainer's sync moving the due date of os/t1 to 7 December.
    fn move_t1(current: Option<Vec<u8>>) -> Vec<u8> {
        let mut catalog: Catalog = serde_json::from_slice(&current.unwrap()).unwrap();
        for t in &mut catalog.tests {
            if t.test_id.as_str() == "t1" {
                t.due_at = utc("2026-12-07T22:00:00Z");
            }
        }
        serde_json::to_vec(&catalog).unwrap()
    }

    /// A writer that never stops: moves os/t1's due date a minute later each time.
    fn bump_t1(current: Option<Vec<u8>>) -> Vec<u8> {
        let mut catalog: Catalog = serde_json::from_slice(&current.unwrap()).unwrap();
        for t in &mut catalog.tests {
            t.due_at += chrono::Duration::minutes(1);
        }
        serde_json::to_vec(&catalog).unwrap()
    }

    /// A course with a third test, os/t3.
    fn course_with_t3() -> CourseFiles {
        let mut files = course();
        for name in ["questions.json", "questionsKey.json"] {
            let bytes = files.0[&format!("subjects/os/t1/{name}")].clone();
            files.insert(format!("subjects/os/t3/{name}"), bytes);
        }
        files
    }

    #[tokio::test]
    async fn a_sync_racing_another_writer_of_the_catalog_loses_nothing() {
        // GIVEN os/t1 published, due 30 November
        let inner = MemoryStore::new();
        let first = utc("2026-11-24T10:00:00Z");
        publish(&inner, &course(), first, TZ).await.unwrap();
        // WHEN a sync publishing os/t3 plans, and another writer moves t1's due date
        // before the sync's catalog write lands
        let store = racing(inner, layout::catalog(), 1, move_t1);
        let now = utc("2026-11-25T10:00:00Z");
        let report = publish(&store, &course_with_t3(), now, TZ).await.unwrap();
        // THEN the catalog has both: the other writer's due date and the new test
        let catalog = catalog(&store.inner).await;
        let due: Vec<(&str, DateTime<Utc>, DateTime<Utc>)> = catalog
            .tests
            .iter()
            .map(|t| (t.test_id.as_str(), t.published_at, t.due_at))
            .collect();
        assert_eq!(
            due,
            [
                ("t1", first, utc("2026-12-07T22:00:00Z")),
                ("t3", now, utc("2026-11-30T22:00:00Z")),
            ]
        );
        assert_eq!(report.replanned, 1, "{report}");
        assert!(
            report.to_string().ends_with(
                "(Another writer changed the store meanwhile; planned again 1 time(s).)"
            ),
            "{report}"
        );
        // initial sync, the other writer, this sync
        assert_eq!(store.inner.versions("_system/catalog.json"), 3);
    }

    #[tokio::test]
    async fn a_roster_created_by_another_writer_during_the_first_sync_is_planned_again() {
        let store = racing(MemoryStore::new(), layout::roster(), 1, |_| {
            br#"[{"student_id": "student01", "email": "s1@example.com"}]"#.to_vec()
        });
        let report = publish(&store, &course(), utc("2026-11-24T10:00:00Z"), TZ)
            .await
            .unwrap();
        let text = report.to_string();
        assert!(text.contains("add       student student02"), "{text}");
        assert!(!text.contains("student student01"), "{text}");
        let roster: Roster = crate::store_json::read(&store.inner, &layout::roster())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(roster.0.len(), 2);
    }

    #[tokio::test]
    async fn a_sync_that_loses_every_race_stops_with_a_clear_error() {
        let inner = MemoryStore::new();
        publish(&inner, &course(), utc("2026-11-24T10:00:00Z"), TZ)
            .await
            .unwrap();
        let store = racing(inner, layout::catalog(), u32::MAX, bump_t1);
        let err = publish(&store, &course_with_t3(), utc("2026-11-25T10:00:00Z"), TZ)
            .await
            .unwrap_err();
        assert!(
            matches!(err, PublishError::Contended(ref k, SYNC_ATTEMPTS) if k == &layout::catalog()),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with(&format!(
                "_system/catalog.json was changed by another writer each of the {SYNC_ATTEMPTS} times"
            )),
            "{err}"
        );
        let catalog = catalog(&store.inner).await;
        assert!(
            catalog.tests.iter().all(|t| t.test_id.as_str() != "t3"),
            "the catalog was not replaced"
        );
    }

    #[tokio::test]
    async fn first_publication_writes_content_then_catalog_then_roster_with_the_default_due_date() {
        let store = MemoryStore::new();
        let now = utc("2026-11-24T10:00:00Z");
        let report = publish(&store, &course(), now, TZ).await.unwrap();
        let order: Vec<&str> = report.plan.writes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            order,
            [
                "os/t1/questions.json",
                "os/t1/questionsKey.json",
                "_system/catalog.json",
                "studentsList.json"
            ]
        );
        let catalog = catalog(&store).await;
        assert_eq!(catalog.tests.len(), 1, "the draft t2 is not published");
        assert_eq!(catalog.tests[0].title, "t1");
        assert_eq!(catalog.tests[0].published_at, now);
        assert_eq!(catalog.tests[0].due_at, utc("2026-11-30T22:00:00Z"));
        assert!(report
            .to_string()
            .contains("publish   os/t1 \"t1\", due 2026-11-30 23:00 CET"));
    }

    #[tokio::test]
    async fn syncing_twice_writes_nothing_the_second_time() {
        let store = MemoryStore::new();
        publish(&store, &course(), utc("2026-11-24T10:00:00Z"), TZ)
            .await
            .unwrap();
        let before = store.snapshot();
        let report = publish(&store, &course(), utc("2026-11-25T10:00:00Z"), TZ)
            .await
            .unwrap();
        assert!(report.plan.is_empty(), "{report}");
        assert_eq!(store.snapshot(), before);
        assert_eq!(store.versions("_system/catalog.json"), 1);
        assert_eq!(
            report.to_string(),
            "Nothing to change: 1 test(s) and 2 student(s) are up to date."
        );
    }

    #[tokio::test]
    async fn a_dry_run_reports_the_plan_and_writes_nothing() {
        let store = MemoryStore::new();
        let options = SyncOptions {
            dry_run: true,
            rescore: false,
        };
        let report = sync(&store, &course(), utc("2026-11-24T10:00:00Z"), TZ, options)
            .await
            .unwrap();
        assert_eq!(report.plan.writes.len(), 4);
        assert!(store.snapshot().is_empty());
        assert!(report
            .to_string()
            .ends_with("Dry run: nothing was written."));
    }
}
