//! `llm claude` against a loopback server speaking the Anthropic Messages wire format byte for byte,
//! named SSE events included.

use crate::wire::*;
use serde_json::json;
use woodwork_parser::Value;
use woodwork_runtime::llm::{ChatMessage, ChatModel, ChatRequest, ModelErrorKind, Role, ToolCall};

const KEY: &str = "sk-ant-api03-test-key-0123456789";

fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn event(name: &str, data: &str) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn message_start() -> String {
    event(
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
    )
}

fn text_delta(index: usize, text: &str) -> String {
    event(
        "content_block_delta",
        &format!(
            "{{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"text_delta\",\"text\":{}}}}}",
            q(text)
        ),
    )
}

fn text_block_start(index: usize) -> String {
    event(
        "content_block_start",
        &format!("{{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}"),
    )
}

fn tool_use_start(index: usize, id: &str, name: &str) -> String {
    event(
        "content_block_start",
        &format!("{{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{{\"type\":\"tool_use\",\"id\":\"{id}\",\"name\":\"{name}\",\"input\":{{}}}}}}"),
    )
}

fn input_json_delta(index: usize, partial_json: &str) -> String {
    event(
        "content_block_delta",
        &format!(
            "{{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":{}}}}}",
            q(partial_json)
        ),
    )
}

fn block_stop(index: usize) -> String {
    event(
        "content_block_stop",
        &format!("{{\"type\":\"content_block_stop\",\"index\":{index}}}"),
    )
}

fn finish(stop_reason: &str) -> Vec<String> {
    vec![
        event(
            "message_delta",
            &format!("{{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{stop_reason}\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":15}}}}"),
        ),
        event("message_stop", r#"{"type":"message_stop"}"#),
    ]
}

fn text_stream(tokens: &[&str]) -> Vec<String> {
    let mut parts = vec![
        message_start(),
        text_block_start(0),
        event("ping", r#"{"type": "ping"}"#),
    ];
    parts.extend(tokens.iter().map(|t| text_delta(0, t)));
    parts.push(block_stop(0));
    parts.extend(finish("end_turn"));
    parts
}

fn model(server: &Server, extra: Vec<(&str, Value)>) -> std::sync::Arc<dyn ChatModel> {
    provider(
        "claude",
        vec![
            ("api_key", secret(KEY)),
            ("model", s("claude-test")),
            ("base_url", s(&server.url)),
        ],
        extra,
    )
}

#[tokio::test]
async fn streams_named_events_in_order_and_sends_the_expected_request() {
    let server = Server::start(vec![Reply::sse(
        text_stream(&["Hello", "! How", " can I help?"]),
        End::Complete,
    )])
    .await;
    let m = model(&server, vec![("temperature", Value::Float(0.5))]);
    assert_eq!(m.describe(), "claude:claude-test");
    let (result, chunks) = stream_chat(m.as_ref(), hello()).await;
    let response = result.unwrap();
    assert_eq!(chunks, ["Hello", "! How", " can I help?"]);
    assert_eq!(response.text, chunks.concat());
    assert_eq!(response.finish_reason.as_deref(), Some("end_turn"));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body,
        json!({
            "model": "claude-test",
            "max_tokens": 1024,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Say hello"}],
            "stream": true,
            "temperature": 0.5
        })
    );
}

#[tokio::test]
async fn answers_without_streaming_from_json() {
    let body = r#"{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"Hi! My name is Claude."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"output_tokens":503}}"#;
    let server = Server::start(vec![Reply::json(200, body)]).await;
    let m = model(&server, vec![("max_tokens", Value::Int(64))]);
    let response = chat(m.as_ref(), hello()).await.unwrap();
    assert_eq!(response.text, "Hi! My name is Claude.");
    assert_eq!(response.finish_reason.as_deref(), Some("end_turn"));
    let body = &server.requests()[0].body;
    assert_eq!(body["stream"], json!(false));
    assert_eq!(body["max_tokens"], json!(64));
}

#[tokio::test]
async fn tool_use_blocks_are_sent_parsed_and_results_replayed() {
    let body = r#"{"id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"I'll check the weather."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":400,"output_tokens":60}}"#;
    let server = Server::start(vec![Reply::json(200, body)]).await;
    let mut assistant = ChatMessage::new(Role::Assistant, "Checking both.");
    assistant.tool_calls = vec![
        ToolCall {
            id: "toolu_1".into(),
            tool: "get_weather".into(),
            action: None,
            inputs: json!({"city": "Oslo"}),
        },
        ToolCall {
            id: "toolu_2".into(),
            tool: "get_weather".into(),
            action: None,
            inputs: json!({"city": "Rome"}),
        },
    ];
    let mut first = ChatMessage::new(Role::Tool, "-3 C");
    first.tool_call_id = Some("toolu_1".into());
    let mut second = ChatMessage::new(Role::Tool, "18 C");
    second.tool_call_id = Some("toolu_2".into());
    let request = ChatRequest {
        messages: vec![
            ChatMessage::new(Role::User, "Weather?"),
            assistant,
            first,
            second,
        ],
        tools: vec![weather_tool()],
    };
    let response = chat(model(&server, vec![]).as_ref(), request)
        .await
        .unwrap();
    assert_eq!(response.text, "I'll check the weather.");
    assert_eq!(
        response.tool_calls,
        [ToolCall {
            id: "toolu_01A09q90qw90lq917835lq9".into(),
            tool: "get_weather".into(),
            action: None,
            inputs: json!({"city": "Paris"})
        }]
    );
    let body = &server.requests()[0].body;
    assert_eq!(
        body["tools"],
        json!([{"name": "get_weather", "description": "Current weather for a city",
                "input_schema": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}])
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3 C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "18 C"}
            ]}
        ])
    );
}

