//! The cluster view (issue #12, DESIGN.md §7): every node's `/health` lists the live nodes and
//! what they host, `/components` says which nodes host each component and whether it is local,
//! any node takes input for any component, and a node that stops drops out of the registry.

use crate::common::cluster::{cluster_nodes, get_json, wait_node_gone, wait_nodes, Bus, Namespace};
use crate::common::{quickstart, Server};
use serde_json::{json, Value};

/// The sorted strings of a JSON array (empty when absent).
fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `/components/{name}` on `server`: (nodes hosting it, local).
async fn placement(server: &Server, name: &str) -> (Vec<String>, Value) {
    let (status, c) = get_json(server, &format!("/components/{name}")).await;
    assert_eq!(status, 200, "/components/{name}: {c}");
    (strings(&c["nodes"]), c["local"].clone())
}

async fn the_cluster_view_follows_its_nodes(bus: Bus) {
    let ns = Namespace::shared(bus, "registry").await;
    let a = ns.node(&quickstart(), "a", &["in", "out"], &[]);
    let mut b = ns.node(&quickstart(), "b", &["assistant", "model"], &[]);
    for (server, me) in [(&a, "a"), (&b, "b")] {
        let health = wait_nodes(server, &["a", "b"]).await;
        let cluster = &health["cluster"];
        assert_eq!(cluster["bus"], bus.name(), "{health:#}");
        assert_eq!(cluster["namespace"], ns.name.as_str(), "{health:#}");
        assert_eq!(cluster["node"], me, "{health:#}");
        assert_eq!(cluster_nodes(&health), ["a", "b"], "{health:#}");
        for node in cluster["nodes"].as_array().into_iter().flatten() {
            let want: &[&str] = if node["node"] == "a" {
                &["in", "out"]
            } else {
                &["assistant", "model"]
            };
            assert_eq!(strings(&node["components"]), want, "{health:#}");
            assert!(node["heartbeat_age_ms"].is_u64(), "{health:#}");
        }
    }
    assert_eq!(placement(&a, "in").await, (vec!["a".into()], json!(true)));
    assert_eq!(
        placement(&a, "assistant").await,
        (vec!["b".into()], json!(false))
    );
    assert_eq!(
        placement(&b, "assistant").await,
        (vec!["b".into()], json!(true))
    );
    let (status, all) = get_json(&a, "/components").await;
    assert_eq!(status, 200);
    let listed = all
        .as_array()
        .or_else(|| all["components"].as_array())
        .unwrap_or_else(|| panic!("/components is not a list: {all}"));
    assert_eq!(
        listed.len(),
        4,
        "the whole system, not only a's part: {all:#}"
    );

    // Input for a component b does not host, sent to b.
    let res = b
        .post_json("/in/input", &json!({"input": "hello", "session_id": "g-1"}))
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"], "echo: hello", "{v}");
    assert_eq!(v["component"], "in", "{v}");

    // b stops: it leaves a's view, and its components have no live node.
    b.signal("KILL");
    b.wait_exit();
    let health = wait_node_gone(&a, "b").await;
    assert_eq!(cluster_nodes(&health), ["a"], "{health:#}");
    let (nodes, local) = placement(&a, "assistant").await;
    assert!(
        nodes.is_empty(),
        "a dead node still hosts assistant: {nodes:?}"
    );
    assert_eq!(local, false);
}

#[tokio::test]
async fn redis_the_cluster_view_follows_its_nodes() {
    the_cluster_view_follows_its_nodes(Bus::Redis).await;
}

#[tokio::test]
async fn nats_the_cluster_view_follows_its_nodes() {
    the_cluster_view_follows_its_nodes(Bus::Nats).await;
}
