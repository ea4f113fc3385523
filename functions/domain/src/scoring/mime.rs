//! Writing a big message once. The trainer's report of 100 000 grades is tens of
//! megabytes, and lettre's builder holds it three times over (the texts, their
//! encodings, the formatted message). Here lettre formats the headers and the MIME
//! structure around small placeholder bodies, and every body is written straight
//! into its transfer encoding, in one buffer sized beforehand by a counting pass.

use lettre::message::header::ContentTransferEncoding;
use lettre::message::Body;
use std::fmt;

/// Where encoded bytes go: the message, or a counter sizing it.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Counts what would be written.
#[derive(Debug, Default)]
pub struct Count(pub usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// Drops what is written (the other part of a two-part renderer).
pub struct Discard;

impl fmt::Write for Discard {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

/// Longest encoded line, before the `=` of a soft line break (RFC 2045: 76 in all).
const QP_LINE: usize = 75;

/// Quoted-printable (RFC 2045), from text with `\n` line ends to CRLF lines of at
/// most 76 characters. Call [`QuotedPrintable::finish`] at the end.
pub struct QuotedPrintable<'a, S: Sink> {
    out: &'a mut S,
    column: usize,
    /// A space or tab, written once it is known not to end a line.
    blank: Option<u8>,
}

impl<'a, S: Sink> QuotedPrintable<'a, S> {
    pub fn new(out: &'a mut S) -> Self {
        Self {
            out,
            column: 0,
            blank: None,
        }
    }

    fn token(&mut self, t: &[u8]) {
        if self.column + t.len() > QP_LINE {
            self.out.put(b"=\r\n");
            self.column = 0;
        }
        self.out.put(t);
        self.column += t.len();
    }

    fn escaped(&mut self, b: u8) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.token(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }

    /// A blank before a line end must be encoded, or transports may drop it.
    fn blank_at_line_end(&mut self) {
        if let Some(b) = self.blank.take() {
            self.escaped(b);
        }
    }

    fn byte(&mut self, b: u8) {
        if b == b'\n' {
            self.blank_at_line_end();
            self.out.put(b"\r\n");
            self.column = 0;
            return;
        }
        if let Some(w) = self.blank.take() {
            self.token(&[w]);
        }
        match b {
            b' ' | b'\t' => self.blank = Some(b),
            b'=' => self.escaped(b),
            33..=126 => self.token(&[b]),
            _ => self.escaped(b),
        }
    }

    pub fn finish(mut self) {
        self.blank_at_line_end();
    }
}

impl<S: Sink> fmt::Write for QuotedPrintable<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            self.byte(b);
        }
        Ok(())
    }
}

/// Base64 in CRLF lines of 76 characters. Call [`Base64::finish`] at the end.
pub struct Base64<'a, S: Sink> {
    out: &'a mut S,
    held: [u8; 3],
    n: usize,
    column: usize,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl<'a, S: Sink> Base64<'a, S> {
    pub fn new(out: &'a mut S) -> Self {
        Self {
            out,
            held: [0; 3],
            n: 0,
            column: 0,
        }
    }

    fn quad(&mut self, bytes: [u8; 3], n: usize) {
        if self.column == 76 {
            self.out.put(b"\r\n");
            self.column = 0;
        }
        let v = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        let mut q = [b'='; 4];
        for (i, c) in q.iter_mut().enumerate().take(n + 1) {
            *c = B64[((v >> (18 - 6 * i)) & 63) as usize];
        }
        self.out.put(&q);
        self.column += 4;
    }

    pub fn finish(mut self) {
        if self.n > 0 {
            let mut last = [0; 3];
            last[..self.n].copy_from_slice(&self.held[..self.n]);
            self.quad(last, self.n);
        }
    }
}

impl<S: Sink> std::io::Write for Base64<'_, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for b in buf {
            self.held[self.n] = *b;
            self.n += 1;
            if self.n == 3 {
                self.quad(self.held, 3);
                self.n = 0;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A placeholder body, replaced by the real one when the message is assembled.
pub fn placeholder(name: &str, nonce: &str, encoding: ContentTransferEncoding) -> Body {
    Body::dangerous_pre_encoded(marker(name, nonce).into_bytes(), encoding)
}

fn marker(name: &str, nonce: &str) -> String {
    format!("@@ework-body-{name}-{nonce}@@")
}

/// Writes the bodies of a message formatted with placeholders: `skeleton` with
/// every placeholder `name` replaced by what `write(name, out)` writes.
pub fn assemble<S: Sink>(
    skeleton: &[u8],
    nonce: &str,
    names: &[&str],
    out: &mut S,
    mut write: impl FnMut(&str, &mut S),
) -> Result<(), String> {
    let mut rest = skeleton;
    for name in names {
        let m = marker(name, nonce);
        let at = rest
            .windows(m.len())
            .position(|w| w == m.as_bytes())
            .ok_or_else(|| format!("no place for the {name} part"))?;
        out.put(&rest[..at]);
        write(name, out);
        rest = &rest[at + m.len()..];
    }
    out.put(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;
    use std::io::Write as _;

    fn qp(text: &str) -> String {
        let mut out = Vec::new();
        let mut w = QuotedPrintable::new(&mut out);
        w.write_str(text).unwrap();
        w.finish();
        String::from_utf8(out).unwrap()
    }

    fn decode_qp(encoded: &str) -> String {
        let raw = encoded.replace("=\r\n", "");
        let mut out = vec![];
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap().replace("\r\n", "\n")
    }

    #[test]
    fn quoted_printable_keeps_lines_short_and_round_trips() {
        let text = "Grüße = <b>\nA line that is long enough to need a soft break somewhere in its middle, surely. \nend \t";
        let encoded = qp(text);
        assert!(encoded.lines().all(|l| l.len() <= 76), "{encoded}");
        assert!(encoded.contains("=3D") && encoded.contains("=C3=BC"));
        assert!(
            encoded.contains("=20\r\n"),
            "a blank at a line end is encoded"
        );
        assert!(encoded.ends_with("=09"), "also at the very end");
        assert_eq!(decode_qp(&encoded), text);
    }

    #[test]
    fn base64_matches_the_standard_alphabet_in_lines_of_76() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = Vec::new();
            let mut w = Base64::new(&mut out);
            w.write_all(input.as_bytes()).unwrap();
            w.finish();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
        let mut out = Vec::new();
        let mut w = Base64::new(&mut out);
        w.write_all(&[0u8; 120]).unwrap();
        w.finish();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines.iter().map(|l| l.len()).collect::<Vec<_>>(),
            [76, 76, 8]
        );
        assert!(text.replace("\r\n", "").bytes().all(|b| b == b'A'));
    }

    #[test]
    fn counting_and_writing_agree() {
        let text = "x = y\n".repeat(50);
        let mut count = Count::default();
        let mut w = QuotedPrintable::new(&mut count);
        w.write_str(&text).unwrap();
        w.finish();
        assert_eq!(count.0, qp(&text).len());
    }

    #[test]
    fn placeholders_are_replaced_in_order() {
        let skeleton = b"head @@ework-body-a-n1@@ mid @@ework-body-b-n1@@ tail";
        let mut out = Vec::new();
        assemble(
            skeleton,
            "n1",
            &["a", "b"],
            &mut out,
            |name, o: &mut Vec<u8>| o.put(name.to_uppercase().as_bytes()),
        )
        .unwrap();
        assert_eq!(out, b"head A mid B tail");
        assert!(assemble(skeleton, "n2", &["a"], &mut Vec::new(), |_, _| {}).is_err());
    }
}
