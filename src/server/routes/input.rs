//! `POST /{component}/input`: runs the pipeline from that component and answers
//! `{session_id, output, component}` (plus `outputs` when it fans out), or SSE when asked for.

use crate::server::error::ApiError;
use crate::server::input_body::{self, ParsedInput};
use crate::server::middleware::request_id::RequestId;
use crate::server::routes::components::unknown_component;
use crate::server::sse::SseBody;
use crate::server::state::AppState;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use woodwork_runtime::{InputRequest, InputResponse};

/// Added to a request's deadline before the server gives up on the runtime itself: the runtime
/// answers 504 at the deadline; this only guards against a turn that never ends.
pub const GRACE: Duration = Duration::from_secs(2);

/// `?stream=true|false`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputQuery {
    #[serde(default)]
    stream: Option<bool>,
}

/// The routed handler (paths the fast path below leaves to the router).
pub async fn post_input(
    req: HttpRequest,
    component: web::Path<String>,
    query: web::Query<InputQuery>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    handle(req, component.into_inner(), &query, payload, &state).await
}

/// `POST /{component}/input` answered without the router, from the middleware: the route's
/// pattern is a regex that actix runs for every request (2% of a loaded server's CPU), while
/// this path is recognised by a string test ([`super::pattern_of`]). A path with `%` escapes is
/// handed back (`Err`) to go through the router, which decodes it.
pub async fn fast_path(req: ServiceRequest) -> Result<ServiceResponse, ServiceRequest> {
    let Some(component) = super::input_component(req.path())
        .filter(|c| !c.contains('%'))
        .map(str::to_owned)
    else {
        return Err(req);
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(req);
    };
    let (http, payload) = req.into_parts();
    let result = match web::Query::<InputQuery>::from_query(http.query_string()) {
        Ok(query) => handle(http.clone(), component, &query, payload, &state).await,
        Err(e) => Err(crate::server::extractor_errors::bad_query(&e)),
    };
    let res = result.unwrap_or_else(|e| e.error_response());
    Ok(ServiceResponse::new(http, res))
}

async fn handle<P>(
    req: HttpRequest,
    component: String,
    query: &InputQuery,
    payload: P,
    state: &AppState,
) -> Result<HttpResponse, ApiError>
where
    P: futures_util::Stream<Item = Result<bytes::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    if state.is_draining() {
        return Err(ApiError::shutting_down());
    }
    // A name lookup (no status snapshot): this runs on every request.
    if state.runtime.router().lookup(&component).is_none() {
        return Err(unknown_component(state, &component));
    }
    let header_session = input_body::header_session_id(&req)?;
    let body = input_body::read_bounded(
        &req,
        payload,
        state.limits.max_body,
        state.limits.body_timeout,
    )
    .await?;
    let parsed = input_body::parse(&req, &body, header_session)?;
    let stream = query.stream.unwrap_or(false) || parsed.stream || accepts_sse(&req);
    let deadline = parsed
        .deadline
        .unwrap_or(state.limits.default_deadline)
        .min(state.limits.max_deadline);
    tracing::debug!(
        component = %component,
        session_id = parsed.session_id.as_deref().unwrap_or("(new)"),
        stream,
        deadline_ms = deadline.as_millis() as u64,
        "input accepted"
    );
    let trace_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let request = build_request(&component, parsed, deadline, trace_id);
    if stream {
        // An open breaker is a 503 + Retry-After before the stream's 200, as without a stream.
        crate::server::admission::check(&state.runtime, &component)?;
        let events = state.runtime.send_stream(request).await?;
        let until = tokio::time::Instant::now() + deadline + GRACE;
        return Ok(HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header(("X-Accel-Buffering", "no"))
            .streaming(SseBody::new(events, component, until)));
    }
    // The runtime bounds the turn by `deadline` itself (504 past it): no second timer here.
    // A client that goes away first makes the server drop this future, which cancels the turn.
    let gone = GoneBeforeAnswer(Some(&component));
    let result = state.runtime.send(request).await;
    gone.disarm();
    let resp = result?;
    Ok(HttpResponse::Ok().json(Answer::of(&component, &resp)))
}

/// Says so in the log when the client of a plain (non-streamed) request went away before its
/// answer: the request's future was dropped, and with it the turn (its model call is cancelled).
struct GoneBeforeAnswer<'a>(Option<&'a str>);

impl GoneBeforeAnswer<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for GoneBeforeAnswer<'_> {
    fn drop(&mut self) {
        if let Some(component) = self.0 {
            tracing::info!(
                component,
                "client went away before the answer; cancelling the turn"
            );
        }
    }
}

fn accepts_sse(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

fn build_request(
    component: &str,
    p: ParsedInput,
    deadline: Duration,
    trace_id: Option<String>,
) -> InputRequest {
    InputRequest {
        component: component.to_string(),
        input: p.input,
        inputs: p.inputs,
        session_id: p.session_id,
        deadline: Some(deadline),
        trace_id,
    }
}

/// The answer body: `output` is the first terminal output; `outputs` lists all when there are
/// several. Serialized straight from the response (no intermediate JSON tree); keys in the sorted
/// order clients have always seen.
#[derive(Serialize)]
pub struct Answer<'a> {
    component: &'a str,
    output: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<Vec<Branch<'a>>>,
    session_id: &'a str,
}

#[derive(Serialize)]
struct Branch<'a> {
    component: &'a str,
    output: &'a Value,
}

static NULL: Value = Value::Null;

impl<'a> Answer<'a> {
    pub fn of(component: &'a str, resp: &'a InputResponse) -> Answer<'a> {
        Answer {
            component,
            output: resp.outputs.first().map(|o| &o.output).unwrap_or(&NULL),
            outputs: (resp.outputs.len() > 1).then(|| {
                resp.outputs
                    .iter()
                    .map(|o| Branch {
                        component: &o.component,
                        output: &o.output,
                    })
                    .collect()
            }),
            session_id: &resp.session_id,
        }
    }
}
