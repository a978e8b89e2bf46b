//! The route table: every path, the methods it takes, and the JSON 404/405 for the rest.

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
