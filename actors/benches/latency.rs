//! Latency percentiles (criterion reports means; these need a custom loop): request/reply through
//! one hop on one arbiter, and panic → restart → retried answer.
//! Run: cargo bench -p woodwork-actors-runtime --bench latency

mod common;

use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use woodwork_parser::{Kind, SessionPolicy};
use woodwork_runtime::session::SessionTable;
use woodwork_runtime::*;

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name}: n={} p50={:?} p90={:?} p99={:?} p99.9={:?} max={:?}",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        samples[samples.len() - 1]
    );
}

fn main() {
    let sys = actix::System::new();
    sys.block_on(async {
        // Memory first, in a fresh process, so freed memory of other runs does not hide growth.
        let table = SessionTable::new(Duration::from_secs(3600), usize::MAX, 64);
        let before = rss_bytes();
        let t = Instant::now();
        for _ in 0..100_000 {
            let (turn, _) = table.begin(None, SessionPolicy::Enqueue).unwrap();
            drop(turn);
        }
        let took = t.elapsed();
        let after = rss_bytes();
        println!(
            "idle sessions (session table): 100000 created in {took:?} ({:?}/session), RSS delta {} KiB = {:.0} bytes/session",
            took / 100_000,
            after.saturating_sub(before) / 1024,
            after.saturating_sub(before) as f64 / 100_000.0
        );
        drop(table);

        let opts = RuntimeOptions { max_sessions: 200_000, ..RuntimeOptions::default() };
        let rt = Runtime::start(pipeline(), opts).await.unwrap();
        let before = rss_bytes();
        for i in 0..100_000 {
            rt.send(InputRequest::text("cli", "hello").in_session(format!("user-{i}"))).await.unwrap();
        }
        let after = rss_bytes();
        println!(
            "sessions created by one pipeline turn each (agent without memory): {} sessions, RSS delta {} KiB = {:.0} bytes/session",
            rt.session_count(),
            after.saturating_sub(before) / 1024,
            after.saturating_sub(before) as f64 / 100_000.0
        );
        rt.shutdown().await;

        let cfg = config(vec![component("sink", Kind::Input, "api")], &[]);
        let rt = Runtime::start(cfg, RuntimeOptions::default())
            .await
            .unwrap();
        let addr = rt.bus().address("sink").unwrap();
        let payload = Arc::new(serde_json::json!("x"));
        let session: Arc<str> = Arc::from("bench");
        let sender: Arc<str> = Arc::from("bench");
        let n = 200_000;
        let mut samples = Vec::with_capacity(n);
        for i in 0..n + 20_000 {
            let env = Envelope::new(
                session.clone(),
                EventType::InputReceived,
                payload.clone(),
                sender.clone(),
            );
            let t = Instant::now();
            rt.router().call(addr, env).await.unwrap();
            if i >= 20_000 {
                samples.push(t.elapsed());
            }
        }
        percentiles("request/reply, one hop, one arbiter", samples);

        let n = 2_000;
        let rt = Runtime::start(panicky(n + 100), RuntimeOptions::default())
            .await
            .unwrap();
        let mut with_panic = Vec::with_capacity(n);
        let mut normal = Vec::with_capacity(n);
        // Silence the default panic printer: thousands of scripted panics would flood stderr.
        std::panic::set_hook(Box::new(|_| {}));
        for _ in 0..n {
            // Script: panic (then restart and retry, which gets "ok"), then the next call
            // would be a panic again.
            let t = Instant::now();
            let r = rt.send(InputRequest::text("model", "x")).await.unwrap();
            with_panic.push(t.elapsed());
            assert_eq!(r.text().as_deref(), Some("ok"));
        }
        let _ = std::panic::take_hook();
        let rt2 = Runtime::start(
            config(vec![component("model", Kind::Llm, "mock")], &[]),
            RuntimeOptions::default(),
        )
        .await
        .unwrap();
        for _ in 0..n {
            let t = Instant::now();
            rt2.send(InputRequest::text("model", "x")).await.unwrap();
            normal.push(t.elapsed());
        }
        percentiles(
            "llm call with panic -> restart -> retry (backoff 0)",
            with_panic,
        );
        percentiles("llm call without panic (baseline)", normal);
        println!("restarts: {}", rt.component("model").unwrap().restarts);
    });
}
