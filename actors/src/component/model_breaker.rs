//! A model call made on behalf of another component (an agent calling its `model:`) still counts
//! for the llm component: on its circuit breaker — the breaker in the llm's cell, the same one its
//! own calls and the bus admission use: open fails fast, each result is recorded — and in its
//! `failed` count and `last_failure`, so `/components` shows why the llm fails even when only
//! agents call it.

use super::actor::{admit, breaker_changed};
use super::work::{model_error_trips_breaker, Failure};
use crate::bus::MessageBus;
use crate::cell::ComponentCell;
use crate::llm::{ChatResponse, ModelError, ModelErrorKind};
use std::future::Future;

/// Runs `call` if `cell`'s breaker admits it and records the outcome on that cell. The call's
/// retries happen inside it, so a failed call is one failure whatever it took.
pub async fn through_breaker(
    cell: &ComponentCell,
    bus: &dyn MessageBus,
    call: impl Future<Output = Result<ChatResponse, ModelError>>,
) -> Result<ChatResponse, Failure> {
    admit(bus, cell)?;
    let result = call.await;
    let transition = match &result {
        Ok(_) => cell.breaker.on_success(),
        // The caller going away says nothing about the model's health.
        Err(e) if e.kind == ModelErrorKind::Cancelled => None,
        Err(e) => {
            cell.count_failed();
            cell.record_failure(&Failure::Model(e.clone()).to_string());
            if model_error_trips_breaker(e) {
                cell.breaker.on_failure()
            } else {
                None
            }
        }
    };
    if let Some(t) = transition {
        breaker_changed(bus, cell, t);
    }
    result.map_err(Failure::Model)
}
