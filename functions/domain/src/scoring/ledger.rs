//! The scorer's bookkeeping under `_system/`: which emails went out, which tests the
//! trainer has had a report for, rescore requests, and the run lease.
//!
//! Every ledger entry is written with a create-once write *after* the mail service
//! accepted the message, so a rerun re-sends exactly what has no entry.

use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey};
use crate::ports::{Created, ObjectStore, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

fn key(raw: String) -> Result<ObjectKey, StoreError> {
    ObjectKey::parse(&raw).map_err(|e| StoreError::Failed(e.to_string()))
}

/// Prefix of the ledger entries of one test: `_system/ledger/<subject>/<test>/`.
pub fn test_ledger_prefix(subject: &SubjectName, test: &TestId) -> String {
    format!("_system/ledger/{subject}/{test}/")
}

/// Entry recording that `student` was emailed revision `revision` of their result.
pub fn student_entry(
    subject: &SubjectName,
    test: &TestId,
    student: &StudentId,
    revision: u32,
) -> Result<ObjectKey, StoreError> {
    key(format!(
        "{}{student}/r{revision}",
        test_ledger_prefix(subject, test)
    ))
}

/// Splits a key listed under [`test_ledger_prefix`] into student and revision.
pub fn parse_student_entry(prefix: &str, key: &str) -> Option<(StudentId, u32)> {
    let rest = key.strip_prefix(prefix)?;
    let (student, rev) = rest.split_once('/')?;
    let rev = rev.strip_prefix('r')?.parse().ok()?;
    Some((StudentId::parse(student).ok()?, rev))
}

pub const REPORTED_PREFIX: &str = "_system/reported/";

/// Created once the trainer's report covering the test was accepted for delivery.
pub fn reported_entry(subject: &SubjectName, test: &TestId) -> ObjectKey {
    layout::reported_marker(subject, test)
}

pub const RESCORE_PREFIX: &str = "_system/rescore/";

/// Written by `trainer sync --rescore`: grade the test again and tell the students
/// whose result changed. The scorer replaces the contents with [`RESCORE_DONE`].
pub fn rescore_marker(subject: &SubjectName, test: &TestId) -> Result<ObjectKey, StoreError> {
    key(format!("{RESCORE_PREFIX}{subject}/{test}"))
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

/// Splits `_system/rescore/<subject>/<test>` (or `_system/reported/...`) into ids.
pub fn parse_test_marker(prefix: &str, key: &str) -> Option<(SubjectName, TestId)> {
    let (s, t) = key.strip_prefix(prefix)?.split_once('/')?;
    Some((SubjectName::parse(s).ok()?, TestId::parse(t).ok()?))
}

/// Contents of a ledger entry: enough to answer "did this student get an email?".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentRecord {
    pub sent_at: DateTime<Utc>,
    pub to: Vec<String>,
    pub message_id: String,
    pub subject: String,
}

const LEASE_PREFIX: &str = "_system/scorer/lease/";

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
            .filter_map(|o| {
                o.key
                    .as_str()
                    .strip_prefix(LEASE_PREFIX)?
                    .parse::<u64>()
                    .ok()
            })
            .max();
        if let Some(n) = last {
            let held: Option<LeaseRecord> = crate::store_json::read(store, &lease_key(n)?).await?;
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
        let key = lease_key(next)?;
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

fn lease_key(n: u64) -> Result<ObjectKey, StoreError> {
    key(format!("{LEASE_PREFIX}{n:012}"))
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

    #[test]
    fn student_entries_parse_back() {
        let s = SubjectName::parse("os").unwrap();
        let t = TestId::parse("t1").unwrap();
        let st = StudentId::parse("student01").unwrap();
        let k = student_entry(&s, &t, &st, 2).unwrap();
        assert_eq!(k.as_str(), "_system/ledger/os/t1/student01/r2");
        assert_eq!(
            parse_student_entry(&test_ledger_prefix(&s, &t), k.as_str()),
            Some((st, 2))
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
