//! Specs of the `llm` types: the four network providers share one shape, `mock` keeps its script.

use super::read::{Reader, SpecError};
use crate::model::{Secret, Value};

/// `llm openai | claude | ollama | hugging_face`: what a provider client is built from, with the
/// schema's defaults (model, base URL, Claude's `max_tokens`) applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderSpec {
    /// The model name; None only for `llm ollama` without `model` (it has no default).
    pub model: Option<String>,
    /// The key, None when absent or blank (whether one is needed depends on the provider).
    pub api_key: Option<Secret>,
    pub base_url: String,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    /// Seconds allowed between two streamed chunks.
    pub idle_timeout: Option<f64>,
    pub max_retries: Option<u64>,
    /// `memory:` reference.
    pub memory: Option<String>,
    /// `knowledge_base:` reference.
    pub knowledge_base: Option<String>,
}

impl ProviderSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        Ok(ProviderSpec {
            model: r.string("model")?,
            api_key: r.api_key()?,
            base_url: r.string("base_url")?.unwrap_or_default(),
            temperature: r.f64("temperature")?,
            max_tokens: r.u64("max_tokens")?,
            idle_timeout: r.f64("idle_timeout")?,
            max_retries: r.u64("max_retries")?,
            memory: r.reference("memory"),
            knowledge_base: r.reference("knowledge_base"),
        })
    }
}

/// `llm mock { reply | replies }`: the values as written; the mock model parses its script.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MockSpec {
    pub reply: Option<Value>,
    pub replies: Option<Value>,
}

impl MockSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Self {
        MockSpec {
            reply: r.raw("reply"),
            replies: r.raw("replies"),
        }
    }
}
