//! Students' personal API keys. Only SHA-256 hashes are stored; the plain key is
//! shown once when issued.
//!
//! Storage (see [`crate::layout`]): each live key is one object named by its hash,
//! which is all the API reads (one small GET per request, never cached); each
//! student's keyring names their live key and the replaced ones whose objects are
//! still to be removed. The keyring is changed only by compare-and-swap, so that
//! after any interleaving of issue, rotate and revoke exactly the last key issued
//! to a student works.

use crate::ids::StudentId;
use crate::layout;
use crate::ports::{ObjectStore, StoreError};
use crate::store_json;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix that makes a key recognisable in a config file or a leak scanner.
pub const KEY_PREFIX: &str = "ewk_";
/// 160 random bits.
const KEY_BYTES: usize = 20;

/// A plain key, as shown to the student once.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey(String);

impl PlainKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
    }

    /// Wraps a key given by a person (seeding, tests).
    pub fn from_string(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }
}

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainKey(***)")
    }
}

/// The SHA-256 of a key, as 64 lowercase hex digits: what is stored, and the name
/// of the key's object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct KeyHash(String);

impl KeyHash {
    pub fn of(presented: &str) -> Self {
        Self(hex::encode(Sha256::digest(presented.as_bytes())))
    }

    /// Parses a stored hash; anything but 64 lowercase hex digits is refused, so a
    /// hash can always name an object.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let ok = raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(StoreError::Failed(format!("{raw:?} is not a key hash")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for KeyHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

pub fn hash_key(key: &str) -> String {
    KeyHash::of(key).0
}

/// One issued key: whose it is and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub student_id: StudentId,
    pub sha256: KeyHash,
    pub created_at: DateTime<Utc>,
    /// Id of the matching API Gateway key, when deployed to AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_key_id: Option<String>,
    /// After this instant the key no longer opens anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl KeyRecord {
    pub fn new(student: &StudentId, key: &PlainKey, now: DateTime<Utc>) -> Self {
        Self {
            student_id: student.clone(),
            sha256: key.hash(),
            created_at: now,
            gateway_key_id: None,
            expires_at: None,
        }
    }

    fn opens(&self, presented: &KeyHash, now: DateTime<Utc>) -> bool {
        // Compared in constant time: the time taken says nothing about a guess.
        let equal: bool = self
            .sha256
            .0
            .as_bytes()
            .ct_eq(presented.0.as_bytes())
            .into();
        equal && self.expires_at.is_none_or(|t| now < t)
    }
}

/// One student's keys (`_system/keyring/<student>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Keyring {
    /// The live key: at most one.
    #[serde(default)]
    pub keys: Vec<KeyRecord>,
    /// Replaced keys whose objects may still exist (a command died before removing
    /// them); every later change of this keyring removes them first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<KeyRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the key registry is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// Finds the owner of a presented key: one GET of the object its hash names.
