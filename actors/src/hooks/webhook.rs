//! Webhook hooks and pipes (`{ event, webhook: "url" }`): the payload POSTed as JSON; a pipe's
//! JSON answer replaces the payload (`null` drops it, an empty body keeps it). Errors name the
//! host only, never the full URL (it may carry a token).

use std::time::Duration;

/// Most bytes read from a webhook's answer.
const MAX_BODY: usize = 1 << 20;

/// Why a URL does not parse (the `url` crate's error, named through reqwest, which re-exports
/// its `Url` but not the error).
pub type UrlParseError = <reqwest::Url as std::str::FromStr>::Err;

/// Why a webhook URL is refused at start (a hook's `webhook:`, an `output webhook`'s `url`);
/// the caller adds where it is written. The URL itself is not repeated (it may carry a token).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("webhook URL is invalid: {0}")]
    Invalid(#[source] UrlParseError),
    #[error("webhook URL must be http:// or https:// with a host")]
    NotHttp,
}

/// Why one webhook POST failed; the message names the host only, never the full URL.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Connecting, sending or reading failed (or timed out); `reason` is reqwest's, URL removed.
    #[error("webhook {host}: {reason}")]
    Transport { host: String, reason: String },
    #[error("webhook {host} answered more than {MAX_BODY} bytes")]
    TooLarge { host: String },
    #[error("webhook {host} answered HTTP {status}")]
    Status {
        host: String,
        status: reqwest::StatusCode,
    },
    #[error("webhook {host} did not answer JSON: {source}")]
    NotJson {
        host: String,
        source: serde_json::Error,
    },
}

/// Checks a webhook URL at start: http or https, with a host.
pub fn validate(url: &str) -> Result<reqwest::Url, WebhookUrlError> {
    let parsed = reqwest::Url::parse(url).map_err(WebhookUrlError::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(WebhookUrlError::NotHttp);
    }
    Ok(parsed)
}

fn host(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "webhook".into(),
    }
}

/// POSTs `body`; returns the answer as JSON (`None` for an empty body).
pub async fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<Option<serde_json::Value>, WebhookError> {
    let who = host(url);
    let transport = |e: reqwest::Error| WebhookError::Transport {
        host: who.clone(),
        reason: e.without_url().to_string(),
    };
    let mut resp = client
        .post(url.clone())
        .timeout(timeout)
        .json(body)
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status();
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if buf.len() + chunk.len() > MAX_BODY {
            return Err(WebhookError::TooLarge { host: who });
        }
        buf.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        return Err(WebhookError::Status { host: who, status });
    }
    let text = String::from_utf8_lossy(&buf);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|source| WebhookError::NotJson { host: who, source })
}
