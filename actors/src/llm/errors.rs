//! Classification of provider failures into [`ModelErrorKind`] (DESIGN.md §4), from HTTP status,
//! the provider's error body and transport errors, so breakers and retries treat every provider
//! the same way. Messages are trimmed and scrubbed of the key before they leave this module.

use super::{ModelError, ModelErrorKind};
use reqwest::header::HeaderMap;
use serde_json::Value as Json;
use std::time::{Duration, SystemTime};

/// Longest provider message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// Builds the error for a non-success HTTP answer from `url`. A 404/405 means nothing speaks this
/// API there (most often a `base_url` missing its `/v1`): a configuration error whose message
/// names the URL (without credentials or query) and what was expected there.
pub fn from_status(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    secret: Option<&str>,
    url: &str,
) -> ModelError {
    let json: Option<Json> = serde_json::from_slice(body).ok();
    let detail = json
        .as_ref()
        .map(ProviderError::from_json)
        .unwrap_or_else(|| ProviderError {
            message: String::from_utf8_lossy(body).trim().to_owned(),
            ..ProviderError::default()
        });
    let kind = match status {
        429 => ModelErrorKind::RateLimited,
        529 => ModelErrorKind::Overloaded,
        500..=599 if detail.is_overloaded() => ModelErrorKind::Overloaded,
        500..=599 => ModelErrorKind::Server,
        408 => ModelErrorKind::Timeout,
        401 | 403 => ModelErrorKind::Auth,
        404 | 405 => ModelErrorKind::Config,
        _ if detail.is_context_length() => ModelErrorKind::ContextLength,
        _ => ModelErrorKind::BadRequest,
    };
    let text = if detail.message.is_empty() {
        "(no error message)".to_owned()
    } else {
        detail.message.clone()
    };
    let text = scrub(&text, secret);
    let message = if kind == ModelErrorKind::Config {
        let called = scrub(&shown_url(url), secret);
        let check = if detail.is_about_the_model() {
            "check `base_url` and `model`"
        } else {
            "check `base_url`"
        };
        format!(
            "HTTP {status} from {called}: {text}; expected {}; {check}",
            expected_api(&called)
        )
    } else {
        format!("HTTP {status} from the provider: {text}")
    };
    let mut err = ModelError::new(kind, message);
    err.status = Some(status);
    err.retry_after = retry_after(headers);
    err
}

/// `url` as it may be shown: no user, password, query or fragment (keys hide there).
fn shown_url(url: &str) -> String {
    woodwork_tools::shown::public_url(url)
        .unwrap_or_else(|| "the provider's URL (unparsable)".to_owned())
}

/// What should have answered at `url`, from the path each provider calls.
fn expected_api(url: &str) -> String {
    if url.ends_with("/chat/completions") {
        "an OpenAI-compatible /chat/completions endpoint".to_owned()
    } else if url.ends_with("/api/chat") {
        "an Ollama /api/chat endpoint".to_owned()
    } else if url.ends_with("/messages") {
        "an Anthropic /v1/messages endpoint".to_owned()
    } else {
        "a model API at this URL".to_owned()
    }
}

/// The error for a stream that stopped before the provider's end marker (`marker`, as the
/// provider spells it): the connection was cut, which is retryable.
pub fn stream_cut(marker: &str) -> ModelError {
    ModelError::new(
        ModelErrorKind::Connection,
        format!("the stream ended before {marker}: the connection was cut"),
    )
}

/// Builds the error for an error object a provider sent inside a successful (streamed) answer,
/// e.g. Anthropic's `event: error` or an OpenAI-compatible `data: {"error": …}`.
pub fn from_stream_error(json: &Json, secret: Option<&str>) -> ModelError {
    let detail = ProviderError::from_json(json);
    let kind = if detail.is_overloaded() {
        ModelErrorKind::Overloaded
    } else if detail.is_context_length() {
        ModelErrorKind::ContextLength
    } else {
        match detail.kind.as_deref() {
            Some("rate_limit_error" | "rate_limit_exceeded") => ModelErrorKind::RateLimited,
            Some("authentication_error" | "permission_error") => ModelErrorKind::Auth,
            Some("invalid_request_error" | "not_found_error") => ModelErrorKind::BadRequest,
            Some("timeout_error") => ModelErrorKind::Timeout,
            _ => ModelErrorKind::Server,
        }
    };
    ModelError::new(
        kind,
        format!(
            "the provider reported an error mid-stream: {}",
            scrub(&detail.message, secret)
        ),
    )
}

/// Maps a transport error (no usable HTTP answer) to a kind; the URL is left out of the message.
pub fn from_transport(err: reqwest::Error) -> ModelError {
    let kind = if err.is_timeout() {
        ModelErrorKind::Timeout
    } else if err.is_builder() {
        ModelErrorKind::BadRequest
    } else {
        ModelErrorKind::Connection
    };
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ModelError::new(kind, message)
}

