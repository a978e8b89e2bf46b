//! `GET /sessions/{id}` (turns, state) and `DELETE /sessions/{id}` (ends it, frees its memory).

use crate::server::error::ApiError;
use crate::server::input_body::check_session_id;
use crate::server::state::AppState;
use actix_web::{web, HttpResponse};

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
    if state.runtime.end_session(&id).await {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found(&id))
    }
}
