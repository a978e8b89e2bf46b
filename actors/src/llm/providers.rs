//! The factory the llm component actor calls: a component declaration in, a ready client out, with
//! configuration mistakes (missing key, wrong prop types) reported before any request is made.

use super::claude::{self, ClaudeClient, ClaudeConfig};
use super::hugging_face;
use super::ollama::{self, OllamaClient, OllamaConfig};
use super::openai::{self, OpenAiClient, OpenAiConfig};
use super::props::Props;
use super::ChatModel;
use std::sync::Arc;
use woodwork_parser::Component;

/// The component types [`build_provider`] builds.
pub const PROVIDER_TYPES: [&str; 4] = ["openai", "claude", "ollama", "hugging_face"];

/// Builds the client for an `llm` component of type openai, claude, ollama or hugging_face.
pub fn build_provider(c: &Component) -> Result<Arc<dyn ChatModel>, String> {
    let props = Props::new(c);
    match c.type_name.as_str() {
        "openai" => {
            let http = props.http(openai::DEFAULT_BASE_URL)?;
            // OpenAI itself needs a key; local compatible servers usually do not.
            let needs_key = http.base_url.contains("api.openai.com");
            let config = openai_config(&props, c, http, needs_key.then_some("OPENAI_API_KEY"))?;
            Ok(Arc::new(
                OpenAiClient::new(config).map_err(|e| in_context(&props, e))?,
            ))
        }
        "hugging_face" => {
            let http = props.http(hugging_face::DEFAULT_BASE_URL)?;
            let mut config = openai_config(&props, c, http, Some(hugging_face::KEY_VARIABLE))?;
            if props.string("model")?.is_none() {
                config.model = hugging_face::DEFAULT_MODEL.to_owned();
            }
            Ok(Arc::new(
                OpenAiClient::new(config).map_err(|e| in_context(&props, e))?,
            ))
        }
        "claude" => {
            let config = ClaudeConfig {
                model: props
                    .string("model")?
                    .unwrap_or_else(|| claude::DEFAULT_MODEL.to_owned()),
                api_key: props
                    .api_key(Some("ANTHROPIC_API_KEY"))?
                    .ok_or_else(|| in_context(&props, "`api_key` is missing".into()))?,
                max_tokens: props
                    .u64("max_tokens")?
                    .unwrap_or(claude::DEFAULT_MAX_TOKENS),
                temperature: props.f64("temperature")?,
                http: props.http(claude::DEFAULT_BASE_URL)?,
            };
            Ok(Arc::new(
                ClaudeClient::new(config).map_err(|e| in_context(&props, e))?,
            ))
        }
        "ollama" => {
            let model = props.string("model")?.ok_or_else(|| {
                in_context(
                    &props,
                    "`model` is required (the name of a pulled model, e.g. model: \"llama3.2\")"
                        .into(),
                )
            })?;
            let config = OllamaConfig {
                model,
                api_key: props.api_key(None)?,
                temperature: props.f64("temperature")?,
                max_tokens: props.u64("max_tokens")?,
                http: props.http(ollama::DEFAULT_BASE_URL)?,
            };
            Ok(Arc::new(
                OllamaClient::new(config).map_err(|e| in_context(&props, e))?,
            ))
        }
        other => Err(format!(
            "{}: llm type `{other}` is not a provider client; provider types are {}",
            props.context(),
            PROVIDER_TYPES.join(", ")
        )),
    }
}

fn openai_config(
    props: &Props<'_>,
    c: &Component,
    http: super::http::HttpSettings,
    key_variable: Option<&str>,
) -> Result<OpenAiConfig, String> {
    Ok(OpenAiConfig {
        type_name: c.type_name.clone(),
        model: props
            .string("model")?
            .unwrap_or_else(|| openai::DEFAULT_MODEL.to_owned()),
        api_key: props.api_key(key_variable)?,
        temperature: props.f64("temperature")?,
        max_tokens: props.u64("max_tokens")?,
        http,
    })
}

fn in_context(props: &Props<'_>, message: String) -> String {
    format!("{}: {message}", props.context())
}
