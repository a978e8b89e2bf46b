//! A FastMCP server over streamable HTTP on loopback that checks a header.

mod mcp_common;

use mcp_common::*;
use serde_json::json;
use woodwork_tools::mcp::McpServer;
use woodwork_tools::observation::MAX_OBSERVATION;
use woodwork_tools::{Readiness, ToolBackend, ToolError};

const TOKEN: &str = "tok-7f3a9c-secret";

#[tokio::test]
async fn with_the_header_the_tools_work_and_results_are_bounded() {
    let server = HttpFixture::start(TOKEN, 0).await;
    let b = McpServer::new(http(server.url(), vec![("X-Test-Token", TOKEN)]));
    b.start().await.expect("connects with the header");
    assert_eq!(b.readiness(), Readiness::Ready);
    let d = b.description();
    for line in [
        r#"- add: Add two integers. Inputs (JSON schema): {"properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}"#,
        "- echo: Answer the text back.",
        "- boom: Always fails.",
        "- big: Answer 10 MB of text.",
    ] {
        assert!(d.contains(line), "missing {line:?} in\n{d}");
    }
    assert!(!d.contains(TOKEN));

    assert_eq!(
        call(&b, Some("add"), json!({"a": 2, "b": 40}))
            .await
            .expect("add"),
        "42"
    );
    assert_eq!(
        call(&b, Some("echo"), json!({"text": "héllo\nworld"}))
            .await
            .expect("echo"),
        "héllo\nworld"
    );
    match call(&b, Some("boom"), serde_json::Value::Null).await {
        Err(ToolError::Failed(m)) => assert!(m.contains("boom: the tool failed on purpose"), "{m}"),
        other => panic!("boom: {other:?}"),
    }
    match call(&b, Some("add"), json!({"a": "two"})).await {
        Err(ToolError::Failed(m)) => assert!(m.contains("a") && m.contains("b"), "{m}"),
        other => panic!("bad arguments: {other:?}"),
    }
    let big = call(&b, Some("big"), json!({})).await.expect("big answers");
    assert!(
        big.len() < MAX_OBSERVATION + 100,
        "observation of {} bytes",
        big.len()
    );
    assert!(
        big.starts_with("xxxx") && big.contains("truncated: 10485760 bytes in all"),
        "{}",
        &big[big.len() - 60..]
    );
    // Concurrent calls share the session.
    let calls = (0..8).map(|i| b.call(req(Some("add"), json!({"a": i, "b": 1}))));
    let answers = futures_util::future::join_all(calls).await;
    for (i, a) in answers.into_iter().enumerate() {
        assert_eq!(a.expect("concurrent add"), (i + 1).to_string());
    }
    b.shutdown().await;
}

#[tokio::test]
async fn without_the_header_start_fails_saying_where_and_why() {
    let server = HttpFixture::start(TOKEN, 0).await;
    let b = McpServer::new(http(format!("{}?key=qsecret99", server.url()), vec![]));
    let e = b
        .start()
        .await
        .expect_err("the server rejects us")
        .to_string();
    eprintln!("start error: {e}");
    assert!(e.contains("mcp server `web`"), "{e}");
    assert!(e.contains(&format!("url {}", server.url())), "{e}");
    assert!(e.contains("401"), "{e}");
    assert!(!e.contains("qsecret99"), "{e}");
    assert!(matches!(b.readiness(), Readiness::Down(_)));
    assert!(matches!(
        call(&b, Some("add"), json!({"a": 1, "b": 2})).await,
        Err(ToolError::Unavailable(_))
    ));

    let wrong = "wrong-value-1234";
    let b = McpServer::new(http(server.url(), vec![("X-Test-Token", wrong)]));
    let e = b.start().await.expect_err("wrong token").to_string();
    assert!(e.contains("401") && !e.contains(wrong), "{e}");
    assert!(!format!("{:?}", b.readiness()).contains(wrong));
}

#[tokio::test]
async fn nothing_listening_is_a_clear_start_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let b = McpServer::new(http(format!("http://127.0.0.1:{port}/mcp"), vec![]));
    let e = b.start().await.expect_err("nobody there").to_string();
    eprintln!("start error: {e}");
    assert!(
        e.contains(&format!("127.0.0.1:{port}/mcp")) && e.contains("could not start"),
        "{e}"
    );
}

#[tokio::test]
async fn a_server_that_goes_away_is_unavailable_then_reconnected() {
    let mut server = HttpFixture::start(TOKEN, 0).await;
    let port = server.port;
    let b = McpServer::new(http(server.url(), vec![("X-Test-Token", TOKEN)]));
    b.start().await.expect("connects");
    server.kill().await;
    match call(&b, Some("echo"), json!({"text": "hi"})).await {
        Err(ToolError::Unavailable(m)) => assert!(m.contains("mcp server `web`"), "{m}"),
        other => panic!("server gone: {other:?}"),
    }
    wait_for(&b, "Down", |r| matches!(r, Readiness::Down(_))).await;
    let _again = HttpFixture::start(TOKEN, port).await;
    wait_for(&b, "Ready again", |r| *r == Readiness::Ready).await;
    assert_eq!(
        call(&b, Some("echo"), json!({"text": "back"}))
            .await
            .expect("echo"),
        "back"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn an_idle_connection_to_a_vanished_server_turns_down_by_itself() {
    let mut server = HttpFixture::start(TOKEN, 0).await;
    let b = McpServer::new(http(server.url(), vec![("X-Test-Token", TOKEN)]));
    b.start().await.expect("connects");
    server.kill().await;
    // No call: the backend's own pings notice.
    let down = wait_for(&b, "Down", |r| matches!(r, Readiness::Down(_))).await;
    // The ping's cause, or — when this poll came after the backend's first reconnect attempt —
    // that attempt's failure: either way the server is seen down without a call.
    let cause = format!("{down:?}");
    assert!(
        cause.contains("stopped answering") || cause.contains("restart failed"),
        "{cause}"
    );
    assert!(matches!(
        call(&b, Some("echo"), json!({"text": "hi"})).await,
        Err(ToolError::Unavailable(_))
    ));
    b.shutdown().await;
}
