//! Process lifecycle: SIGTERM/SIGINT exit 0; in-flight requests drain; bad files exit 1 with the
//! checker's diagnostics.

use crate::common::{binary, client, parse_sse, quickstart, run_bounded, write_ww, Server};
use serde_json::json;

fn slow_ww() -> std::path::PathBuf {
    write_ww(
        "slow",
        r#"
model = llm mock { replies: [{ text: "finished after all", delay_ms: 1500 }] }
bot = agent llm { model: model }
"#,
    )
}

#[tokio::test]
async fn sigterm_when_idle_exits_zero() {
    let mut server = Server::start(&quickstart(), &[]);
    crate::common::assert_alive(&server).await;
    server.signal("TERM");
    assert_eq!(server.wait_exit().code(), Some(0), "{}", server.logs());
}

#[tokio::test]
async fn sigint_when_idle_exits_zero() {
    let mut server = Server::start(&quickstart(), &[]);
    server.signal("INT");
    assert_eq!(server.wait_exit().code(), Some(0), "{}", server.logs());
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_request() {
    // No grace period: the listener closes at once and the running request must still finish.
    let mut server = Server::start(&slow_ww(), &["--shutdown-grace", "0"]);
    // A keep-alive connection to watch readiness on while draining.
    let probe = client();
    assert_eq!(
        probe
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let url = server.url("/bot/input");
    let in_flight = tokio::spawn(async move {
        client()
            .post(url)
            .header("x-request-id", "in-flight-1")
            .json(&json!({"input": "hi"}))
            .send()
            .await
            .unwrap()
    });
    server
        .wait_for_log(&["in-flight-1", "input accepted"])
        .await;
    server.signal("TERM");
    server.wait_for_log(&["shutting down"]).await;

    let res = in_flight.await.unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["output"], "finished after all");
    assert_eq!(server.wait_exit().code(), Some(0), "{}", server.logs());
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_stream() {
    let mut server = Server::start(&slow_ww(), &["--shutdown-grace", "0"]);
    let url = server.url("/bot/input?stream=true");
    let in_flight = tokio::spawn(async move {
        let res = client()
            .post(url)
            .header("x-request-id", "in-flight-sse")
            .json(&json!({"input": "hi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    });
    server
        .wait_for_log(&["in-flight-sse", "input accepted"])
        .await;
    server.signal("TERM");
    let body = in_flight.await.unwrap();
    let events = parse_sse(&body);
    let (name, done) = events.last().unwrap();
    assert_eq!(name, "done", "{body}");
    assert_eq!(done["output"], "finished after all");
    assert_eq!(server.wait_exit().code(), Some(0), "{}", server.logs());
}

#[tokio::test]
async fn readiness_and_new_input_are_503_during_the_grace_period() {
    // A grace period long enough that the probes below surely run inside it (a bound, not a
    // timing assertion: nothing is measured).
    let mut server = Server::start(&slow_ww(), &["--shutdown-grace", "5"]);
    let url = server.url("/bot/input");
    let in_flight = tokio::spawn(async move {
        client()
            .post(url)
            .header("x-request-id", "keep-draining")
            .json(&json!({"input": "hi"}))
            .send()
            .await
            .unwrap()
    });
    server
        .wait_for_log(&["keep-draining", "input accepted"])
        .await;
    server.signal("TERM");
    server.wait_for_log(&["shutting down"]).await;

    let res = server.get("/readyz").await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["status"],
        "draining"
    );
    // Liveness stays up; new work is refused with the JSON shape and Retry-After.
    assert_eq!(server.get("/livez").await.status(), 200);
    let res = server
        .post_json("/bot/input", &json!({"input": "too late"}))
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(crate::common::error_of(res).await.0, "shutting_down");

    let res = in_flight.await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(server.wait_exit().code(), Some(0));
}

#[tokio::test]
async fn a_second_signal_skips_the_grace_period() {
    let mut server = Server::start(&quickstart(), &["--shutdown-grace", "600"]);
    server.signal("TERM");
    server.wait_for_log(&["shutting down"]).await;
    server.signal("INT");
    assert_eq!(server.wait_exit().code(), Some(0), "{}", server.logs());
}

#[test]
fn a_file_with_errors_exits_one_with_diagnostics() {
    let ww = write_ww("broken", "assistant = agent llm {\n    model: nowhere\n}\n");
    let mut cmd = binary();
    cmd.arg("serve").arg(&ww).args(["--port", "0"]);
    let out = run_bounded(cmd);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening on"));
}

#[test]
fn a_missing_file_exits_one() {
    let mut cmd = binary();
    cmd.args(["serve", "/definitely/not/here.ww", "--port", "0"]);
    let out = run_bounded(cmd);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stderr.is_empty());
}

#[test]
fn a_port_in_use_exits_one_with_a_clear_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut cmd = binary();
    cmd.arg("serve").arg(quickstart()).args(["--port", &port]);
    let out = run_bounded(cmd);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not listen"), "{stderr}");
}
