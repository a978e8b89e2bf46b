//! `GET /sessions/{id}` (turns, state) and `DELETE /sessions/{id}` (ends it, frees its memory).

use crate::server::error::ApiError;
use crate::server::input_body::check_session_id;
use crate::server::state::AppState;
use actix_web::{web, HttpResponse};

/// Upper bound on waiting for the session manager to end a session.
const END_SESSION_BOUND: std::time::Duration = std::time::Duration::from_secs(10);

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "unknown_session",
        format!("no session '{id}': it never existed, was ended, or expired after its idle TTL"),
    )
}

pub async fn get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_session_id(&id, "the session id in the path")?;
    match state.runtime.session(&id) {
        Some(info) => Ok(HttpResponse::Ok().json(info)),
        None => Err(not_found(&id)),
    }
}

pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_session_id(&id, "the session id in the path")?;
    // Ending a session waits for the session manager; bounded like every other wait.
    match tokio::time::timeout(END_SESSION_BOUND, state.runtime.end_session(&id)).await {
        Ok(true) => Ok(HttpResponse::NoContent().finish()),
        Ok(false) => Err(not_found(&id)),
        Err(_) => Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the session manager did not answer in time: retry",
        )
        .with_retry_after(std::time::Duration::from_secs(1))),
    }
}
