//! One conformance suite for every `ObjectStore` backend: the local encrypted
//! directory and S3 (against moto server on 127.0.0.1, started by scripts/test.sh).

use aws_sdk_s3::types::{
    BucketVersioningStatus, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use ework_adapters::local::LocalStore;
use ework_adapters::s3::{s3_client, S3Store};
use ework_domain::layout::ObjectKey;
use ework_domain::ports::{Created, ObjectStore, StoreError, Swapped};
use ework_domain::store_json;
use ework_domain::testing::MemoryStore;
use std::sync::atomic::{AtomicUsize, Ordering};

fn key(s: &str) -> ObjectKey {
    ObjectKey::parse(s).unwrap()
}

/// The behaviour every backend must share.
async fn conformance(store: &dyn ObjectStore) {
    // A missing object reads as None, not an error.
    assert_eq!(store.get(&key("s/t/questions.json")).await.unwrap(), None);

    // Put then get returns the same bytes; a second put replaces them.
    store
        .put(&key("s/t/questions.json"), b"v1".to_vec())
        .await
        .unwrap();
    store
        .put(&key("s/t/questions.json"), b"v2".to_vec())
        .await
        .unwrap();
    assert_eq!(
        store
            .get(&key("s/t/questions.json"))
            .await
            .unwrap()
            .unwrap(),
        b"v2"
    );

    // Create is create-once: the second create changes nothing.
    let receipt = key("s/t/student01/receipt.json");
    assert_eq!(
        store.create(&receipt, b"first".to_vec()).await.unwrap(),
        Created::Now
    );
    assert_eq!(
        store.create(&receipt, b"second".to_vec()).await.unwrap(),
        Created::AlreadyExisted
    );
    assert_eq!(store.get(&receipt).await.unwrap().unwrap(), b"first");

    // Listing by prefix is sorted, complete and exact.
    for i in 0..25 {
        store
            .put(
                &key(&format!("s/t/student{i:02}/testResult.json")),
                vec![b'x'; i],
            )
            .await
            .unwrap();
    }
    store
        .put(&key("s/t2/questions.json"), b"other test".to_vec())
        .await
        .unwrap();
    store
        .put(&key("_system/keys.json"), b"{}".to_vec())
        .await
        .unwrap();
    let listed = store.list("s/t/").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(listed.len(), 27, "{keys:?}");
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted: {keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("s/t/")));
    let five = listed
        .iter()
        .find(|o| o.key.as_str() == "s/t/student05/testResult.json")
        .unwrap();
    assert_eq!(five.size, 5);
    assert_eq!(store.list("s/t/student1").await.unwrap().len(), 10);
    assert_eq!(store.list("nothing/").await.unwrap().len(), 0);
    assert_eq!(store.list("_system/").await.unwrap().len(), 1);

    // Purge removes an object with every version; other objects stay.
    let removed = store.purge(&key("s/t/questions.json")).await.unwrap();
    assert!(removed >= 2, "both versions removed, got {removed}");
    assert_eq!(store.get(&key("s/t/questions.json")).await.unwrap(), None);
    assert_eq!(store.purge(&key("s/t/questions.json")).await.unwrap(), 0);
    assert!(store
        .get(&key("s/t2/questions.json"))
        .await
        .unwrap()
        .is_some());

    // Purging the history keeps exactly the current version.
    let shared = key("_system/results/s/t/results.json");
    for v in [&b"v1"[..], b"v2", b"v3"] {
        store.put(&shared, v.to_vec()).await.unwrap();
    }
    assert_eq!(store.purge_history(&shared).await.unwrap(), 2);
    assert_eq!(store.get(&shared).await.unwrap().unwrap(), b"v3");
    assert_eq!(store.purge_history(&shared).await.unwrap(), 0);
    assert_eq!(store.purge(&shared).await.unwrap(), 1, "only v3 was left");
    assert_eq!(
        store
            .purge_history(&key("_system/results/s/none/results.json"))
            .await
            .unwrap(),
        0
    );
}

/// Compare-and-swap: what every shared object (keys, roster, catalog, markers)
/// relies on to never lose an update.
async fn swap_conformance(store: &dyn ObjectStore) {
    let k = key("_system/catalog.json");
    assert!(store.get_tagged(&k).await.unwrap().is_none());
    store.put(&k, b"v1".to_vec()).await.unwrap();
    let (bytes, first) = store.get_tagged(&k).await.unwrap().unwrap();
    assert_eq!(bytes, b"v1");
    assert_eq!(
        store.get_tagged(&k).await.unwrap().unwrap().1,
        first,
        "the tag names the contents, not the read"
    );
    assert_eq!(
        store
            .put_if_match(&k, b"v2".to_vec(), &first)
            .await
            .unwrap(),
        Swapped::Now
    );
    // A writer that read before that swap loses, and writes nothing.
    assert_eq!(
        store
            .put_if_match(&k, b"stale".to_vec(), &first)
            .await
            .unwrap(),
        Swapped::Conflict
    );
    assert_eq!(store.get(&k).await.unwrap().unwrap(), b"v2");
    // A plain write moves the tag on too.
    let (_, second) = store.get_tagged(&k).await.unwrap().unwrap();
    store.put(&k, b"v3".to_vec()).await.unwrap();
    assert_eq!(
        store
            .put_if_match(&k, b"stale".to_vec(), &second)
            .await
            .unwrap(),
        Swapped::Conflict
    );
    assert_eq!(store.get(&k).await.unwrap().unwrap(), b"v3");
    // An absent object matches no tag, and a failed swap does not create it.
    let absent = key("_system/absent.json");
    assert_eq!(
        store
            .put_if_match(&absent, b"x".to_vec(), &second)
            .await
            .unwrap(),
        Swapped::Conflict
    );
    assert_eq!(store.get(&absent).await.unwrap(), None);
}

