//! Sessions over real HTTP against the real binary: a full table under concurrent anonymous
//! traffic (no spurious 503, conversations kept), the total conversation-memory budget
//! (`--session-memory`), `DELETE /sessions/{id}` during a turn, and a non-streaming client that
//! disconnects (the model call is cancelled: the provider's held connection closes).

use crate::common::{client, error_of, parse_sse, write_ww, Server};
use crate::wire::openai_sse::text_stream_open;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// An agent with conversation memory on an echo model.
fn remembering_echo() -> std::path::PathBuf {
    write_ww(
        "sessions-echo",
        r#"mem = memory short_term {}
model = llm mock {}
bot = agent llm { model: model, memory: mem }
in = input command_line { to: bot }
"#,
    )
}

/// Polls `GET /sessions/{id}` until `cond` holds on its JSON (hang guard, not a timing check).
async fn wait_session(server: &Server, id: &str, what: &str, cond: impl Fn(&Value) -> bool) {
    for _ in 0..1000 {
        let res = server.get(&format!("/sessions/{id}")).await;
        if res.status() == 200 && cond(&res.json::<Value>().await.unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("hang guard: session {id} never got {what}");
}

#[tokio::test]
async fn a_full_table_serves_concurrent_anonymous_traffic_without_503_and_keeps_a_conversation() {
    let server = Server::start(
        &remembering_echo(),
        &["--max-sessions", "16", "--workers", "2"],
    );
    let res = server
        .post_json(
            "/in/input",
            &json!({"input": "my name is Alice", "session_id": "alice"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Eight clients send one-shot requests without a session id: the table (16 sessions) is full
    // all the time, at most 8 sessions are busy, and the 2 HTTP workers admit new sessions
    // concurrently. Every request must be served.
    let clients = (0..8).map(|c| {
        let url = server.url("/in/input");
        tokio::spawn(async move {
            let http = client();
            let mut failures = Vec::new();
            for i in 0..150 {
                let res = http
                    .post(&url)
                    .json(&json!({"input": format!("client {c} request {i}")}))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                if status != 200 {
                    failures.push((status, res.text().await.unwrap_or_default()));
                }
            }
            failures
        })
    });
    let mut failures = Vec::new();
    for c in clients {
        failures.extend(c.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    // Alice's conversation (the least recently active session all along) is still there.
    let res = server.get("/sessions/alice").await;
    assert_eq!(res.status(), 200, "alice was evicted by one-shot sessions");
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["turns"], 1);
    crate::common::assert_alive(&server).await;
}

#[tokio::test]
async fn conversation_memory_in_total_stays_within_session_memory() {
    // Each turn keeps ~600 bytes (the input and the echo); 4 KiB holds a handful of sessions.
    let server = Server::start(&remembering_echo(), &["--session-memory", "4KiB"]);
    let text = "x".repeat(300);
    for i in 0..20 {
        let res = server
            .post_json(
                "/in/input",
                &json!({"input": text, "session_id": format!("m-{i}")}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    // The least recently active conversations were forgotten; the latest ones are kept.
    let mut kept = Vec::new();
    for i in 0..20 {
        if server.get(&format!("/sessions/m-{i}")).await.status() == 200 {
            kept.push(i);
        }
    }
    assert!(
        !kept.is_empty() && kept.len() <= 6,
        "sessions kept under a 4 KiB budget: {kept:?}"
    );
    assert_eq!(*kept.last().unwrap(), 19, "{kept:?}");
    assert!(
        kept.windows(2).all(|w| w[1] == w[0] + 1),
        "the most recent ones are kept: {kept:?}"
    );
    // The gauge is refreshed every second: wait for it to show the kept memory.
    let mut bytes = 0.0;
    for _ in 0..500 {
        let metrics = server.get("/metrics").await.text().await.unwrap();
        bytes = metrics
            .lines()
            .find_map(|l| l.strip_prefix("woodwork_session_memory_bytes "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        if bytes > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(bytes > 0.0 && bytes <= 4096.0, "{bytes}");
    // A bad budget is refused at startup with a message naming the option.
    let out = crate::common::run_bounded({
        let mut cmd = crate::common::binary();
        cmd.arg("serve")
            .arg(remembering_echo())
            .args(["--port", "0", "--session-memory", "lots"]);
        cmd
    });
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--session-memory"), "{err}");
}

#[tokio::test]
async fn deleting_a_session_mid_turn_cancels_the_turn_and_its_answer_never_reaches_the_new_session()
{
    let ww = write_ww(
        "delete-mid-turn",
        r#"mem = memory short_term {}
model = llm mock { replies: [
    { text: "Final Answer: old answer", delay_ms: 2000 },
    "Final Answer: new answer",
    { tool: "mem", action: "read", inputs: {} },
    "Final Answer: done"
] }
bot = agent llm { model: model, tools: [mem], memory: mem }
in = input command_line { to: bot }
"#,
    );
    let server = Server::start(&ww, &[]);
    let old = server
        .start_turn(
            "/in/input",
            "old-turn",
            json!({"input": "old question", "session_id": "d-1"}),
        )
        .await;
    wait_session(&server, "d-1", "busy", |s| s["busy"] == true).await;
    assert_eq!(server.delete("/sessions/d-1").await.status(), 204);
    let res = server
        .post_json(
            "/in/input",
            &json!({"input": "new question", "session_id": "d-1"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let new: Value = res.json().await.unwrap();
    assert_eq!(new["output"], "new answer");
    let old = old.await.unwrap();
    let old_status = old.status().as_u16();
    let old_error = if old_status == 200 {
        None
    } else {
        Some(error_of(old).await)
    };
    // The new session's memory holds its own turn only.
    let res = client()
        .post(server.url("/in/input?stream=true"))
        .json(&json!({"input": "what did I say?", "session_id": "d-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let events = parse_sse(&res.text().await.unwrap());
    let memory: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "tool.observation")
        .filter_map(|(_, d)| d["payload"]["observation"].as_str())
        .collect();
    assert_eq!(memory.len(), 1, "{events:?}");
    assert!(memory[0].contains("[USER] new question"), "{memory:?}");
    assert!(
        !memory[0].contains("old"),
        "the deleted session's turn wrote into the new session: {memory:?}"
    );
    // The deleted session's turn was cancelled at the DELETE, not answered: a cancellation (409
    // `session_ended`), not a component failure.
    assert_eq!(old_status, 409, "{old_error:?}");
    let (code, message) = old_error.unwrap();
    assert_eq!(code, "session_ended");
    assert!(message.contains("ended"), "{message}");
    let info: Value = server.get("/sessions/d-1").await.json().await.unwrap();
    assert_eq!(info["turns"], 2);
}

#[tokio::test]
async fn a_non_streaming_client_that_disconnects_cancels_the_model_call() {
    // The provider sends the start of an answer, then holds the connection open.
    let provider = crate::wire::Server::start(vec![crate::wire::Reply::sse(
        text_stream_open(&["once ", "upon "]),
        crate::wire::End::Hold,
    )])
    .await;
    let ww = write_ww(
        "disconnect-plain",
        &format!(
            r#"brain = llm openai {{
    api_key: "sk-test-key"
    model: "gpt-test"
    base_url: "{}/v1"
}}
in = input command_line {{ to: brain }}
"#,
            provider.url
        ),
    );
    let server = Server::start(&ww, &[]);
    let addr = server.base.trim_start_matches("http://").to_string();
    let body = r#"{"input": "tell me a story", "session_id": "gone-1"}"#;
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    socket
        .write_all(
            format!(
                "POST /in/input HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    for _ in 0..1000 {
        if !provider.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(provider.requests().len(), 1, "the model call never started");
    drop(socket); // the client goes away before the answer
    provider.wait_held_connection_closed().await;
    server
        .wait_for_log(&["client went away before the answer"])
        .await;
    wait_session(&server, "gone-1", "idle", |s| s["busy"] == false).await;
    crate::common::assert_alive(&server).await;
}
