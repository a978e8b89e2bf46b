//! The bus's conformance across backends (issue #12): the same requests give the same answers
//! on one process (in-memory bus) and on two runtimes joined by Redis Streams or NATS JetStream,
//! with the input and outputs on one node and the agent and its model on the other (or the model
//! on a third). Needs Redis on 127.0.0.1:6379 and NATS with JetStream on 127.0.0.1:4222
//! (`scripts/test.sh` starts them); a test fails saying so when one is missing.

use crate::common::*;
use futures_util::StreamExt;
use woodwork_parser::{Config, Kind};
use woodwork_runtime::*;

const REDIS: &str = "redis://127.0.0.1:6379";
const NATS: &str = "nats://127.0.0.1:4222";

/// One system under test: its nodes (the first takes the requests) and its namespace.
struct System {
    nodes: Vec<Runtime>,
    cleanup: Option<(String, String)>,
}

impl System {
    fn entry(&self) -> &Runtime {
        &self.nodes[0]
    }

    async fn stop(self) {
        for n in &self.nodes {
            n.shutdown().await;
        }
        if let Some((url, ns)) = self.cleanup {
            let b = woodwork_broker::Broker::connect(&url, &ns)
                .await
                .expect("broker for cleanup");
            b.purge_namespace().await.expect("purge");
        }
    }
}

fn fresh_namespace(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("t-{test}-{}-{nanos}", std::process::id())
}

/// `config` on the in-memory bus, or split over nodes (each a list of hosted components) on
/// the broker at `url`.
async fn start(test: &str, config: Config, url: Option<&str>, placement: &[&[&str]]) -> System {
    let Some(url) = url else {
        let rt = Runtime::start(config, RuntimeOptions::default())
            .await
            .expect("start");
        return System {
            nodes: vec![rt],
            cleanup: None,
        };
    };
    let ns = fresh_namespace(test);
    let mut nodes = Vec::new();
    for (i, hosted) in placement.iter().enumerate() {
        let opts = RuntimeOptions {
            cluster: Some(ClusterSpec {
                url: url.to_string(),
                namespace: ns.clone(),
                node: format!("n{i}"),
                components: Some(hosted.iter().map(|c| c.to_string()).collect()),
            }),
            ..RuntimeOptions::default()
        };
        match Runtime::start(config.clone(), opts).await {
            Ok(rt) => nodes.push(rt),
            Err(e) => panic!(
                "cannot join {url}: {e}\n(start it: `scripts/test.sh` does, or `apt-get install redis-server nats-server` and run `redis-server` / `nats-server -js`)"
            ),
        }
    }
    // Every node sees every other in the registry before the first request.
    for n in &nodes {
        let n = n.clone();
        let want = placement.len();
        eventually("every node registered", move || {
            n.cluster().is_some_and(|c| c.nodes.len() == want)
        })
        .await;
    }
    System {
        nodes,
        cleanup: Some((url.to_string(), ns)),
    }
}

const SPLIT: &[&[&str]] = &[&["cli", "out"], &["agent", "model"]];
const THREE: &[&[&str]] = &[&["cli", "out"], &["agent"], &["model"]];

async fn echo(url: Option<&str>, placement: &[&[&str]]) {
    let sys = start(
        "echo",
        pipeline(component("model", Kind::Llm, "mock")),
        url,
        placement,
    )
    .await;
    let resp = sys
        .entry()
        .send(InputRequest::text("cli", "hello world"))
        .await
        .expect("answer");
    assert_eq!(resp.outputs.len(), 1, "{resp:?}");
    assert_eq!(resp.outputs[0].component, "out");
    assert_eq!(resp.text().as_deref(), Some("echo: hello world"));
    // Any node takes input for any component.
    let last = sys.nodes.last().expect("a node");
    let resp = last
        .send(InputRequest::text("cli", "from elsewhere"))
        .await
        .expect("answer");
    assert_eq!(resp.text().as_deref(), Some("echo: from elsewhere"));
    sys.stop().await;
}

