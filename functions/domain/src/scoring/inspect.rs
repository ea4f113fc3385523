//! Reading rendered messages back: the leaf parts of a MIME message, decoded.
//! Used by the tests of every crate that checks what the scorer sent. It lives here,
//! not in `ework-testkit`, because the scoring unit tests (`scoring/tests.rs`) read
//! their emails with it too.

/// One leaf part: its headers (names lower-cased) and decoded body.
#[derive(Debug, Clone)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("text/plain")
            .to_ascii_lowercase()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A parsed message: top-level headers and every leaf part.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Part>,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first leaf part whose content type starts with `mime` (`text/html`).
    pub fn part(&self, mime: &str) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| p.content_type().starts_with(mime))
    }
}

/// Splits a message into headers and decoded leaf parts. Lenient: anything it
/// does not understand is returned as is.
pub fn parse(raw: &[u8]) -> Parsed {
    let (headers, body) = split_head(raw);
    let mut parts = vec![];
    walk(&headers, body, &mut parts);
    Parsed { headers, parts }
}

fn split_head(raw: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let text_end = find(raw, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(raw, b"\n\n").map(|i| (i, i + 2)));
    let (head, body) = match text_end {
        Some((h, b)) => (&raw[..h], &raw[b..]),
        None => (raw, &raw[raw.len()..]),
    };
    let mut headers: Vec<(String, String)> = vec![];
    for line in String::from_utf8_lossy(head).lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    (headers, body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn walk(headers: &[(String, String)], body: &[u8], out: &mut Vec<Part>) {
    let ctype = header(headers, "content-type").unwrap_or("text/plain");
    if ctype.to_ascii_lowercase().starts_with("multipart/") {
        let Some(boundary) = param(ctype, "boundary") else {
            return;
        };
        let delimiter = format!("--{boundary}");
        let text = body;
        let mut pieces = vec![];
        let mut rest = text;
        while let Some(i) = find(rest, delimiter.as_bytes()) {
            pieces.push(&rest[..i]);
            rest = &rest[i + delimiter.len()..];
        }
        // pieces[0] is the preamble; the part after the last delimiter is "--" + epilogue.
        for piece in pieces.into_iter().skip(1) {
            let piece = piece.strip_prefix(b"\r\n").unwrap_or(piece);
            let piece = piece.strip_suffix(b"\r\n").unwrap_or(piece);
            let (h, b) = split_head(piece);
            walk(&h, b, out);
        }
    } else {
        let cte = header(headers, "content-transfer-encoding")
            .unwrap_or("7bit")
            .to_ascii_lowercase();
        let body = match cte.as_str() {
            "base64" => base64_decode(body),
            "quoted-printable" => qp_decode(body),
            _ => body.to_vec(),
        };
        out.push(Part {
            headers: headers.to_vec(),
            body,
        });
    }
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn base64_decode(input: &[u8]) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (vec![], 0u32, 0u32);
    for v in input.iter().copied().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    out
}

fn qp_decode(input: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = vec![];
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'=' if input[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if input[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_and_quoted_printable_parts() {
        assert_eq!(base64_decode(b"aGVs\r\nbG8="), b"hello");
        assert_eq!(qp_decode(b"caf=C3=A9 =\r\nend"), "café end".as_bytes());
        let raw = b"Content-Type: multipart/alternative; boundary=\"XX\"\r\n\r\n--XX\r\n\
Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--XX\r\n\
Content-Type: text/html\r\n\r\n<p>x</p>\r\n--XX--\r\n";
        let parsed = parse(raw);
        assert_eq!(parsed.part("text/plain").unwrap().text(), "hi");
        assert_eq!(parsed.part("text/html").unwrap().text(), "<p>x</p>");
    }
}
