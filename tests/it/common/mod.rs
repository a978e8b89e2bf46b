//! Harness for the serve tests: starts the real `woodwork-actors serve` binary on a free port,
//! reads the `listening on` line, keeps its logs, and kills it when dropped.
#![allow(dead_code)] // each test binary uses a different part of it

pub mod cluster;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Hang guard for starting and stopping the server (never a timing assertion).
const START_BOUND: Duration = Duration::from_secs(60);

/// Logs kept per server (the tail), so a chatty test cannot grow memory without bound.
const LOG_CAP: usize = 4 << 20;

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    logs: Arc<Mutex<String>>,
}

/// Writes a `.ww` file under the cargo test tmp dir and returns its path.
pub fn write_ww(name: &str, source: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{name}-{}-{}.ww",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, source).unwrap();
    path
}

/// The repository's offline quickstart example.
pub fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/main.ww")
}

pub fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_woodwork-actors"));
    cmd.env_remove("WOODWORK_AUTH_TOKEN");
    cmd.env("RUST_LOG", "info,woodwork_actors=debug");
    cmd
}

/// Runs a command that is expected to exit by itself, killing it if it has not within the bound.
pub fn run_bounded(mut cmd: Command) -> std::process::Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let until = Instant::now() + START_BOUND;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("command did not exit within {START_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

impl Server {
    /// `serve <file> --port 0 <extra…>`.
    pub fn start(file: &Path, extra: &[&str]) -> Server {
        Self::start_with(file, extra, &[])
    }

    /// Same, with extra environment variables.
    pub fn start_with(file: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = binary();
        cmd.arg("serve").arg(file).args(["--port", "0"]).args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn woodwork-actors");
        let logs = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let out_logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
                push_log(&out_logs, &line);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let err_logs = logs.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut pending = Vec::new();
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=i).collect();
                    push_log(&err_logs, String::from_utf8_lossy(&line).trim_end());
                }
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            logs,
        };
        match rx.recv_timeout(START_BOUND) {
            Ok(base) => server.base = base,
            Err(_) => panic!(
                "server did not print `listening on` (exit: {:?}); logs:\n{}",
                server.child.try_wait(),
                server.logs()
            ),
        }
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `GET path`, through the hang-guarded [`client`].
    pub async fn get(&self, path: &str) -> reqwest::Response {
        client().get(self.url(path)).send().await.unwrap()
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        client().delete(self.url(path)).send().await.unwrap()
    }

    /// `POST path` without a body (replay and other actions).
    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        client().post(self.url(path)).send().await.unwrap()
    }

    /// `POST path` with `body` as `application/json`.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        client()
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Starts a turn in the background, tagged with `request_id`, and returns once the server
    /// logged accepting it: its session is busy when the caller goes on.
    pub async fn start_turn(
        &self,
        path: &str,
        request_id: &str,
        body: serde_json::Value,
    ) -> tokio::task::JoinHandle<reqwest::Response> {
        let request = client()
            .post(self.url(path))
            .header("x-request-id", request_id)
            .json(&body);
        let turn = tokio::spawn(async move { request.send().await.unwrap() });
        self.wait_for_log(&[request_id, "input accepted"]).await;
        turn
    }

    /// POSTs `body` as JSON until the answer has `status` (a state the server reaches
    /// asynchronously); None if it never did within the hang guard.
    pub async fn post_json_until(
        &self,
        path: &str,
        body: &serde_json::Value,
        status: u16,
    ) -> Option<reqwest::Response> {
        for _ in 0..400 {
            let res = self.post_json(path, body).await;
            if res.status() == status {
                return Some(res);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote so far (stdout and stderr lines).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Waits (bounded) until a log line contains every one of `needles`; async so requests
    /// spawned on the test's runtime keep running meanwhile.
    pub async fn wait_for_log(&self, needles: &[&str]) {
        let until = Instant::now() + START_BOUND;
        while Instant::now() < until {
            if self
                .logs()
                .lines()
                .any(|l| needles.iter().all(|n| l.contains(n)))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no log line with {needles:?}; logs:\n{}", self.logs());
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let until = Instant::now() + START_BOUND;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "server did not exit; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn push_log(logs: &Mutex<String>, line: &str) {
    let mut l = logs.lock().unwrap();
    if l.len() > LOG_CAP {
        let cut = l.len() - LOG_CAP / 2;
        let cut = (cut..l.len()).find(|i| l.is_char_boundary(*i)).unwrap_or(0);
        l.drain(..cut);
    }
    l.push_str(line);
    l.push('\n');
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client with a hang guard.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Parses a `text/event-stream` body into (event name, JSON data) pairs, checking the framing:
/// every event is `event:` + `data:` lines (after an `id:`) ended by a blank line.
pub fn parse_sse(body: &str) -> Vec<(String, serde_json::Value)> {
    let mut events = Vec::new();
    for block in body.split("\n\n") {
        if block.trim().is_empty() {
            continue;
        }
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event: ") {
                name = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            } else if line.starts_with(':') || line.starts_with("id: ") {
                // comment / keep-alive / the frame's id (tests/it/serve_events.rs checks ids)
            } else {
                panic!("unexpected SSE line {line:?} in block {block:?}");
            }
        }
        if name.is_none() && data.is_empty() {
            continue;
        }
        let name = name.unwrap_or_else(|| panic!("SSE event without a name: {block:?}"));
        let data = serde_json::from_str(&data)
            .unwrap_or_else(|e| panic!("SSE data is not JSON ({e}): {data:?}"));
        events.push((name, data));
    }
    assert!(
        body.ends_with("\n\n"),
        "SSE body does not end with a blank line: {body:?}"
    );
    events
}

/// Asserts the JSON error shape and returns (code, message).
pub async fn error_of(res: reqwest::Response) -> (String, String) {
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let v: serde_json::Value = res.json().await.unwrap();
    let code = v["error"]["code"].as_str().unwrap_or_else(|| panic!("{v}"));
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(!message.is_empty());
    (code.to_string(), message.to_string())
}

/// The server still answers `/livez` with 200.
pub async fn assert_alive(server: &Server) {
    assert_eq!(server.get("/livez").await.status(), 200);
}

/// The `Retry-After` header in seconds (present and numeric, or the test fails).
pub fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Polls `probe` until it gives a value; panics naming `what` past `bound` (a hang guard, never
/// a timing assertion).
pub async fn poll_until<T>(
    bound: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let until = tokio::time::Instant::now() + bound;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
