//! `GET /sessions` (the most recently active sessions), `GET /sessions/{id}` (turns, state) and
//! `DELETE /sessions/{id}` (ends it, frees its memory).
//!
//! The list is capped, not paged: `{total, sessions}` with at most `?limit=` sessions (default
//! 50, max 500), most recently active first. Sessions come and go by the second, so a cursor
//! would not name a stable position; the newest ones are what an operator (or `/ui`) looks at.

use crate::server::error::{printable, ApiError};
use crate::server::input_body::check_session_id;
use crate::server::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Sessions listed when the client names no `limit`.
const DEFAULT_LIST: usize = 50;
/// Largest `limit` a client may ask for.
const MAX_LIST: usize = 500;

/// The query of `GET /sessions`, read as text so a bad value gets a message naming it.
#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
}

/// `limit` of the query string, checked.
fn limit_of(query: &str) -> Result<usize, ApiError> {
    let bad = |m: String| ApiError::bad_request("bad_query", m);
    let q = web::Query::<ListQuery>::from_query(query).map_err(|e| {
        bad(format!(
            "bad query string: {e}; /sessions takes limit=1..={MAX_LIST}"
        ))
    })?;
    match q.limit.as_deref() {
        None => Ok(DEFAULT_LIST),
        Some(s) => s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIST).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "limit must be a whole number from 1 to {MAX_LIST}, not '{}'",
                    printable(s)
                ))
            }),
    }
}

/// `GET /sessions`: `{total, sessions: [{id, created_at, last_active, turns, busy, queued}]}`.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(req.query_string())?;
    let (total, sessions) = state.runtime.recent_sessions(limit);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "total": total, "sessions": sessions })))
}

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
    match state.runtime.find_session(&id).await {
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
