//! Tool components (`api functions`, `api web`, `mcp server`, `knowledge_base *`): a message is
//! one `{action, inputs}` call of the component's backend, and the answer is the observation the
//! agent reads. The backend (worker process, HTTP client, MCP session, vector store) lives in the
//! cell, so it outlives actor restarts and keeps its own processes supervised.

use super::work::{Failure, Produced, Work};
use crate::envelope::{Envelope, EventType};
use serde_json::Value as Json;
use std::sync::Arc;
use woodwork_tools::{ToolBackend, ToolError, ToolRequest};

/// Extra time the actor allows a tool call past the backend's own timeout, so the backend
/// answers its `Timeout` (and restarts its worker) before the actor gives up on the call.
pub const ACTOR_TIMEOUT_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// A tool component's behaviour: forwards calls to its backend.
pub struct ToolBehaviour {
    backend: Arc<dyn ToolBackend>,
}

impl ToolBehaviour {
    pub fn new(backend: Arc<dyn ToolBackend>) -> ToolBehaviour {
        ToolBehaviour { backend }
    }

    /// One call. A tool's own error (an exception, a non-2xx answer, a bad argument) is an
    /// observation the agent reads and the component did its work; a backend that is down or
    /// timed out is a failure of the component (counted, shown in `/components`).
    pub fn handle(&mut self, env: &Envelope) -> Work {
        let request = request_of(env);
        let call = self.backend.call(request);
        Work::Later(Box::pin(async move {
            match call.await {
                Ok(observation) => Ok(Produced::new(
                    EventType::ComponentResponse,
                    Json::String(observation),
                )),
                Err(ToolError::Failed(m)) => Ok(Produced::new(
                    EventType::ComponentResponse,
                    Json::String(format!("error: {m}")),
                )),
                Err(e) => Err(Failure::Error(e.to_string())),
            }
        }))
    }
}

/// The call a message asks for: `{action, inputs}` from an agent, or any other payload as the
/// inputs of the tool's default action (a text posted straight to the component).
pub fn request_of(env: &Envelope) -> ToolRequest {
    let (action, inputs) = match &*env.payload {
        Json::Object(m) if m.contains_key("action") || m.contains_key("inputs") => (
            m.get("action")
                .and_then(Json::as_str)
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            m.get("inputs").cloned().unwrap_or(Json::Null),
        ),
        other => (None, other.clone()),
    };
    ToolRequest {
        action,
        inputs,
        session_id: env.session_id.to_string(),
    }
}
