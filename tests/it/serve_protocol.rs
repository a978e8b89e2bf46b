//! HTTP protocol edges (DESIGN.md §5): a stalled chunked upload is 408 and its connection closes;
//! every GET route answers HEAD; the errors actix-http answers by itself are JSON; Retry-After
//! header and message agree; a streamed request meets an open breaker as a 503 like any other;
//! past the drain timeout a running request still gets an answer. Raw sockets where a client
//! library would hide what the server sent.

use crate::common::{
    assert_alive, client, error_of, parse_sse, quickstart, retry_after, write_ww, Server,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

/// Hang guard for raw reads (never a timing assertion): a server that keeps a connection open
/// past it fails the test instead of stalling it.
const READ_BOUND: Duration = Duration::from_secs(30);

/// What came back on a raw connection: every byte until the server closed it, or `closed: false`
/// if it was still open at the hang guard.
struct Raw {
    bytes: Vec<u8>,
    closed: bool,
}

/// Sends `data` on a fresh connection to `server` (then sends nothing more, without closing its
/// side) and reads until the server closes the connection.
async fn raw(server: &Server, data: Vec<u8>) -> Raw {
    let addr = server.base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(READ_BOUND)).unwrap();
        // A server may answer and close before reading everything (a head too large): the
        // answer is what is checked, not whether every byte was taken.
        let _ = s.write_all(&data);
        let mut bytes = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let closed = loop {
            match s.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        Raw { bytes, closed }
    })
    .await
    .unwrap()
}

