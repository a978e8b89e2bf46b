//! `llm openai` against a loopback server speaking the Chat Completions wire format byte for byte.

use crate::wire::openai_sse::*;
use crate::wire::*;
use serde_json::json;
use std::time::Duration;
use woodwork_parser::Value;
use woodwork_runtime::llm::{
    build_provider, ChatMessage, ChatModel, ChatRequest, ModelErrorKind, Role, ToolCall,
};

const KEY: &str = "sk-test-0123456789abcdef";

fn model(server: &Server, extra: Vec<(&str, Value)>) -> std::sync::Arc<dyn ChatModel> {
    provider(
        "openai",
        vec![
            ("api_key", secret(KEY)),
            ("model", s("gpt-test")),
            ("base_url", s(&format!("{}/v1", server.url))),
        ],
        extra,
    )
}

fn assert_no_key(err: &woodwork_runtime::llm::ModelError) {
    assert!(!err.message.contains(KEY));
    assert!(!err.to_string().contains(KEY));
    assert!(!format!("{err:?}").contains(KEY));
}

#[tokio::test]
async fn streams_chunks_in_order_and_sends_the_expected_request() {
    let server = Server::start(vec![Reply::sse(
        text_stream(&["Hel", "lo", ", wor", "ld ü"]),
        End::Complete,
    )])
    .await;
    let m = model(
        &server,
        vec![
            ("temperature", Value::Float(0.2)),
            ("max_tokens", Value::Int(50)),
        ],
    );
    assert_eq!(m.describe(), "openai:gpt-test");
    let (result, chunks) = stream_chat(m.as_ref(), hello()).await;
    let response = result.unwrap();
    assert_eq!(chunks, ["Hel", "lo", ", wor", "ld ü"]);
    assert_eq!(response.text, chunks.concat());
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert!(response.tool_calls.is_empty());

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        json!({
            "model": "gpt-test",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Say hello"}
            ],
            "stream": true,
            "temperature": 0.2,
            "max_tokens": 50
        })
    );
}

#[tokio::test]
async fn answers_without_streaming_from_json() {
    let server = Server::start(vec![Reply::json(
        200,
        completion(
            r#"{"role": "assistant", "content": "Hello there.", "refusal": null}"#,
            "stop",
        ),
    )])
    .await;
    let m = model(&server, vec![]);
    let response = chat(m.as_ref(), hello()).await.unwrap();
    assert_eq!(response.text, "Hello there.");
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(server.requests()[0].body["stream"], json!(false));
}

#[tokio::test]
async fn native_tool_calls_are_sent_parsed_and_replayed() {
    let message = r#"{"role": "assistant", "content": null, "tool_calls": [{"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}], "refusal": null}"#;
    let server = Server::start(vec![Reply::json(200, completion(message, "tool_calls"))]).await;
    let m = model(&server, vec![]);
    let earlier = ToolCall {
        id: "call_1".into(),
        tool: "get_weather".into(),
        action: None,
        inputs: json!({"city": "Oslo"}),
    };
    let mut assistant = ChatMessage::new(Role::Assistant, "");
    assistant.tool_calls = vec![earlier];
    let mut result = ChatMessage::new(Role::Tool, "-3 C");
    result.tool_call_id = Some("call_1".into());
    let request = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "Weather?"), assistant, result],
        tools: vec![weather_tool()],
    };
    let response = chat(m.as_ref(), request).await.unwrap();
    assert_eq!(
        response.tool_calls,
        [ToolCall {
            id: "call_abc123".into(),
            tool: "get_weather".into(),
            action: None,
            inputs: json!({"city": "Paris"})
        }]
    );
    assert_eq!(response.finish_reason.as_deref(), Some("tool_calls"));
    let body = &server.requests()[0].body;
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}
        }}])
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "-3 C"})
    );
}

