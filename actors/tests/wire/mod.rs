//! A real HTTP/1.1 server on 127.0.0.1:0 for provider tests: it answers with scripted replies written
//! byte for byte (JSON, SSE, NDJSON; chunked like the real APIs), records every request, and can cut
//! or hold a stream to test broken connections and cancellation.
#![allow(dead_code)]

pub mod openai_sse;

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use woodwork_parser::{Component, Kind, Secret, Value};
use woodwork_runtime::llm::{
    build_provider, ChatMessage, ChatModel, ChatRequest, ChatResponse, ModelError, Role, ToolSpec,
};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub body: Json,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// How a streamed reply ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum End {
    /// The terminating zero-length chunk: a complete answer.
    Complete,
    /// The server closes the socket without finishing the chunked body.
    Cut,
    /// The server keeps the connection open, sending nothing, until the client closes it.
    Hold,
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete body with `content-length`.
    Body {
        status: u16,
        content_type: &'static str,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// `200` with a chunked body, one chunk per part, flushed one by one.
    Stream {
        content_type: &'static str,
        parts: Vec<String>,
        end: End,
    },
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply::Body {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        if let Reply::Body { headers, .. } = &mut self {
            headers.push((name, value.to_owned()));
        }
        self
    }

    pub fn sse(parts: Vec<String>, end: End) -> Reply {
        Reply::Stream {
            content_type: "text/event-stream; charset=utf-8",
            parts,
            end,
        }
    }

    pub fn ndjson(parts: Vec<String>, end: End) -> Reply {
        Reply::Stream {
            content_type: "application/x-ndjson",
            parts,
            end,
        }
    }
}

/// The running server; stops when dropped.
pub struct Server {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    held_closed: Arc<AtomicUsize>,
    closed_notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `replies` in order to successive requests; the last one repeats.
    pub async fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let held_closed = Arc::new(AtomicUsize::new(0));
        let closed_notify = Arc::new(Notify::new());
        let replies = Arc::new(replies);
        let next = Arc::new(AtomicUsize::new(0));
        let state = (requests.clone(), held_closed.clone(), closed_notify.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (requests, held_closed, notify) = state.clone();
                let replies = replies.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    serve(socket, replies, next, requests, held_closed, notify).await;
                });
            }
        });
        Server {
            url,
            requests,
            held_closed,
            closed_notify,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits (hang guard 10 s) until the client closed a connection the server was holding open.
    pub async fn wait_held_connection_closed(&self) {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = self.closed_notify.notified();
                if self.held_closed.load(Ordering::SeqCst) > 0 {
                    return;
                }
                notified.await;
            }
        })
        .await
        .expect("the client never closed the held connection");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut socket: TcpStream,
    replies: Arc<Vec<Reply>>,
    next: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    held_closed: Arc<AtomicUsize>,
    notify: Arc<Notify>,
) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut socket, &mut buf).await else {
            return;
        };
        requests.lock().unwrap().push(request);
        let i = next.fetch_add(1, Ordering::SeqCst).min(replies.len() - 1);
        match &replies[i] {
            Reply::Body {
                status,
                content_type,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n",
                    reason(*status),
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket.write_all(body.as_bytes()).await.is_err()
                {
                    return;
                }
            }
            Reply::Stream {
                content_type,
                parts,
                end,
            } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for part in parts {
                    let chunk = format!("{:x}\r\n{part}\r\n", part.len());
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    let _ = socket.flush().await;
                }
                match end {
                    End::Complete => {
                        if socket.write_all(b"0\r\n\r\n").await.is_err() {
                            return;
                        }
                    }
                    End::Cut => {
                        let _ = socket.shutdown().await;
                        return;
                    }
                    End::Hold => {
                        let mut scratch = [0u8; 1024];
                        while let Ok(n) = socket.read(&mut scratch).await {
                            if n == 0 {
                                break;
                            }
                        }
                        held_closed.fetch_add(1, Ordering::SeqCst);
                        notify.notify_waiters();
                        return;
                    }
                }
            }
        }
    }
}

/// Reads one request (head + content-length body); None when the client closed the connection.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    buf.drain(..head_end + 4);
    while buf.len() < len {
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buf.drain(..len).collect();
    Some(Recorded {
        method,
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Json::Null),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Site Overloaded",
        _ => "Unknown",
    }
}

/// An llm component as the parser would hand it over.
pub fn component(type_name: &str, props: Vec<(&str, Value)>) -> Component {
    Component {
        props: props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        timeout: Some(Duration::from_secs(20)),
        ..Component::new(
            "model".into(),
            Kind::Llm,
            type_name.into(),
            Default::default(),
        )
    }
}

pub fn s(v: &str) -> Value {
    Value::Str(v.into())
}

pub fn secret(v: &str) -> Value {
    Value::Secret(Secret::new(v))
}

/// Runs a streamed call, collecting the chunks it sent in order.
pub async fn stream_chat(
    model: &dyn ChatModel,
    request: ChatRequest,
) -> (Result<ChatResponse, ModelError>, Vec<String>) {
    let (tx, mut rx) = mpsc::channel(4);
    let collector = tokio::spawn(async move {
        let mut chunks = Vec::new();
        while let Some(c) = rx.recv().await {
            chunks.push(c);
        }
        chunks
    });
    let result = tokio::time::timeout(Duration::from_secs(30), model.chat(request, Some(tx)))
        .await
        .expect("hang guard");
    (result, collector.await.unwrap())
}

/// Runs an unstreamed call under a hang guard.
pub async fn chat(model: &dyn ChatModel, request: ChatRequest) -> Result<ChatResponse, ModelError> {
    tokio::time::timeout(Duration::from_secs(30), model.chat(request, None))
        .await
        .expect("hang guard")
}

/// A provider client of `type_name` pointed at this test server, with `props` on top of `extra`.
pub fn provider(
    type_name: &str,
    props: Vec<(&str, Value)>,
    extra: Vec<(&str, Value)>,
) -> Arc<dyn ChatModel> {
    let mut all = props;
    all.extend(extra);
    build_provider(&component(type_name, all)).unwrap()
}

/// The conversation most provider tests send.
pub fn hello() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "Be brief."),
            ChatMessage::new(Role::User, "Say hello"),
        ],
        tools: Vec::new(),
    }
}

/// The tool the tool-calling tests offer.
pub fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "Current weather for a city".into(),
        parameters: serde_json::json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
    }
}

/// Starts a streamed call, drops it after its first chunk (`first`) and waits until this server
/// sees its connection closed: dropping a call must cancel the upstream request. Returns the
/// aborted task for callers that inspect it.
pub async fn abort_after_first_chunk(
    server: &Server,
    m: Arc<dyn ChatModel>,
    request: ChatRequest,
    first: &str,
) -> tokio::task::JoinHandle<Result<ChatResponse, ModelError>> {
    let (tx, mut rx) = mpsc::channel(4);
    let call = tokio::spawn(async move { m.chat(request, Some(tx)).await });
    assert_eq!(rx.recv().await.as_deref(), Some(first));
    call.abort();
    server.wait_held_connection_closed().await;
    call
}
