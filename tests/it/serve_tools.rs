//! Every tool kind end to end over HTTP, against the real binary: an agent on a scripted
//! `llm mock` calls a real Python functions file, a real HTTP API, a real MCP server (from the
//! project venv), a text-file and an embedded vector knowledge base, and its session's memory;
//! the SSE stream shows `tool.call` and `tool.observation` carrying each tool's real result.

use crate::common::{client, error_of, parse_sse, run_bounded, write_ww, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A folder of its own for one test's files.
fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("serve-tools")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The project venv's Python (MCP servers), or a failure saying how to make it.
fn venv_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/venv.sh (scripts/test.sh does) to install the MCP servers the tests use",
        p.display()
    );
    p
}

/// Posts `input` to `in` as SSE and returns the events.
async fn stream_turn(server: &Server, input: &str, session: &str) -> Vec<(String, Value)> {
    let res = client()
        .post(server.url("/in/input?stream=true"))
        .json(&json!({"input": input, "session_id": session}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    parse_sse(&res.text().await.unwrap())
}

fn payloads<'a>(events: &'a [(String, Value)], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, d)| &d["payload"])
        .collect()
}

fn observations(events: &[(String, Value)]) -> Vec<String> {
    payloads(events, "tool.observation")
        .iter()
        .map(|p| p["observation"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn streamed_text(events: &[(String, Value)]) -> String {
    payloads(events, "stream.chunk")
        .iter()
        .map(|p| p["chunk"].as_str().unwrap())
        .collect()
}

fn done_output(events: &[(String, Value)]) -> Value {
    let (name, done) = events.last().unwrap();
    assert_eq!(name, "done", "{events:?}");
    done["output"].clone()
}

/// An agent whose mock model plays `script` (JSON list) with `tools`, plus `extra` declarations.
fn agent_ww(name: &str, tools: &str, script: &str, extra: &str) -> PathBuf {
    write_ww(
        name,
        &format!(
            "{extra}\nmodel = llm mock {{ replies: {script} }}\nbot = agent llm {{ model: model, tools: [{tools}] }}\nin = input command_line {{ to: bot }}\n"
        ),
    )
}

#[tokio::test]
async fn an_agent_calls_python_functions_and_carries_on_after_an_exception() {
    let d = dir("functions");
    let file = d.join("tools.py");
    std::fs::write(
        &file,
        r#"
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b

def fail(reason: str):
    """Always raises."""
    raise ValueError(reason)
"#,
    )
    .unwrap();
    let ww = agent_ww(
        "functions",
        "fns",
        r#"[
            { tool: "fns", action: "add", inputs: { a: 2, b: 40 } },
            { tool: "fns", action: "fail", inputs: { reason: "no such order" } },
            { tool: "fns", action: "add" },
            "Thought: done\nFinal Answer: the sum is 42"
        ]"#,
        &format!(
            "fns = api functions {{ path: {:?} }}",
            file.display().to_string()
        ),
    );
    let server = Server::start(&ww, &[]);
    let events = stream_turn(&server, "add 2 and 40", "fn-1").await;
    let calls = payloads(&events, "tool.call");
    assert_eq!(calls[0]["tool"], "fns");
    assert_eq!(calls[0]["action"], "add");
    assert_eq!(calls[0]["args"], json!({"a": 2, "b": 40}));
    let obs = observations(&events);
    assert_eq!(obs[0], "42");
    assert_eq!(obs[1], "error: ValueError: no such order");
    assert!(
        obs[2].starts_with("error: malformed action") && obs[2].contains("\"inputs\""),
        "{obs:?}"
    );
    assert_eq!(done_output(&events), "the sum is 42");
    assert_eq!(streamed_text(&events), "the sum is 42");
    // The functions' description (names, typed parameters, docstrings) is in /components' view
    // of health, and the component did its work.
    let c: Value = server.get("/components/fns").await.json().await.unwrap();
    assert_eq!(c["state"], "ready");
    assert!(c["processed"].as_u64().unwrap() >= 2, "{c}");
}

#[tokio::test]
async fn a_functions_file_that_does_not_import_fails_startup_with_the_python_error() {
    let d = dir("functions-bad");
    let file = d.join("broken.py");
    std::fs::write(&file, "def ok():\n    return 1\n\ndef bad(:\n    pass\n").unwrap();
    let ww = agent_ww(
        "functions-bad",
        "fns",
        r#"["x"]"#,
        &format!(
            "fns = api functions {{ path: {:?} }}",
            file.display().to_string()
        ),
    );
    let mut cmd = crate::common::binary();
    cmd.arg("serve").arg(&ww).args(["--port", "0"]);
    let out = run_bounded(cmd);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fns") && err.contains("SyntaxError"), "{err}");
    assert!(err.contains("broken.py"), "{err}");
}

#[tokio::test]
async fn an_agent_calls_a_web_api_with_query_and_sees_non_2xx_as_an_observation() {
    let api = crate::wire::Server::start(vec![
        crate::wire::Reply::json(200, r#"{"city":"Paris","temp_c":21}"#),
        crate::wire::Reply::json(404, r#"{"error":"no such city"}"#),
    ])
    .await;
    let ww = agent_ww(
        "web",
        "weather",
        r#"[
            { tool: "weather", action: "current", inputs: { city: "Paris" } },
            { tool: "weather", action: "current", inputs: { city: "Atlantis" } },
            "Final Answer: 21 degrees"
        ]"#,
        &format!(
            "weather = api web {{ url: \"{}/v1\", headers: {{ \"X-Api-Key\": \"k-123\" }} }}",
            api.url
        ),
    );
    let server = Server::start(&ww, &[]);
    let events = stream_turn(&server, "weather in Paris?", "web-1").await;
    let obs = observations(&events);
    assert!(obs[0].contains("\"temp_c\":21"), "{obs:?}");
    assert!(obs[1].starts_with("error: HTTP 404"), "{obs:?}");
    assert!(obs[1].contains("no such city"), "{obs:?}");
    assert_eq!(done_output(&events), "21 degrees");
    let reqs = api.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/v1/current?city=Paris");
    assert_eq!(reqs[0].header("x-api-key"), Some("k-123"));
    // The header value is a secret: never in the logs.
    assert!(!server.logs().contains("k-123"));
}

#[tokio::test]
async fn an_agent_calls_a_real_mcp_server_over_stdio() {
    let python = venv_python();
    let ww = agent_ww(
        "mcp",
        "clock",
        r#"[
            { tool: "clock", action: "get_current_time", inputs: { timezone: "UTC" } },
            { tool: "clock", action: "no_such_tool", inputs: {} },
            "Final Answer: it is now"
        ]"#,
        &format!(
            "clock = mcp server {{ command: [{:?}, \"-m\", \"mcp_server_time\", \"--local-timezone\", \"UTC\"] }}",
            python.display().to_string()
        ),
    );
    let server = Server::start(&ww, &[]);
    let events = stream_turn(&server, "what time is it?", "mcp-1").await;
    let obs = observations(&events);
    let time: Value = serde_json::from_str(&obs[0]).unwrap_or_else(|e| panic!("{e}: {obs:?}"));
    assert_eq!(time["timezone"], "UTC");
    assert!(time["datetime"].as_str().unwrap().contains('T'), "{time}");
    assert!(
        obs[1].starts_with("error:") && obs[1].contains("get_current_time"),
        "{obs:?}"
    );
    assert_eq!(done_output(&events), "it is now");
    let h: Value = server.get("/health").await.json().await.unwrap();
    assert_eq!(h["components"]["clock"]["state"], "ready", "{h}");
}

#[tokio::test]
async fn a_text_file_knowledge_base_is_read_written_and_queried_by_an_agent() {
    let d = dir("text-file");
    let notes = d.join("notes.txt");
    std::fs::write(&notes, "the wifi password is hunter2\nlunch is at noon\n").unwrap();
    let ww = agent_ww(
        "text-file",
        "notes",
        r#"[
            { tool: "notes", action: "query", inputs: { query: "wifi password" } },
            { tool: "notes", action: "write", inputs: { content: "the printer is on floor 3" } },
            { tool: "notes", action: "query", inputs: { query: "printer floor" } },
            { tool: "notes", action: "erase", inputs: {} },
            "Final Answer: hunter2"
        ]"#,
        &format!(
            "notes = knowledge_base text_file {{ path: {:?} }}",
            notes.display().to_string()
        ),
    );
    let server = Server::start(&ww, &[]);
    let events = stream_turn(&server, "what is the wifi password?", "kb-1").await;
    let obs = observations(&events);
    assert!(
        obs[0].contains("hunter2") && !obs[0].contains("lunch"),
        "{obs:?}"
    );
    assert!(obs[2].contains("printer is on floor 3"), "{obs:?}");
    assert!(
        obs[3].starts_with("error:") && obs[3].contains("read, write, query"),
        "{obs:?}"
    );
    assert!(std::fs::read_to_string(&notes)
        .unwrap()
        .contains("printer is on floor 3"));
    assert_eq!(done_output(&events), "hunter2");
}

// Multi-threaded: the embedding server must answer while this thread waits for the server to
// start (it embeds the files before it listens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_with_an_embedded_vector_knowledge_base_gets_the_best_passage_in_its_prompt() {
    let d = dir("chroma");
    let docs = d.join("docs");
    std::fs::create_dir_all(docs.join("node_modules")).unwrap();
    std::fs::write(
        docs.join("refunds.md"),
        "Refunds are paid within 14 days of a return.",
    )
    .unwrap();
    std::fs::write(docs.join("node_modules/skip.md"), "never embedded").unwrap();
    // One vector for every text: with one chunk stored, it is the best match whatever the query.
    let embeddings = crate::wire::Server::start(vec![crate::wire::Reply::json(
        200,
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8,0.0]}],"model":"emb"}"#,
    )])
    .await;
    let chat = crate::wire::Server::start(vec![crate::wire::Reply::json(
        200,
        r#"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Within 14 days."},"finish_reason":"stop"}]}"#,
    )])
    .await;
    let ww = write_ww(
        "chroma",
        &format!(
            r#"emb = llm openai {{ base_url: "{}/v1", api_key: "sk-emb" }}
kb = knowledge_base chroma {{ file_to_embed: {:?}, embedding: emb, path: {:?} }}
answerer = llm openai {{ base_url: "{}/v1", api_key: "sk-chat", knowledge_base: kb }}
in = input command_line {{ to: answerer }}
"#,
            embeddings.url,
            docs.display().to_string(),
            d.join("store").display().to_string(),
            chat.url
        ),
    );
    let server = Server::start(&ww, &[]);
    let res = server
        .post_json("/in/input", &json!({"input": "how long do refunds take?"}))
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"], "Within 14 days.");
    let sent = &chat.requests()[0].body["messages"];
    let context = sent
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "system")
        .unwrap_or_else(|| panic!("no context message in {sent}"));
    let text = context["content"].as_str().unwrap();
    assert!(text.contains("[File: refunds.md]"), "{text}");
    assert!(text.contains("within 14 days of a return"), "{text}");
    // One embedding request at ingest (node_modules skipped) and one for the query.
    let emb_reqs = embeddings.requests();
    assert!(
        emb_reqs.iter().all(|r| r.path == "/v1/embeddings"),
        "{emb_reqs:?}"
    );
    let embedded: Vec<String> = emb_reqs
        .iter()
        .flat_map(|r| r.body["input"].as_array().cloned().unwrap_or_default())
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !embedded.iter().any(|t| t.contains("never embedded")),
        "{embedded:?}"
    );
    assert!(!server.logs().contains("sk-emb"));
}

