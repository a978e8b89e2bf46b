//! An agent loop paused on `ask_user`: the session keeps it until the user's next input resumes it.
//! Defined beside the session table that holds it, so sessions do not depend on the agent.

use crate::llm::{ChatMessage, ToolCall};

/// An agent loop waiting for the user's answer to `ask_user`, kept in the session.
#[derive(Debug, Clone)]
pub struct Paused {
    pub(crate) messages: Vec<ChatMessage>,
    pub(crate) step: usize,
    pub(crate) call: ToolCall,
    /// Native call (answered with a tool message) or a text `Action:` (a user message).
    pub(crate) native: bool,
    /// The turn's original input (what memory records).
    pub(crate) input: String,
}
