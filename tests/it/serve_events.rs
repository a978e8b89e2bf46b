//! `GET /events`: the live feed over a real server and real streaming clients. Filters while two
//! sessions run at once, runtime events (restart, breaker, session lifecycle), `Last-Event-ID`
//! resumption and `reset`, a subscriber that never reads, the subscriber cap, a dropped turn
//! stream picked up from the feed.

use crate::common::{client, error_of, quickstart, retry_after, write_ww, Server};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::Duration;

/// Hang guard for one frame (never a timing assertion).
const FRAME_BOUND: Duration = Duration::from_secs(30);

/// One SSE frame as the feed wrote it.
#[derive(Clone, Debug)]
struct Frame {
    id: Option<u64>,
    name: String,
    data: Value,
}

/// A streaming `/events` client reading frame by frame.
struct Feed {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
    frames: VecDeque<Frame>,
}

impl Feed {
    /// Opens `/events{query}` (subscribed once the headers are back), with `Last-Event-ID`.
    async fn open(server: &Server, query: &str, last: Option<u64>) -> Feed {
        let res = Self::request(server, query, last).await;
        assert_eq!(res.status(), 200, "{query}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Feed {
            body: res.bytes_stream().boxed(),
            buf: String::new(),
            frames: VecDeque::new(),
        }
    }

    async fn request(server: &Server, query: &str, last: Option<u64>) -> reqwest::Response {
        // No overall timeout (a feed is long-lived): `next` bounds each frame instead.
        let feeds = reqwest::Client::builder()
            .connect_timeout(FRAME_BOUND)
            .build()
            .unwrap();
        let mut req = feeds.get(server.url(&format!("/events{query}")));
        if let Some(id) = last {
            req = req.header("last-event-id", id.to_string());
        }
        req.send().await.unwrap()
    }

    /// The next frame (keep-alive comments skipped); panics past the hang guard or at the end.
    async fn next(&mut self) -> Frame {
        // One bound for the whole wait: keep-alive comments arrive every 2 s.
        let until = tokio::time::Instant::now() + FRAME_BOUND;
        loop {
            if let Some(f) = self.frames.pop_front() {
                return f;
            }
            let chunk = tokio::time::timeout_at(until, self.body.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {FRAME_BOUND:?}"))
                .expect("the feed ended")
                .unwrap();
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(f) = parse_frame(&block) {
                    self.frames.push_back(f);
                }
            }
        }
    }

    /// Frames up to and including the first that `last` accepts (hang-guarded as a whole:
    /// keep-alives arrive every 2 s, so a per-frame bound alone would never fire).
    async fn until(&mut self, last: impl Fn(&Frame) -> bool) -> Vec<Frame> {
        let mut got = Vec::new();
        let until = std::time::Instant::now() + 3 * FRAME_BOUND;
        loop {
            assert!(
                std::time::Instant::now() < until,
                "the awaited frame never came; got {got:?}"
            );
            let f = self.next().await;
            let done = last(&f);
            got.push(f);
            if done {
                return got;
            }
        }
    }
}

/// One SSE block: `id:`, `event:`, `data:` lines (a comment-only block is None).
fn parse_frame(block: &str) -> Option<Frame> {
    let (mut id, mut name, mut data) = (None, None, String::new());
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.parse().unwrap_or_else(|_| panic!("bad id line {line:?}")));
        } else if let Some(v) = line.strip_prefix("event: ") {
            name = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        } else if !line.starts_with(':') && !line.is_empty() {
            panic!("unexpected SSE line {line:?}");
        }
    }
    let name = name?;
    let data = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}"));
    Some(Frame { id, name, data })
}

/// The frame that ends a quickstart turn in `session`: the output's `component.response`.
fn turn_end(session: &'static str) -> impl Fn(&Frame) -> bool {
    move |f: &Frame| {
        f.name == "component.response"
            && f.data["component"] == "out"
            && f.data["session_id"] == session
    }
}

async fn input(server: &Server, session: &str, text: &str) {
    let res = server
        .post_json("/in/input", &json!({"input": text, "session_id": session}))
        .await;
    assert_eq!(res.status(), 200);
}

fn ids(frames: &[Frame]) -> Vec<u64> {
    frames
        .iter()
        .map(|f| f.id.expect("a frame without id"))
        .collect()
}

