//! Durable sessions (issue #12, DESIGN.md §7): with a broker, a session and its conversation
//! memory live in the broker, so they survive a restart of every node. One turn, then the agent's
//! node is killed and the HTTP node stopped; both start again under the same names and the next
//! turn's prompt holds the first turn.

use crate::common::cluster::{
    get_json, history_of, marker, remembering_agent, wait_nodes, Bus, Namespace,
};
use crate::wire::openai_sse::text_completion;
use crate::wire::Reply;
use serde_json::{json, Value};

async fn memory_survives_every_node_restarting(bus: Bus) {
    let provider = crate::wire::Server::start(vec![Reply::json(
        200,
        text_completion("Final Answer: noted"),
    )])
    .await;
    let ns = Namespace::shared(bus, "memory").await;
    let file = remembering_agent("cluster-memory", Some(&provider.url));
    let agent_side = ["assistant", "model", "mem"];
    {
        let mut a = ns.node(&file, "a", &["in", "out"], &[]);
        let mut b = ns.node(&file, "b", &agent_side, &[]);
        wait_nodes(&a, &["a", "b"]).await;
        let res = a
            .post_json(
                "/in/input",
                &json!({"input": marker(7, 0), "session_id": "m-7"}),
            )
            .await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        b.signal("KILL");
        b.wait_exit();
        a.signal("TERM");
        a.wait_exit();
    }

    let a = ns.node(&file, "a", &["in", "out"], &[]);
    let b = ns.node(&file, "b", &agent_side, &[]);
    wait_nodes(&a, &["a", "b"]).await;
    let (status, session) = get_json(&a, "/sessions/m-7").await;
    assert_eq!(status, 200, "the session outlived its nodes: {session}");
    assert_eq!(session["turns"], 1, "{session:#}");

    let res = a
        .post_json(
            "/in/input",
            &json!({"input": marker(7, 1), "session_id": "m-7"}),
        )
        .await;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}\na:\n{}\nb:\n{}", a.logs(), b.logs());
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["output"], "noted", "{v}");
    let calls = provider.requests();
    assert_eq!(calls.len(), 2, "one model call per turn");
    assert_eq!(
        history_of(&calls[1].body),
        (7, 1),
        "the turn after the restart sees the one before"
    );
    let (_, session) = get_json(&a, "/sessions/m-7").await;
    assert_eq!(session["turns"], 2, "{session:#}");
}

#[tokio::test]
async fn redis_memory_survives_every_node_restarting() {
    memory_survives_every_node_restarting(Bus::Redis).await;
}

#[tokio::test]
async fn nats_memory_survives_every_node_restarting() {
    memory_survives_every_node_restarting(Bus::Nats).await;
}
