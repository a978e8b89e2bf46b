//! The answers actix-http gives by itself, before any handler runs — 400 for a request line or
//! header it cannot parse (HTTP/0.9, garbage, a URI over 64 KiB), 431 for a request head over its
//! buffer, 408 for a head that did not arrive in time, 500 for a framing fault — have no body and
//! no hook to give them one. [`JsonErrors`] wraps each connection and rewrites those answers, as
//! they are written, into the JSON error shape of DESIGN.md §5, so a client sees one error format
//! whatever layer refused its request.
//!
//! How they are told apart from the app's own answers: actix-http writes them with no header but
//! `content-length: 0`, `connection` and `date`, as the last bytes of the connection (it closes
//! after them). Every answer of the app carries `content-type` or `x-request-id` (the middleware
//! sets it), and no JSON, SSE or metrics body holds a raw CR LF CR LF, so a write that ends with
//! such a bare head *is* one of actix-http's own.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a client may take to send its request line and headers (actix-http's own timer; its
/// 408 is rewritten here, so the message names it).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest bare head actix-http writes: `HTTP/1.1 431 Request Header Fields Too Large` (44) +
/// `content-length: 0` (17) + `connection: close` (17) + a 29-character date line, with CR LFs.
const MAX_BARE_HEAD: usize = 160;

/// A connection whose bare actix-http error answers leave as JSON.
pub struct JsonErrors<T> {
    io: T,
    /// A rewritten answer being written, and how many of the caller's bytes it stands for.
    rewrite: Option<Rewrite>,
}

struct Rewrite {
    bytes: Vec<u8>,
    sent: usize,
    replaces: usize,
}