#[tokio::test]
async fn each_filter_sees_exactly_its_own_events_while_two_sessions_run() {
    let server = Server::start(&quickstart(), &[]);
    let mut a = Feed::open(&server, "?session=sa", None).await;
    let mut b = Feed::open(&server, "?session=sb", None).await;
    let mut types = Feed::open(&server, "?type=session.*", None).await;
    let mut agent = Feed::open(&server, "?component=assistant&type=agent.response", None).await;
    tokio::join!(
        input(&server, "sa", "hello from a"),
        input(&server, "sb", "hello from b")
    );
    for s in ["sa", "sb"] {
        assert_eq!(server.delete(&format!("/sessions/{s}")).await.status(), 204);
    }
    for (feed, session) in [(&mut a, "sa"), (&mut b, "sb")] {
        let got = feed.until(|f| f.name == "session.ended").await;
        assert!(
            got.iter().all(|f| f.data["session_id"] == session),
            "{got:?}"
        );
        let names: Vec<&str> = got.iter().map(|f| f.name.as_str()).collect();
        for want in [
            "session.created",
            "input.received",
            "agent.response",
            "component.response",
        ] {
            assert!(names.contains(&want), "{session}: no {want} in {names:?}");
        }
        let input = got.iter().find(|f| f.name == "input.received").unwrap();
        assert_eq!(
            input.data["payload"],
            format!("hello from {}", &session[1..])
        );
        for f in &got {
            assert_eq!(f.data["id"].as_u64(), f.id, "the data names the frame's id");
            assert_eq!(f.data["event"], f.name.as_str());
            assert!(f.data["timestamp"].as_f64().is_some(), "{:?}", f.data);
            assert!(f.data["component"].as_str().is_some(), "{:?}", f.data);
        }
        let got_ids = ids(&got);
        assert!(got_ids.windows(2).all(|w| w[0] != w[1]), "{got_ids:?}");
    }
    let mut lifecycle = Vec::new();
    for _ in 0..4 {
        let f = types.next().await;
        lifecycle.push(format!(
            "{} {}",
            f.name,
            f.data["session_id"].as_str().unwrap()
        ));
    }
    lifecycle.sort();
    assert_eq!(
        lifecycle,
        [
            "session.created sa",
            "session.created sb",
            "session.ended sa",
            "session.ended sb"
        ]
    );
    let mut answered = Vec::new();
    for _ in 0..2 {
        let f = agent.next().await;
        assert_eq!(
            (f.name.as_str(), &f.data["component"]),
            ("agent.response", &json!("assistant"))
        );
        answered.push(f.data["session_id"].as_str().unwrap().to_string());
    }
    answered.sort();
    assert_eq!(answered, ["sa", "sb"]);
    // Nothing else matched those filters: the next frame each sees is a later event of theirs.
    input(&server, "sc", "third").await;
    assert_eq!(server.delete("/sessions/sc").await.status(), 204);
    let f = types.next().await;
    assert_eq!(
        (f.name.as_str(), &f.data["session_id"]),
        ("session.created", &json!("sc"))
    );
    let f = agent.next().await;
    assert_eq!(f.data["session_id"], "sc");
}

#[tokio::test]
async fn runtime_events_restart_breaker_and_sessions_reach_the_feed() {
    let ww = write_ww(
        "events-runtime",
        r#"
model = llm mock { replies: [{ panic: "scripted boom" }, "fine"] }
bot = agent llm { model: model }
flaky = llm mock {
    replies: [{ error: "auth" }]
    circuit_breaker: { failure_threshold: 1, reset_timeout_s: 60 }
}
"#,
    );
    let server = Server::start(&ww, &[]);
    let mut feed = Feed::open(
        &server,
        "?type=component.*,breaker.state_changed,session.*",
        None,
    )
    .await;
    let res = server
        .post_json("/bot/input", &json!({"input": "x", "session_id": "rs"}))
        .await;
    assert!(res.status().as_u16() < 600);
    let res = server
        .post_json("/flaky/input", &json!({"input": "x"}))
        .await;
    assert!(res.status().is_server_error(), "{}", res.status());
    assert_eq!(server.delete("/sessions/rs").await.status(), 204);
    let (mut restarted, mut opened, mut created, mut ended, mut state) =
        (false, false, false, false, false);
    while !(restarted && opened && created && ended && state) {
        let f = feed.next().await;
        let d = &f.data;
        match f.name.as_str() {
            "component.restarted" => {
                assert_eq!(d["component"], "bot", "{d}");
                assert!(
                    d["payload"]["cause"]
                        .as_str()
                        .unwrap()
                        .contains("scripted boom"),
                    "{d}"
                );
                restarted = true;
            }
            "component.state_changed" => state |= d["component"] == "bot",
            "breaker.state_changed" if d["component"] == "flaky" => {
                opened |= d["payload"]["to"] == "open";
            }
            "session.created" => created |= d["session_id"] == "rs",
            "session.ended" => ended |= d["session_id"] == "rs",
            other => assert!(
                other.starts_with("component.")
                    || other.starts_with("session.")
                    || other == "breaker.state_changed",
                "the type filter let {other} through"
            ),
        }
    }
}

