//! A stdio server's stderr: forwarded to our log (capped per line, rate-limited, secrets scrubbed)
//! and its last lines kept, so a start error can say why the server died ("ModuleNotFoundError").
//! It never reaches observations.

use super::redact::Redactor;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Longest stderr line kept; the rest of a longer line is dropped.
const MAX_LINE: usize = 2048;
/// Lines kept for start errors.
const TAIL_LINES: usize = 8;
/// Lines forwarded per second (after a burst of `BURST`); the rest are counted and dropped.
const LINES_PER_SEC: f64 = 20.0;
const BURST: f64 = 200.0;

/// The last few stderr lines of the current server process.
#[derive(Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    fn push(&self, line: String) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == TAIL_LINES {
            q.pop_front();
        }
        q.push_back(line);
    }

    /// `; its stderr ended with: a | b` or nothing when it printed nothing.
    pub(crate) fn summary(&self) -> String {
        let q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if q.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = q
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        format!("; its stderr ended with: {}", lines.join(" | "))
    }
}

/// Reads the server's stderr until it closes.
pub(crate) async fn pump(
    stderr: impl AsyncRead + Unpin,
    component: String,
    redactor: Redactor,
    tail: StderrTail,
) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::with_capacity(256);
    let mut bucket = Bucket::new();
    loop {
        line.clear();
        match read_capped_line(&mut reader, &mut line, MAX_LINE).await {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                tracing::debug!(component = %component, error = %e, "reading MCP server stderr");
                break;
            }
        }
        let text = redactor.apply(String::from_utf8_lossy(&line).trim_end());
        if bucket.take() {
            if bucket.dropped > 0 {
                tracing::info!(component = %component, dropped = bucket.dropped, "MCP server stderr: lines dropped (rate limit)");
                bucket.dropped = 0;
            }
            tracing::info!(component = %component, "MCP server stderr: {text}");
        } else {
            bucket.dropped += 1;
        }
        tail.push(text);
    }
}

/// Reads one line into `buf` keeping at most `max` bytes of it (the rest up to the newline is
/// skipped). `Ok(false)` at end of stream.
pub(crate) async fn read_capped_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<bool> {
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(read_any);
        }
        read_any = true;
        let newline = available.iter().position(|b| *b == b'\n');
        let take = newline.map_or(available.len(), |i| i + 1);
        let room = max.saturating_sub(buf.len());
        buf.extend_from_slice(&available[..take.min(room)]);
        reader.consume(take);
        if newline.is_some() {
            return Ok(true);
        }
    }
}

/// Token bucket for forwarded lines.
struct Bucket {
    tokens: f64,
    last: Instant,
    dropped: u64,
}

impl Bucket {
    fn new() -> Self {
        Bucket {
            tokens: BURST,
            last: Instant::now(),
            dropped: 0,
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * LINES_PER_SEC;
        self.tokens = (self.tokens + refill).min(BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_the_tail_keeps_the_last_lines() {
        let mut input = Vec::new();
        input.extend_from_slice(&vec![b'x'; 5000]);
        input.push(b'\n');
        for i in 0..20 {
            input.extend_from_slice(format!("line {i} secret-value\n").as_bytes());
        }
        let tail = StderrTail::default();
        pump(
            &input[..],
            "c".into(),
            Redactor::new(vec!["secret-value".into()]),
            tail.clone(),
        )
        .await;
        let s = tail.summary();
        assert!(s.contains("line 19 ***") && !s.contains("line 11 "), "{s}");
        assert!(!s.contains("secret-value"));

        let mut r = BufReader::new(&input[..]);
        let mut buf = Vec::new();
        assert!(read_capped_line(&mut r, &mut buf, 100).await.unwrap());
        assert_eq!(buf.len(), 100);
        buf.clear();
        assert!(read_capped_line(&mut r, &mut buf, 100).await.unwrap());
        assert_eq!(buf, b"line 0 secret-value\n");
    }
}
