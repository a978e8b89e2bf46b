//! `input api { port, cors? }` under the real `serve` binary: woodwork's REST endpoints on the
//! component's own port (reqwest), the WebSocket `/input` through the real Python `websockets`
//! client (tests/py/ws_*.py in the project venv), CORS, the bearer token, several ports, a port
//! already taken, and the ports stopping with the server.

use crate::common::{binary, client, run_bounded, write_ww, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Hang guard for one Python client run (never a timing assertion).
const CLIENT_BOUND: Duration = Duration::from_secs(180);

/// The project venv's Python (it has `websockets`), or a failure saying how to make it.
fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/venv.sh (scripts/test.sh does) to install the websockets client the tests use",
        p.display()
    );
    p
}

fn py_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// `http://ADDR` of the input api `name`, from its `input api `NAME` listening on` line.
fn api_base(server: &Server, name: &str) -> String {
    let prefix = format!("input api `{name}` listening on ");
    server
        .logs()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|a| a.trim().to_string()))
        .unwrap_or_else(|| panic!("no `{prefix}` line; logs:\n{}", server.logs()))
}

fn ws_url(base: &str) -> String {
    format!("{}/input", base.replacen("http://", "ws://", 1))
}

/// Runs a Python client script and parses the JSON document it prints.
async fn python(script: &str, args: &[String]) -> Value {
    let mut cmd = tokio::process::Command::new(venv_python());
    cmd.arg(py_script(script)).args(args).kill_on_drop(true);
    let out = tokio::time::timeout(CLIENT_BOUND, cmd.output())
        .await
        .expect("hang guard: the Python client did not finish")
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{script} printed {stdout}: {e}"))
}

/// Plays `plan` (see tests/py/ws_script.py) on the socket of `base`.
async fn ws_plan(base: &str, plan: Value) -> Value {
    python("ws_script.py", &[ws_url(base), plan.to_string()]).await
}

fn frames(out: &Value) -> Vec<Value> {
    out["frames"]
        .as_array()
        .unwrap_or_else(|| panic!("no frames: {out}"))
        .clone()
}

fn events(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| f["event"].as_str().unwrap_or("?"))
        .collect()
}

fn user_input(text: &str) -> Value {
    json!({"send": json!({"type": "user_input", "input": text}).to_string()})
}

fn until_end() -> Value {
    json!({"until": ["agent.response", "agent.error"]})
}

/// Reads frames until the turn's answer (an agent.error does not end the step).
fn until_answer() -> Value {
    json!({"until": ["agent.response"]})
}

