//! Real peers for the knowledge-base tests: an embedding server on loopback (OpenAI-compatible
//! or Ollama) answering deterministic bag-of-words vectors and counting what it is asked, a real
//! Chroma server from the project venv, and a fixture folder with files that must be skipped.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub mod scenario;

/// Numbers per test vector (small: the tests are about behaviour, the bench about speed).
pub const DIMS: usize = 1024;

/// `<workspace>/`
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Hashed bag of words, unit length: texts sharing words point the same way, so a query about a
/// file's topic is nearest that file's chunks.
pub fn embed_text(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIMS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
    {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in word.to_lowercase().bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        v[(h % DIMS as u64) as usize] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Which embedding API the test server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    OpenAi,
    Ollama,
}

/// A scripted answer instead of vectors.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16, String),
    Garbage,
}

#[derive(Default)]
pub struct Seen {
    /// Embedding requests answered (any status).
    pub requests: AtomicUsize,
    /// Every text asked to embed, in arrival order.
    pub inputs: Mutex<Vec<String>>,
    /// Authorization headers received.
    pub auth: Mutex<Vec<Option<String>>>,
    /// Answers to give before answering normally.
    pub script: Mutex<VecDeque<Reply>>,
    /// Answer given to every request once the script is used up (None: vectors).
    pub always: Mutex<Option<Reply>>,
    /// When set, a request waits for this before being answered.
    pub gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
}

/// An embedding server on 127.0.0.1; stops when dropped.
pub struct EmbedServer {
    /// What `base_url` is for this flavour (`…/v1` for OpenAI, the root for Ollama).
    pub base_url: String,
    pub seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EmbedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EmbedServer {
    pub async fn start(flavour: Flavour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Seen::default());
        let s = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, flavour, s).await;
                });
            }
        });
        let base_url = match flavour {
            Flavour::OpenAi => format!("http://{addr}/v1"),
            Flavour::Ollama => format!("http://{addr}"),
        };
        Self {
            base_url,
            seen,
            task,
        }
    }

    pub fn requests(&self) -> usize {
        self.seen.requests.load(Ordering::SeqCst)
    }

    pub fn inputs(&self) -> Vec<String> {
        self.seen.inputs.lock().unwrap().clone()
    }

    pub fn clear_inputs(&self) {
        self.seen.inputs.lock().unwrap().clear();
    }

    pub fn script(&self, replies: Vec<Reply>) {
        self.seen.script.lock().unwrap().extend(replies);
    }

    pub fn always(&self, reply: Option<Reply>) {
        *self.seen.always.lock().unwrap() = reply;
    }

    /// Holds every request until `release` is called.
    pub fn hold(&self) -> Arc<tokio::sync::Semaphore> {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        *self.seen.gate.lock().unwrap() = Some(gate.clone());
        gate
    }
}

async fn serve(mut sock: TcpStream, flavour: Flavour, seen: Arc<Seen>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut length = 0usize;
    let mut auth = None;
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "authorization" => auth = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length.min(32 * 1024 * 1024) {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let path = match flavour {
        Flavour::OpenAi => "POST /v1/embeddings ",
        Flavour::Ollama => "POST /api/embed ",
    };
    let (status, answer) = if !request_line.starts_with(path) {
        (404, json!({"error": "not found"}).to_string())
    } else {
        seen.requests.fetch_add(1, Ordering::SeqCst);
        seen.auth.lock().unwrap().push(auth);
        let gate = seen.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
        }
        let scripted = seen
            .script
            .lock()
            .unwrap()
            .pop_front()
            .or_else(|| seen.always.lock().unwrap().clone());
        match scripted {
            Some(Reply::Status(code, text)) => (code, text),
            Some(Reply::Garbage) => (
                200,
                "{\"data\": [{\"embedding\": \"not numbers\"".to_string(),
            ),
            None => {
                let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let inputs: Vec<String> = req["input"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                seen.inputs.lock().unwrap().extend(inputs.iter().cloned());
                let vectors: Vec<Vec<f32>> = inputs.iter().map(|t| embed_text(t)).collect();
                let answer = match flavour {
                    Flavour::OpenAi => json!({
                        "object": "list",
                        // Reversed on purpose: clients must order by `index`.
                        "data": vectors.iter().enumerate().rev()
                            .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
                            .collect::<Vec<_>>(),
                        "model": req["model"],
                    }),
                    Flavour::Ollama => json!({"model": req["model"], "embeddings": vectors}),
                };
                (200, answer.to_string())
            }
        }
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    sock.write_all(response.as_bytes()).await?;
    sock.shutdown().await
}

/// A copy of `tests/fixtures/docs` in a temp folder, plus files the ingest must skip: a
/// `.gitignore`d file, a `node_modules` folder, a binary file, a `.git` folder, a hidden file.
pub fn fixture_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docs");
    copy_dir(&src, dir.path());
    let root = dir.path();
    std::fs::write(root.join(".gitignore"), "secret_plans.md\nbuild/\n").unwrap();
    std::fs::write(
        root.join("secret_plans.md"),
        "ignored sourdough volcano chess ownership",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("build")).unwrap();
    std::fs::write(
        root.join("build/out.md"),
        "ignored build output about sourdough",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("node_modules/pkg")).unwrap();
    std::fs::write(
        root.join("node_modules/pkg/README.md"),
        "a package about sourdough starters",
    )
    .unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join(".git/config"), "[core] sourdough").unwrap();
    std::fs::write(root.join(".env"), "OPENAI_API_KEY=sk-do-not-embed").unwrap();
    std::fs::write(
        root.join("logo.png"),
        [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe],
    )
    .unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Texts that must never reach the embedding server (they come from skipped files).
pub const SKIPPED_MARKERS: [&str; 5] = [
    "ignored sourdough",
    "ignored build output",
    "a package about",
    "[core]",
    "sk-do-not-embed",
];

/// A real Chroma server (`.venv/bin/chroma run`) on a free loopback port; killed when dropped.
pub struct ChromaProcess {
    pub url: String,
    child: tokio::process::Child,
    _data: tempfile::TempDir,
}

impl ChromaProcess {
    pub async fn start() -> Self {
        let chroma = workspace_root().join(".venv/bin/chroma");
        assert!(
            chroma.exists(),
            "{} is missing: run scripts/venv.sh (it installs chromadb into the project venv)",
            chroma.display()
        );
        let data = tempfile::tempdir().expect("temp dir");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let child = tokio::process::Command::new(&chroma)
            .arg("run")
            .arg("--path")
            .arg(data.path())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("ANONYMIZED_TELEMETRY", "False")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; run scripts/venv.sh",
                    chroma.display()
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let mut me = Self {
            url,
            child,
            _data: data,
        };
        let client = reqwest::Client::new();
        for _ in 0..240 {
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("chroma exited before answering ({status}); run scripts/venv.sh to repair the venv");
            }
            let beat = client
                .get(format!("{}/api/v2/heartbeat", me.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if beat.is_ok_and(|r| r.status().is_success()) {
                return me;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "chroma did not answer its heartbeat within 60 s at {}",
            me.url
        );
    }
}
