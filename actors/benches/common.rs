//! Shared bench setup: hand-built configs (the parser is a separate crate and not needed here).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;
use woodwork_parser::*;

pub fn component(name: &str, kind: Kind, type_name: &str) -> Component {
    Component {
        name: name.to_string(),
        kind,
        type_name: type_name.to_string(),
        span: Span::default(),
        props: BTreeMap::new(),
        to: Vec::new(),
        hooks: Vec::new(),
        pipes: Vec::new(),
        supervision: SupervisionSpec::default(),
        circuit_breaker: BreakerSpec::default(),
        timeout: None,
        streaming: None,
        session_policy: SessionPolicy::Enqueue,
    }
}

pub fn config(components: Vec<Component>, routes: &[(&str, &str)]) -> Config {
    Config {
        path: "bench.ww".into(),
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
    }
}

/// input → agent(mock echo) → output console.
pub fn pipeline() -> Config {
    let mut agent = component("agent", Kind::Agent, "llm");
    agent.props.insert(
        "model".into(),
        Value::Ref(RefName {
            name: "model".into(),
        }),
    );
    config(
        vec![
            component("model", Kind::Llm, "mock"),
            component("cli", Kind::Input, "api"),
            agent,
            component("out", Kind::Output, "console"),
        ],
        &[("cli", "agent"), ("agent", "out")],
    )
}

/// A mock whose script alternates panic / ok `n` times (restart latency).
pub fn panicky(n: usize) -> Config {
    let mut m = component("model", Kind::Llm, "mock");
    let mut replies = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let mut p = BTreeMap::new();
        p.insert("panic".to_string(), Value::Str("bench".into()));
        replies.push(Value::Map(p));
        replies.push(Value::Str("ok".into()));
    }
    m.props.insert("replies".into(), Value::List(replies));
    m.supervision = SupervisionSpec {
        max_restarts: u32::MAX,
        within: Duration::from_millis(1),
        backoff_min: Duration::ZERO,
        backoff_max: Duration::ZERO,
        ..SupervisionSpec::default()
    };
    config(vec![m], &[])
}

pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