/// One response parsed off the front of `bytes`: (status, lower-cased headers, body, the rest).
fn response(bytes: &[u8]) -> (u16, BTreeMap<String, String>, Vec<u8>, Vec<u8>) {
    let text = String::from_utf8_lossy(bytes);
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response head in {text:?}"));
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{text:?}");
    let status: u16 = status_line[9..12].parse().unwrap();
    let headers: BTreeMap<String, String> = lines
        .map(|l| {
            let (k, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header {l:?}"));
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let len: usize = headers
        .get("content-length")
        .unwrap_or_else(|| panic!("no content-length in {head:?}"))
        .parse()
        .unwrap();
    let body_start = end + 4;
    assert!(bytes.len() >= body_start + len, "short body in {text:?}");
    let body = bytes[body_start..body_start + len].to_vec();
    let rest = bytes[body_start + len..].to_vec();
    (status, headers, body, rest)
}

/// Asserts the JSON error shape on a raw response; returns the code.
fn json_error(headers: &BTreeMap<String, String>, body: &[u8]) -> String {
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/json"),
        "{headers:?}"
    );
    let v: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(body)));
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(!message.is_empty(), "{v}");
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

#[tokio::test]
async fn a_stalled_chunked_upload_gets_408_and_its_connection_closes() {
    let server = Server::start(&quickstart(), &["--body-timeout", "1"]);
    // Headers and one chunk, then silence (the client keeps its side open).
    let answer = raw(
        &server,
        b"POST /in/input HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\n\r\n9\r\n{\"input\":\r\n"
            .to_vec(),
    )
    .await;
    let (status, headers, body, _) = response(&answer.bytes);
    assert_eq!(status, 408);
    assert_eq!(json_error(&headers, &body), "body_timeout");
    assert!(
        answer.closed,
        "the connection stayed open after the 408 (no EOF within {READ_BOUND:?})"
    );
    // Requests answered without reading their chunked body at all close the same way.
    for (path, status) in [
        ("POST /nothing", 404),
        ("POST /dlq/none/replay", 404),
        ("GET /livez", 200),
        ("POST /nope/input", 404),
    ] {
        let answer = raw(
            &server,
            format!(
                "{path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{{\"input\":\r\n"
            )
            .into_bytes(),
        )
        .await;
        assert_eq!(response(&answer.bytes).0, status, "{path}");
        assert!(answer.closed, "{path}: the connection stayed open");
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn every_get_route_answers_head() {
    let server = Server::start(&quickstart(), &[]);
    let res = server
        .post_json("/in/input", &json!({"input": "hi", "session_id": "head-s"}))
        .await;
    assert_eq!(res.status(), 200);
    // Routes whose body does not change between two calls: HEAD's Content-Length is the body's.
    let stable = [
        "/livez",
        "/readyz",
        "/dlq",
        "/sessions/never-made",
        "/components/nope",
    ];
    for path in [
        "/health",
        "/livez",
        "/readyz",
        "/metrics",
        "/components",
        "/components/in",
        "/components/nope",
        "/sessions/head-s",
        "/sessions/never-made",
        "/dlq",
    ] {
        let get = client().get(server.url(path)).send().await.unwrap();
        let head = client().head(server.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        let names = |r: &reqwest::Response| {
            let mut v: Vec<String> = r
                .headers()
                .keys()
                .map(|k| k.as_str().to_string())
                .filter(|k| k != "date" && k != "x-request-id")
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&head), names(&get), "HEAD {path}: same headers");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        let head_len: usize = head.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let get_body = get.bytes().await.unwrap();
        if stable.contains(&path) {
            assert_eq!(head_len, get_body.len(), "HEAD {path}: Content-Length");
        } else {
            assert!(head_len > 0, "HEAD {path}: Content-Length {head_len}");
        }
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path}: a body"
        );
    }
    // A POST-only route still says what it takes.
    let res = client().head(server.url("/in/input")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let res = client().put(server.url("/health")).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn errors_actix_answers_by_itself_are_json() {
    let server = Server::start(&quickstart(), &[]);
    let many_headers: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "a path over the request-head buffer",
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(200_000)).into_bytes(),
            431,
            "request_head_too_large",
        ),
        (
            "a header over the request-head buffer",
            format!(
                "GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(200_000)
            )
            .into_bytes(),
            431,
            "request_head_too_large",
        ),
        (
            "too many headers",
            format!("GET /livez HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
            431,
            "request_head_too_large",
        ),
        (
            "a request target over 64 KiB",
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            400,
            "malformed_request",
        ),
        (
            "an HTTP/0.9 request line",
            b"GET /livez\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "a malformed request line",
            b"NOT A REQUEST LINE AT ALL\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "an unknown HTTP version",
            b"GET /livez HTTP/7.3\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
        (
            "a header line without a colon",
            b"GET /livez HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".to_vec(),
            400,
            "malformed_request",
        ),
    ];
    for (what, data, status, code) in cases {
        let answer = raw(&server, data).await;
        let (got, headers, body, _) = response(&answer.bytes);
        assert_eq!(got, status, "{what}");
        assert_eq!(json_error(&headers, &body), code, "{what}");
        assert!(answer.closed, "{what}: the connection stayed open");
        assert_alive(&server).await;
    }
    // After a good request on the same connection, the bad one still gets JSON.
    let answer = raw(
        &server,
        b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /livez\r\n\r\n".to_vec(),
    )
    .await;
    let (status, _, body, rest) = response(&answer.bytes);
    assert_eq!(status, 200);
    assert_eq!(body, br#"{"status":"alive"}"#);
    let (status, headers, body, _) = response(&rest);
    assert_eq!(status, 400);
    assert_eq!(json_error(&headers, &body), "malformed_request");
}

#[tokio::test]
async fn a_request_head_that_never_completes_gets_a_json_408() {
    let server = Server::start(&quickstart(), &[]);
    let answer = raw(&server, b"GET /livez HTTP/1.1\r\nHost: x\r\n".to_vec()).await;
    let (status, headers, body, _) = response(&answer.bytes);
    assert_eq!(status, 408);
    assert_eq!(json_error(&headers, &body), "request_head_timeout");
    assert!(answer.closed, "the connection stayed open after the 408");
    assert_alive(&server).await;
}

/// A model that always fails, behind a breaker that opens at the first failure.
fn failing_ww() -> std::path::PathBuf {
    write_ww(
        "open-breaker",
        r#"
model = llm mock {
    replies: [{ error: "server_error" }]
    circuit_breaker: { failure_threshold: 1, reset_timeout_s: 60 }
}
bot = agent llm { model: model }
in = input command_line { to: bot }
"#,
    )
}

/// Posts to `path` until its breaker answers 503 (the failing calls before it are 5xx).
async fn open_the_breaker(server: &Server, path: &str) -> reqwest::Response {
    server
        .post_json_until(path, &json!({"input": "hi"}), 503)
        .await
        .unwrap_or_else(|| panic!("{path} never answered 503; logs:\n{}", server.logs()))
}

#[tokio::test]
async fn retry_after_header_and_message_say_the_same_wait() {
    let server = Server::start(&failing_ww(), &[]);
    for path in ["/model/input", "/bot/input", "/in/input"] {
        let res = open_the_breaker(&server, path).await;
        let header = retry_after(&res);
        let (code, message) = error_of(res).await;
        assert_eq!(code, "unavailable", "{path}");
        assert!(
            message.contains(&format!("retry after {header}s")),
            "{path}: Retry-After: {header} but the message says {message:?}"
        );
    }
}

#[tokio::test]
async fn a_streamed_request_to_an_open_breaker_is_503_with_retry_after() {
    let server = Server::start(&failing_ww(), &[]);
    open_the_breaker(&server, "/model/input").await;
    for path in ["/model/input", "/bot/input", "/in/input"] {
        let asks = [
            client().post(server.url(&format!("{path}?stream=true"))),
            client()
                .post(server.url(path))
                .header("accept", "text/event-stream"),
            client().post(server.url(path)),
        ];
        for (i, ask) in asks.into_iter().enumerate() {
            let body = if i == 2 {
                json!({"input": "hi", "stream": true})
            } else {
                json!({"input": "hi"})
            };
            let res = ask.json(&body).send().await.unwrap();
            assert_eq!(res.status(), 503, "{path} (way {i})");
            let header = retry_after(&res);
            assert!(header >= 1, "{path}");
            let (code, message) = error_of(res).await;
            assert_eq!(code, "unavailable", "{path}: {message}");
            assert!(message.contains(&format!("{header}s")), "{path}: {message}");
        }
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn past_the_drain_timeout_running_requests_get_503_not_an_empty_reply() {
    let ww = write_ww(
        "drain-timeout",
        r#"
model = llm mock { replies: [{ text: "far too late", delay_ms: 20000 }] }
bot = agent llm { model: model }
"#,
    );
    let mut server = Server::start(&ww, &["--drain-timeout", "1", "--shutdown-grace", "0"]);
    let plain = server
        .start_turn("/bot/input", "slow-plain", json!({"input": "a"}))
        .await;
    let url = server.url("/bot/input?stream=true");
    let streamed = tokio::spawn(async move {
        let res = client()
            .post(url)
            .header("x-request-id", "slow-stream")
            .json(&json!({"input": "b"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.text().await
    });
    server
        .wait_for_log(&["slow-stream", "input accepted"])
        .await;
    server.signal("TERM");

    let res = plain.await.unwrap();
    assert_eq!(res.status(), 503, "{}", server.logs());
    assert!(retry_after(&res) >= 1);
    assert_eq!(error_of(res).await.0, "shutting_down");

    let body = streamed
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the stream was cut without an ending: {e}"));
    let events = parse_sse(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[names.len() - 2..], ["error", "done"], "{body}");
    assert_eq!(events[events.len() - 2].1["error"]["code"], "shutting_down");
    assert_eq!(server.wait_exit().code(), Some(0), "{}", server.logs());
}
