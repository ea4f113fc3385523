//! Students' personal API keys. Only SHA-256 hashes are stored; the plain key is
//! shown once when issued.

use crate::ids::StudentId;
use crate::layout;
use crate::ports::{ObjectStore, StoreError};
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

    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }
}

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainKey(***)")
    }
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// One stored key: whose it is and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub student_id: StudentId,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Id of the matching API Gateway key, when deployed to AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_key_id: Option<String>,
    /// After this instant the key no longer opens anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The whole registry (`_system/keys.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRegistry {
    pub keys: Vec<KeyRecord>,
}

impl KeyRegistry {
    /// Finds the owner of a presented key. Every record is compared, in constant
    /// time, so the time taken says nothing about how close a guess was.
    pub fn owner_of(&self, presented: &str, now: DateTime<Utc>) -> Option<&StudentId> {
        let presented = hash_key(presented);
        let mut found = None;
        for record in &self.keys {
            let equal: bool = record.sha256.as_bytes().ct_eq(presented.as_bytes()).into();
            let live = record.expires_at.is_none_or(|t| now < t);
            if equal && live {
                found = Some(&record.student_id);
            }
        }
        found
    }

    pub fn for_student<'a>(
        &'a self,
        id: &'a StudentId,
    ) -> impl Iterator<Item = &'a KeyRecord> + 'a {
        self.keys.iter().filter(move |k| &k.student_id == id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the key registry is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
}

pub async fn load(store: &(impl ObjectStore + ?Sized)) -> Result<KeyRegistry, KeyError> {
    match store.get(&layout::key_registry()).await? {
        Some(bytes) => Ok(serde_json::from_slice(&bytes)?),
        None => Ok(KeyRegistry::default()),
    }
}

pub async fn save(
    store: &(impl ObjectStore + ?Sized),
    registry: &KeyRegistry,
) -> Result<(), KeyError> {
    let bytes = serde_json::to_vec_pretty(registry)?;
    store.put(&layout::key_registry(), bytes).await?;
    Ok(())
}

/// Adds a key for a student (they may hold several until old ones are revoked).
pub async fn issue(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
    key: &PlainKey,
    now: DateTime<Utc>,
    gateway_key_id: Option<String>,
) -> Result<(), KeyError> {
    let mut registry = load(store).await?;
    registry.keys.push(KeyRecord {
        student_id: student.clone(),
        sha256: key.hash(),
        created_at: now,
        gateway_key_id,
        expires_at: None,
    });
    save(store, &registry).await
}

/// Removes every key of a student; returns the removed records.
pub async fn revoke(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
) -> Result<Vec<KeyRecord>, KeyError> {
    let mut registry = load(store).await?;
    let (gone, kept): (Vec<_>, Vec<_>) = registry
        .keys
        .into_iter()
        .partition(|k| &k.student_id == student);
    registry.keys = kept;
    if !gone.is_empty() {
        save(store, &registry).await?;
    }
    Ok(gone)
}

/// Replaces every key of a student with a new one.
pub async fn rotate(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
    now: DateTime<Utc>,
) -> Result<(PlainKey, Vec<KeyRecord>), KeyError> {
    let revoked = revoke(store, student).await?;
    let key = PlainKey::generate();
    issue(store, student, &key, now, None).await?;
    Ok((key, revoked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;

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
        let st = StudentId::parse("student01").unwrap();
        let key = PlainKey::generate();
        issue(&store, &st, &key, Utc::now(), None).await.unwrap();
        let raw = store.snapshot().remove("_system/keys.json").unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains(key.expose()));
        let registry = load(&store).await.unwrap();
        assert_eq!(registry.owner_of(key.expose(), Utc::now()), Some(&st));
        assert_eq!(registry.owner_of("ewk_wrong", Utc::now()), None);
    }

    #[tokio::test]
    async fn rotating_a_key_revokes_the_old_one() {
        let store = MemoryStore::new();
        let st = StudentId::parse("student01").unwrap();
        let old = PlainKey::generate();
        issue(&store, &st, &old, Utc::now(), None).await.unwrap();
        let (new, revoked) = rotate(&store, &st, Utc::now()).await.unwrap();
        assert_eq!(revoked.len(), 1);
        let registry = load(&store).await.unwrap();
        assert_eq!(registry.owner_of(old.expose(), Utc::now()), None);
        assert_eq!(registry.owner_of(new.expose(), Utc::now()), Some(&st));
    }

    #[test]
    fn an_expired_key_has_no_owner() {
        let key = PlainKey::generate();
        let now = Utc::now();
        let registry = KeyRegistry {
            keys: vec![KeyRecord {
                student_id: StudentId::parse("student01").unwrap(),
                sha256: key.hash(),
                created_at: now,
                gateway_key_id: None,
                expires_at: Some(now),
            }],
        };
        assert_eq!(registry.owner_of(key.expose(), now), None);
        assert!(registry
            .owner_of(key.expose(), now - chrono::Duration::seconds(1))
            .is_some());
    }
}
