//! The agent loop over the mock model: tool calls (native and `Action:` text), observations fed
//! back, step events, final answers, step limit.

mod common;

use common::*;
use woodwork_parser::{Kind, Value};
use woodwork_runtime::*;

fn agent_cfg(replies: Vec<Value>, max_steps: Option<i64>) -> woodwork_parser::Config {
    let mut agent = with_prop(component("agent", Kind::Agent, "llm"), "model", r("model"));
    agent = with_prop(agent, "tools", Value::List(vec![r("search")]));
    if let Some(n) = max_steps {
        agent = with_prop(agent, "max_steps", Value::Int(n));
    }
    config(
        vec![
            mock("model", replies),
            component("search", Kind::Api, "web"),
            component("cli", Kind::Input, "api"),
            agent,
            component("out", Kind::Output, "console"),
        ],
        &[("cli", "agent"), ("agent", "out")],
    )
}

fn tool_entry(tool: &str) -> Value {
    map(&[
        ("tool", s(tool)),
        ("action", s("get")),
        ("inputs", map(&[("q", s("rust"))])),
    ])
}

#[actix_rt::test]
async fn native_tool_call_then_final_answer_emits_woodwork_events() {
    let rt = Runtime::start(
        agent_cfg(
            vec![
                tool_entry("search"),
                s("Thought: got it\nFinal Answer: done"),
            ],
            None,
        ),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut events = rt.bus().subscribe(None, 256);
    let r = rt
        .send(InputRequest::text("cli", "find rust"))
        .await
        .unwrap();
    assert_eq!(r.text().as_deref(), Some("done"));
    let mut seen = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if ev.event_type == EventType::ToolObservation {
            // The tool component exists but its type is not implemented yet: the agent sees the error.
            assert!(ev.payload["observation"]
                .as_str()
                .unwrap()
                .contains("not implemented yet"));
        }
        if ev.event_type == EventType::ToolCall && ev.sender.as_ref() == "agent" {
            assert_eq!(ev.payload["args"]["q"], "rust");
        }
        seen.push(ev.event_type);
    }
    for e in [
        EventType::AgentAction,
        EventType::ToolCall,
        EventType::ToolObservation,
        EventType::AgentStepComplete,
        EventType::AgentThought,
        EventType::AgentResponse,
    ] {
        assert!(seen.contains(&e), "missing {e}: {seen:?}");
    }
}

#[actix_rt::test]
async fn action_json_in_text_calls_the_tool() {
    let rt = Runtime::start(
        agent_cfg(
            vec![
                s("Thought: search\nAction: {\"tool\": \"search\", \"action\": \"get\", \"inputs\": {\"q\": 1}}"),
                s("Final Answer: ok"),
            ],
            None,
        ),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut obs = rt.bus().subscribe(Some(EventType::ToolObservation), 16);
    let r = rt.send(InputRequest::text("cli", "x")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("ok"));
    assert!(obs.try_recv().is_ok());
}

#[actix_rt::test]
async fn unknown_tools_are_observed_as_errors() {
    let rt = Runtime::start(
        agent_cfg(vec![tool_entry("nope"), s("Final Answer: recovered")], None),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut obs = rt.bus().subscribe(Some(EventType::ToolObservation), 16);
    let r = rt.send(InputRequest::text("cli", "x")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("recovered"));
    let ev = obs.try_recv().unwrap();
    assert!(ev.payload["observation"]
        .as_str()
        .unwrap()
        .contains("unknown tool `nope`"));
}

#[actix_rt::test]
async fn the_step_limit_ends_a_looping_agent() {
    let rt = Runtime::start(
        agent_cfg(vec![tool_entry("search")], Some(3)),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let e = rt
        .send(InputRequest::text("cli", "loop"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "component_failed");
    assert!(e.to_string().contains("3 steps"), "{e}");
}
