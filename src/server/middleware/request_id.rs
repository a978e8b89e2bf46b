//! Gives every request an id (a sane incoming `X-Request-Id`, else a new UUID), runs it inside a
//! tracing span carrying that id (so every log line of the request has it), logs one line when it
//! finishes, and returns the id in `X-Request-Id`.

use crate::server::error::printable;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use std::time::Duration;

/// The request's id, in request extensions for handlers (passed on as the runtime trace id).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// An incoming id is kept when it is 1–64 characters of `A-Z a-z 0-9 - _ .`.
pub fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The client's id when it is sane, else a fresh UUID.
pub fn incoming_or_new(req: &ServiceRequest) -> String {
    req.headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_sane(s))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The span every log line of the request is written in.
pub fn span(id: &str, req: &ServiceRequest) -> tracing::Span {
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %Printable(req.path()),
    )
}

/// The access-log line (inside the request's span).
pub fn finished(status: u16, elapsed: Duration) {
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(status, elapsed_ms, "request finished");
    } else {
        tracing::info!(status, elapsed_ms, "request finished");
    }
}

/// `X-Request-Id` on the response (the id is sane or a UUID, so always a valid header value).
pub fn set_header<B>(res: &mut ServiceResponse<B>, id: &str) {
    if let Ok(v) = HeaderValue::from_str(id) {
        res.headers_mut().insert(HEADER, v);
    }
}

/// Formats a client's path as [`printable`] would, without building the string unless a
/// subscriber records the field (a disabled span costs nothing).
struct Printable<'a>(&'a str);

impl std::fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.0;
        if p.len() <= 200 && !p.chars().any(char::is_control) {
            f.write_str(p)
        } else {
            f.write_str(&printable(p))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sane_ids() {
        assert!(super::is_sane("abc-123_x.y"));
        assert!(!super::is_sane(""));
        assert!(!super::is_sane("a b"));
        assert!(!super::is_sane(&"a".repeat(65)));
        assert!(!super::is_sane("a\u{e9}"));
    }

    #[test]
    fn paths_in_logs_are_printable() {
        assert_eq!(super::Printable("/in/input").to_string(), "/in/input");
        assert_eq!(super::Printable("/a\nb").to_string(), "/a?b");
        assert_eq!(
            super::Printable(&"x".repeat(300))
                .to_string()
                .chars()
                .count(),
            201
        );
    }
}
