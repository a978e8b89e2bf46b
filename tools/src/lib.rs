//! Tool backends: what an agent's `{tool, action, inputs}` call does for each tool kind of
//! DESIGN.md §3. Each backend owns its outside resources (a Python worker, an HTTP client, an MCP
//! server process) and keeps them alive itself, so the actor runtime only routes calls and reports
//! readiness. Nothing here knows of actors or of the `.ww` parser: backends take typed settings.

pub mod backend;
mod backoff;
pub mod files;
pub mod observation;
pub mod process;
pub mod shown;

pub use backend::{Readiness, ToolBackend, ToolError, ToolFuture, ToolRequest};
pub mod functions;
pub mod mcp;
pub mod web;
