//! Gives every request an id (a sane incoming `X-Request-Id`, else a new UUID), runs it inside a
//! tracing span carrying that id (so every log line of the request has it), logs one line when it
//! finishes, and returns the id in `X-Request-Id`.

use crate::server::error::printable;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;
use tracing::Instrument;

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

pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_sane(s))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %printable(req.path()),
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let start = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            if status >= 500 {
                tracing::warn!(status, elapsed_ms, "request finished");
            } else {
                tracing::info!(status, elapsed_ms, "request finished");
            }
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(HEADER, v);
            }
            Ok(res)
        }
        Err(e) => {
            tracing::warn!(elapsed_ms, error = %e, "request failed");
            Err(e)
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
}