#[tokio::test]
async fn last_event_id_replays_exactly_the_missed_frames_in_order_then_live() {
    let server = Server::start(&quickstart(), &[]);
    let mut reference = Feed::open(&server, "?session=r", None).await;
    let mut first = Feed::open(&server, "?session=r", None).await;
    input(&server, "r", "turn one").await;
    let seen = first.until(turn_end("r")).await;
    let last = *ids(&seen).last().unwrap();
    drop(first);
    reference.until(turn_end("r")).await;
    input(&server, "r", "turn two").await;
    let missed = reference.until(turn_end("r")).await;
    assert!(missed.len() >= 3, "{missed:?}");
    let mut resumed = Feed::open(&server, "?session=r", Some(last)).await;
    let mut replayed = Vec::new();
    for _ in 0..missed.len() {
        replayed.push(resumed.next().await);
    }
    assert_eq!(
        ids(&replayed),
        ids(&missed),
        "exactly the missed frames, in order"
    );
    assert!(replayed.iter().all(|f| f.name != "reset"));
    input(&server, "r", "turn three").await;
    let live = reference.until(turn_end("r")).await;
    let mut after = Vec::new();
    for _ in 0..live.len() {
        after.push(resumed.next().await);
    }
    assert_eq!(ids(&after), ids(&live), "then the live frames");
    assert_eq!(
        after
            .iter()
            .find(|f| f.name == "input.received")
            .unwrap()
            .data["payload"],
        "turn three"
    );
    // `?last_event_id=` does the same as the header.
    let mut by_query = Feed::open(&server, &format!("?session=r&last_event_id={last}"), None).await;
    assert_eq!(by_query.next().await.id, missed[0].id);
}

#[tokio::test]
async fn an_id_the_buffer_no_longer_has_gets_a_reset_then_what_it_has() {
    // A 4 KiB buffer holds about a turn: the first turn's frames are gone after a few more.
    let server = Server::start(&quickstart(), &["--sse-replay-bytes", "4KiB"]);
    let mut feed = Feed::open(&server, "?session=w", None).await;
    input(&server, "w", "first").await;
    let first = feed.until(turn_end("w")).await;
    for i in 0..4 {
        input(&server, "w", &format!("more {i}")).await;
        feed.until(turn_end("w")).await;
    }
    let old = first[0].id.unwrap();
    let mut resumed = Feed::open(&server, "?session=w", Some(old)).await;
    let reset = resumed.next().await;
    assert_eq!(reset.name, "reset", "{reset:?}");
    assert_eq!(reset.data["last_event_id"], old);
    assert!(
        reset.data["message"].as_str().unwrap().contains("lost"),
        "{reset:?}"
    );
    let next = resumed.next().await;
    assert!(next.id.unwrap() > old, "then frames it still has: {next:?}");
    // An id this process never sent (a restart's) is a reset too.
    let mut stranger = Feed::open(&server, "", Some(1)).await;
    assert_eq!(stranger.next().await.name, "reset");
    let mut future = Feed::open(&server, "", Some(u64::MAX - 1)).await;
    assert_eq!(future.next().await.name, "reset");
}

