//! Streaming end to end in the runtime: an agent on `llm openai` (a loopback server speaking Chat
//! Completions SSE) calling a tool natively and streaming its final answer as ordered
//! `stream.chunk` envelopes; a dropped event stream closing the provider connection; llm memory.

use crate::common::{component, config, map, r, with_prop};
use crate::wire::openai_sse::{text_completion, text_stream, text_stream_open, tool_call_stream};
use crate::wire::{End, Reply, Server};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use woodwork_parser::{Kind, Value};
use woodwork_runtime::*;

fn openai(name: &str, server: &Server) -> woodwork_parser::Component {
    let mut c = component(name, Kind::Llm, "openai");
    for (k, v) in [
        ("api_key", crate::wire::secret("sk-test-key")),
        ("model", crate::wire::s("gpt-test")),
        ("base_url", crate::wire::s(&format!("{}/v1", server.url))),
    ] {
        c = with_prop(c, k, v);
    }
    c.timeout = Some(Duration::from_secs(20));
    c
}

/// Collects a streamed turn under a hang guard.
async fn collect(mut events: EventStream) -> (Vec<Envelope>, Result<InputResponse, RuntimeError>) {
    let mut seen = Vec::new();
    let end = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = events.next().await {
            match ev {
                RuntimeEvent::Event(e) => seen.push(e),
                RuntimeEvent::Done(r) => return Ok(r),
                RuntimeEvent::Failed(e) => return Err(e),
            }
        }
        panic!("stream ended without Done/Failed");
    })
    .await
    .expect("hang guard");
    (seen, end)
}

#[actix_rt::test]
async fn an_openai_agent_calls_a_tool_natively_and_streams_its_final_answer() {
    let server = Server::start(vec![
        Reply::sse(
            tool_call_stream("call_1", "helper", r#"{"input": "capital of France?"}"#),
            End::Complete,
        ),
        Reply::sse(
            text_stream(&[
                "Thought: I know it\n",
                "Final ",
                "Answer: ",
                "Paris ",
                "it is",
            ]),
            End::Complete,
        ),
    ])
    .await;
    let dir = std::env::temp_dir().join(format!("ww-agent-prompt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.md"), "Custom prompt. Tools:\n{tools}END").unwrap();
    let agent = with_prop(
        with_prop(
            with_prop(component("agent", Kind::Agent, "llm"), "model", r("model")),
            "tools",
            Value::List(vec![r("helper")]),
        ),
        "prompt",
        map(&[("file", crate::wire::s("p.md"))]),
    );
    let mut cfg = config(
        vec![
            openai("model", &server),
            component("helper", Kind::Llm, "mock"),
            component("cli", Kind::Input, "api"),
            agent,
            component("out", Kind::Output, "console"),
        ],
        &[("cli", "agent"), ("agent", "out")],
    );
    cfg.path = dir.join("main.ww");
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let events = rt
        .send_stream(InputRequest::text("cli", "What is the capital of France?"))
        .await
        .unwrap();
    let (seen, end) = collect(events).await;
    let response = end.unwrap();
    assert_eq!(response.text().as_deref(), Some("Paris it is"));

    let names: Vec<&str> = seen.iter().map(|e| e.event_type.as_str()).collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("no {n}: {names:?}"))
    };
    assert!(pos("agent.action") < pos("tool.call"));
    assert!(pos("tool.call") < pos("tool.observation"));
    assert!(pos("tool.observation") < pos("agent.step_complete"));
    assert!(pos("agent.step_complete") < pos("stream.chunk"));
    assert!(pos("stream.chunk") < pos("agent.response"));
    let obs = &seen[pos("tool.observation")];
    assert_eq!(obs.payload["observation"], "echo: capital of France?");
    assert_eq!(obs.payload["tool"], "helper");
    assert_eq!(obs.payload["component_id"], "agent");

    // Only the final answer streams, in index order, closed by an empty final chunk, ids shared.
    let chunks: Vec<&Envelope> = seen
        .iter()
        .filter(|e| e.event_type == EventType::StreamChunk)
        .collect();
    let text: String = chunks
        .iter()
        .map(|c| c.payload["chunk"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Paris it is");
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.chunk_index, Some(i as u32));
        assert_eq!(c.is_final, Some(i + 1 == chunks.len()));
        assert_eq!(c.stream_id, chunks[0].stream_id);
    }
    assert_eq!(
        seen.iter()
            .filter(|e| e.event_type == EventType::StreamCompleted)
            .count(),
        1
    );

    // What the provider was sent: the prompt file with the tool list, native tool specs, then
    // the call replayed with its observation.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let first = &reqs[0].body;
    let system = first["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.starts_with("Custom prompt. Tools:\n- helper (llm mock)"),
        "{system}"
    );
    assert!(system.contains("- ask_user"), "{system}");
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["helper", "ask_user"]);
    let second = reqs[1].body["messages"].as_array().unwrap();
    let last = second.last().unwrap();
    assert_eq!(
        last,
        &json!({"role": "tool", "tool_call_id": "call_1", "content": "echo: capital of France?"})
    );
    assert_eq!(second[second.len() - 2]["tool_calls"][0]["id"], "call_1");
}

