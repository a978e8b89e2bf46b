//! Round trip of a trivial Python function (`def ping(): return "pong"`) through
//! `PythonFunctions::call`, against the same worker program driven by a raw blocking pipe loop
//! (the floor: two pipe hops plus the worker's own Python work). Our per-call overhead is the
//! backend's round trip minus the raw one. Prints p50/p99 of each; target ≤ 150 µs p50.

mod support;
use criterion::{criterion_group, criterion_main, Criterion};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;
use support::{interleaved, percentiles};
use woodwork_tools::functions::{FunctionsSettings, PythonFunctions, WORKER_SOURCE};
use woodwork_tools::observation::MAX_OBSERVATION;
use woodwork_tools::{ToolBackend, ToolRequest};

const SAMPLES: usize = 5000;

fn python() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/venv.sh",
        p.display()
    );
    p
}

fn ping_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/functions/ping.py")
}

/// The embedded worker driven by hand over blocking pipes: no tokio, no checks, no mutex.
struct Raw {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Raw {
    fn start() -> Raw {
        let mut child = Command::new(python())
            .arg("-u")
            .arg("-c")
            .arg(WORKER_SOURCE)
            .arg(ping_file())
            .arg(MAX_OBSERVATION.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the worker");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut raw = Raw {
            child,
            stdin,
            stdout,
            line: String::new(),
        };
        raw.line.clear();
        raw.stdout.read_line(&mut raw.line).expect("hello");
        assert!(raw.line.contains(r#""ok": true"#), "{}", raw.line);
        raw
    }

    fn ping(&mut self) {
        self.stdin
            .write_all(b"{\"fn\":\"ping\",\"kwargs\":{}}\n")
            .expect("write");
        self.line.clear();
        self.stdout.read_line(&mut self.line).expect("read");
        assert!(self.line.contains(r#""text": "pong""#), "{}", self.line);
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ping() -> ToolRequest {
    ToolRequest {
        action: Some("ping".into()),
        inputs: serde_json::Value::Null,
        session_id: "bench".into(),
    }
}

fn bench(c: &mut Criterion) {
    // actix runs backends on current-thread runtimes: measure on one too.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut settings = FunctionsSettings::new("bench", ping_file());
    settings.python = python();
    let backend = PythonFunctions::new(settings);
    rt.block_on(backend.start()).expect("ping.py starts");
    let mut raw = Raw::start();

    // Warm both paths, then sample them interleaved so machine noise hits both alike.
    for _ in 0..500 {
        raw.ping();
        assert_eq!(rt.block_on(backend.call(ping())).expect("ping"), "pong");
    }
    let (ours, floor) = interleaved(
        SAMPLES,
        || {
            rt.block_on(backend.call(ping())).expect("ping");
        },
        || raw.ping(),
    );
    let (o50, o99) = percentiles(ours);
    let (f50, f99) = percentiles(floor);
    println!("\napi functions round trip of ping(), {SAMPLES} calls each (µs):");
    println!("  PythonFunctions.call              p50 {o50:8.1}  p99 {o99:8.1}");
    println!("  raw blocking pipe loop (floor)    p50 {f50:8.1}  p99 {f99:8.1}");
    println!(
        "  => our per-call overhead          p50 {:8.1}  p99 {:8.1}  (PythonFunctions − raw)\n",
        o50 - f50,
        o99 - f99
    );

    let mut g = c.benchmark_group("functions");
    g.sample_size(50).measurement_time(Duration::from_secs(5));
    g.bench_function("PythonFunctions.call ping", |b| {
        b.iter(|| rt.block_on(backend.call(ping())).expect("ping"))
    });
    g.bench_function("raw pipe ping", |b| b.iter(|| raw.ping()));
    g.finish();
    rt.block_on(backend.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
