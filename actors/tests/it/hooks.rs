//! Pipes (replace or drop, in order, before delivery) and hooks (after, concurrent, failures
//! counted) with real subprocesses.

use crate::common::*;
use woodwork_parser::{HookAction, HookSpec, Kind, LogLevel, Span};
use woodwork_runtime::*;

fn cmd(event: &str, script: &str) -> HookSpec {
    HookSpec {
        event: event.to_string(),
        action: HookAction::Command {
            argv: vec!["sh".into(), "-c".into(), script.into()],
        },
        span: Span::default(),
    }
}

fn log(event: &str) -> HookSpec {
    HookSpec {
        event: event.to_string(),
        action: HookAction::Log {
            level: LogLevel::Info,
        },
        span: Span::default(),
    }
}

fn cfg_with(f: impl FnOnce(&mut woodwork_parser::Component)) -> woodwork_parser::Config {
    let mut cfg = pipeline(component("model", Kind::Llm, "mock"));
    let input = cfg.components.iter_mut().find(|c| c.name == "cli").unwrap();
    f(input);
    cfg
}

#[actix_rt::test]
async fn pipes_run_in_order_and_replace_the_payload() {
    let cfg = cfg_with(|c| {
        c.pipes = vec![
            log("*"),
            cmd("input.received", "tr a-z A-Z"),
            cmd("*", "sed 's/\"$/!\"/'"),
            cmd("agent.response", "echo '\"not for this event\"'"),
        ];
    });
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt.send(InputRequest::text("cli", "hello")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("echo: HELLO!"));
}

#[actix_rt::test]
async fn a_pipe_printing_null_drops_the_message() {
    let cfg = cfg_with(|c| c.pipes = vec![cmd("*", "cat >/dev/null; echo null")]);
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt.send(InputRequest::text("cli", "drop me")).await.unwrap();
    assert!(r.outputs.is_empty());
    assert_eq!(rt.component("agent").unwrap().processed, 0);
}

#[actix_rt::test]
async fn a_failing_pipe_fails_the_request_clearly() {
    let cfg = cfg_with(|c| c.pipes = vec![cmd("*", "echo nope >&2; exit 3")]);
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let e = rt.send(InputRequest::text("cli", "x")).await.unwrap_err();
    assert!(e.to_string().contains("pipe failed"), "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
    assert_eq!(rt.health().bus.hook_failures, 1);
}

#[actix_rt::test]
async fn hooks_run_after_delivery_and_failures_are_counted() {
    let dir = std::env::temp_dir().join(format!("ww-hook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.jsonl");
    let _ = std::fs::remove_file(&file);
    let mut cfg = pipeline(component("model", Kind::Llm, "mock"));
    let agent = cfg
        .components
        .iter_mut()
        .find(|c| c.name == "agent")
        .unwrap();
    agent.hooks = vec![
        cmd("agent.response", &format!("cat >> {}", file.display())),
        cmd("agent.response", "exit 1"),
        log("*"),
    ];
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt
        .send(InputRequest::text("cli", "observe me"))
        .await
        .unwrap();
    assert_eq!(r.text().as_deref(), Some("echo: observe me"));
    eventually("hook wrote its file", || {
        std::fs::read_to_string(&file).is_ok_and(|s| s.contains("echo: observe me"))
    })
    .await;
    let text = std::fs::read_to_string(&file).unwrap();
    // Exactly one JSON document: the hook ran once for the one agent.response.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["event"], "agent.response");
    assert_eq!(v["component_id"], "agent");
    assert_eq!(v["session_id"], r.session_id);
    eventually("failing hook counted", || {
        rt.health().bus.hook_failures >= 1
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A loopback HTTP server speaking just enough HTTP/1.1 for webhooks: records each request body
/// and answers with `status` and `body`.
async fn http_server(
    status: u16,
    body: &'static str,
) -> (String, std::sync::Arc<parking_lot::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let record = seen.clone();
    actix_rt::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, length) = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    break (i + 4, len);
                }
            };
            while buf.len() < head_end + length {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            record
                .lock()
                .push(String::from_utf8_lossy(&buf[head_end..]).to_string());
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (format!("http://{addr}/hook?token=secret"), seen)
}

fn webhook(event: &str, url: &str) -> HookSpec {
    HookSpec {
        event: event.to_string(),
        action: HookAction::Webhook {
            url: url.to_string(),
        },
        span: Span {
            line: 7,
            ..Span::default()
        },
    }
}

#[actix_rt::test]
async fn webhook_pipes_replace_the_payload_with_the_answer() {
    let (url, seen) = http_server(200, "\"HOOKED\"").await;
    let cfg = cfg_with(|c| c.pipes = vec![webhook("input.received", &url)]);
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt.send(InputRequest::text("cli", "hello")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("echo: HOOKED"));
    assert_eq!(seen.lock().as_slice(), ["\"hello\"".to_string()]);
}

#[actix_rt::test]
async fn webhook_hooks_post_the_event() {
    let (url, seen) = http_server(204, "").await;
    let mut cfg = pipeline(component("model", Kind::Llm, "mock"));
    cfg.components
        .iter_mut()
        .find(|c| c.name == "agent")
        .unwrap()
        .hooks = vec![webhook("agent.response", &url)];
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    rt.send(InputRequest::text("cli", "ping")).await.unwrap();
    eventually("webhook received", || !seen.lock().is_empty()).await;
    let v: serde_json::Value = serde_json::from_str(&seen.lock()[0]).unwrap();
    assert_eq!(v["event"], "agent.response");
    assert_eq!(v["payload"]["response"], "echo: ping");
}

#[actix_rt::test]
async fn a_failing_webhook_pipe_names_the_host_not_the_url() {
    let (url, _) = http_server(500, "{}").await;
    let cfg = cfg_with(|c| c.pipes = vec![webhook("*", &url)]);
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let e = rt
        .send(InputRequest::text("cli", "x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("answered HTTP 500"), "{e}");
    assert!(!e.contains("secret"), "the URL's token leaked: {e}");
}

#[actix_rt::test]
async fn invalid_webhook_urls_are_refused_at_start() {
    let cfg = cfg_with(|c| c.pipes = vec![webhook("*", "ftp://example.com/x")]);
    let e = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "start_failed");
    assert!(e.to_string().contains("http:// or https://"), "{e}");
    assert!(e.to_string().contains("line 7"), "{e}");
}
