//! `output webhook` against the real binary and real receivers on loopback: each answer POSTed
//! with the exact body and headers; 5xx retried until it succeeds; a receiver that never answers
//! times out, is retried and the answer lands in the dead-letter queue (the caller still gets it,
//! the server keeps serving) from where a replay POSTs it again; a redirect loop and a 4xx fail at
//! once; header secrets never reach the logs or `/components`.

use crate::common::{client, poll_until, write_ww, Server};
use crate::wire::{Recorded, Reply};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The header secret: it must reach the receiver and nothing else.
const SECRET: &str = "Bearer hook-secret-7f3a9c";

/// Hang guard for things that happen after the answer (never a timing assertion).
const BOUND: Duration = Duration::from_secs(30);

/// `in` → `model` (mock: `echo: <input>`) → the webhook `hook` with these extra keys.
fn system(name: &str, url: &str, keys: &str) -> std::path::PathBuf {
    write_ww(
        name,
        &format!(
            r#"model = llm mock {{ to: hook }}
in = input command_line {{ to: model }}
hook = output webhook {{
    url: "{url}"
    headers: {{ Authorization: $HOOK_AUTH, X_Source: "woodwork" }}
    {keys}
}}
"#
        ),
    )
}

fn start(ww: &std::path::Path) -> Server {
    Server::start_with(ww, &[], &[("HOOK_AUTH", SECRET)])
}

async fn requests_reach(receiver: &crate::wire::Server, n: usize) -> Vec<Recorded> {
    poll_until(BOUND, &format!("{n} POSTs"), async || {
        let r = receiver.requests();
        (r.len() >= n).then_some(r)
    })
    .await
}

async fn ask(server: &Server, input: &str, session: &str) -> Value {
    let res = server
        .post_json("/in/input", &json!({"input": input, "session_id": session}))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The dead letters once there are `n` of them.
async fn dead_letters(server: &Server, n: usize) -> Vec<Value> {
    poll_until(BOUND, &format!("{n} dead letters"), async || {
        let letters: Vec<Value> = server.get("/dlq").await.json().await.unwrap();
        (letters.len() >= n).then_some(letters)
    })
    .await
}

async fn failed_count(server: &Server, name: &str) -> u64 {
    let c: Value = server
        .get(&format!("/components/{name}"))
        .await
        .json()
        .await
        .unwrap();
    c["failed"].as_u64().unwrap()
}

fn assert_delivery(r: &Recorded, session: &str, output: &str) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hook?channel=42");
    assert_eq!(r.header("authorization"), Some(SECRET));
    assert_eq!(r.header("x_source"), Some("woodwork"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.body.as_object().unwrap();
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["component", "output", "session_id", "timestamp", "trace_id"]
    );
    assert_eq!(body["session_id"], session);
    assert_eq!(body["component"], "hook");
    assert_eq!(body["output"], output);
    assert!(body["timestamp"].as_f64().unwrap() > 1.7e9, "{body:?}");
    assert!(
        body["trace_id"].is_string() || body["trace_id"].is_null(),
        "{body:?}"
    );
}

/// The one POST of session `s` (panics when there is none or more than one).
fn of_in<'a>(posted: &'a [Recorded], s: &str) -> &'a Recorded {
    let mut of = posted.iter().filter(|r| r.body["session_id"] == s);
    let first = of
        .next()
        .unwrap_or_else(|| panic!("no POST for {s}: {posted:?}"));
    assert!(of.next().is_none(), "several POSTs for {s}: {posted:?}");
    first
}

