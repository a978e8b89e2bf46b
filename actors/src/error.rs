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
    /// In a cluster: the component runs on other nodes and none can be reached now (the
    /// broker does not answer, or no live node hosts it).
    #[error("component `{component}` runs on another node, which cannot be reached now ({cause}); retry after 1s")]
    Unreachable { component: String, cause: String },
    #[error("deadline exceeded while `{component}` was handling the request")]
    DeadlineExceeded { component: String },
    #[error("component `{component}` failed: {message}")]
    ComponentFailed { component: String, message: String },
    #[error("the runtime is shutting down and accepts no new work")]
    ShuttingDown,
    /// The turn was stopped before it answered: not a failure of any component, so it never
    /// counts against a breaker and is never reported as `component_failed`.
    #[error("{0}")]
    Cancelled(CancelReason),
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
            RuntimeError::Unavailable { .. } | RuntimeError::Unreachable { .. } => "unavailable",
            RuntimeError::DeadlineExceeded { .. } => "deadline_exceeded",
            RuntimeError::ComponentFailed { .. } => "component_failed",
            RuntimeError::ShuttingDown => "shutting_down",
            RuntimeError::Cancelled(reason) => reason.code(),
            RuntimeError::Invalid(_) => "invalid_input",
            RuntimeError::Start(_) => "start_failed",
        }
    }

    /// What to put in `Retry-After`, when retrying later can help.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RuntimeError::Overloaded { retry_after }
            | RuntimeError::Unavailable { retry_after, .. } => Some(*retry_after),
            RuntimeError::Unreachable { .. } => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

/// Who stopped a turn, which decides what its caller (if still listening) is told.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CancelReason {
    /// The caller stopped waiting (disconnected, dropped its stream): nobody reads the answer.
    #[error("request cancelled by the caller")]
    Caller,
    /// The turn's session was ended (DELETE /sessions/{id}) while the turn ran: its
    /// caller still listens and is told why no answer comes.
    #[error(
        "session `{session_id}` was ended while this turn ran (entered at `{component}`); its \
         answer is not kept"
    )]
    SessionEnded {
        session_id: String,
        component: String,
    },
}

impl CancelReason {
    /// Stable machine-readable code, distinct per reason so a client can tell them apart.
    pub fn code(&self) -> &'static str {
        match self {
            CancelReason::Caller => "cancelled",
            CancelReason::SessionEnded { .. } => "session_ended",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellation_has_its_own_code_per_reason() {
        let caller = RuntimeError::Cancelled(CancelReason::Caller);
        assert_eq!(caller.code(), "cancelled");
        assert_eq!(caller.to_string(), "request cancelled by the caller");
        let ended = RuntimeError::Cancelled(CancelReason::SessionEnded {
            session_id: "s-1".into(),
            component: "in".into(),
        });
        assert_eq!(ended.code(), "session_ended");
        assert!(
            ended.to_string().contains("session `s-1` was ended"),
            "{ended}"
        );
        assert_eq!(ended.retry_after(), None);
        let json = serde_json::to_value(&ended).unwrap_or_default();
        assert_eq!(json["code"], "session_ended");
    }
}
