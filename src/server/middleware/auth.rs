//! Optional bearer token guarding everything except `/livez` and `/readyz` (probes must work
//! without secrets) and the dashboard's static files (`/ui`: no data in them; the page sends the
//! token on every API call it makes). Compared in constant time; the token is never logged or
//! echoed.

use crate::server::error::ApiError;
use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use actix_web::{web, HttpResponse, ResponseError};
use subtle::ConstantTimeEq;

/// The configured token (in app data); `None` = auth off.
pub struct AuthToken(pub Option<String>);

/// Paths open without a token.
const OPEN_PATHS: [&str; 2] = ["/livez", "/readyz"];

/// True when `Authorization` carries `Bearer <token>` equal to `expected`.
pub fn authorized(value: Option<&[u8]>, expected: &str) -> bool {
    let Some(v) = value else { return false };
    if v.len() < 7 || !v[..7].eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    let given = v[7..].trim_ascii();
    bool::from(given.ct_eq(expected.as_bytes()))
}

/// The 401 answer when auth is on and the request lacks the token (probe paths are open).
pub fn reject(req: &ServiceRequest) -> Option<HttpResponse> {
    let expected = req.app_data::<web::Data<AuthToken>>()?.0.as_deref()?;
    if OPEN_PATHS.contains(&req.path()) || crate::server::ui::is_asset(req.path()) {
        return None;
    }
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if authorized(value, expected) {
        return None;
    }
    tracing::info!("rejected: missing or wrong bearer token");
    // OpenAI SDKs read only OpenAI's error shape: the 401 on `/v1/*` is in it.
    if crate::server::routes::openai::is_openai_path(req.path()) {
        return Some(
            crate::server::routes::openai::errors::OpenAiError::unauthorized().error_response(),
        );
    }
    Some(ApiError::unauthorized().error_response())
}

#[cfg(test)]
mod tests {
    use super::authorized;

    #[test]
    fn bearer_token_checks() {
        assert!(authorized(Some(b"Bearer s3cret"), "s3cret"));
        assert!(authorized(Some(b"bearer s3cret"), "s3cret"));
        assert!(!authorized(Some(b"Bearer s3cre"), "s3cret"));
        assert!(!authorized(Some(b"Basic s3cret"), "s3cret"));
        assert!(!authorized(Some(b"Bearer"), "s3cret"));
        assert!(!authorized(None, "s3cret"));
    }
}
