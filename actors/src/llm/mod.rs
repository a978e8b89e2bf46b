//! Language-model clients behind one trait, so the llm and agent component actors do not care which
//! provider answers. Clients are plain async code (tokio + reqwest), no actors: the component actor
//! spawns the returned future and turns its result into a message.
//!
//! One client value lives as long as its component's supervisor, across actor restarts, so state a
//! client keeps (the mock's script position) survives a restart.

pub mod build;
pub mod claude;
pub mod client_error;
pub mod errors;
pub mod http;
pub mod hugging_face;
pub mod lines;
pub mod mock;
pub mod mock_error;
pub mod ollama;
pub mod openai;
pub mod props;
pub mod providers;
pub mod retry;
pub mod sink;
pub mod sse;
pub mod stream;
pub mod toolcalls;

pub use build::build_model;
pub use providers::build_provider;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;
use tokio::sync::mpsc;

/// Who said a message in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// The result of a tool call, fed back to the model.
    Tool,
}

/// One message of the conversation sent to the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    /// For `Role::Tool`: which call this answers (native tool calling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For `Role::Assistant`: the tool calls it made (native tool calling), so they can be replayed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
            tool_call_id: None,
            tool_calls: Vec::new(),
        }
    }
}

/// A tool the model may call natively (providers without tool calling ignore these).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// A tool call the model asked for, in woodwork's terms (`tool`, `action`, `inputs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider's call id (generated when the provider has none).
    pub id: String,
    pub tool: String,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub inputs: serde_json::Value,
}

/// What one model call is asked to do.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
}

/// What one model call answered; when streamed, `text` is the assembled text of all chunks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub text: String,
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Why a model call failed, classified so breakers and retries can tell transient from permanent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelErrorKind {
    /// 429.
    RateLimited,
    /// 529 / "overloaded".
    Overloaded,
    /// Other 5xx.
    Server,
    /// No answer within the component's timeout.
    Timeout,
    /// Could not connect, or the connection broke.
    Connection,
    /// 401 / 403.
    Auth,
    /// 400 / 422 other than context length.
    BadRequest,
    /// 404 / 405: nothing answers this API at the URL called (a wrong `base_url` or `model`).
    /// Retrying cannot help and the provider is not unhealthy, so it never trips a breaker.
    Config,
    /// The prompt is too long for the model.
    ContextLength,
    /// The provider answered something this client cannot read.
    Protocol,
    /// The caller went away and the call was abandoned.
    Cancelled,
}

impl ModelErrorKind {
    /// DESIGN.md §4: 429 / overload / 5xx / timeout (and a dropped connection) are retryable.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ModelErrorKind::RateLimited
                | ModelErrorKind::Overloaded
                | ModelErrorKind::Server
                | ModelErrorKind::Timeout
                | ModelErrorKind::Connection
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ModelErrorKind::RateLimited => "rate_limited",
            ModelErrorKind::Overloaded => "overloaded",
            ModelErrorKind::Server => "server_error",
            ModelErrorKind::Timeout => "timeout",
            ModelErrorKind::Connection => "connection",
            ModelErrorKind::Auth => "auth",
            ModelErrorKind::BadRequest => "bad_request",
            ModelErrorKind::Config => "config",
            ModelErrorKind::ContextLength => "context_length",
            ModelErrorKind::Protocol => "protocol",
            ModelErrorKind::Cancelled => "cancelled",
        }
    }
}

/// A failed model call. The message never contains a secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelError {
    pub kind: ModelErrorKind,
    pub message: String,
    /// The provider's HTTP status, if there was one.
    pub status: Option<u16>,
    /// From the provider's `Retry-After`, honoured by retries and by the breaker's answer.
    pub retry_after: Option<Duration>,
    /// True once any chunk was streamed to the caller: such a call is never retried.
    pub after_first_token: bool,
    /// Provider calls made before giving up (set by the retry layer; 0 when none ran, as for the
    /// mock). Nonzero means the request's retry budget was spent here: the bus does not retry it.
    #[serde(default)]
    pub attempts: u32,
}

impl ModelError {
    pub fn new(kind: ModelErrorKind, message: impl Into<String>) -> Self {
        ModelError {
            kind,
            message: message.into(),
            status: None,
            retry_after: None,
            after_first_token: false,
            attempts: 0,
        }
    }

    /// Whether retrying the same call could succeed.
    pub fn retryable(&self) -> bool {
        self.kind.retryable() && !self.after_first_token
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for ModelError {}

/// Where streamed text deltas go, in order; bounded so a slow reader slows the model, not memory.
pub type ChunkSender = mpsc::Sender<String>;

/// A language model. `chat` sends each text delta to `chunks` (when given) as it arrives and returns
/// the whole answer; dropping the future cancels the upstream request. Deltas are sent from
/// within the call's own poll (the streaming path takes them when the call yields, without a
/// wake-up per delta): a delta produced by another task is passed on by the call itself.
pub trait ChatModel: Send + Sync + 'static {
    /// `<component type>:<model>` for logs and metrics (never a key).
    fn describe(&self) -> String;

    fn chat(
        &self,
        request: ChatRequest,
        chunks: Option<ChunkSender>,
    ) -> BoxFuture<'_, Result<ChatResponse, ModelError>>;
}

#[cfg(test)]
mod mock_tests;
