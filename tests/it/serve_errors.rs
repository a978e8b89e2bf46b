//! The bad-input matrix (each answered with the right 4xx in the JSON error shape, the server
//! still serving afterwards) and the runtime's failure statuses: 409, 502, 503, 504.

use crate::common::{assert_alive, client, error_of, quickstart, retry_after, write_ww, Server};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde_json::json;

async fn post(
    server: &Server,
    path: &str,
    ct: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client()
        .post(server.url(path))
        .header(CONTENT_TYPE, ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_input_matrix_gets_4xx_and_the_server_keeps_serving() {
    let server = Server::start(&quickstart(), &[]);
    let json_ct = "application/json";

    // (what, response, expected status, expected code)
    let cases: Vec<(&str, reqwest::Response, u16, &str)> = vec![
        (
            "invalid JSON",
            post(&server, "/in/input", json_ct, "{\"input\": ").await,
            400,
            "malformed_body",
        ),
        (
            "wrong type for session_id",
            post(
                &server,
                "/in/input",
                json_ct,
                r#"{"input":"x","session_id":42}"#,
            )
            .await,
            400,
            "malformed_body",
        ),
        (
            "wrong type for inputs",
            post(
                &server,
                "/in/input",
                json_ct,
                r#"{"input":"x","inputs":"nope"}"#,
            )
            .await,
            400,
            "malformed_body",
        ),
        (
            "top-level array",
            post(&server, "/in/input", json_ct, "[1, 2]").await,
            400,
            "malformed_body",
        ),
        (
            "unknown field",
            post(&server, "/in/input", json_ct, r#"{"inptu":"x"}"#).await,
            400,
            "malformed_body",
        ),
        (
            "no input",
            post(&server, "/in/input", json_ct, "{}").await,
            400,
            "missing_input",
        ),
        (
            "empty body",
            post(&server, "/in/input", json_ct, "").await,
            400,
            "empty_body",
        ),
        (
            "whitespace body",
            post(&server, "/in/input", "text/plain", " \n ").await,
            400,
            "empty_body",
        ),
        (
            "invalid UTF-8 text",
            post(&server, "/in/input", "text/plain", b"caf\xe9".to_vec()).await,
            400,
            "invalid_utf8",
        ),
        (
            "invalid UTF-8 in JSON",
            post(
                &server,
                "/in/input",
                json_ct,
                b"{\"input\":\"caf\xe9\"}".to_vec(),
            )
            .await,
            400,
            "malformed_body",
        ),
        (
            "huge body",
            post(&server, "/in/input", json_ct, vec![b' '; 2 << 20]).await,
            413,
            "payload_too_large",
        ),
        (
            "unknown component",
            post(&server, "/nope/input", json_ct, r#"{"input":"x"}"#).await,
            404,
            "unknown_component",
        ),
        (
            "bad session id in body",
            post(
                &server,
                "/in/input",
                json_ct,
                json!({"input": "x", "session_id": "a b"}).to_string(),
            )
            .await,
            400,
            "bad_session_id",
        ),
        (
            "session id too long",
            post(
                &server,
                "/in/input",
                json_ct,
                json!({"input": "x", "session_id": "a".repeat(300)}).to_string(),
            )
            .await,
            400,
            "bad_session_id",
        ),
        (
            "bad stream query",
            post(
                &server,
                "/in/input?stream=maybe",
                json_ct,
                r#"{"input":"x"}"#,
            )
            .await,
            400,
            "bad_query",
        ),
        (
            "bad session id header",
            client()
                .post(server.url("/in/input"))
                .header("x-session-id", "white space")
                .body("hi")
                .send()
                .await
                .unwrap(),
            400,
            "bad_session_id",
        ),
        (
            "non-ASCII session id header",
            client()
                .post(server.url("/in/input"))
                .header("x-session-id", HeaderValue::from_bytes(b"caf\xe9").unwrap())
                .body("hi")
                .send()
                .await
                .unwrap(),
            400,
            "bad_session_id",
        ),
        (
            "conflicting session ids",
            client()
                .post(server.url("/in/input"))
                .header("x-session-id", "a")
                .header(CONTENT_TYPE, json_ct)
                .body(r#"{"input":"x","session_id":"b"}"#)
                .send()
                .await
                .unwrap(),
            400,
            "conflicting_session_id",
        ),
        (
            "wrong method on input",
            server.get("/in/input").await,
            405,
            "method_not_allowed",
        ),
        (
            "wrong method on components",
            server.delete("/components").await,
            405,
            "method_not_allowed",
        ),
        (
            "wrong method on sessions",
            client()
                .put(server.url("/sessions/abc"))
                .send()
                .await
                .unwrap(),
            405,
            "method_not_allowed",
        ),
        (
            "unknown route",
            server.get("/no/such/route").await,
            404,
            "not_found",
        ),
        (
            "unknown component status",
            server.get("/components/nope").await,
            404,
            "unknown_component",
        ),
        (
            "unknown session",
            server.get("/sessions/never-made").await,
            404,
            "unknown_session",
        ),
        (
            "bad session id in path",
            server.get("/sessions/a%20b").await,
            400,
            "bad_session_id",
        ),
    ];
    for (what, res, status, code) in cases {
        assert_eq!(res.status().as_u16(), status, "{what}");
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        if status == 405 {
            assert!(allow.is_some(), "{what}: 405 without Allow");
        }
        let (got, message) = error_of(res).await;
        assert_eq!(got, code, "{what}: {message}");
        assert_alive(&server).await;
    }

    // The messages say what and where.
    let (_, m) =
        error_of(post(&server, "/in/input", json_ct, "{\n  \"input\": nope\n}").await).await;
    assert!(m.contains("line 2 column"), "{m}");
    let (_, m) = error_of(post(&server, "/nope/input", json_ct, r#"{"input":"x"}"#).await).await;
    for known in ["in", "assistant", "model", "out"] {
        assert!(m.contains(known), "404 should list {known}: {m}");
    }
    let res = client()
        .put(server.url("/sessions/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD, DELETE");

    // A body with no Content-Length (chunked) is cut off at the limit too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b'a'; 64 * 1024])).collect();
    let res = client()
        .post(server.url("/in/input"))
        .header(CONTENT_TYPE, "text/plain")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    // And real work still goes through.
    let res = post(&server, "/in/input", json_ct, r#"{"input":"still here"}"#).await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["output"], "echo: still here");
}

#[tokio::test]
async fn max_body_is_configurable() {
    let server = Server::start(&quickstart(), &["--max-body", "1KiB"]);
    let body = json!({"input": "x".repeat(2000)}).to_string();
    let res = post(&server, "/in/input", "application/json", body).await;
    assert_eq!(res.status(), 413);
    let (_, m) = error_of(res).await;
    assert!(m.contains("1024"), "{m}");
    let res = post(
        &server,
        "/in/input",
        "application/json",
        r#"{"input":"small"}"#,
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn busy_session_under_reject_is_409() {
    let ww = write_ww(
        "reject",
        r#"
model = llm mock { replies: [{ text: "slow answer", delay_ms: 5000 }] }
bot = agent llm { model: model, session_policy: "reject" }
in = input command_line { to: bot, session_policy: "reject" }
"#,
    );
    let server = Server::start(&ww, &[]);
    let first = server
        .start_turn(
            "/in/input",
            "first-turn",
            json!({"input": "one", "session_id": "busy-1"}),
        )
        .await;
    // The first turn is running: wait until the session exists, then a second input is refused.
    let second = server
        .post_json_until(
            "/in/input",
            &json!({"input": "two", "session_id": "busy-1"}),
            409,
        )
        .await;
    let second = second.expect("a second input on a busy session under reject is 409");
    let (code, _) = error_of(second).await;
    assert_eq!(code, "session_busy");
    let first = first.await.unwrap();
    assert_eq!(first.status(), 200);
    assert_alive(&server).await;
}

#[tokio::test]
async fn past_the_deadline_is_504() {
    let ww = write_ww(
        "deadline",
        r#"
model = llm mock { replies: [{ text: "too late", delay_ms: 20000 }] }
bot = agent llm { model: model }
"#,
    );
    let server = Server::start(&ww, &[]);
    let res = server
        .post_json("/bot/input", &json!({"input": "hi", "deadline_ms": 200}))
        .await;
    assert_eq!(res.status(), 504);
    let (code, _) = error_of(res).await;
    assert_eq!(code, "deadline_exceeded");
    assert_alive(&server).await;
}

#[tokio::test]
async fn failing_model_is_5xx_then_open_breaker_is_503_with_retry_after() {
    let ww = write_ww(
        "breaker",
        r#"
model = llm mock {
    replies: [{ error: "auth" }]
    circuit_breaker: { failure_threshold: 2, reset_timeout_s: 60 }
}
bot = agent llm {
    model: model
    circuit_breaker: { failure_threshold: 2, reset_timeout_s: 60 }
}
"#,
    );
    let server = Server::start(&ww, &[]);
    let mut saw_503 = false;
    for _ in 0..10 {
        let res = server
            .post_json("/bot/input", &json!({"input": "hi"}))
            .await;
        let status = res.status().as_u16();
        assert!(status >= 500, "a failing model answers 5xx, got {status}");
        if status == 503 {
            assert!(retry_after(&res) >= 1);
            let (code, _) = error_of(res).await;
            assert_eq!(code, "unavailable");
            saw_503 = true;
            break;
        }
        let (_, message) = error_of(res).await;
        assert!(!message.is_empty());
    }
    assert!(saw_503, "the breaker opened after repeated failures");
    assert_alive(&server).await;
    // /health reports the open breaker (degraded, still answering).
    let h: serde_json::Value = server.get("/health").await.json().await.unwrap();
    assert!(h.to_string().contains("open"), "{h}");
}

#[tokio::test]
async fn overload_is_503_with_retry_after() {
    // One session at most, and it is busy with a slow turn: a new session cannot make room.
    let ww = write_ww(
        "overload",
        r#"
model = llm mock { replies: [{ text: "slow answer", delay_ms: 3000 }, "quick"] }
bot = agent llm { model: model }
in = input command_line { to: bot }
"#,
    );
    let server = Server::start(&ww, &["--max-sessions", "1"]);
    let first = server
        .start_turn(
            "/in/input",
            "slow-turn",
            json!({"input": "a", "session_id": "one"}),
        )
        .await;
    let refused = server
        .post_json_until(
            "/in/input",
            &json!({"input": "b", "session_id": "two"}),
            503,
        )
        .await;
    let res = refused.expect("a new session while the only one is busy is 503");
    assert!(retry_after(&res) >= 1);
    assert_eq!(error_of(res).await.0, "overloaded");
    // The busy session finishes its turn.
    assert_eq!(first.await.unwrap().status(), 200);
    assert_alive(&server).await;
}

#[tokio::test]
async fn a_full_table_of_idle_sessions_makes_room_for_new_ones() {
    let server = Server::start(&quickstart(), &["--max-sessions", "1"]);
    for id in ["one", "two"] {
        let body = format!(r#"{{"input":"hi","session_id":"{id}"}}"#);
        let res = post(&server, "/in/input", "application/json", body).await;
        assert_eq!(res.status(), 200);
    }
    // "one" was idle and least recently used: evicted to make room for "two".
    let one = server.get("/sessions/one").await;
    assert_eq!(one.status(), 404);
    let two = server.get("/sessions/two").await;
    assert_eq!(two.status(), 200);
}

#[tokio::test]
async fn a_stalled_upload_is_408_not_a_hang() {
    use std::io::{Read, Write};
    let server = Server::start(&quickstart(), &["--body-timeout", "1"]);
    let addr = server.base.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        // Promise 100 bytes, send 10, then go quiet.
        s.write_all(
            b"POST /in/input HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"input\":",
        )
        .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    assert_alive(&server).await;
}
