//! The frames of the WebSocket `/input`: what a client may send (woodwork's `user_input`, `input`
//! and `subscribe` messages, a JSON string or raw text) and the one shape the server sends,
//! `{event, payload, sender, session_id, timestamp}`.

use serde::Serialize;
use serde_json::Value;
use woodwork_runtime::EventType;

/// Most components one `subscribe` may name, and the longest name kept.
pub const MAX_SUBSCRIBE: usize = 64;
const MAX_NAME: usize = 128;

/// What a client frame asks for.
#[derive(Debug, PartialEq)]
pub enum ClientFrame {
    /// Input to run through the pipeline.
    Input(String),
    /// Components whose events the socket wants (added to its list, as woodwork does).
    Subscribe(Vec<String>),
}

/// Why a client frame was refused: answered with an `error` frame; the socket stays open.
#[derive(Debug, PartialEq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> FrameError {
    FrameError {
        code,
        message: message.into(),
    }
}

const HELP: &str = r#"send {"type": "user_input", "input": "hello"}, {"type": "input", "data": "hello"}, {"type": "subscribe", "components": ["*"]}, a JSON string or plain text"#;

/// Reads one text frame. Text that starts like JSON (`{`, `[` or `"`) must be JSON; anything
/// else is raw input text, as woodwork's clients send it.
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let trimmed = text.trim_start();
    if trimmed.trim_end().is_empty() {
        return Err(refuse("input_required", "Input is required"));
    }
    if !trimmed.starts_with(['{', '[', '"']) {
        return Ok(ClientFrame::Input(text.to_string()));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        refuse(
            "malformed_json",
            format!("malformed JSON frame ({e}): {HELP}"),
        )
    })?;
    match value {
        Value::String(s) => non_blank(s),
        Value::Object(mut map) => {
            let kind = match map.get("type") {
                None | Some(Value::Null) => "user_input".to_string(),
                Some(Value::String(t)) => t.clone(),
                Some(_) => {
                    return Err(refuse(
                        "bad_type",
                        format!("`type` must be a string: {HELP}"),
                    ))
                }
            };
            match kind.as_str() {
                "user_input" => text_field(map.remove("input"), "input"),
                "input" => text_field(map.remove("data"), "data"),
                "subscribe" => subscribe(map.remove("components")),
                other => {
                    let shown: String =
                        other.chars().take(64).filter(|c| !c.is_control()).collect();
                    Err(refuse(
                        "unknown_type",
                        format!("unknown frame type `{shown}`: {HELP}"),
                    ))
                }
            }
        }
        _ => Err(refuse(
            "bad_frame",
            format!("a JSON list, number or boolean is not a frame: {HELP}"),
        )),
    }
}

fn non_blank(s: String) -> Result<ClientFrame, FrameError> {
    if s.trim().is_empty() {
        Err(refuse("input_required", "Input is required"))
    } else {
        Ok(ClientFrame::Input(s))
    }
}

fn text_field(v: Option<Value>, field: &str) -> Result<ClientFrame, FrameError> {
    match v {
        Some(Value::String(s)) => non_blank(s),
        None | Some(Value::Null) => Err(refuse("input_required", "Input is required")),
        Some(_) => Err(refuse(
            "bad_input",
            format!("`{field}` must be a string: {HELP}"),
        )),
    }
}

fn subscribe(v: Option<Value>) -> Result<ClientFrame, FrameError> {
    let bad = || {
        refuse(
            "bad_subscribe",
            format!(
                "`components` must be a list of at most {MAX_SUBSCRIBE} component names (or \"*\"), \
                 e.g. {{\"type\": \"subscribe\", \"components\": [\"agent\"]}}"
            ),
        )
    };
    let Some(Value::Array(items)) = v else {
        return Err(bad());
    };
    if items.len() > MAX_SUBSCRIBE {
        return Err(bad());
    }
    items
        .into_iter()
        .map(|i| match i {
            Value::String(s) if !s.is_empty() && s.len() <= MAX_NAME => Ok(s),
            _ => Err(bad()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(ClientFrame::Subscribe)
}

/// The events a socket is sent as they happen (DESIGN.md §5); the final `agent.response` is sent
/// from the turn's answer, so every pipeline ends with exactly one.
pub fn forwarded(event: EventType) -> bool {
    matches!(
        event,
        EventType::InputReceived
            | EventType::AgentThought
            | EventType::AgentAction
            | EventType::ToolCall
            | EventType::ToolObservation
            | EventType::AgentStepComplete
            | EventType::AgentError
    )
}

/// One server frame.
#[derive(Serialize)]
pub struct ServerFrame<'a, P: Serialize> {
    pub event: &'a str,
    pub payload: P,
    pub sender: &'a str,
    pub session_id: &'a str,
    pub timestamp: f64,
}

impl<P: Serialize> ServerFrame<'_, P> {
    /// As the text of a WebSocket frame.
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            // Only a payload JSON cannot hold (none of ours) gets here.
            format!(
                r#"{{"event":"error","payload":{{"error":"could not encode a frame: {}","code":"encode"}},"sender":"","session_id":"","timestamp":0}}"#,
                e.to_string().replace(['"', '\\'], "'")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(s: &str) -> Result<ClientFrame, FrameError> {
        Ok(ClientFrame::Input(s.into()))
    }

    #[test]
    fn woodworks_client_frames_are_input() {
        assert_eq!(
            parse(r#"{"type": "user_input", "input": "hi"}"#),
            input("hi")
        );
        assert_eq!(parse(r#"{"type": "input", "data": "hi"}"#), input("hi"));
        assert_eq!(parse(r#"{"input": "hi"}"#), input("hi"));
        assert_eq!(parse(r#""hi""#), input("hi"));
        assert_eq!(parse("hello there"), input("hello there"));
        assert_eq!(parse("42"), input("42"));
        assert_eq!(
            parse(r#"{"type": "subscribe", "components": ["a", "*"]}"#),
            Ok(ClientFrame::Subscribe(vec!["a".into(), "*".into()]))
        );
    }

    #[test]
    fn bad_frames_say_what_is_wrong() {
        let code = |s: &str| parse(s).unwrap_err().code;
        assert_eq!(code("{not json"), "malformed_json");
        assert_eq!(code(r#"{"type": "dance"}"#), "unknown_type");
        assert_eq!(code(r#"{"type": 3}"#), "bad_type");
        assert_eq!(code(r#"{"type": "user_input", "input": 3}"#), "bad_input");
        assert_eq!(code(r#"{"type": "user_input"}"#), "input_required");
        assert_eq!(code("   "), "input_required");
        assert_eq!(
            code(r#"{"type": "subscribe", "components": "a"}"#),
            "bad_subscribe"
        );
        assert_eq!(code("[1, 2]"), "bad_frame");
    }
}
