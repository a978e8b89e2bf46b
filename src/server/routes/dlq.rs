//! `GET /dlq` (dead letters, oldest first, in pages) and `POST /dlq/{id}/replay` (sends one again).
//!
//! A page is a JSON array of letters (at most `?limit=`, default 100, max 1000) after the cursor
//! `?after=<seq>`; `X-Total-Count` says how many letters the queue holds and `Link: <…>;
//! rel="next"` where the next page is (absent on the last). Paging keeps one answer small however
//! large the queue is, and the cursor is a letter's `seq`, so letters replayed or dropped while a
//! client pages do not make it skip or repeat any.

use crate::server::error::{printable, ApiError};
use crate::server::routes::input::Answer;
use crate::server::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Letters per page when the client names no `limit`.
const DEFAULT_PAGE: usize = 100;
/// Largest `limit` a client may ask for.
const MAX_PAGE: usize = 1000;

/// The query of `GET /dlq`, read as text so a bad value gets a message naming it.
#[derive(Deserialize)]
struct PageQuery {
    limit: Option<String>,
    after: Option<String>,
}

fn bad_query(message: String) -> ApiError {
    ApiError::bad_request("bad_query", message)
}

/// `limit` and `after` of the query string, checked.
fn page_of(query: &str) -> Result<(usize, Option<u64>), ApiError> {
    let q = web::Query::<PageQuery>::from_query(query).map_err(|e| {
        bad_query(format!(
            "bad query string: {e}; /dlq takes limit=1..={MAX_PAGE} and after=<seq>"
        ))
    })?;
    let limit = match q.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(s) => s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                bad_query(format!(
                    "limit must be a whole number from 1 to {MAX_PAGE}, not '{}'",
                    printable(s)
                ))
            })?,
    };
    let after = match q.after.as_deref() {
        None => None,
        Some(s) => Some(s.trim().parse::<u64>().map_err(|_| {
            bad_query(format!(
                "after must be the `seq` of a dead letter (a whole number), not '{}'",
                printable(s)
            ))
        })?),
    };
    Ok((limit, after))
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (limit, after) = page_of(req.query_string())?;
    let page = state.runtime.dead_letter_page(after, limit);
    let mut res = HttpResponse::Ok();
    res.insert_header(("x-total-count", page.total.to_string()));
    if let Some(next) = page.next_after {
        res.insert_header((
            "link",
            format!("</dlq?after={next}&limit={limit}>; rel=\"next\""),
        ));
    }
    Ok(res.json(page.letters))
}

pub async fn replay(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if state.is_draining() {
        return Err(ApiError::shutting_down());
    }
    if state.runtime.dead_letter(&id).is_none() {
        return Err(ApiError::not_found(
            "unknown_dead_letter",
            format!(
                "no dead letter '{}': GET /dlq lists them (a replayed letter leaves the queue)",
                printable(&id)
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
