//! The runtime's typed errors, each with the stable code and HTTP meaning the server maps them to.

use std::time::Duration;

/// Why a request to the runtime did not produce a result. Messages never contain secrets.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    #[error("unknown component `{name}`; known components: {}", known.join(", "))]
    UnknownComponent { name: String, known: Vec<String> },
    #[error("session `{session_id}` is busy with another turn (session_policy: reject)")]
    SessionBusy { session_id: String },
    #[error("the runtime is overloaded; retry after {}s", retry_after.as_secs().max(1))]
    Overloaded { retry_after: Duration },
    #[error("component `{component}` is unavailable (circuit breaker open); retry after {}s", retry_after.as_secs().max(1))]
    Unavailable {
        component: String,
        retry_after: Duration,
    },
    #[error("deadline exceeded while `{component}` was handling the request")]
    DeadlineExceeded { component: String },
    #[error("component `{component}` failed: {message}")]
    ComponentFailed { component: String, message: String },
    #[error("the runtime is shutting down and accepts no new work")]
    ShuttingDown,
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("runtime failed to start: {0}")]
    Start(String),
}

impl RuntimeError {
    /// Stable machine-readable code for `{"error": {"code", ...}}`.
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::UnknownComponent { .. } => "unknown_component",
            RuntimeError::SessionBusy { .. } => "session_busy",
            RuntimeError::Overloaded { .. } => "overloaded",
            RuntimeError::Unavailable { .. } => "unavailable",
            RuntimeError::DeadlineExceeded { .. } => "deadline_exceeded",
            RuntimeError::ComponentFailed { .. } => "component_failed",
            RuntimeError::ShuttingDown => "shutting_down",
            RuntimeError::Invalid(_) => "invalid_input",
            RuntimeError::Start(_) => "start_failed",
        }
    }

    /// What to put in `Retry-After`, when retrying later can help.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RuntimeError::Overloaded { retry_after }
            | RuntimeError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl serde::Serialize for RuntimeError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RuntimeError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}
