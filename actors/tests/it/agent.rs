//! The agent loop over the mock model: tool calls (native and `Action:` text), observations fed
//! back, step events, final answers, step limit.

use crate::common::*;
use woodwork_parser::{Kind, Value};
use woodwork_runtime::*;

/// A real tool for the agent: a text-file knowledge base with one line about rust.
fn search_tool() -> woodwork_parser::Component {
    // A file per call: the tests of this binary run at once and must not rewrite each other's.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("ww-agent-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!("facts-{n}.txt"));
    std::fs::write(
        &file,
        "rust: a systems language
lunch: at noon
",
    )
    .unwrap();
    with_prop(
        component("search", Kind::KnowledgeBase, "text_file"),
        "path",
        s(file.to_str().unwrap()),
    )
}

fn agent_cfg(replies: Vec<Value>, max_steps: Option<i64>) -> woodwork_parser::Config {
    let mut agent = with_prop(component("agent", Kind::Agent, "llm"), "model", r("model"));
    agent = with_prop(agent, "tools", Value::List(vec![r("search")]));
    if let Some(n) = max_steps {
        agent = with_prop(agent, "max_steps", Value::Int(n));
    }
    config(
        vec![
            mock("model", replies),
            search_tool(),
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
        ("action", s("query")),
        ("inputs", map(&[("query", s("rust"))])),
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
            // The tool's real answer: the matching line of the file.
            assert!(ev.payload["observation"]
                .as_str()
                .unwrap()
                .contains("rust: a systems language"));
        }
        if ev.event_type == EventType::ToolCall && ev.sender.as_ref() == "agent" {
            assert_eq!(ev.payload["args"]["query"], "rust");
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
                s("Thought: search\nAction: {\"tool\": \"search\", \"action\": \"query\", \"inputs\": {\"query\": \"rust\"}}"),
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

fn with_tools(agent: woodwork_parser::Component, tools: &[&str]) -> woodwork_parser::Component {
    with_prop(
        agent,
        "tools",
        Value::List(tools.iter().map(|t| r(t)).collect()),
    )
}

fn tool_call(tool: &str, inputs: Value) -> Value {
    map(&[("tool", s(tool)), ("inputs", inputs)])
}

/// cli → agent(model, tools) → out, plus `extra` components.
fn cfg_with(
    replies: Vec<Value>,
    tools: &[&str],
    extra: Vec<woodwork_parser::Component>,
) -> woodwork_parser::Config {
    let agent = with_tools(
        with_prop(component("agent", Kind::Agent, "llm"), "model", r("model")),
        tools,
    );
    let mut components = vec![mock("model", replies)];
    components.extend(extra);
    components.extend([
        component("cli", Kind::Input, "api"),
        agent,
        component("out", Kind::Output, "console"),
    ]);
    config(components, &[("cli", "agent"), ("agent", "out")])
}

async fn observations(rx: &mut tokio::sync::mpsc::Receiver<Envelope>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        out.push(ev.payload["observation"].as_str().unwrap_or("").to_string());
    }
    out
}

#[actix_rt::test]
async fn ask_user_pauses_the_turn_and_the_next_input_resumes_the_loop() {
    let rt = Runtime::start(
        cfg_with(
            vec![
                tool_call("ask_user", map(&[("question", s("Which city?"))])),
                s("Thought: the user said\nFinal Answer: sunny there"),
            ],
            &[],
            vec![],
        ),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut obs = rt.bus().subscribe(Some(EventType::ToolObservation), 16);
    let first = rt
        .send(InputRequest::text("cli", "weather?").in_session("u1"))
        .await
        .unwrap();
    assert_eq!(first.outputs[0].output["ask_user"], "Which city?");
    assert_eq!(first.text().as_deref(), Some("Which city?"));
    let second = rt
        .send(InputRequest::text("cli", "Paris").in_session("u1"))
        .await
        .unwrap();
    assert_eq!(second.text().as_deref(), Some("sunny there"));
    assert_eq!(observations(&mut obs).await, ["Paris"]);
}

#[actix_rt::test]
async fn ask_user_in_one_session_does_not_capture_another() {
    let rt = Runtime::start(
        cfg_with(
            vec![
                tool_call("ask_user", map(&[("question", s("Which city?"))])),
                s("Final Answer: fresh"),
            ],
            &[],
            vec![],
        ),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut obs = rt.bus().subscribe(Some(EventType::ToolObservation), 16);
    rt.send(InputRequest::text("cli", "q").in_session("a"))
        .await
        .unwrap();
    let other = rt
        .send(InputRequest::text("cli", "hello").in_session("b"))
        .await
        .unwrap();
    assert_eq!(other.text().as_deref(), Some("fresh"));
    assert!(
        observations(&mut obs).await.is_empty(),
        "session b resumed a's loop"
    );
}

#[actix_rt::test]
async fn an_llm_and_an_agent_can_be_tools_and_get_the_inputs_as_text() {
    let helper = component("helper", Kind::Llm, "mock");
    let sub_model = component("sub_model", Kind::Llm, "mock");
    let sub = with_prop(
        component("sub", Kind::Agent, "llm"),
        "model",
        r("sub_model"),
    );
    let rt = Runtime::start(
        cfg_with(
            vec![
                tool_call("helper", map(&[("input", s("summarise rust"))])),
                s("Action: {\"tool\": \"sub\", \"inputs\": {\"task\": \"plan a trip\"}}"),
                s("Final Answer: both done"),
            ],
            &["helper", "sub"],
            vec![helper, sub_model, sub],
        ),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut obs = rt.bus().subscribe(Some(EventType::ToolObservation), 64);
    let r = rt.send(InputRequest::text("cli", "go")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("both done"));
    let seen = observations(&mut obs).await;
    assert!(
        seen.contains(&"echo: summarise rust".to_string()),
        "{seen:?}"
    );
    assert!(seen.contains(&"echo: plan a trip".to_string()), "{seen:?}");
}

#[actix_rt::test]
async fn malformed_actions_are_fed_back_and_the_model_can_correct_itself() {
    let rt = Runtime::start(
        cfg_with(
            vec![
                s("Thought: try\nAction: {\"tool\": \"search\", inputs: oops"),
                s("Final Answer: corrected"),
            ],
            &[],
            vec![],
        ),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut obs = rt.bus().subscribe(Some(EventType::ToolObservation), 16);
    let r = rt.send(InputRequest::text("cli", "x")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("corrected"));
    let seen = observations(&mut obs).await;
    assert_eq!(seen.len(), 1);
    assert!(seen[0].contains("not valid JSON"), "{seen:?}");
}

#[actix_rt::test]
async fn the_step_limit_emits_agent_error() {
    let rt = Runtime::start(
        agent_cfg(vec![tool_entry("search")], Some(2)),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let mut errors = rt.bus().subscribe(Some(EventType::AgentError), 16);
    let e = rt
        .send(InputRequest::text("cli", "loop"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("2 steps"), "{e}");
    let ev = errors.try_recv().unwrap();
    assert!(ev.payload["error"].as_str().unwrap().contains("max_steps"));
    assert_eq!(ev.payload["component_id"], "agent");
    assert_eq!(ev.payload["component_type"], "llm");
    assert!(ev.payload["timestamp"].as_f64().is_some());
}

#[actix_rt::test]
async fn agent_model_calls_feed_the_llm_components_breaker() {
    let mut cfg = cfg_with(vec![error_entry("auth")], &[], vec![]);
    let model = cfg
        .components
        .iter_mut()
        .find(|c| c.name == "model")
        .unwrap();
    model.circuit_breaker.failure_threshold = 2;
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    for _ in 0..2 {
        let e = rt.send(InputRequest::text("cli", "x")).await.unwrap_err();
        assert!(e.to_string().contains("auth"), "{e}");
    }
    assert_eq!(rt.component("model").unwrap().breaker, BreakerState::Open);
    let e = rt.send(InputRequest::text("cli", "x")).await.unwrap_err();
    assert_eq!(e.code(), "unavailable", "{e}");
    assert!(e.retry_after().is_some());
}
