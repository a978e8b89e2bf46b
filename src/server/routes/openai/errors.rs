//! OpenAI's error shape for every `/v1/*` answer — `{"error": {"message", "type", "param",
//! "code"}}` — so OpenAI SDKs and chat UIs show our message instead of a parse failure. Status,
//! `Retry-After`, `Allow` and `WWW-Authenticate` are those of the server's own [`ApiError`].

use crate::server::error::{retry_after_secs, ApiError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An [`ApiError`] answered in OpenAI's shape, with the request field it is about (`param`).
#[derive(Debug, Clone)]
pub struct OpenAiError {
    pub api: ApiError,
    /// The request field at fault (`messages[1].content`), when there is one.
    pub param: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<&'a str>,
    code: &'a str,
}

impl OpenAiError {
    /// 400 `invalid_request_error` about the request field `param`.
    pub fn invalid(param: &str, code: &'static str, message: impl Into<String>) -> Self {
        OpenAiError {
            api: ApiError::bad_request(code, message),
            param: Some(param.to_string()),
        }
    }

    /// The 401 of the bearer-token check, as OpenAI words its code (`invalid_api_key`).
    pub fn unauthorized() -> Self {
        let mut api = ApiError::unauthorized();
        api.code = "invalid_api_key";
        api.message = format!(
            "{}; an OpenAI SDK sends its api_key as this token",
            api.message
        );
        OpenAiError { api, param: None }
    }

    /// OpenAI's error `type`: `invalid_request_error` for the client's mistakes (401 included, as
    /// OpenAI does), `server_error` for the rest.
    fn kind(&self) -> &'static str {
        if self.api.status.is_client_error() {
            "invalid_request_error"
        } else {
            "server_error"
        }
    }

    fn body(&self) -> Body<'_> {
        Body {
            error: Inner {
                message: &self.api.message,
                kind: self.kind(),
                param: self.param.as_deref(),
                code: self.api.code,
            },
        }
    }

    /// The body as one SSE `data:` frame, for a failure after a stream started.
    pub fn sse_frame(&self) -> bytes::Bytes {
        super::stream::data_frame(&self.body())
    }
}

impl From<ApiError> for OpenAiError {
    fn from(api: ApiError) -> Self {
        OpenAiError { api, param: None }
    }
}

impl From<woodwork_runtime::RuntimeError> for OpenAiError {
    fn from(e: woodwork_runtime::RuntimeError) -> Self {
        ApiError::from(e).into()
    }
}

impl fmt::Display for OpenAiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.api.fmt(f)
    }
}

impl ResponseError for OpenAiError {
    fn status_code(&self) -> StatusCode {
        self.api.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.api.status);
        if let Some(d) = self.api.retry_after {
            res.insert_header((header::RETRY_AFTER, retry_after_secs(d).to_string()));
        }
        if let Some(allow) = &self.api.allow {
            if let Ok(v) = HeaderValue::from_str(allow) {
                res.insert_header((header::ALLOW, v));
            }
        }
        if self.api.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn shape_status_and_headers() {
        let e = OpenAiError::invalid("messages", "missing_messages", "no messages");
        let v = serde_json::to_value(e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"message": "no messages", "type": "invalid_request_error",
                "param": "messages", "code": "missing_messages"}})
        );
        let busy: OpenAiError = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "x")
            .with_retry_after(Duration::from_millis(1500))
            .into();
        let res = busy.error_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "2");
        assert_eq!(busy.kind(), "server_error");
        let auth = OpenAiError::unauthorized().error_response();
        assert_eq!(auth.status(), 401);
        assert_eq!(
            auth.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
    }
}
