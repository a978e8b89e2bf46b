//! The one middleware every request passes: request id + tracing span (outermost), HTTP metrics,
//! then CORS (preflights answered before auth; [`cors`]) and bearer-token auth. One `from_fn`
//! layer runs them in that order: separate layers cost boxed futures and service calls per
//! request for nothing they needed apart. It also
//! answers 503 for a request still running when the drain ends ([`drain`]) and keeps the unread
//! body of a chunked request with its answer ([`unread_body`]).

pub mod auth;
pub mod cors;
pub mod http_metrics;
pub mod request_id;

use crate::server::{drain, routes, unread_body};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;
use tracing::Instrument;

pub async fn chain(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    crate::server::idle_memory::touch();
    let id = request_id::incoming_or_new(&req);
    let span = request_id::span(&id, &req);
    req.extensions_mut()
        .insert(request_id::RequestId(id.clone()));
    let method = http_metrics::method_label(req.method());
    let route = routes::pattern_of(req.method(), req.path());
    let start = Instant::now();
    let is_input = route == routes::INPUT && req.method() == Method::POST;
    let is_chat = route == routes::openai::CHAT && req.method() == Method::POST;
    let unread = unread_body::is_chunked(&req).then(|| unread_body::share(&mut req));
    let (preflight, cors_origin) = match cors::check(&req) {
        Some(cors::Verdict::Preflight(res)) => (Some(res), None),
        Some(cors::Verdict::Allowed(origin)) => (None, Some(origin)),
        None => (None, None),
    };
    let work = async {
        if let Some(res) = preflight {
            return Ok(req.into_response(res).map_into_right_body());
        }
        if let Some(res) = auth::reject(&req) {
            return Ok(req.into_response(res).map_into_right_body());
        }
        // The two input doors are answered here, without the router (see their `fast_path`).
        let fast = if is_input {
            routes::input::fast_path(req).await
        } else if is_chat {
            routes::openai::chat::fast_path(req).await
        } else {
            Err(req)
        };
        let req = match fast {
            Ok(res) => return Ok(res.map_into_right_body()),
            Err(req) => req,
        };
        next.call(req)
            .await
            .map(ServiceResponse::map_into_left_body)
    }
    .instrument(span.clone());
    // Polled first, so a request that finishes on its first poll never registers with the drain.
    let result = tokio::select! {
        biased;
        result = work => result,
        () = drain::expired() => Err(drain::cut_short().into()),
    };
    let result = match (result, unread) {
        (Ok(res), Some(unread)) => Ok(unread.keep_until_sent(res).map_into_right_body()),
        (result, _) => result,
    };
    let elapsed = start.elapsed();
    let _entered = span.enter();
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            http_metrics::record(method, route, status, elapsed.as_secs_f64());
            request_id::finished(status, elapsed);
            request_id::set_header(&mut res, &id);
            if let Some(origin) = cors_origin {
                cors::allow(res.headers_mut(), origin);
            }
            Ok(res)
        }
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            http_metrics::record(method, route, status, elapsed.as_secs_f64());
            tracing::warn!(
                status,
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                error = %e,
                "request failed"
            );
            Err(e)
        }
    }
}
