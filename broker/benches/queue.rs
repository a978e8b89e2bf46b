//! Work-queue throughput and hop latency on each broker, side by side, in one run:
//!   cargo bench -p woodwork-broker --bench queue
//! Needs Redis on 127.0.0.1:6379 and NATS with JetStream on 127.0.0.1:4222 (as scripts/test.sh
//! starts them). Prints, per backend: pushes/s with 64 pushes in flight on one connection,
//! pull+ack/s in batches of 100, and the hop latency (push -> the consumer holds it) p50/p99 of
//! one message at a time. The first row is the in-process floor measured the same way: a
//! bounded tokio channel, what the in-memory bus's mailboxes amount to.

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::time::{Duration, Instant};
use woodwork_broker::{Broker, QueueConfig};

const N: usize = 20_000;
const IN_FLIGHT: usize = 64;
const HOPS: usize = 2_000;

fn pct(xs: &mut [Duration], p: f64) -> f64 {
    xs.sort();
    xs[((xs.len() as f64 * p) as usize).min(xs.len() - 1)].as_secs_f64() * 1e6
}

/// The same three figures for a bounded in-process channel (no broker, no serialisation).
async fn run_memory() {
    let body = Bytes::from(vec![b'x'; 256]);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Bytes)>(N);
    let t = Instant::now();
    for i in 0..N {
        tx.send((format!("m{i}"), body.clone()))
            .await
            .expect("send");
    }
    let push_rate = N as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut n = 0;
    let mut batch = Vec::with_capacity(100);
    while n < N {
        batch.clear();
        if rx.recv_many(&mut batch, 100).await == 0 {
            break;
        }
        n += batch.len();
    }
    let pull_rate = n as f64 / t.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(HOPS);
    for i in 0..HOPS {
        let t = Instant::now();
        tx.send((format!("h{i}"), body.clone()))
            .await
            .expect("send");
        let _ = rx.recv().await;
        lat.push(t.elapsed());
    }
    println!(
        "{:6} push {push_rate:>9.0}/s   pull+ack {pull_rate:>9.0}/s   hop p50 {:>7.1}us p99 {:>7.1}us",
        "memory",
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99)
    );
}

async fn run(name: &str, url: &str) {
    let ns = format!("bench{}", std::process::id());
    let b = match Broker::connect(url, &ns).await {
        Ok(b) => b,
        Err(e) => {
            println!("{name:6} unavailable: {e}");
            return;
        }
    };
    let cfg = QueueConfig {
        max_len: 1_000_000,
        ..QueueConfig::default()
    };
    let q = b.queue("bench", cfg.clone()).await.expect("queue");
    let body = Bytes::from(vec![b'x'; 256]);
    // Pushes, IN_FLIGHT at a time.
    let t = Instant::now();
    let mut pending = FuturesUnordered::new();
    for i in 0..N {
        let id = format!("m{i}");
        let q = q.clone();
        let body = body.clone();
        pending.push(async move { q.push(&id, body).await });
        if pending.len() >= IN_FLIGHT {
            pending.next().await.expect("slot").expect("push");
        }
    }
    while let Some(r) = pending.next().await {
        r.expect("push");
    }
    let push_rate = N as f64 / t.elapsed().as_secs_f64();
    // Pull + ack.
    let mut c = q.consumer("bench").await.expect("consumer");
    let t = Instant::now();
    let mut n = 0;
    while n < N {
        let got = c.pull(100, Duration::from_millis(500)).await.expect("pull");
        if got.is_empty() {
            break;
        }
        c.ack_all(&got).await.expect("ack");
        n += got.len();
    }
    let pull_rate = n as f64 / t.elapsed().as_secs_f64();
    // Hop latency, one message at a time.
    let hq = b.queue("hop", cfg).await.expect("queue");
    let mut hc = hq.consumer("hop").await.expect("consumer");
    let mut lat = Vec::with_capacity(HOPS);
    for i in 0..HOPS {
        let t = Instant::now();
        hq.push(&format!("h{i}"), body.clone()).await.expect("push");
        let got = hc.pull(1, Duration::from_secs(1)).await.expect("pull");
        lat.push(t.elapsed());
        for d in &got {
            hc.ack(d).await.expect("ack");
        }
    }
    println!(
        "{name:6} push {push_rate:>9.0}/s   pull+ack {pull_rate:>9.0}/s   hop p50 {:>7.1}us p99 {:>7.1}us",
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99)
    );
    let _ = b.purge_namespace().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        println!("{N} messages of 256 bytes; {HOPS} single hops");
        run_memory().await;
        run("redis", "redis://127.0.0.1:6379").await;
        run("nats", "nats://127.0.0.1:4222").await;
    });
}
