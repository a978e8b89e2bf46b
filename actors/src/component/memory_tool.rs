//! `memory short_term` as a tool (DESIGN.md §3): `read` answers the calling session's window as
//! `[USER]` / `[AI]` lines, `clear` forgets it. It acts on the session of the call only, so one
//! user's agent can never read or clear another's memory.

use super::work::{Produced, Work};
use crate::envelope::{Envelope, EventType};
use crate::session::SessionTable;
use serde_json::Value as Json;
use std::sync::Arc;

/// A memory component's behaviour.
pub struct MemoryTool {
    name: Arc<str>,
    sessions: Arc<SessionTable>,
}

impl MemoryTool {
    pub fn new(name: Arc<str>, sessions: Arc<SessionTable>) -> MemoryTool {
        MemoryTool { name, sessions }
    }

    /// One `read` or `clear` call (answered at once: no I/O).
    pub fn handle(&mut self, env: &Envelope) -> Work {
        let request = super::tool::request_of(env);
        let session = &*env.session_id;
        let observation = match request.action.as_deref().unwrap_or("read") {
            "read" => {
                let text = self.sessions.render_memory(session, &self.name);
                if text.is_empty() {
                    "the memory of this session is empty".to_string()
                } else {
                    text
                }
            }
            "clear" => {
                if self.sessions.clear_memory(session, &self.name) {
                    "cleared the memory of this session".to_string()
                } else {
                    "the memory of this session was already empty".to_string()
                }
            }
            other => format!(
                "error: `{}` (memory short_term) has no action `{other}`; its actions are read, clear",
                self.name
            ),
        };
        Work::Now(Ok(Produced::new(
            EventType::ComponentResponse,
            Json::String(observation),
        )))
    }
}
