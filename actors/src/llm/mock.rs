//! `llm mock`: a deterministic scripted model (DESIGN.md §3) for tests, benchmarks and offline demos.
//! Its script position is an atomic in the model value, which lives as long as the component's
//! supervisor, so a scripted panic happens once and the restarted component moves on.

use super::mock_error::{EntryError, MockError};
use super::{
    ChatModel, ChatRequest, ChatResponse, ChunkSender, ModelError, ModelErrorKind, Role, ToolCall,
};
use futures_util::future::BoxFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use woodwork_parser::spec::{MockSpec, Spec};
use woodwork_parser::{Component, Value};

/// One scripted answer.
#[derive(Clone, Debug, PartialEq)]
pub enum MockEntry {
    /// Answer `text`, after `delay` if given.
    Text {
        text: String,
        delay: Option<Duration>,
    },
    /// Fail with a model error of this kind.
    Error(ModelErrorKind),
    /// Panic inside the call's future (the runtime must catch it).
    Panic(String),
    /// Ask for a tool call.
    Tool {
        tool: String,
        action: Option<String>,
        inputs: serde_json::Value,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Mode {
    Echo,
    Reply(String),
    Script(Vec<MockEntry>),
}

/// The mock model.
#[derive(Debug)]
pub struct MockModel {
    name: String,
    mode: Mode,
    position: AtomicUsize,
}

impl MockModel {
    /// `echo: <last user message>` for every call.
    pub fn echo() -> MockModel {
        MockModel::with_mode("mock", Mode::Echo)
    }

    /// Always `text`.
    pub fn reply(text: impl Into<String>) -> MockModel {
        MockModel::with_mode("mock", Mode::Reply(text.into()))
    }

    /// Plays `entries` in order, then repeats the last one.
    pub fn script(entries: Vec<MockEntry>) -> MockModel {
        if entries.is_empty() {
            return MockModel::echo();
        }
        MockModel::with_mode("mock", Mode::Script(entries))
    }

    fn with_mode(name: &str, mode: Mode) -> MockModel {
        MockModel {
            name: name.to_string(),
            mode,
            position: AtomicUsize::new(0),
        }
    }

    /// Builds from an `llm mock { reply | replies }` declaration; a malformed script is an error
    /// naming the entry.
    pub fn from_component(c: &Component) -> Result<MockModel, MockError> {
        let spec = match c.spec()? {
            Spec::Mock(spec) => spec,
            _ => MockSpec::default(),
        };
        let llm = || c.name.to_string();
        let mut model = if let Some(list) = &spec.replies {
            let items = list
                .as_list()
                .ok_or_else(|| MockError::RepliesNotAList { llm: llm() })?;
            let entries = items
                .iter()
                .enumerate()
                .map(|(index, v)| {
                    parse_entry(v).map_err(|source| MockError::Entry {
                        llm: llm(),
                        index,
                        source,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            MockModel::script(entries)
        } else if let Some(v) = &spec.reply {
            let text = v
                .as_str()
                .ok_or_else(|| MockError::ReplyNotAString { llm: llm() })?;
            MockModel::reply(text)
        } else {
            MockModel::echo()
        };
        model.name = format!("mock:{}", c.name);
        Ok(model)
    }

    /// How many calls were made so far (the script position).
    pub fn calls(&self) -> usize {
        self.position.load(Ordering::SeqCst)
    }

    fn next_entry(&self, request: &ChatRequest) -> MockEntry {
        match &self.mode {
            Mode::Echo => {
                let last = request
                    .messages
                    .iter()
                    .rev()
                    .find(|m| m.role == Role::User)
                    .map(|m| m.content.as_str())
                    .unwrap_or("");
                self.position.fetch_add(1, Ordering::SeqCst);
                MockEntry::Text {
                    text: format!("echo: {last}"),
                    delay: None,
                }
            }
            Mode::Reply(t) => {
                self.position.fetch_add(1, Ordering::SeqCst);
                MockEntry::Text {
                    text: t.clone(),
                    delay: None,
                }
            }
            Mode::Script(entries) => {
                let i = self.position.fetch_add(1, Ordering::SeqCst);
                entries[i.min(entries.len() - 1)].clone()
            }
        }
    }
}

fn parse_error_kind(s: &str) -> Result<ModelErrorKind, EntryError> {
    Ok(match s {
        "rate_limited" => ModelErrorKind::RateLimited,
        "server_error" => ModelErrorKind::Server,
        "auth" => ModelErrorKind::Auth,
        "timeout" => ModelErrorKind::Timeout,
        "overloaded" => ModelErrorKind::Overloaded,
        "bad_request" => ModelErrorKind::BadRequest,
        other => return Err(EntryError::UnknownError(other.to_string())),
    })
}

fn parse_entry(v: &Value) -> Result<MockEntry, EntryError> {
    if let Some(s) = v.as_str() {
        return Ok(MockEntry::Text {
            text: s.to_string(),
            delay: None,
        });
    }
    let m = v.as_map().ok_or(EntryError::NotAStringOrMap)?;
    if let Some(e) = m.get("error") {
        let kind = e.as_str().ok_or(EntryError::ErrorNotAString)?;
        return parse_error_kind(kind).map(MockEntry::Error);
    }
    if let Some(p) = m.get("panic") {
        return Ok(MockEntry::Panic(
            p.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| "scripted panic".into()),
        ));
    }
    if let Some(t) = m.get("tool") {
        let tool = t
            .as_str()
            .or_else(|| t.as_ref_name())
            .ok_or(EntryError::ToolNotAName)?;
        return Ok(MockEntry::Tool {
            tool: tool.to_string(),
            action: m.get("action").and_then(|a| a.as_str()).map(str::to_string),
            inputs: m
                .get("inputs")
                .map(Value::to_json)
                .unwrap_or(serde_json::Value::Null),
        });
    }
    if let Some(t) = m.get("text") {
        let text = t.as_str().ok_or(EntryError::TextNotAString)?;
        let delay = match m.get("delay_ms") {
            None => None,
            Some(d) => {
                let ms = d
                    .as_i64()
                    .filter(|ms| *ms >= 0)
                    .ok_or(EntryError::BadDelay)?;
                Some(Duration::from_millis(ms as u64))
            }
        };
        return Ok(MockEntry::Text {
            text: text.to_string(),
            delay,
        });
    }
    Err(EntryError::NoAction)
}

/// Sends `text` word by word (spaces kept, so the chunks concatenate to the text).
async fn stream_words(text: &str, chunks: &ChunkSender) -> Result<(), ModelError> {
    for word in text.split_inclusive(' ') {
        if chunks.send(word.to_string()).await.is_err() {
            return Err(ModelError::new(
                ModelErrorKind::Cancelled,
                "the reader of the stream went away",
            ));
        }
    }
    Ok(())
}

impl ChatModel for MockModel {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn chat(
        &self,
        request: ChatRequest,
        chunks: Option<ChunkSender>,
    ) -> BoxFuture<'_, Result<ChatResponse, ModelError>> {
        let entry = self.next_entry(&request);
        Box::pin(async move {
            match entry {
                MockEntry::Text { text, delay } => {
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    if let Some(tx) = &chunks {
                        stream_words(&text, tx).await?;
                    }
                    Ok(ChatResponse {
                        text,
                        tool_calls: Vec::new(),
                        finish_reason: Some("stop".into()),
                    })
                }
                MockEntry::Error(kind) => Err(ModelError::new(
                    kind,
                    format!("scripted {} error", kind.as_str()),
                )),
                MockEntry::Panic(msg) => panic!("{msg}"),
                MockEntry::Tool {
                    tool,
                    action,
                    inputs,
                } => Ok(ChatResponse {
                    text: String::new(),
                    tool_calls: vec![ToolCall {
                        id: format!("call_{}", self.position.load(Ordering::Relaxed)),
                        tool,
                        action,
                        inputs,
                    }],
                    finish_reason: Some("tool_calls".into()),
                }),
            }
        })
    }
}
