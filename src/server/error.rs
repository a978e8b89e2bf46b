//! The one error shape every endpoint answers with (DESIGN.md §5): `{"error": {"code", "message"}}`,
//! with the HTTP status, and `Retry-After` / `Allow` headers where they tell the client what to do.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;
use std::time::Duration;
use woodwork_runtime::error::CancelReason;
use woodwork_runtime::RuntimeError;

/// An error answered to an HTTP client. `message` must say what to fix and never carry a secret.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, at least 1) on 503s.
    pub retry_after: Option<Duration>,
    /// Sent as `Allow` on 405s.
    pub allow: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 404 for a path no route matches.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        Self::not_found(
            "not_found",
            format!(
                "no route for {method} {}: see GET /components for the components and \
                 POST /{{component}}/input to send input",
                printable(path)
            ),
        )
    }

    /// 405 for a known path asked with the wrong method; `allow` lists the methods it takes.
    pub fn method_not_allowed(method: &str, path: &str, allow: &str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{method} is not allowed on {}: use {allow}",
                printable(path)
            ),
        );
        e.allow = Some(allow.to_string());
        e
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "request body is larger than the {limit}-byte limit: send less, or start the \
                 server with a larger --max-body"
            ),
        )
    }

    pub fn body_timeout(limit: Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the request body did not arrive within {} s: send the whole body at once \
                 (the server's --body-timeout)",
                limit.as_secs()
            ),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token: send `Authorization: Bearer <token>` with the token \
             the server was started with (--auth-token / WOODWORK_AUTH_TOKEN)",
        )
    }

    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down and takes no new work: retry against another instance",
        )
        .with_retry_after(Duration::from_secs(1))
    }

    pub fn with_retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d);
        self
    }

    /// The JSON body, for places (SSE `error` events) that need it without a response.
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

/// Paths come from the client: keep them short and printable in messages and logs.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    out
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(d) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, retry_after_secs(d).to_string()));
        }
        if let Some(allow) = &self.allow {
            if let Ok(v) = HeaderValue::from_str(allow) {
                res.insert_header((header::ALLOW, v));
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        })
    }
}

/// Whole seconds, rounded up, at least 1 (HTTP `Retry-After` has no fractions).
pub fn retry_after_secs(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

/// 499 "client closed request" (nginx's code; HTTP has none for a caller that went away).
fn client_closed_request() -> StatusCode {
    StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST)
}

/// `d` rounded up to whole seconds (at least 1), the only waits `Retry-After` can say.
fn whole_secs(d: Duration) -> Duration {
    Duration::from_secs(retry_after_secs(d))
}

impl From<RuntimeError> for ApiError {
    fn from(e: RuntimeError) -> Self {
        // The wait is rounded once, before the message is written: the message prints the error's
        // own seconds, the header prints `retry_after_secs` of it, and both then say one number
        // (a breaker 59.4 s from half-open said "retry after 59s" beside `Retry-After: 60`).
        let e = match e {
            RuntimeError::Overloaded { retry_after } => RuntimeError::Overloaded {
                retry_after: whole_secs(retry_after),
            },
            RuntimeError::Unavailable {
                component,
                retry_after,
            } => RuntimeError::Unavailable {
                component,
                retry_after: whole_secs(retry_after),
            },
            e => e,
        };
        let mut message = e.to_string();
        if matches!(e, RuntimeError::DeadlineExceeded { .. }) {
            message.push_str(
                ": raise deadline_ms (up to the server's --max-request-timeout) or the \
                 component's timeout",
            );
        }
        let retry_after = e.retry_after();
        let code = e.code();
        let status = match &e {
            RuntimeError::UnknownComponent { .. } => StatusCode::NOT_FOUND,
            RuntimeError::SessionBusy { .. } => StatusCode::CONFLICT,
            RuntimeError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RuntimeError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RuntimeError::Unreachable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            RuntimeError::DeadlineExceeded { .. } => StatusCode::GATEWAY_TIMEOUT,
            // The pipeline ran and a component failed: the server is a gateway to it.
            RuntimeError::ComponentFailed { .. } => StatusCode::BAD_GATEWAY,
            RuntimeError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            // The session the turn belonged to is gone: a conflict with the resource's state
            // (retrying in a new session can work), not a failure of any component.
            RuntimeError::Cancelled(CancelReason::SessionEnded { .. }) => StatusCode::CONFLICT,
            // Nobody reads this answer (the caller left); 499 is what proxies log for it.
            RuntimeError::Cancelled(CancelReason::Caller) => client_closed_request(),
            RuntimeError::Invalid(_) => StatusCode::BAD_REQUEST,
            RuntimeError::Start(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let retry_after = match (&e, retry_after) {
            (_, Some(d)) => Some(d),
            (RuntimeError::ShuttingDown, None) | (RuntimeError::Overloaded { .. }, None) => {
                Some(Duration::from_secs(1))
            }
            _ => None,
        };
        ApiError {
            status,
            code,
            message,
            retry_after,
            allow: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_header_and_message_say_one_number() {
        for wait in [
            Duration::from_millis(59_400),
            Duration::from_millis(200),
            Duration::from_secs(3),
        ] {
            let e = ApiError::from(RuntimeError::Unavailable {
                component: "model".into(),
                retry_after: wait,
            });
            let secs = retry_after_secs(e.retry_after.unwrap());
            assert!(
                e.message.contains(&format!("retry after {secs}s")),
                "{wait:?}: header {secs}, message {}",
                e.message
            );
        }
    }

    #[test]
    fn a_cancelled_turn_is_not_a_component_failure() {
        let ended = ApiError::from(RuntimeError::Cancelled(CancelReason::SessionEnded {
            session_id: "s".into(),
            component: "in".into(),
        }));
        assert_eq!(ended.status, StatusCode::CONFLICT);
        assert_eq!(ended.code, "session_ended");
        assert!(
            ended.message.contains("session `s` was ended"),
            "{}",
            ended.message
        );
        assert_eq!(ended.retry_after, None);
        let gone = ApiError::from(RuntimeError::Cancelled(CancelReason::Caller));
        assert_eq!(gone.status.as_u16(), 499);
        assert_eq!(gone.code, "cancelled");
    }
}
