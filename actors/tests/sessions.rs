//! Sessions: ordering under concurrency, isolation, reject policy, eviction, bounded memory;
//! graceful shutdown drains.

mod common;

use common::*;
use futures_util::future::join_all;
use std::time::Duration;
use woodwork_parser::{Kind, SessionPolicy};
use woodwork_runtime::*;

fn echo_pipeline() -> woodwork_parser::Config {
    pipeline(component("model", Kind::Llm, "mock"))
}

/// The echo pipeline whose agent declares `memory:` (so it keeps the session's conversation).
fn remembering_pipeline() -> woodwork_parser::Config {
    let mut cfg = echo_pipeline();
    cfg.components
        .insert(0, component("mem", Kind::Memory, "short_term"));
    cfg.start_order.insert(0, "mem".into());
    let agent = cfg
        .components
        .iter_mut()
        .find(|c| c.name == "agent")
        .unwrap();
    agent.props.insert("memory".into(), r("mem"));
    cfg
}

#[actix_rt::test]
async fn one_session_handles_100_concurrent_inputs_in_order() {
    let opts = RuntimeOptions {
        session_queue_limit: 128,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(echo_pipeline(), opts).await.unwrap();
    let mut responses = rt.bus().subscribe(Some(EventType::AgentResponse), 256);
    let sends =
        (0..100).map(|i| rt.send(InputRequest::text("cli", format!("m{i}")).in_session("s1")));
    let results = join_all(sends).await;
    for (i, r) in results.into_iter().enumerate() {
        let r = r.unwrap();
        assert_eq!(r.session_id, "s1");
        assert_eq!(r.text().unwrap(), format!("echo: m{i}"));
    }
    let mut order = Vec::new();
    while let Ok(ev) = responses.try_recv() {
        order.push(ev.payload["response"].as_str().unwrap().to_string());
    }
    let expected: Vec<String> = (0..100).map(|i| format!("echo: m{i}")).collect();
    assert_eq!(
        order, expected,
        "turns of one session run one at a time, in arrival order"
    );
    let info = rt.session("s1").unwrap();
    assert_eq!(info.turns, 100);
    assert!(!info.busy);
    assert_eq!(info.queued, 0);
}

#[actix_rt::test]
async fn concurrent_sessions_are_isolated() {
    let rt = Runtime::start(remembering_pipeline(), RuntimeOptions::default())
        .await
        .unwrap();
    let sends = (0..20)
        .flat_map(|s| (0..5).map(move |t| (s, t)))
        .map(|(s, t)| {
            let rt = rt.clone();
            async move {
                let r = rt
                    .send(
                        InputRequest::text("cli", format!("s{s}-t{t}"))
                            .in_session(format!("sess-{s}")),
                    )
                    .await
                    .unwrap();
                assert_eq!(r.text().unwrap(), format!("echo: s{s}-t{t}"));
            }
        });
    join_all(sends).await;
    for s in 0..20 {
        let id = format!("sess-{s}");
        assert_eq!(rt.session(&id).unwrap().turns, 5);
        let history = rt.session_history(&id);
        assert_eq!(history.len(), 10);
        let prefix = format!("s{s}-");
        assert!(
            history.iter().all(|m| m.content.contains(&prefix)),
            "session {id} saw another session's messages: {history:?}"
        );
    }
}

#[actix_rt::test]
async fn session_memory_is_bounded() {
    let rt = Runtime::start(remembering_pipeline(), RuntimeOptions::default())
        .await
        .unwrap();
    for i in 0..40 {
        rt.send(InputRequest::text("cli", format!("{i}")).in_session("long"))
            .await
            .unwrap();
    }
    let h = rt.session_history("long");
    // Default `max_turns` 20: the last 20 turns, a user and an assistant message each.
    assert_eq!(h.len(), 2 * woodwork_runtime::memory::DEFAULT_MAX_TURNS);
    assert_eq!(h[0].content, "20");
    assert_eq!(h.last().unwrap().content, "echo: 39");
}

#[actix_rt::test]
async fn agents_without_memory_keep_no_conversation() {
    let rt = Runtime::start(echo_pipeline(), RuntimeOptions::default())
        .await
        .unwrap();
    rt.send(InputRequest::text("cli", "x").in_session("nomem"))
        .await
        .unwrap();
    assert!(rt.session_history("nomem").is_empty());
    assert_eq!(rt.session("nomem").unwrap().turns, 1);
}

#[actix_rt::test]
async fn reject_policy_refuses_a_busy_session() {
    let model = mock("model", vec![slow("slow", 200)]);
    let mut cfg = pipeline(model);
    for c in &mut cfg.components {
        c.session_policy = SessionPolicy::Reject;
    }
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let (a, b) = futures_util::join!(
        rt.send(InputRequest::text("cli", "a").in_session("busy")),
        rt.send(InputRequest::text("cli", "b").in_session("busy")),
    );
    assert!(a.is_ok());
    let e = b.unwrap_err();
    assert_eq!(e.code(), "session_busy");
}

#[actix_rt::test]
async fn idle_sessions_are_evicted_and_can_be_ended() {
    let opts = RuntimeOptions {
        session_ttl: Duration::from_millis(50),
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(echo_pipeline(), opts).await.unwrap();
    rt.send(InputRequest::text("cli", "x").in_session("old"))
        .await
        .unwrap();
    rt.send(InputRequest::text("cli", "x").in_session("ended"))
        .await
        .unwrap();
    assert!(rt.end_session("ended").await);
    assert!(!rt.end_session("ended").await);
    assert!(rt.session("ended").is_none());
    eventually("idle session evicted", || rt.session("old").is_none()).await;
    assert_eq!(rt.session_count(), 0);
}

#[actix_rt::test]
async fn bad_session_ids_are_invalid_input() {
    let rt = Runtime::start(echo_pipeline(), RuntimeOptions::default())
        .await
        .unwrap();
    let e = rt
        .send(InputRequest::text("cli", "x").in_session(""))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    let e = rt
        .send(InputRequest::text("cli", "x").in_session("x".repeat(500)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
}

#[actix_rt::test]
async fn graceful_shutdown_drains_in_flight_work() {
    let model = mock("model", vec![slow("finished", 150)]);
    let rt = Runtime::start(pipeline(model), RuntimeOptions::default())
        .await
        .unwrap();
    let (done, ()) = futures_util::join!(rt.send(InputRequest::text("cli", "x")), async {
        tokio::task::yield_now().await;
        rt.shutdown().await;
    });
    assert_eq!(done.unwrap().text().as_deref(), Some("finished"));
    let e = rt
        .send(InputRequest::text("cli", "late"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "shutting_down");
    assert!(!rt.is_accepting());
    for c in rt.components() {
        assert_eq!(c.state, ComponentState::Terminated, "{}", c.name);
    }
}

#[actix_rt::test]
async fn dropping_an_event_stream_cancels_the_turn() {
    let model = mock("model", vec![slow("never read", 5_000), s("next")]);
    let rt = Runtime::start(pipeline(model), RuntimeOptions::default())
        .await
        .unwrap();
    let stream = rt
        .send_stream(InputRequest::text("cli", "x").in_session("c"))
        .await
        .unwrap();
    eventually("turn started", || rt.session("c").is_some_and(|s| s.busy)).await;
    drop(stream);
    eventually("turn cancelled and session released", || {
        rt.session("c").is_some_and(|s| !s.busy)
    })
    .await;
    let r = rt
        .send(InputRequest::text("cli", "y").in_session("c"))
        .await
        .unwrap();
    assert_eq!(r.text().as_deref(), Some("next"));
}
