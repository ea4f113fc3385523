//! Benchmark of one scoring pass (not a test): seeds N students x M closed tests,
//! then times a pass and a rerun, counting store requests and emails, and reading
//! the peak resident memory of the pass.
//!
//! ```text
//! cargo run --release -p scorer --example scorer-bench -- --students 100 --tests 10 --store local
//! EWORK_MOTO_URL=http://127.0.0.1:5055 cargo run --release -p scorer --example scorer-bench -- --store moto
//! ```

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sesv2::config::{Credentials, Region};
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use ework_adapters::local::LocalStore;
use ework_adapters::outbox::OutboxMailer;
use ework_adapters::s3::{s3_client, S3Store};
use ework_adapters::ses::{ses_client, SesMailer};
use ework_domain::ports::{Mailer, ObjectStore};
use ework_domain::scoring::sample::{self, SeedSpec};
use ework_domain::scoring::{score_pass, RunOptions, ScoringConfig};
use ework_domain::testing::{MemoryMailer, MemoryStore};
use ework_scorer::metered::{Counts, MeteredMailer, MeteredStore};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    students: usize,
    #[arg(long, default_value_t = 10)]
    tests: usize,
    #[arg(long, default_value_t = 10)]
    questions: usize,
    /// local (encrypted dir + outbox), moto (S3 + SES at EWORK_MOTO_URL) or memory.
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
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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

#[tokio::main]
async fn main() -> anyhow_free::Result {
    let args = Args::parse();
    let nonce = format!("{:x}", Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let domain = format!("bench-{nonce}.example.com");
    let keep;
    let (store, mailer): (Arc<dyn ObjectStore>, Arc<dyn Mailer>) = match args.store.as_str() {
        "local" => {
            let dir = match &args.data_dir {
                Some(d) => d.clone(),
                None => {
                    keep = tempfile::tempdir()?;
                    keep.path().to_path_buf()
                }
            };
            std::fs::create_dir_all(&dir)?;
            (
                Arc::new(LocalStore::open(&dir)?),
                Arc::new(OutboxMailer::open(dir.join("outbox"))?),
            )
        }
        "moto" => {
            let url = std::env::var("EWORK_MOTO_URL").map_err(|_| "EWORK_MOTO_URL is not set")?;
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
            )
        }
        "memory" => (
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryMailer::default()),
        ),
        other => return Err(format!("unknown store {other:?}: use local, moto or memory").into()),
    };

    let spec = SeedSpec {
        students: args.students,
        tests: args.tests,
        questions: args.questions,
        due_at: due(),
        email_domain: domain.clone(),
        concurrency: 32,
    };
    let t = Instant::now();
    sample::seed(store.as_ref(), &spec).await?;
    println!(
        "seeded {} students x {} tests x {} questions on {} in {:.1?}",
        args.students,
        args.tests,
        args.questions,
        args.store,
        t.elapsed()
    );

    let counts = Arc::new(Counts::default());
    let metered = MeteredStore {
        inner: store.clone(),
        counts: counts.clone(),
    };
    let mail = MeteredMailer {
        inner: mailer.clone(),
        counts: counts.clone(),
    };
    let mut config = ScoringConfig::new(format!("scorer@{domain}"), format!("trainer@{domain}"));
    config.send_rate = args.send_rate;
    config.ledger_batch = args.ledger_batch;
    let options = RunOptions {
        // Scored once the deadline's grace is over, as the schedule does.
        now: due() + ework_domain::deadline::GRADING_GRACE + Duration::minutes(1),
        deadline: None,
        dry_run: false,
    };

    reset_peak_rss();
    let t = Instant::now();
    let summary = score_pass(&metered, &mail, &config, options).await?;
    let took = t.elapsed();
    let peak = peak_rss_kib().map_or("n/a".to_owned(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    });
    println!(
        "pass:   {:.2?}, {} results, {}; peak RSS {peak}; complete {}",
        took,
        summary.scored.len(),
        counts.describe(),
        summary.complete
    );
    let submissions = summary.scored.len().max(1) as f64;
    println!(
        "        {:.3} requests per submission besides LIST; {} LIST pages for {} keys listed",
        counts.requests_besides_listing() as f64 / submissions,
        counts.list_pages.load(std::sync::atomic::Ordering::Relaxed),
        counts
            .listed_keys
            .load(std::sync::atomic::Ordering::Relaxed),
    );

    let again = Arc::new(Counts::default());
    let metered = MeteredStore {
        inner: store.clone(),
        counts: again.clone(),
    };
    let mail = MeteredMailer {
        inner: mailer.clone(),
        counts: again.clone(),
    };
    let t = Instant::now();
    let rerun = score_pass(&metered, &mail, &config, options).await?;
    println!(
        "rerun:  {:.2?}, {} results, {}",
        t.elapsed(),
        rerun.scored.len(),
        again.describe()
    );
    Ok(())
}

/// Keeps the example free of extra dependencies: any error, printed by `main`.
mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
