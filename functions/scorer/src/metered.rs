//! Counting wrappers for the benchmark: how many store requests and emails a pass makes.

use async_trait::async_trait;
use ework_domain::layout::ObjectKey;
use ework_domain::ports::{
    Created, Etag, MailError, Mailer, ObjectInfo, ObjectStore, StoreError, Swapped,
};
use std::sync::atomic::{AtomicU64, Ordering};

/// Store calls by kind, as S3 requests. A `list` call counts the pages an S3
/// ListObjectsV2 would need (1000 keys each), since that is what S3 bills and
/// throttles; a purge counts two (ListObjectVersions, then one DeleteObject for the
/// single version a journal object has).
#[derive(Debug, Default)]
pub struct Counts {
    pub get: AtomicU64,
    pub put: AtomicU64,
    pub create: AtomicU64,
    pub list_pages: AtomicU64,
    pub purge: AtomicU64,
    pub listed_keys: AtomicU64,
    pub mails: AtomicU64,
    /// Bytes of the largest message (the trainer's report, in a big pass): SES v2
    /// takes at most 40 MB.
    pub largest_mail: AtomicU64,
}

impl Counts {
    pub fn total_store_requests(&self) -> u64 {
        self.requests_besides_listing() + self.list_pages.load(Ordering::Relaxed)
    }

    /// Every request but LIST pages (the figure the per-submission target is about).
    pub fn requests_besides_listing(&self) -> u64 {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        l(&self.get) + l(&self.put) + l(&self.create) + 2 * l(&self.purge)
    }

    pub fn describe(&self) -> String {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} store requests (GET {}, PUT {}, conditional PUT {}, purges {} x 2, LIST pages {} for {} keys), {} emails (largest {:.1} MB)",
            self.total_store_requests(),
            l(&self.get),
            l(&self.put),
            l(&self.create),
            l(&self.purge),
            l(&self.list_pages),
            l(&self.listed_keys),
            l(&self.mails),
            l(&self.largest_mail) as f64 / 1e6
        )
    }
}

/// Wraps a store and counts every call.
pub struct MeteredStore<S> {
    pub inner: S,
    pub counts: std::sync::Arc<Counts>,
}

#[async_trait]
impl<S: ObjectStore> ObjectStore for MeteredStore<S> {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.counts.get.fetch_add(1, Ordering::Relaxed);
        self.inner.get(key).await
    }
    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.counts.put.fetch_add(1, Ordering::Relaxed);
        self.inner.put(key, bytes).await
    }
    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        self.counts.create.fetch_add(1, Ordering::Relaxed);
        self.inner.create(key, bytes).await
    }
    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        self.counts.get.fetch_add(1, Ordering::Relaxed);
        self.inner.get_tagged(key).await
    }
    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        self.counts.put.fetch_add(1, Ordering::Relaxed);
        self.inner.put_if_match(key, bytes, expected).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let listed = self.inner.list(prefix).await?;
        let pages = (listed.len() as u64).div_ceil(1000).max(1);
        self.counts.list_pages.fetch_add(pages, Ordering::Relaxed);
        self.counts
            .listed_keys
            .fetch_add(listed.len() as u64, Ordering::Relaxed);
        Ok(listed)
    }
    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.counts.purge.fetch_add(1, Ordering::Relaxed);
        self.inner.purge(key).await
    }
    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.counts.purge.fetch_add(1, Ordering::Relaxed);
        self.inner.purge_history(key).await
    }
}

/// Wraps a mailer and counts every message handed over.
pub struct MeteredMailer {
    pub inner: std::sync::Arc<dyn Mailer>,
    pub counts: std::sync::Arc<Counts>,
}

#[async_trait]
impl Mailer for MeteredMailer {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        self.counts.mails.fetch_add(1, Ordering::Relaxed);
        self.counts
            .largest_mail
            .fetch_max(raw.len() as u64, Ordering::Relaxed);
        self.inner.send(to, raw).await
    }
}
