//! The one middleware every request passes: request id + tracing span (outermost), HTTP metrics,
//! then bearer-token auth. One `from_fn` layer runs the three concepts in that order: three layers
//! cost three boxed futures and service calls per request for nothing they needed apart.

pub mod auth;
pub mod http_metrics;
pub mod request_id;

use crate::server::routes;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::time::Instant;
use tracing::Instrument;

pub async fn chain(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    crate::server::idle_memory::touch();
    let id = request_id::incoming_or_new(&req);
    let span = request_id::span(&id, &req);
    req.extensions_mut()
        .insert(request_id::RequestId(id.clone()));
    let method = http_metrics::method_label(req.method());
    let route = routes::pattern_of(req.method(), req.path());
    let start = Instant::now();
    let result = async {
        if let Some(res) = auth::reject(&req) {
            return Ok(req.into_response(res).map_into_right_body());
        }
        let req = if route == routes::INPUT && req.method() == Method::POST {
            match routes::input::fast_path(req).await {
                Ok(res) => return Ok(res.map_into_right_body()),
                Err(req) => req,
            }
        } else {
            req
        };
        next.call(req)
            .await
            .map(ServiceResponse::map_into_left_body)
    }
    .instrument(span.clone())
    .await;
    let elapsed = start.elapsed();
    let _entered = span.enter();
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            http_metrics::record(method, route, status, elapsed.as_secs_f64());
            request_id::finished(status, elapsed);
            request_id::set_header(&mut res, &id);
            Ok(res)
        }
        Err(e) => {
            tracing::warn!(
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                error = %e,
                "request failed"
            );
            Err(e)
        }
    }
}
