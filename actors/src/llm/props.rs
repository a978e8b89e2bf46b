//! Checks an llm component's typed spec ([`woodwork_parser::spec`]) against what the runtime can
//! run (URL schemes, timeout ranges, the retry budget, a needed key), with errors that name the
//! component, the key and the fix, and never show a secret's value.

use super::client_error::ClientError;
use super::http::HttpSettings;
use super::mock_error::MockError;
use std::time::Duration;
use thiserror::Error;
use woodwork_parser::spec::{self, ProviderSpec, SpecError};
use woodwork_parser::Component;

/// Most retries a component may ask for: one request makes at most 4 provider calls whatever
/// layer retries (DESIGN.md §6), so more is refused rather than silently capped.
const MAX_RETRIES_LIMIT: u64 = crate::bus::retry::MAX_RETRIES_PER_REQUEST as u64;

/// Why a component's config cannot be run; the message names the component (`context`) and the
/// key, so a start failure says what to change in the `.ww` file.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A prop of the wrong type or an unread `$VAR`.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A provider that needs a key has none.
    #[error("{context}: no API key: set the environment variable {var} (read when the .ww file is loaded and sets no `api_key`), or write `api_key: ${var}`")]
    MissingKey { context: String, var: &'static str },
    /// `llm ollama` has no default model.
    #[error(
        "{context}: `model` is required (the name of a pulled model, e.g. model: \"llama3.2\")"
    )]
    MissingModel { context: String },
    #[error("{context}: `base_url` must start with http:// or https://, not {url:?}")]
    BaseUrl { context: String, url: String },
    #[error("{context}: `timeout` must be above 0")]
    ZeroTimeout { context: String },
    #[error("{context}: `idle_timeout` must be a number of seconds above 0 (and below a day)")]
    IdleTimeout { context: String },
    #[error("{context}: `max_retries` is {n}; use at most {MAX_RETRIES_LIMIT}")]
    TooManyRetries { context: String, n: u64 },
    /// An llm type that is not a network provider.
    #[error(
        "{context}: llm type `{type_name}` is not a provider client; provider types are {known}"
    )]
    NotAProvider {
        context: String,
        type_name: String,
        known: String,
    },
    /// An `llm mock` script that cannot be played (its message names the component and entry).
    #[error(transparent)]
    Mock(#[from] MockError),
    /// A provider client that cannot be built (a key that is no HTTP header, a TLS setup error).
    #[error("{context}: {source}")]
    Client {
        context: String,
        source: ClientError,
    },
    /// Anything else about one key or the whole declaration (a client or backend refusing it).
    #[error("{context}: {message}")]
    Invalid { context: String, message: String },
}

impl ConfigError {
    /// An error about `c` with a message of its own.
    pub fn invalid(c: &Component, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            context: spec::context(c),
            message: message.into(),
        }
    }
}

/// The key a provider's spec must carry: an error naming `var` when absent.
pub fn required_key(
    c: &Component,
    p: &ProviderSpec,
    var: &'static str,
) -> Result<woodwork_parser::Secret, ConfigError> {
    p.api_key.clone().ok_or_else(|| ConfigError::MissingKey {
        context: spec::context(c),
        var,
    })
}

/// `base_url`, `timeout`, `idle_timeout` (seconds) and `max_retries`, checked.
pub fn http(c: &Component, p: &ProviderSpec) -> Result<HttpSettings, ConfigError> {
    let context = || spec::context(c);
    let base = &p.base_url;
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(ConfigError::BaseUrl {
            context: context(),
            url: base.clone(),
        });
    }
    let mut settings = HttpSettings::new(base);
    if let Some(t) = c.timeout {
        if t.is_zero() {
            return Err(ConfigError::ZeroTimeout { context: context() });
        }
        settings.timeout = t;
    }
    settings.idle_timeout = match p.idle_timeout {
        Some(s) if s.is_finite() && s > 0.0 && s < 86_400.0 => Duration::from_secs_f64(s),
        Some(_) => return Err(ConfigError::IdleTimeout { context: context() }),
        None => settings.idle_timeout.min(settings.timeout),
    };
    if let Some(n) = p.max_retries {
        if n > MAX_RETRIES_LIMIT {
            return Err(ConfigError::TooManyRetries {
                context: context(),
                n,
            });
        }
        settings.retry.max_retries = n as u32;
    }
    Ok(settings)
}
