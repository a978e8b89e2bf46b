//! What crosses the broker between nodes (DESIGN.md §7): a hop (an envelope for a component queue,
//! with the way back to whoever waits for its result) and the messages a node's own queue receives
//! (events, results and cancellations of hops it sent or handles). JSON, so a message is readable
//! with `redis-cli` / `nats` when debugging a cluster.

use crate::envelope::Envelope;
use crate::error::{CancelReason, RuntimeError};
use crate::llm::{ChatRequest, ChatResponse, ModelError};
use crate::types::ComponentOutput;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// What a component's queue carries.
#[derive(Serialize, Deserialize)]
pub(crate) enum Work {
    /// A message for the component's actor.
    Hop(Hop),
    /// A call of the component's model client by an agent on another node.
    Model(ModelCall),
}

/// An agent's model call, for the node hosting the model.
#[derive(Serialize, Deserialize)]
pub(crate) struct ModelCall {
    pub request: ChatRequest,
    /// Whether the caller wants the deltas as they come.
    pub stream: bool,
    /// The calling node and its number for the call.
    pub node: String,
    pub id: u64,
}

/// An envelope on its way to a component hosted by another node.
#[derive(Serialize, Deserialize)]
pub(crate) struct Hop {
    pub env: Envelope,
    /// Where results go; None for a message nobody waits for.
    #[serde(default)]
    pub reply: Option<ReplyRoute>,
}

/// The way back: the sending node's queue and its entry for this hop.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ReplyRoute {
    pub node: String,
    pub id: u64,
    pub kind: ReplyKind,
}

/// What the sender waits for, so the receiving node builds the same kind of reply handle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum ReplyKind {
    /// Part of a turn: the branch's terminal outputs (and its events when the caller streams).
    Turn {
        inputs: Arc<serde_json::Map<String, serde_json::Value>>,
        events: bool,
    },
    /// Request/reply (an agent calling a tool): the handler's result.
    Direct,
    /// Fire-and-count.
    Latch,
}

/// A message for a node's own queue.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum NodeMsg {
    /// An event of the hop's turn (stream chunks, agent steps), for the caller's stream.
    Event { id: u64, env: Envelope },
    /// The hop's branch ended with these terminal outputs (none: dropped by a pipe).
    Done {
        id: u64,
        outputs: Vec<ComponentOutput>,
    },
    /// A request/reply hop's answer.
    Answer {
        id: u64,
        payload: Arc<serde_json::Value>,
    },
    /// A fire-and-count hop was handled.
    Counted { id: u64, ok: bool },
    /// The hop failed.
    Failed { id: u64, error: WireError },
    /// The turn that sent hop `id` from node `origin` was cancelled: stop its work here.
    Cancel {
        origin: String,
        id: u64,
        error: WireError,
    },
    /// A streamed delta of model call `id`.
    ModelChunk { id: u64, text: String },
    /// The end of model call `id`.
    ModelDone {
        id: u64,
        result: Result<ChatResponse, ModelError>,
    },
    /// Model call `id` of node `origin` is no longer awaited: stop it here.
    CancelModel { origin: String, id: u64 },
}

/// A [`RuntimeError`] that survives the trip: every variant and its fields, so the caller on the
/// first node gets the same status code, message and Retry-After as in one process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum WireError {
    UnknownComponent {
        name: String,
        known: Vec<String>,
    },
    SessionBusy {
        session_id: String,
    },
    Overloaded {
        retry_after_ms: u64,
    },
    Unavailable {
        component: String,
        retry_after_ms: u64,
    },
    Unreachable {
        component: String,
        cause: String,
    },
    DeadlineExceeded {
        component: String,
    },
    ComponentFailed {
        component: String,
        message: String,
    },
    ShuttingDown,
    CancelledByCaller,
    SessionEnded {
        session_id: String,
        component: String,
    },
    Invalid(String),
    Start(String),
}

