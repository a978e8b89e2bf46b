//! `mcp-server-time` (the reference MCP server, from the project venv) over stdio.

mod mcp_common;

use mcp_common::*;
use serde_json::json;
use woodwork_tools::mcp::McpServer;
use woodwork_tools::{Readiness, ToolBackend, ToolError};

fn time_server() -> McpServer {
    McpServer::new(stdio(
        "time",
        vec![
            python(),
            "-m".into(),
            "mcp_server_time".into(),
            "--local-timezone".into(),
            "UTC".into(),
        ],
    ))
}

#[tokio::test]
async fn lists_its_tools_and_answers_the_real_time() {
    let b = time_server();
    assert_eq!(b.readiness(), Readiness::Starting);
    b.start().await.expect("mcp-server-time starts");
    assert_eq!(b.readiness(), Readiness::Ready);
    let d = b.description();
    assert!(d.contains("- get_current_time: "), "{d}");
    assert!(d.contains("- convert_time: "), "{d}");
    assert!(d.contains(r#""required":["timezone"]"#), "{d}");

    let text = call(&b, Some("get_current_time"), json!({"timezone": "UTC"}))
        .await
        .expect("time answer");
    let v: serde_json::Value =
        serde_json::from_str(&text).expect("the observation is the server's JSON");
    assert_eq!(v["timezone"], "UTC", "{text}");
    let year: i64 = v["datetime"].as_str().unwrap_or("")[..4]
        .parse()
        .expect("a datetime");
    assert!(year >= 2025, "{text}");

    let converted = call(
        &b,
        Some("convert_time"),
        json!({"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}),
    )
    .await
    .expect("conversion");
    assert!(converted.contains("21:00"), "{converted}");
    b.shutdown().await;
}

#[tokio::test]
async fn bad_calls_are_observations_the_agent_can_fix() {
    let b = time_server();
    b.start().await.expect("mcp-server-time starts");

    match call(&b, Some("get_weather"), json!({})).await {
        Err(ToolError::Failed(m)) => {
            assert!(m.contains("unknown action `get_weather`"), "{m}");
            assert!(
                m.contains("get_current_time") && m.contains("convert_time"),
                "{m}"
            );
        }
        other => panic!("unknown tool: {other:?}"),
    }
    match call(&b, None, json!({})).await {
        Err(ToolError::Failed(m)) => {
            assert_eq!(m, "name an action: one of get_current_time, convert_time")
        }
        other => panic!("no action: {other:?}"),
    }
    match call(&b, Some("get_current_time"), json!("UTC")).await {
        Err(ToolError::Failed(m)) => assert!(m.contains("must be a JSON object"), "{m}"),
        other => panic!("string inputs: {other:?}"),
    }
    // The server's own complaint about a missing argument reaches the agent.
    match call(&b, Some("get_current_time"), json!({})).await {
        Err(ToolError::Failed(m)) => assert!(m.to_lowercase().contains("timezone"), "{m}"),
        other => panic!("missing argument: {other:?}"),
    }
    match call(
        &b,
        Some("get_current_time"),
        json!({"timezone": "Mars/Olympus"}),
    )
    .await
    {
        // The server's own (not very helpful) message, verbatim.
        Err(ToolError::Failed(m)) => assert!(m.contains("mcp-server-time"), "{m}"),
        other => panic!("bad timezone: {other:?}"),
    }
    // Still serving after the errors.
    assert!(
        call(&b, Some("get_current_time"), json!({"timezone": "UTC"}))
            .await
            .is_ok()
    );
    b.shutdown().await;
    assert!(matches!(b.readiness(), Readiness::Down(_)));
    match call(&b, Some("get_current_time"), json!({"timezone": "UTC"})).await {
        Err(ToolError::Unavailable(m)) => assert!(m.contains("shut down"), "{m}"),
        other => panic!("after shutdown: {other:?}"),
    }
}
