//! Harness for the cluster tests (issue #12, DESIGN.md §7): several real `woodwork-actors serve`
//! processes on one broker. A fresh namespace per test, removed from the broker afterwards so runs
//! never see each other's queues; a private broker process for the tests that restart the broker;
//! bounded polls of `/health`, `/readyz` and `/components` for the cluster view (hang guards, never
//! timing assertions).
#![allow(dead_code)] // each cluster test uses a different part of it

use super::{write_ww, Server};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use woodwork_broker::Broker;

/// Hang guard for anything the cluster reaches asynchronously (a node joining or leaving the
/// registry, a broker coming back, redelivered work finishing).
pub const WAIT: Duration = Duration::from_secs(45);

/// The brokers a multi-process system runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bus {
    Redis,
    Nats,
}

impl Bus {
    /// `redis` / `nats`: what `/health`'s `cluster.bus` says.
    pub fn name(self) -> &'static str {
        match self {
            Bus::Redis => "redis",
            Bus::Nats => "nats",
        }
    }

    /// The shared broker of the development and CI machines (override with WW_TEST_REDIS_URL /
    /// WW_TEST_NATS_URL, like the broker crate's conformance suite).
    pub fn shared_url(self) -> String {
        match self {
            Bus::Redis => std::env::var("WW_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
            Bus::Nats => {
                std::env::var("WW_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
            }
        }
    }

    /// How to get this broker running, for the failure message of a test that found none.
    fn how_to_start(self) -> &'static str {
        match self {
            Bus::Redis => {
                "Redis must listen on 127.0.0.1:6379: run scripts/test.sh (it starts it), or \
                 `apt-get install redis-server && redis-server --port 6379 &`"
            }
            Bus::Nats => {
                "NATS with JetStream must listen on 127.0.0.1:4222: run scripts/test.sh (it starts \
                 it), or `apt-get install nats-server && nats-server -js -p 4222 &`"
            }
        }
    }
}

/// A namespace name no other run uses: `t-<test>-<pid>-<nanos>`, within the broker's 64
/// characters of letters, digits, `-` and `_`.
pub fn unique_namespace(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let test: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(24)
        .collect();
    format!("t-{test}-{}-{nanos}", std::process::id())
}

/// A fresh namespace on a running broker; everything the nodes created in it is removed when
/// this is dropped (declare it before the nodes, so they stop first).
pub struct Namespace {
    pub bus: Bus,
    pub url: String,
    pub name: String,
}

impl Namespace {
    /// A fresh namespace on the shared broker of `bus`; fails (never skips) when none answers.
    pub async fn shared(bus: Bus, test: &str) -> Namespace {
        Self::on(bus, &bus.shared_url(), test).await
    }

    /// A fresh namespace on the broker at `url`.
    pub async fn on(bus: Bus, url: &str, test: &str) -> Namespace {
        let name = unique_namespace(test);
        if let Err(e) = Broker::connect(url, &name).await {
            panic!(
                "{} broker at {url} unreachable: {e}\n{}",
                bus.name(),
                bus.how_to_start()
            );
        }
        Namespace {
            bus,
            url: url.to_string(),
            name,
        }
    }

    /// The `serve` options of node `node` hosting `components` (all of them when empty).
    pub fn node_args(&self, node: &str, components: &[&str]) -> Vec<String> {
        let mut args = vec![
            "--bus".to_string(),
            self.url.clone(),
            "--namespace".into(),
            self.name.clone(),
            "--node".into(),
            node.into(),
        ];
        if !components.is_empty() {
            args.push("--components".into());
            args.push(components.join(","));
        }
        args
    }

    /// Starts node `node` of `file`, hosting `components`, with `extra` options after them.
    pub fn node(&self, file: &Path, node: &str, components: &[&str], extra: &[&str]) -> Server {
        self.node_env(file, node, components, extra, &[])
    }

    /// Same, with extra environment variables.
    pub fn node_env(
        &self,
        file: &Path,
        node: &str,
        components: &[&str],
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut args = self.node_args(node, components);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Server::start_with(file, &args, env)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Drop cannot await and may run on the test's runtime: purge on a thread of its own.
        let (url, name) = (self.url.clone(), self.name.clone());
        let purged = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let broker = Broker::connect(&url, &name)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::time::timeout(Duration::from_secs(20), broker.purge_namespace())
                    .await
                    .map_err(|_| "timed out".to_string())?
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match purged {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "warning: namespace {} not purged from {}: {e}",
                self.name, self.url
            ),
            Err(_) => eprintln!("warning: purging namespace {} panicked", self.name),
        }
    }
}