#[tokio::test]
async fn streamed_tool_use_input_json_is_assembled() {
    let mut parts = vec![
        message_start(),
        text_block_start(0),
        text_delta(0, "Let me check."),
        block_stop(0),
        tool_use_start(1, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        input_json_delta(1, ""),
        input_json_delta(1, r#"{"city": "San Fra"#),
        event("ping", r#"{"type": "ping"}"#),
        input_json_delta(1, r#"ncisco"}"#),
        block_stop(1),
        tool_use_start(2, "toolu_02", "get_time"),
        block_stop(2),
    ];
    parts.extend(finish("tool_use"));
    let server = Server::start(vec![Reply::sse(parts, End::Complete)]).await;
    let request = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "Weather?")],
        tools: vec![weather_tool()],
    };
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), request).await;
    let response = result.unwrap();
    assert_eq!(chunks, ["Let me check."]);
    assert_eq!(response.finish_reason.as_deref(), Some("tool_use"));
    let calls: Vec<_> = response
        .tool_calls
        .iter()
        .map(|c| (c.id.as_str(), c.tool.as_str(), c.inputs.clone()))
        .collect();
    assert_eq!(
        calls,
        [
            (
                "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "get_weather",
                json!({"city": "San Francisco"})
            ),
            ("toolu_02", "get_time", json!({}))
        ]
    );
}

#[tokio::test]
async fn an_overloaded_error_event_mid_stream_is_overloaded_and_not_retried() {
    let parts = vec![
        message_start(),
        text_block_start(0),
        text_delta(0, "Partial"),
        event(
            "error",
            r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
        ),
    ];
    let server = Server::start(vec![Reply::sse(parts, End::Complete)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Overloaded);
    assert!(err.after_first_token);
    assert_eq!(chunks, ["Partial"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn status_529_is_overloaded_and_retried() {
    let overloaded = Reply::json(
        529,
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    let ok = Reply::sse(text_stream(&["back"]), End::Complete);
    let server = Server::start(vec![overloaded, ok]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    assert_eq!(result.unwrap().text, "back");
    assert_eq!(chunks, ["back"]);
    assert_eq!(server.requests().len(), 2);

    let server = Server::start(vec![Reply::json(
        529,
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    )])
    .await;
    let m = model(&server, vec![("max_retries", Value::Int(0))]);
    let err = chat(m.as_ref(), hello()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Overloaded);
    assert_eq!(err.message, "HTTP 529 from the provider: Overloaded");
}

#[tokio::test]
async fn prompt_too_long_is_context_length() {
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 215463 tokens > 200000 maximum"}}"#,
    )])
    .await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::ContextLength);
    assert!(err.message.contains("prompt is too long"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn invalid_key_is_auth_and_never_shows_the_key() {
    let server = Server::start(vec![Reply::json(
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
    )])
    .await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Auth);
    assert!(err.message.contains("invalid x-api-key"));
    assert!(!format!("{err} {err:?}").contains(KEY));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_once() {
    let limited = Reply::json(
        429,
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#,
    )
    .with_header("retry-after", "1");
    let ok = Reply::sse(text_stream(&["ok"]), End::Complete);
    let server = Server::start(vec![limited, ok]).await;
    let (result, _) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    assert_eq!(result.unwrap().text, "ok");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_fails_without_retry() {
    let mut parts = text_stream(&["a", "b", "c"]);
    parts.truncate(5);
    let server = Server::start(vec![Reply::sse(parts, End::Cut)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Connection);
    assert!(err.after_first_token);
    assert_eq!(chunks, ["a", "b"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn dropping_the_call_closes_the_upstream_connection() {
    let mut parts = text_stream(&["first", "never"]);
    parts.truncate(4);
    let server = Server::start(vec![Reply::sse(parts, End::Hold)]).await;
    abort_after_first_chunk(&server, model(&server, vec![]), hello(), "first").await;
}

#[tokio::test]
async fn an_oversized_event_is_a_protocol_error() {
    let huge = format!(
        "event: content_block_delta\ndata: {}\n\n",
        "x".repeat(1_200_000)
    );
    let server = Server::start(vec![Reply::sse(vec![message_start(), huge], End::Complete)]).await;
    let (result, _) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    assert_eq!(result.unwrap_err().kind, ModelErrorKind::Protocol);
}
