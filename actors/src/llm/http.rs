//! The HTTP side every provider shares: one pooled reqwest client per component, JSON POSTs with the
//! provider's (sensitive) auth headers, status classification, the whole-call deadline and retries,
//! and size- and idle-bounded body reading.

use super::client_error::ClientError;
use super::errors;
use super::lines::DEFAULT_MAX_LINE;
use super::retry::{self, RetryPolicy};
use super::sink::ChunkSink;
use super::{ChatModel, ChatRequest, ChatResponse, ChunkSender, ModelError, ModelErrorKind};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use woodwork_parser::Secret;

/// Default cap on a whole answer body (streamed or not).
pub const DEFAULT_MAX_BODY: usize = 8 * 1024 * 1024;
/// How much of an error body is read to find the provider's message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A key as a header value marked sensitive, so reqwest never prints it; the error names no value.
pub fn secret_header(value: &str) -> Result<HeaderValue, ClientError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| ClientError::InvalidKey)?;
    header.set_sensitive(true);
    Ok(header)
}

/// `Authorization: Bearer <key>` (sensitive) when a key is given, as OpenAI-style servers and
/// keyed Ollama proxies want; no header at all without one.
pub fn bearer_headers(api_key: Option<&Secret>) -> Result<HeaderMap, ClientError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = api_key {
        headers.insert(
            AUTHORIZATION,
            secret_header(&format!("Bearer {}", key.expose()))?,
        );
    }
    Ok(headers)
}

/// A provider's request JSON as the bytes every attempt re-sends.
pub fn json_body(body: &Json) -> Result<Bytes, ModelError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| ModelError::new(ModelErrorKind::BadRequest, e.to_string()))
}

/// One HTTP provider's wire protocol: the body it sends and how one attempt reads the answer.
/// Every such provider is a [`ChatModel`] through the impl below, so the whole-call deadline,
/// retries and streaming wiring are written once for all of them.
pub trait HttpProvider: Send + Sync + 'static {
    /// The provider's connection; its label is what `describe` returns.
    fn http(&self) -> &HttpClient;

    /// The request body, built once per call; `stream` says whether the caller wants deltas.
    fn body(&self, request: &ChatRequest, stream: bool) -> Result<Bytes, ModelError>;

    /// One try of the call: POST `body`, stream text to `sink`, return the whole answer.
    fn attempt(
        &self,
        body: &Bytes,
        sink: ChunkSink,
    ) -> impl Future<Output = Result<ChatResponse, ModelError>> + Send;
}

impl<P: HttpProvider> ChatModel for P {
    fn describe(&self) -> String {
        self.http().label().to_owned()
    }

    fn chat(
        &self,
        request: ChatRequest,
        chunks: Option<ChunkSender>,
    ) -> BoxFuture<'_, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            let body = self.body(&request, chunks.is_some())?;
            let body = &body;
            self.http()
                .call(chunks, move |sink| self.attempt(body, sink))
                .await
        })
    }
}

/// Transport settings of one provider client, read from the component's props.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpSettings {
    /// Without a trailing slash; paths are appended to it.
    pub base_url: String,
    /// Whole-call deadline, retries included (`timeout:` of the component).
    pub timeout: Duration,
    /// Longest silence between two body chunks of an answer.
    pub idle_timeout: Duration,
    /// Bound on establishing the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Retries of retryable failures before the first streamed token.
    pub retry: RetryPolicy,
    /// Cap on one answer's bytes (Protocol error beyond it).
    pub max_body: usize,
    /// Cap on one SSE / NDJSON line (Protocol error beyond it).
    pub max_line: usize,
}