pub async fn owner_of(
    store: &(impl ObjectStore + ?Sized),
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Option<StudentId>, KeyError> {
    let hash = KeyHash::of(presented);
    let record: Option<KeyRecord> = store_json::read(store, &layout::key_record(&hash)).await?;
    Ok(record.filter(|r| r.opens(&hash, now)).map(|r| r.student_id))
}

/// A student's keyring (empty when they never had a key).
pub async fn keyring(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
) -> Result<Keyring, KeyError> {
    Ok(store_json::read(store, &layout::keyring(student))
        .await?
        .unwrap_or_default())
}

/// Every student who holds a key.
pub async fn students_with_keys(
    store: &(impl ObjectStore + ?Sized),
) -> Result<Vec<StudentId>, KeyError> {
    let mut holders = Vec::new();
    for info in store.list(layout::KEYRING_PREFIX).await? {
        let Some(id) = info.key.as_str().strip_prefix(layout::KEYRING_PREFIX) else {
            continue;
        };
        let Ok(student) = StudentId::parse(id) else {
            continue;
        };
        if !keyring(store, &student).await?.keys.is_empty() {
            holders.push(student);
        }
    }
    Ok(holders)
}

/// Makes `record` the student's only key (or, with `None`, leaves them none) and
/// returns the keys it replaced. The new key's object exists before the keyring
/// names it, and replaced keys' objects are removed after the keyring stops naming
/// them, so a key in the keyring always works and a key out of it soon never does.
pub async fn replace(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
    record: Option<KeyRecord>,
) -> Result<Vec<KeyRecord>, KeyError> {
    if let Some(record) = &record {
        let bytes = serde_json::to_vec_pretty(record)?;
        store
            .create(&layout::key_record(&record.sha256), bytes)
            .await?;
    }
    let ring_key = layout::keyring(student);
    let changed = store_json::update(store, &ring_key, |ring: &mut Keyring| {
        let replaced = std::mem::take(&mut ring.keys);
        ring.retired.extend(replaced.iter().cloned());
        ring.keys.extend(record.clone());
        Ok::<_, KeyError>((replaced, ring.retired.clone()))
    })
    .await;
    let (replaced, retired) = match changed {
        Ok(done) => done,
        Err(e) => {
            // The keyring never named the new key: nobody will be shown it.
            if let Some(record) = &record {
                let _ = store.purge(&layout::key_record(&record.sha256)).await;
            }
            return Err(e);
        }
    };
    // Also what earlier commands left behind when they died mid-way.
    for old in &retired {
        store.purge(&layout::key_record(&old.sha256)).await?;
    }
    let removed: Vec<KeyHash> = retired.into_iter().map(|r| r.sha256).collect();
    store_json::update(store, &ring_key, |ring: &mut Keyring| {
        ring.retired.retain(|r| !removed.contains(&r.sha256));
        Ok::<_, KeyError>(())
    })
    .await?;
    Ok(replaced)
}

/// Gives a student a new key, replacing any they had; returns the replaced ones.
pub async fn issue(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
    key: &PlainKey,
    now: DateTime<Utc>,
    gateway_key_id: Option<String>,
) -> Result<Vec<KeyRecord>, KeyError> {
    let record = KeyRecord {
        gateway_key_id,
        ..KeyRecord::new(student, key, now)
    };
    replace(store, student, Some(record)).await
}

/// Removes every key of a student; returns the removed records.
pub async fn revoke(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
) -> Result<Vec<KeyRecord>, KeyError> {
    replace(store, student, None).await
}

/// Replaces every key of a student with a new one.
pub async fn rotate(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
    now: DateTime<Utc>,
) -> Result<(PlainKey, Vec<KeyRecord>), KeyError> {
    let key = PlainKey::generate();
    let revoked = issue(store, student, &key, now, None).await?;
    Ok((key, revoked))
}

/// The single registry object of earlier versions.
#[derive(Debug, Default, Deserialize)]
struct LegacyRegistry {
    keys: Vec<KeyRecord>,
}

/// Moves the keys of a registry from before one object per key into keyrings
/// (keeping each student's newest key), then removes the old registry. Returns how
/// many students were moved; 0 when there was nothing to migrate.
pub async fn migrate_legacy(store: &(impl ObjectStore + ?Sized)) -> Result<usize, KeyError> {
    let legacy = layout::legacy_key_registry();
    let Some(old): Option<LegacyRegistry> = store_json::read(store, &legacy).await? else {
        return Ok(0);
    };
    let mut newest: std::collections::BTreeMap<StudentId, KeyRecord> = Default::default();
    for record in old.keys {
        match newest.get(&record.student_id) {
            Some(kept) if kept.created_at >= record.created_at => {}
            _ => {
                newest.insert(record.student_id.clone(), record);
            }
        }
    }
    let moved = newest.len();
    for (student, record) in newest {
        if keyring(store, &student).await?.keys.is_empty() {
            replace(store, &student, Some(record)).await?;
        }
    }
    store.purge(&legacy).await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;

    fn student(id: &str) -> StudentId {
        StudentId::parse(id).unwrap()
    }

    #[test]
    fn generated_keys_are_long_random_and_distinct() {
        let a = PlainKey::generate();
        let b = PlainKey::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), KEY_PREFIX.len() + 2 * KEY_BYTES);
        assert_eq!(format!("{a:?}"), "PlainKey(***)");
    }

    #[tokio::test]
    async fn only_the_hash_is_stored_and_it_finds_the_owner() {
        let store = MemoryStore::new();
        let st = student("student01");
        let key = PlainKey::generate();
        issue(&store, &st, &key, Utc::now(), None).await.unwrap();
        for (name, raw) in store.snapshot() {
            assert!(
                !String::from_utf8_lossy(&raw).contains(key.expose()),
                "{name}"
            );
        }
        assert_eq!(
            owner_of(&store, key.expose(), Utc::now()).await.unwrap(),
            Some(st)
        );
        assert_eq!(
            owner_of(&store, "ewk_wrong", Utc::now()).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn rotating_a_key_revokes_the_old_one() {
        let store = MemoryStore::new();
        let st = student("student01");
        let old = PlainKey::generate();
        issue(&store, &st, &old, Utc::now(), None).await.unwrap();
        let (new, revoked) = rotate(&store, &st, Utc::now()).await.unwrap();
        assert_eq!(revoked.len(), 1);
        assert_eq!(
            owner_of(&store, old.expose(), Utc::now()).await.unwrap(),
            None
        );
        assert_eq!(
            owner_of(&store, new.expose(), Utc::now()).await.unwrap(),
            Some(st.clone())
        );
        let ring = keyring(&store, &st).await.unwrap();
        assert_eq!(ring.keys.len(), 1);
        assert!(ring.retired.is_empty());
    }

    #[tokio::test]
    async fn an_expired_key_has_no_owner() {
        let store = MemoryStore::new();
        let key = PlainKey::generate();
        let now = Utc::now();
        let record = KeyRecord {
            expires_at: Some(now),
            ..KeyRecord::new(&student("student01"), &key, now)
        };
        replace(&store, &student("student01"), Some(record))
            .await
            .unwrap();
        assert_eq!(owner_of(&store, key.expose(), now).await.unwrap(), None);
        let before = now - chrono::Duration::seconds(1);
        assert!(owner_of(&store, key.expose(), before)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn a_key_replaced_by_a_command_that_died_is_removed_by_the_next_one() {
        let store = MemoryStore::new();
        let st = student("student01");
        let old = PlainKey::generate();
        issue(&store, &st, &old, Utc::now(), None).await.unwrap();
        // What a rotate that died after its swap leaves: the old key retired in the
        // keyring, its object still there.
        let new = PlainKey::generate();
        let record = KeyRecord::new(&st, &new, Utc::now());
        store_json::write(&store, &layout::key_record(&record.sha256), &record)
            .await
            .unwrap();
        let mut ring = keyring(&store, &st).await.unwrap();
        ring.retired = std::mem::take(&mut ring.keys);
        ring.keys.push(record);
        store_json::write(&store, &layout::keyring(&st), &ring)
            .await
            .unwrap();
        // The next command on that student finishes the job.
        let (newest, replaced) = rotate(&store, &st, Utc::now()).await.unwrap();
        assert_eq!(replaced.len(), 1);
        for gone in [&old, &new] {
            assert_eq!(
                owner_of(&store, gone.expose(), Utc::now()).await.unwrap(),
                None
            );
        }
        assert_eq!(
            owner_of(&store, newest.expose(), Utc::now()).await.unwrap(),
            Some(st.clone())
        );
        assert!(keyring(&store, &st).await.unwrap().retired.is_empty());
    }

    #[tokio::test]
    async fn a_registry_of_earlier_versions_is_moved_into_keyrings() {
        let store = MemoryStore::new();
        let (a, b) = (PlainKey::generate(), PlainKey::generate());
        let t0 = Utc::now();
        let legacy = serde_json::json!({"keys": [
            {"studentId": "student01", "sha256": a.hash(), "createdAt": t0},
            {"studentId": "student01", "sha256": b.hash(), "createdAt": t0 + chrono::Duration::seconds(5)},
        ]});
        store_json::write(&store, &layout::legacy_key_registry(), &legacy)
            .await
            .unwrap();
        assert_eq!(migrate_legacy(&store).await.unwrap(), 1);
        assert_eq!(
            owner_of(&store, a.expose(), t0).await.unwrap(),
            None,
            "only the newest key stays"
        );
        assert!(owner_of(&store, b.expose(), t0).await.unwrap().is_some());
        assert!(store
            .get(&layout::legacy_key_registry())
            .await
            .unwrap()
            .is_none());
        assert_eq!(migrate_legacy(&store).await.unwrap(), 0);
    }
}
