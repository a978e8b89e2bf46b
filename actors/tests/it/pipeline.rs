//! The in-memory path: input → agent(mock) → output, fan-out, unknown components, streaming.

use crate::common::*;
use futures_util::StreamExt;
use woodwork_parser::Kind;
use woodwork_runtime::*;

#[actix_rt::test]
async fn input_agent_output_echoes() {
    let model = component("model", Kind::Llm, "mock");
    let rt = Runtime::start(pipeline(model), RuntimeOptions::default())
        .await
        .unwrap();
    let resp = rt
        .send(InputRequest::text("cli", "hello world"))
        .await
        .unwrap();
    assert_eq!(resp.outputs.len(), 1);
    assert_eq!(resp.outputs[0].component, "out");
    assert_eq!(resp.text().as_deref(), Some("echo: hello world"));
    assert!(rt.session(&resp.session_id).is_some());
    assert_eq!(rt.health().status, HealthStatus::Healthy);
    let agent = rt.component("agent").unwrap();
    assert_eq!(agent.processed, 1);
    assert_eq!(agent.routes_to, vec!["out".to_string()]);
    rt.shutdown().await;
}

#[actix_rt::test]
async fn fixed_reply_and_fan_out_collects_every_terminal_output() {
    let model = with_prop(component("model", Kind::Llm, "mock"), "reply", s("fixed"));
    let agent = with_prop(component("agent", Kind::Agent, "llm"), "model", r("model"));
    let cfg = config(
        vec![
            model,
            component("in", Kind::Input, "api"),
            agent,
            component("a", Kind::Output, "console"),
            // A webhook returns its answer at once; its POST (to a closed port here) runs beside.
            with_prop(
                component("b", Kind::Output, "webhook"),
                "url",
                s("http://127.0.0.1:9/hook"),
            ),
        ],
        &[("in", "agent"), ("agent", "a"), ("agent", "b")],
    );
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let resp = rt.send(InputRequest::text("in", "x")).await.unwrap();
    let mut names: Vec<_> = resp.outputs.iter().map(|o| o.component.clone()).collect();
    names.sort();
    assert_eq!(names, vec!["a", "b"]);
    assert!(resp.outputs.iter().all(|o| o.output == "fixed"));
}

#[actix_rt::test]
async fn unknown_component_lists_known_ones() {
    let rt = Runtime::start(
        pipeline(component("model", Kind::Llm, "mock")),
        RuntimeOptions::default(),
    )
    .await
    .unwrap();
    let err = rt.send(InputRequest::text("nope", "x")).await.unwrap_err();
    assert_eq!(err.code(), "unknown_component");
    match err {
        RuntimeError::UnknownComponent { known, .. } => assert!(known.contains(&"cli".to_string())),
        other => panic!("{other:?}"),
    }
}

#[actix_rt::test]
async fn streamed_turn_sends_chunks_in_order_then_done() {
    let model = with_prop(
        component("model", Kind::Llm, "mock"),
        "reply",
        s("one two three"),
    );
    let rt = Runtime::start(pipeline(model), RuntimeOptions::default())
        .await
        .unwrap();
    let mut stream = rt
        .send_stream(InputRequest::text("cli", "go"))
        .await
        .unwrap();
    let mut chunks = Vec::new();
    let mut done = None;
    let mut saw_response = false;
    while let Some(ev) = stream.next().await {
        match ev {
            RuntimeEvent::Event(env) if env.event_type == EventType::StreamChunk => {
                chunks.push((
                    env.chunk_index.unwrap(),
                    env.payload["chunk"].as_str().unwrap().to_string(),
                    env.is_final.unwrap(),
                ));
            }
            RuntimeEvent::Event(env) if env.event_type == EventType::AgentResponse => {
                saw_response = true
            }
            RuntimeEvent::Event(_) => {}
            RuntimeEvent::Done(r) => done = Some(r),
            RuntimeEvent::Failed(e) => panic!("{e}"),
        }
    }
    assert!(saw_response);
    let text: String = chunks.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(text, "one two three");
    assert!(chunks.iter().enumerate().all(|(i, c)| c.0 as usize == i));
    assert!(chunks.last().unwrap().2);
    assert_eq!(done.unwrap().text().as_deref(), Some("one two three"));
}

#[actix_rt::test]
async fn memory_is_not_an_entry_point() {
    let cfg = config(
        vec![
            component("mem", Kind::Memory, "short_term"),
            mock("model", vec![]),
        ],
        &[],
    );
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let err = rt.send(InputRequest::text("mem", "x")).await.unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(err.to_string().contains("not an entry point"), "{err}");
    assert!(err.to_string().contains("model"), "{err}");
}

#[actix_rt::test]
async fn a_knowledge_base_embedding_with_a_model_that_has_no_embeddings_fails_start_clearly() {
    let kb = with_prop(
        component("kb", Kind::KnowledgeBase, "chroma"),
        "embedding",
        r("model"),
    );
    let cfg = config(vec![mock("model", vec![]), kb], &[]);
    let err = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), "start_failed");
    assert!(err.to_string().contains("`llm mock`"), "{err}");
    assert!(err.to_string().contains("llm openai"), "{err}");
}

#[actix_rt::test]
async fn provider_without_key_fails_start_clearly() {
    let cfg = config(vec![component("gpt", Kind::Llm, "openai")], &[]);
    let err = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), "start_failed");
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
}

#[test]
fn start_outside_an_actix_system_is_a_clear_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cfg = config(vec![component("in", Kind::Input, "api")], &[]);
    let err = rt
        .block_on(Runtime::start(cfg, RuntimeOptions::default()))
        .err()
        .unwrap();
    assert_eq!(err.code(), "start_failed");
    assert!(err.to_string().contains("actix System"), "{err}");
}
