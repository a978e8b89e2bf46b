//! Failure policy of a component actor: what a failed piece of work becomes — a redelivery within
//! the request's retry budget, a dead letter, or an error for its caller — and how a result counts
//! on the component's circuit breaker.

use super::ComponentActor;
use crate::breaker::Transition;
use crate::bus::retry::RetryPolicy;
use crate::bus::{Address, DeadLetterReason, MessageBus};
use crate::cell::ComponentCell;
use crate::component::work::Failure;
use crate::envelope::{now_unix, Envelope, EventType};
use crate::error::RuntimeError;
use crate::llm::ModelError;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait before a redelivery (a longer `Retry-After` ends the retries instead).
const MAX_REDELIVERY_WAIT: Duration = Duration::from_secs(30);

/// Publishes a breaker transition (event, gauge, log).
pub fn breaker_changed(bus: &dyn MessageBus, cell: &ComponentCell, t: Transition) {
    tracing::info!(
        component = &*cell.name,
        from = t.from.as_str(),
        to = t.to.as_str(),
        "circuit breaker changed"
    );
    cell.metrics.breaker.set(t.to.gauge());
    let env = Envelope::new(
        Arc::from("runtime"),
        EventType::BreakerStateChanged,
        Arc::new(serde_json::json!({
            "component_id": &*cell.name,
            "from": t.from.as_str(),
            "to": t.to.as_str(),
            "timestamp": now_unix(),
        })),
        cell.name.clone(),
    );
    bus.publish(&env);
}

/// An open breaker's refusal: which component refused and when to come back, so every caller
/// answers it the same way (503 + `Retry-After`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub component: String,
    pub retry_after: Duration,
}

impl From<Refused> for RuntimeError {
    fn from(r: Refused) -> RuntimeError {
        RuntimeError::Unavailable {
            component: r.component,
            retry_after: r.retry_after,
        }
    }
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Failure {
        Failure::Unavailable {
            component: r.component,
            retry_after: r.retry_after,
        }
    }
}

/// Breaker admission, decided here for every caller (the bus admitting a message, a model call
/// made for an agent, the server checking before a stream starts): asks `cell`'s breaker for
/// a call, publishes a transition it causes (open -> half-open) on `bus`, and fails fast with
/// the breaker's wait when it is open.
pub fn admit(bus: &dyn MessageBus, cell: &ComponentCell) -> Result<(), Refused> {
    match cell.breaker.allow() {
        Ok(Some(t)) => {
            breaker_changed(bus, cell, t);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(retry_after) => Err(Refused {
            component: cell.name.to_string(),
            retry_after,
        }),
    }
}

impl ComponentActor {
    /// A piece of work failed: redeliver it within the request's one retry budget, or — failed
    /// for good — count it once on the breaker and dead-letter it (a retryable failure out of
    /// budget) or answer the caller with it. An attempt that is redelivered is not yet a failed
    /// request, so it does not count on the breaker.
    pub(super) fn failed(&mut self, mut env: Envelope, f: Failure) {
        self.cell.count_failed();
        self.cell.record_failure(&f.to_string());
        let caller_gone = env.reply.as_ref().is_some_and(|r| r.is_closed());
        if !caller_gone {
            if let Some(delay) = self.redelivery(&env, &f) {
                env.retry_count += 1;
                tracing::debug!(
                    component = &*self.cell.name,
                    retry = env.retry_count,
                    ?delay,
                    "retrying after a transient failure"
                );
                self.services
                    .bus
                    .send_later(Address(self.cell.index), env, delay);
                return;
            }
        }
        if f.trips_breaker() {
            if let Some(t) = self.cell.breaker.on_failure() {
                breaker_changed(&*self.services.bus, &self.cell, t);
            }
        }
        if caller_gone {
            return; // the caller was told it went away; nothing to keep or answer
        }
        let reply = env.reply.clone();
        let unavailable = |component: &str, retry_after| RuntimeError::Unavailable {
            component: component.to_string(),
            retry_after,
        };
        if f.retryable() {
            // Out of budget: kept for replay, whether or not anyone waits for the answer.
            let attempts = env.retry_count
                + match &f {
                    Failure::Model(e) => e.attempts.max(1),
                    _ => 1,
                };
            env.retry_count = attempts - 1;
            let message = format!("retries exhausted after {attempts} attempts: {f}");
            let kept = self.services.bus.dead_letter(
                env,
                DeadLetterReason::RetriesExhausted,
                message.clone(),
            );
            let Some(reply) = reply else { return };
            match &f {
                // The provider said when to come back: the caller hears it (503 + Retry-After).
                Failure::Model(ModelError {
                    retry_after: Some(after),
                    ..
                }) => reply.fail(unavailable(&self.cell.name, *after)),
                _ => reply.fail(self.component_error(match kept {
                    Some(id) => format!("{message} (dead letter {id})"),
                    None => format!("{message} (too large for the dead-letter queue)"),
                })),
            }
            return;
        }
        let Some(reply) = reply else { return };
        match &f {
            Failure::Model(e) if e.retry_after.is_some() => reply.fail(unavailable(
                &self.cell.name,
                e.retry_after.unwrap_or_default(),
            )),
            Failure::Unavailable {
                component,
                retry_after,
            } => reply.fail(unavailable(component, *retry_after)),
            _ => reply.fail(self.component_error(f.to_string())),
        }
    }

    /// The wait before redelivering `env` after `f`, or None when it must not be redelivered: the
    /// failure is permanent, the model client already spent the request's retry budget on it,
    /// the work was a model call that timed out (its client retried inside it), or the envelope's
    /// own budget is used up.
    pub(super) fn redelivery(&self, env: &Envelope, f: &Failure) -> Option<Duration> {
        if f.budget_spent() || (matches!(f, Failure::Timeout) && self.calls_a_model()) {
            return None;
        }
        let spec = &self.cell.spec.supervision;
        RetryPolicy {
            max_retries: env.max_retries,
            base: spec.backoff_min,
            max_backoff: spec.backoff_max,
            max_wait: MAX_REDELIVERY_WAIT,
        }
        .wait_before(env.retry_count, f)
    }

    /// An llm or an agent: its work is model calls, which the model client retries itself.
    pub(super) fn calls_a_model(&self) -> bool {
        self.cell.model.is_some() || self.cell.spec.kind == woodwork_parser::Kind::Agent
    }

    /// A message that outlived its TTL goes to the dead-letter queue; its caller gets 504.
    pub(super) fn expire(&self, env: Envelope) {
        let reply = env.reply.clone();
        let id = self.services.bus.dead_letter(
            env,
            DeadLetterReason::TtlExpired,
            format!("ttl expired before `{}` handled it", self.cell.name),
        );
        if let Some(r) = reply {
            let letter = id.map_or_else(
                || "too large for the dead-letter queue".to_string(),
                |id| format!("dead letter {id}"),
            );
            r.fail(RuntimeError::DeadlineExceeded {
                component: format!("{} ({letter})", self.cell.name),
            });
        }
    }
}
