//! The error shape of an `input api` port: woodwork's `{"error": "<message>"}` (what its clients
//! read), plus a machine-readable `code`. Statuses, messages and `Retry-After` are the main
//! server's ([`ApiError`]), so one failure reads the same on both ports.

use crate::server::error::{retry_after_secs, ApiError};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    code: &'a str,
}

/// A JSON error answer `{"error": message, "code": code}`.
pub fn flat(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(Body {
        error: message,
        code,
    })
}

/// An error a handler of the input api returns (any [`ApiError`] converts into it).
#[derive(Debug)]
pub struct InputApiError(pub ApiError);

impl From<ApiError> for InputApiError {
    fn from(e: ApiError) -> Self {
        InputApiError(e)
    }
}

impl From<woodwork_runtime::RuntimeError> for InputApiError {
    fn from(e: woodwork_runtime::RuntimeError) -> Self {
        InputApiError(e.into())
    }
}

impl fmt::Display for InputApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl ResponseError for InputApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let e = &self.0;
        let mut res = flat(e.status, e.code, &e.message);
        if let Some(d) = e.retry_after {
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs(d).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if let Some(allow) = e.allow.as_deref() {
            if let Ok(v) = header::HeaderValue::from_str(allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
        }
        if e.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}
