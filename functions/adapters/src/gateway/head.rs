//! The request head: found in the bytes received so far, parsed with httparse, and
//! refused when it is too large, malformed or could be read two ways.

use super::refusal::Refusal;
use crate::http::api_key;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Uri};

/// Size limits of a request head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// The whole head: request line, headers and the blank line.
    pub max_head_bytes: usize,
    /// The request target (path and query).
    pub max_uri_bytes: usize,
    pub max_headers: usize,
}

/// How the body of a request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` (0 when absent).
    Length(u64),
    Chunked,
}

/// A request head that can be read only one way.
#[derive(Debug)]
pub struct Head {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub api_key: Option<String>,
    pub framing: Framing,
    /// The client waits for `100 Continue` before it sends the body.
    pub expect_continue: bool,
    /// The client asked to keep the connection for further requests.
    pub keep_alive: bool,
}

/// What the bytes received so far hold.
#[derive(Debug)]
pub enum Scan {
    /// More bytes are needed.
    Incomplete,
    /// A complete head, `len` bytes long.
    Complete { head: Head, len: usize },
}

/// Room left on a request line for the method, spaces and `HTTP/1.1`.
const REQUEST_LINE_SLACK: usize = 64;

/// Looks at `buf`, the bytes received for this request so far. `new_line` says
/// whether the last read brought a line feed: only then can a line or the head have
/// been completed, so only then is the (linear) parse repeated.
pub fn scan(buf: &[u8], limits: &HeadLimits, new_line: bool) -> Result<Scan, Refusal> {
    let start = buf
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    // A method is a token: anything else (a TLS hello, binary noise) is refused at
    // once instead of after the header timeout.
    let method_end = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
    if !rest[..method_end].iter().all(|b| is_tchar(*b)) {
        return Err(Refusal::Malformed(
            "the request line is not `METHOD /path HTTP/1.1`".into(),
        ));
    }
    let line_done = rest.contains(&b'\n');
    if !line_done {
        // Still on the request line: a target over the limit is known before the line ends.
        if rest.len() > limits.max_uri_bytes + REQUEST_LINE_SLACK
            || buf.len() > limits.max_head_bytes
        {
            return Err(if looks_like_request_line(rest) {
                Refusal::UriTooLong {
                    limit: limits.max_uri_bytes,
                }
            } else {
                Refusal::Malformed("the request line is not `METHOD /path HTTP/1.1`".into())
            });
        }
        return Ok(Scan::Incomplete);
    }
    if !new_line && buf.len() <= limits.max_head_bytes {
        return Ok(Scan::Incomplete);
    }
    let end = head_end(rest).map(|e| start + e);
    let parse_to = end.unwrap_or(buf.len()).min(limits.max_head_bytes + 1);
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let status = req.parse(&buf[..parse_to]).map_err(|e| match e {
        httparse::Error::TooManyHeaders => Refusal::HeadTooLarge {
            limit: limits.max_head_bytes,
            headers: limits.max_headers,
        },
        other => Refusal::Malformed(describe(other).into()),
    })?;
    if req.path.is_some_and(|p| p.len() > limits.max_uri_bytes) {
        return Err(Refusal::UriTooLong {
            limit: limits.max_uri_bytes,
        });
    }
    match (status, end) {
        (httparse::Status::Complete(len), Some(_)) if len <= limits.max_head_bytes => {
            let head = check(&req)?;
            Ok(Scan::Complete { head, len })
        }
        _ if buf.len() > limits.max_head_bytes || end.is_some() => Err(Refusal::HeadTooLarge {
            limit: limits.max_head_bytes,
            headers: limits.max_headers,
        }),
        _ => Ok(Scan::Incomplete),
    }
}

/// The end of the head (just after its blank line), if it has arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    (1..buf.len()).find_map(|i| {
        let blank = buf[i] == b'\n'
            && (buf[i - 1] == b'\n' || (i >= 2 && buf[i - 1] == b'\r' && buf[i - 2] == b'\n'));
        blank.then_some(i + 1)
    })
}

/// A character of a token (RFC 9110, 5.6.2), such as a method.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A method token and a space: then an over-long line is an over-long target.
fn looks_like_request_line(line: &[u8]) -> bool {
    line.iter()
        .position(|b| *b == b' ')
        .is_some_and(|sp| (1..=32).contains(&sp) && line[..sp].iter().all(u8::is_ascii_uppercase))
}

fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "a header name is not valid",
        httparse::Error::HeaderValue => "a header value is not valid (or is folded over lines)",
        httparse::Error::NewLine => "a line does not end in CRLF",
        httparse::Error::Token => "the request line is not `METHOD /path HTTP/1.1`",
        httparse::Error::Version => "the HTTP version is not HTTP/1.1 or HTTP/1.0",
        httparse::Error::Status | httparse::Error::TooManyHeaders => "the request is not valid",
    }
}

