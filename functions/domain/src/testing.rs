//! In-memory fakes of the ports, for unit tests here and in other crates.

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

/// A small published course for tests and benchmarks: `students` students
/// (`student001`...), subject `operating-systems`, open test `test01` with four
/// questions (answers a-d, correct answer `b` for each), due a week after `now`.
pub struct Fixture {
    pub keys: Vec<(crate::ids::StudentId, crate::keys::PlainKey)>,
    pub subject: crate::ids::SubjectName,
    pub test: crate::ids::TestId,
    pub due_at: chrono::DateTime<chrono::Utc>,
}

impl Fixture {
    pub fn key_of(&self, student: &str) -> &str {
        self.keys
            .iter()
            .find(|(id, _)| id.as_str() == student)
            .map(|(_, k)| k.expose())
            .unwrap_or("")
    }
}

/// Writes the [`Fixture`] course into a store.
pub async fn seed_fixture(
    store: &(impl ObjectStore + ?Sized),
    students: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Fixture, crate::keys::KeyError> {
    use crate::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
    use crate::model::{AnswerOption, Catalog, KeyEntry, Question, Roster, Student, TestMeta};
    use crate::{keys, layout, store_json};
    let parse_err =
        |e: crate::ids::IdError| crate::keys::KeyError::Store(StoreError::Failed(e.to_string()));
    let subject = SubjectName::parse("operating-systems").map_err(parse_err)?;
    let test = TestId::parse("test01").map_err(parse_err)?;
    let due_at = now + chrono::Duration::days(7);
    let mut questions = Vec::new();
    let mut key = Vec::new();
    for q in 1..=4 {
        let question_id = QuestionId::parse(q.to_string()).map_err(parse_err)?;
        let answers = ["a", "b", "c", "d"]
            .iter()
            .map(|a| {
                Ok(AnswerOption {
                    answer_id: AnswerId::parse(*a)?,
                    answer_body: format!("option {a} of question {q}"),
                })
            })
            .collect::<Result<Vec<_>, crate::ids::IdError>>()
            .map_err(parse_err)?;
        questions.push(Question {
            question_id: question_id.clone(),
            question: format!("Question {q}?"),
            answers,
            points: 1,
            pool: None,
            multiple: false,
        });
        key.push(KeyEntry {
            question_id,
            answer: AnswerId::parse("b").map_err(parse_err)?.into(),
            weights: Default::default(),
        });
    }
    store_json::write(store, &layout::questions(&subject, &test), &questions).await?;
    store_json::write(store, &layout::answer_key(&subject, &test), &key).await?;
    let catalog = Catalog {
        tests: vec![TestMeta {
            subject: subject.clone(),
            test_id: test.clone(),
            title: "Processes".into(),
            published_at: now,
            due_at,
            rules: Default::default(),
        }],
    };
    store_json::write(store, &layout::catalog(), &catalog).await?;
    let mut roster = Vec::new();
    let mut issued = Vec::new();
    for i in 1..=students {
        let id = StudentId::parse(format!("student{i:03}")).map_err(parse_err)?;
        roster.push(Student {
            student_id: id.clone(),
            email: format!("{id}@example.com"),
            name: None,
            subjects: None,
            extra: Default::default(),
        });
        let plain = keys::PlainKey::generate();
        // Written directly (nobody races a fixture): the record, then the keyring.
        let record = keys::KeyRecord::new(&id, &plain, now);
        store_json::write(store, &layout::key_record(&record.sha256), &record).await?;
        let ring = keys::Keyring {
            keys: vec![record],
            retired: Vec::new(),
        };
        store_json::write(store, &layout::keyring(&id), &ring).await?;
        issued.push((id, plain));
    }
    store_json::write(store, &layout::roster(), &Roster(roster)).await?;
    Ok(Fixture {
        keys: issued,
        subject,
        test,
        due_at,
    })
}

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

/// Makes every request take at least `latency`, like S3 does (10-30 ms a request
/// from Lambda), and counts the requests.
#[derive(Debug, Default)]
pub struct Latency {
    pub latency: std::time::Duration,
    pub requests: std::sync::atomic::AtomicU64,
}

#[async_trait]
impl BeforeCall for Latency {
    async fn before(&self, _call: Call, _key: &str) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

/// A store at S3's latency, so a benchmark shows what a handler's sequential round
/// trips cost: `--latency-ms` of the benches.
pub type SlowStore<S> = Hooked<S, Latency>;

impl<S> Hooked<S, Latency> {
    pub fn new(inner: S, latency: std::time::Duration) -> Self {
        Self {
            inner,
            hook: Latency {
                latency,
                requests: Default::default(),
            },
        }
    }

    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.hook
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
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
