//! Global hooks and pipes (top-level `hooks = [...]` / `pipes = [...]`): hooks see every
//! component's events and the runtime's own (state changes, restarts, breaker, sessions); pipes run
//! before each component's own, in order, and may replace or drop the message. Real subprocesses
//! and a real Python worker.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;
use woodwork_parser::{
    BreakerSpec, Config, HookAction, HookSpec, Kind, RestartType, Span, Strategy,
};
use woodwork_runtime::*;

fn cmd(event: &str, script: &str) -> HookSpec {
    HookSpec {
        event: event.to_string(),
        action: HookAction::Command {
            argv: vec!["sh".into(), "-c".into(), script.into()],
        },
        span: Span {
            line: 2,
            ..Span::default()
        },
    }
}

fn py(event: &str, function: &str) -> HookSpec {
    HookSpec {
        event: event.to_string(),
        action: HookAction::Python {
            script_path: "global.py".into(),
            function_name: function.into(),
        },
        span: Span {
            line: 4,
            ..Span::default()
        },
    }
}

/// A fresh folder for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("ww-global-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A hook command appending its JSON document as one line (one write, so concurrent runs do not
/// interleave).
fn append_to(file: &Path) -> String {
    format!("printf '%s\\n' \"$(cat)\" >> '{}'", file.display())
}

