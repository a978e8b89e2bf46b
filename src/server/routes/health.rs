//! `/health` (component states; 503 when unhealthy), `/livez` (process up), `/readyz` (503 while
//! draining).

use crate::server::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let report = state.runtime.health();
    let mut body = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
    let status = body
        .get("status")
        .and_then(|s| s.as_str())
        .unwrap_or("unhealthy")
        .to_string();
    if let Some(obj) = body.as_object_mut() {
        obj.entry("uptime_s")
            .or_insert_with(|| json!(state.started.elapsed().as_secs()));
        if state.is_draining() {
            obj.insert("draining".into(), json!(true));
        }
    }
    let code = if status == "unhealthy" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    HttpResponse::build(code).json(body)
}

pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "alive"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.is_draining() {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(json!({"status": "draining"}))
    } else if !state.runtime.ready() {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(json!({"status": "broker_unreachable"}))
    } else {
        HttpResponse::Ok().json(json!({"status": "ready"}))
    }
}
