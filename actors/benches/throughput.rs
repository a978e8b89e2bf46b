//! Throughput: routed hops/s (one arbiter), input → agent(mock) → output pipelines/s, session
//! create cost. Run: cargo bench -p woodwork-actors-runtime --bench throughput -- --warm-up-time 1 --measurement-time 3

mod common;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::future::join_all;
use std::sync::Arc;
use std::time::{Duration, Instant};
use woodwork_parser::{Kind, SessionPolicy};
use woodwork_runtime::reply::Latch;
use woodwork_runtime::session::SessionTable;
use woodwork_runtime::*;

const WINDOW: usize = 4096;

fn hops(c: &mut Criterion) {
    let sys = actix::System::new();
    let opts = RuntimeOptions {
        mailbox_capacity: WINDOW * 2,
        ..RuntimeOptions::default()
    };
    // sink: one component, no routes (one hop per message);
    // chain: a → b → c (three hops per message, two of them routed by the router).
    let cfg = config(
        vec![
            component("sink", Kind::Input, "api"),
            component("a", Kind::Input, "api"),
            component("b", Kind::Input, "api"),
            // A pass-through end of the chain (an `output webhook` would POST every message).
            component("c", Kind::Input, "api"),
        ],
        &[("a", "b"), ("b", "c")],
    );
    let rt = sys.block_on(Runtime::start(cfg, opts)).unwrap();
    let payload = Arc::new(serde_json::json!("x"));
    let session: Arc<str> = Arc::from("bench");
    let sender: Arc<str> = Arc::from("bench");
    let mut g = c.benchmark_group("hop");
    for (name, target, per_msg) in [
        ("one_hop", "sink", 1u64),
        ("routed_chain_3_hops", "a", 3u64),
    ] {
        let addr = rt.bus().address(target).unwrap();
        g.throughput(Throughput::Elements(per_msg));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                sys.block_on(async {
                    let start = Instant::now();
                    let mut left = iters as usize;
                    while left > 0 {
                        let n = left.min(WINDOW);
                        let latch = Latch::new(n);
                        for _ in 0..n {
                            let env = Envelope::new(
                                session.clone(),
                                EventType::InputReceived,
                                payload.clone(),
                                sender.clone(),
                            );
                            rt.router().send_counted(addr, env, &latch);
                        }
                        latch.wait().await;
                        left -= n;
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
}

fn pipelines(c: &mut Criterion) {
    let sys = actix::System::new();
    let rt = sys
        .block_on(Runtime::start(pipeline(), RuntimeOptions::default()))
        .unwrap();
    let lanes = 64;
    let ids: Vec<String> = (0..lanes).map(|i| format!("lane-{i}")).collect();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(1));
    g.bench_function("input_agent_mock_output", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let start = Instant::now();
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(lanes);
                    let sends = ids[..n].iter().map(|id| {
                        rt.send(InputRequest::text("cli", "hello").in_session(id.as_str()))
                    });
                    for r in join_all(sends).await {
                        r.unwrap();
                    }
                    left -= n;
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn sessions(c: &mut Criterion) {
    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Elements(1));
    g.bench_function("create_new_session", |b| {
        b.iter_custom(|iters| {
            let table = SessionTable::new(Duration::from_secs(3600), usize::MAX, 64);
            let start = Instant::now();
            for _ in 0..iters {
                let (adm, _) = table.begin(None, SessionPolicy::Enqueue).unwrap();
                drop(adm);
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, hops, pipelines, sessions);
criterion_main!(benches);
