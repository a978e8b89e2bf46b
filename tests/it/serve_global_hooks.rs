//! The seed documents' forms against the real binary: a file's top-level `hooks = [...]` (the
//! `"file.py::function"` shorthand, a real Python worker) sees the events of every component and
//! of the runtime, its top-level `pipes = [...]` run before delivery; a `deployment` naming a
//! broker is accepted by `check` and `serve` with a warning that it is not used yet.

use crate::common::{binary, run_bounded, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Hang guard for what happens after the answer (never a timing assertion).
const BOUND: Duration = Duration::from_secs(30);

/// A fresh folder under the cargo test tmp dir holding `files`.
fn folder(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("serve-global-hooks")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

const RECORDER: &str = r#"import json, os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.jsonl")

def record(payload):
    with open(OUT, "a") as f:
        f.write(json.dumps(payload) + "\n")
"#;

fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn serve_runs_the_files_global_hooks_and_pipes() {
    let dir = folder(
        "serve",
        &[
            ("hooks.py", RECORDER),
            (
                "main.ww",
                r#"# Every event of every component, runtime events included.
hooks = ["hooks.py::record"]
pipes = [{ event: "input.received", command: ["sh", "-c", "tr a-z A-Z"] }]

model = llm mock {}
in = input command_line { to: "model" }
"#,
            ),
        ],
    );
    let server = Server::start(&dir.join("main.ww"), &[]);
    let res = server
        .post_json("/in/input", &json!({"input": "hello"}))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    // The global pipe ran before delivery: the model saw the upper-cased input.
    assert_eq!(body["output"], "echo: HELLO", "{body}");
    let sid = body["session_id"].as_str().unwrap().to_string();

    let until = tokio::time::Instant::now() + BOUND;
    let wanted = [
        "session.created",
        "input.received",
        "component.state_changed",
    ];
    loop {
        let seen = events(&dir);
        if wanted
            .iter()
            .all(|w| seen.iter().any(|e| e["event"] == *w || has_event(e, w)))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "global hook never saw {wanted:?}: {seen:?}\nlogs:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = events(&dir);
    // A Python hook gets woodwork's payload dicts: the input under `input`, with the session.
    assert!(
        seen.iter()
            .any(|e| e["input"] == "HELLO" && e["session_id"] == sid.as_str()),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|e| e["session_id"] == sid.as_str() && e["component_type"] == "runtime"),
        "session.created reaches the global hook: {seen:?}"
    );
}

/// Runtime events carry their own fields (`state`, `from`); input carries `input`.
fn has_event(e: &Value, wanted: &str) -> bool {
    match wanted {
        "component.state_changed" => e.get("state").is_some() && e.get("from").is_some(),
        "input.received" => e.get("input").is_some(),
        "session.created" => e["component_type"] == "runtime",
        _ => false,
    }
}

#[tokio::test]
async fn a_named_broker_is_checked_and_joined_by_serve() {
    let dir = folder(
        "broker",
        &[(
            "main.ww",
            r#"deployment = local {
    message_bus = redis { redis_url = $REDIS_URL, stream_prefix = "demo" }
}
model = llm mock {}
in = input command_line { to: model }
"#,
        )],
    );
    let ww = dir.join("main.ww");
    let mut check = binary();
    check
        .args(["check"])
        .arg(&ww)
        .env("REDIS_URL", "redis://:pw-7c1e@127.0.0.1:6379/0");
    let out = run_bounded(check);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // `serve` joins that broker: nothing is left unused, so nothing to warn about.
    assert!(!text.contains("not-acted-on"), "{text}");
    assert!(text.contains("message bus redis (serve joins it"), "{text}");
    assert!(
        !text.contains("pw-7c1e"),
        "the URL's password leaked: {text}"
    );

    // A scheme that is no broker is an error naming what is accepted.
    std::fs::write(
        &ww,
        "deployment = local { message_bus = \"kafka://k:9092\" }\nmodel = llm mock {}\n",
    )
    .unwrap();
    let mut check = binary();
    check.args(["check", "--no-env"]).arg(&ww);
    let out = run_bounded(check);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("kafka://"), "{text}");
    assert!(text.contains("rediss://"), "{text}");

    std::fs::write(
        &ww,
        "deployment = local { message_bus = \"nats://127.0.0.1:4222\" }\nmodel = llm mock {}\nin = input command_line { to: model }\n",
    )
    .unwrap();
    // `serve` joins the broker the file names (a fresh namespace keeps runs apart); this node
    // hosts every component, and `/health` shows the cluster.
    // Removed from NATS when the test ends (declared before the server, so it stops first).
    let ns =
        crate::common::cluster::Namespace::shared(crate::common::cluster::Bus::Nats, "file-bus")
            .await;
    let server = Server::start(&ww, &["--namespace", &ns.name, "--node", "solo"]);
    server.wait_for_log(&["joined the cluster"]).await;
    let res = server.post_json("/in/input", &json!({"input": "hi"})).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["output"], "echo: hi", "{body}");
    let health: Value = server.get("/health").await.json().await.unwrap();
    assert_eq!(health["cluster"]["bus"], "nats", "{health}");
    assert_eq!(health["cluster"]["namespace"], ns.name.as_str(), "{health}");
    assert_eq!(health["cluster"]["nodes"][0]["node"], "solo", "{health}");
    // `--bus memory` keeps such a file in one process.
    let memory = Server::start(&ww, &["--bus", "memory"]);
    let health: Value = memory.get("/health").await.json().await.unwrap();
    assert!(health.get("cluster").is_none(), "{health}");
}
