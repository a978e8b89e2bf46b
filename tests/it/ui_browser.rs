//! The dashboard in a real browser: headless Chromium driven by chromedriver over WebDriver (plain
//! HTTP + JSON from reqwest: five endpoints do not need a WebDriver crate and its dependency tree).
//! The page runs against the real binary with `--auth-token`: it asks for the token, draws every
//! component, streams an answer to a typed input, shows the live events and the session, and
//! leaves a screenshot in `<target>/test-artifacts/ui.png`.

use crate::common::{client, quickstart, Server};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const TOKEN: &str = "ui-token-7c1e";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Hang guard for every wait on the page (never a timing assertion).
const BOUND: Duration = Duration::from_secs(60);

/// chromedriver (and the browser it started) with a throwaway profile; killed and removed on drop.
struct Driver {
    child: Child,
    base: String,
    session: Option<String>,
    profile: PathBuf,
}

impl Drop for Driver {
    /// Kills chromedriver's whole process group (it and the browser it started: a test that
    /// failed half-way leaves no Chromium behind), then removes the profile.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Driver {
    async fn start() -> Driver {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: install Debian's `chromium chromium-driver` \
                 (scripts/test.sh does: apt-get install -y chromium chromium-driver)"
            );
        }
        let port = free_port();
        let profile = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("ui-chromium-{}-{port}", std::process::id()));
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            // Its own process group, so Drop can end it and its browser together.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let mut driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            profile,
        };
        let until = Instant::now() + BOUND;
        loop {
            let ready = client()
                .get(format!("{}/status", driver.base))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                break;
            }
            assert!(Instant::now() < until, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--window-size=1400,1250",
                    format!("--user-data-dir={}", driver.profile.display()),
                ],
            },
        }}});
        let v = driver.call("POST", "/session", caps).await;
        driver.session = Some(
            v["sessionId"]
                .as_str()
                .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
                .to_string(),
        );
        driver
    }

    /// One WebDriver command; its `value` (a WebDriver error fails the test, with its message).
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = match &self.session {
            Some(s) if path != "/session" => format!("{}/session/{s}{path}", self.base),
            _ => format!("{}{path}", self.base),
        };
        let req = match method {
            "GET" => client().get(url),
            "DELETE" => client().delete(url),
            _ => client().post(url).json(&body),
        };
        let res = req.send().await.expect("chromedriver answers");
        let status = res.status();
        let v: Value = res.json().await.expect("WebDriver JSON");
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status} {v}"
        );
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    async fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT].as_str().expect("element reference").to_string()
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call("POST", &format!("/element/{id}/click"), json!({}))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Evaluates `script` until it returns something truthy; that value.
    async fn wait_for(&self, what: &str, script: &str) -> Value {
        let until = Instant::now() + BOUND;
        loop {
            let v = self.js(script).await;
            let truthy = match &v {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() > until {
                let page = self
                    .js("return document.body.innerText")
                    .await
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                panic!("the page never showed {what}; it shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the WebDriver session: the browser closes.
    async fn quit(mut self) {
        if self.session.is_some() {
            self.call("DELETE", "", Value::Null).await;
            self.session = None;
        }
    }

    /// Browser console lines (chromedriver's log endpoint).
    async fn console(&self) -> Vec<String> {
        self.call("POST", "/se/log", json!({"type": "browser"}))
            .await
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| format!("{} {}", e["level"], e["message"]))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn screenshot(&self, to: &Path) {
        let png = self.call("GET", "/screenshot", Value::Null).await;
        let bytes = base64_decode(png.as_str().expect("base64 PNG"));
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("artifact folder");
        std::fs::write(to, bytes).expect("write the screenshot");
    }
}

/// Standard base64 (the WebDriver screenshot encoding); panics on anything else.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for quad in clean.chunks(4) {
        let data: Vec<u8> = quad
            .iter()
            .copied()
            .filter(|c| *c != b'=')
            .map(value)
            .collect();
        let n = data
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, v)| n | (u32::from(*v) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..data.len()]);
    }
    out
}

/// Where the screenshot goes: `<target>/test-artifacts/ui.png`.
fn artifact() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("test-artifacts/ui.png")
}

