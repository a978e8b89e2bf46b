//! Plain data the runtime API hands out: requests, responses, events and status reports.

use crate::envelope::Envelope;
use crate::error::RuntimeError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One input to run through the pipeline from `component`.
#[derive(Clone, Debug, Default)]
pub struct InputRequest {
    pub component: String,
    pub input: serde_json::Value,
    pub inputs: serde_json::Map<String, serde_json::Value>,
    pub session_id: Option<String>,
    pub deadline: Option<Duration>,
    pub trace_id: Option<String>,
}

impl InputRequest {
    /// A text input to `component` with everything else defaulted.
    pub fn text(component: impl Into<String>, input: impl Into<String>) -> InputRequest {
        InputRequest {
            component: component.into(),
            input: serde_json::Value::String(input.into()),
            ..InputRequest::default()
        }
    }

    /// The same request in a given session.
    pub fn in_session(mut self, id: impl Into<String>) -> InputRequest {
        self.session_id = Some(id.into());
        self
    }
}

/// One terminal output of a pipeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentOutput {
    pub component: String,
    pub output: serde_json::Value,
}

/// The result of one input: every terminal output (several when the pipeline fans out).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputResponse {
    pub session_id: String,
    pub outputs: Vec<ComponentOutput>,
}

impl InputResponse {
    /// The first output's text, for callers that expect one.
    pub fn text(&self) -> Option<String> {
        self.outputs
            .first()
            .map(|o| crate::envelope::payload_text(&o.output))
    }
}

/// An item of a streamed turn: events as they happen, then exactly one `Done` or `Failed`.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum RuntimeEvent {
    Event(Envelope),
    Done(InputResponse),
    Failed(RuntimeError),
}

/// Lifecycle of a component actor (DESIGN.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Initializing,
    Ready,
    Active,
    Failed,
    ShuttingDown,
    Terminated,
    /// Reported only (never an actor's own state): a tool whose worker or server is down and
    /// being restarted by its backend.
    Unavailable,
    /// Reported only: declared, but not run by this process (`vm server`).
    Inactive,
}

impl ComponentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Initializing => "initializing",
            ComponentState::Ready => "ready",
            ComponentState::Active => "active",
            ComponentState::Failed => "failed",
            ComponentState::ShuttingDown => "shutting_down",
            ComponentState::Terminated => "terminated",
            ComponentState::Unavailable => "unavailable",
            ComponentState::Inactive => "inactive",
        }
    }

    pub(crate) fn from_u8(v: u8) -> ComponentState {
        match v {
            0 => ComponentState::Initializing,
            1 => ComponentState::Ready,
            2 => ComponentState::Active,
            3 => ComponentState::Failed,
            4 => ComponentState::ShuttingDown,
            _ => ComponentState::Terminated,
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }
}

/// Circuit breaker position (DESIGN.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Open => "open",
        }
    }

    /// The `woodwork_breaker_state` gauge value.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

/// One component as `/components` shows it. No secret values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentStatus {
    pub name: String,
    pub kind: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub state: ComponentState,
    pub routes_to: Vec<String>,
    pub breaker: BreakerState,
    pub restarts: u32,
    pub mailbox_depth: usize,
    pub processed: u64,
    pub failed: u64,
    pub last_failure: Option<String>,
}

/// Overall health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

/// One component's line in `/health`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentHealth {
    pub state: ComponentState,
    pub breaker: BreakerState,
    pub restarts: u32,
}

/// What `/health` answers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub components: BTreeMap<String, ComponentHealth>,
    pub bus: BusStats,
    pub uptime_s: u64,
}

/// Counters of the message bus.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BusStats {
    pub sent: u64,
    pub delivered: u64,
    pub published: u64,
    pub retried: u64,
    pub expired: u64,
    pub overloaded: u64,
    pub rejected_unavailable: u64,
    pub dead_lettered: u64,
    pub dlq_len: usize,
    /// Bytes the dead-letter queue holds (payloads and messages), within its byte bound.
    pub dlq_bytes: usize,
    /// Dead letters dropped (oldest first) to keep the queue within its bounds.
    pub dlq_dropped: u64,
    pub replayed: u64,
    pub hook_failures: u64,
}

/// A session as `/sessions/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionInfo {
    pub id: String,
    /// Unix seconds.
    pub created_at: f64,
    /// Unix seconds.
    pub last_active: f64,
    pub turns: u64,
    pub busy: bool,
    pub queued: usize,
}

/// A message that could not be delivered (defined with the queue that bounds it).
pub use crate::bus::dlq::{DeadLetter, DeadLetterReason};
