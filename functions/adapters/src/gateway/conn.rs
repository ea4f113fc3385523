//! One connection: each request read within its deadlines and limits, handed to
//! the handlers, answered; the connection closed when a deadline or a limit passes.

use super::head::{self, Framing, Head, Scan};
use super::refusal::Refusal;
use super::Shared;
use crate::http::{json_body, parse_query, retry_after};
use axum::http::StatusCode;
use ework_domain::api::contract::MAX_BODY_BYTES;
use ework_domain::api::{ApiRequest, ApiResponse};
use ework_domain::ports::{Clock, ObjectStore};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

const READ_CHUNK: usize = 8 * 1024;
/// After the last answer on a connection, how long (and how much) the rest of what
/// the client sends is read and dropped: closing with unread bytes would reset the
/// connection, and the client could lose the answer before reading it.
const LINGER: Duration = Duration::from_millis(250);
const LINGER_BYTES: usize = 256 * 1024;
/// The linger ends early once the client has sent nothing for this long.
const LINGER_QUIET: Duration = Duration::from_millis(50);
/// Longest chunk-size line (size and extensions) of a chunked body.
const MAX_CHUNK_LINE: usize = 1024;
/// A connection over the cap gets at most this long to take its 503.
const BUSY_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a connection ends early.
enum End {
    /// The client left, or a deadline passed with no request pending, or the server
    /// is stopping: close without an answer.
    Quietly,
    /// Answer with this refusal, then close.
    Refuse(Refusal),
}

enum Read {
    Data { new_line: bool },
    Eof,
    Timeout,
}

/// What to do after an answer.
enum Next {
    KeepAlive,
    Close,
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // A dropped sender means the gateway is gone: stop as well.
    let _ = stop.wait_for(|s| *s).await;
}

struct Conn {
    stream: TcpStream,
    /// Received and not yet consumed (a partial head, a body, a pipelined request).
    buf: Vec<u8>,
}

