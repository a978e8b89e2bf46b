//! Webhook hooks and pipes (`{ event, webhook: "url" }`): the payload POSTed as JSON; a pipe's
//! JSON answer replaces the payload (`null` drops it, an empty body keeps it). Errors name the
//! host only, never the full URL (it may carry a token).

use std::time::Duration;

/// Most bytes read from a webhook's answer.
const MAX_BODY: usize = 1 << 20;

/// Checks a webhook URL at start: http or https, with a host.
pub fn validate(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("webhook URL is invalid: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("webhook URL must be http:// or https:// with a host".into());
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
) -> Result<Option<serde_json::Value>, String> {
    let who = host(url);
    let mut resp = client
        .post(url.clone())
        .timeout(timeout)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("webhook {who}: {}", without_url(e)))?;
    let status = resp.status();
    let mut buf = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("webhook {who}: {}", without_url(e)))?
    {
        if buf.len() + chunk.len() > MAX_BODY {
            return Err(format!("webhook {who} answered more than {MAX_BODY} bytes"));
        }
        buf.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        return Err(format!("webhook {who} answered HTTP {status}"));
    }
    let text = String::from_utf8_lossy(&buf);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("webhook {who} did not answer JSON: {e}"))
}

fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}
