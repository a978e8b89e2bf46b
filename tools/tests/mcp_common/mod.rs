//! Shared by the MCP tests: the project venv's Python, fixture paths, settings and waits.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;
use woodwork_tools::mcp::{McpServer, McpSettings, McpTransport};
use woodwork_tools::{Readiness, ToolBackend, ToolError, ToolRequest};

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project venv's python (MCP servers live there); fails the test when it is missing.
pub fn python() -> String {
    let p = workspace_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/venv.sh (it installs mcp<2 and mcp-server-time)",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

pub fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

pub fn stdio(name: &str, command: Vec<String>) -> McpSettings {
    let mut s = McpSettings::new(
        name,
        McpTransport::Stdio {
            command,
            env: vec![],
            cwd: workspace_root(),
        },
    );
    s.start_timeout = Duration::from_secs(60);
    s
}

/// The FastMCP stdio fixture (echo, die, sleep, pid, spawn_sleeper).
pub fn fixture_server(extra: &[&str]) -> McpSettings {
    let mut cmd = vec![python(), fixture("stdio_server.py")];
    cmd.extend(extra.iter().map(|s| s.to_string()));
    stdio("fixture", cmd)
}

pub fn req(action: Option<&str>, inputs: serde_json::Value) -> ToolRequest {
    ToolRequest {
        action: action.map(str::to_string),
        inputs,
        session_id: "s1".into(),
    }
}

/// Runs a call, failing the test if it hangs (a hang guard, not a speed check).
pub async fn call(
    b: &McpServer,
    action: Option<&str>,
    inputs: serde_json::Value,
) -> Result<String, ToolError> {
    match tokio::time::timeout(Duration::from_secs(60), b.call(req(action, inputs))).await {
        Ok(r) => r,
        Err(_) => panic!("call {action:?} hung for 60 s"),
    }
}

/// Waits until the backend reports `want(readiness)`, failing after 60 s.
pub async fn wait_for(b: &McpServer, what: &str, want: impl Fn(&Readiness) -> bool) -> Readiness {
    for _ in 0..600 {
        let r = b.readiness();
        if want(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("backend never became {what}; readiness {:?}", b.readiness());
}

/// True while a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

pub async fn wait_dead(pid: u32) {
    for _ in 0..100 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("process {pid} is still alive 10 s after shutdown");
}

/// The FastMCP streamable-HTTP fixture, killed on drop.
pub struct HttpFixture {
    pub child: tokio::process::Child,
    pub port: u16,
}

impl HttpFixture {
    /// Starts `http_server.py TOKEN PORT` (port 0: a free one) and waits for it to listen.
    pub async fn start(token: &str, port: u16) -> HttpFixture {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(python())
            .arg(fixture("http_server.py"))
            .arg(token)
            .arg(port.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the HTTP fixture");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the HTTP fixture printed no port within 60 s")
            .expect("read the fixture's stdout")
            .expect("the HTTP fixture exited before listening");
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected fixture line {line:?}"));
        HttpFixture { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

pub fn http(url: String, headers: Vec<(&str, &str)>) -> McpSettings {
    let mut s = McpSettings::new(
        "web",
        McpTransport::Http {
            url,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    );
    s.start_timeout = Duration::from_secs(30);
    s
}