#[tokio::test]
async fn streamed_tool_call_arguments_are_assembled_by_index() {
    let parts = vec![
        chunk(
            r#"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null}"#,
            None,
        ),
        chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}"#,
            None,
        ),
        chunk(
            r#"{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"get_time","arguments":""}}]}"#,
            None,
        ),
        chunk(
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Paris\"}"}}]}"#,
            None,
        ),
        chunk(
            r#"{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":\"CET\"}"}}]}"#,
            None,
        ),
        chunk("{}", Some("tool_calls")),
        "data: [DONE]\n\n".into(),
    ];
    let server = Server::start(vec![Reply::sse(parts, End::Complete)]).await;
    let m = model(&server, vec![]);
    let request = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "Weather and time?")],
        tools: vec![weather_tool()],
    };
    let (result, chunks) = stream_chat(m.as_ref(), request).await;
    let response = result.unwrap();
    assert!(chunks.is_empty());
    let calls: Vec<_> = response
        .tool_calls
        .iter()
        .map(|c| (c.id.as_str(), c.tool.as_str(), c.inputs.clone()))
        .collect();
    assert_eq!(
        calls,
        [
            ("call_A", "get_weather", json!({"city": "Paris"})),
            ("call_B", "get_time", json!({"tz": "CET"}))
        ]
    );
}