#[tokio::test]
async fn memory_is_a_tool_of_its_session_and_not_an_entry_point() {
    let ww = write_ww(
        "memory-tool",
        r#"mem = memory short_term {}
model = llm mock { replies: [
    "Final Answer: noted",
    { tool: "mem", action: "read", inputs: {} },
    "Final Answer: you said remember 7",
    { tool: "mem", action: "clear", inputs: {} },
    { tool: "mem", action: "read", inputs: {} },
    "Final Answer: forgotten"
] }
bot = agent llm { model: model, tools: [mem], memory: mem }
in = input command_line { to: bot }
"#,
    );
    let server = Server::start(&ww, &[]);
    let first = stream_turn(&server, "remember 7", "mem-1").await;
    assert_eq!(done_output(&first), "noted");
    let second = stream_turn(&server, "what did I say?", "mem-1").await;
    let obs = observations(&second);
    assert!(
        obs[0].contains("[USER] remember 7") && obs[0].contains("[AI] noted"),
        "{obs:?}"
    );
    let third = stream_turn(&server, "forget it", "mem-1").await;
    let obs = observations(&third);
    assert_eq!(obs[0], "cleared the memory of this session");
    assert_eq!(obs[1], "the memory of this session is empty");
    let res = server
        .post_json("/mem/input", &json!({"input": "hi"}))
        .await;
    assert_eq!(res.status(), 400);
    let (_, message) = error_of(res).await;
    assert!(message.contains("not an entry point"), "{message}");
}

