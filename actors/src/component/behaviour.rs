//! What each component type does with a message. Rebuilt from the spec on every restart (fresh
//! state); long-lived parts (models) come from the cell, which survives restarts.

use super::agent::AgentBehaviour;
use super::cell::ComponentCell;
use super::console::Console;
use super::llm::LlmBehaviour;
use super::work::{Failure, Produced, Work};
use crate::envelope::{Envelope, EventType};
use crate::services::Services;
use std::sync::Arc;
use woodwork_parser::Kind;

/// A component's behaviour.
pub enum Behaviour {
    /// `input *`: passes its input on to its routes.
    Input,
    /// `output console`: prints streamed turns on stdout, returns the terminal result.
    Console(Console),
    /// `output webhook`: passes through (POST comes later).
    PassThrough,
    Llm(LlmBehaviour),
    Agent(AgentBehaviour),
    /// Kinds not implemented yet: start fine, answer work with a clear error.
    Passive {
        what: String,
    },
}

impl Behaviour {
    /// The behaviour for a component; an error means the component cannot start.
    pub fn build(cell: &Arc<ComponentCell>, services: &Arc<Services>) -> Result<Behaviour, String> {
        let spec = &cell.spec;
        Ok(match spec.kind {
            Kind::Input => Behaviour::Input,
            Kind::Output if spec.type_name == "console" => Behaviour::Console(Console::default()),
            Kind::Output => Behaviour::PassThrough,
            Kind::Llm => Behaviour::Llm(LlmBehaviour::new(cell, services)?),
            Kind::Agent => Behaviour::Agent(AgentBehaviour::new(cell, services)?),
            other => Behaviour::Passive {
                what: format!("{} {}", other.as_str(), spec.type_name),
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
            Behaviour::PassThrough => Work::Now(Ok(Produced::shared(
                EventType::ComponentResponse,
                env.payload.clone(),
            ))),
            Behaviour::Llm(b) => b.handle(env, cell),
            Behaviour::Agent(b) => b.handle(env, cell),
            Behaviour::Passive { what } => Work::Now(Err(Failure::Error(format!(
                "component type {what} is not implemented yet"
            )))),
        }
    }
}
