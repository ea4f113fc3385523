//! The scorer's bookkeeping under `_system/` besides results and journal (see
//! [`super::results`]): rescore requests and the run lease.

use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey, LEASE_PREFIX};
use crate::ports::{Created, ObjectStore, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub use crate::layout::RESCORE_PREFIX;

/// The rescore marker's key, built by [`layout::rescore_marker`]; kept with its old
/// fallible signature for callers that still expect one (it never fails).
pub fn rescore_marker(subject: &SubjectName, test: &TestId) -> Result<ObjectKey, StoreError> {
    Ok(layout::rescore_marker(subject, test))
}

/// What a handled rescore marker contains.
pub const RESCORE_DONE: &[u8] = b"done";

/// A rescore marker asks for work unless it is empty or says it is done
/// (`done`, or JSON `{"state": "done"}`).
pub fn rescore_requested(contents: &[u8]) -> bool {
    let text = String::from_utf8_lossy(contents);
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("done") {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.get("state").and_then(|s| s.as_str()) != Some("done"),
        Err(_) => true,
    }
}

/// The students a rescore request names (`"students": ["student02"]`); `None` asks
/// for the whole test, as does a list that cannot be read (grading more students
/// than asked is harmless: an unchanged result is not emailed again).
pub fn rescore_students(contents: &[u8]) -> Option<BTreeSet<StudentId>> {
    let v: serde_json::Value = serde_json::from_slice(contents).ok()?;
    let list = v.get("students")?.as_array()?;
    let students: Option<BTreeSet<StudentId>> = list
        .iter()
        .map(|s| StudentId::parse(s.as_str()?).ok())
        .collect();
    students.filter(|s| !s.is_empty())
}

/// The body of a rescore request for `student` (the whole test when `None`), folded
/// into the request already waiting in the marker, if any: a waiting request for
/// the whole test stays one, and one for some students gains this one. So two
/// appeals accepted before the next pass are both handled.
pub fn rescore_request(
    waiting: Option<&[u8]>,
    subject: &SubjectName,
    test: &TestId,
    student: Option<&StudentId>,
    now: DateTime<Utc>,
) -> Vec<u8> {
    let waiting = waiting.filter(|w| rescore_requested(w));
    let students: Option<BTreeSet<StudentId>> = match (waiting.map(rescore_students), student) {
        (Some(None), _) | (_, None) => None,
        (Some(Some(mut set)), Some(s)) => {
            set.insert(s.clone());
            Some(set)
        }
        (None, Some(s)) => Some(BTreeSet::from([s.clone()])),
    };
    let mut body = serde_json::json!({"subject": subject, "testId": test, "requestedAt": now});
    if let Some(students) = students {
        body["students"] = serde_json::json!(students);
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Contents of a lease object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaseRecord {
    holder: String,
    acquired_at: DateTime<Utc>,
    until: DateTime<Utc>,
    released: bool,
}

/// The right to run: only one scorer run at a time, so two concurrent invocations
/// (a duplicate schedule event) cannot both send the same email.
///
/// Leases are numbered objects created once each; taking the next number is the
/// atomic step, so two runs cannot both take it. A lease that was never released
/// (the process died) stops counting at its `until`.
#[derive(Debug, Clone)]
pub struct Lease {
    key: ObjectKey,
    record: LeaseRecord,
}

/// Why a lease was not granted.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("another scorer run holds the lease until {0}")]
    Busy(DateTime<Utc>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Lease {
    pub async fn acquire(
        store: &(impl ObjectStore + ?Sized),
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Lease, LeaseError> {
        let listed = store.list(LEASE_PREFIX).await?;
        let last = listed
            .iter()
            .filter_map(|o| layout::parse_lease(o.key.as_str()))
            .max();
        if let Some(n) = last {
            let held: Option<LeaseRecord> =
                crate::store_json::read(store, &layout::lease(n)).await?;
            if let Some(held) = held.filter(|h| !h.released && h.until > now) {
                return Err(LeaseError::Busy(held.until));
            }
        }
        let next = last.map_or(0, |n| n + 1);
        let record = LeaseRecord {
            holder: hex::encode(rand::random::<[u8; 8]>()),
            acquired_at: now,
            until,
            released: false,
        };
        let key = layout::lease(next);
        let bytes = serde_json::to_vec(&record).map_err(|e| StoreError::Failed(e.to_string()))?;
        match store.create(&key, bytes).await? {
            Created::Now => Ok(Lease { key, record }),
            Created::AlreadyExisted => Err(LeaseError::Busy(until)),
        }
    }

    /// Marks the lease released so the next run need not wait for it to expire.
    pub async fn release(mut self, store: &(impl ObjectStore + ?Sized)) -> Result<(), StoreError> {
        self.record.released = true;
        crate::store_json::write(store, &self.key, &self.record).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;
    use chrono::Duration;

    #[test]
    fn rescore_markers_are_active_until_marked_done() {
        assert!(rescore_requested(
            b"{\"requestedAt\":\"2026-11-30T10:00:00Z\"}"
        ));
        assert!(rescore_requested(b"please"));
        assert!(!rescore_requested(b""));
        assert!(!rescore_requested(RESCORE_DONE));
        assert!(!rescore_requested(b"{\"state\":\"done\"}"));
    }

    fn ids(list: &[&str]) -> Option<BTreeSet<StudentId>> {
        Some(list.iter().map(|s| StudentId::parse(*s).unwrap()).collect())
    }

    #[test]
    fn a_rescore_request_names_its_students_or_the_whole_test() {
        for (body, want) in [
            (&br#"{"students":["s1","s2"]}"#[..], ids(&["s1", "s2"])),
            (br#"{"requestedAt":"2026-11-30T10:00:00Z"}"#, None),
            (br#"{"students":[]}"#, None),
            (br#"{"students":["s1","../x"]}"#, None),
            (br#"{"students":"s1"}"#, None),
            (b"please", None),
        ] {
            assert_eq!(
                rescore_students(body),
                want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_request_for_one_student_joins_the_request_already_waiting() {
        let (s, t) = (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        );
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let s1 = StudentId::parse("s1").unwrap();
        let s2 = StudentId::parse("s2").unwrap();
        let one = rescore_request(None, &s, &t, Some(&s1), now);
        assert!(rescore_requested(&one));
        assert_eq!(rescore_students(&one), ids(&["s1"]));
        let two = rescore_request(Some(&one), &s, &t, Some(&s2), now);
        assert_eq!(rescore_students(&two), ids(&["s1", "s2"]));
        let whole = rescore_request(Some(&two), &s, &t, None, now);
        assert_eq!(rescore_students(&whole), None);
        let still_whole = rescore_request(Some(&whole), &s, &t, Some(&s1), now);
        assert_eq!(
            rescore_students(&still_whole),
            None,
            "the whole test stays asked for"
        );
        let after_done = rescore_request(Some(RESCORE_DONE), &s, &t, Some(&s2), now);
        assert_eq!(
            rescore_students(&after_done),
            ids(&["s2"]),
            "a handled request is not joined"
        );
    }

    #[tokio::test]
    async fn a_held_lease_blocks_a_second_run_until_released_or_expired() {
        let store = MemoryStore::new();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let until = now + Duration::minutes(15);
        let first = Lease::acquire(&store, now, until).await.unwrap();
        assert!(matches!(
            Lease::acquire(&store, now, until).await,
            Err(LeaseError::Busy(_))
        ));
        // Expired: a crashed holder does not block forever.
        let later = until + Duration::seconds(1);
        let second = Lease::acquire(&store, later, later + Duration::minutes(15))
            .await
            .unwrap();
        drop(first);
        second.release(&store).await.unwrap();
        assert!(Lease::acquire(&store, later, later + Duration::minutes(15))
            .await
            .is_ok());
    }
}
