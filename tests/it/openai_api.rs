//! The OpenAI-compatible API against the real binary over real HTTP: `/v1/models`, plain and
//! streamed chat completions on `llm mock` pipelines, sessions through `user`, every refusal in
//! OpenAI's error shape (the server keeps serving after each), the bearer token as the SDK's
//! api_key, an open breaker, a hang-up mid-stream, and the official `openai` Python SDK.

use crate::common::{assert_alive, client, retry_after, write_ww, Server};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// llm → agent (with memory) → input → output, in that file order.
fn pipeline() -> PathBuf {
    write_ww(
        "openai",
        r#"
model = llm mock {}
mem = memory short_term {}
bot = agent llm { model: model, memory: mem }
in = input command_line { to: bot }
out = output console {}
"#,
    )
}

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": text}
    ]})
}

async fn post(server: &Server, body: &Value) -> reqwest::Response {
    client()
        .post(server.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Asserts OpenAI's error shape and returns (type, param, code, message).
async fn openai_error(res: reqwest::Response) -> (String, Value, String, String) {
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let v: Value = res.json().await.unwrap();
    let e = &v["error"];
    let keys: Vec<&String> = e
        .as_object()
        .unwrap_or_else(|| panic!("{v}"))
        .keys()
        .collect();
    assert_eq!(keys, ["code", "message", "param", "type"], "{v}");
    let message = e["message"].as_str().unwrap().to_string();
    assert!(!message.is_empty());
    (
        e["type"].as_str().unwrap().to_string(),
        e["param"].clone(),
        e["code"].as_str().unwrap().to_string(),
        message,
    )
}

/// The `data:` payloads of an OpenAI stream, checking its framing; the last must be `[DONE]`.
fn data_frames(body: &str) -> Vec<Value> {
    assert!(body.ends_with("data: [DONE]\n\n"), "{body:?}");
    let mut out = Vec::new();
    for block in body.split("\n\n").filter(|b| !b.trim().is_empty()) {
        if block.starts_with(':') {
            continue; // keep-alive comment
        }
        let data = block
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("not a data frame: {block:?}"));
        assert!(!data.contains('\n'), "one line per frame: {block:?}");
        if data == "[DONE]" {
            continue;
        }
        out.push(serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}")));
    }
    out
}

#[tokio::test]
async fn models_lists_the_inputs_agents_and_llms() {
    let server = Server::start(&pipeline(), &[]);
    let res = server.get("/v1/models").await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["model", "bot", "in"], "{v}");
    for m in v["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert_eq!(m["owned_by"], "woodwork");
        assert!(m["created"].as_u64().unwrap() > 1_700_000_000, "{m}");
    }
    let one: Value = server.get("/v1/models/bot").await.json().await.unwrap();
    assert_eq!(one["id"], "bot");
    assert_eq!(one["object"], "model");
    let (kind, param, code, message) = openai_error(server.get("/v1/models/out").await).await;
    assert_eq!(
        (kind.as_str(), code.as_str()),
        ("invalid_request_error", "model_not_found")
    );
    assert_eq!(param, "model");
    assert!(message.contains("model, bot, in"), "{message}");
    let head = client()
        .head(server.url("/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
    let wrong = client()
        .delete(server.url("/v1/models"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET, HEAD");
    assert_eq!(openai_error(wrong).await.2, "method_not_allowed");
}

#[tokio::test]
async fn a_completion_runs_the_pipeline_on_the_last_user_message() {
    let server = Server::start(&pipeline(), &[]);
    let res = post(&server, &chat("in", "hello there")).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-session-id"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"), "{v}");
    assert_eq!(v["model"], "in");
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "echo: hello there");
    assert_eq!(choice["finish_reason"], "stop");
    // Estimates: 11 characters in, 17 out, a token per 4 (rounded up).
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8})
    );
    // An agent and an llm are models too; content parts are read as text.
    let parts = json!({"model": "model", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]});
    let v: Value = post(&server, &parts).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: a\nb");
    let v: Value = post(&server, &chat("bot", "hi"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hi");
}

#[tokio::test]
async fn user_names_the_session_and_earlier_messages_are_not_replayed() {
    let server = Server::start(&pipeline(), &[]);
    for text in ["one", "two"] {
        let mut body = chat("bot", text);
        body["user"] = json!("conv-1");
        // History the client sends along is not added to the session (its memory is the history).
        body["messages"]
            .as_array_mut()
            .unwrap()
            .insert(1, json!({"role": "assistant", "content": "an old answer"}));
        let res = post(&server, &body).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-session-id"], "conv-1");
    }
    let info: Value = server.get("/sessions/conv-1").await.json().await.unwrap();
    assert_eq!(info["turns"], 2, "{info}");
    // The header picks the session too; naming two different ones is refused.
    let res = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-session-id", "conv-2")
        .json(&chat("bot", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-session-id"], "conv-2");
    let mut body = chat("bot", "x");
    body["user"] = json!("conv-1");
    let res = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-session-id", "conv-2")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(openai_error(res).await.2, "conflicting_session_id");
    // Without either, each request is a session of its own.
    let a = post(&server, &chat("bot", "x")).await;
    let b = post(&server, &chat("bot", "x")).await;
    assert_ne!(a.headers()["x-session-id"], b.headers()["x-session-id"]);
}

#[tokio::test]
async fn streaming_gives_role_then_content_chunks_then_stop_usage_and_done() {
    let server = Server::start(&pipeline(), &[]);
    let mut body = chat("in", "one two three four");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let res = post(&server, &body).await;
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let text = res.text().await.unwrap();
    let frames = data_frames(&text);
    assert!(frames.len() >= 5, "{text}");
    let id = frames[0]["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-"));
    for f in &frames {
        assert_eq!(f["object"], "chat.completion.chunk", "{f}");
        assert_eq!(f["id"], id);
        assert_eq!(f["model"], "in");
    }
    assert_eq!(frames[0]["choices"][0]["delta"]["role"], "assistant");
    let usage = frames.last().unwrap();
    assert_eq!(usage["choices"], json!([]), "{usage}");
    assert_eq!(usage["usage"]["completion_tokens"], 6, "{usage}");
    let stop = &frames[frames.len() - 2];
    assert_eq!(stop["choices"][0]["finish_reason"], "stop", "{stop}");
    let middle = &frames[1..frames.len() - 2];
    assert!(middle.len() >= 4, "the mock streams word by word: {text}");
    let content: String = middle
        .iter()
        .map(|f| {
            assert!(f["choices"][0]["finish_reason"].is_null(), "{f}");
            assert!(f["usage"].is_null() && f.get("usage").is_some(), "{f}");
            f["choices"][0]["delta"]["content"].as_str().unwrap()
        })
        .collect();
    assert_eq!(content, "echo: one two three four");
    // Without include_usage, no usage field and no usage chunk.
    let mut body = chat("bot", "x");
    body["stream"] = json!(true);
    let text = post(&server, &body).await.text().await.unwrap();
    let frames = data_frames(&text);
    assert!(frames.iter().all(|f| f.get("usage").is_none()), "{text}");
    assert_eq!(
        frames.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn bad_requests_are_openai_errors_and_the_server_keeps_serving() {
    let server = Server::start(&pipeline(), &["--max-body", "4KiB"]);
    let user =
        |content: Value| json!({"model": "in", "messages": [{"role": "user", "content": content}]});
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str, Value)> = vec![
        (
            "malformed JSON",
            client()
                .post(server.url("/v1/chat/completions"))
                .header("content-type", "application/json")
                .body("{\"model\": \"in\", \"messages\": ["),
            400,
            "malformed_body",
            json!("body"),
        ),
        (
            "missing messages",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&json!({"model": "in"})),
            400,
            "missing_messages",
            json!("messages"),
        ),
        (
            "messages not an array",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&json!({"model": "in", "messages": "hi"})),
            400,
            "invalid_type",
            json!("messages"),
        ),
        (
            "model not a string",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&json!({"model": 3, "messages": []})),
            400,
            "invalid_type",
            json!("model"),
        ),
        (
            "stream as a string",
            client().post(server.url("/v1/chat/completions")).json(&{
                let mut b = user(json!("hi"));
                b["stream"] = json!("true");
                b
            }),
            400,
            "invalid_type",
            json!("stream"),
        ),
        (
            "empty content",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&user(json!(""))),
            400,
            "empty_content",
            json!("messages[0].content"),
        ),
        (
            "no user message",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&json!({"model": "in", "messages": [{"role": "system", "content": "x"}]})),
            400,
            "missing_user_message",
            json!("messages"),
        ),
        (
            "an image part",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&user(
                    json!([{"type": "image_url", "image_url": {"url": "x"}}]),
                )),
            400,
            "unsupported_content_part",
            json!("messages[0].content[0]"),
        ),
        (
            "unknown model",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&chat("gpt-4o", "hi")),
            404,
            "model_not_found",
            json!("model"),
        ),
        (
            "huge body",
            client()
                .post(server.url("/v1/chat/completions"))
                .json(&user(json!("x".repeat(10_000)))),
            413,
            "payload_too_large",
            Value::Null,
        ),
        (
            "empty body",
            client().post(server.url("/v1/chat/completions")),
            400,
            "empty_body",
            json!("body"),
        ),
        (
            "GET on the chat route",
            client().get(server.url("/v1/chat/completions")),
            405,
            "method_not_allowed",
            Value::Null,
        ),
    ];
    for (what, req, status, want_code, want_param) in cases {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{what}");
        let (kind, param, code, message) = openai_error(res).await;
        assert_eq!(code, want_code, "{what}: {message}");
        assert_eq!(param, want_param, "{what}: {message}");
        assert_eq!(kind, "invalid_request_error", "{what}");
        if want_code == "model_not_found" {
            assert!(
                message.contains("gpt-4o") && message.contains("model, bot, in"),
                "{message}"
            );
        }
        if want_code == "malformed_body" {
            assert!(message.contains("line 1 column"), "{message}");
        }
        assert_alive(&server).await;
    }
    let ok = post(&server, &chat("in", "still here")).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn the_bearer_token_is_the_sdks_api_key_and_its_401_is_openai_shaped() {
    let server = Server::start(&pipeline(), &["--auth-token", "s3cret-token"]);
    let res = post(&server, &chat("in", "hi")).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let (kind, _, code, message) = openai_error(res).await;
    assert_eq!(
        (kind.as_str(), code.as_str()),
        ("invalid_request_error", "invalid_api_key")
    );
    assert!(!message.contains("s3cret-token"));
    let res = client()
        .get(server.url("/v1/models"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(openai_error(res).await.2, "invalid_api_key");
    let res = client()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth("s3cret-token")
        .json(&chat("in", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Other routes keep the server's own error shape.
    let v: Value = server.get("/components").await.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthorized");
    // Without a configured token, any key an SDK sends is accepted.
    let open = Server::start(&pipeline(), &[]);
    let res = client()
        .post(open.url("/v1/chat/completions"))
        .bearer_auth("sk-dummy")
        .json(&chat("in", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_open_breaker_is_a_503_with_retry_after_streamed_or_not() {
    let ww = write_ww(
        "openai-breaker",
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
    let mut open = None;
    for _ in 0..10 {
        let res = post(&server, &chat("bot", "hi")).await;
        let status = res.status().as_u16();
        assert!(status >= 500, "a failing model answers 5xx, got {status}");
        if status == 503 {
            open = Some(res);
            break;
        }
        let (kind, _, code, _) = openai_error(res).await;
        assert_eq!(
            (kind.as_str(), code.as_str()),
            ("server_error", "component_failed")
        );
    }
    let res = open.expect("the breaker opened after repeated failures");
    assert!(retry_after(&res) >= 1);
    let (kind, _, code, message) = openai_error(res).await;
    assert_eq!(
        (kind.as_str(), code.as_str()),
        ("server_error", "unavailable"),
        "{message}"
    );
    let mut body = chat("bot", "hi");
    body["stream"] = json!(true);
    let res = post(&server, &body).await;
    assert_eq!(res.status(), 503, "refused before the stream starts");
    assert!(retry_after(&res) >= 1);
    assert_eq!(openai_error(res).await.2, "unavailable");
    assert_alive(&server).await;
}

#[tokio::test]
async fn a_failure_mid_stream_is_an_error_frame_then_done() {
    let ww = write_ww(
        "openai-fail",
        r#"
model = llm mock { replies: [{ error: "auth" }] }
bot = agent llm { model: model }
"#,
    );
    let server = Server::start(&ww, &[]);
    let mut body = chat("bot", "hi");
    body["stream"] = json!(true);
    let res = post(&server, &body).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let frames = data_frames(&text);
    let last = frames.last().unwrap();
    assert_eq!(last["error"]["code"], "component_failed", "{text}");
    assert_eq!(last["error"]["type"], "server_error", "{text}");
    assert_alive(&server).await;
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_stream_cancels_its_turn() {
    let ww = write_ww(
        "openai-drop",
        r#"
model = llm mock { replies: [{ text: "a very slow answer", delay_ms: 60000 }, "fast"] }
bot = agent llm { model: model, session_policy: "reject" }
"#,
    );
    let server = Server::start(&ww, &[]);
    let mut body = chat("bot", "hi");
    body["stream"] = json!(true);
    body["user"] = json!("drop-1");
    let res = post(&server, &body).await;
    assert_eq!(res.status(), 200);
    let mut stream = res.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: {"), "{first:?}");
    drop(stream); // hang up mid-turn
    let mut freed = false;
    for _ in 0..400 {
        let info: Value = server.get("/sessions/drop-1").await.json().await.unwrap();
        if info["busy"] == false {
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(freed, "the session was not freed by the hang-up");
    server
        .wait_for_log(&["client went away mid-stream; cancelling the turn"])
        .await;
    let res = post(&server, &body).await;
    assert_eq!(res.status(), 200, "the session takes a new turn at once");
    assert_alive(&server).await;
}

/// The project venv's Python (made by scripts/venv.sh), or a failure saying how to make it.
fn venv_python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/venv.sh (it installs the openai SDK)",
        py.display()
    );
    py
}

#[tokio::test]
async fn the_official_openai_python_sdk_talks_to_the_server() {
    let server = Server::start(&pipeline(), &["--auth-token", "sdk-token"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/openai_sdk.py");
    let mut cmd = Command::new(venv_python());
    cmd.arg(script)
        .env("WW_BASE_URL", format!("{}/v1", server.base))
        .env("WW_API_KEY", "sdk-token")
        .env("WW_SESSIONS_URL", server.url("/sessions"));
    let out = tokio::task::spawn_blocking(move || crate::common::run_bounded(cmd))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "openai_sdk.py failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver logs:\n{}",
        server.logs()
    );
    assert!(stdout.contains("ok: all checks passed"), "{stdout}");
}
