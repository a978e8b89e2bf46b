//! `llm openai`: any OpenAI-compatible Chat Completions server (OpenAI, vLLM, llama.cpp server,
//! LM Studio, Ollama `/v1`, the Hugging Face router): JSON and SSE streaming, native tool calls.

use super::client_error::ClientError;
use super::errors;
use super::http::{bearer_headers, json_body, HttpClient, HttpProvider, HttpSettings};
use super::sink::ChunkSink;
use super::stream::SseStream;
use super::toolcalls::{parse_arguments, ToolCallAccumulator};
use super::{ChatMessage, ChatRequest, ChatResponse, ModelError, Role, ToolCall, ToolSpec};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::borrow::Cow;
use woodwork_parser::Secret;

/// What an OpenAI-compatible client needs; built from component props by `providers`.
#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// The component type it serves (`openai`, `hugging_face`), for `describe`.
    pub type_name: String,
    /// Model id sent as `model`.
    pub model: String,
    /// Sent as `Authorization: Bearer` (sensitive header); local servers often need none.
    pub api_key: Option<Secret>,
    /// Sampling temperature; the server's default when None.
    pub temperature: Option<f64>,
    /// Sent as `max_tokens`; the server's default when None.
    pub max_tokens: Option<u64>,
    /// Transport, timeouts and retries.
    pub http: HttpSettings,
}

/// A Chat Completions client.
pub struct OpenAiClient {
    model: String,
    temperature: Option<f64>,
    max_tokens: Option<u64>,
    http: HttpClient,
}

impl OpenAiClient {
    /// Builds the client; fails only on a key that cannot be an HTTP header or a TLS setup error.
    pub fn new(config: OpenAiConfig) -> Result<Self, ClientError> {
        let headers = bearer_headers(config.api_key.as_ref())?;
        let label = format!("{}:{}", config.type_name, config.model);
        Ok(OpenAiClient {
            model: config.model,
            temperature: config.temperature,
            max_tokens: config.max_tokens,
            http: HttpClient::new(config.http, headers, config.api_key, label)?,
        })
    }
}

impl HttpProvider for OpenAiClient {
    fn http(&self) -> &HttpClient {
        &self.http
    }

    fn body(&self, request: &ChatRequest, stream: bool) -> Result<Bytes, ModelError> {
        let mut body = json!({
            "model": self.model,
            "messages": request.messages.iter().map(wire_message).collect::<Vec<_>>(),
            "stream": stream,
        });
        if let Some(t) = self.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(m) = self.max_tokens {
            body["max_tokens"] = json!(m);
        }
        if !request.tools.is_empty() {
            body["tools"] = request.tools.iter().map(wire_tool).collect();
        }
        json_body(&body)
    }

    async fn attempt(&self, body: &Bytes, sink: ChunkSink) -> Result<ChatResponse, ModelError> {
        let reader = self.http.post_json("/chat/completions", body).await?;
        if !sink.is_streaming() || reader.is_json() {
            // A server that ignores `stream: true` answers whole: pass it on as one chunk.
            let completion: Completion = reader.json().await?;
            let response = completion.into_response(self.http.secret())?;
            sink.send(&response.text).await?;
            return Ok(response);
        }
        let mut events = SseStream::new(reader, self.http.settings().max_line);
        let mut text = String::new();
        let mut tools = ToolCallAccumulator::default();
        let mut finish_reason = None;
        let done = loop {
            let Some(event) = events.next().await? else {
                break false;
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                break true;
            }
            let chunk: StreamChunk = serde_json::from_str(data).map_err(errors::protocol)?;
            if let Some(error) = chunk.error {
                return Err(errors::from_stream_error(&error, self.http.secret()));
            }
            for (position, choice) in chunk.choices.into_iter().enumerate() {
                if choice.finish_reason.is_some() {
                    finish_reason = choice.finish_reason;
                }
                let Some(delta) = choice.delta else { continue };
                for (i, call) in delta.tool_calls.into_iter().flatten().enumerate() {
                    let f = call.function.unwrap_or_default();
                    tools.update(
                        call.index.unwrap_or(position + i),
                        call.id.as_deref(),
                        f.name.as_deref(),
                        f.arguments.as_deref(),
                    );
                }
                if let Some(content) = delta.content {
                    sink.send(&content).await?;
                    text.push_str(&content);
                }
            }
        };
        if !done && finish_reason.is_none() {
            return Err(errors::stream_cut("[DONE]"));
        }
        Ok(ChatResponse {
            text,
            tool_calls: tools.finish(),
            finish_reason,
        })
    }
}

fn wire_message(m: &ChatMessage) -> Json {
    match m.role {
        Role::Tool => match &m.tool_call_id {
            Some(id) => json!({"role": "tool", "tool_call_id": id, "content": m.content}),
            // A tool result without a call id (text-mode agents) can only be told as user input.
            None => json!({"role": "user", "content": m.content}),
        },
        Role::Assistant if !m.tool_calls.is_empty() => json!({
            "role": "assistant",
            "content": if m.content.is_empty() { Json::Null } else { json!(m.content) },
            "tool_calls": m.tool_calls.iter().map(|c| json!({
                "id": c.id,
                "type": "function",
                "function": {"name": c.tool, "arguments": c.inputs.to_string()},
            })).collect::<Vec<_>>(),
        }),
        role => json!({"role": role_name(role), "content": m.content}),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn wire_tool(t: &ToolSpec) -> Json {
    json!({
        "type": "function",
        "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
    })
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    error: Option<Json>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<AnswerToolCall>,
}

#[derive(Deserialize)]
struct AnswerToolCall {
    id: Option<String>,
    function: AnswerFunction,
}

#[derive(Deserialize)]
struct AnswerFunction {
    name: String,
    /// A JSON text per the spec; some servers send an object.
    #[serde(default)]
    arguments: Json,
}

impl Completion {
    fn into_response(self, secret: Option<&str>) -> Result<ChatResponse, ModelError> {
        if let Some(error) = self.error {
            return Err(errors::from_stream_error(&error, secret));
        }
        let Some(choice) = self.choices.into_iter().next() else {
            return Err(errors::protocol("the answer has no choices"));
        };
        let tool_calls = choice
            .message
            .tool_calls
            .into_iter()
            .map(|c| ToolCall {
                id: super::toolcalls::call_id(c.id),
                tool: c.function.name,
                action: None,
                inputs: match c.function.arguments {
                    Json::String(s) => parse_arguments(&s),
                    Json::Null => json!({}),
                    other => other,
                },
            })
            .collect();
        Ok(ChatResponse {
            text: choice.message.content.unwrap_or_default(),
            tool_calls,
            finish_reason: choice.finish_reason,
        })
    }
}

#[derive(Deserialize)]
struct StreamChunk<'a> {
    #[serde(default, borrow)]
    choices: Vec<StreamChoice<'a>>,
    error: Option<Json>,
}

#[derive(Deserialize)]
struct StreamChoice<'a> {
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    index: Option<usize>,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize, Default)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}
