//! Tests of the mock model (kept beside it; the model is test infrastructure other tests rely on).

use super::mock::{MockEntry, MockModel};
use super::mock_error::{EntryError, MockError};
use super::{ChatMessage, ChatModel, ChatRequest, ModelErrorKind, Role};
use std::collections::BTreeMap;
use woodwork_parser::{Component, Kind, Value};

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "sys"),
            ChatMessage::new(Role::User, text),
        ],
        tools: Vec::new(),
    }
}

fn comp(props: &[(&str, Value)]) -> Component {
    Component {
        props: props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..Component::new("m".into(), Kind::Llm, "mock".into(), Default::default())
    }
}

fn m(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

#[tokio::test]
async fn echo_answers_the_last_user_message() {
    let model = MockModel::from_component(&comp(&[])).unwrap();
    assert_eq!(
        model.chat(ask("hi there"), None).await.unwrap().text,
        "echo: hi there"
    );
    assert_eq!(model.describe(), "mock:m");
}

#[tokio::test]
async fn script_plays_in_order_then_repeats_the_last_entry() {
    let replies = Value::List(vec![
        Value::Str("one".into()),
        m(&[("error", Value::Str("rate_limited".into()))]),
        m(&[
            ("tool", Value::Str("search".into())),
            ("action", Value::Str("get".into())),
            ("inputs", m(&[("q", Value::Int(1))])),
        ]),
        m(&[
            ("text", Value::Str("last".into())),
            ("delay_ms", Value::Int(1)),
        ]),
    ]);
    let model = MockModel::from_component(&comp(&[("replies", replies)])).unwrap();
    assert_eq!(model.chat(ask("x"), None).await.unwrap().text, "one");
    let e = model.chat(ask("x"), None).await.unwrap_err();
    assert_eq!(e.kind, ModelErrorKind::RateLimited);
    assert!(e.retryable());
    let t = model.chat(ask("x"), None).await.unwrap();
    assert_eq!(t.tool_calls[0].tool, "search");
    assert_eq!(t.tool_calls[0].inputs["q"], 1);
    assert_eq!(model.chat(ask("x"), None).await.unwrap().text, "last");
    assert_eq!(model.chat(ask("x"), None).await.unwrap().text, "last");
    assert_eq!(model.calls(), 5);
}

#[tokio::test]
async fn streams_word_by_word_and_chunks_concatenate() {
    let model = MockModel::reply("the quick  brown fox");
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let resp = model.chat(ask("x"), Some(tx)).await.unwrap();
    let mut chunks = Vec::new();
    while let Some(c) = rx.recv().await {
        chunks.push(c);
    }
    assert!(chunks.len() >= 4);
    assert_eq!(chunks.concat(), resp.text);
}

#[tokio::test]
async fn a_scripted_panic_panics_inside_the_future_once() {
    use futures_util::FutureExt;
    let model = MockModel::script(vec![
        MockEntry::Panic("boom".into()),
        MockEntry::Text {
            text: "after".into(),
            delay: None,
        },
    ]);
    let caught = std::panic::AssertUnwindSafe(model.chat(ask("x"), None))
        .catch_unwind()
        .await;
    assert!(caught.is_err());
    assert_eq!(model.chat(ask("x"), None).await.unwrap().text, "after");
}

#[test]
fn malformed_scripts_are_clear_errors() {
    let bad = MockModel::from_component(&comp(&[(
        "replies",
        Value::List(vec![m(&[("error", Value::Str("nope".into()))])]),
    )]))
    .unwrap_err();
    assert_eq!(
        bad,
        MockError::Entry {
            llm: "m".into(),
            index: 0,
            source: EntryError::UnknownError("nope".into()),
        }
    );
    assert_eq!(
        bad.to_string(),
        "llm `m`: replies[0]: unknown error `nope`; use rate_limited, server_error, auth or timeout"
    );
    let bad = MockModel::from_component(&comp(&[("replies", Value::List(vec![Value::Int(3)]))]))
        .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "llm `m`: replies[0]: an entry must be a string or a map like { text: \"...\" }"
    );
    let bad = MockModel::from_component(&comp(&[("reply", Value::Int(3))])).unwrap_err();
    assert_eq!(bad.to_string(), "llm `m`: `reply` must be a string");
    let bad = MockModel::from_component(&comp(&[(
        "replies",
        Value::List(vec![m(&[("delay_ms", Value::Int(3))])]),
    )]))
    .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "llm `m`: replies[0]: a map entry needs one of `text`, `error`, `panic` or `tool`"
    );
    let bad = MockModel::from_component(&comp(&[(
        "replies",
        Value::List(vec![m(&[
            ("text", Value::Str("hi".into())),
            ("delay_ms", Value::Int(-1)),
        ])]),
    )]))
    .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "llm `m`: replies[0]: `delay_ms` must be a non-negative integer"
    );
    let bad = MockModel::from_component(&comp(&[("replies", Value::Int(3))])).unwrap_err();
    assert_eq!(
        bad.to_string(),
        "llm `m`: `replies` must be a list of strings or maps"
    );
}
