//! A node killed mid-request (issue #12, DESIGN.md §7): three processes — HTTP + input + output
//! on `a`, the agent on `b`, its model on `c` — answer a request; `b` is SIGKILLed while its model
//! call is open and started again under the same name. The request completes once: the client
//! gets its answer, the output handles it once, and the redelivered turn called the model again.
//! (Which process holds the provider connection — the agent's or the model's — is left open here:
//! the assertions hold either way.)

use crate::common::cluster::{outputs_logged, wait_nodes, Bus, Namespace, WAIT};
use crate::common::{client, write_ww, Server};
use crate::wire::openai_sse::{text_completion, text_stream_open};
use crate::wire::{End, Reply};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn pipeline(provider: &str) -> std::path::PathBuf {
    write_ww(
        "cluster-failover",
        &format!(
            r#"model = llm openai {{ base_url: "{provider}/v1", api_key: "k", model: "m" }}
assistant = agent llm {{ model: model }}
in = input command_line {{ to: assistant }}
out = output console {{}}
"#
        ),
    )
}

/// Polls until the provider has received `n` requests (hang guard).
async fn wait_requests(provider: &crate::wire::Server, n: usize, node: &Server) {
    let until = Instant::now() + WAIT;
    while provider.requests().len() < n {
        assert!(
            Instant::now() < until,
            "hang guard: the provider never got request {n}; agent node logs:\n{}",
            node.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn agent_killed_mid_request_completes_once(bus: Bus) {
    // The first call hangs after the response head (the agent is mid-request); then answers.
    let provider = crate::wire::Server::start(vec![
        Reply::sse(text_stream_open(&[]), End::Hold),
        Reply::json(200, text_completion("Final Answer: survived the kill")),
        Reply::json(200, text_completion("Final Answer: the next one")),
    ])
    .await;
    let ns = Namespace::shared(bus, "failover").await;
    let file = pipeline(&provider.url);
    let a = ns.node(&file, "a", &["in", "out"], &[]);
    let mut b = ns.node(&file, "b", &["assistant"], &[]);
    let _c = ns.node(&file, "c", &["model"], &[]);
    wait_nodes(&a, &["a", "b", "c"]).await;

    let turn = tokio::spawn({
        let request = client()
            .post(a.url("/in/input"))
            .json(&json!({"input": "question one", "session_id": "f-1"}));
        async move { request.send().await }
    });
    wait_requests(&provider, 1, &b).await;
    b.signal("KILL");
    b.wait_exit();
    let b_logs = b.logs();
    drop(b);

    let b2 = ns.node(&file, "b", &["assistant"], &[]);
    let res = tokio::time::timeout(WAIT, turn)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "hang guard: the request never completed after b restarted\na:\n{}\nb (killed):\n{b_logs}\nb (restarted):\n{}",
                a.logs(),
                b2.logs()
            )
        })
        .expect("the request task")
        .expect("the request got an HTTP answer");
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"], "survived the kill", "{v}");
    assert_eq!(v["session_id"], "f-1");
    assert_eq!(v["component"], "in");

    // A later request goes through the same queues: once it is answered, a duplicate of the
    // first would have been handled too.
    let res = a
        .post_json(
            "/in/input",
            &json!({"input": "question two", "session_id": "f-2"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["output"], "the next one", "{v}");

    // The killed turn's model call and its redelivery's; the next request's once.
    let calls = provider.requests();
    let asked = |text: &str| {
        calls
            .iter()
            .filter(|c| c.body["messages"].to_string().contains(text))
            .count()
    };
    assert!(
        asked("question one") >= 2,
        "the redelivered turn called the model again: {calls:#?}\nb (restarted):\n{}",
        b2.logs()
    );
    assert_eq!(asked("question two"), 1, "{calls:#?}");
    assert_eq!(
        outputs_logged(&a, "survived the kill"),
        1,
        "the output handled the answer once; a's logs:\n{}",
        a.logs()
    );
    assert_eq!(outputs_logged(&a, "the next one"), 1, "{}", a.logs());
}

#[tokio::test]
async fn redis_agent_killed_mid_request_completes_once() {
    agent_killed_mid_request_completes_once(Bus::Redis).await;
}

#[tokio::test]
async fn nats_agent_killed_mid_request_completes_once() {
    agent_killed_mid_request_completes_once(Bus::Nats).await;
}