#[tokio::test]
async fn a_subscriber_that_never_reads_loses_frames_not_the_pipeline() {
    let server = Server::start(&quickstart(), &[]);
    // Subscribed, then never read while the pipeline runs: its socket and queue fill up.
    let stalled = Feed::request(&server, "", None).await;
    assert_eq!(stalled.status(), 200);
    // 640 turns of about three 20 KB frames each: the socket's buffers fill (a few MB), then
    // the feed's queue (512 frames), then the subscriber starts losing frames.
    let big = "x".repeat(20 * 1024);
    let mut turns = Vec::new();
    for t in 0..8 {
        let server_url = server.url("/in/input");
        let big = big.clone();
        turns.push(tokio::spawn(async move {
            let c = client();
            for i in 0..80 {
                let res = c
                    .post(&server_url)
                    .json(
                        &json!({"input": format!("{t}-{i} {big}"), "session_id": format!("s{t}")}),
                    )
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            }
        }));
    }
    for t in turns {
        t.await.unwrap();
    }
    // Now read it: somewhere it was told it lost frames, and how many.
    let mut feed = Feed {
        body: stalled.bytes_stream().boxed(),
        buf: String::new(),
        frames: VecDeque::new(),
    };
    let lagged = feed.until(|f| f.name == "lagged").await;
    let note = &lagged.last().unwrap().data;
    assert!(note["missed"].as_u64().unwrap() > 0, "{note}");
    assert!(
        note["message"].as_str().unwrap().contains("Last-Event-ID"),
        "{note}"
    );
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("woodwork_events_lagged_total"), "counted");
    // The server still serves, and a new subscriber gets live frames.
    let mut fresh = Feed::open(&server, "?session=after", None).await;
    input(&server, "after", "still here").await;
    fresh.until(turn_end("after")).await;
}

#[tokio::test]
async fn past_the_subscriber_cap_is_503_with_retry_after() {
    let server = Server::start(&quickstart(), &["--events-max-subscribers", "2"]);
    let one = Feed::open(&server, "", None).await;
    let _two = Feed::open(&server, "", None).await;
    let res = Feed::request(&server, "", None).await;
    assert_eq!(res.status(), 503);
    assert!(retry_after(&res) >= 1);
    let (code, message) = error_of(res).await;
    assert_eq!(code, "too_many_subscribers");
    assert!(message.contains("--events-max-subscribers"), "{message}");
    // A slot frees when a subscriber leaves (noticed at its next keep-alive write).
    drop(one);
    let mut reopened = false;
    for _ in 0..300 {
        let res = Feed::request(&server, "", None).await;
        if res.status() == 200 {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened, "the slot never came back");
}

#[tokio::test]
async fn bad_filters_and_ids_are_400_and_head_does_not_subscribe() {
    let server = Server::start(&quickstart(), &["--events-max-subscribers", "1"]);
    let res = server.get("/events?type=agent.thougth").await;
    assert_eq!(res.status(), 400);
    let (code, message) = error_of(res).await;
    assert_eq!(code, "unknown_event_type");
    assert!(message.contains("agent.thought"), "{message}");
    let res = Feed::request(&server, "", None).await;
    drop(res);
    let res = client()
        .get(server.url("/events"))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    // Either the 400 for the id or the cap's 503 (the dropped stream may hold its slot still).
    let status = res.status().as_u16();
    assert!(status == 400 || status == 503, "{status}");
    let res = client().head(server.url("/events")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
}

#[tokio::test]
async fn a_dropped_turn_stream_is_picked_up_from_the_feed_with_its_last_id() {
    let ww = write_ww(
        "events-resume-turn",
        r#"
model = llm mock { replies: [{ text: "one two three four", delay_ms: 0 }, "next answer"] }
bot = agent llm { model: model }
"#,
    );
    let server = Server::start(&ww, &[]);
    let mut reference = Feed::open(&server, "?session=t", None).await;
    // The turn's own stream: every frame has an id from the same sequence as the feed.
    let res = client()
        .post(server.url("/bot/input?stream=true"))
        .json(&json!({"input": "go", "session_id": "t"}))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    let frames: Vec<Frame> = text.split("\n\n").filter_map(parse_frame).collect();
    assert!(frames.iter().all(|f| f.id.is_some()), "{text}");
    assert_eq!(frames.last().unwrap().name, "done");
    let chunk = frames.iter().find(|f| f.name == "stream.chunk").unwrap();
    // The feed showed that chunk under the same id.
    let on_feed = reference.until(|f| f.id == chunk.id).await;
    assert_eq!(on_feed.last().unwrap().name, "stream.chunk");
    // Resuming after that chunk replays the rest of the turn as the feed saw it.
    let rest = reference.until(|f| f.name == "agent.response").await;
    let mut resumed = Feed::open(&server, "?session=t", chunk.id).await;
    let mut replayed = Vec::new();
    for _ in 0..rest.len() {
        replayed.push(resumed.next().await);
    }
    assert_eq!(ids(&replayed), ids(&rest));
}
