//! `GET /components` and `GET /components/{name}`: what runs, its state, breaker and counters.
//! The runtime's status types carry no secret values.

use crate::server::error::ApiError;
use crate::server::state::AppState;
use actix_web::{web, HttpResponse};

pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.runtime.components())
}

pub async fn one(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    match state.runtime.component(&name) {
        Some(c) => Ok(HttpResponse::Ok().json(c)),
        None => Err(unknown_component(&state, &name)),
    }
}

/// 404 naming the components that do exist.
pub fn unknown_component(state: &AppState, name: &str) -> ApiError {
    let known = state.runtime.router().known();
    ApiError::not_found(
        "unknown_component",
        format!(
            "no component named '{}': known components are {}",
            crate::server::error::printable(name),
            known.join(", ")
        ),
    )
}
