//! `memory short_term` as a tool (DESIGN.md §3): `read` answers the calling session's window as
//! `[USER]` / `[AI]` lines, `clear` forgets it. It acts on the session of the call only, so one
//! user's agent can never read or clear another's memory.

use super::work::{Produced, Work};
use crate::cell::ComponentCell;
use crate::envelope::{Envelope, EventType};
use crate::memory::MemoryLimits;
use crate::services::Services;
use serde_json::Value as Json;
use std::sync::Arc;

/// A memory component's behaviour.
pub struct MemoryTool {
    name: Arc<str>,
    /// The component's own bounds, applied to what a read finds (the broker's copy may have been
    /// written under other limits).
    limits: MemoryLimits,
    services: Arc<Services>,
}

impl MemoryTool {
    pub(crate) fn new(cell: &Arc<ComponentCell>, services: &Arc<Services>) -> MemoryTool {
        MemoryTool {
            name: cell.name.clone(),
            limits: MemoryLimits::of(&cell.spec),
            services: services.clone(),
        }
    }

    /// One `read` or `clear` call (the memory may be on the broker: answered once read).
    pub fn handle(&mut self, env: &Envelope) -> Work {
        let request = super::tool::request_of(env);
        let name = self.name.clone();
        let limits = self.limits;
        let services = self.services.clone();
        let env = env.clone();
        Work::Later(Box::pin(async move {
            let memory = services.memory();
            let observation = match request.action.as_deref().unwrap_or("read") {
                "read" => {
                    let text = memory.render(&env, &name, limits).await;
                    if text.is_empty() {
                        "the memory of this session is empty".to_string()
                    } else {
                        text
                    }
                }
                "clear" => {
                    if memory.clear(&env, &name).await {
                        "cleared the memory of this session".to_string()
                    } else {
                        "the memory of this session was already empty".to_string()
                    }
                }
                other => format!(
                    "error: `{name}` (memory short_term) has no action `{other}`; its actions are read, clear"
                ),
            };
            Ok(Produced::new(
                EventType::ComponentResponse,
                Json::String(observation),
            ))
        }))
    }
}