impl HttpSettings {
    /// Defaults for `base_url`: 60 s call, 30 s idle, 10 s connect, 2 retries, 8 MiB / 1 MiB caps.
    pub fn new(base_url: &str) -> Self {
        HttpSettings {
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_body: DEFAULT_MAX_BODY,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

/// A provider's connection to its server. Holds the key only inside sensitive header values.
pub struct HttpClient {
    client: reqwest::Client,
    settings: HttpSettings,
    headers: HeaderMap,
    secret: Option<Secret>,
    label: String,
}

impl HttpClient {
    /// `headers` go on every request (mark key-bearing ones sensitive); `secret` is scrubbed from
    /// provider error messages; `label` (`type:model`) names the client in logs.
    pub fn new(
        settings: HttpSettings,
        headers: HeaderMap,
        secret: Option<Secret>,
        label: String,
    ) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(ClientError::Build)?;
        Ok(HttpClient {
            client,
            settings,
            headers,
            secret,
            label,
        })
    }

    /// The settings it was built with (providers read `max_line`).
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// `type:model`, the only identity that appears in logs.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs one model call: `attempt` is retried per the policy within the whole-call deadline.
    pub async fn call<T, F, Fut>(
        &self,
        chunks: Option<ChunkSender>,
        attempt: F,
    ) -> Result<T, ModelError>
    where
        F: FnMut(ChunkSink) -> Fut,
        Fut: Future<Output = Result<T, ModelError>>,
    {
        let deadline = Instant::now() + self.settings.timeout;
        let sink = ChunkSink::new(chunks);
        retry::run(&self.settings.retry, deadline, &sink, &self.label, attempt).await
    }

    /// POSTs a JSON body to `{base_url}{path}`; a non-success status becomes a classified error.
    pub async fn post_json(&self, path: &str, body: &Bytes) -> Result<BodyReader, ModelError> {
        let url = format!("{}{}", self.settings.base_url, path);
        let response = self
            .client
            .post(&url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await
            .map_err(errors::from_transport)?;
        let status = response.status().as_u16();
        tracing::debug!(
            model = %self.label,
            base_url = %self.settings.base_url,
            status,
            "model answered"
        );
        let headers = response.headers().clone();
        let mut reader =
            BodyReader::new(response, self.settings.idle_timeout, self.settings.max_body);
        if (200..300).contains(&status) {
            return Ok(reader);
        }
        reader.max = MAX_ERROR_BODY;
        let mut body = Vec::new();
        // A cut or oversized error body still leaves the status to classify by.
        while let Ok(Some(chunk)) = reader.next().await {
            body.extend_from_slice(&chunk);
        }
        Err(errors::from_status(
            status,
            &headers,
            &body,
            self.secret.as_ref().map(Secret::expose),
            &url,
        ))
    }

    /// The key to scrub from messages the provider sends inside a stream.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_ref().map(Secret::expose)
    }
}

/// An answer body read chunk by chunk, each wait bounded by the idle timeout and the total by the cap.
/// Dropping it closes the connection if the answer was not complete.
pub struct BodyReader {
    response: reqwest::Response,
    idle: Duration,
    max: usize,
    read: usize,
    /// The idle deadline, one timer for the whole body: pushing it later per chunk is an atomic
    /// store, where a fresh `tokio::time::timeout` per chunk registered and removed a timer in
    /// the driver's wheel (a lock each) on every streamed token.
    idle_timer: Pin<Box<Sleep>>,
}

impl BodyReader {
    fn new(response: reqwest::Response, idle: Duration, max: usize) -> Self {
        BodyReader {
            response,
            idle,
            max,
            read: 0,
            idle_timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    /// Whether the provider answered JSON (some servers ignore `stream: true`).
    pub fn is_json(&self) -> bool {
        self.response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"))
    }

    /// The next chunk, or None at the end of the body.
    pub async fn next(&mut self) -> Result<Option<Bytes>, ModelError> {
        self.idle_timer.as_mut().reset(Instant::now() + self.idle);
        let chunk = tokio::select! {
            biased;
            r = self.response.chunk() => r.map_err(errors::from_transport)?,
            () = self.idle_timer.as_mut() => {
                return Err(ModelError::new(
                    ModelErrorKind::Timeout,
                    format!(
                        "the provider sent nothing for {} s (idle timeout)",
                        self.idle.as_secs_f64()
                    ),
                ))
            }
        };
        if let Some(c) = &chunk {
            self.read += c.len();
            if self.read > self.max {
                return Err(ModelError::new(
                    ModelErrorKind::Protocol,
                    format!("the provider's answer exceeds {} bytes", self.max),
                ));
            }
        }
        Ok(chunk)
    }

    /// Reads the whole (bounded) body and parses it as JSON.
    pub async fn json<T: DeserializeOwned>(mut self) -> Result<T, ModelError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next().await? {
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(errors::protocol)
    }
}
