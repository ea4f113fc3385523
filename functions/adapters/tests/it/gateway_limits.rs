//! The local gateway under slow and hostile clients, on 127.0.0.1 with short
//! deadlines: raw sockets that stall, drip, overflow and contradict themselves. Every
//! connection is closed in bounded time, excess connections are refused at once,
//! normal clients get served again, and every answer is the JSON envelope.

use chrono::{TimeZone, Utc};
use ework_adapters::gateway::{serve, GatewayConfig};
use ework_domain::api::{Api, ApiConfig};
use ework_domain::ports::{FixedClock, ObjectStore};
use ework_domain::testing::MemoryStore;
use ework_testkit::faults::{FaultPlan, FaultyStore};
use ework_testkit::fixture::seed_fixture;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

const MS: Duration = Duration::from_millis(1);
/// Slack for a loaded machine (2 cores, builds running beside the tests).
const SLACK: Duration = Duration::from_secs(3);

/// Short deadlines, so a test waits for them in well under a second each.
fn quick() -> GatewayConfig {
    GatewayConfig {
        header_timeout: 400 * MS,
        body_timeout: 400 * MS,
        idle_timeout: 400 * MS,
        write_timeout: 2000 * MS,
        max_connections: 64,
        shutdown_grace: 2000 * MS,
        ..GatewayConfig::for_open_files(None)
    }
}

struct Gateway {
    addr: SocketAddr,
    key: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Gateway {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn start_on<S: ObjectStore + 'static>(
    store: S,
    key: String,
    config: GatewayConfig,
) -> Gateway {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let api = Arc::new(Api::new(store, FixedClock(now), ApiConfig::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, api, config, async move {
        let _ = stopped.await;
    }));
    Gateway {
        addr,
        key,
        stop: Some(stop),
        task,
    }
}

/// The gateway over a published course of two students; `key` is student001's.
async fn start(config: GatewayConfig) -> Gateway {
    let store = MemoryStore::new();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let fixture = seed_fixture(&store, 2, now).await.unwrap();
    let key = fixture.key_of("student001").to_string();
    start_on(store, key, config).await
}

fn list_request(key: &str) -> String {
    let body = r#"{"studentId":"student001"}"#;
    format!(
        "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A response as read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The API's envelope with this status and reason, and a message.
    fn assert_envelope(&self, status: u16, reason: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert_eq!(self.body["code"], json!(status), "{self:?}");
        assert_eq!(self.body["reason"], json!(reason), "{self:?}");
        let message = self.body["body"].as_str().unwrap_or_default();
        assert!(
            message.len() > 10,
            "no message a student understands: {self:?}"
        );
    }
}

/// A raw HTTP/1.1 client that does exactly what it is told.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Sends bytes; a server that already closed is not an error here.
    async fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Takes one complete response off the buffer.
    fn parse(&mut self) -> Option<Raw> {
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if self.buf.len() < end + len {
            return None;
        }
        let body = serde_json::from_slice(&self.buf[end..end + len]).unwrap_or(Value::Null);
        self.buf.drain(..end + len);
        Some(Raw {
            status,
            headers,
            body,
        })
    }

    /// The next response, or `None` if the connection ends or nothing comes in time.
    async fn response(&mut self, within: Duration) -> Option<Raw> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(raw) = self.parse() {
                return Some(raw);
            }
            match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    /// Whether the server ends the connection within `within`, sending nothing more.
    async fn closes_quietly(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut rest = [0u8; 1024];
        match timeout_at(deadline, self.stream.read(&mut rest)).await {
            Ok(Ok(0)) | Ok(Err(_)) => self.buf.is_empty(),
            Ok(Ok(_)) | Err(_) => false,
        }
    }
}

/// One request on a fresh connection, and the answer.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Option<Raw> {
    let mut client = Client::connect(addr).await;
    client.send(request).await;
    client.response(SLACK).await
}