#[tokio::test]
async fn rest_endpoints_speak_woodworks_protocol_and_bad_requests_get_json_errors() {
    let ww = write_ww(
        "input-api-rest",
        "model = llm mock {}\ndoor = input api { port: 0, to: model }\n",
    );
    let server = Server::start(&ww, &["--max-body", "1KiB"]);
    let base = api_base(&server, "door");
    let c = client();

    let root: Value = c.get(&base).send().await.unwrap().json().await.unwrap();
    assert_eq!(root["component"], "door");
    assert_eq!(root["endpoints"]["websocket"], "/input");
    let head = c.head(&base).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
    let health = c.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(
        (health["status"].as_str(), health["component"].as_str()),
        (Some("healthy"), Some("door"))
    );
    assert_eq!(
        c.head(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let post = |body: Value| c.post(format!("{base}/input")).json(&body).send();
    let res = post(json!({"input": "hello"})).await.unwrap();
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["message"], "Input processed");
    assert_eq!(answer["output"], "echo: hello");
    let sid = answer["session_id"].as_str().unwrap().to_string();
    let again: Value = post(json!({"input": "more", "session_id": sid}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["session_id"], sid.as_str());
    // The same session is the main server's too: one runtime behind both ports.
    assert_eq!(server.get(&format!("/sessions/{sid}")).await.status(), 200);

    for body in [
        json!({}),
        json!({"input": ""}),
        json!({"input": "   "}),
        json!({"input": null}),
    ] {
        let res = post(body.clone()).await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"], "Input is required", "{body}");
    }
    let bad: [(reqwest::RequestBuilder, u16, &str); 6] = [
        (
            c.post(format!("{base}/input")).body("{not json"),
            400,
            "malformed JSON",
        ),
        (
            c.post(format!("{base}/input")).json(&json!({"input": 42})),
            400,
            "must be a string",
        ),
        (
            c.post(format!("{base}/input"))
                .json(&json!({"input": "x", "session_id": "a b"})),
            400,
            "session_id",
        ),
        (
            c.post(format!("{base}/input"))
                .json(&json!({"input": "x".repeat(4096)})),
            413,
            "--max-body",
        ),
        (c.delete(format!("{base}/input")), 405, "use GET, POST"),
        (c.get(format!("{base}/nowhere")), 404, "POST /input"),
    ];
    for (req, status, needle) in bad {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{needle}");
        let e: Value = res.json().await.unwrap();
        let msg = e["error"].as_str().unwrap_or_else(|| panic!("{e}"));
        assert!(msg.contains(needle), "{msg}");
    }
    let not_ws = c.get(format!("{base}/input")).send().await.unwrap();
    assert_eq!(not_ws.status(), 400);
    let e: Value = not_ws.json().await.unwrap();
    assert_eq!(e["code"], "not_websocket");
    // Still serving after every refusal.
    assert_eq!(post(json!({"input": "last"})).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_websocket_gets_every_event_of_its_turns_and_bad_frames_get_error_frames() {
    // Turn 1: a tool call (action, call, observation, step) then a thought and the answer;
    // turn 2: a model failure (agent.error); later turns: one fixed answer.
    let ww = write_ww(
        "input-api-frames",
        r#"model = llm mock { replies: [
    { tool: "mem", action: "read", inputs: {} },
    "Thought: memory read\nFinal Answer: first",
    { error: "auth" },
    "Final Answer: later"
] }
mem = memory short_term {}
bot = agent llm { model: model, tools: [mem] }
door = input api { port: 0, to: bot }
"#,
    );
    let server = Server::start(&ww, &[]);
    let base = api_base(&server, "door");
    let out = ws_plan(
        &base,
        json!({"steps": [
            {"recv": 1},
            user_input("what is in memory?"),
            until_end(),
            {"send": json!({"type": "input", "data": "second"}).to_string()},
            until_end(),
            // Turn 2 may end with two agent.error frames (the agent's and the turn's): later
            // turns wait for their answer only, so a second one cannot end their step early.
            {"send": "\"third as a JSON string\""},
            until_answer(),
            {"send": "fourth as raw text"},
            until_answer(),
            {"send": json!({"type": "subscribe", "components": ["bot"]}).to_string()},
            {"recv": 1},
            {"send": "{not json"},
            {"recv": 1},
            {"send": json!({"type": "dance"}).to_string()},
            {"recv": 1},
            {"send_bytes": 16},
            {"recv": 1},
            {"send": "x".repeat(100_000)},
            {"recv": 1},
            {"send": "   "},
            {"recv": 1},
            user_input("still there?"),
            until_answer(),
        ]}),
    )
    .await;
    let frames = frames(&out);
    let hello = &frames[0];
    assert_eq!(hello["event"], "session.connected");
    assert_eq!(hello["payload"]["subscribed_components"], json!(["*"]));
    let sid = hello["payload"]["session_id"].as_str().unwrap();
    for f in &frames {
        for key in ["event", "payload", "sender", "session_id", "timestamp"] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
        assert_eq!(f["session_id"], sid, "a frame of another session: {f}");
    }

    // Turn 1, in order.
    let end1 = frames
        .iter()
        .position(|f| f["event"] == "agent.response")
        .unwrap();
    let turn1 = &frames[1..=end1];
    assert_eq!(
        events(turn1),
        [
            "input.received",
            "agent.action",
            "tool.call",
            "tool.observation",
            "agent.step_complete",
            "agent.thought",
            "agent.response"
        ],
        "{turn1:?}"
    );
    assert_eq!(turn1[0]["payload"]["input"], "what is in memory?");
    assert_eq!(turn1[1]["payload"]["tool"], "mem");
    assert_eq!(turn1[5]["payload"]["thought"], "memory read");
    assert_eq!(turn1[6]["payload"]["response"], "first");
    assert_eq!(turn1[6]["sender"], "bot");

    // Turn 2 failed: the agent's agent.error, then the turn's.
    let rest = &frames[end1 + 1..];
    let end2 = rest
        .iter()
        .position(|f| f["event"] == "agent.error")
        .unwrap();
    assert_eq!(rest[0]["event"], "input.received");
    assert_eq!(rest[0]["payload"]["input"], "second");
    // The turn's own agent.error may follow the agent's, before or after the next input.
    let rest: Vec<Value> = rest[end2 + 1..]
        .iter()
        .filter(|f| f["event"] != "agent.error")
        .cloned()
        .collect();
    // Turns 3 and 4: a JSON string and raw text are input too.
    let answers: Vec<&Value> = rest
        .iter()
        .filter(|f| f["event"] == "agent.response")
        .collect();
    assert_eq!(answers.len(), 3, "{rest:?}");
    let inputs: Vec<&Value> = rest
        .iter()
        .filter(|f| f["event"] == "input.received")
        .map(|f| &f["payload"]["input"])
        .collect();
    assert_eq!(
        inputs,
        [
            &json!("third as a JSON string"),
            &json!("fourth as raw text"),
            &json!("still there?")
        ]
    );
    assert!(answers.iter().all(|a| a["payload"]["response"] == "later"));

    let ack = rest
        .iter()
        .find(|f| f["event"] == "session.subscribed")
        .unwrap();
    assert_eq!(ack["payload"]["subscribed_components"], json!(["*", "bot"]));
    let codes: Vec<&str> = rest
        .iter()
        .filter(|f| f["event"] == "error")
        .map(|f| f["payload"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "malformed_json",
            "unknown_type",
            "binary_frame",
            "frame_too_large",
            "input_required"
        ]
    );
    // The last frame answers the input sent after all the bad ones: the socket kept working.
    assert_eq!(frames.last().unwrap()["event"], "agent.response");
}

/// Asserts each socket of a ws_many.py run got its own answer and only its own session's frames.
fn assert_isolated(out: &Value, n: usize) {
    let sockets = out["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), n);
    let mut sessions = std::collections::HashSet::new();
    for s in sockets {
        assert!(s.get("exception").is_none(), "{s}");
        let sid = s["session_id"].as_str().unwrap();
        assert!(sessions.insert(sid.to_string()), "two sockets share {sid}");
        assert_eq!(s["seen_sessions"], json!([sid]), "{s}");
        let expected = format!("echo: {}", s["input"].as_str().unwrap());
        assert_eq!(s["answer"], expected.as_str(), "{s}");
        assert_eq!(s["events"][0], "input.received", "{s}");
    }
}

#[tokio::test]
async fn two_sockets_are_two_sessions_that_see_only_their_own_events() {
    let ww = write_ww(
        "input-api-two",
        "model = llm mock {}\ndoor = input api { port: 0, to: model }\n",
    );
    let server = Server::start(&ww, &[]);
    let base = api_base(&server, "door");
    let out = python("ws_many.py", &[ws_url(&base), "2".into()]).await;
    assert_isolated(&out, 2);
}

#[tokio::test]
async fn two_hundred_sockets_at_once_are_all_answered() {
    let ww = write_ww(
        "input-api-many",
        "model = llm mock {}\ndoor = input api { port: 0, to: model }\n",
    );
    let server = Server::start(&ww, &[]);
    let base = api_base(&server, "door");
    let out = python("ws_many.py", &[ws_url(&base), "200".into()]).await;
    assert_isolated(&out, 200);
    let health: Value = client()
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "healthy");
}

#[tokio::test]
async fn a_socket_that_disconnects_mid_answer_cancels_its_turn_and_the_server_keeps_serving() {
    // The first reply would take a minute; under `reject` the session stays busy while it runs.
    let ww = write_ww(
        "input-api-drop",
        r#"model = llm mock { replies: [{ text: "a very slow answer", delay_ms: 60000 }, "fast"] }
bot = agent llm { model: model, session_policy: "reject" }
door = input api { port: 0, to: bot }
"#,
    );
    let server = Server::start(&ww, &[]);
    let base = api_base(&server, "door");
    let out = ws_plan(
        &base,
        json!({"steps": [
            {"recv": 1},
            user_input("take your time"),
            {"until": ["input.received"]},
            {"abort": true},
        ]}),
    )
    .await;
    let got = frames(&out);
    let sid = got[0]["payload"]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .wait_for_log(&["WebSocket closed mid-answer; cancelling the turn", &sid])
        .await;
    // Cancelled, so the session frees up long before the slow reply would have ended (bounded
    // polling: a hang guard, not a timing assertion).
    let mut freed = false;
    for _ in 0..400 {
        let info: Value = server
            .get(&format!("/sessions/{sid}"))
            .await
            .json()
            .await
            .unwrap();
        if info["busy"] == false {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "the session was not freed by the disconnect");
    // The port keeps serving: a new socket is greeted, REST answers health.
    let again = ws_plan(&base, json!({"steps": [{"recv": 1}]})).await;
    assert_eq!(frames(&again)[0]["event"], "session.connected");
    let health = client().get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn cors_allows_any_origin_unless_listed_and_several_ports_serve_at_once() {
    let ww = write_ww(
        "input-api-cors",
        r#"model = llm mock {}
open = input api { port: 0, to: model }
shut = input api { port: 0, to: model, cors: ["http://allowed.example"] }
"#,
    );
    let server = Server::start(&ww, &[]);
    let (open, shut) = (api_base(&server, "open"), api_base(&server, "shut"));
    assert_ne!(open, shut);
    let c = client();
    let preflight = |base: &str, origin: &str| {
        c.request(reqwest::Method::OPTIONS, format!("{base}/input"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let acao = |res: &reqwest::Response| {
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };

    // No `cors:`: any origin, preflight and answer.
    let res = preflight(&open, "http://anywhere.example").await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(acao(&res).as_deref(), Some("http://anywhere.example"));
    assert!(res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let res = c
        .post(format!("{open}/input"))
        .header("Origin", "http://anywhere.example")
        .json(&json!({"input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(acao(&res).as_deref(), Some("http://anywhere.example"));

    // `cors: [...]`: the listed origin only.
    let res = preflight(&shut, "http://allowed.example").await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(acao(&res).as_deref(), Some("http://allowed.example"));
    let res = preflight(&shut, "http://evil.example").await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(acao(&res), None);
    let e: Value = res.json().await.unwrap();
    assert!(
        e["error"].as_str().unwrap().contains("`cors: [...]`"),
        "{e}"
    );
    let res = c
        .get(format!("{shut}/health"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(acao(&res), None);
    // Browsers apply no CORS to WebSockets: the server refuses other origins' upgrades itself.
    let refused = ws_plan(
        &shut,
        json!({"headers": {"Origin": "http://evil.example"}, "steps": [{"recv": 1}]}),
    )
    .await;
    assert_eq!(refused["refused"], 403, "{refused}");
    let allowed = ws_plan(
        &shut,
        json!({"headers": {"Origin": "http://allowed.example"}, "steps": [{"recv": 1}]}),
    )
    .await;
    assert_eq!(frames(&allowed)[0]["event"], "session.connected");
    // Without an Origin (not a browser) the socket opens.
    let plain = ws_plan(&shut, json!({"steps": [{"recv": 1}]})).await;
    assert_eq!(frames(&plain)[0]["event"], "session.connected");
}

#[tokio::test]
async fn the_main_servers_bearer_token_guards_the_input_api_too() {
    let ww = write_ww(
        "input-api-auth",
        "model = llm mock {}\ndoor = input api { port: 0, to: model }\n",
    );
    let server = Server::start(&ww, &["--auth-token", "s3cret-token"]);
    let base = api_base(&server, "door");
    let c = client();
    let res = c
        .post(format!("{base}/input"))
        .json(&json!({"input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("bearer token") && !body.contains("s3cret-token"),
        "{body}"
    );
    let res = c
        .post(format!("{base}/input"))
        .bearer_auth("s3cret-token")
        .json(&json!({"input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Preflights carry no credentials in browsers: they are answered without the token.
    let res = c
        .request(reqwest::Method::OPTIONS, format!("{base}/input"))
        .header("Origin", "http://ui.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let refused = ws_plan(&base, json!({"steps": [{"recv": 1}]})).await;
    assert_eq!(refused["refused"], 401, "{refused}");
    let ok = ws_plan(
        &base,
        json!({"headers": {"Authorization": "Bearer s3cret-token"}, "steps": [
            {"recv": 1}, user_input("hi"), until_end()
        ]}),
    )
    .await;
    assert_eq!(
        frames(&ok).last().unwrap()["payload"]["response"],
        "echo: hi"
    );
}

#[test]
fn a_port_already_taken_fails_serve_naming_the_component_and_the_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let ww = write_ww(
        "input-api-taken",
        &format!("model = llm mock {{}}\ndoor = input api {{ port: {port}, to: model }}\n"),
    );
    let mut cmd = binary();
    cmd.arg("serve").arg(&ww).args(["--port", "0"]);
    let out = run_bounded(cmd);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("input api `door`") && err.contains(&format!(":{port}")),
        "{err}"
    );
    drop(taken);
}

#[test]
fn check_accepts_an_input_api_with_cors_and_warns_nothing() {
    let ww = write_ww(
        "input-api-check",
        "model = llm mock {}\ndoor = input api { port: 9000, cors: [\"http://localhost:3000\"], to: model }\n",
    );
    let mut cmd = binary();
    cmd.arg("check").arg(&ww);
    let out = run_bounded(cmd);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(
        !all.contains("partly-supported") && all.contains("0 warnings"),
        "{all}"
    );
}

#[tokio::test]
async fn the_input_api_ports_stop_with_the_server_on_sigterm() {
    let ww = write_ww(
        "input-api-stop",
        "model = llm mock {}\na = input api { port: 0, to: model }\nb = input api { port: 0, to: model }\n",
    );
    let mut server = Server::start(&ww, &["--shutdown-grace", "0"]);
    let (a, b) = (api_base(&server, "a"), api_base(&server, "b"));
    for base in [&a, &b] {
        assert_eq!(
            client().get(base.as_str()).send().await.unwrap().status(),
            200
        );
    }
    server.signal("TERM");
    assert!(server.wait_exit().success(), "{}", server.logs());
    for base in [&a, &b] {
        assert!(
            client().get(base.as_str()).send().await.is_err(),
            "{base} still answers"
        );
    }
}

#[tokio::test]
async fn sigterm_lets_a_running_socket_turn_finish_then_closes_the_socket_going_away() {
    let ww = write_ww(
        "input-api-drain",
        r#"model = llm mock { replies: [{ text: "slow but finished", delay_ms: 1500 }] }
door = input api { port: 0, to: model }
"#,
    );
    let mut server = Server::start(&ww, &["--shutdown-grace", "0"]);
    let base = api_base(&server, "door");
    let plan = json!({"steps": [
        {"recv": 1},
        user_input("finish me"),
        {"until": ["input.received"]},
        {"mark": "turn running"},
        {"wait_close": true},
    ]});
    let mut cmd = tokio::process::Command::new(venv_python());
    cmd.arg(py_script("ws_script.py"))
        .args([ws_url(&base), plan.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("run the Python client");
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let marked = tokio::time::timeout(CLIENT_BOUND, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("turn running") {
                return true;
            }
        }
        false
    })
    .await
    .expect("hang guard: no mark from the client");
    assert!(marked, "the client ended before its turn ran");
    server.signal("TERM");
    let out = tokio::time::timeout(CLIENT_BOUND, child.wait_with_output())
        .await
        .expect("hang guard: the client did not finish")
        .unwrap();
    let out: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = frames(&out);
    // The turn that was running drains: its answer arrives, then the socket closes 1001.
    let answer = got.iter().find(|f| f["event"] == "agent.response");
    assert_eq!(
        answer.map(|a| &a["payload"]["response"]),
        Some(&json!("slow but finished")),
        "{got:?}"
    );
    assert_eq!(got.last().unwrap()["closed"], 1001, "{got:?}");
    assert!(server.wait_exit().success(), "{}", server.logs());
}
