//! `llm *` components: input text → `ChatModel::chat` → `component.response` with the text.

use super::cell::ComponentCell;
use super::stream::call_model;
use super::work::{Failure, Produced, Work};
use crate::envelope::{Envelope, EventType};
use crate::llm::{ChatMessage, ChatModel, ChatRequest, Role};
use std::sync::Arc;

/// An llm component: its model (shared with agents, kept across restarts) and streaming choice.
pub struct LlmBehaviour {
    model: Arc<dyn ChatModel>,
    streaming: bool,
}

impl LlmBehaviour {
    pub fn new(cell: &Arc<ComponentCell>) -> Result<LlmBehaviour, String> {
        let model = cell
            .model
            .clone()
            .ok_or_else(|| format!("llm `{}` has no model", cell.name))?;
        Ok(LlmBehaviour {
            model,
            streaming: cell.spec.streaming.unwrap_or(true),
        })
    }

    /// One chat call for one input.
    pub fn handle(&mut self, env: &Envelope, cell: &Arc<ComponentCell>) -> Work {
        let model = self.model.clone();
        let request = ChatRequest {
            messages: vec![ChatMessage::new(Role::User, env.text())],
            tools: Vec::new(),
        };
        let stream_to = if self.streaming {
            env.reply
                .as_ref()
                .and_then(|r| r.turn())
                .filter(|t| t.events.is_some())
                .cloned()
        } else {
            None
        };
        let parent = env.clone();
        let name = cell.name.clone();
        Work::Later(Box::pin(async move {
            let resp = call_model(model, request, parent, name, stream_to)
                .await
                .map_err(Failure::Model)?;
            Ok(Produced::new(
                EventType::ComponentResponse,
                serde_json::Value::String(resp.text),
            ))
        }))
    }
}