async fn fan_out(url: Option<&str>) {
    let model = with_prop(component("model", Kind::Llm, "mock"), "reply", s("fixed"));
    let agent = with_prop(component("agent", Kind::Agent, "llm"), "model", r("model"));
    let cfg = config(
        vec![
            model,
            component("cli", Kind::Input, "api"),
            agent,
            component("a", Kind::Output, "console"),
            component("b", Kind::Output, "console"),
        ],
        &[("cli", "agent"), ("agent", "a"), ("agent", "b")],
    );
    let sys = start(
        "fanout",
        cfg,
        url,
        &[&["cli", "a"], &["agent", "model", "b"]],
    )
    .await;
    let resp = sys
        .entry()
        .send(InputRequest::text("cli", "x"))
        .await
        .expect("answer");
    let mut names: Vec<_> = resp.outputs.iter().map(|o| o.component.clone()).collect();
    names.sort();
    assert_eq!(names, vec!["a", "b"]);
    assert!(resp.outputs.iter().all(|o| o.output == "fixed"), "{resp:?}");
    sys.stop().await;
}

/// The streamed turn: the chunks (from wherever the model runs) in order, then the answer.
async fn streamed(url: Option<&str>, placement: &[&[&str]]) -> (Vec<String>, String) {
    let sys = start(
        "stream",
        pipeline(component("model", Kind::Llm, "mock")),
        url,
        placement,
    )
    .await;
    let mut stream = sys
        .entry()
        .send_stream(InputRequest::text("cli", "one two three"))
        .await
        .expect("stream");
    let mut chunks = Vec::new();
    let mut answer = None;
    while let Some(ev) = stream.next().await {
        match ev {
            RuntimeEvent::Event(env) if env.event_type == EventType::StreamChunk => {
                if let Some(c) = env.payload.get("chunk").and_then(|c| c.as_str()) {
                    chunks.push(c.to_string());
                }
            }
            RuntimeEvent::Event(_) => {}
            RuntimeEvent::Done(r) => {
                answer = r.text();
                break;
            }
            RuntimeEvent::Failed(e) => panic!("failed: {e}"),
        }
    }
    sys.stop().await;
    (chunks, answer.expect("an answer"))
}

/// An unknown component, and a model that fails on the other node: the failure's code and
/// message, to compare with one process's.
async fn errors(url: Option<&str>) -> (&'static str, String) {
    let sys = start(
        "errors",
        pipeline(mock("model", vec![error_entry("auth")])),
        url,
        SPLIT,
    )
    .await;
    match sys.entry().send(InputRequest::text("nope", "x")).await {
        Err(RuntimeError::UnknownComponent { name, known }) => {
            assert_eq!(name, "nope");
            assert!(known.contains(&"agent".to_string()), "{known:?}");
        }
        other => panic!("expected unknown component, got {other:?}"),
    }
    let failed = match sys.entry().send(InputRequest::text("cli", "x")).await {
        Err(e) => (e.code(), e.to_string()),
        Ok(r) => panic!("expected a failure, got {r:?}"),
    };
    sys.stop().await;
    failed
}

