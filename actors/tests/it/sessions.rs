//! Sessions: ordering under concurrency, isolation, reject policy, eviction, bounded memory;
//! graceful shutdown drains; a full table under concurrent load; ending a session mid-turn.

use crate::common::*;
use futures_util::future::join_all;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use woodwork_parser::{Kind, SessionPolicy};
use woodwork_runtime::session::SessionTable;
use woodwork_runtime::*;

fn echo_pipeline() -> woodwork_parser::Config {
    pipeline(component("model", Kind::Llm, "mock"))
}

/// The echo pipeline whose agent declares `memory:` (so it keeps the session's conversation).
fn remembering_pipeline() -> woodwork_parser::Config {
    remembering(echo_pipeline())
}

/// `cfg` with a `mem` memory component that its agent uses.
fn remembering(mut cfg: woodwork_parser::Config) -> woodwork_parser::Config {
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

#[test]
fn a_full_table_under_concurrent_new_sessions_is_never_overloaded_while_sessions_are_idle() {
    // Four threads open one-turn sessions as fast as they can in a table at its limit: at most
    // four sessions are busy at any moment, so every admission must find an idle one to evict.
    let table = SessionTable::new(Duration::from_secs(3600), 64, 4);
    for i in 0..64 {
        drop(
            table
                .begin(Some(&format!("idle-{i}")), SessionPolicy::Enqueue)
                .unwrap(),
        );
    }
    let overloaded = AtomicUsize::new(0);
    let over_the_cap = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..20_000 {
                    match table.begin(None, SessionPolicy::Enqueue) {
                        Ok((admission, created)) => {
                            assert!(created);
                            if table.len() > 64 {
                                over_the_cap.fetch_add(1, Ordering::Relaxed);
                            }
                            drop(admission);
                        }
                        Err(e) => {
                            assert_eq!(e.code(), "overloaded", "{e}");
                            overloaded.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    assert_eq!(
        overloaded.load(Ordering::Relaxed),
        0,
        "503 overloaded while at most 4 of 64 sessions were busy"
    );
    assert_eq!(
        over_the_cap.load(Ordering::Relaxed),
        0,
        "the table grew past max_sessions"
    );
    assert_eq!(table.len(), 64);
}

#[actix_rt::test]
async fn one_shot_anonymous_sessions_do_not_evict_a_conversation() {
    let opts = RuntimeOptions {
        max_sessions: 8,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(remembering_pipeline(), opts).await.unwrap();
    rt.send(InputRequest::text("cli", "my name is Alice").in_session("alice"))
        .await
        .unwrap();
    // Alice is now the least recently active session; a stream of requests without a session id
    // (each its own one-turn session, with memory of that one turn) fills the table many times.
    for i in 0..100 {
        let r = rt
            .send(InputRequest::text("cli", format!("anonymous {i}")))
            .await
            .unwrap();
        assert_eq!(r.text().unwrap(), format!("echo: anonymous {i}"));
    }
    assert_eq!(rt.session_count(), 8);
    let history = rt.session_history("alice");
    assert_eq!(
        history.first().map(|m| m.content.as_str()),
        Some("my name is Alice"),
        "alice's conversation was evicted by one-shot sessions"
    );
    // A returning anonymous session (it used its id again) is a conversation too.
    let first = rt
        .send(InputRequest::text("cli", "first"))
        .await
        .unwrap()
        .session_id;
    rt.send(InputRequest::text("cli", "second").in_session(&first))
        .await
        .unwrap();
    for i in 0..50 {
        rt.send(InputRequest::text("cli", format!("more {i}")))
            .await
            .unwrap();
    }
    assert_eq!(rt.session_history(&first).len(), 4);
    assert_eq!(rt.session_history("alice").len(), 2);
}

#[actix_rt::test]
async fn a_table_full_of_conversations_still_admits_new_sessions() {
    let opts = RuntimeOptions {
        max_sessions: 4,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(remembering_pipeline(), opts).await.unwrap();
    for i in 0..4 {
        rt.send(InputRequest::text("cli", "hi").in_session(format!("c{i}")))
            .await
            .unwrap();
    }
    // Every session holds a conversation and none is busy: the least recently active one goes.
    rt.send(InputRequest::text("cli", "hi").in_session("c4"))
        .await
        .unwrap();
    assert!(rt.session("c0").is_none());
    for i in 1..5 {
        assert!(rt.session(&format!("c{i}")).is_some(), "c{i}");
    }
}

#[actix_rt::test]
async fn ending_a_session_mid_turn_cancels_the_turn_and_keeps_its_answer_out_of_the_next_session() {
    let model = mock("model", vec![slow("old answer", 5_000), s("new answer")]);
    let rt = Runtime::start(remembering(pipeline(model)), RuntimeOptions::default())
        .await
        .unwrap();
    let old = actix_rt::spawn({
        let rt = rt.clone();
        async move {
            rt.send(InputRequest::text("cli", "old question").in_session("s"))
                .await
        }
    });
    eventually("the old turn is running", || {
        rt.session("s").is_some_and(|s| s.busy)
    })
    .await;
    assert!(rt.end_session("s").await);
    // A new turn with the same id is a new session, even while the old turn's model call runs.
    let new = rt
        .send(InputRequest::text("cli", "new question").in_session("s"))
        .await
        .unwrap();
    assert_eq!(new.text().as_deref(), Some("new answer"));
    let old = old.await.unwrap();
    let history: Vec<String> = rt
        .session_history("s")
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(history, ["new question", "new answer"]);
    let e = old.expect_err("the ended session's turn was cancelled");
    assert_eq!(e.code(), "session_ended");
    assert!(e.to_string().contains("ended"), "{e}");
    assert_eq!(rt.session("s").unwrap().turns, 1);
}

#[actix_rt::test]
async fn conversation_memory_in_total_stays_within_its_budget() {
    let opts = RuntimeOptions {
        session_memory_budget: 4096,
        ..RuntimeOptions::default()
    };
    let rt = Runtime::start(remembering_pipeline(), opts).await.unwrap();
    let mut ended = rt.bus().subscribe(Some(EventType::SessionEnded), 64);
    let text = "x".repeat(300); // a turn keeps 606 bytes: the input and "echo: " + the input
    for i in 0..20 {
        rt.send(InputRequest::text("cli", text.clone()).in_session(format!("m{i}")))
            .await
            .unwrap();
        assert!(
            rt.session_memory_bytes() <= 4096,
            "{}",
            rt.session_memory_bytes()
        );
    }
    let kept: Vec<usize> = (0..20)
        .filter(|i| !rt.session_history(&format!("m{i}")).is_empty())
        .collect();
    assert_eq!(
        kept,
        (14..20).collect::<Vec<_>>(),
        "the 6 most recent fit 4 KiB"
    );
    let bytes: usize = kept
        .iter()
        .flat_map(|i| rt.session_history(&format!("m{i}")))
        .map(|m| m.content.len())
        .sum();
    assert_eq!(bytes, rt.session_memory_bytes());
    // The forgotten conversations' sessions ended, and said so.
    assert!(rt.session("m0").is_none());
    let mut announced = Vec::new();
    while let Ok(ev) = ended.try_recv() {
        announced.push(ev.payload["session_id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        announced,
        (0..14).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );
}
