//! What one piece of component work is: done at once (pass-through components, no future spawned)
//! or a future the actor spawns (model calls, tools), and how it can fail.

use crate::bus::retry::Retryable;
use crate::llm::{ModelError, ModelErrorKind};
use futures_util::future::LocalBoxFuture;
use std::fmt;

/// What work produces is what the router forwards; it is defined there so the router does not
/// depend on the component module.
pub use crate::router::Produced;

/// Why a piece of work failed.
#[derive(Clone, Debug)]
pub enum Failure {
    /// The model answered with an error (classified).
    Model(ModelError),
    /// The work took longer than the component's call timeout.
    Timeout,
    /// The caller went away; not a failure of the component.
    Cancelled,
    /// The component cannot do this (bad input, unimplemented type, ...): not retryable.
    Error(String),
    /// A component this work depends on (an agent's model) has its breaker open: fail fast.
    Unavailable {
        component: String,
        retry_after: std::time::Duration,
    },
}

impl Failure {
    /// Transient failures are retried with backoff; the rest go back to the caller at once.
    pub fn retryable(&self) -> bool {
        match self {
            Failure::Model(e) => e.retryable(),
            Failure::Timeout => true,
            Failure::Cancelled | Failure::Error(_) | Failure::Unavailable { .. } => false,
        }
    }

    /// Counts against the circuit breaker. The caller going away does not, nor does a
    /// configuration error (a provider 404/405): the breaker is for a dependency that is unwell
    /// and may recover, and an open breaker would turn "check `base_url`" into "retry later".
    pub fn trips_breaker(&self) -> bool {
        match self {
            Failure::Model(e) => model_error_trips_breaker(e),
            Failure::Timeout => true,
            Failure::Cancelled | Failure::Error(_) | Failure::Unavailable { .. } => false,
        }
    }

    /// The model client already spent this request's retry budget on it (it retried, or chose
    /// not to): redelivering the message would multiply the provider calls.
    pub fn budget_spent(&self) -> bool {
        matches!(self, Failure::Model(e) if e.attempts > 0)
    }
}

/// Whether a failed model call counts against the model's breaker (see [`Failure::trips_breaker`]).
pub fn model_error_trips_breaker(e: &ModelError) -> bool {
    !matches!(e.kind, ModelErrorKind::Cancelled | ModelErrorKind::Config)
}

impl Retryable for Failure {
    fn retryable(&self) -> bool {
        Failure::retryable(self)
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Failure::Model(e) => e.retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Model(e) => write!(f, "model error: {e}"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Cancelled => f.write_str("cancelled by the caller"),
            Failure::Error(m) => f.write_str(m),
            Failure::Unavailable {
                component,
                retry_after,
            } => write!(
                f,
                "`{component}` is unavailable (circuit breaker open); retry in {}s",
                retry_after.as_secs().max(1)
            ),
        }
    }
}

/// One piece of work.
pub enum Work {
    Now(Result<Produced, Failure>),
    Later(LocalBoxFuture<'static, Result<Produced, Failure>>),
}
