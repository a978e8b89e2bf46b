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
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
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

/// Lifecycle of a component actor (DESIGN.md §4). The strum names are the serde names.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::FromRepr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[repr(u8)]
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
    /// The name `/components`, `/health` and events show (the serde name).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// An actor's own state back from its atomic cell; anything that is not one reads as
    /// `Terminated` (the reported-only states are never stored).
    pub(crate) fn from_u8(v: u8) -> ComponentState {
        match ComponentState::from_repr(v) {
            Some(ComponentState::Unavailable | ComponentState::Inactive) | None => {
                ComponentState::Terminated
            }
            Some(state) => state,
        }
    }

    /// The state as stored in an actor's atomic cell.
    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }
}

/// Circuit breaker position (DESIGN.md §4). The strum names are the serde names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    /// The name `/components`, `/health` and breaker events show (the serde name).
    pub fn as_str(self) -> &'static str {
        self.into()
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
    /// Moving average of the handling time of its work, in ms (`null` until some was timed;
    /// pass-through hops are not timed).
    pub latency_ms: Option<f64>,
    pub last_failure: Option<String>,
    /// In a cluster: the live nodes hosting it (absent on one process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<String>>,
    /// In a cluster: whether this node hosts it (its figures are this node's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<bool>,
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
    /// Which config is serving (`serve --watch` applies edits without a restart).
    pub config: ConfigVersion,
    /// In a cluster: the broker, this node and every live node (absent on one process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::ClusterView>,
}

/// The config being served: `generation` 1 is the one the server started with, each applied
/// `serve --watch` reload adds one; `hash` changes with any applied edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigVersion {
    pub generation: u64,
    pub hash: String,
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
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strum_names_are_the_serde_names() {
        use ComponentState as C;
        for s in [
            C::Initializing,
            C::Ready,
            C::Active,
            C::Failed,
            C::ShuttingDown,
            C::Terminated,
            C::Unavailable,
            C::Inactive,
        ] {
            assert_eq!(serde_json::json!(s), s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
        for b in [
            BreakerState::Closed,
            BreakerState::HalfOpen,
            BreakerState::Open,
        ] {
            assert_eq!(serde_json::json!(b), b.as_str());
        }
        assert_eq!(BreakerState::HalfOpen.as_str(), "half_open");
        assert_eq!(C::ShuttingDown.as_str(), "shutting_down");
    }

    #[test]
    fn stored_states_round_trip_and_the_rest_read_as_terminated() {
        use ComponentState as C;
        for s in [
            C::Initializing,
            C::Ready,
            C::Active,
            C::Failed,
            C::ShuttingDown,
            C::Terminated,
        ] {
            assert_eq!(C::from_u8(s.to_u8()), s);
        }
        for v in [C::Unavailable as u8, C::Inactive as u8, 200] {
            assert_eq!(C::from_u8(v), C::Terminated);
        }
    }
}
