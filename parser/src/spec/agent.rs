//! Spec of `agent llm`: the model it drives, its tools and its step limit.

use super::read::{Reader, SpecError};
use crate::model::Value;

/// `agent llm`, references as names.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSpec {
    /// The `llm` it calls (None only for a hand-built config without one).
    pub model: Option<String>,
    pub tools: Vec<String>,
    pub planning: bool,
    pub max_steps: Option<u64>,
    /// The prompt as written: text or `{ file: "…" }`.
    pub prompt: Option<Value>,
    pub memory: Option<String>,
    pub knowledge_base: Option<String>,
}

impl AgentSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        Ok(AgentSpec {
            model: r.reference("model"),
            tools: r.references("tools"),
            planning: r.bool("planning")?,
            max_steps: r.u64("max_steps")?,
            prompt: r.raw("prompt"),
            memory: r.reference("memory"),
            knowledge_base: r.reference("knowledge_base"),
        })
    }
}