impl From<&RuntimeError> for WireError {
    fn from(e: &RuntimeError) -> WireError {
        let ms = |d: &Duration| d.as_millis().min(u64::MAX as u128) as u64;
        match e {
            RuntimeError::UnknownComponent { name, known } => WireError::UnknownComponent {
                name: name.clone(),
                known: known.clone(),
            },
            RuntimeError::SessionBusy { session_id } => WireError::SessionBusy {
                session_id: session_id.clone(),
            },
            RuntimeError::Overloaded { retry_after } => WireError::Overloaded {
                retry_after_ms: ms(retry_after),
            },
            RuntimeError::Unavailable {
                component,
                retry_after,
            } => WireError::Unavailable {
                component: component.clone(),
                retry_after_ms: ms(retry_after),
            },
            RuntimeError::Unreachable { component, cause } => WireError::Unreachable {
                component: component.clone(),
                cause: cause.clone(),
            },
            RuntimeError::DeadlineExceeded { component } => WireError::DeadlineExceeded {
                component: component.clone(),
            },
            RuntimeError::ComponentFailed { component, message } => WireError::ComponentFailed {
                component: component.clone(),
                message: message.clone(),
            },
            RuntimeError::ShuttingDown => WireError::ShuttingDown,
            RuntimeError::Cancelled(CancelReason::Caller) => WireError::CancelledByCaller,
            RuntimeError::Cancelled(CancelReason::SessionEnded {
                session_id,
                component,
            }) => WireError::SessionEnded {
                session_id: session_id.clone(),
                component: component.clone(),
            },
            RuntimeError::Invalid(m) => WireError::Invalid(m.clone()),
            RuntimeError::Start(m) => WireError::Start(m.clone()),
        }
    }
}

impl From<WireError> for RuntimeError {
    fn from(e: WireError) -> RuntimeError {
        match e {
            WireError::UnknownComponent { name, known } => {
                RuntimeError::UnknownComponent { name, known }
            }
            WireError::SessionBusy { session_id } => RuntimeError::SessionBusy { session_id },
            WireError::Overloaded { retry_after_ms } => RuntimeError::Overloaded {
                retry_after: Duration::from_millis(retry_after_ms),
            },
            WireError::Unavailable {
                component,
                retry_after_ms,
            } => RuntimeError::Unavailable {
                component,
                retry_after: Duration::from_millis(retry_after_ms),
            },
            WireError::Unreachable { component, cause } => {
                RuntimeError::Unreachable { component, cause }
            }
            WireError::DeadlineExceeded { component } => {
                RuntimeError::DeadlineExceeded { component }
            }
            WireError::ComponentFailed { component, message } => {
                RuntimeError::ComponentFailed { component, message }
            }
            WireError::ShuttingDown => RuntimeError::ShuttingDown,
            WireError::CancelledByCaller => RuntimeError::Cancelled(CancelReason::Caller),
            WireError::SessionEnded {
                session_id,
                component,
            } => RuntimeError::Cancelled(CancelReason::SessionEnded {
                session_id,
                component,
            }),
            WireError::Invalid(m) => RuntimeError::Invalid(m),
            WireError::Start(m) => RuntimeError::Start(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_comes_back_the_same() {
        let errors = [
            RuntimeError::UnknownComponent {
                name: "x".into(),
                known: vec!["a".into()],
            },
            RuntimeError::SessionBusy {
                session_id: "s".into(),
            },
            RuntimeError::Overloaded {
                retry_after: Duration::from_secs(2),
            },
            RuntimeError::Unavailable {
                component: "m".into(),
                retry_after: Duration::from_millis(1500),
            },
            RuntimeError::Unreachable {
                component: "m".into(),
                cause: "broker down".into(),
            },
            RuntimeError::DeadlineExceeded {
                component: "a".into(),
            },
            RuntimeError::ComponentFailed {
                component: "a".into(),
                message: "boom".into(),
            },
            RuntimeError::ShuttingDown,
            RuntimeError::Cancelled(CancelReason::Caller),
            RuntimeError::Cancelled(CancelReason::SessionEnded {
                session_id: "s".into(),
                component: "in".into(),
            }),
            RuntimeError::Invalid("bad".into()),
            RuntimeError::Start("no".into()),
        ];
        for e in errors {
            let json = serde_json::to_string(&WireError::from(&e)).unwrap_or_default();
            let back: WireError = serde_json::from_str(&json).expect("round trip");
            assert_eq!(RuntimeError::from(back), e, "{json}");
        }
    }
}
