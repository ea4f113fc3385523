//! Benchmark of one scoring pass (not a test): seeds N students x M closed tests,
//! then times a pass and a rerun, counting store requests and emails, and reading
//! the peak resident memory of the pass.
//!
//! ```text
//! cargo run --release -p scorer --example scorer-bench -- --students 100 --tests 10 --store local
//! EWORK_MOTO_URL=http://127.0.0.1:5055 cargo run --release -p scorer --example scorer-bench -- --store moto
//! # S3's latency (20 ms a request) and Lambda invocations of 15 minutes:
//! cargo run --release -p scorer --example scorer-bench -- --students 5000 --tests 25 --latency-ms 20 --budget-s 900
//! ```

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sesv2::config::{Credentials, Region};
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use ework_adapters::local::LocalStore;
use ework_adapters::outbox::OutboxMailer;
use ework_adapters::s3::{s3_client, S3Store};
use ework_adapters::ses::{ses_client, SesMailer};
use ework_domain::deadline::GRADING_GRACE;
use ework_domain::ports::{Mailer, ObjectStore};
use ework_domain::scoring::sample::{self, SeedSpec, Shape};
use ework_domain::scoring::{score_pass, RunOptions, ScoringConfig};
use ework_domain::testing::{MemoryMailer, MemoryStore};
use ework_scorer::metered::{Counts, MeteredMailer, MeteredStore};
use ework_testkit::latency::slow_store;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tempfile::TempDir;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    students: usize,
    #[arg(long, default_value_t = 10)]
    tests: usize,
    #[arg(long, default_value_t = 10)]
    questions: usize,
    /// local (encrypted dir + outbox), moto (S3 + SES at EWORK_MOTO_URL, or a moto
    /// the test kit starts) or memory.
    #[arg(long, default_value = "local")]
    store: String,
    /// Keep the data dir here (local) to look at the outbox afterwards.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Emails per second (default: unlimited).
    #[arg(long)]
    send_rate: Option<f64>,
    /// Emails per journal write (the scorer's `EWORK_LEDGER_BATCH`).
    #[arg(long, default_value_t = ework_domain::scoring::run::DEFAULT_LEDGER_BATCH)]
    ledger_batch: usize,
    /// Adds this many milliseconds to every store request of the passes (not the
    /// seeding), as S3 answers in 10-30 ms from Lambda.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Objects the pass reads at the same time (the scorer's default if unset).
    #[arg(long)]
    read_concurrency: Option<usize>,
    /// Gives every pass a deadline this many seconds away, like a Lambda timeout, and
    /// runs follow-up passes until one completes (as Lambda's retries would).
    #[arg(long)]
    budget_s: Option<u64>,
    /// Tests of 2-point questions, half of them multiple-answer with partial credit,
    /// the others with a wrong-answer penalty (default: one point, one answer each).
    #[arg(long)]
    depth: bool,
}