/// Many writers change one shared object at once through `store_json::update`:
/// every one of their changes is in the final object.
async fn many_writers_lose_no_update(stores: &[&dyn ObjectStore], writers: u32) {
    let k = key("_system/roster-like.json");
    let k = &k;
    let writes = (0..writers).map(|i| {
        let store = stores[i as usize % stores.len()];
        async move {
            store_json::update(store, k, |ids: &mut Vec<u32>| {
                ids.push(i);
                Ok::<_, StoreError>(())
            })
            .await
        }
    });
    for outcome in futures::future::join_all(writes).await {
        outcome.unwrap();
    }
    let mut ids: Vec<u32> = store_json::read(stores[0], k).await.unwrap().unwrap();
    ids.sort_unstable();
    assert_eq!(ids, (0..writers).collect::<Vec<_>>());
}

/// Rounds of concurrent `issue`, `rotate` and `revoke` on one student: afterwards
/// the keyring names at most one key, that key (and only that key) opens the API,
/// and nothing is left to clean up.
async fn concurrent_key_commands_leave_exactly_the_last_key(stores: &[&dyn ObjectStore]) {
    use ework_domain::keys::{self, PlainKey};
    let student = ework_domain::ids::StudentId::parse("student01").unwrap();
    let now = chrono::Utc::now();
    for round in 0..6u32 {
        let student = &student;
        let commands = (0..6u32).map(|i| {
            let store = stores[i as usize % stores.len()];
            async move {
                match (round + i) % 3 {
                    0 => {
                        let key = PlainKey::generate();
                        keys::issue(store, student, &key, now, None).await?;
                        Ok(Some(key))
                    }
                    1 => keys::rotate(store, student, now)
                        .await
                        .map(|(k, _)| Some(k)),
                    _ => keys::revoke(store, student).await.map(|_| None),
                }
            }
        });
        let printed: Vec<PlainKey> = futures::future::join_all(commands)
            .await
            .into_iter()
            .filter_map(|outcome| outcome.unwrap())
            .collect();
        let ring = keys::keyring(stores[0], student).await.unwrap();
        assert!(ring.keys.len() <= 1, "round {round}: {ring:?}");
        assert!(ring.retired.is_empty(), "round {round}: {ring:?}");
        let mut working = 0;
        for key in &printed {
            let owner = keys::owner_of(stores[0], key.expose(), now).await.unwrap();
            let in_ring = ring.keys.iter().any(|r| r.sha256 == key.hash());
            assert_eq!(
                owner.is_some(),
                in_ring,
                "round {round}: only the keyring's key works"
            );
            working += usize::from(in_ring);
        }
        assert_eq!(
            working,
            ring.keys.len(),
            "round {round}: the keyring's key was printed"
        );
        let objects = stores[0].list("_system/keys/").await.unwrap();
        assert_eq!(
            objects.len(),
            ring.keys.len(),
            "round {round}: no stray key objects"
        );
    }
}

#[test]
fn memory_store_meets_the_store_contract() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        conformance(&MemoryStore::new()).await;
        swap_conformance(&MemoryStore::new()).await;
        many_writers_lose_no_update(&[&MemoryStore::new()], 16).await;
        concurrent_key_commands_leave_exactly_the_last_key(&[&MemoryStore::new()]).await;
    });
}

#[tokio::test]
async fn local_store_swaps_only_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    swap_conformance(&LocalStore::open(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_store_loses_no_update_among_writers_of_two_processes() {
    // Two opens of one data dir stand for two processes (the server and a `trainer`
    // command): their locks are separate open files, as between processes.
    let dir = tempfile::tempdir().unwrap();
    let a = LocalStore::open(dir.path()).unwrap();
    let b = LocalStore::open(dir.path()).unwrap();
    many_writers_lose_no_update(&[&a, &b], 40).await;
    concurrent_key_commands_leave_exactly_the_last_key(&[&a, &b]).await;
}

#[tokio::test]
async fn local_store_meets_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    conformance(&store).await;
}

#[tokio::test]
async fn local_store_keeps_every_concurrent_put_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let k = key("s/t/student01/testResult.json");
    let writes = (0..50).map(|i| {
        let store = store.clone();
        let k = k.clone();
        tokio::spawn(async move { store.put(&k, vec![i as u8; 1000 + i]).await })
    });
    for w in writes {
        w.await.unwrap().unwrap();
    }
    let last = store.get(&k).await.unwrap().unwrap();
    assert!(last.iter().all(|b| *b == last[0]) && last.len() == 1000 + last[0] as usize);
}