impl<T> JsonErrors<T> {
    pub fn new(io: T) -> Self {
        JsonErrors { io, rewrite: None }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes what is left of the rewritten answer.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(r) = &mut self.rewrite {
            while r.sent < r.bytes.len() {
                match ready!(Pin::new(&mut self.io).poll_write(cx, &r.bytes[r.sent..]))? {
                    0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    n => r.sent += n,
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewrite.is_none() {
            match bare_error_at(buf) {
                None => return Pin::new(&mut this.io).poll_write(cx, buf),
                // Whatever precedes the bare head (pipelined answers) goes out as it is first.
                Some((start, _)) if start > 0 => {
                    return Pin::new(&mut this.io).poll_write(cx, &buf[..start])
                }
                Some((_, status)) => {
                    this.rewrite = Some(Rewrite {
                        bytes: json_answer(status, buf),
                        sent: 0,
                        replaces: buf.len(),
                    })
                }
            }
        }
        // Only once the whole JSON answer is out are the caller's bytes reported written: actix
        // closes the connection as soon as its buffer is empty.
        ready!(this.poll_rewrite(cx))?;
        let replaces = this.rewrite.take().map_or(0, |r| r.replaces);
        Poll::Ready(Ok(replaces.min(buf.len())))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewrite(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewrite(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Where a bare error head (see the module doc) starts in `buf`, and its status, when `buf` ends
/// with one. Costs four byte compares for every write that does not end a head.
fn bare_error_at(buf: &[u8]) -> Option<(usize, u16)> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let from = buf.len().saturating_sub(MAX_BARE_HEAD);
    (from..buf.len())
        .rev()
        .filter(|&i| buf[i..].starts_with(b"HTTP/1."))
        .find_map(|i| bare_status(&buf[i..]).map(|s| (i, s)))
}

/// The status of `head` if it is exactly a bare error head: a status line of 400 or more, then
/// only `content-length: 0`, `connection` and `date` lines, then the blank line.
fn bare_status(head: &[u8]) -> Option<u16> {
    let rest = head.strip_prefix(b"HTTP/1.")?;
    let (version, rest) = rest.split_first()?;
    if !matches!(version, b'0' | b'1') || rest.first() != Some(&b' ') {
        return None;
    }
    let code = rest.get(1..4)?;
    if !code.iter().all(u8::is_ascii_digit) || rest.get(4) != Some(&b' ') {
        return None;
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let mut lines = rest[5..].split(|b| *b == b'\n');
    let reason = lines.next()?;
    if reason.last() != Some(&b'\r') || reason.iter().any(|b| b.is_ascii_control() && *b != b'\r') {
        return None;
    }
    let mut empty_body = false;
    for line in lines {
        let line = line.strip_suffix(b"\r")?;
        match line {
            b"" => return (status >= 400 && empty_body).then_some(status),
            b"content-length: 0" => empty_body = true,
            b"connection: close" | b"connection: keep-alive" => {}
            l if l.starts_with(b"date: ") && l.len() <= 40 => {}
            _ => return None,
        }
    }
    None
}

/// The JSON answer standing for the bare head `buf` ends with (its `date` line kept). The
/// connection closes after it, as it did after the bare one.
fn json_answer(status: u16, buf: &[u8]) -> Vec<u8> {
    let (code, message) = explain(status);
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let reason = actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let date = buf.windows(6).rposition(|w| w == b"\ndate:").and_then(|i| {
        let line = &buf[i + 1..];
        line.windows(2)
            .position(|w| w == b"\r\n")
            .map(|end| &line[..end + 2])
    });
    let mut out = Vec::with_capacity(body.len() + 160);
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n",
            body.len()
        )
        .as_bytes(),
    );
    if let Some(date) = date {
        out.extend_from_slice(date);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

/// Code and message of each answer actix-http gives by itself.
fn explain(status: u16) -> (&'static str, String) {
    match status {
        400 => (
            "malformed_request",
            "the request is not valid HTTP/1.1 and could not be read: send `METHOD /path HTTP/1.1`, \
             header lines, then a blank line (HTTP/0.9 request lines, malformed headers and \
             request targets over 64 KiB are refused)"
                .to_string(),
        ),
        431 => (
            "request_head_too_large",
            "the request line and headers are larger than the server accepts (32 KiB in all, at \
             most 96 headers): send a shorter path or fewer, shorter headers"
                .to_string(),
        ),
        408 => (
            "request_head_timeout",
            format!(
                "the request line and headers did not arrive within {} s: send the whole request \
                 head at once",
                HEAD_TIMEOUT.as_secs()
            ),
        ),
        500 => (
            "internal_error",
            "the server could not process this request and closed the connection: retry it"
                .to_string(),
        ),
        s => (
            "http_error",
            format!("the server refused this request at the HTTP layer (status {s})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Tue, 01 Dec 2026 22:49:29 GMT\r\n";

    #[test]
    fn finds_bare_heads_alone_and_after_a_pipelined_answer() {
        let bare = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n{DATE}\r\n"
        );
        assert_eq!(bare_error_at(bare.as_bytes()), Some((0, 400)));
        let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\nx-request-id: a\r\n\r\n{}";
        let both = format!(
            "{ok}HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n{DATE}\r\n"
        );
        assert_eq!(bare_error_at(both.as_bytes()), Some((ok.len(), 431)));
    }

    #[test]
    fn leaves_the_apps_answers_alone() {
        for head in [
            format!("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-request-id: a\r\n{DATE}\r\n"),
            format!("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n{DATE}\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n{DATE}\r\n"),
            "0\r\n\r\n".to_string(),
            "{\"a\":1}".to_string(),
        ] {
            assert_eq!(bare_error_at(head.as_bytes()), None, "{head:?}");
        }
    }

    #[test]
    fn rewritten_answer_is_framed_json_with_the_date() {
        let bare = format!("HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n{DATE}\r\n");
        let out = String::from_utf8(json_answer(408, bare.as_bytes())).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{head}"
        );
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(head.contains(DATE.trim_end()), "{head}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "request_head_timeout");
    }
}
