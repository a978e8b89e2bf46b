//! `POST /v1/chat/completions`: runs the pipeline of the component named by `model` on the last
//! user message, through the same runtime as `POST /{component}/input`, and answers a
//! `chat.completion` (or its chunks with `stream: true`). The session is the one `user` or the
//! `X-Session-Id` header names (a new one per request without either), and is returned in
//! `X-Session-Id`; the request's earlier messages are not replayed into it: the session's own
//! memory is the conversation (a client resending history would otherwise double it every turn).

use super::errors::OpenAiError;
use super::request::{self, ChatRequest};
use super::stream::{ChunkBody, Meta};
use super::wire::{Completion, Usage};
use crate::server::error::ApiError;
use crate::server::input_body;
use crate::server::middleware::request_id::RequestId;
use crate::server::routes::input::GRACE;
use crate::server::state::AppState;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::ResponseError;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use std::time::{SystemTime, UNIX_EPOCH};
use woodwork_runtime::InputRequest;

/// The response header naming the session the turn ran in (reuse it, or `user`, to continue).
const SESSION_HEADER: &str = "x-session-id";

pub async fn completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OpenAiError> {
    complete(req, payload, &state).await
}

/// `POST /v1/chat/completions` answered from the middleware, like `POST /{c}/input`: the
/// route table's walk and the extractors cost about a tenth of this route's throughput.
pub async fn fast_path(req: ServiceRequest) -> Result<ServiceResponse, ServiceRequest> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(req);
    };
    let (http, payload) = req.into_parts();
    let res = complete(http.clone(), payload, &state)
        .await
        .unwrap_or_else(|e| e.error_response());
    Ok(ServiceResponse::new(http, res))
}

async fn complete<P>(
    req: HttpRequest,
    payload: P,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, OpenAiError>
where
    P: futures_util::Stream<Item = Result<bytes::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    if state.is_draining() {
        return Err(ApiError::shutting_down().into());
    }
    let header_session = input_body::header_session_id(&req)?;
    let body = input_body::read_bounded(
        &req,
        payload,
        state.limits.max_body,
        state.limits.body_timeout,
    )
    .await?;
    let chat = request::parse(&body)?;
    let known = state
        .runtime
        .router()
        .lookup(&chat.model)
        .is_some_and(|c| super::models::is_model(c.spec.kind));
    if !known {
        return Err(super::models::not_found(&state.runtime, &chat.model));
    }
    let session_id = match (chat.user.clone(), header_session) {
        (Some(u), Some(h)) if u != h => {
            return Err(OpenAiError::invalid(
                "user",
                "conflicting_session_id",
                "`user` and the X-Session-Id header name different sessions: send one of them",
            ))
        }
        (u, h) => u.or(h),
    };
    let deadline = state.limits.default_deadline.min(state.limits.max_deadline);
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let id = format!(
        "chatcmpl-{}",
        request_id
            .as_deref()
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
    );
    tracing::debug!(
        model = %chat.model,
        session_id = session_id.as_deref().unwrap_or("(new)"),
        stream = chat.stream,
        "chat completion accepted"
    );
    let ChatRequest {
        model,
        input,
        stream,
        include_usage,
        ..
    } = chat;
    let request = InputRequest {
        component: model.clone(),
        input: serde_json::Value::String(input.clone()),
        inputs: serde_json::Map::new(),
        session_id: session_id.clone(),
        deadline: Some(deadline),
        trace_id: request_id,
    };
    let created = unix_now();
    if stream {
        // An open breaker is a 503 + Retry-After before the stream's 200, as on the input route.
        crate::server::admission::check(&state.runtime, &model)?;
        let events = state.runtime.send_stream(request).await?;
        let until = tokio::time::Instant::now() + deadline + GRACE;
        let meta = Meta {
            id,
            model,
            created,
            include_usage,
            prompt: input,
        };
        let mut res = HttpResponse::Ok();
        res.content_type("text/event-stream")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header(("X-Accel-Buffering", "no"));
        if let Some(s) = &session_id {
            res.insert_header((SESSION_HEADER, s.as_str()));
        }
        return Ok(res.streaming(ChunkBody::new(events, meta, until)));
    }
    // The runtime bounds the turn by `deadline` (504 past it). A client that goes away first makes
    // the server drop this future, which cancels the turn and its model call.
    let gone = GoneBeforeAnswer(true);
    let result = state.runtime.send(request).await;
    gone.disarm();
    let resp = result?;
    let text = resp.text().unwrap_or_default();
    let usage = Usage::estimate(&input, &text);
    Ok(HttpResponse::Ok()
        .insert_header((SESSION_HEADER, resp.session_id.as_str()))
        .json(Completion::new(&id, created, &model, &text, usage)))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Logs a client that went away before its (non-streamed) answer: the turn is cancelled.
struct GoneBeforeAnswer(bool);

impl GoneBeforeAnswer {
    fn disarm(mut self) {
        self.0 = false;
    }
}

impl Drop for GoneBeforeAnswer {
    fn drop(&mut self) {
        if self.0 {
            tracing::info!("client went away before the answer; cancelling the turn");
        }
    }
}
