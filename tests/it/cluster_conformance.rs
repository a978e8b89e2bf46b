//! The bus's conformance at the HTTP level (issue #12, DESIGN.md §7): one set of scenarios — a
//! plain request, a streamed request whose model runs on another node, a client that disconnects
//! mid-stream (the provider sees the model call's connection close on the other node), an unknown
//! component, a fan-out to two outputs — gives the same answers on the in-memory bus (one process)
//! as on Redis and on NATS (two processes: HTTP, inputs and one output on `a`; the agents, the
//! models and the other output on `b`). The same `.ww` runs unchanged on all three.

use crate::common::cluster::{get_json, wait_nodes, Bus, Namespace, WAIT};
use crate::common::{client, error_of, parse_sse, write_ww, Server};
use crate::wire::openai_sse::text_stream_open;
use crate::wire::{End, Reply};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Components served by the HTTP node in the multi-process runs; the rest are on `b`.
const NODE_A: [&str; 5] = ["in", "out", "talk", "held", "fa"];
const NODE_B: [&str; 5] = ["assistant", "model", "remote", "bot", "fb"];

fn system(provider: &str) -> std::path::PathBuf {
    write_ww(
        "cluster-conformance",
        &format!(
            r#"model = llm mock {{}}
remote = llm openai {{ base_url: "{provider}/v1", api_key: "k", model: "m" }}
assistant = agent llm {{ model: model, to: out }}
in = input command_line {{ to: assistant }}
out = output console {{}}
# An llm in the pipeline itself: it runs (and streams) on the node hosting it.
talk = input command_line {{ to: model }}
held = input command_line {{ to: remote }}
bot = agent llm {{ model: model, to: [fa, fb] }}
fa = output console {{}}
fb = output console {{}}
"#
        ),
    )
}

/// What one scenario answered, with everything that may differ between runs (ids, times) left out.
type Answers = BTreeMap<&'static str, Value>;

async fn plain(entry: &Server) -> Value {
    let res = entry
        .post_json(
            "/in/input",
            &json!({"input": "hello there", "session_id": "c-plain"}),
        )
        .await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    json!({"status": status, "body": body})
}

