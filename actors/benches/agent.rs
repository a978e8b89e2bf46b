//! Agent loop and runtime streaming costs.
//!
//! `agent/steps`: agent steps per second with the mock model — each step is a model call (a
//! native tool call), a request/reply to the tool component (an `llm mock`), the woodwork events,
//! the observation fed back; a turn is 25 steps (the step limit), 16 sessions at once.
//! `runtime_stream/tokens`: a loopback OpenAI server streams 10,000 tokens at once; the runtime
//! turns them into `stream.chunk` envelopes read from `Runtime::send_stream`. Time per token =
//! the runtime's per-token overhead from the provider's socket to the event-stream reader.
//!
//! Run: cargo bench -p woodwork-actors-runtime --bench agent -- --warm-up-time 1 --measurement-time 3

mod common;
#[path = "../tests/wire/mod.rs"]
mod wire;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::future::join_all;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Instant;
use woodwork_parser::{Kind, RefName, Value};
use woodwork_runtime::*;

const STEPS: usize = 25;
const LANES: usize = 16;
const TOKENS: usize = 10_000;

fn reference(name: &str) -> Value {
    Value::Ref(RefName { name: name.into() })
}

/// cli → agent(model: tool calls forever, tools: [helper]) → out.
fn looping_agent() -> woodwork_parser::Config {
    let mut model = component("model", Kind::Llm, "mock");
    let mut call = BTreeMap::new();
    call.insert("tool".to_string(), Value::Str("helper".into()));
    call.insert("inputs".to_string(), Value::Str("look it up".into()));
    model
        .props
        .insert("replies".into(), Value::List(vec![Value::Map(call)]));
    let mut agent = component("agent", Kind::Agent, "llm");
    agent.props.insert("model".into(), reference("model"));
    agent
        .props
        .insert("tools".into(), Value::List(vec![reference("helper")]));
    agent
        .props
        .insert("max_steps".into(), Value::Int(STEPS as i64));
    config(
        vec![
            model,
            component("helper", Kind::Llm, "mock"),
            component("cli", Kind::Input, "api"),
            agent,
            component("out", Kind::Output, "console"),
        ],
        &[("cli", "agent"), ("agent", "out")],
    )
}

fn agent_steps(c: &mut Criterion) {
    let sys = actix::System::new();
    let rt = sys
        .block_on(Runtime::start(looping_agent(), RuntimeOptions::default()))
        .unwrap();
    let ids: Vec<String> = (0..LANES).map(|i| format!("lane-{i}")).collect();
    let mut g = c.benchmark_group("agent");
    g.throughput(Throughput::Elements(STEPS as u64));
    g.bench_function("steps", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let start = Instant::now();
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(LANES);
                    let sends = ids[..n]
                        .iter()
                        .map(|id| rt.send(InputRequest::text("cli", "go").in_session(id.as_str())));
                    for r in join_all(sends).await {
                        // Every turn runs all its steps, then stops at the step limit.
                        let e = r.unwrap_err();
                        assert!(e.to_string().contains("steps"), "{e}");
                    }
                    left -= n;
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn runtime_stream(c: &mut Criterion) {
    let sys = actix::System::new();
    let (rt, _server) = sys.block_on(async {
        let tokens: Vec<String> = (0..TOKENS).map(|i| format!(" t{i}")).collect();
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let server = wire::Server::start(vec![wire::Reply::sse(
            wire::openai_sse::text_stream(&refs),
            wire::End::Complete,
        )])
        .await;
        let mut model = component("model", Kind::Llm, "openai");
        for (k, v) in [
            ("api_key", wire::secret("sk-bench")),
            ("model", wire::s("gpt-test")),
            ("base_url", wire::s(&format!("{}/v1", server.url))),
        ] {
            model.props.insert(k.into(), v);
        }
        let rt = Runtime::start(config(vec![model], &[]), RuntimeOptions::default())
            .await
            .unwrap();
        (rt, server)
    });
    let mut g = c.benchmark_group("runtime_stream");
    g.throughput(Throughput::Elements(TOKENS as u64));
    g.sample_size(10);
    g.bench_function("tokens", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut events = rt
                        .send_stream(InputRequest::text("model", "go"))
                        .await
                        .unwrap();
                    let mut chunks = 0;
                    while let Some(ev) = events.next().await {
                        match ev {
                            RuntimeEvent::Event(e) if e.event_type == EventType::StreamChunk => {
                                chunks += 1
                            }
                            RuntimeEvent::Event(_) => {}
                            RuntimeEvent::Done(_) => break,
                            RuntimeEvent::Failed(e) => panic!("{e}"),
                        }
                    }
                    assert_eq!(chunks, TOKENS + 1); // + the empty is_final chunk
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, agent_steps, runtime_stream);
criterion_main!(benches);
