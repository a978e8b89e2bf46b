//! SSE: framing, event order (chunks in index order, `done` last), failures as `error` then
//! `done`, and a client that goes away does not hurt the server.

use crate::common::{assert_alive, client, parse_sse, quickstart, write_ww, Server};
use futures_util::StreamExt;
use serde_json::{json, Value};

async fn stream(server: &Server, path: &str, body: Value, accept: bool) -> (u16, String, String) {
    let mut req = client().post(server.url(path)).json(&body);
    if accept {
        req = req.header("accept", "text/event-stream");
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    (status, ct, res.text().await.unwrap())
}

fn chunk_indexes(events: &[(String, Value)]) -> Vec<u64> {
    events
        .iter()
        .filter(|(n, _)| n == "stream.chunk")
        .map(|(_, d)| {
            d["chunk_index"]
                .as_u64()
                .unwrap_or_else(|| panic!("chunk without chunk_index: {d}"))
        })
        .collect()
}

#[tokio::test]
async fn stream_query_gives_chunks_in_order_then_done() {
    let server = Server::start(&quickstart(), &[]);
    let (status, ct, body) = stream(
        &server,
        "/in/input?stream=true",
        json!({"input": "one two three four five"}),
        false,
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let events = parse_sse(&body);
    let (last, done) = events.last().unwrap();
    assert_eq!(last, "done", "{body}");
    assert_eq!(done["output"], "echo: one two three four five");
    assert_eq!(done["component"], "in");
    assert_eq!(events.iter().filter(|(n, _)| n == "done").count(), 1);
    assert_eq!(
        events.iter().filter(|(n, _)| n == "input.received").count(),
        1,
        "input.received announced once: {body}"
    );
    assert!(events.iter().all(|(n, _)| n != "error"), "{body}");
    let idx = chunk_indexes(&events);
    assert!(idx.len() >= 5, "the mock streams word by word: {body}");
    assert!(
        idx.windows(2).all(|w| w[0] < w[1]),
        "chunks in index order: {idx:?}"
    );
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "stream.chunk")
        .map(|(_, d)| d["payload"]["chunk"].as_str().unwrap())
        .collect();
    assert_eq!(
        text, "echo: one two three four five",
        "chunks assemble the answer"
    );
    assert!(
        events.iter().any(|(n, _)| n == "stream.completed"),
        "{body}"
    );
    for (name, data) in &events[..events.len() - 1] {
        assert_eq!(
            data["event_type"],
            name.as_str(),
            "event named by its event_type"
        );
    }
}

#[tokio::test]
async fn accept_header_and_body_flag_also_stream() {
    let server = Server::start(&quickstart(), &[]);
    let (_, ct, body) = stream(&server, "/in/input", json!({"input": "via accept"}), true).await;
    assert!(ct.starts_with("text/event-stream"));
    assert_eq!(parse_sse(&body).last().unwrap().0, "done");
    let (_, ct, body) = stream(
        &server,
        "/in/input",
        json!({"input": "via body", "stream": true}),
        false,
    )
    .await;
    assert!(ct.starts_with("text/event-stream"));
    assert_eq!(
        parse_sse(&body).last().unwrap().1["output"],
        "echo: via body"
    );
    // ?stream=false with no Accept stays JSON.
    let (_, ct, _) = stream(
        &server,
        "/in/input?stream=false",
        json!({"input": "x"}),
        false,
    )
    .await;
    assert!(ct.starts_with("application/json"));
}

#[tokio::test]
async fn failure_is_an_error_event_then_done() {
    let ww = write_ww(
        "sse-fail",
        r#"
model = llm mock { replies: [{ error: "auth" }] }
bot = agent llm { model: model }
"#,
    );
    let server = Server::start(&ww, &[]);
    let (status, _, body) = stream(
        &server,
        "/bot/input?stream=true",
        json!({"input": "hi"}),
        false,
    )
    .await;
    // The turn started, so the failure arrives in the stream.
    assert_eq!(status, 200, "{body}");
    let events = parse_sse(&body);
    let n = events.len();
    assert!(n >= 2, "{body}");
    assert_eq!(events[n - 2].0, "error", "{body}");
    assert_eq!(events[n - 2].1["error"]["code"], "component_failed");
    assert_eq!(events[n - 1].0, "done");
    assert_eq!(events[n - 1].1["error"]["code"], "component_failed");
    assert_alive(&server).await;
}

#[tokio::test]
async fn unknown_component_is_a_plain_404_not_a_stream() {
    let server = Server::start(&quickstart(), &[]);
    let (status, ct, _) = stream(
        &server,
        "/nope/input?stream=true",
        json!({"input": "x"}),
        false,
    )
    .await;
    assert_eq!(status, 404);
    assert!(ct.starts_with("application/json"));
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_its_turn() {
    // The first reply would take a minute; under `reject` the session stays busy while it runs.
    let ww = write_ww(
        "sse-drop",
        r#"
model = llm mock { replies: [{ text: "a very slow answer", delay_ms: 60000 }, "fast"] }
bot = agent llm { model: model, session_policy: "reject" }
"#,
    );
    let server = Server::start(&ww, &[]);
    let res = server
        .post_json(
            "/bot/input?stream=true",
            &json!({"input": "hi", "session_id": "drop-1"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    let first = String::from_utf8_lossy(&first);
    assert!(
        first.starts_with("id: ") && first.contains("\nevent: input.received\n"),
        "{first:?}"
    );
    drop(body); // hang up mid-turn

    // The turn is cancelled, so the session frees up long before the slow reply would have ended
    // (bounded polling: a hang guard, not a timing assertion). Whether the hang-up came before or
    // after the model call started, the session must stop being busy.
    let mut freed = false;
    for _ in 0..400 {
        let info: Value = server.get("/sessions/drop-1").await.json().await.unwrap();
        if info["busy"] == false {
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(freed, "the session was not freed by the disconnect");
    // And it takes a new turn at once (not 409 busy).
    let res = server
        .post_json(
            "/bot/input?stream=true",
            &json!({"input": "again", "session_id": "drop-1"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    drop(res);
    assert_alive(&server).await;
}
