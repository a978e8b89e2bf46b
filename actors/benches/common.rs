//! Shared bench setup: the runtime tests' hand-built configs (one file for both), with the
//! runtime's default supervision instead of the tests' short backoff, plus bench-only workloads.
#![allow(dead_code)]

#[path = "../tests/common/mod.rs"]
mod fixtures;

use std::time::Duration;
use woodwork_parser::*;

/// A component as the runtime defaults it (the tests' fixture shortens restart backoff).
pub fn component(name: &str, kind: Kind, type_name: &str) -> Component {
    Component {
        supervision: SupervisionSpec::default(),
        ..fixtures::component(name, kind, type_name)
    }
}

/// A config in the given start order with explicit routes, named `bench.ww`.
pub fn config(components: Vec<Component>, routes: &[(&str, &str)]) -> Config {
    Config {
        path: "bench.ww".into(),
        ..fixtures::config(components, routes)
    }
}

/// input → agent(mock echo) → output console: the tests' pipeline, with default supervision.
pub fn pipeline() -> Config {
    let tests = fixtures::pipeline(component("model", Kind::Llm, "mock"));
    let components = tests
        .components
        .into_iter()
        .map(|c| Component {
            supervision: SupervisionSpec::default(),
            ..c
        })
        .collect();
    Config {
        path: "bench.ww".into(),
        components,
        ..tests
    }
}

/// A mock whose script alternates panic / ok `n` times (restart latency).
pub fn panicky(n: usize) -> Config {
    let mut m = component("model", Kind::Llm, "mock");
    let mut replies = Vec::with_capacity(2 * n);
    for _ in 0..n {
        replies.push(fixtures::panic_entry("bench"));
        replies.push(fixtures::s("ok"));
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
