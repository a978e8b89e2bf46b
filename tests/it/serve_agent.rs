//! An agent over HTTP + SSE against the real binary, its model an `llm openai` pointed at an
//! in-test loopback server speaking Chat Completions SSE: a native tool call (another llm), then
//! a streamed final answer; and a client that disconnects mid-stream closes the provider's
//! connection.

use crate::common::{client, parse_sse, write_ww, Server};
use crate::wire::openai_sse::{text_stream, text_stream_open, tool_call_stream};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;

fn agent_file(provider: &str) -> std::path::PathBuf {
    write_ww(
        "agent-openai",
        &format!(
            r#"brain = llm openai {{
    api_key: "sk-test-key"
    model: "gpt-test"
    base_url: "{provider}/v1"
}}
helper = llm mock {{}}
assistant = agent llm {{
    model: brain
    tools: [helper]
}}
in = input command_line {{ to: assistant }}
out = output console {{}}
"#
        ),
    )
}

#[tokio::test]
async fn an_agent_tool_call_and_streamed_answer_arrive_as_sse_events() {
    // Step 1: a thought, then a native call of `helper`; step 2: the final answer, streamed.
    let mut step1 = text_stream_open(&["Thought: ask the helper"]);
    step1.extend(tool_call_stream(
        "call_7",
        "helper",
        r#"{"input": "capital of France?"}"#,
    ));
    let provider = crate::wire::Server::start(vec![
        crate::wire::Reply::sse(step1, crate::wire::End::Complete),
        crate::wire::Reply::sse(
            text_stream(&[
                "Thought: got it\n",
                "Final Answer: ",
                "Paris, ",
                "of course",
            ]),
            crate::wire::End::Complete,
        ),
    ])
    .await;
    let server = Server::start(&agent_file(&provider.url), &[]);
    let res = client()
        .post(server.url("/in/input?stream=true"))
        .json(&json!({"input": "What is the capital of France?", "session_id": "s-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    let events = parse_sse(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("no {n} in {names:?}"))
    };
    for pair in [
        ("agent.thought", "agent.action"),
        ("agent.action", "tool.call"),
        ("tool.call", "tool.observation"),
        ("tool.observation", "agent.step_complete"),
        ("agent.step_complete", "stream.chunk"),
        ("stream.chunk", "agent.response"),
        ("agent.response", "done"),
    ] {
        assert!(
            pos(pair.0) < pos(pair.1),
            "{} before {}: {names:?}",
            pair.0,
            pair.1
        );
    }
    assert_eq!(*names.last().unwrap(), "done");
    let (_, thought) = &events[pos("agent.thought")];
    assert_eq!(thought["payload"]["thought"], "ask the helper");
    assert_eq!(thought["payload"]["component_id"], "assistant");
    assert_eq!(thought["payload"]["component_type"], "llm");
    let (_, call) = &events[pos("tool.call")];
    assert_eq!(call["payload"]["tool"], "helper");
    assert_eq!(call["payload"]["args"]["input"], "capital of France?");
    let (_, obs) = &events[pos("tool.observation")];
    assert_eq!(obs["payload"]["observation"], "echo: capital of France?");
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "stream.chunk")
        .map(|(_, d)| d["payload"]["chunk"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Paris, of course");
    let (_, response) = &events[pos("agent.response")];
    assert_eq!(response["payload"]["response"], "Paris, of course");
    let (_, done) = events.last().unwrap();
    assert_eq!(done["output"], "Paris, of course");
    assert_eq!(done["session_id"], "s-1");
    // The provider got the tool result back on the second call.
    let reqs = provider.requests();
    assert_eq!(reqs.len(), 2);
    let msgs = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(
        msgs.last().unwrap(),
        &json!({"role": "tool", "tool_call_id": "call_7", "content": "echo: capital of France?"})
    );
    // The console printed the streamed answer on the server's stdout.
    server.wait_for_log(&["Paris, of course"]).await;
}

#[tokio::test]
async fn a_client_disconnecting_mid_stream_closes_the_provider_connection() {
    let provider = crate::wire::Server::start(vec![crate::wire::Reply::sse(
        text_stream_open(&["Final Answer: ", "once ", "upon "]),
        crate::wire::End::Hold,
    )])
    .await;
    let server = Server::start(&agent_file(&provider.url), &[]);
    let res = client()
        .post(server.url("/in/input?stream=true"))
        .json(&json!({"input": "tell me a story"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while !seen.contains("event: stream.chunk") {
            let bytes = body.next().await.expect("stream ended early").unwrap();
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    })
    .await
    .expect("hang guard: no chunk");
    drop(body); // the client goes away mid-answer
    provider.wait_held_connection_closed().await;
    server.wait_for_log(&["client went away"]).await;
    crate::common::assert_alive(&server).await;
}