#[tokio::test]
async fn unauthorized_is_auth_not_retried_and_never_shows_the_key() {
    let body = format!(
        "{{\n    \"error\": {{\n        \"message\": \"Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com/account/api-keys.\",\n        \"type\": \"invalid_request_error\",\n        \"param\": null,\n        \"code\": \"invalid_api_key\"\n    }}\n}}\n"
    );
    let server = Server::start(vec![Reply::json(401, body)]).await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Auth);
    assert_eq!(err.status, Some(401));
    assert!(
        err.message.contains("Incorrect API key provided"),
        "{}",
        err.message
    );
    assert_no_key(&err);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn context_length_is_classified_and_not_retried() {
    let body = "{\n  \"error\": {\n    \"message\": \"This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.\",\n    \"type\": \"invalid_request_error\",\n    \"param\": \"messages\",\n    \"code\": \"context_length_exceeded\"\n  }\n}\n";
    let server = Server::start(vec![Reply::json(400, body)]).await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::ContextLength);
    assert!(!err.retryable());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn other_bad_requests_are_bad_request() {
    let body = r#"{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":null}}"#;
    let server = Server::start(vec![Reply::json(400, body)]).await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::BadRequest);
    assert!(err.message.contains("temperature"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_unknown_model_404_is_a_configuration_error() {
    let body = r#"{"error":{"message":"The model `nope` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#;
    let server = Server::start(vec![Reply::json(404, body)]).await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Config);
    assert!(err.message.contains("does not exist"));
    assert!(
        err.message.contains("check `base_url` and `model`"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains(&format!("{}/", server.url)),
        "{}",
        err.message
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_once_then_succeeds() {
    let limited = Reply::json(
        429,
        r#"{"error":{"message":"Rate limit reached for gpt-test in organization org-x on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
    )
    .with_header("retry-after", "1");
    let ok = Reply::sse(text_stream(&["fine"]), End::Complete);
    let server = Server::start(vec![limited, ok]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    assert_eq!(result.unwrap().text, "fine");
    assert_eq!(chunks, ["fine"]);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_bound_gives_up_with_it_set() {
    let limited = Reply::json(429, r#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#)
        .with_header("retry-after", "120");
    let server = Server::start(vec![
        limited,
        Reply::json(
            200,
            completion(r#"{"role":"assistant","content":"x"}"#, "stop"),
        ),
    ])
    .await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::RateLimited);
    assert_eq!(err.retry_after, Some(Duration::from_secs(120)));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_error_is_retried_then_succeeds() {
    let failed = Reply::json(
        500,
        r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}"#,
    );
    let ok = Reply::json(
        200,
        completion(r#"{"role":"assistant","content":"recovered"}"#, "stop"),
    );
    let server = Server::start(vec![failed, ok]).await;
    let response = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap();
    assert_eq!(response.text, "recovered");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retries_stop_at_max_retries() {
    let failed = Reply::json(502, "<html><body>Bad gateway</body></html>");
    let server = Server::start(vec![failed]).await;
    let m = model(&server, vec![("max_retries", Value::Int(1))]);
    let err = chat(m.as_ref(), hello()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Server);
    assert!(err.message.contains("Bad gateway"));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn overloaded_529_is_classified() {
    let server = Server::start(vec![Reply::json(
        529,
        r#"{"error":{"message":"Overloaded","type":"overloaded_error"}}"#,
    )])
    .await;
    let m = model(&server, vec![("max_retries", Value::Int(0))]);
    let err = chat(m.as_ref(), hello()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Overloaded);
    assert!(err.retryable());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_stream_cut_midway_fails_after_first_token_without_retry() {
    let mut parts = text_stream(&["one ", "two ", "three"]);
    parts.truncate(3);
    let server = Server::start(vec![Reply::sse(parts, End::Cut)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Connection);
    assert!(err.after_first_token);
    assert!(!err.retryable());
    assert_eq!(chunks, ["one ", "two "]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_error_event_inside_the_stream_is_classified() {
    let parts = vec![
        chunk(r#"{"role":"assistant","content":"Hi"}"#, None),
        "data: {\"error\":{\"message\":\"The server is overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n".into(),
    ];
    let server = Server::start(vec![Reply::sse(parts, End::Complete)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Server);
    assert!(err.after_first_token);
    assert_eq!(chunks, ["Hi"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn dropping_the_call_closes_the_upstream_connection() {
    let mut parts = text_stream(&["first", "never"]);
    parts.truncate(2);
    let server = Server::start(vec![Reply::sse(parts, End::Hold)]).await;
    let call = abort_after_first_chunk(&server, model(&server, vec![]), hello(), "first").await;
    assert!(call.await.unwrap_err().is_cancelled());
}

#[tokio::test]
async fn a_dropped_receiver_cancels_the_call_and_closes_the_connection() {
    let mut parts = text_stream(&["first", "never"]);
    parts.truncate(2);
    let server = Server::start(vec![Reply::sse(parts, End::Hold)]).await;
    let m = model(&server, vec![]);
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let call = tokio::spawn(async move { m.chat(hello(), Some(tx)).await });
    assert_eq!(rx.recv().await.as_deref(), Some("first"));
    drop(rx);
    let err = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("hang guard")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Cancelled);
    assert!(err.after_first_token);
    server.wait_held_connection_closed().await;
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_silent_stream_hits_the_idle_timeout_without_retry() {
    let mut parts = text_stream(&["only"]);
    parts.truncate(2);
    let server = Server::start(vec![Reply::sse(parts, End::Hold)]).await;
    let m = model(&server, vec![("idle_timeout", Value::Float(0.3))]);
    let (result, chunks) = stream_chat(m.as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Timeout);
    assert!(err.after_first_token);
    assert_eq!(chunks, ["only"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_oversized_line_is_a_protocol_error() {
    let huge = format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}",
        "a".repeat(1_100_000)
    );
    let server = Server::start(vec![Reply::sse(vec![huge], End::Complete)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Protocol);
    assert!(chunks.is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_local_server_needs_no_key_and_gets_no_auth_header() {
    let server = Server::start(vec![Reply::json(
        200,
        completion(r#"{"role":"assistant","content":"local"}"#, "stop"),
    )])
    .await;
    let m = build_provider(&component(
        "openai",
        vec![
            ("model", s("qwen2.5")),
            ("base_url", s(&format!("{}/v1/", server.url))),
        ],
    ))
    .unwrap();
    assert_eq!(chat(m.as_ref(), hello()).await.unwrap().text, "local");
    let r = &server.requests()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), None);
}

#[tokio::test]
async fn a_json_answer_to_a_streaming_request_arrives_as_one_chunk() {
    let server = Server::start(vec![Reply::json(
        200,
        completion(r#"{"role":"assistant","content":"whole answer"}"#, "stop"),
    )])
    .await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    assert_eq!(result.unwrap().text, "whole answer");
    assert_eq!(chunks, ["whole answer"]);
}

#[tokio::test]
async fn the_whole_call_timeout_ends_a_slow_stream_and_closes_it() {
    let mut parts = text_stream(&["slow"]);
    parts.truncate(2);
    let server = Server::start(vec![Reply::sse(parts, End::Hold)]).await;
    let mut c = component(
        "openai",
        vec![
            ("model", s("gpt-test")),
            ("base_url", s(&format!("{}/v1", server.url))),
            ("idle_timeout", Value::Int(60)),
        ],
    );
    c.timeout = Some(Duration::from_millis(300));
    let m = build_provider(&c).unwrap();
    let (result, chunks) = stream_chat(m.as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Timeout);
    assert!(
        err.message.contains("component's timeout"),
        "{}",
        err.message
    );
    assert!(err.after_first_token);
    assert_eq!(chunks, ["slow"]);
    server.wait_held_connection_closed().await;
    assert_eq!(server.requests().len(), 1);
}
