//! Servers that die, hang, print garbage or do not exist: the backend restarts what it can,
//! answers `Unavailable` instead of hanging, says why, and kills whole process groups.

mod mcp_common;

use mcp_common::*;
use serde_json::json;
use std::time::Duration;
use woodwork_tools::mcp::McpServer;
use woodwork_tools::{Readiness, ToolBackend, ToolError};

#[tokio::test]
async fn a_server_that_dies_mid_call_is_unavailable_then_restarted_with_its_tools() {
    let b = McpServer::new(fixture_server(&[]));
    b.start().await.expect("fixture starts");
    let first_pid = call(&b, Some("pid"), json!({})).await.expect("pid");
    match call(&b, Some("die"), json!({})).await {
        Err(ToolError::Unavailable(m)) => assert!(m.contains("mcp server `fixture`"), "{m}"),
        other => panic!("call in flight when the server died: {other:?}"),
    }
    wait_for(&b, "Ready after the restart", |r| *r == Readiness::Ready).await;
    let d = b.description();
    for tool in ["- echo:", "- die:", "- sleep:", "- pid:"] {
        assert!(d.contains(tool), "{tool} missing after restart:\n{d}");
    }
    assert_eq!(
        call(&b, Some("echo"), json!({"text": "again"}))
            .await
            .expect("echo"),
        "again"
    );
    let second_pid = call(&b, Some("pid"), json!({})).await.expect("pid");
    assert_ne!(
        first_pid, second_pid,
        "a new process serves after the restart"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn a_server_that_breaks_its_stream_is_killed_and_replaced() {
    let b = McpServer::new(fixture_server(&[]));
    b.start().await.expect("fixture starts");
    let old: u32 = call(&b, Some("pid"), json!({}))
        .await
        .expect("pid")
        .parse()
        .expect("a pid");
    // The server closes stdout and then blocks: alive, but its stream is gone.
    assert!(matches!(
        call(&b, Some("close_stdout"), json!({})).await,
        Err(ToolError::Unavailable(_))
    ));
    wait_dead(old).await;
    wait_for(&b, "Ready after the restart", |r| *r == Readiness::Ready).await;
    let new: u32 = call(&b, Some("pid"), json!({}))
        .await
        .expect("pid")
        .parse()
        .expect("a pid");
    assert_ne!(old, new);
    b.shutdown().await;
    wait_dead(new).await;
}

#[tokio::test]
async fn while_a_restart_keeps_failing_calls_answer_unavailable_at_once() {
    let dir = std::env::temp_dir().join(format!("ww-mcp-once-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let marker = dir.to_string_lossy().into_owned();
    let b = McpServer::new(fixture_server(&["--once", &marker]));
    b.start().await.expect("first start works");
    assert!(matches!(
        call(&b, Some("die"), json!({})).await,
        Err(ToolError::Unavailable(_))
    ));
    let down = wait_for(
        &b,
        "Down with the restart's cause",
        |r| matches!(r, Readiness::Down(c) if c.contains("restart failed")),
    )
    .await;
    let Readiness::Down(cause) = down else {
        unreachable!()
    };
    assert!(
        cause.contains("marker exists"),
        "the server's stderr explains: {cause}"
    );
    assert!(b.description().contains("is down"), "{}", b.description());
    for _ in 0..3 {
        match call(&b, Some("echo"), json!({"text": "x"})).await {
            Err(ToolError::Unavailable(m)) => assert!(m.contains("is down"), "{m}"),
            other => panic!("while down: {other:?}"),
        }
    }
    b.shutdown().await;
    let _ = std::fs::remove_file(&dir);
}

#[tokio::test]
async fn a_call_past_its_timeout_answers_timeout_and_the_server_keeps_serving() {
    let mut s = fixture_server(&[]);
    s.call_timeout = Duration::from_millis(500);
    let b = McpServer::new(s);
    b.start().await.expect("fixture starts");
    match call(&b, Some("sleep"), json!({"seconds": 3})).await {
        Err(ToolError::Timeout(t)) => assert_eq!(t, Duration::from_millis(500)),
        other => panic!("slow call: {other:?}"),
    }
    assert_eq!(
        call(&b, Some("echo"), json!({"text": "ok"}))
            .await
            .expect("echo"),
        "ok"
    );
    b.shutdown().await;
}

#[tokio::test]
async fn shutdown_kills_the_whole_process_group_behind_a_shell_wrapper() {
    // `sh -c` without exec: python is the shell's child, and it starts a `sleep` of its own.
    let line = format!("'{}' '{}'", python(), fixture("stdio_server.py"));
    let b = McpServer::new(stdio("wrapped", vec!["sh".into(), "-c".into(), line]));
    b.start().await.expect("wrapped fixture starts");
    let server_pid: u32 = call(&b, Some("pid"), json!({}))
        .await
        .expect("pid")
        .parse()
        .expect("a pid");
    let sleeper: u32 = call(&b, Some("spawn_sleeper"), json!({}))
        .await
        .expect("sleeper")
        .parse()
        .expect("a pid");
    assert!(alive(server_pid) && alive(sleeper));
    b.shutdown().await;
    wait_dead(server_pid).await;
    wait_dead(sleeper).await;
    assert!(matches!(b.readiness(), Readiness::Down(_)));
}

#[tokio::test]
async fn a_garbage_printing_server_fails_start_clearly() {
    let mut s = stdio("garbage", vec![python(), fixture("garbage_server.py")]);
    s.start_timeout = Duration::from_secs(3);
    let b = McpServer::new(s);
    let e = b.start().await.expect_err("garbage is not MCP").to_string();
    eprintln!("start error: {e}");
    assert!(
        e.contains("mcp server `garbage`") && e.contains("garbage_server.py"),
        "{e}"
    );
    assert!(e.contains("no answer to `initialize` within 3s"), "{e}");
    assert!(matches!(b.readiness(), Readiness::Down(_)));
}

#[tokio::test]
async fn a_server_that_exits_at_once_fails_start_with_its_stderr() {
    let b = McpServer::new(stdio(
        "crash",
        vec![python(), "-c".into(), "import no_such_module_xyz".into()],
    ));
    let e = b.start().await.expect_err("it exits").to_string();
    eprintln!("start error: {e}");
    assert!(
        e.contains("closed the connection before answering `initialize`"),
        "{e}"
    );
    assert!(e.contains("ModuleNotFoundError"), "{e}");
}

#[tokio::test]
async fn a_missing_command_is_a_start_error_naming_it() {
    let b = McpServer::new(stdio(
        "nope",
        vec!["no-such-mcp-server-xyz".into(), "--flag".into()],
    ));
    let e = b.start().await.expect_err("not installed").to_string();
    eprintln!("start error: {e}");
    assert!(
        e.contains("mcp server `nope` (command `no-such-mcp-server-xyz --flag`)"),
        "{e}"
    );
    assert!(
        e.contains("program `no-such-mcp-server-xyz` not found"),
        "{e}"
    );
    assert!(matches!(b.readiness(), Readiness::Down(_)));
    assert!(matches!(
        call(&b, Some("x"), json!({})).await,
        Err(ToolError::Unavailable(_))
    ));
}

#[tokio::test]
async fn env_values_reach_the_server_but_never_a_message() {
    let secret = "sk-live-0123456789";
    let mut s = stdio(
        "envy",
        vec![
            python(),
            "-c".into(),
            "import os, sys; sys.stderr.write('key=' + os.environ['API_KEY'] + '\\n'); sys.exit(2)"
                .into(),
        ],
    );
    if let woodwork_tools::mcp::McpTransport::Stdio { env, .. } = &mut s.transport {
        env.push(("API_KEY".into(), secret.into()));
    }
    assert!(!format!("{s:?}").contains(secret));
    let b = McpServer::new(s);
    let e = b.start().await.expect_err("it exits").to_string();
    assert!(
        e.contains("key=***"),
        "the server saw the value and we scrubbed it: {e}"
    );
    assert!(!e.contains(secret), "{e}");
    assert!(!format!("{:?}", b.readiness()).contains(secret));
}
