//! JSON answers for what no route takes: 404 for unknown paths, 405 (with `Allow`) for a known path
//! asked with the wrong method.

use crate::server::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse, Resource};

/// A resource whose wrong-method requests get a JSON 405 naming `allow`.
pub fn resource(path: &'static str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(ApiError::method_not_allowed(
            req.method().as_str(),
            req.path(),
            allow,
        ))
    }))
}

/// The app's default service: no route matches the path.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::unknown_route(req.method().as_str(), req.path()))
}
