//! HTTP plumbing shared by the embedding client and the Chroma client: size-capped bodies,
//! retry timing, and URLs and bodies made safe to show (no credentials in errors or logs).

use std::time::Duration;

/// Attempts after the first for answers worth retrying (429, 5xx, connection failures).
pub(crate) const RETRIES: u32 = 3;
/// Longest a server's `Retry-After` is honoured, so a start does not wait for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Most characters of an error body quoted in an error message.
const EXCERPT_CHARS: usize = 300;

/// `url` without user info, query or fragment (where credentials hide), for errors and logs.
pub(crate) fn display_url(url: &str) -> String {
    woodwork_tools::shown::public_url(url).unwrap_or_else(|| "(an invalid URL)".to_owned())
}

/// Wait before retry number `attempt` (1-based): 250 ms doubling, or the server's `Retry-After`.
pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(d) = retry_after {
        return d.min(MAX_RETRY_AFTER);
    }
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(6))
}

/// The `Retry-After` header in seconds, if any.
pub(crate) fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// True for statuses that may succeed when asked again.
pub(crate) fn retryable_status(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Reads the body, failing once it passes `cap` bytes instead of buffering without end.
pub(crate) async fn read_body(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length() {
        if len > cap as u64 {
            return Err(format!(
                "the answer is {len} bytes, more than the {cap} allowed"
            ));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading the answer failed: {}", describe(e)))?
    {
        if body.len() + chunk.len() > cap {
            return Err(format!("the answer is more than the {cap} bytes allowed"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The start of an error body as text, with every secret replaced by `<redacted>`.
pub(crate) fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(*s, "<redacted>");
    }
    let text = text.trim();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A reqwest error as a short cause without the URL (the caller names the URL safely itself).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            display_url("https://u:p@host:1/v1?key=k#f"),
            "https://host:1/v1"
        );
        assert_eq!(display_url("not a url"), "(an invalid URL)");
    }

    #[test]
    fn excerpts_hide_secrets_and_stay_short() {
        let e = excerpt(b"bad key sk-12345 given", &["sk-12345"]);
        assert_eq!(e, "bad key <redacted> given");
        assert!(excerpt("x".repeat(1000).as_bytes(), &[]).chars().count() <= EXCERPT_CHARS + 1);
    }

    #[test]
    fn backoff_doubles_and_honours_retry_after_within_bounds() {
        assert_eq!(backoff(1, None), Duration::from_millis(250));
        assert_eq!(backoff(3, None), Duration::from_millis(1000));
        assert_eq!(backoff(1, Some(Duration::from_secs(600))), MAX_RETRY_AFTER);
    }
}
