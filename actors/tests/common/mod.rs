//! Hand-built configs for runtime tests (the parser lands separately; its types are the contract).
//! The benches include this file too (`benches/common.rs`), so both build configs one way.
#![allow(dead_code)]

use std::time::Duration;
use woodwork_parser::*;

/// A component with short restart backoff, so supervision tests do not wait.
pub fn component(name: &str, kind: Kind, type_name: &str) -> Component {
    Component {
        supervision: SupervisionSpec {
            backoff_min: Duration::from_millis(1),
            backoff_max: Duration::from_millis(5),
            ..SupervisionSpec::default()
        },
        ..Component::new(
            name.to_string(),
            kind,
            type_name.to_string(),
            Span::default(),
        )
    }
}

pub fn with_prop(mut c: Component, key: &str, v: Value) -> Component {
    c.props.insert(key.to_string(), v);
    c
}

pub fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

pub fn r(name: &str) -> Value {
    Value::Ref(RefName {
        name: name.to_string(),
    })
}

pub fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// `llm mock { replies: [...] }`.
pub fn mock(name: &str, replies: Vec<Value>) -> Component {
    with_prop(
        component(name, Kind::Llm, "mock"),
        "replies",
        Value::List(replies),
    )
}

/// A config in the given start order with explicit routes.
pub fn config(components: Vec<Component>, routes: &[(&str, &str)]) -> Config {
    Config {
        path: "test.ww".into(),
        start_order: components.iter().map(|c| c.name.clone()).collect(),
        components,
        routes: routes
            .iter()
            .map(|(f, t)| Route {
                from: f.to_string(),
                to: t.to_string(),
                inferred: false,
            })
            .collect(),
        ..Config::default()
    }
}

/// input → agent(model) → output console, the standard pipeline.
pub fn pipeline(model: Component) -> Config {
    let agent = with_prop(
        component("agent", Kind::Agent, "llm"),
        "model",
        r(&model.name),
    );
    config(
        vec![
            model,
            component("cli", Kind::Input, "api"),
            agent,
            component("out", Kind::Output, "console"),
        ],
        &[("cli", "agent"), ("agent", "out")],
    )
}

/// Waits until `cond` holds; panics after a hang guard (not a timing assertion).
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let guard = std::time::Instant::now();
    while !cond() {
        if guard.elapsed() > Duration::from_secs(10) {
            panic!("hang guard: never happened: {what}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub fn sup(restart: RestartType, strategy: Strategy, max_restarts: u32) -> SupervisionSpec {
    SupervisionSpec {
        strategy,
        restart,
        max_restarts,
        within: Duration::from_secs(10),
        backoff_min: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
    }
}

pub fn panic_entry(msg: &str) -> Value {
    map(&[("panic", s(msg))])
}

pub fn error_entry(kind: &str) -> Value {
    map(&[("error", s(kind))])
}

pub fn slow(text: &str, ms: i64) -> Value {
    map(&[("text", s(text)), ("delay_ms", Value::Int(ms))])
}
