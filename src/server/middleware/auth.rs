//! Optional bearer token guarding everything except `/livez` and `/readyz` (probes must work
//! without secrets). Compared in constant time; the token is never logged or echoed.

use crate::server::error::ApiError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
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

pub async fn auth(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let expected = req
        .app_data::<web::Data<AuthToken>>()
        .and_then(|t| t.0.clone());
    if let Some(expected) = expected {
        if !OPEN_PATHS.contains(&req.path()) {
            let value = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            if !authorized(value, &expected) {
                tracing::info!("rejected: missing or wrong bearer token");
                let res = ApiError::unauthorized().error_response();
                return Ok(req.into_response(res).map_into_right_body());
            }
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
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
