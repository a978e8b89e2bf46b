//! Specs of the `output` types that have keys of their own: `output webhook`.

use super::read::{Reader, SecretPairs, SpecError};
use crate::schema::defaults;

/// `output webhook { url, headers?, retries? }` (its per-attempt `timeout` is the common key,
/// [`crate::model::Component::timeout`]).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookSpec {
    /// Where each final answer is POSTed, as written (it may carry credentials: shown only
    /// through `woodwork_tools::shown::public_url`).
    pub url: String,
    /// Extra headers; values are secrets (tokens), never shown.
    pub headers: SecretPairs,
    /// POSTs after the first one fails with a 5xx, a timeout or a connection error.
    pub retries: u64,
}

impl WebhookSpec {
    pub(crate) fn read(r: &Reader<'_>) -> Result<Self, SpecError> {
        Ok(WebhookSpec {
            url: r.required("url")?,
            headers: r.secret_map("headers")?,
            retries: r
                .u64("retries")?
                .unwrap_or(defaults::WEBHOOK_RETRIES as u64),
        })
    }
}