impl Conn {
    async fn read_some(&mut self, deadline: Instant) -> Read {
        self.buf.reserve(READ_CHUNK);
        let before = self.buf.len();
        match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Read::Timeout,
            Ok(Ok(0)) | Ok(Err(_)) => Read::Eof,
            Ok(Ok(_)) => Read::Data {
                new_line: self.buf[before..].contains(&b'\n'),
            },
        }
    }

    /// Whether anything but blank lines has arrived for the next request.
    fn request_started(&self) -> bool {
        self.buf.iter().any(|b| !matches!(b, b'\r' | b'\n'))
    }

    /// Waits for the first byte of the next request on a kept-alive connection.
    async fn await_request(&mut self, idle: Duration, stop: &mut watch::Receiver<bool>) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        tokio::select! {
            biased;
            () = stopped(stop) => false,
            read = self.read_some(Instant::now() + idle) => matches!(read, Read::Data { .. }),
        }
    }

    async fn read_head(
        &mut self,
        limits: &head::HeadLimits,
        deadline: Instant,
        header_timeout: Duration,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Head, End> {
        let mut new_line = true;
        loop {
            match head::scan(&self.buf, limits, new_line).map_err(End::Refuse)? {
                Scan::Complete { head, len } => {
                    self.buf.drain(..len);
                    return Ok(head);
                }
                Scan::Incomplete => {}
            }
            let read = tokio::select! {
                biased;
                () = stopped(stop) => return Err(End::Quietly),
                read = self.read_some(deadline) => read,
            };
            new_line = match read {
                Read::Data { new_line } => new_line,
                Read::Eof => return Err(End::Quietly),
                Read::Timeout if self.request_started() => {
                    return Err(End::Refuse(Refusal::HeadTimeout(header_timeout)))
                }
                Read::Timeout => return Err(End::Quietly),
            };
        }
    }

    /// Reads more of a body, or says why the request ends.
    async fn more_body(&mut self, deadline: Instant, body_timeout: Duration) -> Result<(), End> {
        match self.read_some(deadline).await {
            Read::Data { .. } => Ok(()),
            Read::Eof => Err(End::Quietly),
            Read::Timeout => Err(End::Refuse(Refusal::BodyTimeout(body_timeout))),
        }
    }

    async fn read_sized(
        &mut self,
        len: usize,
        deadline: Instant,
        body_timeout: Duration,
    ) -> Result<Vec<u8>, End> {
        while self.buf.len() < len {
            self.more_body(deadline, body_timeout).await?;
        }
        Ok(self.buf.drain(..len).collect())
    }

    async fn read_chunked(
        &mut self,
        deadline: Instant,
        body_timeout: Duration,
        max_trailer_bytes: usize,
    ) -> Result<Vec<u8>, End> {
        let malformed = |m: &str| End::Refuse(Refusal::Malformed(m.into()));
        let mut body = Vec::new();
        loop {
            let (used, size) = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete(found)) => break found,
                    Ok(httparse::Status::Partial) if self.buf.len() <= MAX_CHUNK_LINE => {
                        self.more_body(deadline, body_timeout).await?;
                    }
                    _ => return Err(malformed("a chunk size of the chunked body is not valid")),
                }
            };
            self.buf.drain(..used);
            if size == 0 {
                break;
            }
            let total = (body.len() as u64).saturating_add(size);
            if total > MAX_BODY_BYTES as u64 {
                return Err(End::Refuse(Refusal::PayloadTooLarge {
                    size: total,
                    limit: MAX_BODY_BYTES,
                }));
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            while self.buf.len() < size + 2 {
                self.more_body(deadline, body_timeout).await?;
            }
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(malformed(
                    "a chunk of the chunked body does not end in CRLF",
                ));
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
        // Trailer fields are read and dropped: nothing in them is used.
        let mut trailer_bytes = 0;
        loop {
            let Some(end) = self.buf.iter().position(|b| *b == b'\n') else {
                if trailer_bytes + self.buf.len() > max_trailer_bytes {
                    return Err(malformed("the trailer of the chunked body is too large"));
                }
                self.more_body(deadline, body_timeout).await?;
                continue;
            };
            if end == 0 || self.buf[end - 1] != b'\r' {
                return Err(malformed("a line of the chunked body does not end in CRLF"));
            }
            trailer_bytes += end + 1;
            self.buf.drain(..=end);
            if end == 1 {
                return Ok(body);
            }
            if trailer_bytes > max_trailer_bytes {
                return Err(malformed("the trailer of the chunked body is too large"));
            }
        }
    }

    async fn write(&mut self, bytes: &[u8], timeout: Duration) -> bool {
        matches!(
            timeout_at(Instant::now() + timeout, self.stream.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    /// Ends the connection after its last answer: no more writes, and what the
    /// client still sends is dropped for a moment so the answer is not reset away.
    async fn close(mut self) {
        let deadline = Instant::now() + LINGER;
        if !matches!(
            timeout_at(deadline, self.stream.shutdown()).await,
            Ok(Ok(()))
        ) {
            return;
        }
        let mut drained = 0;
        let mut sink = [0u8; 4096];
        while drained < LINGER_BYTES {
            let quiet = deadline.min(Instant::now() + LINGER_QUIET);
            match timeout_at(quiet, self.stream.read(&mut sink)).await {
                Ok(Ok(n)) if n > 0 => drained += n,
                _ => break,
            }
        }
    }

    async fn refuse(mut self, refusal: Refusal, write_timeout: Duration) {
        let resp = refusal.response();
        if matches!(refusal, Refusal::Busy) {
            tracing::debug!(status = resp.status, "connection over the cap refused");
        } else {
            tracing::info!(status = resp.status, reason = %refusal, "request refused by the gateway");
        }
        if self.write(&encode(&resp, true, false), write_timeout).await {
            self.close().await;
        }
    }
}

/// The bytes of a response. `close` announces the end of the connection; `head_only`
/// leaves the body out (an answer to `HEAD`).
fn encode(resp: &ApiResponse, close: bool, head_only: bool) -> Vec<u8> {
    use std::fmt::Write;
    let body = json_body(resp);
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nDate: {date}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    if let Some(allow) = resp.allow {
        let _ = write!(out, "Allow: {allow}\r\n");
    }
    if let Some(secs) = retry_after(resp) {
        let _ = write!(out, "Retry-After: {secs}\r\n");
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&body);
    }
    bytes
}

/// Serves requests on one connection until the client leaves, a deadline or limit
/// passes, or the server stops.
pub(super) async fn serve_connection<S, C>(
    stream: TcpStream,
    shared: &Shared<S, C>,
    mut stop: watch::Receiver<bool>,
) where
    S: ObjectStore + 'static,
    C: Clock + 'static,
{
    let config = &shared.config;
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
    };
    // The first head is due a header timeout after the connection was accepted,
    // later ones a header timeout after their first byte.
    let mut head_deadline = Instant::now() + config.header_timeout;
    loop {
        match serve_request(&mut conn, shared, head_deadline, &mut stop).await {
            Ok(Next::KeepAlive) => {
                if conn.buf.capacity() > 4 * READ_CHUNK {
                    conn.buf.shrink_to(READ_CHUNK);
                }
                if !conn.await_request(config.idle_timeout, &mut stop).await {
                    return;
                }
                head_deadline = Instant::now() + config.header_timeout;
            }
            Ok(Next::Close) => return conn.close().await,
            Err(End::Quietly) => return,
            Err(End::Refuse(refusal)) => return conn.refuse(refusal, config.write_timeout).await,
        }
    }
}

