//! The provider factory: which component types it builds, and the configuration errors it reports
//! (missing or unread keys, wrong prop types) without ever echoing a secret. Also `llm hugging_face`,
//! which is the OpenAI client with the router's defaults.

use crate::wire::*;
use serde_json::json;
use woodwork_parser::{UnresolvedEnv, Value};
use woodwork_runtime::llm::{build_provider, ChatMessage, ChatRequest, Role};

fn err(type_name: &str, props: Vec<(&str, Value)>) -> String {
    match build_provider(&component(type_name, props)) {
        Ok(m) => panic!("expected an error, built {}", m.describe()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn openai_on_openai_needs_a_key_and_says_which_variable() {
    let e = err("openai", vec![]);
    assert!(e.contains("OPENAI_API_KEY"), "{e}");
    assert!(e.contains("llm \"model\" (type openai"), "{e}");
    let e = err("openai", vec![("api_key", secret("  "))]);
    assert!(e.contains("api_key"), "{e}");
}

#[test]
fn claude_and_hugging_face_always_need_a_key() {
    assert!(err("claude", vec![]).contains("ANTHROPIC_API_KEY"));
    assert!(err("hugging_face", vec![]).contains("HF_TOKEN"));
}

#[test]
fn an_unread_environment_variable_is_named() {
    let unresolved = Value::Unresolved(UnresolvedEnv {
        var: "MY_CLAUDE_KEY".into(),
        default: None,
    });
    let e = err("claude", vec![("api_key", unresolved)]);
    assert!(e.contains("MY_CLAUDE_KEY"), "{e}");
}

#[test]
fn wrong_prop_types_and_values_are_explained_without_secrets() {
    let e = err(
        "openai",
        vec![
            ("api_key", secret("sk-very-secret")),
            ("temperature", s("hot")),
        ],
    );
    assert!(
        e.contains("`temperature` must be a number, not a string"),
        "{e}"
    );
    assert!(!e.contains("sk-very-secret"));
    let e = err("claude", vec![("api_key", Value::Int(12345))]);
    assert!(e.contains("`api_key` must be a string"), "{e}");
    assert!(!e.contains("12345"));
    let e = err("ollama", vec![]);
    assert!(e.contains("`model` is required"), "{e}");
    let e = err(
        "ollama",
        vec![("model", s("x")), ("base_url", s("localhost:11434"))],
    );
    assert!(e.contains("must start with http://"), "{e}");
    let e = err(
        "ollama",
        vec![("model", s("x")), ("max_retries", Value::Int(50))],
    );
    assert!(e.contains("max_retries"), "{e}");
}

#[test]
fn other_types_are_refused_with_the_list() {
    let e = err("mock", vec![]);
    assert!(e.contains("openai, claude, ollama, hugging_face"), "{e}");
}

#[test]
fn defaults_show_in_describe() {
    let m = build_provider(&component("openai", vec![("api_key", secret("k-1234"))])).unwrap();
    assert_eq!(m.describe(), "openai:gpt-4o-mini");
    let m = build_provider(&component(
        "hugging_face",
        vec![("api_key", secret("hf_x"))],
    ))
    .unwrap();
    assert!(
        m.describe().starts_with("hugging_face:"),
        "{}",
        m.describe()
    );
    assert!(!m.describe().contains("hf_x"));
}

#[tokio::test]
async fn hugging_face_speaks_openai_chat_completions_to_its_base_url() {
    let body = r#"{"object":"chat.completion","id":"","created":1737900000,"model":"meta-llama/Llama-3.1-8B-Instruct","system_fingerprint":"3.0.1-sha-bb9095a","usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17},"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from HF"},"logprobs":null,"finish_reason":"stop"}]}"#;
    let server = Server::start(vec![Reply::json(200, body)]).await;
    let m = build_provider(&component(
        "hugging_face",
        vec![
            ("api_key", secret("hf_testtoken123")),
            ("base_url", s(&format!("{}/v1", server.url))),
        ],
    ))
    .unwrap();
    let request = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "hi")],
        tools: Vec::new(),
    };
    let response = chat(m.as_ref(), request).await.unwrap();
    assert_eq!(response.text, "Hello from HF");
    let r = &server.requests()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer hf_testtoken123"));
    assert_eq!(r.body["model"], json!("meta-llama/Llama-3.1-8B-Instruct"));
}

#[tokio::test]
async fn hugging_face_errors_in_tgi_shape_are_classified() {
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"error":"Input validation error: `temperature` must be strictly positive","error_type":"validation"}"#,
    )])
    .await;
    let m = build_provider(&component(
        "hugging_face",
        vec![
            ("api_key", secret("hf_testtoken123")),
            ("model", s("org/model")),
            ("base_url", s(&format!("{}/v1", server.url))),
        ],
    ))
    .unwrap();
    let request = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "hi")],
        tools: Vec::new(),
    };
    let e = chat(m.as_ref(), request).await.unwrap_err();
    assert_eq!(e.kind, woodwork_runtime::llm::ModelErrorKind::BadRequest);
    assert!(
        e.message.contains("Input validation error"),
        "{}",
        e.message
    );
}
