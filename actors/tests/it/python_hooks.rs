//! Python hooks and pipes (`script_path` + `function_name`) in a real persistent python3 worker,
//! with woodwork-style payload dicts.

use crate::common::*;
use std::path::PathBuf;
use woodwork_parser::{HookAction, HookSpec, Kind, Span};
use woodwork_runtime::*;

const SCRIPT: &str = r#"
import json, os

def shout(payload):
    print("pipe ran")  # user prints must not break the protocol
    payload["input"] = payload["input"].upper()
    return payload

def exclaim(payload):
    return payload.input + "!"

def record(payload):
    with open(os.environ.get("WW_HOOK_OUT", "/dev/null"), "a") as f:
        f.write(json.dumps(payload) + "\n")

def broken(payload):
    raise ValueError("nope")
"#;

fn script_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ww-py-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hooks.py"), SCRIPT).unwrap();
    dir
}

fn py(event: &str, function: &str) -> HookSpec {
    HookSpec {
        event: event.into(),
        action: HookAction::Python {
            script_path: "hooks.py".into(),
            function_name: function.into(),
        },
        span: Span {
            line: 3,
            ..Span::default()
        },
    }
}

fn cfg(
    dir: &std::path::Path,
    f: impl FnOnce(&mut woodwork_parser::Config),
) -> woodwork_parser::Config {
    let mut cfg = pipeline(component("model", Kind::Llm, "mock"));
    cfg.path = dir.join("main.ww");
    f(&mut cfg);
    cfg
}

fn comp<'a>(
    cfg: &'a mut woodwork_parser::Config,
    name: &str,
) -> &'a mut woodwork_parser::Component {
    cfg.components.iter_mut().find(|c| c.name == name).unwrap()
}

#[actix_rt::test]
async fn python_pipes_transform_payload_dicts_in_order() {
    let dir = script_dir("pipes");
    let cfg = cfg(&dir, |c| {
        comp(c, "cli").pipes = vec![py("input.received", "shout"), py("*", "exclaim")]
    });
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt.send(InputRequest::text("cli", "hello")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("echo: HELLO!"));
    // The worker is persistent: a second call reuses it.
    let r = rt.send(InputRequest::text("cli", "again")).await.unwrap();
    assert_eq!(r.text().as_deref(), Some("echo: AGAIN!"));
    rt.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_rt::test]
async fn python_hooks_get_woodwork_payloads_and_failures_are_counted() {
    let dir = script_dir("hooks");
    let out = dir.join("out.jsonl");
    std::env::set_var("WW_HOOK_OUT", &out);
    let cfg = cfg(&dir, |c| {
        comp(c, "agent").hooks = vec![
            py("agent.response", "record"),
            py("agent.response", "broken"),
        ]
    });
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let r = rt.send(InputRequest::text("cli", "hi")).await.unwrap();
    eventually("python hook wrote", || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains("echo: hi"))
    })
    .await;
    let v: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    assert_eq!(v["response"], "echo: hi");
    assert_eq!(v["component_id"], "agent");
    assert_eq!(v["session_id"], r.session_id);
    eventually("python hook failure counted", || {
        rt.health().bus.hook_failures >= 1
    })
    .await;
    rt.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_rt::test]
async fn a_raising_python_pipe_fails_the_request_with_its_error() {
    let dir = script_dir("raise");
    let cfg = cfg(&dir, |c| comp(c, "cli").pipes = vec![py("*", "broken")]);
    let rt = Runtime::start(cfg, RuntimeOptions::default())
        .await
        .unwrap();
    let e = rt.send(InputRequest::text("cli", "x")).await.unwrap_err();
    assert!(e.to_string().contains("ValueError: nope"), "{e}");
    rt.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_rt::test]
async fn missing_functions_and_scripts_fail_the_start() {
    let dir = script_dir("missing");
    let bad_fn = cfg(&dir, |c| comp(c, "cli").hooks = vec![py("*", "no_such_fn")]);
    let e = Runtime::start(bad_fn, RuntimeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "start_failed");
    assert!(
        e.to_string().contains("no_such_fn") && e.to_string().contains("line 3"),
        "{e}"
    );
    let bad_script = cfg(&dir, |c| {
        comp(c, "cli").hooks = vec![HookSpec {
            event: "*".into(),
            action: HookAction::Python {
                script_path: "nope.py".into(),
                function_name: "f".into(),
            },
            span: Span::default(),
        }]
    });
    let e = Runtime::start(bad_script, RuntimeOptions::default())
        .await
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("nope.py") && e.to_string().contains("not found"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
