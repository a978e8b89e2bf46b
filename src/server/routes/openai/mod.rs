//! The OpenAI-compatible API (DESIGN.md §5), so any OpenAI SDK or chat UI can talk to a woodwork
//! system: `POST /v1/chat/completions` runs the pipeline of the component named by `model`;
//! `GET /v1/models` and `GET /v1/models/{id}` list the components it can run. Every answer of
//! these routes, errors included, is in OpenAI's shape ([`errors`]).

pub mod chat;
pub mod errors;
pub mod models;
pub mod request;
pub mod stream;
pub mod wire;

use actix_web::{web, HttpRequest, HttpResponse, Resource};
use errors::OpenAiError;

/// `POST /v1/chat/completions` (also its metrics label).
pub const CHAT: &str = "/v1/chat/completions";
/// `GET /v1/models`.
pub const MODELS: &str = "/v1/models";
/// `GET /v1/models/{id}`.
pub const MODEL: &str = "/v1/models/{id}";

/// True for paths under `/v1/`, whose errors (the bearer-token 401 too) are in OpenAI's shape.
pub fn is_openai_path(path: &str) -> bool {
    path.starts_with("/v1/")
}

/// Registers the routes. Static paths and one three-segment pattern: none can shadow another
/// route (`/{component}/input` has two segments, the second `input`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(CHAT, "POST").route(web::post().to(chat::completions)))
        .service(resource(MODELS, "GET, HEAD").route(super::get_or_head().to(models::list)))
        .service(resource(MODEL, "GET, HEAD").route(super::get_or_head().to(models::one)));
}

/// A resource whose wrong-method requests get a 405 naming `allow`, in OpenAI's shape.
fn resource(path: &'static str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(OpenAiError::from(
            crate::server::error::ApiError::method_not_allowed(
                req.method().as_str(),
                req.path(),
                allow,
            ),
        ))
    }))
}
