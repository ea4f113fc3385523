//! Publishing a course: reading what the store holds, applying a plan's writes,
//! and `sync`, which does both.

use super::files::CourseFiles;
use super::parse::{parse, Course};
use super::plan::{plan, Plan, PublishError, Published, StoredTest, SyncOptions};
use crate::ids::{SubjectName, TestId};
use crate::layout::{self, ObjectKey};
use crate::model::{Catalog, Roster};
use crate::ports::{ObjectStore, StoreError};
use crate::scoring::results::TestResults;
use crate::store_json;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Reads what a sync needs to compare: the catalog, the roster and, for every test
/// in the catalog or the course, its stored questions, key and scored results.
pub async fn load_published(
    store: &(impl ObjectStore + ?Sized),
    course: Option<&Course>,
) -> Result<Published, StoreError> {
    let catalog: Catalog = store_json::read(store, &layout::catalog())
        .await?
        .unwrap_or_default();
    let roster: Option<Roster> = store_json::read(store, &layout::roster()).await?;
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
    })
}

/// The outcome of a sync: the plan and whether it was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncReport {
    pub plan: Plan,
    /// False for a dry run.
    pub applied: bool,
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.plan)?;
        if self.plan.is_empty() {
            Ok(())
        } else if self.applied {
            write!(f, "\nDone: {} object(s) written.", self.plan.writes.len())
        } else {
            write!(f, "\nDry run: nothing was written.")
        }
    }
}

/// Performs the writes of a plan, in order. Returns the keys written.
pub async fn apply(
    store: &(impl ObjectStore + ?Sized),
    plan: &Plan,
) -> Result<Vec<ObjectKey>, StoreError> {
    let mut written = Vec::with_capacity(plan.writes.len());
    for (key, bytes) in &plan.writes {
        store.put(key, bytes.clone()).await?;
        written.push(key.clone());
    }
    Ok(written)
}

/// Validates the course, compares it with the store and (unless a dry run) applies the plan.
pub async fn sync(
    store: &(impl ObjectStore + ?Sized),
    files: &CourseFiles,
    now: DateTime<Utc>,
    tz: Tz,
    options: SyncOptions,
) -> Result<SyncReport, PublishError> {
    let course = parse(files, tz).map_err(PublishError::Invalid)?;
    let published = load_published(store, Some(&course)).await?;
    let plan = plan(&course, &published, now, tz, options)?;
    if !options.dry_run {
        apply(store, &plan).await?;
    }
    Ok(SyncReport {
        plan,
        applied: !options.dry_run,
    })
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
    use crate::testing::MemoryStore;

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
