//! Why an agent cannot start: each case says which setting to fix (the component's start error).

use crate::component::retrieval::KnowledgeRefError;
use crate::memory::MemoryRefError;
use woodwork_parser::spec::SpecError;

/// A start error of an `agent` component; the message names the agent and what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("agent `{agent}` needs `model: <an llm component>`")]
    MissingModel { agent: String },
    #[error("agent `{agent}`: model `{model}` is not an llm component")]
    NotAModel { agent: String, model: String },
    #[error("agent `{agent}`: model `{model}` has no client")]
    NoClient { agent: String, model: String },
    #[error("agent `{agent}` cannot be its own tool")]
    OwnTool { agent: String },
    #[error("agent `{agent}`: tool `{tool}` is not a declared component")]
    UnknownTool { agent: String, tool: String },
    #[error("agent `{agent}`: `prompt` must be text or {{ file: \"prompt.md\" }}")]
    PromptShape { agent: String },
    /// The prompt file could not be read; `reason` already names the path and the fix.
    #[error("agent `{agent}`: prompt file {reason}")]
    PromptFile { agent: String, reason: String },
    /// Its `knowledge_base` setting (or its model's) does not resolve; the message already names
    /// the component and the setting.
    #[error(transparent)]
    Knowledge(#[from] KnowledgeRefError),
    /// Its `memory` setting (or its model's) does not resolve; the message already names the
    /// component and the setting.
    #[error(transparent)]
    Memory(#[from] MemoryRefError),
    /// Its settings do not read as an `agent llm` spec (a hand-built config with a wrong type).
    #[error(transparent)]
    Config(#[from] SpecError),
}
