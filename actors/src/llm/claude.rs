//! `llm claude`: the Anthropic Messages API, JSON and named-event SSE streaming, tool use blocks.

use super::client_error::ClientError;
use super::errors;
use super::http::{json_body, secret_header, HttpClient, HttpProvider, HttpSettings};
use super::sink::ChunkSink;
use super::stream::SseStream;
use super::toolcalls::{call_id, ToolCallAccumulator};
use super::{ChatMessage, ChatRequest, ChatResponse, ModelError, Role, ToolCall};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use woodwork_parser::Secret;

/// The Messages API version this client speaks.
pub const API_VERSION: &str = "2023-06-01";

/// What the Claude client needs; built from component props by `providers`.
#[derive(Clone, Debug)]
pub struct ClaudeConfig {
    /// Model id sent as `model`.
    pub model: String,
    /// Sent as `x-api-key` (sensitive header), required by the API.
    pub api_key: Secret,
    /// Upper bound of the answer's length, required by the API.
    pub max_tokens: u64,
    /// Sampling temperature; the provider's default when None.
    pub temperature: Option<f64>,
    /// Transport, timeouts and retries.
    pub http: HttpSettings,
}

/// A Messages API client.
pub struct ClaudeClient {
    model: String,
    max_tokens: u64,
    temperature: Option<f64>,
    http: HttpClient,
}

impl ClaudeClient {
    /// Builds the client; fails only on a key that cannot be an HTTP header or a TLS setup error.
    pub fn new(config: ClaudeConfig) -> Result<Self, ClientError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-api-key"),
            secret_header(config.api_key.expose())?,
        );
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        let label = format!("claude:{}", config.model);
        Ok(ClaudeClient {
            model: config.model,
            max_tokens: config.max_tokens,
            temperature: config.temperature,
            http: HttpClient::new(config.http, headers, Some(config.api_key), label)?,
        })
    }
}

impl HttpProvider for ClaudeClient {
    fn http(&self) -> &HttpClient {
        &self.http
    }

    fn body(&self, request: &ChatRequest, stream: bool) -> Result<Bytes, ModelError> {
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let mut body = json!({
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": wire_messages(&request.messages),
            "stream": stream,
        });
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        if let Some(t) = self.temperature {
            body["temperature"] = json!(t);
        }
        if !request.tools.is_empty() {
            body["tools"] = request
                .tools
                .iter()
                .map(|t| {
                    json!({"name": t.name, "description": t.description, "input_schema": t.parameters})
                })
                .collect();
        }
        json_body(&body)
    }

    async fn attempt(&self, body: &Bytes, sink: ChunkSink) -> Result<ChatResponse, ModelError> {
        let reader = self.http.post_json("/v1/messages", body).await?;
        if !sink.is_streaming() {
            let message: Message = reader.json().await?;
            return Ok(message.into_response());
        }
        let mut events = SseStream::new(reader, self.http.settings().max_line);
        let mut text = String::new();
        let mut tools = ToolCallAccumulator::default();
        let mut stop_reason = None;
        while let Some(event) = events.next().await? {
            let parsed: Event = serde_json::from_str(&event.data).map_err(errors::protocol)?;
            match parsed {
                Event::ContentBlockStart {
                    index,
                    content_block,
                } => match content_block {
                    Block::Text { text: t } => {
                        sink.send(&t).await?;
                        text.push_str(&t);
                    }
                    Block::ToolUse { id, name, input } => {
                        tools.update(index, Some(&id), Some(&name), None);
                        tools.set_initial(index, input);
                    }
                    Block::Other => {}
                },
                Event::ContentBlockDelta { index, delta } => match delta {
                    BlockDelta::TextDelta { text: t } => {
                        sink.send(&t).await?;
                        text.push_str(&t);
                    }
                    BlockDelta::InputJsonDelta { partial_json } => {
                        tools.update(index, None, None, Some(&partial_json))
                    }
                    BlockDelta::Other => {}
                },
                Event::MessageDelta { delta } => {
                    if delta.stop_reason.is_some() {
                        stop_reason = delta.stop_reason;
                    }
                }
                Event::MessageStop => {
                    return Ok(ChatResponse {
                        text,
                        tool_calls: tools.finish(),
                        finish_reason: stop_reason,
                    })
                }
                Event::Error { error } => {
                    return Err(errors::from_stream_error(
                        &json!({ "error": error }),
                        self.http.secret(),
                    ))
                }
                Event::Other => {}
            }
        }
        Err(errors::stream_cut("message_stop"))
    }
}

/// Conversation messages without system ones; consecutive tool results become one user message of
/// `tool_result` blocks, as the API wants all results of one assistant turn together.
fn wire_messages(messages: &[ChatMessage]) -> Vec<Json> {
    let mut out: Vec<Json> = Vec::new();
    let mut results: Vec<Json> = Vec::new();
    for m in messages {
        if m.role == Role::Tool {
            if let Some(id) = &m.tool_call_id {
                results
                    .push(json!({"type": "tool_result", "tool_use_id": id, "content": m.content}));
                continue;
            }
        }
        if !results.is_empty() {
            out.push(json!({"role": "user", "content": std::mem::take(&mut results)}));
        }
        match m.role {
            Role::System => {}
            Role::User | Role::Tool => out.push(json!({"role": "user", "content": m.content})),
            Role::Assistant if m.tool_calls.is_empty() => {
                out.push(json!({"role": "assistant", "content": m.content}))
            }
            Role::Assistant => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                blocks.extend(m.tool_calls.iter().map(
                    |c| json!({"type": "tool_use", "id": c.id, "name": c.tool, "input": c.inputs}),
                ));
                out.push(json!({"role": "assistant", "content": blocks}));
            }
        }
    }
    if !results.is_empty() {
        out.push(json!({"role": "user", "content": results}));
    }
    out
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Vec<Block>,
    stop_reason: Option<String>,
}

impl Message {
    fn into_response(self) -> ChatResponse {
        let mut response = ChatResponse {
            finish_reason: self.stop_reason,
            ..ChatResponse::default()
        };
        for block in self.content {
            match block {
                Block::Text { text } => response.text.push_str(&text),
                Block::ToolUse { id, name, input } => response.tool_calls.push(ToolCall {
                    id: call_id(Some(id)),
                    tool: name,
                    action: None,
                    inputs: input,
                }),
                Block::Other => {}
            }
        }
        response
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Json,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    ContentBlockStart {
        index: usize,
        content_block: Block,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    MessageDelta {
        delta: MessageDeltaBody,
    },
    MessageStop,
    Error {
        error: Json,
    },
    /// message_start, content_block_stop, ping and event types added later.
    #[serde(other)]
    Other,
}
