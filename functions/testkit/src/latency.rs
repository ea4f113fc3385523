//! A store at S3's latency, for the benches' `--latency-ms`.

use async_trait::async_trait;
use ework_domain::testing::{BeforeCall, Call, Hooked};

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

/// `inner` with every request taking at least `latency` (`slow.hook.requests()`
/// counts them).
pub fn slow_store<S>(inner: S, latency: std::time::Duration) -> SlowStore<S> {
    Hooked {
        inner,
        hook: Latency {
            latency,
            requests: Default::default(),
        },
    }
}

impl Latency {
    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ework_domain::layout::ObjectKey;
    use ework_domain::ports::ObjectStore;
    use ework_domain::testing::MemoryStore;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_slow_store_takes_its_latency_per_request_and_counts_them() {
        let slow = slow_store(MemoryStore::new(), Duration::from_millis(20));
        let key = ObjectKey::parse("s/t/questions.json").unwrap();
        let started = Instant::now();
        slow.put(&key, b"q".to_vec()).await.unwrap();
        assert_eq!(slow.get(&key).await.unwrap().unwrap(), b"q");
        assert!(started.elapsed() >= Duration::from_millis(40));
        assert_eq!(slow.hook.requests(), 2);
    }
}
