//! Round trip of one MCP stdio `tools/call` through `McpServer` to a trivial tool of a minimal
//! Python server, against the same server driven by a raw JSON-RPC pipe loop (the floor: pipe
//! hops plus Python's own work) and the server's self-measured handling time. Our per-call
//! overhead is the backend's round trip minus the raw one. Prints p50/p99 of each.

mod support;
use criterion::{criterion_group, criterion_main, Criterion};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;
use support::{interleaved, percentiles};
use woodwork_tools::mcp::{McpServer, McpSettings, McpTransport};
use woodwork_tools::{ToolBackend, ToolRequest};

const SAMPLES: usize = 3000;

fn python() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/venv.sh",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

fn server_script() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp/bench_server.py")
        .to_string_lossy()
        .into_owned()
}

/// The bench server driven by hand over blocking pipes: no MCP client at all.
struct Raw {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
    id: u64,
}

impl Raw {
    fn start() -> Raw {
        let mut child = Command::new(python())
            .arg(server_script())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the bench server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut raw = Raw {
            child,
            stdin,
            stdout,
            line: String::new(),
            id: 0,
        };
        raw.request(r#""method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}"#);
        raw
    }

    fn request(&mut self, body: &str) -> &str {
        self.id += 1;
        writeln!(self.stdin, r#"{{"jsonrpc":"2.0","id":{},{body}}}"#, self.id).expect("write");
        self.stdin.flush().expect("flush");
        self.line.clear();
        self.stdout.read_line(&mut self.line).expect("read");
        &self.line
    }

    fn call_noop(&mut self) {
        let answer =
            self.request(r#""method":"tools/call","params":{"name":"noop","arguments":{}}"#);
        assert!(answer.contains(r#""text":"ok""#), "{answer}");
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn noop() -> ToolRequest {
    ToolRequest {
        action: Some("noop".into()),
        inputs: serde_json::json!({}),
        session_id: "bench".into(),
    }
}

fn bench(c: &mut Criterion) {
    // actix runs backends on current-thread runtimes: measure on one too.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let settings = McpSettings::new(
        "bench",
        McpTransport::Stdio {
            command: vec![python(), server_script()],
            env: vec![],
            cwd: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        },
    );
    let backend = McpServer::new(settings);
    rt.block_on(backend.start()).expect("bench server starts");
    let mut raw = Raw::start();

    // Warm both paths, then sample them interleaved so machine noise hits both alike.
    for _ in 0..300 {
        raw.call_noop();
        rt.block_on(backend.call(noop())).expect("noop");
    }
    rt.block_on(backend.call(ToolRequest {
        action: Some("stats".into()),
        ..noop()
    }))
    .expect("reset stats");
    let (ours, floor) = interleaved(
        SAMPLES,
        || {
            rt.block_on(backend.call(noop())).expect("noop");
        },
        || raw.call_noop(),
    );
    let stats = rt
        .block_on(backend.call(ToolRequest {
            action: Some("stats".into()),
            ..noop()
        }))
        .expect("stats");
    let mut it = stats
        .split_whitespace()
        .map(|n| n.parse::<f64>().unwrap_or(f64::NAN));
    let (srv50, srv99) = (it.next().unwrap_or(f64::NAN), it.next().unwrap_or(f64::NAN));
    let (o50, o99) = percentiles(ours);
    let (f50, f99) = percentiles(floor);
    println!("\nMCP stdio tools/call round trip, {SAMPLES} calls each (µs):");
    println!("  McpServer.call (rmcp + ours)      p50 {o50:8.1}  p99 {o99:8.1}");
    println!("  raw JSON-RPC pipe loop (floor)    p50 {f50:8.1}  p99 {f99:8.1}");
    println!(
        "  server's own handling, Python     p50 {srv50:8.1}  p99 {srv99:8.1}  (of our calls)"
    );
    println!(
        "  => our per-call overhead          p50 {:8.1}  p99 {:8.1}  (McpServer − raw)\n",
        o50 - f50,
        o99 - f99
    );

    let mut g = c.benchmark_group("mcp_stdio");
    g.sample_size(50).measurement_time(Duration::from_secs(5));
    g.bench_function("McpServer.call noop", |b| {
        b.iter(|| rt.block_on(backend.call(noop())).expect("noop"))
    });
    g.bench_function("raw JSON-RPC pipe noop", |b| b.iter(|| raw.call_noop()));
    g.finish();
    rt.block_on(backend.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