#[tokio::test]
async fn a_well_behaved_client_is_served_over_one_kept_alive_connection() {
    let gw = start(quick()).await;
    let mut client = Client::connect(gw.addr).await;
    for _ in 0..3 {
        client.send(list_request(&gw.key).as_bytes()).await;
        let raw = client.response(SLACK).await.expect("an answer");
        assert_eq!(raw.status, 200, "{raw:?}");
        assert_eq!(raw.body["code"], 200);
        assert_eq!(raw.header("connection"), None);
    }
    // Two requests in one write (pipelined) get two answers, in order.
    let two = format!(
        "{}GET /api/v1/test?subjectName=operating-systems&testId=test01 HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\n\r\n",
        list_request(&gw.key),
        gw.key
    );
    client.send(two.as_bytes()).await;
    let first = client.response(SLACK).await.expect("first answer");
    let second = client.response(SLACK).await.expect("second answer");
    assert!(first.body["body"].is_array(), "{first:?}");
    assert_eq!(second.body["test"]["testId"], "test01", "{second:?}");

    // And through an ordinary HTTP client.
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/api/v1/tests", gw.url()))
        .header("x-api-key", &gw.key)
        .body(r#"{"studentId":"student001"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn chunked_bodies_and_100_continue_are_understood() {
    let gw = start(quick()).await;
    let body = r#"{"studentId":"student001"}"#;
    let (a, b) = body.split_at(10);
    let chunked = format!(
        "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\nX-Trailer: t\r\n\r\n",
        gw.key,
        a.len(),
        b.len()
    );
    let raw = exchange(gw.addr, chunked.as_bytes())
        .await
        .expect("an answer");
    assert_eq!(raw.status, 200, "{raw:?}");

    let mut client = Client::connect(gw.addr).await;
    let head = format!(
        "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        gw.key,
        body.len()
    );
    client.send(head.as_bytes()).await;
    let interim = client.response(SLACK).await.expect("100 Continue");
    assert_eq!(interim.status, 100);
    client.send(body.as_bytes()).await;
    let raw = client.response(SLACK).await.expect("an answer");
    assert_eq!(raw.status, 200, "{raw:?}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let gw = start(quick()).await;
    let mut client = Client::connect(gw.addr).await;
    let started = Instant::now();
    assert!(client.closes_quietly(400 * MS + SLACK).await);
    assert!(started.elapsed() >= 350 * MS, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_connection_that_sends_headers_slowly_is_closed_after_the_header_timeout() {
    let gw = start(quick()).await;
    let mut client = Client::connect(gw.addr).await;
    let started = Instant::now();
    client
        .send(b"POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        .await;
    // One byte every 50 ms keeps the connection busy but must not move the deadline.
    let mut answer = None;
    for _ in 0..100 {
        client.send(b"z").await;
        if let Some(raw) = client.response(50 * MS).await {
            answer = Some(raw);
            break;
        }
    }
    let elapsed = started.elapsed();
    let raw = answer.expect("a 408 while the headers were dripping in");
    raw.assert_envelope(408, "request_timeout");
    assert_eq!(raw.header("connection"), Some("close"));
    assert!(elapsed >= 350 * MS, "{elapsed:?}");
    assert!(elapsed < 400 * MS + SLACK, "{elapsed:?}");
    assert!(client.closes_quietly(SLACK).await);
}

#[tokio::test]
async fn a_body_shorter_than_announced_is_cut_with_408() {
    let gw = start(quick()).await;
    let mut client = Client::connect(gw.addr).await;
    let head = format!(
        "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\nContent-Length: 100\r\n\r\n{{\"studentId\"",
        gw.key
    );
    let started = Instant::now();
    client.send(head.as_bytes()).await;
    let raw = client.response(400 * MS + SLACK).await.expect("a 408");
    raw.assert_envelope(408, "request_timeout");
    assert!(
        raw.body["body"].as_str().unwrap().contains("body"),
        "{raw:?}"
    );
    assert!(started.elapsed() >= 350 * MS, "{:?}", started.elapsed());
    assert!(client.closes_quietly(SLACK).await);

    // A chunked body that stops mid-way is cut the same way.
    let mut client = Client::connect(gw.addr).await;
    let head = format!(
        "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n{{\"stud",
        gw.key
    );
    client.send(head.as_bytes()).await;
    let raw = client.response(400 * MS + SLACK).await.expect("a 408");
    raw.assert_envelope(408, "request_timeout");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let gw = start(quick()).await;
    let mut client = Client::connect(gw.addr).await;
    client.send(list_request(&gw.key).as_bytes()).await;
    assert_eq!(client.response(SLACK).await.expect("an answer").status, 200);
    // Within the idle timeout the connection is still good for another request.
    tokio::time::sleep(150 * MS).await;
    client.send(list_request(&gw.key).as_bytes()).await;
    assert_eq!(client.response(SLACK).await.expect("an answer").status, 200);
    let idle_since = Instant::now();
    assert!(client.closes_quietly(400 * MS + SLACK).await);
    assert!(
        idle_since.elapsed() >= 350 * MS,
        "{:?}",
        idle_since.elapsed()
    );
}

#[tokio::test]
async fn stalled_connections_over_the_cap_are_refused_at_once_and_clients_are_served_once_they_time_out(
) {
    let cap = 8;
    let header_timeout = Duration::from_secs(2);
    let gw = start(GatewayConfig {
        header_timeout,
        max_connections: cap,
        max_refusing: 2,
        ..quick()
    })
    .await;
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..cap {
        let mut client = Client::connect(gw.addr).await;
        client
            .send(b"POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\n")
            .await;
        stalled.push(client);
    }
    tokio::time::sleep(100 * MS).await;

    // Excess connections, normal requests among them, are answered 503 or closed,
    // quickly: the accept loop does not wait for the stalled ones.
    let mut busy = 0;
    for _ in 0..6 {
        let asked = Instant::now();
        let mut client = Client::connect(gw.addr).await;
        client.send(list_request(&gw.key).as_bytes()).await;
        match client.response(header_timeout / 2).await {
            Some(raw) => {
                raw.assert_envelope(503, "unavailable");
                assert_eq!(raw.header("retry-after"), Some("5"), "{raw:?}");
                busy += 1;
            }
            None => assert!(
                client.closes_quietly(MS).await,
                "excess connection left hanging"
            ),
        }
        assert!(
            asked.elapsed() < header_timeout / 2,
            "{:?}",
            asked.elapsed()
        );
    }
    assert!(
        busy >= 1,
        "no excess connection was told to come back later"
    );

    // The stalled ones get their 408 when the header timeout passes.
    for client in &mut stalled {
        let raw = client
            .response(header_timeout + SLACK)
            .await
            .expect("a 408 for a stalled connection");
        raw.assert_envelope(408, "request_timeout");
    }
    assert!(started.elapsed() >= header_timeout - 100 * MS);

    drop(stalled);

    // Then a normal client is served (told to come back while the last stalled
    // connections are being closed, at most).
    let mut served = false;
    for _ in 0..40 {
        let raw = exchange(gw.addr, list_request(&gw.key).as_bytes())
            .await
            .expect("an answer after the stalled connections timed out");
        if raw.status == 200 {
            served = true;
            break;
        }
        raw.assert_envelope(503, "unavailable");
        tokio::time::sleep(50 * MS).await;
    }
    assert!(
        served,
        "no normal client was served after the stalled ones timed out"
    );
    assert!(
        started.elapsed() < header_timeout + SLACK,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn malformed_requests_get_a_400_envelope() {
    let gw = start(quick()).await;
    for raw in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /api/v1/tests HTTP/9.9\r\nHost: gw\r\n\r\n",
        b"GET /api/v1/tests HTTP/1.1\r\n\r\n",
        b"GET /api/v1/tests HTTP/1.1\r\nHost : gw\r\n\r\n",
        b"GET /api/v1/tests HTTP/1.1\r\nHost: gw\r\nBad\0Name: x\r\n\r\n",
        b"GET /api/v1/tests HTTP/1.1\r\nHost: gw\r\nX-Folded: a\r\n b\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nContent-Length: ten\r\n\r\n",
        b"POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let mut client = Client::connect(gw.addr).await;
        client.send(raw).await;
        let answer = client.response(SLACK).await;
        let Some(answer) = answer else {
            panic!("no answer to {:?}", String::from_utf8_lossy(raw));
        };
        answer.assert_envelope(400, "bad_request");
        assert!(client.closes_quietly(SLACK).await);
    }
}

#[tokio::test]
async fn a_huge_header_gets_a_431_envelope() {
    let gw = start(quick()).await;
    let big = format!(
        "GET /api/v1/tests HTTP/1.1\r\nHost: gw\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let raw = exchange(gw.addr, big.as_bytes()).await.expect("a 431");
    raw.assert_envelope(431, "headers_too_large");
    let many = format!(
        "GET /api/v1/tests HTTP/1.1\r\nHost: gw\r\n{}\r\n",
        "X-Many: a\r\n".repeat(200)
    );
    let raw = exchange(gw.addr, many.as_bytes()).await.expect("a 431");
    raw.assert_envelope(431, "headers_too_large");
}

#[tokio::test]
async fn a_huge_uri_gets_a_414_envelope() {
    let gw = start(quick()).await;
    let long = format!(
        "GET /api/v1/test?testId={} HTTP/1.1\r\nHost: gw\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let raw = exchange(gw.addr, long.as_bytes()).await.expect("a 414");
    raw.assert_envelope(414, "uri_too_long");
}

#[tokio::test]
async fn two_api_keys_are_refused_with_400() {
    let gw = start(quick()).await;
    let body = r#"{"studentId":"student001"}"#;
    for second in [gw.key.as_str(), "ewk_someone_else"] {
        let request = format!(
            "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\nX-Api-Key: {second}\r\nContent-Length: {}\r\n\r\n{body}",
            gw.key,
            body.len()
        );
        let raw = exchange(gw.addr, request.as_bytes()).await.expect("a 400");
        raw.assert_envelope(400, "bad_request");
        assert!(
            raw.body["body"].as_str().unwrap().contains("x-api-key"),
            "{raw:?}"
        );
    }
}

#[tokio::test]
async fn content_length_together_with_chunked_is_refused_with_400() {
    let gw = start(quick()).await;
    let body = r#"{"studentId":"student001"}"#;
    let request = format!(
        "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        gw.key,
        body.len(),
        body.len()
    );
    let raw = exchange(gw.addr, request.as_bytes()).await.expect("a 400");
    raw.assert_envelope(400, "bad_request");
    assert!(
        raw.body["body"]
            .as_str()
            .unwrap()
            .contains("Transfer-Encoding"),
        "{raw:?}"
    );
    // Two Content-Lengths are as ambiguous.
    let request = format!(
        "POST /api/v1/tests HTTP/1.1\r\nHost: gw\r\nx-api-key: {}\r\nContent-Length: {}\r\nContent-Length: 1\r\n\r\n{body}",
        gw.key,
        body.len()
    );
    let raw = exchange(gw.addr, request.as_bytes()).await.expect("a 400");
    raw.assert_envelope(400, "bad_request");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_before_it_is_sent() {
    let gw = start(quick()).await;
    let request = "POST /api/v1/test HTTP/1.1\r\nHost: gw\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n";
    let raw = exchange(gw.addr, request.as_bytes()).await.expect("a 413");
    raw.assert_envelope(413, "payload_too_large");
}

#[tokio::test]
async fn an_unavailable_store_yields_503_with_retry_after() {
    let store = FaultyStore {
        inner: MemoryStore::new(),
        plan: FaultPlan::new(1.0, 7),
    };
    let gw = start_on(store, "ewk_any".into(), quick()).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/tests", gw.url()))
        .header("x-api-key", &gw.key)
        .body(r#"{"studentId":"student001"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 503);
    assert_eq!(body["reason"], "unavailable");
}

#[tokio::test]
async fn stopping_the_gateway_closes_idle_connections_and_stops_accepting() {
    let mut gw = start(GatewayConfig {
        idle_timeout: Duration::from_secs(60),
        header_timeout: Duration::from_secs(60),
        ..quick()
    })
    .await;
    let mut idle = Client::connect(gw.addr).await;
    idle.send(list_request(&gw.key).as_bytes()).await;
    assert_eq!(idle.response(SLACK).await.expect("an answer").status, 200);
    let silent = Client::connect(gw.addr).await;
    tokio::time::sleep(50 * MS).await;

    let _ = gw.stop.take().map(|stop| stop.send(()));
    assert!(idle.closes_quietly(SLACK).await);
    let mut silent = silent;
    assert!(silent.closes_quietly(SLACK).await);
    tokio::time::timeout(SLACK, &mut gw.task)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(gw.addr).await.is_err());
}
