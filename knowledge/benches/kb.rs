//! Knowledge-base store speed, embedding excluded (synthetic vectors): ingest chunks/s and query
//! latency at 10,000 chunks of 1,536 dims, for the embedded store and for a real Chroma server
//! (`.venv/bin/chroma run`, started here like the tests do), printed side by side.
//!
//!     cargo bench -p woodwork-knowledge --bench kb

use criterion::Criterion;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use woodwork_knowledge::{ChromaServer, EmbeddedStore, NewChunk, VectorIndex};

const CHUNKS: usize = 10_000;
const DIMS: usize = 1536;
const QUERIES: usize = 200;
const N: usize = 3;

fn xorshift(seed: u64) -> impl FnMut() -> f32 {
    let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

fn vector(seed: u64) -> Vec<f32> {
    let mut r = xorshift(seed);
    (0..DIMS).map(|_| r()).collect()
}

/// Synthetic chunks: random unit-ish vectors with ~1,000 characters of text each.
fn chunks() -> Vec<NewChunk> {
    let text = "lorem ipsum dolor sit amet ".repeat(37);
    (0..CHUNKS)
        .map(|i| NewChunk {
            id: format!("chunk-{i:05}"),
            file: format!("docs/file-{}.md", i / 10),
            text: text.clone(),
            vector: vector(i as u64 + 1),
        })
        .collect()
}

/// Queries near a stored vector (as real queries are near their answer): row + noise.
fn queries() -> Vec<(usize, Vec<f32>)> {
    (0..QUERIES)
        .map(|q| {
            let row = (q * 7919) % CHUNKS;
            let base = vector(row as u64 + 1);
            let noise = vector(1_000_000 + q as u64);
            (
                row,
                base.iter().zip(&noise).map(|(b, n)| b + 0.8 * n).collect(),
            )
        })
        .collect()
}

fn percentile(mut times: Vec<Duration>, p: f64) -> Duration {
    times.sort();
    times[((times.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

struct Numbers {
    ingest_per_s: f64,
    save: Option<Duration>,
    p50: Duration,
    p90: Duration,
    top1: usize,
}

fn bench_embedded(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    c: &mut Criterion,
) -> (Numbers, String) {
    let data = chunks();
    let qs = queries();
    let store = EmbeddedStore::new(dir, "bench");
    rt.block_on(store.open("synthetic")).expect("open");
    let t = Instant::now();
    store.insert_chunks(&data).expect("insert");
    let insert = t.elapsed();
    let t = Instant::now();
    rt.block_on(store.save()).expect("save");
    let save = t.elapsed();
    let reopened = EmbeddedStore::new(dir, "bench");
    let t = Instant::now();
    rt.block_on(reopened.open("synthetic")).expect("reopen");
    let load = t.elapsed();
    assert_eq!(reopened.len(), CHUNKS);

    let mut times = Vec::new();
    let mut top1 = 0;
    for (row, q) in &qs {
        let t = Instant::now();
        let hits = rt.block_on(reopened.search(q.clone(), N)).expect("search");
        times.push(t.elapsed());
        top1 += usize::from(hits.first().is_some_and(|h| h.source == data[*row].file));
    }

    // The decision behind the store: i8 candidate scan + exact re-score vs the plain f32 scan.
    let mut index = VectorIndex::new(DIMS);
    for ch in &data {
        index.push(&ch.vector).expect("push");
    }
    let mut fast = Vec::new();
    let mut exact = Vec::new();
    let mut agree = 0;
    for (_, q) in &qs {
        let t = Instant::now();
        let a = index.search(q, N);
        fast.push(t.elapsed());
        let t = Instant::now();
        let b = index.search_exact(q, N);
        exact.push(t.elapsed());
        agree += usize::from(a.iter().map(|h| h.0).eq(b.iter().map(|h| h.0)));
    }
    let q0 = qs[0].1.clone();
    c.bench_function(
        "embedded index search (i8 scan + f32 re-score), 10k x 1536, n=3",
        |b| b.iter(|| index.search(&q0, N)),
    );
    c.bench_function(
        "embedded index search_exact (f32 scan), 10k x 1536, n=3",
        |b| b.iter(|| index.search_exact(&q0, N)),
    );
    let detail = format!(
        "embedded store detail: in-memory insert {} ({:.0} chunks/s), save {}, load {}; index alone: \
         i8+re-score p50 {} / f32 exact scan p50 {}; top-{N} identical to the exact scan in {agree}/{QUERIES} queries",
        ms(insert),
        CHUNKS as f64 / insert.as_secs_f64(),
        ms(save),
        ms(load),
        ms(percentile(fast, 0.5)),
        ms(percentile(exact, 0.5)),
    );
    let numbers = Numbers {
        ingest_per_s: CHUNKS as f64 / (insert + save).as_secs_f64(),
        save: Some(save),
        p50: percentile(times.clone(), 0.5),
        p90: percentile(times, 0.9),
        top1,
    };
    (numbers, detail)
}

struct ChromaChild(std::process::Child);

impl Drop for ChromaChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_chroma(
    rt: &tokio::runtime::Runtime,
    data: &Path,
) -> Result<(ChromaChild, String), String> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/chroma");
    if !bin.exists() {
        return Err(format!("{} is missing: run scripts/venv.sh", bin.display()));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let child = std::process::Command::new(&bin)
        .arg("run")
        .arg("--path")
        .arg(data)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .env("ANONYMIZED_TELEMETRY", "False")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let mut child = ChromaChild(child);
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..240 {
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!("chroma exited at start ({status})"));
        }
        let ok = rt.block_on(async {
            client
                .get(format!("{url}/api/v2/heartbeat"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        });
        if ok {
            return Ok((child, url));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err("chroma did not answer its heartbeat within 60 s".into())
}

fn bench_chroma(
    rt: &tokio::runtime::Runtime,
    data_dir: &Path,
    c: &mut Criterion,
) -> Result<Numbers, String> {
    let (_child, url) = start_chroma(rt, data_dir)?;
    let server = ChromaServer::new(
        &url,
        "default_tenant",
        "default_database",
        &[],
        "bench",
        Duration::from_secs(300),
    )?;
    rt.block_on(server.open()).map_err(|e| e.to_string())?;
    let data = chunks();
    let metas: Vec<serde_json::Value> = data.iter().map(|c| json!({"file": c.file})).collect();
    let t = Instant::now();
    rt.block_on(server.upsert(&data, &metas))
        .map_err(|e| e.to_string())?;
    let ingest = t.elapsed();
    let count = rt.block_on(server.count()).map_err(|e| e.to_string())?;
    if count != CHUNKS {
        return Err(format!(
            "chroma holds {count} records after the upsert, not {CHUNKS}"
        ));
    }
    let qs = queries();
    let mut times = Vec::new();
    let mut top1 = 0;
    for (row, q) in &qs {
        let t = Instant::now();
        let hits = rt.block_on(server.query(q, N)).map_err(|e| e.to_string())?;
        times.push(t.elapsed());
        top1 += usize::from(hits.first().is_some_and(|h| h.source == data[*row].file));
    }
    let q0 = qs[0].1.clone();
    c.bench_function("chroma server query (HTTP, HNSW), 10k x 1536, n=3", |b| {
        b.iter(|| rt.block_on(server.query(&q0, N)))
    });
    Ok(Numbers {
        ingest_per_s: CHUNKS as f64 / ingest.as_secs_f64(),
        save: None,
        p50: percentile(times.clone(), 0.5),
        p90: percentile(times, 0.9),
        top1,
    })
}

fn main() {
    let mut c = Criterion::default().sample_size(30).configure_from_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("temp dir");
    let (embedded, detail) = bench_embedded(&rt, &tmp.path().join("embedded"), &mut c);
    let chroma_dir: PathBuf = tmp.path().join("chroma");
    let chroma = bench_chroma(&rt, &chroma_dir, &mut c);
    c.final_summary();

    println!("\n== knowledge base stores: {CHUNKS} chunks x {DIMS} dims, synthetic vectors (embedding excluded), n={N}, {QUERIES} queries ==");
    println!(
        "{:<34} {:>18} {:>18}",
        "", "embedded store", "chroma server"
    );
    let (c_ingest, c_p50, c_p90, c_top1) = match &chroma {
        Ok(n) => (
            format!("{:.0}", n.ingest_per_s),
            ms(n.p50),
            ms(n.p90),
            format!("{}/{QUERIES}", n.top1),
        ),
        Err(_) => ("-".into(), "-".into(), "-".into(), "-".into()),
    };
    println!(
        "{:<34} {:>18} {:>18}",
        "ingest chunks/s (incl. save)",
        format!("{:.0}", embedded.ingest_per_s),
        c_ingest
    );
    println!("{:<34} {:>18} {:>18}", "query p50", ms(embedded.p50), c_p50);
    println!("{:<34} {:>18} {:>18}", "query p90", ms(embedded.p90), c_p90);
    println!(
        "{:<34} {:>18} {:>18}",
        "planted nearest row ranked first",
        format!("{}/{QUERIES}", embedded.top1),
        c_top1
    );
    if let Some(save) = embedded.save {
        println!("{:<34} {:>18}", "embedded save to disk", ms(save));
    }
    println!("{detail}");
    if let Err(why) = chroma {
        println!("chroma server not measured: {why}");
    }
}
