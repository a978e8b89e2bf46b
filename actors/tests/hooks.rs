//! Pipes (replace or drop, in order, before delivery) and hooks (after, concurrent, failures
//! counted) with real subprocesses.

mod common;

use common::*;
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

#[actix_rt::test]
async fn python_and_webhook_forms_are_refused_at_start() {
    let cfg = cfg_with(|c| {
        c.hooks = vec![HookSpec {
            event: "*".into(),
            action: HookAction::Python {
                script_path: "hooks.py".into(),
                function_name: "f".into(),
            },
            span: Span {
                line: 7,
                ..Span::default()
            },
        }]
    });
    let e = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "start_failed");
    assert!(e.to_string().contains("not yet supported"), "{e}");
    assert!(e.to_string().contains("line 7"), "{e}");
    let cfg = cfg_with(|c| {
        c.pipes = vec![HookSpec {
            event: "*".into(),
            action: HookAction::Webhook {
                url: "http://127.0.0.1:1/x".into(),
            },
            span: Span::default(),
        }]
    });
    assert!(Runtime::start(cfg, RuntimeOptions::default())
        .await
        .is_err());
}
