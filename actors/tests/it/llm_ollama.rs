//! `llm ollama` against a loopback server speaking Ollama's `/api/chat` wire format (NDJSON streams).

use crate::wire::*;
use serde_json::json;
use woodwork_parser::Value;
use woodwork_runtime::llm::{
    ChatMessage, ChatModel, ChatRequest, ModelErrorKind, Role, ToolCall, ToolSpec,
};

fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn line(content: &str) -> String {
    format!(
        "{{\"model\":\"llama3.2\",\"created_at\":\"2025-01-15T08:52:19.385406455Z\",\"message\":{{\"role\":\"assistant\",\"content\":{}}},\"done\":false}}\n",
        q(content)
    )
}

fn done_line() -> String {
    "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-15T08:52:19.385406455Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,\"total_duration\":4883583458,\"load_duration\":1334875,\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,\"eval_count\":282,\"eval_duration\":4535599000}\n".into()
}

fn text_stream(tokens: &[&str]) -> Vec<String> {
    let mut parts: Vec<String> = tokens.iter().map(|t| line(t)).collect();
    parts.push(done_line());
    parts
}

/// Ollama's own conversation (shadows the shared `crate::wire::hello`).
fn hello() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "Why is the sky blue?"),
        ],
        tools: Vec::new(),
    }
}

fn model(server: &Server, extra: Vec<(&str, Value)>) -> std::sync::Arc<dyn ChatModel> {
    provider(
        "ollama",
        vec![("model", s("llama3.2")), ("base_url", s(&server.url))],
        extra,
    )
}

#[tokio::test]
async fn streams_ndjson_in_order_and_sends_the_expected_request() {
    let server = Server::start(vec![Reply::ndjson(
        text_stream(&["The", " sky", " is", " blue"]),
        End::Complete,
    )])
    .await;
    let m = model(
        &server,
        vec![
            ("temperature", Value::Float(0.1)),
            ("max_tokens", Value::Int(99)),
        ],
    );
    assert_eq!(m.describe(), "ollama:llama3.2");
    let (result, chunks) = stream_chat(m.as_ref(), hello()).await;
    let response = result.unwrap();
    assert_eq!(chunks, ["The", " sky", " is", " blue"]);
    assert_eq!(response.text, "The sky is blue");
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    let r = &server.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/chat"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body,
        json!({
            "model": "llama3.2",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Why is the sky blue?"}
            ],
            "stream": true,
            "options": {"temperature": 0.1, "num_predict": 99}
        })
    );
}

#[tokio::test]
async fn answers_without_streaming_from_json() {
    let body = "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-15T19:20:27.745Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Rayleigh scattering.\"},\"done_reason\":\"stop\",\"done\":true,\"total_duration\":5191566416,\"load_duration\":2154458,\"prompt_eval_count\":26,\"prompt_eval_duration\":383809000,\"eval_count\":298,\"eval_duration\":4799921000}";
    let server = Server::start(vec![Reply::json(200, body)]).await;
    let response = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap();
    assert_eq!(response.text, "Rayleigh scattering.");
    assert_eq!(server.requests()[0].body["stream"], json!(false));
}

#[tokio::test]
async fn tool_calls_with_object_arguments_are_parsed_and_replayed() {
    let body = "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-15T19:20:27.745Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Toronto\"}}}]},\"done_reason\":\"stop\",\"done\":true}";
    let server = Server::start(vec![Reply::json(200, body)]).await;
    let mut assistant = ChatMessage::new(Role::Assistant, "");
    assistant.tool_calls = vec![ToolCall {
        id: "call_1".into(),
        tool: "get_weather".into(),
        action: None,
        inputs: json!({"city": "Oslo"}),
    }];
    let mut result = ChatMessage::new(Role::Tool, "-3 C");
    result.tool_call_id = Some("call_1".into());
    let request = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "Weather?"), assistant, result],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Current weather".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
    };
    let response = chat(model(&server, vec![]).as_ref(), request)
        .await
        .unwrap();
    assert_eq!(response.tool_calls.len(), 1);
    let call = &response.tool_calls[0];
    assert_eq!(call.tool, "get_weather");
    assert_eq!(call.inputs, json!({"city": "Toronto"}));
    assert!(call.id.starts_with("call_"), "generated id: {}", call.id);
    let body = &server.requests()[0].body;
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "content": "-3 C", "tool_name": "get_weather"})
    );
}

#[tokio::test]
async fn streamed_tool_calls_are_collected() {
    let parts = vec![
        "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-15T19:20:27.745Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}}]},\"done\":false}\n".to_owned(),
        done_line(),
    ];
    let server = Server::start(vec![Reply::ndjson(parts, End::Complete)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let response = result.unwrap();
    assert!(chunks.is_empty());
    assert_eq!(response.tool_calls[0].inputs, json!({"city": "Paris"}));
}

#[tokio::test]
async fn a_missing_model_is_a_configuration_error_and_not_retried() {
    let server = Server::start(vec![Reply::json(
        404,
        r#"{"error":"model \"llama3.2\" not found, try pulling it first"}"#,
    )])
    .await;
    let err = chat(model(&server, vec![]).as_ref(), hello())
        .await
        .unwrap_err();
    // A 404 is a configuration error (the `model` or `base_url` is wrong), not a bad request.
    assert_eq!(err.kind, ModelErrorKind::Config);
    assert!(
        err.message.contains("check `base_url` and `model`"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("try pulling it first"),
        "{}",
        err.message
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_error_line_mid_stream_fails_after_first_token() {
    let parts = vec![
        line("Hi"),
        "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n".into(),
    ];
    let server = Server::start(vec![Reply::ndjson(parts, End::Complete)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Server);
    assert!(err.after_first_token);
    assert_eq!(chunks, ["Hi"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_error_is_retried_then_succeeds() {
    let failed = Reply::json(
        500,
        r#"{"error":"llama runner process has terminated: signal: killed"}"#,
    );
    let ok = Reply::ndjson(text_stream(&["ok"]), End::Complete);
    let server = Server::start(vec![failed, ok]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    assert_eq!(result.unwrap().text, "ok");
    assert_eq!(chunks, ["ok"]);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_stream_cut_before_done_fails_without_retry() {
    let server = Server::start(vec![Reply::ndjson(vec![line("a"), line("b")], End::Cut)]).await;
    let (result, chunks) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Connection);
    assert!(err.after_first_token);
    assert_eq!(chunks, ["a", "b"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn dropping_the_call_closes_the_upstream_connection() {
    let server = Server::start(vec![Reply::ndjson(vec![line("first")], End::Hold)]).await;
    abort_after_first_chunk(&server, model(&server, vec![]), hello(), "first").await;
}

#[tokio::test]
async fn an_oversized_line_is_a_protocol_error() {
    let huge = format!("{{\"message\":{{\"content\":\"{}", "z".repeat(1_100_000));
    let server = Server::start(vec![Reply::ndjson(vec![huge], End::Complete)]).await;
    let (result, _) = stream_chat(model(&server, vec![]).as_ref(), hello()).await;
    assert_eq!(result.unwrap_err().kind, ModelErrorKind::Protocol);
}

#[tokio::test]
async fn an_optional_key_is_sent_as_bearer() {
    let server = Server::start(vec![Reply::ndjson(text_stream(&["x"]), End::Complete)]).await;
    let m = model(&server, vec![("api_key", secret("ollama-cloud-key"))]);
    let (result, _) = stream_chat(m.as_ref(), hello()).await;
    result.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer ollama-cloud-key")
    );
}
