//! Faults and retries around the ports: a store or mailer failing a seeded fraction
//! of calls like a throttled S3 or SES, and the production adapters' retries over
//! them, so a fault test sees the failure rate the rules see in production.

use async_trait::async_trait;
use ework_domain::layout::ObjectKey;
use ework_domain::ports::{
    Created, Etag, MailError, Mailer, ObjectInfo, ObjectStore, StoreError, Swapped,
};
use std::sync::Mutex;

/// Which calls a [`FaultyStore`] or [`FaultyMailer`] fails, decided by a seeded
/// generator so a failing run can be replayed.
#[derive(Debug)]
pub struct FaultPlan {
    /// Fraction of calls that fail, 0.0..=1.0.
    pub rate: f64,
    rng: Mutex<rand::rngs::StdRng>,
    pub injected: std::sync::atomic::AtomicUsize,
}

impl FaultPlan {
    pub fn new(rate: f64, seed: u64) -> Self {
        use rand::SeedableRng;
        Self {
            rate,
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
            injected: Default::default(),
        }
    }

    /// Returns the kind of failure to inject now, if any.
    fn roll(&self) -> Option<&'static str> {
        use rand::Rng;
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        if rng.gen::<f64>() >= self.rate {
            return None;
        }
        self.injected
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(["503 SlowDown", "timeout", "500 InternalError"][rng.gen_range(0..3)])
    }

    pub fn injected(&self) -> usize {
        self.injected.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Wraps a store and fails a fraction of calls like a throttled or flaky S3. A
/// failed write may or may not have happened (as with a timeout): half of the
/// injected write failures are reported after the write was done.
pub struct FaultyStore<S> {
    pub inner: S,
    pub plan: FaultPlan,
}

#[async_trait]
impl<S: ObjectStore> ObjectStore for FaultyStore<S> {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(kind) = self.plan.roll() {
            return Err(StoreError::Unavailable(format!(
                "injected {kind} reading {key}"
            )));
        }
        self.inner.get(key).await
    }

    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        match self.plan.roll() {
            Some(kind @ "timeout") => {
                self.inner.put(key, bytes).await?;
                Err(StoreError::Unavailable(format!(
                    "injected {kind} after writing {key}"
                )))
            }
            Some(kind) => Err(StoreError::Unavailable(format!(
                "injected {kind} writing {key}"
            ))),
            None => self.inner.put(key, bytes).await,
        }
    }

    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        match self.plan.roll() {
            Some(kind @ "timeout") => {
                self.inner.create(key, bytes).await?;
                Err(StoreError::Unavailable(format!(
                    "injected {kind} after creating {key}"
                )))
            }
            Some(kind) => Err(StoreError::Unavailable(format!(
                "injected {kind} creating {key}"
            ))),
            None => self.inner.create(key, bytes).await,
        }
    }

    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        if let Some(kind) = self.plan.roll() {
            return Err(StoreError::Unavailable(format!(
                "injected {kind} reading {key}"
            )));
        }
        self.inner.get_tagged(key).await
    }

    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        match self.plan.roll() {
            Some(kind @ "timeout") => {
                self.inner.put_if_match(key, bytes, expected).await?;
                Err(StoreError::Unavailable(format!(
                    "injected {kind} after writing {key}"
                )))
            }
            Some(kind) => Err(StoreError::Unavailable(format!(
                "injected {kind} writing {key}"
            ))),
            None => self.inner.put_if_match(key, bytes, expected).await,
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        if let Some(kind) = self.plan.roll() {
            return Err(StoreError::Unavailable(format!(
                "injected {kind} listing {prefix}"
            )));
        }
        self.inner.list(prefix).await
    }

    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        if let Some(kind) = self.plan.roll() {
            return Err(StoreError::Unavailable(format!(
                "injected {kind} purging {key}"
            )));
        }
        self.inner.purge(key).await
    }

    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        if let Some(kind) = self.plan.roll() {
            return Err(StoreError::Unavailable(format!(
                "injected {kind} purging the history of {key}"
            )));
        }
        self.inner.purge_history(key).await
    }
}

/// Wraps a mailer and fails a fraction of sends like a throttled SES, before the
/// message is handed over. (A send that is accepted but whose answer is lost is
/// the documented duplicate window; the crash tests cover it.)
pub struct FaultyMailer<M> {
    pub inner: M,
    pub plan: FaultPlan,
}

#[async_trait]
impl<M: Mailer> Mailer for FaultyMailer<M> {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        match self.plan.roll() {
            Some(kind) => Err(MailError::Unavailable(format!("injected {kind}"))),
            None => self.inner.send(to, raw).await,
        }
    }
}
/// Retries passing failures like the production adapters do: the S3 SDK's
/// standard retry mode (3 attempts) under `S3Store`, and `SesMailer`'s own retries
/// (5 attempts). Composed over [`FaultyStore`] / [`FaultyMailer`], it lets a fault
/// test see the failure rate the rules see in production.
pub struct Retrying<T> {
    pub inner: T,
    pub attempts: u32,
}

impl<T> Retrying<T> {
    async fn run<R, E, F, Fut>(&self, mut call: F) -> Result<R, E>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<R, E>>,
        E: RetryableError,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(e) if e.retryable() && attempt < self.attempts => attempt += 1,
                other => return other,
            }
        }
    }
}

/// Which failures are worth another attempt.
pub trait RetryableError {
    fn retryable(&self) -> bool;
}

impl RetryableError for StoreError {
    fn retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl RetryableError for MailError {
    fn retryable(&self) -> bool {
        matches!(self, MailError::Unavailable(_))
    }
}

#[async_trait]
impl<S: ObjectStore> ObjectStore for Retrying<S> {
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(|| self.inner.get(key)).await
    }
    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.run(|| self.inner.put(key, bytes.clone())).await
    }
    async fn create(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<Created, StoreError> {
        self.run(|| self.inner.create(key, bytes.clone())).await
    }
    async fn get_tagged(&self, key: &ObjectKey) -> Result<Option<(Vec<u8>, Etag)>, StoreError> {
        self.run(|| self.inner.get_tagged(key)).await
    }
    async fn put_if_match(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        expected: &Etag,
    ) -> Result<Swapped, StoreError> {
        self.run(|| self.inner.put_if_match(key, bytes.clone(), expected))
            .await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.run(|| self.inner.list(prefix)).await
    }
    async fn purge(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.run(|| self.inner.purge(key)).await
    }
    async fn purge_history(&self, key: &ObjectKey) -> Result<usize, StoreError> {
        self.run(|| self.inner.purge_history(key)).await
    }
}

#[async_trait]
impl<M: Mailer> Mailer for Retrying<M> {
    async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
        self.run(|| self.inner.send(to, raw.clone())).await
    }
}
