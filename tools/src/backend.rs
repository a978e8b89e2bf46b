//! The one interface every tool kind implements, so the runtime wires, describes, calls and
//! health-checks a Python file, an HTTP API, an MCP server or a knowledge base the same way.

use futures_util::future::BoxFuture;
use std::time::Duration;

/// One call of a tool, as the agent asked for it.
#[derive(Clone, Debug, Default)]
pub struct ToolRequest {
    /// The function, endpoint or MCP tool; `None` when the agent named none.
    pub action: Option<String>,
    /// The arguments (an object for every kind but text tools).
    pub inputs: serde_json::Value,
    /// The session the call belongs to (memory tools act on that session only).
    pub session_id: String,
}

/// Why a call produced no result. Each variant becomes an observation the agent reads, so the
/// agent carries on; only `Unavailable` and `Timeout` count as failures of the component.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool ran and reported an error (a Python exception, a non-2xx answer, an unknown
    /// action, arguments of the wrong type): observation `error: <message>`.
    #[error("{0}")]
    Failed(String),
    /// The call took longer than the tool's timeout (the worker or request was abandoned).
    #[error("no answer within {}s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The tool's process or server is down or restarting.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ToolError {
    /// True when the component itself is at fault (worker down, timeout), not the call's inputs.
    pub fn is_component_failure(&self) -> bool {
        !matches!(self, ToolError::Failed(_))
    }
}

/// A call's outcome: the observation text.
pub type ToolFuture = BoxFuture<'static, Result<String, ToolError>>;

/// Whether a backend can do its work now (read by `/health` and `/components`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Still starting (worker spawning, server connecting, files being embedded).
    Starting,
    Ready,
    /// Down, with the cause; the backend is retrying on its own.
    Down(String),
}

/// A tool kind's implementation. Backends are shared (`Arc`) between the component and the
/// agents that use it, and outlive component restarts.
pub trait ToolBackend: Send + Sync + 'static {
    /// What the model is told about this tool: its actions, their inputs and what they do.
    /// May change at run time (an MCP server restarted with other tools).
    fn description(&self) -> String;

    /// Starts the backend's resources (spawn a worker, connect, ingest). Called once at runtime
    /// start; an error here is a start error the operator sees. Restarts after that are the
    /// backend's own business.
    fn start(&self) -> BoxFuture<'static, Result<(), ToolError>>;

    /// Runs one call.
    fn call(&self, request: ToolRequest) -> ToolFuture;

    /// Can it work now?
    fn readiness(&self) -> Readiness;

    /// Stops processes and connections (runtime shutdown).
    fn shutdown(&self) -> BoxFuture<'static, ()>;
}
