//! Every endpoint of DESIGN.md §5 over real HTTP against the real binary serving the quickstart.

use crate::common::{client, error_of, quickstart, write_ww, Server};
use serde_json::{json, Value};

async fn get_json(server: &Server, path: &str) -> (u16, Value) {
    let res = server.get(path).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn quickstart_answers_json_and_plain_text() {
    let server = Server::start(&quickstart(), &[]);
    // What the README does: curl -d (form content type) with a JSON body.
    let res = client()
        .post(server.url("/in/input"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"input":"hello"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"], "echo: hello");
    assert_eq!(v["component"], "in");
    assert!(!v["session_id"].as_str().unwrap().is_empty());
    assert!(
        v.get("outputs").is_none(),
        "one terminal output: no `outputs`: {v}"
    );

    let res = client()
        .post(server.url("/in/input"))
        .header("content-type", "text/plain")
        .body("hi there\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"], "echo: hi there");
}

#[tokio::test]
async fn every_component_is_reachable() {
    let server = Server::start(&quickstart(), &[]);
    for name in ["in", "assistant", "model", "out"] {
        let res = server
            .post_json(&format!("/{name}/input"), &json!({"input": "ping"}))
            .await;
        assert_eq!(res.status(), 200, "POST /{name}/input");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["component"], name);
        assert!(v["output"].to_string().contains("ping"), "{name}: {v}");
    }
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_replaced_when_not() {
    let server = Server::start(&quickstart(), &[]);
    let res = client()
        .get(server.url("/livez"))
        .header("x-request-id", "my-req.42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "my-req.42");
    let res = client()
        .get(server.url("/livez"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "bad id with spaces");
    assert_eq!(id.len(), 36);
    // Errors carry it too.
    let res = client()
        .get(server.url("/nowhere"))
        .header("x-request-id", "err-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-request-id"], "err-1");
}

#[tokio::test]
async fn health_liveness_readiness_and_components() {
    let server = Server::start(&quickstart(), &[]);
    let (status, h) = get_json(&server, "/health").await;
    assert_eq!(status, 200);
    assert_eq!(h["status"], "healthy", "{h}");
    for name in ["in", "assistant", "model", "out"] {
        assert!(
            h["components"].get(name).is_some(),
            "{name} in /health: {h}"
        );
    }
    assert!(h.get("uptime_s").is_some());
    assert_eq!(get_json(&server, "/livez").await.0, 200);
    let (status, r) = get_json(&server, "/readyz").await;
    assert_eq!((status, r["status"].as_str()), (200, Some("ready")));

    let (status, list) = get_json(&server, "/components").await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4);
    let (status, c) = get_json(&server, "/components/assistant").await;
    assert_eq!(status, 200);
    assert_eq!(c["name"], "assistant");
    assert_eq!(c["kind"], "agent");
    assert_eq!(c["type"], "llm");
    for key in [
        "state",
        "routes_to",
        "breaker",
        "restarts",
        "mailbox_depth",
        "processed",
        "failed",
    ] {
        assert!(
            c.get(key).is_some(),
            "/components/assistant lacks {key}: {c}"
        );
    }
}

#[tokio::test]
async fn no_secret_reaches_any_endpoint() {
    let ww = write_ww(
        "secret",
        r#"
model = llm mock { reply: "fine" }
bot = agent llm { model: model }
out = output webhook {
    url: "http://127.0.0.1:9/hook"
    headers: { Authorization: "Bearer sk-very-secret-123" }
}
"#,
    );
    let server = Server::start(&ww, &[]);
    let res = server
        .post_json("/bot/input", &json!({"input": "hi", "deadline_ms": 5000}))
        .await;
    assert!(!res.text().await.unwrap().contains("sk-very-secret-123"));
    for path in [
        "/health",
        "/components",
        "/components/out",
        "/metrics",
        "/dlq",
    ] {
        let body = server.get(path).await.text().await.unwrap();
        assert!(
            !body.contains("sk-very-secret-123"),
            "{path} leaks the key: {body}"
        );
    }
    assert!(!server.logs().contains("sk-very-secret-123"));
}

#[tokio::test]
async fn sessions_continue_and_can_be_ended() {
    let server = Server::start(&quickstart(), &[]);
    let first: Value = server
        .post_json("/in/input", &json!({"input": "one"}))
        .await
        .json()
        .await
        .unwrap();
    let sid = first["session_id"].as_str().unwrap().to_string();
    // Same session by body …
    let second: Value = server
        .post_json("/in/input", &json!({"input": "two", "session_id": sid}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["session_id"], sid.as_str());
    // … and by header.
    let third: Value = client()
        .post(server.url("/in/input"))
        .header("x-session-id", &sid)
        .body("three")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(third["session_id"], sid.as_str());

    let (status, info) = get_json(&server, &format!("/sessions/{sid}")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["id"], sid.as_str(), "{info}");
    assert_eq!(info["turns"], 3, "{info}");

    // A client-chosen id starts a session of its own.
    let own: Value = server
        .post_json(
            "/in/input",
            &json!({"input": "x", "session_id": "client-chosen-1"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["session_id"], "client-chosen-1");
    let (_, info) = get_json(&server, "/sessions/client-chosen-1").await;
    assert_eq!(info["turns"], 1, "{info}");

    let res = server.delete(&format!("/sessions/{sid}")).await;
    assert_eq!(res.status(), 204);
    let res = server.get(&format!("/sessions/{sid}")).await;
    assert_eq!(res.status(), 404);
    let res = server.delete(&format!("/sessions/{sid}")).await;
    assert_eq!(res.status(), 404);
    assert_eq!(error_of(res).await.0, "unknown_session");
}

#[tokio::test]
async fn dead_letter_queue_lists_and_replay_of_unknown_is_404() {
    let server = Server::start(&quickstart(), &[]);
    let (status, dlq) = get_json(&server, "/dlq").await;
    assert_eq!(status, 200);
    assert!(dlq.is_array(), "{dlq}");
    let res = server.post_empty("/dlq/no-such-letter/replay").await;
    assert_eq!(res.status(), 404);
    let res = server.get("/dlq/x/replay").await;
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn metrics_are_prometheus_text_by_route_pattern() {
    let server = Server::start(&quickstart(), &[]);
    for _ in 0..3 {
        let res = server.post_json("/in/input", &json!({"input": "m"})).await;
        assert_eq!(res.status(), 200);
    }
    let _ = server.get("/components/does-not-exist").await;
    let res = server.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"woodwork_http_requests_total{method="POST",route="/{component}/input",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/components/{name}",status="404""#),
        "{text}"
    );
    assert!(
        !text.contains("does-not-exist"),
        "raw paths never become labels"
    );
    assert!(
        text.contains("woodwork_http_request_duration_seconds_bucket"),
        "{text}"
    );
    // Recorded by the runtime through the `metrics` facade.
    for needle in [
        r#"woodwork_component_processed_total{component="assistant"}"#,
        r#"woodwork_component_latency_seconds_bucket{component="assistant""#,
        r#"woodwork_mailbox_depth{component="assistant"}"#,
        r#"woodwork_breaker_state{component="model"}"#,
        r#"woodwork_component_restarts_total{component="out"}"#,
        "woodwork_sessions_active",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line_of_a_request() {
    let server = Server::start(&quickstart(), &["--log-format", "json"]);
    let res = client()
        .post(server.url("/in/input"))
        .header("x-request-id", "trace-me-7")
        .json(&json!({"input": "logged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server
        .wait_for_log(&["trace-me-7", "request finished"])
        .await;
    let logs = server.logs();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("trace-me-7")).collect();
    assert!(lines.len() >= 2, "accepted + finished lines: {logs}");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["span"]["request_id"], "trace-me-7", "{line}");
    }
}

#[tokio::test]
async fn fan_out_lists_every_terminal_output() {
    let ww = write_ww(
        "fan",
        r#"
model = llm mock {}
bot = agent llm { model: model, to: [a, b] }
a = output console {}
b = output console {}
"#,
    );
    let server = Server::start(&ww, &[]);
    let v: Value = server
        .post_json("/bot/input", &json!({"input": "fan"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["component"], "bot");
    assert_eq!(v["output"], "echo: fan");
    let outputs = v["outputs"].as_array().unwrap_or_else(|| panic!("{v}"));
    let mut names: Vec<&str> = outputs
        .iter()
        .map(|o| o["component"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    assert!(outputs.iter().all(|o| o["output"] == "echo: fan"), "{v}");
}

#[tokio::test]
async fn dead_letters_are_listed_and_replayed_once() {
    // Four failing attempts exhaust the retries (dead letter); the replay's second attempt succeeds.
    let ww = write_ww(
        "dlq",
        r#"
model = llm mock {
    replies: [{ error: "server_error" }, { error: "server_error" }, { error: "server_error" },
              { error: "server_error" }, { error: "server_error" }, "recovered"]
    # The agent's calls count on this breaker: keep it closed through the five scripted failures.
    circuit_breaker: { failure_threshold: 10 }
}
bot = agent llm { model: model }
"#,
    );
    let server = Server::start(&ww, &[]);
    let res = server
        .post_json(
            "/bot/input",
            &json!({"input": "hello", "session_id": "dlq-1"}),
        )
        .await;
    assert_eq!(res.status(), 502);
    assert_eq!(error_of(res).await.0, "component_failed");

    let (status, dlq) = get_json(&server, "/dlq").await;
    assert_eq!(status, 200);
    let letters = dlq.as_array().unwrap();
    assert_eq!(letters.len(), 1, "{dlq}");
    let id = letters[0]["id"].as_str().unwrap().to_string();
    assert_eq!(letters[0]["envelope"]["target"], "bot");

    let res = server.post_empty(&format!("/dlq/{id}/replay")).await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"], "recovered");
    assert_eq!(v["session_id"], "dlq-1");

    // It left the queue.
    assert_eq!(get_json(&server, "/dlq").await.1, json!([]));
    let res = server.post_empty(&format!("/dlq/{id}/replay")).await;
    assert_eq!(res.status(), 404);
    assert_eq!(error_of(res).await.0, "unknown_dead_letter");
}

#[tokio::test]
async fn a_failed_component_makes_health_503_and_the_server_keeps_serving() {
    let ww = write_ww(
        "panics",
        r#"
model = llm mock {
    replies: [{ panic: "p1" }, { panic: "p2" }, { panic: "p3" }, { panic: "p4" },
              { panic: "p5" }, { panic: "p6" }, { panic: "p7" }, { panic: "p8" }]
}
bot = agent llm { model: model }
"#,
    );
    let server = Server::start(&ww, &[]);
    let mut unhealthy = false;
    for _ in 0..10 {
        let res = server
            .post_json("/bot/input", &json!({"input": "boom"}))
            .await;
        assert!(res.status().is_server_error(), "{}", res.status());
        let (status, h) = get_json(&server, "/health").await;
        if status == 503 {
            assert_eq!(h["status"], "unhealthy", "{h}");
            assert_eq!(h["components"]["bot"]["state"], "failed", "{h}");
            unhealthy = true;
            break;
        }
    }
    assert!(unhealthy, "restart intensity exceeded turns /health 503");
    let (status, c) = get_json(&server, "/components/bot").await;
    assert_eq!(status, 200);
    assert!(c["restarts"].as_u64().unwrap() >= 1, "{c}");
    assert_eq!(get_json(&server, "/livez").await.0, 200);
}
