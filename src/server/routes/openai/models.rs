//! `GET /v1/models` and `GET /v1/models/{id}`: the components a chat completion can run — every
//! `input`, `agent` and `llm`, in file order — as OpenAI `model` objects, so SDKs and chat UIs
//! offer them in their model pickers.

use super::errors::OpenAiError;
use super::wire::{Model, ModelList};
use crate::server::error::{printable, ApiError};
use crate::server::state::AppState;
use actix_web::{web, HttpResponse};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use woodwork_parser::Kind;
use woodwork_runtime::Runtime;

/// True for the kinds a chat completion can run: an input (its whole pipeline), an agent (from the
/// agent on), an llm (one model call, no agent loop: the raw model, as `POST /{llm}/input` runs
/// it). Outputs, memory and tools take no chat.
pub fn is_model(kind: Kind) -> bool {
    matches!(kind, Kind::Input | Kind::Agent | Kind::Llm)
}

/// The model names, in file order.
pub fn names(runtime: &Runtime) -> Vec<Arc<str>> {
    runtime
        .router()
        .cells()
        .iter()
        .filter(|c| is_model(c.spec.kind))
        .map(|c| c.name.clone())
        .collect()
}

/// 404 `model_not_found` listing the models there are.
pub fn not_found(runtime: &Runtime, model: &str) -> OpenAiError {
    OpenAiError {
        api: ApiError::not_found(
            "model_not_found",
            format!(
                "the model '{}' does not exist: models here are the input, agent and llm \
                 components ({}); GET /v1/models lists them",
                printable(model),
                names(runtime).join(", ")
            ),
        ),
        param: Some("model".into()),
    }
}

/// Models were created when the server started (Unix seconds).
fn created(state: &AppState) -> u64 {
    SystemTime::now()
        .checked_sub(state.started.elapsed())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    let created = created(&state);
    let names = names(&state.runtime);
    HttpResponse::Ok().json(ModelList {
        object: "list",
        data: names.iter().map(|id| Model::new(id, created)).collect(),
    })
}

pub async fn one(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, OpenAiError> {
    let known = state
        .runtime
        .router()
        .lookup(&id)
        .is_some_and(|c| is_model(c.spec.kind));
    if !known {
        return Err(not_found(&state.runtime, &id));
    }
    Ok(HttpResponse::Ok().json(Model::new(&id, created(&state))))
}