/// Checks a complete head for everything that could be read two ways.
fn check(req: &httparse::Request<'_, '_>) -> Result<Head, Refusal> {
    let malformed = |m: &str| Refusal::Malformed(m.into());
    let ambiguous = |m: &str| Refusal::Ambiguous(m.into());
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(malformed("the request line is incomplete"));
    };
    let http11 = version == 1;
    let mut headers = HeaderMap::new();
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| malformed("a header name is not valid"))?;
        let value = HeaderValue::from_bytes(h.value)
            .map_err(|_| malformed("a header value is not valid"))?;
        headers.append(name, value);
    }
    let count = |name: &str| headers.get_all(name).iter().count();
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
    };

    match count(header::HOST.as_str()) {
        0 if http11 => return Err(malformed("an HTTP/1.1 request needs a Host header")),
        0 | 1 => {}
        _ => return Err(ambiguous("the Host header is given more than once")),
    }
    if count(crate::http::API_KEY_HEADER) > 1 {
        return Err(ambiguous(
            "the x-api-key header is given more than once; send your key once",
        ));
    }
    let lengths = count(header::CONTENT_LENGTH.as_str());
    let encodings = count(header::TRANSFER_ENCODING.as_str());
    if lengths > 0 && encodings > 0 {
        return Err(ambiguous(
            "the request has both Content-Length and Transfer-Encoding; send only one",
        ));
    }
    if lengths > 1 {
        return Err(ambiguous(
            "the Content-Length header is given more than once",
        ));
    }
    if encodings > 1 {
        return Err(ambiguous(
            "the Transfer-Encoding header is given more than once",
        ));
    }
    let framing = if encodings == 1 {
        if !http11 || text(header::TRANSFER_ENCODING).as_deref() != Some("chunked") {
            return Err(malformed(
                "the only Transfer-Encoding accepted is `chunked`, with HTTP/1.1",
            ));
        }
        Framing::Chunked
    } else {
        match headers.get(header::CONTENT_LENGTH) {
            None => Framing::Length(0),
            Some(v) => {
                let digits = v.as_bytes();
                let parsed = (!digits.is_empty()
                    && digits.len() <= 18
                    && digits.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
                .flatten();
                Framing::Length(
                    parsed.ok_or_else(|| malformed("Content-Length is not a number of bytes"))?,
                )
            }
        }
    };

    let expect_continue = match text(header::EXPECT) {
        None => false,
        Some(v) if v == "100-continue" => http11,
        Some(_) => return Err(Refusal::ExpectationFailed),
    };
    let tokens: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let keep_alive = if http11 {
        !tokens.iter().any(|t| t == "close")
    } else {
        tokens.iter().any(|t| t == "keep-alive")
    };

    let uri: Uri = target
        .parse()
        .map_err(|_| malformed("the request target is not a valid path"))?;
    Ok(Head {
        method: method.to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        api_key: api_key(&headers),
        framing,
        expect_continue,
        keep_alive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        max_head_bytes: 1024,
        max_uri_bytes: 256,
        max_headers: 8,
    };

    fn complete(raw: &str) -> Head {
        match scan(raw.as_bytes(), &LIMITS, true) {
            Ok(Scan::Complete { head, len }) => {
                assert_eq!(len, raw.len());
                head
            }
            other => panic!("{raw:?}: {other:?}"),
        }
    }

    fn refused(raw: &[u8]) -> Refusal {
        match scan(raw, &LIMITS, true) {
            Err(r) => r,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn a_plain_request_is_read_with_its_key_and_query() {
        let head =
            complete("GET /api/v1/test?testId=a HTTP/1.1\r\nHost: x\r\nX-Api-Key: k\r\n\r\n");
        assert_eq!(head.method, "GET");
        assert_eq!(head.path, "/api/v1/test");
        assert_eq!(head.query.as_deref(), Some("testId=a"));
        assert_eq!(head.api_key.as_deref(), Some("k"));
        assert_eq!(head.framing, Framing::Length(0));
        assert!(head.keep_alive);
    }

    #[test]
    fn leading_blank_lines_and_bare_line_feeds_are_tolerated() {
        let head =
            complete("\r\n\r\nPOST /x HTTP/1.0\nContent-Length: 5\nConnection: keep-alive\n\n");
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.keep_alive);
    }

    #[test]
    fn a_partial_head_asks_for_more() {
        let partial = b"GET / HTTP/1.1\r\nHost: x\r\n";
        assert!(matches!(scan(partial, &LIMITS, true), Ok(Scan::Incomplete)));
        assert!(matches!(
            scan(b"GET / HT", &LIMITS, false),
            Ok(Scan::Incomplete)
        ));
    }

    #[test]
    fn every_ambiguity_is_refused() {
        for raw in [
            "GET / HTTP/1.1\r\nHost: x\r\nx-api-key: a\r\nX-API-KEY: b\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        ] {
            assert!(
                matches!(refused(raw.as_bytes()), Refusal::Ambiguous(_)),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn malformed_heads_are_refused() {
        for raw in [
            "GARBAGE\r\n\r\n",
            "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,1\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert!(
                matches!(refused(raw.as_bytes()), Refusal::Malformed(_)),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn size_limits_are_told_apart() {
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(300));
        assert!(matches!(
            refused(long_target.as_bytes()),
            Refusal::UriTooLong { .. }
        ));
        let unfinished_target = format!("GET /{}", "a".repeat(400));
        assert!(matches!(
            scan(unfinished_target.as_bytes(), &LIMITS, false),
            Err(Refusal::UriTooLong { .. })
        ));
        let big_header = format!("GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n", "a".repeat(1100));
        assert!(matches!(
            refused(big_header.as_bytes()),
            Refusal::HeadTooLarge { .. }
        ));
        let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{}\r\n", "X: a\r\n".repeat(9));
        assert!(matches!(
            refused(many.as_bytes()),
            Refusal::HeadTooLarge { .. }
        ));
        let noise = vec![b'x'; 400];
        assert!(matches!(
            scan(&noise, &LIMITS, false),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            scan(b"\x16\x03\x01\x02\x00\x01", &LIMITS, false),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn expectations_other_than_100_continue_are_refused() {
        let head = complete(
            "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n",
        );
        assert!(head.expect_continue);
        assert!(matches!(
            refused(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n"),
            Refusal::ExpectationFailed
        ));
    }
}
