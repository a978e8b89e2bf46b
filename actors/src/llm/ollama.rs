//! `llm ollama`: Ollama's native chat API (`/api/chat`), newline-delimited JSON streaming, tools.

use super::client_error::ClientError;
use super::errors;
use super::http::{bearer_headers, json_body, HttpClient, HttpProvider, HttpSettings};
use super::sink::ChunkSink;
use super::stream::LineStream;
use super::toolcalls::call_id;
use super::{ChatMessage, ChatRequest, ChatResponse, ModelError, Role, ToolCall};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use woodwork_parser::Secret;

/// What the Ollama client needs; built from component props by `providers`.
#[derive(Clone, Debug)]
pub struct OllamaConfig {
    /// The pulled model's name (required: Ollama has no default model).
    pub model: String,
    /// Optional: only proxies and hosted Ollama want one.
    pub api_key: Option<Secret>,
    /// Sent as `options.temperature`.
    pub temperature: Option<f64>,
    /// Sent as `options.num_predict`.
    pub max_tokens: Option<u64>,
    /// Transport, timeouts and retries.
    pub http: HttpSettings,
}

/// An Ollama `/api/chat` client.
pub struct OllamaClient {
    model: String,
    temperature: Option<f64>,
    max_tokens: Option<u64>,
    http: HttpClient,
}

impl OllamaClient {
    /// Builds the client; fails only on a key that cannot be an HTTP header or a TLS setup error.
    pub fn new(config: OllamaConfig) -> Result<Self, ClientError> {
        let headers = bearer_headers(config.api_key.as_ref())?;
        let label = format!("ollama:{}", config.model);
        Ok(OllamaClient {
            model: config.model,
            temperature: config.temperature,
            max_tokens: config.max_tokens,
            http: HttpClient::new(config.http, headers, config.api_key, label)?,
        })
    }
}

impl HttpProvider for OllamaClient {
    fn http(&self) -> &HttpClient {
        &self.http
    }

    fn body(&self, request: &ChatRequest, stream: bool) -> Result<Bytes, ModelError> {
        let mut body = json!({
            "model": self.model,
            "messages": request
                .messages
                .iter()
                .map(|m| wire_message(m, &request.messages))
                .collect::<Vec<_>>(),
            "stream": stream,
        });
        let mut options = serde_json::Map::new();
        if let Some(t) = self.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if let Some(n) = self.max_tokens {
            options.insert("num_predict".into(), json!(n));
        }
        if !options.is_empty() {
            body["options"] = Json::Object(options);
        }
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters,
                    }})
                })
                .collect();
        }
        json_body(&body)
    }

    async fn attempt(&self, body: &Bytes, sink: ChunkSink) -> Result<ChatResponse, ModelError> {
        let reader = self.http.post_json("/api/chat", body).await?;
        if !sink.is_streaming() {
            let line: Line = reader.json().await?;
            return line.into_response(self.http.secret());
        }
        let mut lines = LineStream::new(reader, self.http.settings().max_line);
        let mut response = ChatResponse::default();
        while let Some(raw) = lines.next().await? {
            let line: Line = serde_json::from_slice(&raw).map_err(errors::protocol)?;
            if let Some(error) = line.error {
                return Err(errors::from_stream_error(
                    &json!({ "error": error }),
                    self.http.secret(),
                ));
            }
            if let Some(message) = line.message {
                sink.send(&message.content).await?;
                response.text.push_str(&message.content);
                response
                    .tool_calls
                    .extend(message.tool_calls.into_iter().map(WireToolCall::into_call));
            }
            if line.done {
                response.finish_reason = line.done_reason;
                return Ok(response);
            }
        }
        Err(errors::stream_cut("\"done\": true"))
    }
}

/// Ollama names the tool a result belongs to, not the call: look the name up from the call id.
fn wire_message(m: &ChatMessage, all: &[ChatMessage]) -> Json {
    match m.role {
        Role::Tool => {
            let mut out = json!({"role": "tool", "content": m.content});
            let name = m.tool_call_id.as_ref().and_then(|id| {
                all.iter()
                    .flat_map(|x| &x.tool_calls)
                    .find(|c| &c.id == id)
                    .map(|c| c.tool.clone())
            });
            if let Some(name) = name {
                out["tool_name"] = json!(name);
            }
            out
        }
        Role::Assistant if !m.tool_calls.is_empty() => json!({
            "role": "assistant",
            "content": m.content,
            "tool_calls": m.tool_calls.iter().map(|c| json!({
                "function": {"name": c.tool, "arguments": c.inputs},
            })).collect::<Vec<_>>(),
        }),
        Role::System => json!({"role": "system", "content": m.content}),
        Role::User => json!({"role": "user", "content": m.content}),
        Role::Assistant => json!({"role": "assistant", "content": m.content}),
    }
}

/// One answer object: the whole answer, or one line of a stream.
#[derive(Deserialize)]
struct Line {
    message: Option<WireMessage>,
    #[serde(default)]
    done: bool,
    done_reason: Option<String>,
    error: Option<Json>,
}

impl Line {
    fn into_response(self, secret: Option<&str>) -> Result<ChatResponse, ModelError> {
        if let Some(error) = self.error {
            return Err(errors::from_stream_error(
                &json!({ "error": error }),
                secret,
            ));
        }
        let message = self
            .message
            .ok_or_else(|| errors::protocol("the answer has no message"))?;
        Ok(ChatResponse {
            text: message.content,
            tool_calls: message
                .tool_calls
                .into_iter()
                .map(WireToolCall::into_call)
                .collect(),
            finish_reason: self.done_reason,
        })
    }
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: String,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    id: Option<String>,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    /// An object in Ollama's API (not a JSON text as in OpenAI's).
    #[serde(default)]
    arguments: Json,
}

impl WireToolCall {
    fn into_call(self) -> ToolCall {
        ToolCall {
            id: call_id(self.id),
            tool: self.function.name,
            action: None,
            inputs: match self.function.arguments {
                Json::Null => json!({}),
                Json::String(s) => super::toolcalls::parse_arguments(&s),
                other => other,
            },
        }
    }
}