/// A component no live node hosts is unavailable (503 on HTTP), not a hang.
async fn unhosted(url: &str) {
    let sys = start(
        "unhosted",
        pipeline(component("model", Kind::Llm, "mock")),
        Some(url),
        &[&["cli", "out"]],
    )
    .await;
    match sys.entry().send(InputRequest::text("cli", "x")).await {
        Err(RuntimeError::Unreachable { component, cause }) => {
            assert_eq!(component, "agent");
            assert!(cause.contains("no live node hosts it"), "{cause}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    let agent = sys.entry().component("agent").expect("agent");
    assert_eq!(agent.state, ComponentState::Unavailable);
    assert_eq!(agent.nodes, Some(vec![]));
    assert_eq!(agent.local, Some(false));
    sys.stop().await;
}

#[actix_rt::test]
async fn echo_on_every_bus() {
    echo(None, &[]).await;
    echo(Some(REDIS), SPLIT).await;
    echo(Some(NATS), SPLIT).await;
}

#[actix_rt::test]
async fn echo_with_the_model_on_a_third_node() {
    echo(Some(REDIS), THREE).await;
    echo(Some(NATS), THREE).await;
}

#[actix_rt::test]
async fn fan_out_on_every_bus() {
    fan_out(None).await;
    fan_out(Some(REDIS)).await;
    fan_out(Some(NATS)).await;
}

#[actix_rt::test]
async fn streams_are_the_same_on_every_bus() {
    let (chunks, answer) = streamed(None, &[]).await;
    assert_eq!(answer, "echo: one two three");
    assert_eq!(chunks.concat(), answer);
    for url in [REDIS, NATS] {
        for placement in [SPLIT, THREE] {
            let got = streamed(Some(url), placement).await;
            assert_eq!(got, (chunks.clone(), answer.clone()), "{url} {placement:?}");
        }
    }
}

#[actix_rt::test]
async fn errors_are_the_same_on_every_bus() {
    let one = errors(None).await;
    assert_eq!(one.0, "component_failed", "{one:?}");
    assert_eq!(errors(Some(REDIS)).await, one);
    assert_eq!(errors(Some(NATS)).await, one);
}

#[actix_rt::test]
async fn a_component_nobody_hosts_is_unavailable() {
    unhosted(REDIS).await;
    unhosted(NATS).await;
}

/// Entries ever added to Redis stream `key` (acknowledged ones stay until trimmed), by a plain
/// RESP `XLEN` on a connection of its own.
fn redis_xlen(key: &str) -> i64 {
    use std::io::{BufRead, BufReader, Write};
    let mut conn = std::net::TcpStream::connect("127.0.0.1:6379").expect("Redis on 6379");
    write!(conn, "*2\r\n$4\r\nXLEN\r\n${}\r\n{key}\r\n", key.len()).expect("send XLEN");
    let mut line = String::new();
    BufReader::new(conn)
        .read_line(&mut line)
        .expect("XLEN answer");
    line.trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("XLEN {key} answered {line:?}"))
}

/// A turn's branch that leaves the agent's node for the output goes on with the entry node's
/// own way back: the output's result is delivered on the entry node itself, and nothing comes
/// back through the agent's node (two broker crossings per request, not four).
#[actix_rt::test]
async fn a_branch_leaving_a_node_does_not_come_back_through_it() {
    let sys = start(
        "handover",
        pipeline(component("model", Kind::Llm, "mock")),
        Some(REDIS),
        SPLIT,
    )
    .await;
    for i in 0..3 {
        let resp = sys
            .entry()
            .send(InputRequest::text("cli", format!("turn {i}")))
            .await
            .expect("answer");
        assert_eq!(resp.text(), Some(format!("echo: turn {i}")));
    }
    let ns = sys.cleanup.as_ref().map(|(_, ns)| ns.clone()).expect("ns");
    assert_eq!(redis_xlen(&format!("ww:{ns}:q:c-agent")), 3);
    assert_eq!(redis_xlen(&format!("ww:{ns}:q:c-out")), 3);
    assert_eq!(
        redis_xlen(&format!("ww:{ns}:q:n-n1")),
        0,
        "results came back through the agent's node"
    );
    assert_eq!(
        redis_xlen(&format!("ww:{ns}:q:n-n0")),
        0,
        "the entry node sent its own results through the broker"
    );
    sys.stop().await;
}

/// A model on another node streams its deltas to the caller as they come, not once the answer
/// is whole: the provider here sends the start of a final answer and then holds it open, so the
/// first token reaches the caller only if each delta is passed on while the call still runs.
#[actix_rt::test]
async fn a_model_on_another_node_streams_before_its_answer_ends() {
    use crate::wire::openai_sse::text_stream_open;
    use crate::wire::{End, Reply, Server};
    for url in [REDIS, NATS] {
        let server = Server::start(vec![Reply::sse(
            text_stream_open(&["Final Answer: ", "Hello ", "there "]),
            End::Hold,
        )])
        .await;
        let mut model = component("model", Kind::Llm, "openai");
        for (k, v) in [
            ("api_key", crate::wire::secret("sk-test-key")),
            ("model", crate::wire::s("gpt-test")),
            ("base_url", crate::wire::s(&format!("{}/v1", server.url))),
        ] {
            model = with_prop(model, k, v);
        }
        let sys = start("held", pipeline(model), Some(url), THREE).await;
        let mut events = sys
            .entry()
            .send_stream(InputRequest::text("cli", "hi"))
            .await
            .expect("stream");
        let first = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            loop {
                match events.next().await {
                    Some(RuntimeEvent::Event(e)) if e.event_type == EventType::StreamChunk => {
                        return e
                    }
                    Some(RuntimeEvent::Event(_)) => continue,
                    other => panic!("expected a chunk, got {other:?}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{url}: no token reached the caller while the answer was open"));
        assert_eq!(first.payload["chunk"], "Hello", "{url}");
        drop(events);
        server.wait_held_connection_closed().await;
        sys.stop().await;
    }
}
