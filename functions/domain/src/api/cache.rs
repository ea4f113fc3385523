//! What an API function keeps between requests (a warm Lambda, the local gateway).
//!
//! The rule: the catalog, the roster and a published test's questions are reused
//! for at most [`DEFAULT_CACHE_TTL`] after they were read, so a change by `trainer
//! sync` takes effect within that time. Keys are never cached: a revoked key stops
//! working on the very next request. The TTL stays well under half the grading
//! grace, so a deadline moved earlier by a sync is seen by every upload before the
//! scorer can start on the test (see `deadline::GRADING_GRACE`).

use crate::ids::{SubjectName, TestId};
use crate::model::{Catalog, Question, Roster};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// How long a read catalog, roster or question set is reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::seconds(30);

/// Question sets kept at most; past it the cache starts over (a course has far fewer).
const MAX_QUESTION_SETS: usize = 512;

/// One value and when it was read.
type Slot<T> = Option<(DateTime<Utc>, Arc<T>)>;

/// Question sets by test, each with when it was read.
type QuestionSets = HashMap<(SubjectName, TestId), (DateTime<Utc>, Arc<Vec<Question>>)>;

/// The reusable reads of one API function.
#[derive(Default)]
pub struct ApiCache {
    catalog: Mutex<Slot<Catalog>>,
    roster: Mutex<Slot<Roster>>,
    questions: Mutex<QuestionSets>,
}

fn fresh<T>(slot: &Slot<T>, now: DateTime<Utc>, ttl: Duration) -> Option<Arc<T>> {
    match slot {
        Some((at, value)) if now >= *at && now - *at < ttl => Some(Arc::clone(value)),
        _ => None,
    }
}

/// Returns the kept value while it is fresh, else runs `load` and keeps its result.
/// Concurrent misses may each load; the last one read is kept, which is harmless.
async fn through<T, E, F, Fut>(
    slot: &Mutex<Slot<T>>,
    now: DateTime<Utc>,
    ttl: Duration,
    load: F,
) -> Result<Arc<T>, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    if let Some(value) = fresh(&slot.lock().unwrap_or_else(|e| e.into_inner()), now, ttl) {
        return Ok(value);
    }
    let value = Arc::new(load().await?);
    if ttl > Duration::zero() {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, Arc::clone(&value)));
    }
    Ok(value)
}

impl ApiCache {
    pub async fn catalog<E, Fut>(
        &self,
        now: DateTime<Utc>,
        ttl: Duration,
        load: impl FnOnce() -> Fut,
    ) -> Result<Arc<Catalog>, E>
    where
        Fut: Future<Output = Result<Catalog, E>>,
    {
        through(&self.catalog, now, ttl, load).await
    }

    pub async fn roster<E, Fut>(
        &self,
        now: DateTime<Utc>,
        ttl: Duration,
        load: impl FnOnce() -> Fut,
    ) -> Result<Arc<Roster>, E>
    where
        Fut: Future<Output = Result<Roster, E>>,
    {
        through(&self.roster, now, ttl, load).await
    }

    /// A published test's questions; a test without questions is not kept.
    pub async fn questions<E, Fut>(
        &self,
        test: (SubjectName, TestId),
        now: DateTime<Utc>,
        ttl: Duration,
        load: impl FnOnce() -> Fut,
    ) -> Result<Option<Arc<Vec<Question>>>, E>
    where
        Fut: Future<Output = Result<Option<Vec<Question>>, E>>,
    {
        {
            let map = self.questions.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(value) = map
                .get(&test)
                .and_then(|(at, v)| fresh(&Some((*at, Arc::clone(v))), now, ttl))
            {
                return Ok(Some(value));
            }
        }
        let Some(value) = load().await? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        if ttl > Duration::zero() {
            let mut map = self.questions.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= MAX_QUESTION_SETS {
                map.clear();
            }
            map.insert(test, (now, Arc::clone(&value)));
        }
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    async fn roster_read(cache: &ApiCache, loads: &AtomicUsize, now: DateTime<Utc>) {
        cache
            .roster(now, DEFAULT_CACHE_TTL, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(Roster::default())
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_read_is_reused_within_the_ttl_and_read_again_after_it() {
        let cache = ApiCache::default();
        let loads = AtomicUsize::new(0);
        roster_read(&cache, &loads, at(0)).await;
        roster_read(&cache, &loads, at(29)).await;
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        roster_read(&cache, &loads, at(30)).await;
        assert_eq!(
            loads.load(Ordering::SeqCst),
            2,
            "a sync takes effect within 30 s"
        );
        // A clock that went back does not keep an old read alive.
        roster_read(&cache, &loads, at(10)).await;
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_every_time_and_failures_are_not_kept() {
        let cache = ApiCache::default();
        let loads = AtomicUsize::new(0);
        for _ in 0..3 {
            cache
                .catalog(at(0), Duration::zero(), || async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ()>(Catalog::default())
                })
                .await
                .unwrap();
        }
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        let failed = cache
            .catalog(at(0), DEFAULT_CACHE_TTL, || async {
                Err::<Catalog, _>("down")
            })
            .await;
        assert!(failed.is_err());
    }

    #[test]
    fn the_ttl_stays_well_inside_the_grading_grace() {
        assert!(DEFAULT_CACHE_TTL * 4 <= crate::deadline::GRADING_GRACE);
    }
}