/// The error for a body that does not have the shape this client expects.
pub fn protocol(what: impl std::fmt::Display) -> ModelError {
    ModelError::new(
        ModelErrorKind::Protocol,
        format!("unreadable answer from the provider: {what}"),
    )
}

/// `Retry-After` as seconds or an HTTP date, or OpenAI's `retry-after-ms`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = header_str(headers, "retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// Trims, bounds and removes the key from a provider message.
fn scrub(message: &str, secret: Option<&str>) -> String {
    let mut text = message.trim().to_owned();
    if let Some(s) = secret.filter(|s| s.len() >= 4) {
        text = text.replace(s, "***");
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        text = text.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
    }
    text
}

/// The parts of the many error-body shapes in use (OpenAI `{error:{message,type,code}}`, Anthropic
/// `{type:"error",error:{type,message}}`, Ollama/TGI `{error:"…"}`, vLLM `{message,type,code}`).
#[derive(Debug, Default)]
struct ProviderError {
    message: String,
    kind: Option<String>,
    code: Option<String>,
}

impl ProviderError {
    fn from_json(json: &Json) -> ProviderError {
        let inner = match json.get("error") {
            Some(e @ Json::Object(_)) => e,
            Some(Json::String(s)) => {
                return ProviderError {
                    message: s.clone(),
                    ..ProviderError::default()
                }
            }
            _ => json,
        };
        let text = |key: &str| match inner.get(key) {
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        ProviderError {
            message: text("message")
                .or_else(|| text("detail"))
                .unwrap_or_else(|| inner.to_string()),
            kind: text("type"),
            code: text("code"),
        }
    }

    /// The provider says the model is what it cannot find (a wrong `model`, not only a wrong URL).
    fn is_about_the_model(&self) -> bool {
        self.code.as_deref() == Some("model_not_found")
            || self.message.to_ascii_lowercase().contains("model")
    }

    fn is_overloaded(&self) -> bool {
        self.kind.as_deref() == Some("overloaded_error")
    }

    fn is_context_length(&self) -> bool {
        if self.code.as_deref() == Some("context_length_exceeded") {
            return true;
        }
        let m = self.message.to_ascii_lowercase();
        [
            "context_length_exceeded",
            "prompt is too long",
            "maximum context length",
            "context length",
            "context window",
        ]
        .iter()
        .any(|p| m.contains(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn classify(status: u16, body: &str) -> ModelError {
        from_status(
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            Some("sk-secret-key"),
            "http://127.0.0.1:9/v1/chat/completions",
        )
    }

    #[test]
    fn classifies_statuses_and_bodies() {
        assert_eq!(classify(429, "{}").kind, ModelErrorKind::RateLimited);
        assert_eq!(classify(529, "").kind, ModelErrorKind::Overloaded);
        let overloaded =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(classify(503, overloaded).kind, ModelErrorKind::Overloaded);
        assert_eq!(classify(502, "bad gateway").kind, ModelErrorKind::Server);
        assert_eq!(classify(403, "").kind, ModelErrorKind::Auth);
        assert_eq!(classify(422, "{}").kind, ModelErrorKind::BadRequest);
        assert_eq!(
            classify(404, r#"{"error":"model 'x' not found"}"#).kind,
            ModelErrorKind::Config
        );
        assert_eq!(classify(405, "").kind, ModelErrorKind::Config);
        let ctx = r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        assert_eq!(classify(400, ctx).kind, ModelErrorKind::ContextLength);
        let long = r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#;
        assert_eq!(classify(400, long).kind, ModelErrorKind::ContextLength);
    }

    #[test]
    fn a_404_names_the_url_without_credentials_and_what_was_expected() {
        let e = from_status(
            404,
            &HeaderMap::new(),
            b"404 page not found",
            Some("sk-secret-key"),
            "http://bob:sk-secret-key@127.0.0.1:9/chat/completions?api-version=2&key=k1",
        );
        assert_eq!(e.kind, ModelErrorKind::Config);
        assert!(!e.retryable());
        assert_eq!(
            e.message,
            "HTTP 404 from http://127.0.0.1:9/chat/completions: 404 page not found; \
             expected an OpenAI-compatible /chat/completions endpoint; check `base_url`"
        );
        let e = from_status(
            404,
            &HeaderMap::new(),
            br#"{"error":"model \"llama3.2\" not found, try pulling it first"}"#,
            None,
            "http://127.0.0.1:11434/api/chat",
        );
        assert!(
            e.message
                .ends_with("expected an Ollama /api/chat endpoint; check `base_url` and `model`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn scrubs_the_key_and_bounds_the_message() {
        let e = classify(401, r#"{"error":{"message":"bad key sk-secret-key"}}"#);
        assert!(!e.message.contains("sk-secret-key"), "{}", e.message);
        let e = classify(400, &"x".repeat(5000));
        assert!(e.message.chars().count() < 600);
    }

    #[test]
    fn parses_retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(120);
        h.insert(
            "retry-after",
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