/// `GET path` as JSON, with its status.
pub async fn get_json(server: &Server, path: &str) -> (u16, Value) {
    let res = server.get(path).await;
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// The node names in a `/health` document's `cluster.nodes`.
pub fn cluster_nodes(health: &Value) -> Vec<String> {
    let mut names: Vec<String> = health["cluster"]["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| n["node"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Polls `/health` until its cluster view lists every node of `nodes`; returns that document.
pub async fn wait_nodes(server: &Server, nodes: &[&str]) -> Value {
    let until = Instant::now() + WAIT;
    let mut last = Value::Null;
    while Instant::now() < until {
        let (_, health) = get_json(server, "/health").await;
        let seen = cluster_nodes(&health);
        if nodes.iter().all(|n| seen.iter().any(|s| s == n)) {
            return health;
        }
        last = health;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "hang guard: {} never listed nodes {nodes:?} in /health; last:\n{last:#}\nlogs:\n{}",
        server.base,
        server.logs()
    );
}

/// Polls `/health` until its cluster view no longer lists `node` (a stopped node leaves the
/// registry within its TTL).
pub async fn wait_node_gone(server: &Server, node: &str) -> Value {
    let until = Instant::now() + WAIT;
    let mut last = Value::Null;
    while Instant::now() < until {
        let (_, health) = get_json(server, "/health").await;
        if !health["cluster"]["nodes"].is_null()
            && !cluster_nodes(&health).iter().any(|n| n == node)
        {
            return health;
        }
        last = health;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "hang guard: {} still lists node {node} in /health; last:\n{last:#}",
        server.base
    );
}

/// Polls `/readyz` until it answers `status` (503 while the broker is away, 200 once back).
pub async fn wait_ready(server: &Server, status: u16) {
    let until = Instant::now() + WAIT;
    let mut last = 0;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    while Instant::now() < until {
        // A node busy reconnecting may answer slowly: a request that fails counts as not yet.
        if let Ok(res) = http.get(server.url("/readyz")).send().await {
            last = res.status().as_u16();
            if last == status {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "hang guard: {} /readyz never answered {status} (last {last}); logs:\n{}",
        server.base,
        server.logs()
    );
}

/// Lines of `server`'s logs that contain every one of `needles`.
pub fn count_log_lines(server: &Server, needles: &[&str]) -> usize {
    server
        .logs()
        .lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}

/// How many answers containing `text` the output consoles of `server` logged (a console logs
/// every result it returns on the `woodwork::output` target): a duplicate delivery shows twice.
pub fn outputs_logged(server: &Server, text: &str) -> usize {
    count_log_lines(server, &["woodwork::output", text])
}

/// The `processed` count `/components/{name}` reports on `server` (its local instance).
pub async fn processed(server: &Server, component: &str) -> u64 {
    let (status, c) = get_json(server, &format!("/components/{component}")).await;
    assert_eq!(
        status, 200,
        "/components/{component} on {}: {c}",
        server.base
    );
    c["processed"]
        .as_u64()
        .unwrap_or_else(|| panic!("no `processed` in /components/{component}: {c}"))
}

/// A free loopback port (bound, then released for the process about to use it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A broker process of the test's own, on its own port and data directory with persistence on
/// (Redis: append-only file synced on every write; NATS: JetStream file store), so the test can
/// stop and restart it under running nodes. Killed and its directory removed when dropped.
pub struct PrivateBroker {
    pub bus: Bus,
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateBroker {
    /// Starts `redis-server` / `nats-server -js` on a free port; fails saying what to install
    /// when the server program is missing.
    pub fn start(bus: Bus) -> PrivateBroker {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "private-broker-{}-{}",
            std::process::id(),
            unique_namespace(bus.name())
        ));
        std::fs::create_dir_all(&dir).expect("create the broker's data directory");
        let mut broker = PrivateBroker {
            bus,
            port: free_port(),
            dir,
            child: None,
        };
        broker.launch();
        broker
    }

    /// The URL nodes connect to.
    pub fn url(&self) -> String {
        match self.bus {
            Bus::Redis => format!("redis://127.0.0.1:{}", self.port),
            Bus::Nats => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    fn launch(&mut self) {
        let port = self.port.to_string();
        let dir = self.dir.to_string_lossy().into_owned();
        let (program, args): (&str, Vec<String>) = match self.bus {
            Bus::Redis => (
                "redis-server",
                [
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    &dir,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--protected-mode",
                    "no",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ),
            Bus::Nats => (
                "nats-server",
                ["-js", "-a", "127.0.0.1", "-p", &port, "-sd", &dir]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .expect("open the broker's log");
        let log2 = log.try_clone().expect("clone the broker's log handle");
        let child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {program} ({e}): the broker-restart tests need it; install it \
                     with `apt-get install redis-server nats-server`"
                )
            });
        self.child = Some(child);
        self.wait_answering();
    }

    /// Waits (bounded) until the broker answers its protocol's greeting on the port.
    fn wait_answering(&mut self) {
        let until = Instant::now() + WAIT;
        while Instant::now() < until {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{} exited ({status}); its log:\n{}",
                        self.bus.name(),
                        self.log()
                    );
                }
            }
            if self.answers() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "hang guard: private {} on port {} never answered; its log:\n{}",
            self.bus.name(),
            self.port,
            self.log()
        );
    }

    /// Redis answers PING with +PONG once its data is loaded; NATS greets with an INFO line.
    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if self.bus == Bus::Redis && s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) => {
                let head = &buf[..n];
                match self.bus {
                    Bus::Redis => head.starts_with(b"+PONG"),
                    Bus::Nats => head.starts_with(b"INFO"),
                }
            }
            Err(_) => false,
        }
    }

    /// Stops the broker with SIGTERM (it flushes its data) and waits for it to exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let until = Instant::now() + WAIT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }

    /// Starts the broker again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// The broker's own log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// --- The conversation the memory tests hold: markers as inputs, checked in the model's prompt.

/// The agent with memory behind `in`; its model `llm openai` at the loopback `provider`, or, with
/// None, at whatever `OPENAI_BASE_URL` the node's environment names (so each node of one file can
/// call a provider of its own, showing which node made a model call).
pub fn remembering_agent(name: &str, provider: Option<&str>) -> std::path::PathBuf {
    let model = match provider {
        Some(url) => format!(r#"llm openai {{ base_url: "{url}/v1", api_key: "k", model: "m" }}"#),
        None => r#"llm openai { model: "m" }"#.to_string(),
    };
    write_ww(
        name,
        &format!(
            r#"mem = memory short_term {{}}
model = {model}
assistant = agent llm {{ model: model, memory: mem }}
in = input command_line {{ to: assistant }}
out = output console {{}}
"#
        ),
    )
}

/// The marker of turn `turn` of session `session`, as the user's input.
pub fn marker(session: usize, turn: usize) -> String {
    format!("[s{session:02}t{turn}]")
}

/// Every marker in `text`, in order of appearance: (session, turn).
pub fn markers(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i + 6 <= b.len() {
        let m = &b[i..i + 6];
        if m[0] == b'['
            && m[1] == b's'
            && m[2].is_ascii_digit()
            && m[3].is_ascii_digit()
            && m[4] == b't'
            && m[5].is_ascii_digit()
            && b.get(i + 6) == Some(&b']')
        {
            let session = usize::from(m[2] - b'0') * 10 + usize::from(m[3] - b'0');
            found.push((session, usize::from(m[5] - b'0')));
            i += 7;
        } else {
            i += 1;
        }
    }
    found
}

/// Checks one model call: it is turn k of one session (its newest marker) and shows that
/// session's turns 0..=k, first appearances in order; returns (session, k).
pub fn history_of(call: &Value) -> (usize, usize) {
    let text = call["messages"].to_string();
    let found = markers(&text);
    let Some(&(session, _)) = found.first() else {
        panic!("a model call without any turn's input: {call:#}");
    };
    assert!(
        found.iter().all(|(s, _)| *s == session),
        "a model call shows another session's turns: {found:?} in {call:#}"
    );
    let mut firsts: Vec<usize> = Vec::new();
    for (_, t) in &found {
        if !firsts.contains(t) {
            firsts.push(*t);
        }
    }
    let k = firsts.len() - 1;
    assert_eq!(
        firsts,
        (0..=k).collect::<Vec<_>>(),
        "turns of session {session} out of order or missing in a model call: {call:#}"
    );
    (session, k)
}