#[actix_rt::test]
async fn dropping_the_event_stream_closes_the_provider_connection() {
    let server = Server::start(vec![Reply::sse(
        text_stream_open(&["Hello ", "there "]),
        End::Hold,
    )])
    .await;
    let cfg = config(
        vec![
            openai("model", &server),
            component("out", Kind::Output, "console"),
        ],
        &[("model", "out")],
    );
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let mut events = rt
        .send_stream(InputRequest::text("model", "hi"))
        .await
        .unwrap();
    // Wait for the first token, so the provider call is surely under way.
    let first = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.next().await {
                Some(RuntimeEvent::Event(e)) if e.event_type == EventType::StreamChunk => return e,
                Some(RuntimeEvent::Event(_)) => continue,
                other => panic!("expected a chunk, got {other:?}"),
            }
        }
    })
    .await
    .expect("hang guard");
    assert_eq!(first.payload["chunk"], "Hello ");
    drop(events);
    server.wait_held_connection_closed().await;
    // The llm's breaker did not count the cancellation as a failure.
    crate::common::eventually("model ready again", || {
        rt.component("model").unwrap().state != ComponentState::Active
    })
    .await;
    assert_eq!(rt.component("model").unwrap().breaker, BreakerState::Closed);
}

#[actix_rt::test]
async fn llm_memory_is_per_session_bounded_and_freed_with_the_session() {
    let server = Server::start(vec![Reply::json(200, text_completion("ok"))]).await;
    let model = with_prop(openai("model", &server), "memory", r("mem"));
    let mem = with_prop(
        component("mem", Kind::Memory, "short_term"),
        "max_turns",
        Value::Int(2),
    );
    let rt = Runtime::start(config(vec![mem, model], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let sends = (0..3)
        .flat_map(|t| ["a", "b"].map(|s| (s, t)))
        .map(|(s, t)| {
            let rt = rt.clone();
            async move {
                rt.send(InputRequest::text("model", format!("{s}{t}")).in_session(s))
                    .await
                    .unwrap()
            }
        });
    futures_util::future::join_all(sends).await;
    for s in ["a", "b"] {
        let h: Vec<String> = rt
            .session_history(s)
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(
            h,
            [format!("{s}1"), "ok".into(), format!("{s}2"), "ok".into()]
        );
    }
    // The provider saw the window before each new input, and never the other session's turns.
    for req in server.requests() {
        let msgs: Vec<String> = req.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap_or("").to_string())
            .collect();
        let session = &msgs.last().unwrap()[..1];
        assert!(
            msgs.iter()
                .filter(|m| *m != "ok")
                .all(|m| m.starts_with(session)),
            "{msgs:?}"
        );
        assert!(msgs.len() <= 5, "window bounded to 2 turns: {msgs:?}");
    }
    assert!(rt.end_session("a").await);
    assert!(rt.session_history("a").is_empty());
    assert_eq!(rt.session_history("b").len(), 4);
}

/// Runs `send_stream` on a second arbiter, as an HTTP worker does, and collects the turn there.
/// `first_chunk` gets the first token's text as it arrives on that thread.
fn stream_from_another_arbiter(
    rt: &Runtime,
    req: InputRequest,
    first_chunk: std::sync::mpsc::Sender<String>,
) -> tokio::sync::oneshot::Receiver<(Vec<Envelope>, Result<InputResponse, RuntimeError>)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let rt = rt.clone();
    let arbiter = actix_rt::Arbiter::new();
    arbiter.spawn_fn(move || {
        actix_rt::spawn(async move {
            let mut events = rt.send_stream(req).await.expect("stream starts");
            let mut seen = Vec::new();
            let mut first = Some(first_chunk);
            let end = loop {
                match events.next().await {
                    Some(RuntimeEvent::Event(e)) => {
                        if e.event_type == EventType::StreamChunk {
                            if let Some(f) = first.take() {
                                let _ = f.send(e.payload["chunk"].as_str().unwrap_or("").into());
                            }
                        }
                        seen.push(e);
                    }
                    Some(RuntimeEvent::Done(r)) => break Ok(r),
                    Some(RuntimeEvent::Failed(e)) => break Err(e),
                    None => panic!("stream ended without Done/Failed"),
                }
            };
            let _ = tx.send((seen, end));
            actix_rt::Arbiter::current().stop();
        });
    });
    rx
}