#[tokio::test]
async fn a_vm_server_declaration_is_inactive_not_ready_and_keeps_health_green() {
    let ww = write_ww(
        "vm",
        "model = llm mock {}\nplace = vm server { components: [model] }\nin = input command_line { to: model }\n",
    );
    let server = Server::start(&ww, &[]);
    let h: Value = server.get("/health").await.json().await.unwrap();
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["components"]["place"]["state"], "inactive", "{h}");
    let res = server
        .post_json("/place/input", &json!({"input": "x"}))
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_step_without_thought_streams_as_events_and_the_chunks_equal_the_answer() {
    // The model writes no `Thought:` first: its step text must not reach clients as answer text.
    let ww = write_ww(
        "no-thought",
        r#"helper = llm mock {}
model = llm mock { replies: [
    "Let me ask the helper.\nAction: {\"tool\": \"helper\", \"inputs\": {\"input\": \"ping\"}}",
    "Sure.\nFinal Answer: the helper said echo: ping"
] }
bot = agent llm { model: model, tools: [helper] }
in = input command_line { to: bot }
"#,
    );
    let server = Server::start(&ww, &[]);
    let events = stream_turn(&server, "ask the helper", "nt-1").await;
    let answer = "the helper said echo: ping";
    assert_eq!(done_output(&events), answer);
    assert_eq!(streamed_text(&events), answer, "{events:?}");
    let thoughts = payloads(&events, "agent.thought");
    assert_eq!(thoughts[0]["thought"], "Let me ask the helper.");
    assert_eq!(observations(&events)[0], "echo: ping");
}

#[tokio::test]
async fn the_tools_example_answers_with_real_observations() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tools/main.ww");
    let server = Server::start(&example, &[]);
    let events = stream_turn(&server, "where is order A-1001?", "ex-1").await;
    let obs = observations(&events);
    assert_eq!(obs[0], r#"{"status":"shipped","carrier":"DHL"}"#);
    assert!(
        obs[1].contains("Refunds are paid within 14 days"),
        "{obs:?}"
    );
    assert_eq!(obs[2], "error: KeyError: 'no order Z-9'");
    let answer = done_output(&events);
    assert!(
        answer
            .as_str()
            .unwrap()
            .starts_with("Order A-1001 has shipped"),
        "{answer}"
    );
    assert_eq!(streamed_text(&events), answer.as_str().unwrap());
}
