//! Per-token overhead of a streamed model call, from the provider's socket to the chunk receiver: a
//! loopback server streams N = 10,000 tokens as OpenAI SSE as fast as it can and the OpenAI client
//! turns them into chunks on a bounded channel that a task drains. Prints µs per token.
//!
//! `bulk`: the whole answer is written at once (what is left is our client's cost plus the kernel);
//! `per_token_writes`: one chunked write and flush per token, like a real server (adds server cost).

#[path = "../tests/wire/mod.rs"]
mod wire;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::{component, s, End, Reply, Server};
use woodwork_runtime::llm::{build_provider, ChatMessage, ChatModel, ChatRequest, Role};

const TOKENS: usize = 10_000;

fn sse_tokens() -> Vec<String> {
    let mut parts: Vec<String> = (0..TOKENS)
        .map(|i| {
            format!(
                "data: {{\"id\":\"chatcmpl-AZ9\",\"object\":\"chat.completion.chunk\",\"created\":1718345013,\"model\":\"gpt-test\",\"system_fingerprint\":\"fp_9cb5d38cf7\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" tok{i}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
            )
        })
        .collect();
    parts.push("data: {\"id\":\"chatcmpl-AZ9\",\"object\":\"chat.completion.chunk\",\"created\":1718345013,\"model\":\"gpt-test\",\"system_fingerprint\":\"fp_9cb5d38cf7\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n".into());
    parts.push("data: [DONE]\n\n".into());
    parts
}

/// One streamed call of TOKENS tokens; returns how many chunks the receiver got.
async fn one_call(model: &dyn ChatModel) -> usize {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let drain = tokio::spawn(async move {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    let request = ChatRequest {
        messages: vec![ChatMessage::new(Role::User, "go")],
        tools: Vec::new(),
    };
    model
        .chat(request, Some(tx))
        .await
        .expect("bench call failed");
    drain.await.expect("drain task")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let parts = sse_tokens();
    let cases = [
        ("bulk", Reply::sse(vec![parts.concat()], End::Complete)),
        ("per_token_writes", Reply::sse(parts, End::Complete)),
    ];
    let mut group = c.benchmark_group("llm_stream_openai_sse");
    group.throughput(Throughput::Elements(TOKENS as u64));
    group.sample_size(10);
    for (name, reply) in cases {
        let server = rt.block_on(Server::start(vec![reply]));
        let model: Arc<dyn ChatModel> = build_provider(&component(
            "openai",
            vec![
                ("model", s("gpt-test")),
                ("base_url", s(&format!("{}/v1", server.url))),
            ],
        ))
        .expect("provider");
        assert_eq!(rt.block_on(one_call(model.as_ref())), TOKENS);

        let mut total = Duration::ZERO;
        let mut calls = 0u32;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    rt.block_on(one_call(model.as_ref()));
                }
                let spent = start.elapsed();
                total += spent;
                calls += iters as u32;
                spent
            })
        });
        let per_token = total.as_secs_f64() * 1e6 / (f64::from(calls.max(1)) * TOKENS as f64);
        println!("llm_stream/{name}: {per_token:.2} µs per token (socket → chunk receiver, {calls} calls of {TOKENS} tokens)");
        drop(server);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