#[tokio::test]
async fn dashboard_shows_components_streams_an_answer_and_the_live_events() {
    let server = Server::start(&quickstart(), &["--auth-token", TOKEN]);
    let driver = Driver::start().await;
    driver.goto(&server.url("/ui")).await;

    // Auth on: the page's first API call is refused, so it asks for the token.
    driver
        .wait_for(
            "the token dialog",
            "return !document.getElementById('token-dialog').hidden",
        )
        .await;
    // A wrong token is refused by the server, and the page says so.
    driver.type_into("#token-input", "not-the-token").await;
    driver.click("#token-save").await;
    driver
        .wait_for(
            "the refused-token message",
            "const e = document.getElementById('token-error');
             return !document.getElementById('token-dialog').hidden && !e.hidden
               && e.textContent.includes('refused');",
        )
        .await;
    driver.type_into("#token-input", TOKEN).await;
    driver.click("#token-save").await;

    // Every component, in the graph (from /graph) and in the status table (from /components).
    let names = driver
        .wait_for(
            "the graph with live state",
            "const n = [...document.querySelectorAll('#graph .node')];
             return n.length === 4 && n.every(g => g.getAttribute('class').includes('st-'))
               && n.map(g => g.dataset.name).sort();",
        )
        .await;
    assert_eq!(names, json!(["assistant", "in", "model", "out"]));
    let rows = driver
        .js("return [...document.querySelectorAll('#components tbody tr')].map(r => r.dataset.name).sort()")
        .await;
    assert_eq!(rows, names);
    let edges = driver
        .js("return document.querySelectorAll('#graph .edge').length")
        .await;
    assert!(
        edges.as_u64().is_some_and(|n| n >= 2),
        "routes drawn: {edges}"
    );
    driver
        .wait_for(
            "the live feed connected",
            "return document.getElementById('feed-state').textContent === 'events: live'",
        )
        .await;

    // Send an input: the answer streams in chunk by chunk, then `done`.
    driver
        .type_into("#input", "hello from the dashboard test")
        .await;
    driver.click("#send").await;
    let answer = driver
        .wait_for(
            "the finished answer",
            "const a = document.getElementById('answer');
             return a.classList.contains('done') && a.textContent;",
        )
        .await;
    assert_eq!(answer, "echo: hello from the dashboard test");
    let state = driver
        .js("return document.getElementById('send-state').textContent")
        .await;
    let chunks: u64 = state
        .as_str()
        .and_then(|s| s.split(" · ").nth(1))
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("send state names the chunk count: {state}"));
    assert!(chunks >= 5, "the mock streams word by word: {state}");
    let trace = driver
        .js("return [...document.querySelectorAll('#trace li .type')].map(t => t.textContent)")
        .await;
    assert!(
        trace
            .as_array()
            .is_some_and(|t| t.iter().any(|e| e == "input.received")),
        "the input's own events: {trace}"
    );

    // The live feed (/events) shows the turn, and the session list shows its session.
    let session = driver
        .js("return document.getElementById('session').value")
        .await;
    let session = session.as_str().expect("the session id kept").to_string();
    assert!(!session.is_empty());
    driver
        .wait_for(
            "the turn's events in the live feed",
            "const t = [...document.querySelectorAll('#events li .type')].map(e => e.textContent);
             return t.includes('input.received') && t.includes('stream.chunk') && t;",
        )
        .await;
    driver
        .wait_for(
            "the session in the session list",
            &format!(
                "return [...document.querySelectorAll('#sessions tbody tr')]
                   .some(r => r.dataset.session === {})",
                json!(session)
            ),
        )
        .await;
    driver
        .wait_for(
            "the agent's latency",
            "const r = document.querySelector('#components tr[data-name=assistant]');
             return r && !r.cells[5].textContent.includes('–');",
        )
        .await;

    let shot = artifact();
    driver.screenshot(&shot).await;
    assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000));

    // No CSP violation or script error in the console (the 401s the page got before it had the
    // token are logged there too, as failed loads), and the token never reached a URL.
    let console = driver.console().await;
    assert!(
        console.iter().all(|l| ![
            "Content Security Policy",
            "Uncaught",
            "TypeError",
            "ReferenceError",
            "SyntaxError"
        ]
        .iter()
        .any(|bad| l.contains(bad))),
        "browser console: {console:#?}"
    );
    assert!(
        !server.logs().contains(TOKEN),
        "the token never reaches the server's logs"
    );
    let url = driver.call("GET", "/url", Value::Null).await;
    assert!(!url.to_string().contains(TOKEN), "{url}");
    driver.quit().await;
}
