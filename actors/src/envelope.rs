//! Typed envelopes and event names (DESIGN.md §4): what travels between components, with woodwork's
//! event and field names, serialisable as JSON for the DLQ, the HTTP API and a future broker bus.

use crate::reply::ReplyTo;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
use woodwork_parser::events::EVENT_NAMES;

/// Woodwork's event names plus the runtime's own, as a closed enum so a hop never compares strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    InputReceived,
    AgentThought,
    AgentAction,
    ToolCall,
    ToolObservation,
    AgentStepComplete,
    AgentError,
    AgentResponse,
    ComponentResponse,
    StreamChunk,
    StreamCompleted,
    StreamFailed,
    ComponentStateChanged,
    ComponentRestarted,
    BreakerStateChanged,
    SessionCreated,
    SessionEnded,
    /// `serve --watch` applied an edited config.
    ConfigReloaded,
    /// `serve --watch` refused an edited config; the running one keeps serving.
    ConfigRejected,
}

impl EventType {
    /// Every event type, for parsing and docs.
    pub const ALL: [EventType; 19] = [
        EventType::InputReceived,
        EventType::AgentThought,
        EventType::AgentAction,
        EventType::ToolCall,
        EventType::ToolObservation,
        EventType::AgentStepComplete,
        EventType::AgentError,
        EventType::AgentResponse,
        EventType::ComponentResponse,
        EventType::StreamChunk,
        EventType::StreamCompleted,
        EventType::StreamFailed,
        EventType::ComponentStateChanged,
        EventType::ComponentRestarted,
        EventType::BreakerStateChanged,
        EventType::SessionCreated,
        EventType::SessionEnded,
        EventType::ConfigReloaded,
        EventType::ConfigRejected,
    ];

    /// The dotted name woodwork uses (`agent.thought`, …), from the parser's one table of
    /// event names (variant order = table order), so `check` and the runtime cannot disagree.
    pub fn as_str(self) -> &'static str {
        EVENT_NAMES[self as usize]
    }

    /// Parses a dotted event name.
    pub fn parse(name: &str) -> Option<EventType> {
        woodwork_parser::events::index_of(name).and_then(|i| EventType::ALL.get(i).copied())
    }
}

// One name per variant: a variant added without its name (or the reverse) does not compile.
const _: () = assert!(EVENT_NAMES.len() == EventType::ALL.len());
// `ALL` lists the variants in declaration order, so `ALL[i] as usize == i` indexes the table.
const _: () = {
    let mut i = 0;
    while i < EventType::ALL.len() {
        assert!(EventType::ALL[i] as usize == i);
        i += 1;
    }
};

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventType::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event type `{s}`")))
    }
}

/// The per-process random prefix of message ids and where their counter starts.
static PROCESS: OnceLock<(u64, u64)> = OnceLock::new();
/// Message ids handed out so far in this process.
static COUNTER: AtomicU64 = AtomicU64::new(1);

/// Where the low halves of this process's message ids start: its start time in microseconds
/// since the Unix epoch (about 2^51, so ids stay exact as JSON numbers). The low half is the
/// process's one event sequence (SSE `id:`s): starting from the clock makes a `Last-Event-ID`
/// from an earlier process of the server read as older than anything this one sent.
fn start_of_sequence() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A message id: a per-process random prefix plus a counter, shown as a UUID. Cheaper than a v4
/// UUID per hop (no syscall, no RNG) yet unique enough to dedupe on a shared broker.
/// Two u64 halves (not a u128) keep the envelope 8-byte aligned and small to move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageId {
    pub hi: u64,
    pub lo: u64,
}

