//! A full session table vs an empty one (DESIGN.md §6: a full table keeps >= 80 % of the
//! throughput of an empty one), the same load side by side:
//!
//! - table: new one-turn sessions (admit, remember one exchange, end the turn) on 1 and 2
//!   threads, in a table far from its cap vs one at its cap (every admission evicts);
//! - runtime: anonymous requests through input -> agent (mock, with memory) -> output, 64 in
//!   flight on one arbiter, uncapped vs at the cap with conversations to protect.
//!
//! Each figure is the median of 5 runs; `refused` counts `Overloaded` answers to new sessions in
//! the full table over the runs (never more than 2 sessions are busy, so it must be 0).
//! Run: cargo bench -p woodwork-actors-runtime --bench sessions

mod common;

use common::*;
use futures_util::future::join_all;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use woodwork_parser::{Kind, SessionPolicy, Value};
use woodwork_runtime::memory::MemoryLimits;
use woodwork_runtime::session::{Admission, SessionTable};
use woodwork_runtime::*;

const RUNS: usize = 5;
const CAP: usize = 10_000;
const TABLE_OPS: usize = 200_000;
const REQUESTS: usize = 50_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One new session's turn: admitted, one exchange remembered, turn ended. False when refused
/// (`Overloaded`, which only a table of busy sessions may answer).
fn one_shot(table: &Arc<SessionTable>, memory: &Arc<str>) -> bool {
    match table.begin(None, SessionPolicy::Enqueue) {
        Ok((Admission::Now(turn), _)) => {
            table.record(
                turn.id(),
                memory,
                MemoryLimits::default(),
                "hello",
                "echo: hello",
            );
            true
        }
        Ok((Admission::Queued(..), _)) => panic!("a new session waited"),
        Err(_) => false,
    }
}

/// Sessions/s of `threads` threads each opening `TABLE_OPS / threads` one-shot sessions, and how
/// many were refused.
fn table_rate(full: bool, threads: usize) -> (f64, usize) {
    let memory: Arc<str> = Arc::from("mem");
    let table = if full {
        let t = SessionTable::new(Duration::from_secs(3600), CAP, 64);
        // At the cap: half conversations (protected), half sessions with nothing to lose.
        for i in 0..CAP {
            let id = format!("user-{i}");
            if let Ok((Admission::Now(turn), _)) = t.begin(Some(&id), SessionPolicy::Enqueue) {
                if i % 2 == 0 {
                    t.record(turn.id(), &memory, MemoryLimits::default(), "hi", "hello");
                }
            }
        }
        t
    } else {
        SessionTable::new(Duration::from_secs(3600), usize::MAX, 64)
    };
    let refused = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..TABLE_OPS / threads {
                    if !one_shot(&table, &memory) {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let rate = TABLE_OPS as f64 / start.elapsed().as_secs_f64();
    (rate, refused.into_inner())
}

/// The bench pipeline with a `mem` memory on its agent.
fn remembering_pipeline() -> woodwork_parser::Config {
    let mut cfg = pipeline();
    cfg.components
        .insert(0, component("mem", Kind::Memory, "short_term"));
    cfg.start_order.insert(0, "mem".into());
    if let Some(agent) = cfg.components.iter_mut().find(|c| c.name == "agent") {
        agent.props.insert(
            "memory".into(),
            Value::Ref(woodwork_parser::RefName { name: "mem".into() }),
        );
    }
    cfg
}

/// Requests/s of anonymous one-turn requests, 64 in flight.
fn runtime_rate(sys: &actix::SystemRunner, full: bool) -> f64 {
    let opts = RuntimeOptions {
        max_sessions: if full { CAP } else { usize::MAX },
        ..RuntimeOptions::default()
    };
    sys.block_on(async {
        let rt = Runtime::start(remembering_pipeline(), opts).await.unwrap();
        if full {
            for i in 0..CAP {
                rt.send(InputRequest::text("cli", "hi").in_session(format!("user-{i}")))
                    .await
                    .unwrap();
            }
        }
        let start = Instant::now();
        let mut left = REQUESTS;
        while left > 0 {
            let n = left.min(64);
            let sends = (0..n).map(|_| rt.send(InputRequest::text("cli", "hello")));
            for r in join_all(sends).await {
                r.unwrap();
            }
            left -= n;
        }
        let rate = REQUESTS as f64 / start.elapsed().as_secs_f64();
        if full {
            // How many of the conversations survived the anonymous traffic (all but the first
            // 64 should: when the first 64 one-shot sessions came, every idle session was a
            // conversation).
            let kept = (0..CAP)
                .filter(|i| !rt.session_history(&format!("user-{i}")).is_empty())
                .count();
            KEPT.store(kept, Ordering::Relaxed);
        }
        rt.shutdown().await;
        rate
    })
}

/// Conversations left after the last full-table runtime run.
static KEPT: AtomicUsize = AtomicUsize::new(0);

fn row(name: &str, empty: f64, full: f64, refused: usize) {
    println!(
        "{name:<48} {empty:>12.0} {full:>12.0} {:>7.1} % {refused:>9}",
        full * 100.0 / empty
    );
}

fn main() {
    println!(
        "{:<48} {:>12} {:>12} {:>9} {:>9}",
        "load (median of 5 runs)", "empty /s", "full /s", "full/empty", "refused"
    );
    for threads in [1, 2] {
        let empty = median((0..RUNS).map(|_| table_rate(false, threads).0).collect());
        let mut refused = 0;
        let full = median(
            (0..RUNS)
                .map(|_| {
                    let (rate, r) = table_rate(true, threads);
                    refused += r;
                    rate
                })
                .collect(),
        );
        row(
            &format!("table: new one-shot sessions, {threads} thread(s), cap {CAP}"),
            empty,
            full,
            refused,
        );
    }
    let sys = actix::System::new();
    let empty = median((0..RUNS).map(|_| runtime_rate(&sys, false)).collect());
    let full = median((0..RUNS).map(|_| runtime_rate(&sys, true)).collect());
    row(
        &format!("runtime: anonymous requests, 64 in flight, cap {CAP}"),
        empty,
        full,
        0,
    );
    println!(
        "conversations kept through the anonymous traffic at the cap: {} of {CAP}",
        KEPT.load(Ordering::Relaxed)
    );
}
