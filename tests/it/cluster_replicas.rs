//! Replicas (issue #12, DESIGN.md §7): two nodes host the same agent and share its load, and a
//! session's turns are handled in the order they were accepted even when they land on different
//! replicas. Every turn is queued on its session before any is answered; the agent has
//! conversation memory, so the model call of turn k must show turns 0..k of its session, in order,
//! and nothing of another session's. Each node calls a provider of its own, so the calls each
//! provider received show which replica handled what (and that the agent's node calls the model).

use crate::common::cluster::{
    get_json, history_of, marker, remembering_agent, wait_nodes, Bus, Namespace, WAIT,
};
use crate::wire::openai_sse::text_completion;
use crate::wire::Reply;
use serde_json::{json, Value};

const SESSIONS: usize = 8;
const TURNS: usize = 4;

/// The environment pointing a node's `llm openai` (no key or URL in the file) at `base`.
fn env(base: &str) -> [(&'static str, &str); 2] {
    [("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", base)]
}

/// A provider that always says "noted".
async fn noted() -> crate::wire::Server {
    crate::wire::Server::start(vec![Reply::json(
        200,
        text_completion("Final Answer: noted"),
    )])
    .await
}

async fn replicas_share_load_and_keep_session_order(bus: Bus) {
    // Each node's model calls go to a provider of its own (OPENAI_BASE_URL of its environment):
    // who handled a turn is read off the provider it called.
    let (pa, p1, p2) = (noted().await, noted().await, noted().await);
    let (ba, b1_url, b2_url) = (
        format!("{}/v1", pa.url),
        format!("{}/v1", p1.url),
        format!("{}/v1", p2.url),
    );
    let ns = Namespace::shared(bus, "replicas").await;
    let file = remembering_agent("cluster-replicas", None);
    let agent_side = ["assistant", "model", "mem"];
    let a = ns.node_env(&file, "a", &["in", "out"], &[], &env(&ba));
    let b1 = ns.node_env(&file, "b1", &agent_side, &[], &env(&b1_url));
    let b2 = ns.node_env(&file, "b2", &agent_side, &[], &env(&b2_url));
    wait_nodes(&a, &["a", "b1", "b2"]).await;
    let (_, assistant) = get_json(&a, "/components/assistant").await;
    let mut hosts: Vec<&str> = assistant["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no `nodes` in /components/assistant: {assistant}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    hosts.sort();
    assert_eq!(hosts, ["b1", "b2"], "{assistant}");
    assert_eq!(assistant["local"], false, "{assistant}");

    // Queue every turn before any is answered: turn k of each session is accepted by `a` after
    // turn k-1 (start_turn returns once the server logged accepting it).
    let mut turns = Vec::new();
    for t in 0..TURNS {
        for s in 0..SESSIONS {
            let id = format!("rep-{s}-{t}");
            let body = json!({"input": marker(s, t), "session_id": format!("rep-{s}")});
            turns.push((s, a.start_turn("/in/input", &id, body).await));
        }
    }
    for (s, turn) in turns {
        let res = tokio::time::timeout(WAIT, turn)
            .await
            .unwrap_or_else(|_| panic!("hang guard: a turn of session {s} never answered"))
            .expect("the request task");
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, 200, "session {s}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(v["output"], "noted", "{v}");
        assert_eq!(v["session_id"], format!("rep-{s}"), "{v}");
    }

    // Each turn made exactly one model call, from a replica, and each saw its session's earlier
    // turns in order, whichever replica handled them.
    assert!(
        pa.requests().is_empty(),
        "the HTTP node called the model itself: {:#?}",
        pa.requests()
    );
    let (c1, c2) = (p1.requests(), p2.requests());
    assert_eq!(
        c1.len() + c2.len(),
        SESSIONS * TURNS,
        "one model call per turn: b1 made {}, b2 {}",
        c1.len(),
        c2.len()
    );
    assert!(
        !c1.is_empty() && !c2.is_empty(),
        "the replicas did not share the load: b1 made {} model calls, b2 {}\nb1:\n{}\nb2:\n{}",
        c1.len(),
        c2.len(),
        b1.logs(),
        b2.logs()
    );
    let mut seen: Vec<(usize, usize)> = c1.iter().chain(&c2).map(|c| history_of(&c.body)).collect();
    seen.sort();
    let want: Vec<(usize, usize)> = (0..SESSIONS)
        .flat_map(|s| (0..TURNS).map(move |t| (s, t)))
        .collect();
    assert_eq!(seen, want, "each turn once, with its whole history");
}

#[tokio::test]
async fn redis_replicas_share_load_and_keep_session_order() {
    replicas_share_load_and_keep_session_order(Bus::Redis).await;
}

#[tokio::test]
async fn nats_replicas_share_load_and_keep_session_order() {
    replicas_share_load_and_keep_session_order(Bus::Nats).await;
}
