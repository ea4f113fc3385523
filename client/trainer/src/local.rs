//! `trainer local`: the whole system on one machine. The same API handlers behind a
//! local HTTP gateway, the encrypted local store, the scorer on its own schedule
//! (at every close), and an outbox folder of `.eml` files instead of SES.

use crate::data_dir::{self, Adopt};
use crate::outln;
use anyhow::Context;
use chrono::{DateTime, Utc};
use ework_adapters::gateway::{self, GatewayConfig};
use ework_adapters::local::LocalStore;
use ework_adapters::outbox::OutboxMailer;
use ework_domain::api::{Api, ApiConfig};
use ework_domain::deadline::display_in;
use ework_domain::keys::{self, PlainKey};
use ework_domain::layout;
use ework_domain::model::Roster;
use ework_domain::ports::{Clock, FixedClock, Mailer, ObjectStore, SystemClock};
use ework_domain::scoring::run::ScoringConfig;
use ework_domain::scoring::scheduler::run_scheduler;
use ework_domain::{course, store_json};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the encrypted store, its key and the outbox live.
    #[arg(long, env = "EWORK_DATA_DIR", default_value = ".local-data")]
    data_dir: PathBuf,
    /// Address to listen on. Keep the loopback default unless you know why.
    #[arg(long, env = "EWORK_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, env = "EWORK_PORT", default_value_t = 8080)]
    port: u16,
    /// The trainer's time zone (IANA name): deadlines are Monday 23:00 there. Recorded
    /// in the data dir on its first start; later starts refuse a different zone
    /// [default: the data dir's recorded zone, else Europe/Warsaw].
    #[arg(long, env = "EWORK_TIME_ZONE")]
    time_zone: Option<String>,
    /// Where the trainer's report is addressed.
    #[arg(
        long,
        env = "EWORK_TRAINER_EMAIL",
        default_value = "trainer@example.com"
    )]
    trainer_email: String,
    /// `From:` of every email.
    #[arg(
        long,
        env = "EWORK_SENDER",
        default_value = "Ework Trainings <noreply@ework.local>"
    )]
    sender: String,
    /// Freeze the clock at this instant (RFC 3339), for demos and tests.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
    /// Do not run the scorer in the background.
    #[arg(long)]
    no_scheduler: bool,
    /// The course folder a fresh data dir is seeded with (e.g. `course-sample-depth`)
    /// [default: the built-in `course-sample/`]. A data dir seeded before keeps its
    /// course: change it with `trainer sync --local`.
    #[arg(long, value_name = "DIR")]
    course: Option<PathBuf>,
}

/// The real clock, or a frozen one.
#[derive(Clone, Copy)]
enum LocalClock {
    System(SystemClock),
    Fixed(FixedClock),
}

impl Clock for LocalClock {
    fn now(&self) -> DateTime<Utc> {
        match self {
            LocalClock::System(c) => c.now(),
            LocalClock::Fixed(c) => c.now(),
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber_init();
    let tz = data_dir::time_zone(&args.data_dir, args.time_zone.as_deref(), Adopt::Record)?;
    let clock = match args.now {
        Some(t) => LocalClock::Fixed(FixedClock(t)),
        None => LocalClock::System(SystemClock),
    };
    let store = LocalStore::open(&args.data_dir)
        .with_context(|| format!("opening the data dir {}", args.data_dir.display()))?;
    let course = match &args.course {
        Some(dir) => (
            crate::validate::read_course_folder(dir)?.files,
            format!("course {}", dir.display()),
        ),
        None => (crate::sample::sample_course(), "sample course".to_owned()),
    };
    let seeded = seed_on_first_start(&store, &course, clock.now(), tz).await?;

    let config = ApiConfig {
        time_zone: tz,
        ..ApiConfig::default()
    };
    let api = Arc::new(Api::new(store.clone(), clock, config));
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another stack running? try --port 0)")
    })?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let outbox = args.data_dir.join("outbox");

    print_banner(&args, &url, &outbox, tz, &course.1, seeded.as_deref())?;
    outln!("Press Ctrl-C to stop.")?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = if args.no_scheduler {
        None
    } else {
        let mut config = ScoringConfig::new(args.sender.clone(), args.trainer_email.clone());
        config.time_zone = tz;
        let mailer: Arc<dyn Mailer> = Arc::new(OutboxMailer::open(&outbox)?);
        let store: Arc<dyn ObjectStore> = Arc::new(store.clone());
        let mut rx = stop_rx.clone();
        // Its own thread and runtime: the scorer's pass need not be `Send`, and a long
        // scoring run never competes with the API for the gateway's workers.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Some(std::thread::spawn(move || {
            runtime.block_on(run_scheduler(
                store,
                mailer,
                Arc::new(clock),
                config,
                async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                },
            ))
        }))
    };

    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let mut rx = stop_rx.clone();
    // Deadlines for slow clients and a connection cap below the open-file limit.
    gateway::serve(listener, api, GatewayConfig::default(), async move {
        let _ = rx.wait_for(|stop| *stop).await;
    })
    .await
    .context("serving the local API")?;
    if let Some(thread) = scheduler {
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
    outln!("Stopped.")?;
    Ok(ExitCode::SUCCESS)
}

