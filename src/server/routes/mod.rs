//! The route table: every path, the methods it takes, and the JSON 404/405 for the rest.
//!
//! | route | answer |
//! |---|---|
//! | `GET /health` | `{status, components: {name: {state, breaker, restarts}}, bus, uptime_s}`; 503 when unhealthy |
//! | `GET /livez`, `GET /readyz` | process up; ready (503 `draining` after SIGTERM). No token needed. |
//! | `GET /components`, `GET /components/{name}` | component status list / one (404 lists the known names) |
//! | `POST /{component}/input` | `{session_id, component, output}` (+ `outputs` on fan-out); SSE with `?stream=true`, `Accept: text/event-stream` or `"stream": true` |
//! | `GET /sessions/{id}`, `DELETE /sessions/{id}` | session info (turns, busy); end it (204) |
//! | `GET /dlq`, `POST /dlq/{id}/replay` | dead letters; replay one (its answer, like an input) |
//! | `GET /metrics` | Prometheus text |
//!
//! Runtime errors map to: unknown component 404, session busy 409, overloaded 503 + Retry-After,
//! breaker open 503 + Retry-After, deadline 504, component failed 502 (the pipeline ran and a
//! component behind the server failed: a gateway error, not the client's fault), shutting down 503,
//! invalid input 400.

pub mod components;
pub mod dlq;
pub mod fallback;
pub mod health;
pub mod input;
pub mod metrics;
pub mod sessions;

use actix_web::web;
use fallback::resource;

/// Registers every endpoint of DESIGN.md §5.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health", "GET").route(web::get().to(health::health)))
        .service(resource("/livez", "GET").route(web::get().to(health::livez)))
        .service(resource("/readyz", "GET").route(web::get().to(health::readyz)))
        .service(resource("/metrics", "GET").route(web::get().to(metrics::metrics)))
        .service(resource("/components", "GET").route(web::get().to(components::list)))
        .service(resource("/components/{name}", "GET").route(web::get().to(components::one)))
        .service(
            resource("/sessions/{id}", "GET, DELETE")
                .route(web::get().to(sessions::get))
                .route(web::delete().to(sessions::delete)),
        )
        .service(resource("/dlq", "GET").route(web::get().to(dlq::list)))
        .service(resource("/dlq/{id}/replay", "POST").route(web::post().to(dlq::replay)))
        .service(resource("/{component}/input", "POST").route(web::post().to(input::post_input)));
}
