//! `llm *` components: input text (after the session's memory window, when the llm declares
//! `memory:`) → `ChatModel::chat` → `component.response` with the text, streamed as it comes
//! when the caller asked for events.

use super::backends::Knowledge;
use super::behaviour::BehaviourError;
use super::retrieval;
use super::stream::{call_model, console_routes, StreamTo};
use super::work::{Failure, Produced, Work};
use crate::cell::ComponentCell;
use crate::envelope::{Envelope, EventType};
use crate::llm::{ChatMessage, ChatModel, ChatRequest, Role};
use crate::memory::MemoryRef;
use crate::services::Services;
use std::sync::Arc;

/// An llm component: its model (shared with agents, kept across restarts) and streaming choice.
pub struct LlmBehaviour {
    model: Arc<dyn ChatModel>,
    streaming: bool,
    memory: Option<MemoryRef>,
    knowledge: Option<Knowledge>,
    consoles: Arc<[usize]>,
    services: Arc<Services>,
}

impl LlmBehaviour {
    pub fn new(
        cell: &Arc<ComponentCell>,
        services: &Arc<Services>,
    ) -> Result<LlmBehaviour, BehaviourError> {
        let model = cell.model.clone().ok_or_else(|| BehaviourError::NoModel {
            llm: cell.name.to_string(),
        })?;
        let memory = MemoryRef::of(&cell.spec, |n| services.router.lookup(n).map(|c| &*c.spec))?;
        Ok(LlmBehaviour {
            model,
            streaming: cell.spec.streaming.unwrap_or(true),
            memory,
            knowledge: retrieval::knowledge_of(&cell.spec, &services.router)?,
            consoles: console_routes(cell, services),
            services: services.clone(),
        })
    }

    /// One chat call for one input.
    pub fn handle(&mut self, env: &Envelope, cell: &Arc<ComponentCell>) -> Work {
        let model = self.model.clone();
        let input = env.text();
        let knowledge = self.knowledge.clone();
        let stream_to = StreamTo::for_message(env, self.streaming, &self.services, &self.consoles);
        let parent = env.clone();
        let name = cell.name.clone();
        let memory = self.memory.clone();
        let services = self.services.clone();
        Work::Later(Box::pin(async move {
            let mut messages = Vec::with_capacity(1);
            if let Some(m) = &memory {
                messages = services.memory().recall(&parent, m).await;
            }
            messages.push(ChatMessage::new(Role::User, input.clone()));
            let mut request = ChatRequest {
                messages,
                tools: Vec::new(),
            };
            if let Some(kb) = &knowledge {
                if let Some(m) = retrieval::context_message(kb, &name, &input).await {
                    request.messages.insert(0, m);
                }
            }
            let resp = call_model(model, request, &parent, &name, stream_to.as_ref(), false)
                .await
                .map_err(Failure::Model)?;
            if let Some(m) = &memory {
                services
                    .memory()
                    .record(&parent, m, &input, &resp.text)
                    .await;
            }
            Ok(Produced::new(
                EventType::ComponentResponse,
                serde_json::Value::String(resp.text),
            ))
        }))
    }
}
