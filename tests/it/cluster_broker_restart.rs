//! The broker going away under running nodes (issue #12, DESIGN.md §7): a private redis-server /
//! nats-server of the test's own, with persistence, is stopped after a first turn and started
//! again on the same port. While it is down every node answers `/readyz` 503; once it is back
//! they report 200 again, a request succeeds, and the session's memory from before the restart
//! is in the model's prompt (nothing acknowledged to a client was lost).

use crate::common::cluster::{
    get_json, history_of, marker, remembering_agent, wait_nodes, wait_ready, Bus, Namespace,
    PrivateBroker,
};
use crate::common::Server;
use crate::wire::openai_sse::text_completion;
use crate::wire::Reply;
use serde_json::{json, Value};

async fn turn(server: &Server, session: &str, input: &str) -> Value {
    let res = server
        .post_json("/in/input", &json!({"input": input, "session_id": session}))
        .await;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    assert_eq!(
        status,
        200,
        "turn {input} of {session}: {body}\nlogs of {}:\n{}",
        server.base,
        server.logs()
    );
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn nodes_survive_a_broker_restart(bus: Bus) {
    let mut broker = PrivateBroker::start(bus);
    let provider = crate::wire::Server::start(vec![Reply::json(
        200,
        text_completion("Final Answer: noted"),
    )])
    .await;
    let ns = Namespace::on(bus, &broker.url(), "broker-restart").await;
    let file = remembering_agent("cluster-broker-restart", Some(&provider.url));
    let a = ns.node(&file, "a", &["in", "out"], &[]);
    let b = ns.node(&file, "b", &["assistant", "model", "mem"], &[]);
    wait_nodes(&a, &["a", "b"]).await;
    wait_ready(&a, 200).await;

    let v = turn(&a, "r-1", &marker(1, 0)).await;
    assert_eq!(v["output"], "noted", "{v}");

    broker.stop();
    wait_ready(&a, 503).await;
    wait_ready(&b, 503).await;
    let (_, health) = get_json(&a, "/health").await;
    assert_ne!(
        health["status"], "healthy",
        "the broker is down: {health:#}"
    );

    broker.restart();
    wait_ready(&a, 200).await;
    wait_ready(&b, 200).await;
    wait_nodes(&a, &["a", "b"]).await;

    // The session's memory from before the restart is in the next turn's prompt.
    let v = turn(&a, "r-1", &marker(1, 1)).await;
    assert_eq!(v["output"], "noted", "{v}");
    assert_eq!(v["session_id"], "r-1");
    let calls = provider.requests();
    assert_eq!(
        calls.len(),
        2,
        "one model call per turn; broker log:\n{}",
        broker.log()
    );
    assert_eq!(
        history_of(&calls[1].body),
        (1, 1),
        "the second turn sees the first"
    );
    let (status, session) = get_json(&a, "/sessions/r-1").await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["turns"], 2, "{session:#}");

    // A new session works too.
    let v = turn(&a, "r-2", &marker(2, 0)).await;
    assert_eq!(v["output"], "noted", "{v}");
    assert_eq!(history_of(&provider.requests()[2].body), (2, 0));
}

#[tokio::test]
async fn redis_nodes_survive_a_broker_restart() {
    nodes_survive_a_broker_restart(Bus::Redis).await;
}

#[tokio::test]
async fn nats_nodes_survive_a_broker_restart() {
    nodes_survive_a_broker_restart(Bus::Nats).await;
}