/// Counts the bytes the program holds, to tell its own memory (the peak heap) from
/// what the allocator keeps besides (the peak RSS also counts freed memory that
/// malloc did not give back, e.g. in the arenas of the local store's threads).
struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn counted(grown: usize) {
    let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is passed to the system allocator unchanged; only counts are kept.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            counted(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            counted(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The peak heap counts from now on.
fn reset_peak_heap() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn peak_heap_mib() -> f64 {
    PEAK.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

/// A memory figure of this process from `/proc/self/status` (`VmHWM`, `VmRSS`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_owned(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

/// Resets the kernel's peak-RSS counter, so the figure covers the pass only.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn due() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T22:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

fn main() -> anyhow_free::Result {
    // As the trainer does where it runs the local store (before any thread starts).
    let capped = ework_adapters::arenas::cap_malloc_arenas();
    println!(
        "malloc arenas: {}",
        if capped {
            format!("capped at {}", ework_adapters::arenas::MAX_ARENAS)
        } else {
            format!(
                "MALLOC_ARENA_MAX={}",
                std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "glibc's default".into())
            )
        }
    );
    tokio::runtime::Runtime::new()?.block_on(run(Args::parse()))
}

async fn run(args: Args) -> anyhow_free::Result {
    let nonce = format!("{:x}", Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let domain = format!("bench-{nonce}.example.com");
    let (store, mailer, _keep) = open(&args, &nonce, &domain).await?;

    let spec = SeedSpec {
        students: args.students,
        tests: args.tests,
        questions: args.questions,
        due_at: due(),
        email_domain: domain.clone(),
        concurrency: 32,
    };
    let t = Instant::now();
    let shape = if args.depth {
        Shape::Depth
    } else {
        Shape::SingleAnswer
    };
    sample::seed_shaped(store.as_ref(), &spec, shape).await?;
    println!(
        "seeded {} students x {} tests x {} questions ({shape:?}) on {} in {:.1?}",
        args.students,
        args.tests,
        args.questions,
        args.store,
        t.elapsed()
    );

    measure(&args, store, mailer, &domain).await
}

/// The store and mailer to measure (and the temporary dir to keep until the end).
async fn open(
    args: &Args,
    nonce: &str,
    domain: &str,
) -> Result<(Arc<dyn ObjectStore>, Arc<dyn Mailer>, Option<TempDir>), Box<dyn std::error::Error>> {
    Ok(match args.store.as_str() {
        "local" => {
            let mut keep = None;
            let dir = match &args.data_dir {
                Some(d) => d.clone(),
                None => keep.insert(tempfile::tempdir()?).path().to_path_buf(),
            };
            std::fs::create_dir_all(&dir)?;
            (
                Arc::new(LocalStore::open(&dir)?),
                Arc::new(OutboxMailer::open(dir.join("outbox"))?),
                keep,
            )
        }
        "moto" => {
            // EWORK_MOTO_URL, or a moto_server the test kit starts.
            let url = ework_testkit::moto::url().ok_or(
                "no moto: set EWORK_MOTO_URL or put moto_server on PATH (scripts/setup-venv.sh)",
            )?;
            let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(url)
                .region(Region::new("eu-central-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
                .load()
                .await;
            let bucket = format!("ework-bench-{nonce}");
            let s3 = s3_client(&aws);
            s3.create_bucket()
                .bucket(&bucket)
                .create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::EuCentral1)
                        .build(),
                )
                .send()
                .await?;
            let ses = ses_client(&aws, None);
            ses.create_email_identity()
                .email_identity(format!("scorer@{domain}"))
                .send()
                .await?;
            (
                Arc::new(S3Store::new(s3, bucket, None)),
                Arc::new(SesMailer::new(ses, None)),
                None,
            )
        }
        "memory" => (
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryMailer::default()),
            None,
        ),
        other => return Err(format!("unknown store {other:?}: use local, moto or memory").into()),
    })
}

/// Times the pass (and a rerun) with the store's requests counted.
async fn measure(
    args: &Args,
    store: Arc<dyn ObjectStore>,
    mailer: Arc<dyn Mailer>,
    domain: &str,
) -> anyhow_free::Result {
    // The passes see the latency; seeding does not.
    let latency = std::time::Duration::from_millis(args.latency_ms);
    let slow: Arc<dyn ObjectStore> = Arc::new(slow_store(store.clone(), latency));
    let mut config = ScoringConfig::new(format!("scorer@{domain}"), format!("trainer@{domain}"));
    config.send_rate = args.send_rate;
    config.ledger_batch = args.ledger_batch;
    if let Some(n) = args.read_concurrency {
        config.read_concurrency = n;
    }
    // Scored once the deadline's grace is over, as the schedule does.
    let now = due() + GRADING_GRACE + Duration::minutes(1);

    let counts = Arc::new(Counts::default());
    let metered = MeteredStore {
        inner: slow.clone(),
        counts: counts.clone(),
    };
    let mail = MeteredMailer {
        inner: mailer.clone(),
        counts: counts.clone(),
    };
    reset_peak_rss();
    reset_peak_heap();
    let at_start = status_kib("VmRSS:");
    let t = Instant::now();
    let done = passes(&metered, &mail, &config, now, args.budget_s).await?;
    let took = t.elapsed();
    let peak = format!(
        "{} ({} resident when it started), peak heap {:.1} MiB",
        mib(status_kib("VmHWM:")),
        mib(at_start),
        peak_heap_mib()
    );
    println!(
        "pass:   {:.2?}, {} results, {}; peak RSS {peak}; complete {}",
        took,
        done.scored,
        counts.describe(),
        done.complete
    );
    let submissions = done.scored.max(1) as f64;
    println!(
        "        {:.3} requests per submission besides LIST; {} LIST pages for {} keys listed",
        counts.requests_besides_listing() as f64 / submissions,
        counts.list_pages.load(Ordering::Relaxed),
        counts.listed_keys.load(Ordering::Relaxed),
    );
    println!(
        "        {} ms per store request, read concurrency {}: {}",
        args.latency_ms,
        config.read_concurrency,
        match args.budget_s {
            Some(b) => format!(
                "{} invocation(s) of {b} s ({} follow-up(s)), each {:.1?}",
                done.invocations.len(),
                done.invocations.len().saturating_sub(1),
                done.invocations
            ),
            None => "no invocation deadline (--budget-s to set one)".to_owned(),
        }
    );

    let again = Arc::new(Counts::default());
    let metered = MeteredStore {
        inner: slow.clone(),
        counts: again.clone(),
    };
    let mail = MeteredMailer {
        inner: mailer.clone(),
        counts: again.clone(),
    };
    let t = Instant::now();
    let rerun = passes(&metered, &mail, &config, now, args.budget_s).await?;
    println!(
        "rerun:  {:.2?}, {} results, {}",
        t.elapsed(),
        rerun.scored,
        again.describe()
    );
    Ok(())
}

/// What the passes of one scoring run did together.
struct Passes {
    scored: usize,
    complete: bool,
    /// How long each invocation took.
    invocations: Vec<std::time::Duration>,
}

/// One pass, or with a budget, invocations with that deadline until one completes
/// (at most 20).
async fn passes(
    store: &dyn ObjectStore,
    mailer: &dyn Mailer,
    config: &ScoringConfig,
    now: DateTime<Utc>,
    budget_s: Option<u64>,
) -> Result<Passes, Box<dyn std::error::Error>> {
    let mut done = Passes {
        scored: 0,
        complete: false,
        invocations: vec![],
    };
    while !done.complete && done.invocations.len() < 20 {
        let started = Instant::now();
        let options = RunOptions {
            now,
            deadline: budget_s.map(|b| started + std::time::Duration::from_secs(b)),
            dry_run: false,
        };
        let summary = score_pass(store, mailer, config, options).await?;
        done.invocations.push(started.elapsed());
        done.scored += summary.scored.len();
        done.complete = summary.complete;
        if budget_s.is_none() {
            break;
        }
    }
    Ok(done)
}

/// Keeps the example free of extra dependencies: any error, printed by `main`.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
