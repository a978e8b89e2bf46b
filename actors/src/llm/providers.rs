//! The factory the llm component actor calls: a component declaration in, a ready client out, with
//! configuration mistakes (missing key, wrong prop types) reported before any request is made.
//! Every default (model, base URL, Claude's `max_tokens`) comes from the parser's schema through
//! the typed spec; none is kept here.

use super::claude::{ClaudeClient, ClaudeConfig};
use super::hugging_face;
use super::ollama::{OllamaClient, OllamaConfig};
use super::openai::{OpenAiClient, OpenAiConfig};
use super::props::{self, ConfigError};
use super::ChatModel;
use std::sync::Arc;
use woodwork_parser::schema::defaults;
use woodwork_parser::spec::{ProviderSpec, Spec};
use woodwork_parser::Component;

/// The component types [`build_provider`] builds.
pub const PROVIDER_TYPES: [&str; 4] = ["openai", "claude", "ollama", "hugging_face"];

/// Builds the client for an `llm` component of type openai, claude, ollama or hugging_face (the
/// name tests, benchmarks and tools outside the runtime know it by).
pub fn build_provider(c: &Component) -> Result<Arc<dyn ChatModel>, ConfigError> {
    provider(c)
}

/// The client for an `llm` component of type openai, claude, ollama or hugging_face, with its
/// typed error (what a failed start reports).
pub fn provider(c: &Component) -> Result<Arc<dyn ChatModel>, ConfigError> {
    let client = |source| ConfigError::Client {
        context: woodwork_parser::spec::context(c),
        source,
    };
    match c.spec()? {
        Spec::OpenAi(p) => {
            let http = props::http(c, &p)?;
            // OpenAI itself needs a key; local compatible servers usually do not.
            let needs_key = http.base_url.contains("api.openai.com");
            let config = openai_config(c, &p, http, needs_key.then_some("OPENAI_API_KEY"))?;
            Ok(Arc::new(OpenAiClient::new(config).map_err(client)?))
        }
        Spec::HuggingFace(p) => {
            let http = props::http(c, &p)?;
            let config = openai_config(c, &p, http, Some(hugging_face::KEY_VARIABLE))?;
            Ok(Arc::new(OpenAiClient::new(config).map_err(client)?))
        }
        Spec::Claude(p) => {
            let config = ClaudeConfig {
                model: p.model.clone().unwrap_or_default(),
                api_key: props::required_key(c, &p, "ANTHROPIC_API_KEY")?,
                max_tokens: p.max_tokens.unwrap_or(defaults::CLAUDE_MAX_TOKENS as u64),
                temperature: p.temperature,
                http: props::http(c, &p)?,
            };
            Ok(Arc::new(ClaudeClient::new(config).map_err(client)?))
        }
        Spec::Ollama(p) => {
            let model = p.model.clone().ok_or_else(|| ConfigError::MissingModel {
                context: woodwork_parser::spec::context(c),
            })?;
            let config = OllamaConfig {
                model,
                api_key: p.api_key.clone(),
                temperature: p.temperature,
                max_tokens: p.max_tokens,
                http: props::http(c, &p)?,
            };
            Ok(Arc::new(OllamaClient::new(config).map_err(client)?))
        }
        _ => Err(ConfigError::NotAProvider {
            context: woodwork_parser::spec::context(c),
            type_name: c.type_name.clone(),
            known: PROVIDER_TYPES.join(", "),
        }),
    }
}

fn openai_config(
    c: &Component,
    p: &ProviderSpec,
    http: super::http::HttpSettings,
    key_variable: Option<&'static str>,
) -> Result<OpenAiConfig, ConfigError> {
    let api_key = match key_variable {
        Some(var) => Some(props::required_key(c, p, var)?),
        None => p.api_key.clone(),
    };
    Ok(OpenAiConfig {
        type_name: c.type_name.clone(),
        model: p.model.clone().unwrap_or_default(),
        api_key,
        temperature: p.temperature,
        max_tokens: p.max_tokens,
        http,
    })
}
