//! `GET /dlq` (dead letters, newest last) and `POST /dlq/{id}/replay` (sends one again).

use crate::server::error::ApiError;
use crate::server::routes::input::Answer;
use crate::server::state::AppState;
use actix_web::{web, HttpResponse};

pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.runtime.dead_letters())
}

pub async fn replay(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if state.is_draining() {
        return Err(ApiError::shutting_down());
    }
    if !state.runtime.dead_letters().iter().any(|d| d.id == *id) {
        return Err(ApiError::not_found(
            "unknown_dead_letter",
            format!(
                "no dead letter '{}': GET /dlq lists them (a replayed letter leaves the queue)",
                crate::server::error::printable(&id)
            ),
        ));
    }
    let bound = state.limits.default_deadline + super::input::GRACE;
    match tokio::time::timeout(bound, state.runtime.replay(&id)).await {
        Err(_) => Err(ApiError::new(
            actix_web::http::StatusCode::GATEWAY_TIMEOUT,
            "deadline_exceeded",
            "the replayed message did not finish before the request deadline",
        )),
        Ok(Err(e)) => Err(ApiError::from(e)),
        Ok(Ok(resp)) => {
            let component = resp
                .outputs
                .first()
                .map(|o| o.component.clone())
                .unwrap_or_default();
            Ok(HttpResponse::Ok().json(Answer::of(&component, &resp)))
        }
    }
}