#[actix_rt::test]
async fn a_streamed_model_call_runs_on_the_callers_thread() {
    // The reply comes after 300 ms; by then this thread (the actors') is blocked. Its first
    // token can only arrive if the call runs on the caller's arbiter, not here.
    let model = with_prop(
        component("model", Kind::Llm, "mock"),
        "replies",
        Value::List(vec![crate::common::slow(
            "tokens from the caller's thread",
            300,
        )]),
    );
    let rt = Runtime::start(config(vec![model], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let done = stream_from_another_arbiter(&rt, InputRequest::text("model", "go"), first_tx);
    crate::common::eventually("the model call started", || {
        rt.component("model").unwrap().state == ComponentState::Active
    })
    .await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // Blocks the actors' thread on purpose; a hang guard, not a timing assertion.
    let first = first_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a token arrived while the actors' thread was blocked");
    assert_eq!(first, "tokens ");
    let (seen, end) = tokio::time::timeout(Duration::from_secs(30), done)
        .await
        .expect("hang guard")
        .expect("collector answered");
    let text: String = seen
        .iter()
        .filter(|e| e.event_type == EventType::StreamChunk)
        .map(|e| e.payload["chunk"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(text, "tokens from the caller's thread");
    assert_eq!(
        end.unwrap().text().as_deref(),
        Some("tokens from the caller's thread")
    );
}

#[actix_rt::test]
async fn a_panic_in_a_model_call_on_the_callers_thread_restarts_the_component() {
    let mut model = crate::common::mock(
        "model",
        vec![
            crate::common::panic_entry("remote boom"),
            crate::common::s("ok now"),
        ],
    );
    model.supervision = crate::common::sup(
        woodwork_parser::RestartType::Permanent,
        woodwork_parser::Strategy::OneForOne,
        5,
    );
    let rt = Runtime::start(config(vec![model], &[]), RuntimeOptions::default())
        .await
        .unwrap();
    let (first_tx, _first_rx) = std::sync::mpsc::channel();
    let done = stream_from_another_arbiter(&rt, InputRequest::text("model", "go"), first_tx);
    let (_, end) = tokio::time::timeout(Duration::from_secs(30), done)
        .await
        .expect("hang guard")
        .expect("collector answered");
    assert_eq!(end.unwrap().text().as_deref(), Some("ok now"));
    let st = rt.component("model").unwrap();
    assert_eq!(st.restarts, 1);
    assert!(st.last_failure.unwrap().contains("remote boom"));
}