#[tokio::test]
async fn each_answer_is_posted_with_its_body_and_headers_and_the_secret_stays_hidden() {
    let receiver = crate::wire::Server::start(vec![Reply::json(200, "{}")]).await;
    let ww = system(
        "webhook-ok",
        &format!("{}/hook?channel=42", receiver.url),
        "",
    );
    let server = start(&ww);

    let first = ask(&server, "hello", "s-1").await;
    assert_eq!(first["output"], "echo: hello", "{first}");
    let second = ask(&server, "again", "s-2").await;
    assert_eq!(second["output"], "echo: again", "{second}");

    let posted = requests_reach(&receiver, 2).await;
    assert_eq!(posted.len(), 2);
    assert_delivery(of_in(&posted, "s-1"), "s-1", "echo: hello");
    assert_delivery(of_in(&posted, "s-2"), "s-2", "echo: again");

    // A streamed turn: its chunks are not POSTed, its assembled answer is, once.
    let res = client()
        .post(server.url("/in/input?stream=true"))
        .json(&json!({"input": "three streamed words", "session_id": "s-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let sse = res.text().await.unwrap();
    assert!(sse.contains("event: done"), "{sse}");
    let _ = ask(&server, "last", "s-4").await;
    let posted = requests_reach(&receiver, 4).await;
    assert_eq!(posted.len(), 4, "{posted:?}");
    assert_delivery(of_in(&posted, "s-3"), "s-3", "echo: three streamed words");
    assert_delivery(of_in(&posted, "s-4"), "s-4", "echo: last");

    let c: Value = server.get("/components/hook").await.json().await.unwrap();
    assert_eq!(c["failed"], 0, "{c}");
    for path in ["/components", "/components/hook", "/health", "/dlq"] {
        let body = server.get(path).await.text().await.unwrap();
        assert!(!body.contains("hook-secret"), "{path} shows the secret");
    }
    assert!(!server.logs().contains("hook-secret"), "{}", server.logs());
}

#[tokio::test]
async fn a_5xx_is_retried_until_the_receiver_takes_it() {
    let receiver = crate::wire::Server::start(vec![
        Reply::json(500, "{}"),
        Reply::json(503, "{}"),
        Reply::json(200, "{}"),
    ])
    .await;
    let ww = system(
        "webhook-5xx",
        &format!("{}/hook?channel=42", receiver.url),
        "retries: 3",
    );
    let server = start(&ww);

    let answer = ask(&server, "hello", "s-1").await;
    assert_eq!(answer["output"], "echo: hello");
    let posted = requests_reach(&receiver, 3).await;
    for r in &posted {
        assert_delivery(r, "s-1", "echo: hello");
    }
    // Delivered on the third attempt: nothing more is sent, nothing is dead-lettered.
    let _ = ask(&server, "probe", "s-2").await;
    let posted = requests_reach(&receiver, 4).await;
    assert_eq!(posted.len(), 4);
    let letters: Vec<Value> = server.get("/dlq").await.json().await.unwrap();
    assert!(letters.is_empty(), "{letters:?}");
    assert_eq!(failed_count(&server, "hook").await, 0);
}

/// A receiver that accepts connections and, while `hang` is set, reads the request and never
/// answers; otherwise it answers 200 and records the body.
struct Receiver {
    url: String,
    hang: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let hang = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (h, c, b) = (hang.clone(), connections.clone(), bodies.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (h, b) = (h.clone(), b.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read the head and the body (content-length), then hang or answer.
                    let body = loop {
                        let Ok(n) = socket.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break buf[end + 4..end + 4 + len].to_vec();
                        }
                    };
                    if h.load(Ordering::SeqCst) {
                        // Never answers; holds the socket until the client gives up.
                        let _ = socket.read(&mut chunk).await;
                        return;
                    }
                    b.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        Receiver {
            url,
            hang,
            connections,
            bodies,
            task,
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_retried_then_dead_lettered_and_a_replay_posts_again() {
    let receiver = Receiver::start().await;
    let url = format!("{}?token=query-secret", receiver.url);
    let ww = system("webhook-hang", &url, "timeout: 0.3\n    retries: 2");
    let server = start(&ww);

    // The caller gets its answer although the delivery hangs.
    let answer = ask(&server, "hello", "s-1").await;
    assert_eq!(answer["output"], "echo: hello");

    let letters = dead_letters(&server, 1).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["reason"], "webhook_failed", "{letter}");
    let message = letter["message"].as_str().unwrap();
    assert!(message.contains(&receiver.url), "{message}");
    assert!(message.contains("no answer within"), "{message}");
    assert!(message.contains("after 3 attempts"), "{message}");
    assert!(!message.contains("query-secret"), "{message}");
    assert_eq!(letter["envelope"]["target"], "hook", "{letter}");
    // One connection per attempt: the first POST and two retries.
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 3);
    assert_eq!(failed_count(&server, "hook").await, 1);

    // The server kept serving meanwhile.
    assert_eq!(server.get("/health").await.status(), 200);

    // The receiver recovers; replaying the letter POSTs the answer again.
    receiver.hang.store(false, Ordering::SeqCst);
    let id = letter["id"].as_str().unwrap();
    let res = client()
        .post(server.url(&format!("/dlq/{id}/replay")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let bodies = poll_until(BOUND, "the replayed POST", async || {
        let b = receiver.bodies.lock().unwrap().clone();
        (!b.is_empty()).then_some(b)
    })
    .await;
    assert_eq!(bodies[0]["session_id"], "s-1");
    assert_eq!(bodies[0]["output"], "echo: hello");
    assert_eq!(bodies[0]["component"], "hook");
    let letters: Vec<Value> = server.get("/dlq").await.json().await.unwrap();
    assert!(letters.is_empty(), "{letters:?}");
    assert!(!server.logs().contains("query-secret"));
    assert!(!server.logs().contains("hook-secret"));
}

#[tokio::test]
async fn a_redirect_loop_and_a_4xx_fail_at_once_into_the_dead_letter_queue() {
    let looping =
        crate::wire::Server::start(vec![Reply::json(307, "").with_header("location", "/again")])
            .await;
    let refusing = crate::wire::Server::start(vec![Reply::json(400, "{}")]).await;
    let ww = write_ww(
        "webhook-fail",
        &format!(
            r#"model = llm mock {{ to: [looping, refusing] }}
in = input command_line {{ to: model }}
looping = output webhook {{ url: "{}/hook", retries: 3 }}
refusing = output webhook {{ url: "{}/hook", retries: 3 }}
"#,
            looping.url, refusing.url
        ),
    );
    let server = Server::start(&ww, &[]);

    let res = server
        .post_json("/in/input", &json!({"input": "hello", "session_id": "s-1"}))
        .await;
    assert_eq!(res.status(), 200);

    let letters = dead_letters(&server, 2).await;
    assert_eq!(letters.len(), 2, "{letters:?}");
    let of = |target: &str| {
        letters
            .iter()
            .find(|l| l["envelope"]["target"] == target)
            .unwrap_or_else(|| panic!("no letter for {target}: {letters:?}"))
    };
    let redirect = of("looping")["message"].as_str().unwrap();
    assert!(
        redirect.contains("redirected more than 5 times"),
        "{redirect}"
    );
    let refused = of("refusing")["message"].as_str().unwrap();
    assert!(refused.contains("HTTP 400"), "{refused}");
    for l in &letters {
        assert_eq!(l["reason"], "webhook_failed");
    }
    // Neither is retried: the 400 was asked once, the loop followed 5 redirects once.
    assert_eq!(refusing.requests().len(), 1);
    assert_eq!(looping.requests().len(), 6);
    assert_eq!(failed_count(&server, "looping").await, 1);
    assert_eq!(failed_count(&server, "refusing").await, 1);
    crate::common::assert_alive(&server).await;
}

// Multi-threaded: the receiver keeps answering while this test blocks waiting for the exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_waiting_to_retry_finishes_before_the_server_exits() {
    // The first POST gets a 500; the retry waits its backoff (at least 6.4 s) while the server
    // is told to stop at once: shutdown must let it run, not drop it with the process.
    let receiver = crate::wire::Server::start(vec![
        Reply::json(500, r#"{"error":"busy"}"#),
        Reply::json(200, "{}"),
    ])
    .await;
    let ww = system(
        "webhook-drain",
        &format!("{}/hook?channel=42", receiver.url),
        "retries: 3\n    supervision: { backoff_min_ms: 8000, backoff_max_ms: 9000 }",
    );
    let mut server = Server::start_with(&ww, &["--shutdown-grace", "0"], &[("HOOK_AUTH", SECRET)]);
    ask(&server, "last words", "s-drain").await;
    requests_reach(&receiver, 1).await;
    server.signal("TERM");
    let status = server.wait_exit();
    assert!(status.success(), "{status:?}\n{}", server.logs());
    let posted = receiver.requests();
    assert_eq!(
        posted.len(),
        2,
        "the retry ran before the process exited; logs:\n{}",
        server.logs()
    );
    assert_delivery(&posted[1], "s-drain", "echo: last words");
}