fn lines(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn seen(file: &Path, event: &str, component: &str) -> bool {
    lines(file)
        .iter()
        .any(|v| v["event"] == event && v["component_id"] == component)
}

#[actix_rt::test]
async fn global_hooks_see_every_components_events_and_the_runtimes() {
    let dir = Dir::new("all");
    let file = dir.0.join("events.jsonl");
    // The model panics once inside the agent's call (the agent restarts, its state changes);
    // `flaky` fails once and opens its breaker.
    let mut model = mock("model", vec![panic_entry("boom"), s("Final Answer: fine")]);
    model.supervision = sup(RestartType::Permanent, Strategy::OneForOne, 5);
    let mut flaky = mock("flaky", vec![error_entry("auth")]);
    flaky.circuit_breaker = BreakerSpec {
        failure_threshold: 1,
        reset_timeout: Duration::from_secs(60),
        success_threshold: 1,
        call_timeout: Duration::from_secs(5),
    };
    let mut cfg = pipeline(model);
    cfg.components.push(flaky);
    cfg.start_order.push("flaky".into());
    cfg.hooks = vec![cmd("*", &append_to(&file))];
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();

    let r = rt.send(InputRequest::text("cli", "hi")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("fine"));
    let e = rt.send(InputRequest::text("flaky", "x")).await.unwrap_err();
    assert_eq!(e.code(), "component_failed");
    assert!(rt.end_session(&r.session_id).await);

    for (event, component) in [
        ("input.received", "cli"),
        ("agent.response", "agent"),
        ("component.restarted", "agent"),
        ("component.state_changed", "agent"),
        ("input.received", "flaky"),
        ("breaker.state_changed", "flaky"),
        ("session.created", "sessions"),
        ("session.ended", "sessions"),
    ] {
        eventually(&format!("global hook saw {event} of {component}"), || {
            seen(&file, event, component)
        })
        .await;
    }
    let all = lines(&file);
    let restarted = all
        .iter()
        .find(|v| v["event"] == "component.restarted")
        .unwrap();
    assert_eq!(restarted["component_type"], "llm");
    assert!(restarted["payload"]["cause"]
        .as_str()
        .unwrap()
        .contains("boom"));
    let created = all
        .iter()
        .find(|v| v["event"] == "session.created")
        .unwrap();
    assert_eq!(created["session_id"], r.session_id);
    assert_eq!(created["component_type"], "runtime");
    assert_eq!(rt.health().bus.hook_failures, 0);
    rt.shutdown().await;
}

/// One component taking input directly, so one delivery runs the pipes once.
fn single(f: impl FnOnce(&mut Config)) -> Config {
    let mut cfg = config(vec![component("model", Kind::Llm, "mock")], &[]);
    f(&mut cfg);
    cfg
}

#[actix_rt::test]
async fn global_pipes_run_in_order_before_the_components_own() {
    let cfg = single(|c| {
        c.pipes = vec![
            cmd("input.received", "tr a-z A-Z"),
            cmd("*", "sed 's/\"$/!\"/'"),
            cmd("agent.response", "echo '\"not for this event\"'"),
        ];
        c.components[0].pipes = vec![cmd("*", "sed 's/\"$/?\"/'")];
    });
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt.send(InputRequest::text("model", "hello")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("echo: HELLO!?"));
    rt.shutdown().await;
}

#[actix_rt::test]
async fn a_global_pipe_may_drop_the_message() {
    let cfg = single(|c| c.pipes = vec![cmd("*", "cat >/dev/null; echo null")]);
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt
        .send(InputRequest::text("model", "drop me"))
        .await
        .unwrap();
    assert!(r.outputs.is_empty());
    assert_eq!(rt.component("model").unwrap().processed, 0);
    rt.shutdown().await;
}

#[actix_rt::test]
async fn failing_global_hooks_are_counted_and_never_fail_the_pipeline() {
    let cfg = single(|c| c.hooks = vec![cmd("*", "echo broken >&2; exit 1")]);
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt
        .send(InputRequest::text("model", "still fine"))
        .await
        .unwrap();
    assert_eq!(r.text().as_deref(), Some("echo: still fine"));
    eventually("global hook failure counted", || {
        rt.health().bus.hook_failures >= 1
    })
    .await;
    rt.shutdown().await;
}

#[actix_rt::test]
async fn python_global_hooks_get_woodwork_payload_dicts() {
    let dir = Dir::new("py");
    let out = dir.0.join("seen.jsonl");
    std::fs::write(
        dir.0.join("global.py"),
        format!(
            "import json\n\ndef record(payload):\n    with open({:?}, 'a') as f:\n        f.write(json.dumps(payload) + '\\n')\n",
            out.display().to_string()
        ),
    )
    .unwrap();
    let mut cfg = single(|c| c.hooks = vec![py("*", "record")]);
    cfg.path = dir.0.join("main.ww");
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt.send(InputRequest::text("model", "hello")).await.unwrap();
    eventually("python global hook saw the input", || {
        lines(&out)
            .iter()
            .any(|v| v["input"] == "hello" && v["component_id"] == "model")
    })
    .await;
    let first = lines(&out)
        .into_iter()
        .find(|v| v["input"] == "hello")
        .unwrap();
    assert_eq!(first["session_id"], r.session_id);
    assert_eq!(first["component_type"], "mock");
    assert_eq!(first["event"], "input.received");
    // A hook for every event sees the runtime's too, named.
    eventually("python global hook saw a state change", || {
        lines(&out)
            .iter()
            .any(|v| v["event"] == "component.state_changed" && v["component_id"] == "model")
    })
    .await;
    rt.shutdown().await;
}

#[actix_rt::test]
async fn a_missing_global_hook_function_fails_the_start() {
    let dir = Dir::new("missing");
    std::fs::write(dir.0.join("global.py"), "def other(p):\n    return None\n").unwrap();
    let mut cfg = single(|c| c.hooks = vec![py("*", "nothere")]);
    cfg.path = dir.0.join("main.ww");
    let e = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .err()
        .expect("the start fails");
    let text = e.to_string();
    assert!(text.contains("global line 4"), "{text}");
    assert!(text.contains("nothere"), "{text}");

    let mut cfg = single(|c| c.pipes = vec![py("*", "f")]);
    cfg.path = dir.0.join("absent").join("main.ww");
    let e = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .err()
        .expect("the start fails");
    assert!(e.to_string().contains("not found"), "{e}");
}
