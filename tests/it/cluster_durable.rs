//! Issue #12 over the real binary and the real brokers: with `serve --bus`, a session's
//! conversation memory and the dead-letter queue live on the broker, so they survive a restart of
//! every node. Each test runs against Redis (127.0.0.1:6379) and NATS with JetStream
//! (127.0.0.1:4222) — `scripts/test.sh` starts them; override with WW_TEST_REDIS_URL /
//! WW_TEST_NATS_URL — in a fresh namespace that is removed afterwards.

use crate::common::{client, poll_until, write_ww, Server};
use crate::wire::openai_sse::text_completion;
use crate::wire::Reply;
use futures_util::FutureExt;
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;
use woodwork_broker::Broker;

/// Hang guard for states the nodes reach asynchronously (never a timing assertion).
const BOUND: Duration = Duration::from_secs(60);

fn redis_url() -> String {
    std::env::var("WW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn nats_url() -> String {
    std::env::var("WW_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Runs `body(url, namespace)` in a fresh namespace of the broker at `url`, then removes
/// everything the namespace holds there (Redis `ww:<ns>:*`, NATS streams `WW_<ns>_*`), also when
/// the body failed. Fails, never skips, when the broker is not running.
async fn in_namespace<F, Fut>(url: String, body: F)
where
    F: FnOnce(String, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let ns = format!("t{}", uuid::Uuid::new_v4().simple());
    let broker = match Broker::connect(&url, &ns).await {
        Ok(b) => b,
        Err(e) => panic!(
            "{e}\nthese tests need Redis and NATS with JetStream: run scripts/test.sh (it starts them), \
             or `redis-server --port 6379 &` and `nats-server -js -p 4222 &`"
        ),
    };
    let outcome = std::panic::AssertUnwindSafe(body(url, ns))
        .catch_unwind()
        .await;
    broker
        .purge_namespace()
        .await
        .expect("removing the test's namespace");
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

/// `serve` as node `node` of namespace `ns` on the broker at `url`, hosting `components` (all
/// when empty).
fn node(ww: &std::path::Path, url: &str, ns: &str, node: &str, components: &str) -> Server {
    let mut args = vec!["--bus", url, "--namespace", ns, "--node", node];
    if !components.is_empty() {
        args.extend(["--components", components]);
    }
    Server::start(ww, &args)
}

/// One turn in session `session` through `server`'s `in`; waits (bounded) while the cluster is
/// still forming (503: the node does not see the agent's node yet), then expects 200.
async fn turn(server: &Server, input: &str, session: &str) -> Value {
    let body = json!({"input": input, "session_id": session});
    poll_until(BOUND, &format!("an answer to {input:?}"), async || {
        let res = server.post_json("/in/input", &body).await;
        match res.status().as_u16() {
            200 => Some(res.json::<Value>().await.unwrap()),
            503 => None,
            s => panic!(
                "turn {input:?}: {s} {}\nlogs:\n{}",
                res.text().await.unwrap_or_default(),
                server.logs()
            ),
        }
    })
    .await
}

/// The user and assistant texts of a recorded chat-completions request, in order.
fn conversation(request: &crate::wire::Recorded) -> Vec<(String, String)> {
    request.body["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {}", request.body))
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn said(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(r, c)| (r.to_string(), c.to_string()))
        .collect()
}

/// The recorded model call whose last message is `input` (hang guard: a hop may still be on its
/// way).
async fn call_with(provider: &crate::wire::Server, input: &str) -> Vec<(String, String)> {
    poll_until(
        BOUND,
        &format!("the model call for {input:?}"),
        async || {
            provider
                .requests()
                .iter()
                .map(conversation)
                .find(|c| c.last().is_some_and(|(_, text)| text == input))
        },
    )
    .await
}

/// Two nodes (`in,out` and `assistant,model,mem`), two turns in a session, both nodes killed and
/// started again under the same names: the third turn's model call carries the first two turns.
/// Ending the session then deletes its memory on the broker: a fourth turn starts afresh.
async fn memory_survives_a_restart_of_every_node(url: String, ns: String) {
    // One answer for every call: a hop the cluster hands out again after the kill (at least
    // once) takes a reply too, so the replies cannot be told apart by their order.
    let provider =
        crate::wire::Server::start(vec![Reply::json(200, text_completion("noted"))]).await;
    let ww = write_ww(
        "cluster-memory",
        &format!(
            r#"mem = memory short_term {{}}
model = llm openai {{
    api_key: "sk-test-key"
    model: "gpt-test"
    base_url: "{}/v1"
}}
assistant = agent llm {{ model: model, memory: mem }}
in = input command_line {{ to: assistant }}
out = output console {{}}
"#,
            provider.url
        ),
    );
    let entry = node(&ww, &url, &ns, "entry", "in,out");
    let agents = node(&ww, &url, &ns, "agents", "assistant,model,mem");
    let first = turn(&entry, "first question", "conv-1").await;
    assert_eq!(first["output"], "noted", "{first}");
    turn(&entry, "second question", "conv-1").await;
    // The agent ran on the other node, and yet it remembered the first turn.
    assert_eq!(
        call_with(&provider, "second question").await,
        said(&[
            ("user", "first question"),
            ("assistant", "noted"),
            ("user", "second question")
        ]),
        "{}",
        agents.logs()
    );
    // A hop is acknowledged just after its result is sent back, so a kill in between would
    // have it handled again on restart (at least once, by design). One more turn, in another
    // session, makes sure the conversation's hops were acknowledged before the kill.
    turn(&entry, "unrelated", "other").await;

    // Both nodes die (SIGKILL) and come back under the same names: nothing is left in any
    // process, only on the broker.
    drop(entry);
    drop(agents);
    let entry = node(&ww, &url, &ns, "entry", "in,out");
    let agents = node(&ww, &url, &ns, "agents", "assistant,model,mem");
    turn(&entry, "third question", "conv-1").await;
    assert_eq!(
        call_with(&provider, "third question").await,
        said(&[
            ("user", "first question"),
            ("assistant", "noted"),
            ("user", "second question"),
            ("assistant", "noted"),
            ("user", "third question")
        ]),
        "{}",
        agents.logs()
    );

    // DELETE /sessions/{id} on the entry node removes the memory from the broker too.
    let res = entry.delete("/sessions/conv-1").await;
    assert!(res.status().is_success(), "{}", res.status());
    turn(&entry, "fourth question", "conv-1").await;
    assert_eq!(
        call_with(&provider, "fourth question").await,
        said(&[("user", "fourth question")])
    );
}

/// How many dead letters the broker keeps in namespace `ns` (the `dlq` bucket).
async fn letters_on_broker(url: &str, ns: &str) -> usize {
    let broker = Broker::connect(url, ns).await.unwrap();
    let kv = broker.kv("dlq", None).await.unwrap();
    kv.keys(1000).await.unwrap().len()
}

async fn dead_letters(server: &Server) -> Vec<Value> {
    let res = server.get("/dlq").await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// A webhook the receiver refuses (400: not retried) dead-letters the answer; the node is killed
/// and started again: `GET /dlq` lists the letter, and replaying it there removes it from the
/// broker, so a further restart lists nothing.
async fn dead_letters_survive_a_restart(url: String, ns: String) {
    let receiver = crate::wire::Server::start(vec![
        Reply::json(400, r#"{"error": "not now"}"#),
        Reply::json(200, "{}"),
    ])
    .await;
    let ww = write_ww(
        "cluster-dlq",
        &format!(
            r#"model = llm mock {{ to: hook }}
in = input command_line {{ to: model }}
hook = output webhook {{ url: "{}/hook", retries: 0 }}
"#,
            receiver.url
        ),
    );
    let server = node(&ww, &url, &ns, "solo", "");
    let answer = turn(&server, "hello", "s-dlq").await;
    assert_eq!(answer["output"], "echo: hello", "{answer}");
    let letters = poll_until(BOUND, "the dead letter", async || {
        let l = dead_letters(&server).await;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let id = letters[0]["id"].as_str().unwrap().to_string();
    assert_eq!(letters[0]["reason"], "webhook_failed");
    // The copy on the broker is written in the background: wait for it before the kill.
    poll_until(BOUND, "the letter on the broker", async || {
        (letters_on_broker(&url, &ns).await == 1).then_some(())
    })
    .await;

    drop(server);
    let server = node(&ww, &url, &ns, "solo", "");
    let letters = dead_letters(&server).await;
    assert_eq!(letters.len(), 1, "{letters:?}\n{}", server.logs());
    assert_eq!(letters[0]["id"], id.as_str());
    assert_eq!(letters[0]["reason"], "webhook_failed");
    assert_eq!(
        letters[0]["envelope"]["payload"], "echo: hello",
        "{}",
        letters[0]
    );

    // Replayed (the receiver now answers 200): gone here and on the broker.
    let res = client()
        .post(server.url(&format!("/dlq/{id}/replay")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    poll_until(BOUND, "the replayed POST", async || {
        (receiver.requests().len() >= 2).then_some(())
    })
    .await;
    assert!(dead_letters(&server).await.is_empty());
    poll_until(BOUND, "the letter gone from the broker", async || {
        (letters_on_broker(&url, &ns).await == 0).then_some(())
    })
    .await;
    drop(server);
    let server = node(&ww, &url, &ns, "solo", "");
    assert!(dead_letters(&server).await.is_empty());
}

#[tokio::test]
async fn redis_memory_survives_a_restart_of_every_node() {
    in_namespace(redis_url(), memory_survives_a_restart_of_every_node).await;
}

#[tokio::test]
async fn nats_memory_survives_a_restart_of_every_node() {
    in_namespace(nats_url(), memory_survives_a_restart_of_every_node).await;
}

#[tokio::test]
async fn redis_dead_letters_survive_a_restart() {
    in_namespace(redis_url(), dead_letters_survive_a_restart).await;
}

#[tokio::test]
async fn nats_dead_letters_survive_a_restart() {
    in_namespace(nats_url(), dead_letters_survive_a_restart).await;
}
