//! Turning text into vectors through an OpenAI-compatible `/embeddings` endpoint or Ollama's
//! `/api/embed`, in bounded batches with bounded concurrency, retrying what a retry can fix.

use crate::http::{
    backoff, describe, display_url, excerpt, read_body, retry_after, retryable_status, RETRIES,
};
use crate::settings::{EmbedderSettings, EmbeddingApi};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use std::time::Duration;
use woodwork_tools::ToolError;

/// Texts per embedding request: big enough to amortise a round trip, small enough to stay far
/// below providers' per-request token limits with 1,000-character chunks.
pub const BATCH: usize = 64;
/// Embedding requests in flight at once during an ingest (providers rate-limit harder ones).
pub const CONCURRENCY: usize = 4;
/// Largest embeddings answer read (64 vectors of 3,072 floats as JSON is about 5 MB).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// Why embedding failed, with whether the embedding server (not the input) is at fault.
#[derive(Clone, Debug)]
pub struct EmbedError {
    /// What failed, where (the endpoint without credentials) and how to fix it.
    pub message: String,
    /// True for network errors, timeouts, 429 and 5xx (the server, not the input, is at fault).
    pub server_down: bool,
}

impl std::fmt::Display for EmbedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<EmbedError> for ToolError {
    fn from(e: EmbedError) -> Self {
        if e.server_down {
            ToolError::Unavailable(e.message)
        } else {
            ToolError::Failed(e.message)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    OpenAi,
    Ollama,
}

/// A client for one embedding model; cheap to clone (the HTTP pool is shared).
#[derive(Clone)]
pub struct Embedder {
    http: reqwest::Client,
    protocol: Protocol,
    endpoint: String,
    shown: String,
    api_key: Option<String>,
    model: String,
}

#[derive(Deserialize)]
struct OpenAiAnswer {
    data: Vec<OpenAiVector>,
}

#[derive(Deserialize)]
struct OpenAiVector {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

#[derive(Deserialize)]
struct OllamaAnswer {
    embeddings: Vec<Vec<f32>>,
}

impl Embedder {
    /// Builds the client; fails on a base URL that is not http(s).
    pub fn new(settings: &EmbedderSettings, timeout: Duration) -> Result<Self, String> {
        let (protocol, base, api_key, path) = match &settings.api {
            EmbeddingApi::OpenAi { base_url, api_key } => (
                Protocol::OpenAi,
                base_url,
                api_key.clone().filter(|k| !k.is_empty()),
                "embeddings",
            ),
            EmbeddingApi::Ollama { base_url } => (Protocol::Ollama, base_url, None, "api/embed"),
        };
        let parsed = reqwest::Url::parse(base)
            .map_err(|e| format!("the embedding base URL is not a valid URL ({e}); give one like http://localhost:11434"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "the embedding base URL {} is not http(s)",
                display_url(base)
            ));
        }
        if settings.model.trim().is_empty() {
            return Err("the embedding model name is empty; set `embedding_model`".into());
        }
        let endpoint = format!("{}/{path}", base.trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", describe(e)))?;
        Ok(Self {
            http,
            protocol,
            shown: display_url(&endpoint),
            endpoint,
            api_key,
            model: settings.model.clone(),
        })
    }

    /// The model's name, recorded with stored vectors so a model change re-embeds everything.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The endpoint without credentials, for messages.
    pub fn shown_endpoint(&self) -> &str {
        &self.shown
    }

    /// Embeds every text, `BATCH` per request and `CONCURRENCY` requests at a time; the vectors
    /// come back in the texts' order.
    pub async fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Owned futures (no closure borrowing `self` in the stream) keep the future `Send`.
        let requests: Vec<_> = texts
            .chunks(BATCH)
            .map(|batch| {
                let me = self.clone();
                let batch = batch.to_vec();
                async move { me.embed_batch(&batch).await }
            })
            .collect();
        let batches: Vec<Vec<Vec<f32>>> = futures_util::stream::iter(requests)
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(batches.into_iter().flatten().collect())
    }

    /// Embeds one batch (one request, retried on 429/5xx/network errors).
    pub async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::json!({ "model": self.model, "input": texts });
        let mut attempt = 0;
        loop {
            let mut req = self.http.post(&self.endpoint).json(&body);
            if let Some(key) = &self.api_key {
                req = req.bearer_auth(key);
            }
            let (cause, retry, wait) = match req.send().await {
                Err(e) => (
                    format!(
                        "{} — is the embedding server running at that address?",
                        describe(e)
                    ),
                    true,
                    None,
                ),
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        let bytes = read_body(resp, MAX_RESPONSE)
                            .await
                            .map_err(|e| self.fail(e, true))?;
                        return self.parse(&bytes, texts.len());
                    }
                    let wait = retry_after(&resp);
                    let bytes = read_body(resp, 64 * 1024).await.unwrap_or_default();
                    (
                        self.status_message(status, &bytes),
                        retryable_status(status),
                        wait,
                    )
                }
            };
            if !retry || attempt >= RETRIES {
                let cause = if attempt > 0 {
                    format!("(after {} attempts) {cause}", attempt + 1)
                } else {
                    cause
                };
                return Err(self.fail(cause, retry));
            }
            attempt += 1;
            tracing::debug!(endpoint = %self.shown, attempt, error = %cause, "retrying an embedding request");
            tokio::time::sleep(backoff(attempt, wait)).await;
        }
    }

    fn fail(&self, cause: String, server_down: bool) -> EmbedError {
        EmbedError {
            message: format!("embedding request to {} failed: {cause}", self.shown),
            server_down,
        }
    }

    fn status_message(&self, status: reqwest::StatusCode, body: &[u8]) -> String {
        let secrets: Vec<&str> = self.api_key.as_deref().into_iter().collect();
        let said = excerpt(body, &secrets);
        let hint = match status.as_u16() {
            401 | 403 => " — check the API key of the embedding model (the `embedding:` component's api_key, or OPENAI_API_KEY)".to_string(),
            404 => format!(" — check the base URL and that the model `{}` exists there", self.model),
            400 | 422 => format!(" — check that `{}` is an embedding model this server has", self.model),
            429 => " — the server is rate-limiting; try again later or lower the load".to_string(),
            _ => String::new(),
        };
        if said.is_empty() {
            format!("HTTP {status}{hint}")
        } else {
            format!("HTTP {status}: {said}{hint}")
        }
    }

    fn parse(&self, bytes: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        let shape_error = |e: serde_json::Error, shape: &str| {
            self.fail(
                format!("the answer is not embeddings JSON ({shape}): {e}; check that the base URL points at the right API"),
                false,
            )
        };
        let vectors = match self.protocol {
            Protocol::OpenAi => {
                let answer: OpenAiAnswer = serde_json::from_slice(bytes).map_err(|e| {
                    shape_error(
                        e,
                        "expected {\"data\": [{\"embedding\": [...], \"index\": i}]}",
                    )
                })?;
                let mut slots: Vec<Option<Vec<f32>>> = vec![None; answer.data.len()];
                for (pos, item) in answer.data.into_iter().enumerate() {
                    let i = item.index.unwrap_or(pos);
                    match slots.get_mut(i) {
                        Some(slot @ None) => *slot = Some(item.embedding),
                        _ => {
                            return Err(self.fail(
                                format!("the answer has a bad or repeated index {i}"),
                                false,
                            ))
                        }
                    }
                }
                slots.into_iter().flatten().collect::<Vec<_>>()
            }
            Protocol::Ollama => {
                let answer: OllamaAnswer = serde_json::from_slice(bytes)
                    .map_err(|e| shape_error(e, "expected {\"embeddings\": [[...]]}"))?;
                answer.embeddings
            }
        };
        if vectors.len() != expected {
            return Err(self.fail(
                format!(
                    "the answer has {} vectors for {expected} texts",
                    vectors.len()
                ),
                false,
            ));
        }
        let dims = vectors.first().map_or(0, Vec::len);
        if dims == 0 || vectors.iter().any(|v| v.len() != dims) {
            return Err(self.fail(
                "the answer's vectors are empty or of different lengths".into(),
                false,
            ));
        }
        if vectors.iter().flatten().any(|x| !x.is_finite()) {
            return Err(self.fail("the answer's vectors hold non-finite numbers".into(), false));
        }
        Ok(vectors)
    }
}
