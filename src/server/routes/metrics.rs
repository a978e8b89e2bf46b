//! `GET /metrics`: Prometheus text. Component counters and latency histograms come from the
//! runtime through the `metrics` facade; HTTP metrics from our middleware; gauges that are a
//! snapshot (mailbox depth, restarts, breaker state) are refreshed here, just before rendering.

use crate::server::state::AppState;
use actix_web::{web, HttpResponse};

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    crate::server::prometheus::refresh_snapshot_gauges(&state);
    let text = match &state.metrics {
        Some(handle) => handle.render(),
        None => String::new(),
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
