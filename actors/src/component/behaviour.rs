//! What each component type does with a message. Rebuilt from the spec on every restart (fresh
//! state); long-lived parts (models) come from the cell, which survives restarts.

use super::agent::{AgentBehaviour, AgentError};
use super::console::Console;
use super::llm::LlmBehaviour;
use super::memory_tool::MemoryTool;
use super::retrieval::KnowledgeRefError;
use super::tool::ToolBehaviour;
use super::webhook::{Webhook, WebhookSetupError};
use super::work::{Failure, Produced, Work};
use crate::cell::ComponentCell;
use crate::envelope::{Envelope, EventType};
use crate::memory::MemoryRefError;
use crate::services::Services;
use std::sync::Arc;
use woodwork_parser::Kind;

/// Why a component's behaviour cannot be built: the component cannot start (or restart), and the
/// message, naming the component and the setting, is what the start error and `/components` show.
#[derive(Debug, thiserror::Error)]
pub enum BehaviourError {
    #[error(transparent)]
    Webhook(#[from] WebhookSetupError),
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// An llm component whose cell holds no model client.
    #[error("llm `{llm}` has no model")]
    NoModel { llm: String },
    #[error(transparent)]
    Memory(#[from] MemoryRefError),
    #[error(transparent)]
    Knowledge(#[from] KnowledgeRefError),
    /// A tool kind whose cell holds no backend.
    #[error("component `{name}` ({kind} {type_name}) has no tool backend")]
    NoToolBackend {
        name: String,
        kind: Kind,
        type_name: String,
    },
}

/// A component's behaviour.
pub enum Behaviour {
    /// `input *`: passes its input on to its routes.
    Input,
    /// `output console`: prints streamed turns on stdout, returns the terminal result.
    Console(Console),
    /// `output webhook`: returns each answer to the caller and POSTs it to its `url`.
    Webhook(Webhook),
    Llm(LlmBehaviour),
    Agent(AgentBehaviour),
    /// `api *`, `mcp server`, `knowledge_base *`: calls of the cell's tool backend.
    Tool(ToolBehaviour),
    /// `memory short_term` as a tool: `read`, `clear` on the caller's session.
    Memory(MemoryTool),
    /// A declaration this process does not run (`vm server`): takes no messages.
    Inactive {
        what: String,
    },
}

impl Behaviour {
    /// The behaviour for a component; an error means the component cannot start.
    pub fn build(
        cell: &Arc<ComponentCell>,
        services: &Arc<Services>,
    ) -> Result<Behaviour, BehaviourError> {
        let spec = &cell.spec;
        Ok(match spec.kind {
            Kind::Input => Behaviour::Input,
            Kind::Output if spec.type_name == "console" => Behaviour::Console(Console::default()),
            Kind::Output => Behaviour::Webhook(Webhook::new(
                spec,
                services.bus.clone(),
                services.opts.mailbox_capacity,
                services.background.clone(),
            )?),
            Kind::Llm => Behaviour::Llm(LlmBehaviour::new(cell, services)?),
            Kind::Agent => Behaviour::Agent(AgentBehaviour::new(cell, services)?),
            Kind::Api | Kind::Mcp | Kind::KnowledgeBase => {
                let backend =
                    cell.backends
                        .tool
                        .clone()
                        .ok_or_else(|| BehaviourError::NoToolBackend {
                            name: spec.name.to_string(),
                            kind: spec.kind,
                            type_name: spec.type_name.to_string(),
                        })?;
                Behaviour::Tool(ToolBehaviour::new(backend))
            }
            Kind::Memory => Behaviour::Memory(MemoryTool::new(cell, services)),
            Kind::Vm => Behaviour::Inactive {
                what: format!("{} {}", spec.kind, spec.type_name),
            },
        })
    }

    /// Handles one message.
    pub fn handle(&mut self, env: &Envelope, cell: &Arc<ComponentCell>) -> Work {
        match self {
            Behaviour::Input => Work::Now(Ok(Produced::shared(
                EventType::InputReceived,
                env.payload.clone(),
            ))),
            Behaviour::Console(c) => c.handle(env, &cell.name),
            Behaviour::Webhook(w) => w.handle(env, cell),
            Behaviour::Llm(b) => b.handle(env, cell),
            Behaviour::Agent(b) => b.handle(env, cell),
            Behaviour::Tool(b) => b.handle(env),
            Behaviour::Memory(b) => b.handle(env),
            Behaviour::Inactive { what } => Work::Now(Err(Failure::Error(format!(
                "`{}` ({what}) is a placement declaration, not a component that takes messages",
                cell.name
            )))),
        }
    }
}