static BUCKETS: AtomicUsize = AtomicUsize::new(0);

/// A fresh versioned bucket with default encryption on moto; `None` (the test is
/// skipped, and says so) where no moto can be had.
async fn moto_bucket() -> Option<(aws_sdk_s3::Client, String)> {
    let url = ework_testkit::moto::url_or_skip()?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .region(aws_config::Region::new("eu-central-1"))
        .load()
        .await;
    let client = s3_client(&config);
    let bucket = format!(
        "conformance-{}-{}",
        std::process::id(),
        BUCKETS.fetch_add(1, Ordering::SeqCst)
    );
    client
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuCentral1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .unwrap(),
        )
        .build();
    client
        .put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    Some((client, bucket))
}

#[tokio::test]
async fn s3_store_meets_the_store_contract_on_moto() {
    let Some((client, bucket)) = moto_bucket().await else {
        return;
    };
    let store = S3Store::new(client, bucket, None);
    conformance(&store).await;
}

#[tokio::test]
async fn s3_store_swaps_only_what_it_read_on_moto() {
    let Some((client, bucket)) = moto_bucket().await else {
        return;
    };
    swap_conformance(&S3Store::new(client, bucket, None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_store_loses_no_update_among_concurrent_writers_on_moto() {
    let Some((client, bucket)) = moto_bucket().await else {
        return;
    };
    let store = S3Store::new(client, bucket, None);
    many_writers_lose_no_update(&[&store], 24).await;
    concurrent_key_commands_leave_exactly_the_last_key(&[&store]).await;
}

#[tokio::test]
async fn s3_store_lists_past_one_page() {
    let Some((client, bucket)) = moto_bucket().await else {
        return;
    };
    let store = S3Store::new(client, bucket, None);
    for i in 0..1005 {
        store
            .put(
                &key(&format!("s/t/student{i:04}/testResult.json")),
                b"[]".to_vec(),
            )
            .await
            .unwrap();
    }
    assert_eq!(store.list("s/t/").await.unwrap().len(), 1005);
}

#[tokio::test]
async fn s3_store_writes_are_server_side_encrypted() {
    let Some((client, bucket)) = moto_bucket().await else {
        return;
    };
    let store = S3Store::new(client.clone(), bucket.clone(), None);
    store
        .put(&key("studentsList.json"), b"[]".to_vec())
        .await
        .unwrap();
    store
        .create(&key("s/t/st/receipt.json"), b"{}".to_vec())
        .await
        .unwrap();
    for k in ["studentsList.json", "s/t/st/receipt.json"] {
        let head = client
            .head_object()
            .bucket(&bucket)
            .key(k)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::Aes256),
            "{k}"
        );
    }
}

#[tokio::test]
async fn s3_store_uses_kms_when_a_key_is_configured() {
    let Some((client, bucket)) = moto_bucket().await else {
        return;
    };
    let store = S3Store::new(
        client.clone(),
        bucket.clone(),
        Some("alias/ework-test".into()),
    );
    store
        .put(&key("studentsList.json"), b"[]".to_vec())
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("studentsList.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some("alias/ework-test"));
}

#[tokio::test]
async fn s3_store_reports_a_missing_bucket_as_a_failure_not_as_empty() {
    let Some((client, _)) = moto_bucket().await else {
        return;
    };
    let store = S3Store::new(client, "no-such-bucket-ework".into(), None);
    assert!(store.get(&key("studentsList.json")).await.is_err());
    assert!(store.list("").await.is_err());
}

#[tokio::test]
async fn s3_store_purging_the_history_also_drops_old_delete_markers() {
    let Some((client, bucket)) = moto_bucket().await else {
        return;
    };
    let store = S3Store::new(client.clone(), bucket.clone(), None);
    let k = key("_system/journal/p/w000001");
    store.put(&k, b"v1".to_vec()).await.unwrap();
    client
        .delete_object()
        .bucket(&bucket)
        .key(k.as_str())
        .send()
        .await
        .unwrap();
    store.put(&k, b"v2".to_vec()).await.unwrap();
    assert_eq!(
        store.purge_history(&k).await.unwrap(),
        2,
        "v1 and the marker"
    );
    let left = client
        .list_object_versions()
        .bucket(&bucket)
        .prefix(k.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(left.versions().len(), 1);
    assert!(left.delete_markers().is_empty());
    assert_eq!(store.get(&k).await.unwrap().unwrap(), b"v2");
}
