//! The local HTTP/1.1 gateway of `trainer local`: a small front of our own over
//! `httparse`, so that every deadline, limit and refusal is ours and every response,
//! down to a malformed request line, is the API's JSON envelope. Behind it, the
//! same handlers as in AWS ([`Api::handle`]).
//!
//! Slow and hostile clients are bounded: a head must arrive within the header
//! timeout, a body within the body timeout, an idle keep-alive connection is closed
//! after the idle timeout, and connections are capped below the open-file limit.
//! Connections over the cap get a 503 at once (or, past a small budget, are closed).

mod conn;
pub mod head;
pub mod limits;
pub mod refusal;

use ework_domain::api::Api;
use ework_domain::ports::{Clock, ObjectStore};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Deadlines and limits of the gateway. [`GatewayConfig::default`] holds the
/// production values, with the connection cap derived from this process's
/// `RLIMIT_NOFILE`.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// From accepting a connection, or from the first byte of a later request, until
    /// its head is complete.
    pub header_timeout: Duration,
    /// From the end of the head until the whole body has arrived.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a client may take to read a response.
    pub write_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections over the cap that are answered 503 at once; past these, an
    /// excess connection is closed without an answer.
    pub max_refusing: usize,
    /// Requests in the handlers at once (each may hold store files).
    pub max_in_flight: usize,
    pub max_head_bytes: usize,
    pub max_uri_bytes: usize,
    pub max_headers: usize,
    /// On shutdown, how long requests being served may take to finish.
    pub shutdown_grace: Duration,
}

impl GatewayConfig {
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
    pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
    pub const MAX_REFUSING: usize = 32;
    pub const MAX_IN_FLIGHT: usize = 32;
    pub const MAX_HEAD_BYTES: usize = 16 * 1024;
    pub const MAX_URI_BYTES: usize = 8 * 1024;
    pub const MAX_HEADERS: usize = 64;
    pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

    /// The production values, with the connection cap for an open-file limit.
    pub fn for_open_files(open_files: Option<u64>) -> Self {
        Self {
            header_timeout: Self::HEADER_TIMEOUT,
            body_timeout: Self::BODY_TIMEOUT,
            idle_timeout: Self::IDLE_TIMEOUT,
            write_timeout: Self::WRITE_TIMEOUT,
            max_connections: limits::connection_cap(
                open_files,
                Self::MAX_IN_FLIGHT,
                Self::MAX_REFUSING,
            ),
            max_refusing: Self::MAX_REFUSING,
            max_in_flight: Self::MAX_IN_FLIGHT,
            max_head_bytes: Self::MAX_HEAD_BYTES,
            max_uri_bytes: Self::MAX_URI_BYTES,
            max_headers: Self::MAX_HEADERS,
            shutdown_grace: Self::SHUTDOWN_GRACE,
        }
    }

    fn head_limits(&self) -> head::HeadLimits {
        head::HeadLimits {
            max_head_bytes: self.max_head_bytes,
            max_uri_bytes: self.max_uri_bytes,
            max_headers: self.max_headers,
        }
    }
}

impl Default for GatewayConfig {
    /// Reads this process's open-file limit.
    fn default() -> Self {
        Self::for_open_files(limits::open_file_limit())
    }
}

/// What every connection shares.
struct Shared<S, C> {
    api: Arc<Api<S, C>>,
    config: GatewayConfig,
    in_flight: Semaphore,
}

/// Accept errors that concern one connection only (the client gave up first).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Serves the API on `listener` until `shutdown` completes, then stops accepting,
/// closes idle connections and lets requests being served finish (within
/// [`GatewayConfig::shutdown_grace`]).
pub async fn serve<S, C>(
    listener: TcpListener,
    api: Arc<Api<S, C>>,
    config: GatewayConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    S: ObjectStore + 'static,
    C: Clock + 'static,
{
    let max_connections = config.max_connections.max(1);
    tracing::info!(
        max_connections,
        max_in_flight = config.max_in_flight,
        open_file_limit = ?limits::open_file_limit(),
        "local gateway serving"
    );
    let connections = Arc::new(Semaphore::new(max_connections));
    let refusing = Arc::new(Semaphore::new(config.max_refusing));
    let shared = Arc::new(Shared {
        api,
        in_flight: Semaphore::new(config.max_in_flight.max(1)),
        config,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // Out of files or buffers: the pending connection stays queued, so
                // wait instead of spinning on it.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if let Ok(permit) = Arc::clone(&connections).try_acquire_owned() {
            let shared = Arc::clone(&shared);
            let stop = stop_rx.clone();
            tokio::spawn(async move {
                conn::serve_connection(stream, &shared, stop).await;
                drop(permit);
            });
        } else if let Ok(permit) = Arc::clone(&refusing).try_acquire_owned() {
            let write_timeout = shared.config.write_timeout;
            tokio::spawn(async move {
                conn::refuse_busy(stream, write_timeout).await;
                drop(permit);
            });
        } else {
            drop(stream);
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let grace = shared.config.shutdown_grace;
    if tokio::time::timeout(grace, connections.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the shutdown grace; leaving them");
    }
    Ok(())
}
