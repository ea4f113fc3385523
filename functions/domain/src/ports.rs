//! Ports: the small traits the rules need from the outside world. Adapters live in
//! `ework-adapters`; in-memory fakes live in [`crate::testing`].

use crate::layout::ObjectKey;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A failure of the storage backend (never caused by the request's content).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, 5xx: worth retrying later.
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else: misconfiguration, corrupt object, permissions.
    #[error("storage failure: {0}")]
    Failed(String),
}

/// Outcome of a create-once write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// This call wrote the object.
    Now,
    /// The object already existed; nothing was written.
    AlreadyExisted,
}

/// An opaque tag naming the stored contents of an object (S3's ETag; a digest of
/// the file on the local store). Two reads with the same tag saw the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Etag(pub String);

/// Outcome of a conditional replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swapped {
    /// The object still had the expected contents and now holds the new ones.
    Now,
    /// Someone else wrote (or removed) it since it was read; nothing was written.
    Conflict,
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: ObjectKey,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// The object store: one bucket, or one local encrypted directory.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Reads an object; `None` when it does not exist.
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes (or replaces) an object; earlier contents stay as an old version.
    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// Writes an object only if it does not exist yet.
    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError>;
    /// Reads an object with the tag of the contents read, for [`ObjectStore::put_if_match`].
    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError>;
    /// Replaces an object only if its contents are still those tagged `expected`:
    /// the compare-and-swap that keeps concurrent writers of one shared object from
    /// losing each other's updates (absent objects take [`ObjectStore::create`]).
    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError>;
    /// Every object whose key starts with `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;
    /// Removes an object with all its versions (used for erasure only).
    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError>;
    /// Removes every version of `key` except the current one (erasure of data that
    /// shared objects held earlier); returns how many were removed.
    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError>;
}

/// Where "now" comes from, so deadlines can be tested.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same time (tests, manual re-runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A failure to hand a message to the mail service.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail service throttled or unavailable: {0}")]
    Unavailable(String),
    #[error("mail rejected: {0}")]
    Rejected(String),
}

/// Sends one fully formatted RFC 5322 message.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Returns the mail service's message id.
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError>;
}

/// A store behind a shared or borrowed pointer is still a store, so handlers can
/// take `Arc<dyn ObjectStore>`, `&LocalStore` or a wrapper alike.
macro_rules! delegate_store {
    ($($ptr:ty),*) => {$(
        #[async_trait]
        impl<T: ObjectStore + ?Sized> ObjectStore for $ptr {
            async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
                (**self).get(key).await
            }
            async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
                (**self).put(key, bytes).await
            }
            async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
                (**self).create(key, bytes).await
            }
            async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
                (**self).get_tagged(key).await
            }
            async fn put_if_match(
                &self,
                key: &ObjectKey,
                bytes: Vec<u8>,
                expected: &Etag,
            ) -> Result<Swapped, StoreError> {
                (**self).put_if_match(key, bytes, expected).await
            }
            async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
                (**self).list(prefix).await
            }
            async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
                (**self).purge(key).await
            }
            async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
                (**self).purge_history(key).await
            }
        }
    )*};
}

delegate_store!(std::sync::Arc<T>, &T);

/// Likewise a mailer behind a shared or borrowed pointer.
macro_rules! delegate_mailer {
    ($($ptr:ty),*) => {$(
        #[async_trait]
        impl<T: Mailer + ?Sized> Mailer for $ptr {
            async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
                (**self).send(to, raw).await
            }
        }
    )*};
}

delegate_mailer!(std::sync::Arc<T>, &T);