impl MessageId {
    /// A fresh id.
    pub fn next() -> MessageId {
        let (prefix, start) = *PROCESS.get_or_init(|| (rand::random::<u64>(), start_of_sequence()));
        MessageId {
            hi: prefix,
            lo: start + COUNTER.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// As one 128-bit number (the UUID's bits).
    pub fn as_u128(self) -> u128 {
        ((self.hi as u128) << 64) | self.lo as u128
    }

    /// From the UUID's bits.
    pub fn from_u128(v: u128) -> MessageId {
        MessageId {
            hi: (v >> 64) as u64,
            lo: v as u64,
        }
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&uuid::Uuid::from_u128(self.as_u128()), f)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        uuid::Uuid::parse_str(&s)
            .map(|u| MessageId::from_u128(u.as_u128()))
            .map_err(serde::de::Error::custom)
    }
}

/// Seconds since the Unix epoch, as woodwork's Python `time.time()` gives them.
pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Default retry budget of a message (DESIGN.md §4).
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Default time to live of a message in seconds (DESIGN.md §4).
pub const DEFAULT_TTL_S: f64 = 300.0;

/// One message between components. Names and payloads are shared (`Arc`), so forwarding and
/// fan-out copy pointers, never JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub message_id: MessageId,
    pub session_id: Arc<str>,
    pub event_type: EventType,
    pub payload: Arc<serde_json::Value>,
    pub sender: Arc<str>,
    #[serde(default)]
    pub target: Option<Arc<str>>,
    /// Unix seconds when the request entered the runtime (hops inherit it).
    pub created_at: f64,
    #[serde(default)]
    pub retry_count: u32,
    pub max_retries: u32,
    /// Seconds after `created_at` at which the message is expired into the dead-letter queue.
    pub ttl: f64,
    #[serde(default)]
    pub trace_id: Option<Arc<str>>,
    /// For replies: the message this answers.
    #[serde(default)]
    pub correlation_id: Option<MessageId>,
    /// Unix seconds by which the whole request must be answered.
    #[serde(default)]
    pub deadline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_final: Option<bool>,
    /// Where the terminal result goes (in process only; a broker bus keys it by correlation id).
    #[serde(skip)]
    pub reply: Option<ReplyTo>,
}

impl Envelope {
    /// A new envelope with the DESIGN.md defaults (3 retries, 300 s TTL).
    pub fn new(
        session_id: Arc<str>,
        event_type: EventType,
        payload: Arc<serde_json::Value>,
        sender: Arc<str>,
    ) -> Envelope {
        Envelope {
            message_id: MessageId::next(),
            session_id,
            event_type,
            payload,
            sender,
            target: None,
            created_at: now_unix(),
            retry_count: 0,
            max_retries: DEFAULT_MAX_RETRIES,
            ttl: DEFAULT_TTL_S,
            trace_id: None,
            correlation_id: None,
            deadline: None,
            stream_id: None,
            chunk_index: None,
            is_final: None,
            reply: None,
        }
    }

    /// The next hop of this message: same session, trace and reply, new id, payload and sender.
    pub fn forward(
        &self,
        event_type: EventType,
        payload: Arc<serde_json::Value>,
        sender: Arc<str>,
        target: Arc<str>,
    ) -> Envelope {
        Envelope {
            message_id: MessageId::next(),
            session_id: self.session_id.clone(),
            event_type,
            payload,
            sender,
            target: Some(target),
            // Hops inherit the request's creation time: the TTL bounds the whole request (like
            // its deadline) and a hop costs no clock read.
            created_at: self.created_at,
            retry_count: 0,
            max_retries: self.max_retries,
            ttl: self.ttl,
            trace_id: self.trace_id.clone(),
            correlation_id: Some(self.message_id),
            deadline: self.deadline,
            stream_id: None,
            chunk_index: None,
            is_final: None,
            reply: self.reply.clone(),
        }
    }

    /// This envelope's number in the process's event sequence (the low half of its message id:
    /// grows in creation order), the SSE `id:` of the event, the same in a turn's stream and on
    /// `/events`.
    pub fn event_id(&self) -> u64 {
        self.message_id.lo
    }

    /// True once the message outlived its TTL.
    pub fn expired_at(&self, now: f64) -> bool {
        now > self.created_at + self.ttl
    }

    /// The payload as text: a JSON string as is, `{"input": ...}` by its input, anything else as JSON.
    pub fn text(&self) -> String {
        payload_text(&self.payload)
    }
}

/// Text of a payload, the way components read their input.
pub fn payload_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => match m
            .get("input")
            .or_else(|| m.get("response"))
            .or_else(|| m.get("text"))
        {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => v.to_string(),
        },
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
