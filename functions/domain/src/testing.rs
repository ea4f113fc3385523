//! In-memory adapters of the ports and a call hook, for the domain's own unit tests
//! and every other crate's tests.
//!
//! They stay in the domain because its unit tests need them: a dev-dependency crate
//! depending on `ework-domain` would hand those tests a second copy of the domain's
//! types. What only integration tests, benches and other crates use (faults, retries,
//! latency, the fixture course) is in the `ework-testkit` dev-dependency.

use crate::layout::ObjectKey;
use crate::ports::{
    Created, Etag, MailError, Mailer, ObjectInfo, ObjectStore, StoreError, Swapped,
};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A store in a `BTreeMap`, keeping old versions like a versioned bucket.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<Vec<u8>>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every current object with its bytes, for before/after comparisons.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter_map(|(k, v)| v.last().map(|b| (k.clone(), b.clone())))
            .collect()
    }

    pub fn versions(&self, key: &str) -> usize {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).map_or(0, Vec::len)
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.get(key.as_str()).and_then(|v| v.last().cloned()))
    }

    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.as_str().to_owned()).or_default().push(bytes);
        Ok(())
    }

    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let versions = map.entry(key.as_str().to_owned()).or_default();
        if versions.is_empty() {
            versions.push(bytes);
            Ok(Created::Now)
        } else {
            Ok(Created::AlreadyExisted)
        }
    }

    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .get(key.as_str())
            .and_then(|v| v.last())
            .map(|b| (b.clone(), content_tag(b))))
    }

    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(key.as_str()) {
            Some(versions)
                if versions.last().map(|b| content_tag(b)).as_ref() == Some(expected) =>
            {
                versions.push(bytes);
                Ok(Swapped::Now)
            }
            _ => Ok(Swapped::Conflict),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| {
                let last = v.last()?;
                Some(ObjectInfo {
                    key: ObjectKey::parse(k).ok()?,
                    size: last.len() as u64,
                    last_modified: None,
                })
            })
            .collect())
    }

    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.remove(key.as_str()).map_or(0, |v| v.len()))
    }

    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.get_mut(key.as_str()).map_or(0, |v| {
            let old = v.len().saturating_sub(1);
            v.drain(..old);
            old
        }))
    }
}

/// Tags contents by their digest, as S3's ETag does for a simple upload: a write
/// that puts back the same bytes is indistinguishable, and harmless, to a swap.
fn content_tag(bytes: &[u8]) -> Etag {
    use sha2::{Digest, Sha256};
    Etag(hex::encode(Sha256::digest(bytes)))
}

/// A mailer that keeps what it was asked to send.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<(Vec<String>, Vec<u8>)>>,
}

impl MemoryMailer {
    pub fn sent(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.push((to.to_vec(), raw));
        Ok(format!("memory-{}", sent.len()))
    }
}
/// A mailer that hands `limit` messages to `inner`, then never answers again: the
/// process "dies" there, and `died` says when, so a test can stop the pass.
pub struct DiesAfter<M> {
    pub inner: M,
    pub limit: usize,
    pub calls: std::sync::atomic::AtomicUsize,
    pub died: tokio::sync::Notify,
}

impl<M> DiesAfter<M> {
    pub fn new(inner: M, limit: usize) -> Self {
        Self {
            inner,
            limit,
            calls: 0.into(),
            died: Default::default(),
        }
    }
}

#[async_trait]
impl<M: Mailer> Mailer for DiesAfter<M> {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        use std::sync::atomic::Ordering;
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.died.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.send(to, raw).await
    }
}

/// Which store call is about to run, for a [`BeforeCall`] hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Get,
    Put,
    Create,
    GetTagged,
    PutIfMatch,
    List,
    Purge,
    PurgeHistory,
}

impl Call {
    /// Whether the call writes (or removes) an object.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Call::Put | Call::Create | Call::PutIfMatch | Call::Purge | Call::PurgeHistory
        )
    }
}

/// What runs before each call of a [`Hooked`] store: a delay, a count, a gate the
/// test opens, a process that dies (a hook that never returns), a clock that jumps.
#[async_trait]
pub trait BeforeCall: Send + Sync {
    /// `key` is the object's key, or the prefix of a listing.
    async fn before(&self, call: Call, key: &str);
}

/// A store that runs `hook` before every call of `inner`, so a test states only
/// what happens around a call, not the whole port again.
pub struct Hooked<S, H> {
    pub inner: S,
    pub hook: H,
}

#[async_trait]
impl<S: ObjectStore, H: BeforeCall> ObjectStore for Hooked<S, H> {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.hook.before(Call::Get, key.as_str()).await;
        self.inner.get(key).await
    }
    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.hook.before(Call::Put, key.as_str()).await;
        self.inner.put(key, bytes).await
    }
    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        self.hook.before(Call::Create, key.as_str()).await;
        self.inner.create(key, bytes).await
    }
    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        self.hook.before(Call::GetTagged, key.as_str()).await;
        self.inner.get_tagged(key).await
    }
    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        self.hook.before(Call::PutIfMatch, key.as_str()).await;
        self.inner.put_if_match(key, bytes, expected).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.hook.before(Call::List, prefix).await;
        self.inner.list(prefix).await
    }
    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.hook.before(Call::Purge, key.as_str()).await;
        self.inner.purge(key).await
    }
    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.hook.before(Call::PurgeHistory, key.as_str()).await;
        self.inner.purge_history(key).await
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_purges_every_version_but_the_current_one() {
        let store = MemoryStore::new();
        let key = ObjectKey::parse("_system/results/s/t/results.json").unwrap();
        for v in [&b"v1"[..], b"v2", b"v3"] {
            store.put(&key, v.to_vec()).await.unwrap();
        }
        assert_eq!(store.purge_history(&key).await.unwrap(), 2);
        assert_eq!(store.versions(key.as_str()), 1);
        assert_eq!(store.get(&key).await.unwrap().unwrap(), b"v3");
        let missing = ObjectKey::parse("nothing").unwrap();
        assert_eq!(store.purge_history(&missing).await.unwrap(), 0);
    }
}