/// What the stack prints on start: where it listens and keeps its data, and on a
/// fresh data dir the students' keys (shown once) with how to take a test.
fn print_banner(
    args: &Args,
    url: &str,
    outbox: &std::path::Path,
    tz: chrono_tz::Tz,
    course: &str,
    seeded: Option<&[(String, PlainKey)]>,
) -> anyhow::Result<()> {
    outln!("Ework local stack")?;
    outln!("  API URL:   {url}")?;
    outln!(
        "  Data dir:  {} (encrypted with its store.key)",
        args.data_dir.display()
    )?;
    outln!("  Outbox:    {}", outbox.display())?;
    outln!("  Time zone: {tz} (tests close Monday 23:00 unless test.json says otherwise)")?;
    if !args.no_scheduler {
        outln!(
            "  Scorer:    runs at every close (weekly, each student's own, late windows) + 5 min"
        )?;
    }
    if let Some(t) = args.now {
        outln!("  Clock:     frozen at {}", display_in(t, tz))?;
    }
    match seeded {
        Some(students) => {
            let mut which = course.to_owned();
            which[..1].make_ascii_uppercase();
            outln!("{which} published. Student keys (shown once; only their hashes are stored):")?;
            for (id, key) in students {
                outln!("  {id}  {}", key.expose())?;
            }
            if let Some((id, _)) = students.first() {
                // Never a key on a command line: it stays in the shell's history and shows in `ps`.
                outln!("Take a test (test-time asks for the URL, the key and the student id on its first run):")?;
                outln!("  test-time")?;
                outln!("Or without saving anything, the key in the environment (read -s echoes nothing):")?;
                outln!("  export TEST_TIME_API_URL={url} TEST_TIME_STUDENT_ID={id}")?;
                outln!("  read -rs TEST_TIME_API_KEY && export TEST_TIME_API_KEY   # paste the key of {id}")?;
                outln!("  test-time")?;
                outln!("  curl -s -X POST {url}/api/v1/tests -H \"x-api-key: $TEST_TIME_API_KEY\" -d '{{\"studentId\":\"{id}\"}}'")?;
            }
        }
        None => {
            outln!("Existing data dir: keys were shown on its first start (new ones: trainer keys rotate --local <dir> <student>).")?;
            if let Some(dir) = &args.course {
                outln!(
                    "  --course {} is not published again: it seeds a fresh data dir only (publish changes with trainer sync {} --local {}).",
                    dir.display(),
                    dir.display(),
                    args.data_dir.display()
                )?;
            }
        }
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,ework_domain=info,trainer=info")
    });
    // Colour codes only for a terminal that shows them, never in a log file, and
    // never with NO_COLOR (no-color.org).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Publishes the course (the sample unless `--course`) and issues a key per
/// student, once per data dir.
async fn seed_on_first_start(
    store: &LocalStore,
    (files, name): &(course::CourseFiles, String),
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> anyhow::Result<Option<Vec<(String, PlainKey)>>> {
    // The keys are the last thing seeded: until they exist, seeding is redone
    // (publishing the same course again changes nothing).
    keys::migrate_legacy(store)
        .await
        .context("moving the key registry of an earlier version")?;
    if !keys::students_with_keys(store).await?.is_empty() {
        return Ok(None);
    }
    let report = course::publish(store, files, now, tz)
        .await
        .with_context(|| format!("publishing the {name}"))?;
    tracing::info!(%report, "{name} published");
    let roster: Roster = store_json::read(store, &layout::roster())
        .await?
        .unwrap_or_default();
    let mut issued = Vec::new();
    for student in &roster.0 {
        let key = PlainKey::generate();
        keys::issue(store, &student.student_id, &key, now, None).await?;
        issued.push((student.student_id.to_string(), key));
    }
    Ok(Some(issued))
}