async fn streamed(entry: &Server) -> Value {
    let res = client()
        .post(entry.url("/talk/input?stream=true"))
        .json(&json!({"input": "one two three four five", "session_id": "c-stream"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    let events = parse_sse(&body);
    let chunks: Vec<&(String, Value)> =
        events.iter().filter(|(n, _)| n == "stream.chunk").collect();
    let indexes: Vec<u64> = chunks
        .iter()
        .filter_map(|(_, d)| d["chunk_index"].as_u64())
        .collect();
    assert_eq!(
        indexes.len(),
        chunks.len(),
        "chunks without chunk_index: {body}"
    );
    assert!(
        indexes.windows(2).all(|w| w[0] < w[1]),
        "chunks in index order: {indexes:?}"
    );
    let texts: Vec<&str> = chunks
        .iter()
        .map(|(_, d)| d["payload"]["chunk"].as_str().unwrap_or_default())
        .collect();
    let mut kinds: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    kinds.sort();
    kinds.dedup();
    let (last, done) = events.last().cloned().unwrap_or_default();
    json!({
        "status": status,
        "chunks": texts,
        "event_types": kinds,
        "last": last,
        "done": {"output": done["output"], "component": done["component"], "session_id": done["session_id"]},
    })
}

async fn disconnect(entry: &Server, provider: &crate::wire::Server) -> Value {
    let res = client()
        .post(entry.url("/held/input?stream=true"))
        .json(&json!({"input": "tell me a story", "session_id": "c-gone"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(WAIT, async {
        while !seen.contains("event: stream.chunk") {
            match body.next().await {
                Some(Ok(bytes)) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                _ => panic!("the stream ended before its first chunk: {seen}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("hang guard: no chunk; logs:\n{}", entry.logs()));
    drop(body); // the client goes away mid-answer
    provider.wait_held_connection_closed().await;
    json!({"status": status, "first_chunk_arrived": true, "model_call_closed": true})
}

async fn unknown(entry: &Server) -> Value {
    let res = entry
        .post_json("/nope/input", &json!({"input": "anyone?"}))
        .await;
    let status = res.status().as_u16();
    let (code, message) = error_of(res).await;
    assert!(
        message.contains("assistant") && message.contains("in"),
        "the known components are listed: {message}"
    );
    json!({"status": status, "code": code})
}

async fn fan_out(entry: &Server) -> Value {
    let res = entry
        .post_json(
            "/bot/input",
            &json!({"input": "fan", "session_id": "c-fan"}),
        )
        .await;
    let status = res.status().as_u16();
    let mut v: Value = res.json().await.unwrap_or(Value::Null);
    if let Some(outputs) = v["outputs"].as_array_mut() {
        outputs.sort_by_key(|o| o["component"].as_str().unwrap_or_default().to_string());
    }
    json!({"status": status, "body": v})
}

/// Every scenario against `entry` (the node clients talk to).
async fn scenarios(entry: &Server, provider: &crate::wire::Server) -> Answers {
    let mut answers = Answers::new();
    answers.insert("plain", plain(entry).await);
    answers.insert("streamed", streamed(entry).await);
    answers.insert("disconnect", disconnect(entry, provider).await);
    answers.insert("unknown", unknown(entry).await);
    answers.insert("fan_out", fan_out(entry).await);
    crate::common::assert_alive(entry).await;
    answers
}

fn held_provider() -> Vec<Reply> {
    vec![Reply::sse(text_stream_open(&["once ", "upon "]), End::Hold)]
}

/// The reference: one process on the in-memory bus, itself checked against the contract.
async fn in_memory() -> Answers {
    let provider = crate::wire::Server::start(held_provider()).await;
    let server = Server::start(&system(&provider.url), &[]);
    let answers = scenarios(&server, &provider).await;
    assert_eq!(answers["plain"]["status"], 200, "{answers:#?}");
    assert_eq!(answers["plain"]["body"]["output"], "echo: hello there");
    assert_eq!(answers["streamed"]["last"], "done", "{answers:#?}");
    assert_eq!(
        answers["streamed"]["done"]["output"],
        "echo: one two three four five"
    );
    assert_eq!(answers["unknown"]["status"], 404);
    assert_eq!(answers["fan_out"]["body"]["outputs"][1]["component"], "fb");
    answers
}

async fn answers_like_the_in_memory_bus(bus: Bus) {
    let reference = in_memory().await;
    let provider = crate::wire::Server::start(held_provider()).await;
    let ns = Namespace::shared(bus, "conformance").await;
    let file = system(&provider.url);
    let a = ns.node(&file, "a", &NODE_A, &[]);
    let b = ns.node(&file, "b", &NODE_B, &[]);
    wait_nodes(&a, &["a", "b"]).await;
    // The models really are on the other node.
    for name in ["model", "remote"] {
        let (_, c) = get_json(&a, &format!("/components/{name}")).await;
        assert_eq!(c["local"], false, "{c}");
        assert_eq!(c["nodes"], json!(["b"]), "{c}");
    }
    let answers = scenarios(&a, &provider).await;
    for (scenario, want) in &reference {
        assert_eq!(
            answers.get(scenario),
            Some(want),
            "scenario `{scenario}` answered differently on {} than on the in-memory bus\na:\n{}\nb:\n{}",
            bus.name(),
            a.logs(),
            b.logs()
        );
    }
}

#[tokio::test]
async fn redis_answers_like_the_in_memory_bus() {
    answers_like_the_in_memory_bus(Bus::Redis).await;
}

#[tokio::test]
async fn nats_answers_like_the_in_memory_bus() {
    answers_like_the_in_memory_bus(Bus::Nats).await;
}