async fn serve_request<S, C>(
    conn: &mut Conn,
    shared: &Shared<S, C>,
    head_deadline: Instant,
    stop: &mut watch::Receiver<bool>,
) -> Result<Next, End>
where
    S: ObjectStore + 'static,
    C: Clock + 'static,
{
    let config = &shared.config;
    let head = conn
        .read_head(
            &config.head_limits(),
            head_deadline,
            config.header_timeout,
            stop,
        )
        .await?;
    let body_deadline = Instant::now() + config.body_timeout;
    let body = match head.framing {
        Framing::Length(len) if len > MAX_BODY_BYTES as u64 => {
            return Err(End::Refuse(Refusal::PayloadTooLarge {
                size: len,
                limit: MAX_BODY_BYTES,
            }))
        }
        Framing::Length(len) => {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if head.expect_continue
                && conn.buf.len() < len
                && !conn
                    .write(b"HTTP/1.1 100 Continue\r\n\r\n", config.write_timeout)
                    .await
            {
                return Err(End::Quietly);
            }
            conn.read_sized(len, body_deadline, config.body_timeout)
                .await?
        }
        Framing::Chunked => {
            if head.expect_continue
                && conn.buf.is_empty()
                && !conn
                    .write(b"HTTP/1.1 100 Continue\r\n\r\n", config.write_timeout)
                    .await
            {
                return Err(End::Quietly);
            }
            conn.read_chunked(body_deadline, config.body_timeout, config.max_head_bytes)
                .await?
        }
    };
    let close = !head.keep_alive || *stop.borrow();
    let head_only = head.method == "HEAD";
    let req = ApiRequest {
        method: head.method,
        path: head.path,
        query: parse_query(head.query.as_deref()),
        api_key: head.api_key,
        body,
    };
    let resp = {
        // Bounds the store files held by requests; the semaphore is never closed.
        let _permit = shared.in_flight.acquire().await;
        shared.api.handle(req).await
    };
    if !conn
        .write(&encode(&resp, close, head_only), config.write_timeout)
        .await
    {
        return Err(End::Quietly);
    }
    Ok(if close { Next::Close } else { Next::KeepAlive })
}

/// Answers a connection over the cap with a 503 and closes it.
pub(super) async fn refuse_busy(stream: TcpStream, write_timeout: Duration) {
    let conn = Conn {
        stream,
        buf: Vec::new(),
    };
    conn.refuse(Refusal::Busy, write_timeout.min(BUSY_WRITE_TIMEOUT))
        .await;
}
