//! `api functions` against real python3 workers: typed calls, descriptions, and every way a
//! function can misbehave (raise, hang, exit, flood, print) costing only its own call.

#[path = "fixtures/functions/support.rs"]
mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{backend, fixture, settings, wait_dead};
use woodwork_tools::functions::PythonFunctions;
use woodwork_tools::observation::MAX_OBSERVATION;
use woodwork_tools::{Readiness, ToolBackend, ToolError, ToolRequest};

fn req(action: &str, inputs: Value) -> ToolRequest {
    ToolRequest {
        action: Some(action.to_string()),
        inputs,
        session_id: "s1".into(),
    }
}

async fn started(file: &str) -> PythonFunctions {
    let b = backend(file);
    b.start().await.expect("fixture starts");
    b
}

async fn worker_pid(b: &PythonFunctions) -> i64 {
    let out = b
        .call(req("pid", Value::Null))
        .await
        .expect("pid() answers");
    out.parse().expect("pid is a number")
}

fn failed(r: Result<String, ToolError>) -> String {
    match r {
        Err(ToolError::Failed(m)) => m,
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn description_lists_public_functions_with_signatures_and_first_doc_paragraph() {
    let mut s = settings("tools.py");
    s.documentation = Some("Use add for sums.".into());
    let b = PythonFunctions::new(s);
    assert_eq!(b.readiness(), Readiness::Starting);
    b.start().await.unwrap();
    assert_eq!(b.readiness(), Readiness::Ready);
    let d = b.description();
    assert!(
        d.contains("- add(a: int, b: int = 2): Adds two integers."),
        "{d}"
    );
    assert!(!d.contains("second paragraph"), "{d}");
    assert!(
        d.contains(
            "- typed(name: str, score: float, active: bool, tags: list, extra: dict, \
         note: Optional[str] = null): Echoes"
        ),
        "{d}"
    );
    assert!(
        d.contains("- greet(name: str, greeting: str = \"Hello\"): Greets"),
        "{d}"
    );
    assert!(d.contains("- hello_later(name: str): Async"), "{d}");
    assert!(d.contains("- nothing()\n"), "{d}");
    for hidden in [
        "_private",
        "dumps",
        "Helper",
        "method",
        "hidden_lambda_alias",
        "join",
    ] {
        assert!(!d.contains(hidden), "{hidden} must not be listed: {d}");
    }
    assert!(d.ends_with("\n\nUse add for sums."), "{d}");
    let names: Vec<String> = b.functions().iter().map(|f| f.name.clone()).collect();
    assert_eq!(names[0], "add", "definition order: {names:?}");
    let schema = b.functions()[0].input_schema();
    assert_eq!(schema["properties"]["a"]["type"], "integer");
    assert_eq!(schema["required"], json!(["a"]));
}

#[tokio::test]
async fn typed_arguments_arrive_as_their_python_types() {
    let b = started("tools.py").await;
    let out = b
        .call(req(
            "typed",
            json!({"name": "n", "score": 1.5, "active": true, "tags": ["a"], "extra": {"k": 1}}),
        ))
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["types"],
        json!(["str", "float", "bool", "list", "dict", "NoneType"])
    );
    assert_eq!(v["values"], json!(["n", 1.5, true, ["a"], {"k": 1}, null]));
    // Numeric strings are converted where the annotation asks for a number or a bool.
    let out = b
        .call(req(
            "typed",
            json!({"name": 7, "score": "2.5", "active": "false", "tags": [], "extra": {}, "note": "x"}),
        ))
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["values"], json!(["7", 2.5, false, [], {}, "x"]));
    assert_eq!(b.call(req("add", json!({"a": "40"}))).await.unwrap(), "42");
    assert_eq!(
        b.call(req("add", json!({"a": 1, "b": 2}))).await.unwrap(),
        "3"
    );
    assert_eq!(b.call(req("nothing", Value::Null)).await.unwrap(), "null");
}

#[tokio::test]
async fn async_functions_are_awaited() {
    let b = started("tools.py").await;
    let out = b.call(req("hello_later", json!({"name": "Ada"}))).await;
    assert_eq!(out.unwrap(), "later, Ada");
}

#[tokio::test]
async fn an_exception_is_an_observation_and_the_worker_stays_up() {
    let b = started("tools.py").await;
    let before = worker_pid(&b).await;
    let e = b.call(req("fail", json!({"message": "boom"}))).await;
    assert_eq!(failed(e), "ValueError: boom");
    assert_eq!(
        failed(b.call(req("leave", json!({"code": 2}))).await),
        "SystemExit: 2"
    );
    assert_eq!(worker_pid(&b).await, before, "same worker after exceptions");
    assert_eq!(b.readiness(), Readiness::Ready);
}

#[tokio::test]
async fn print_and_stdout_writes_do_not_corrupt_the_answer() {
    let b = started("tools.py").await;
    let out = b.call(req("greet", json!({"name": "Ada"}))).await;
    assert_eq!(out.unwrap(), "Hello, Ada!");
    assert_eq!(b.call(req("add", json!({"a": 1}))).await.unwrap(), "3");
}

#[tokio::test]
async fn a_hung_call_times_out_and_its_whole_process_group_dies() {
    let mut s = settings("tools.py");
    s.call_timeout = Duration::from_secs(1);
    let b = PythonFunctions::new(s);
    b.start().await.unwrap();
    let old = worker_pid(&b).await;
    let child: i64 = b
        .call(req("spawn_child", Value::Null))
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        !support::is_dead(child),
        "the child runs before the timeout"
    );
    match b.call(req("hang", Value::Null)).await {
        Err(ToolError::Timeout(d)) => assert_eq!(d, Duration::from_secs(1)),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(wait_dead(old).await, "hung worker {old} still runs");
    assert!(wait_dead(child).await, "its child {child} still runs");
    let new = worker_pid(&b).await;
    assert_ne!(new, old, "a fresh worker answers");
    assert_eq!(b.call(req("add", json!({"a": 2}))).await.unwrap(), "4");
}

#[tokio::test]
async fn a_worker_that_exits_during_a_call_is_reported_and_replaced() {
    let b = started("tools.py").await;
    let old = worker_pid(&b).await;
    match b.call(req("die", json!({"code": 3}))).await {
        Err(ToolError::Unavailable(m)) => assert_eq!(
            m,
            "worker for tools.py exited (code 3) during `die`; restarted"
        ),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(wait_dead(old).await);
    assert_eq!(b.call(req("add", json!({"a": 5}))).await.unwrap(), "7");
    assert_ne!(worker_pid(&b).await, old);
}

#[tokio::test]
async fn a_worker_killed_while_idle_is_replaced_before_the_next_call() {
    let b = started("tools.py").await;
    let old = worker_pid(&b).await;
    // SAFETY-free: kill(1) through the shell, as an operator or the OOM killer would.
    let status = std::process::Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(wait_dead(old).await);
    // The innocent call is retried on a fresh worker instead of failing.
    assert_eq!(b.call(req("add", json!({"a": 1}))).await.unwrap(), "3");
    assert_ne!(worker_pid(&b).await, old);
}

#[tokio::test]
async fn a_ten_megabyte_result_is_clipped_and_the_worker_survives() {
    let b = started("tools.py").await;
    let before = worker_pid(&b).await;
    let out = b.call(req("big", json!({"mb": 10}))).await.unwrap();
    assert!(out.len() < MAX_OBSERVATION + 100, "{} bytes", out.len());
    assert!(out.starts_with("xxxx"));
    assert!(
        out.ends_with(" …(truncated: 10485760 bytes in all)"),
        "{}",
        &out[out.len() - 60..]
    );
    assert_eq!(worker_pid(&b).await, before);
}

#[tokio::test]
async fn an_answer_longer_than_max_output_is_an_error_and_restarts_the_worker() {
    let mut s = settings("tools.py");
    s.max_output = 4096;
    let b = PythonFunctions::new(s);
    b.start().await.unwrap();
    let old = worker_pid(&b).await;
    let m = failed(b.call(req("text", json!({"n": 10000}))).await);
    assert!(
        m.contains("`text` answered more than max_output (4096 bytes)"),
        "{m}"
    );
    assert_eq!(b.call(req("text", json!({"n": 3}))).await.unwrap(), "yyy");
    assert_ne!(worker_pid(&b).await, old);
}

#[tokio::test]
async fn unknown_actions_and_bad_arguments_are_clear_errors() {
    let b = started("tools.py").await;
    let m = failed(b.call(req("nope", json!({}))).await);
    assert!(
        m.starts_with("tools.py has no function `nope`; call one of: add, typed,"),
        "{m}"
    );
    let m = failed(
        b.call(ToolRequest {
            action: None,
            inputs: json!({}),
            session_id: String::new(),
        })
        .await,
    );
    assert!(
        m.contains("no action given") && m.contains("add, typed"),
        "{m}"
    );
    let m = failed(b.call(req("add", json!({"b": 1}))).await);
    assert_eq!(m, "missing argument `a` for add(a: int, b: int = 2)");
    let m = failed(b.call(req("add", json!({"a": 1, "c": 2, "d": 3}))).await);
    assert_eq!(m, "unknown arguments `c`, `d` for add(a: int, b: int = 2)");
    let m = failed(b.call(req("add", json!([1, 2]))).await);
    assert!(
        m.contains("must be a JSON object of keyword arguments"),
        "{m}"
    );
    assert!(m.contains("not a list"), "{m}");
    let m = failed(b.call(req("add", json!({"a": "one"}))).await);
    assert_eq!(
        m,
        "argument `a` of add(a: int, b: int = 2) must be an integer, got \"one\""
    );
    // Python's own TypeError for what the signature check lets through.
    let m = failed(b.call(req("add", json!({"a": 1, "b": [2]}))).await);
    assert_eq!(
        m,
        "argument `b` of add(a: int, b: int = 2) must be an integer, got [2]"
    );
    // Unannotated parameters are Python's business: its own TypeError comes back.
    let m = failed(b.call(req("concat", json!({"a": 1, "b": "x"}))).await);
    assert!(m.starts_with("TypeError: unsupported operand"), "{m}");
}

#[tokio::test]
async fn a_single_function_file_needs_no_action() {
    let b = started("single.py").await;
    let none = |inputs| ToolRequest {
        action: None,
        inputs,
        session_id: String::new(),
    };
    assert_eq!(
        b.call(none(Value::Null)).await.unwrap(),
        r#"{"word":"default"}"#
    );
    assert_eq!(
        b.call(none(json!({"word": "w"}))).await.unwrap(),
        r#"{"word":"w"}"#
    );
}

#[tokio::test]
async fn concurrent_calls_each_get_their_own_answer() {
    let b = std::sync::Arc::new(started("tools.py").await);
    let calls = (0..20).map(|i| {
        let b = b.clone();
        async move { (i, b.call(req("add", json!({"a": i, "b": 1000}))).await) }
    });
    for (i, out) in futures_util::future::join_all(calls).await {
        assert_eq!(out.unwrap(), (i + 1000).to_string());
    }
}

#[tokio::test]
async fn a_cancelled_call_kills_its_worker_and_the_next_call_gets_a_fresh_one() {
    let b = started("tools.py").await;
    let old = worker_pid(&b).await;
    let cancelled =
        tokio::time::timeout(Duration::from_millis(300), b.call(req("hang", Value::Null))).await;
    assert!(cancelled.is_err(), "hang() cannot answer");
    assert!(
        wait_dead(old).await,
        "the abandoned worker {old} still runs"
    );
    assert_eq!(b.call(req("add", json!({"a": 1}))).await.unwrap(), "3");
}

#[tokio::test]
async fn shutdown_kills_the_worker() {
    let b = started("tools.py").await;
    let pid = worker_pid(&b).await;
    b.shutdown().await;
    assert!(wait_dead(pid).await);
    assert!(matches!(b.readiness(), Readiness::Down(_)));
    match b.call(req("add", json!({"a": 1}))).await {
        Err(ToolError::Unavailable(m)) => assert!(m.contains("shut down"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn start_error(file: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match backend(file).start().await {
            Err(ToolError::Failed(m)) => m,
            other => panic!("{file}: expected a start error, got {other:?}"),
        }
    })
}

#[test]
fn a_syntax_error_fails_start_with_the_file_and_line() {
    let m = start_error("broken.py");
    let path = fixture("broken.py").display().to_string();
    assert!(
        m.starts_with("api functions `tools`: cannot import "),
        "{m}"
    );
    assert!(m.contains("SyntaxError: "), "{m}");
    assert!(m.contains(&format!("(at {path}:8)")), "{m}");
    assert!(m.ends_with("fix the file"), "{m}");
}

#[test]
fn a_missing_module_fails_start_naming_it_and_how_to_install_it() {
    let m = start_error("missing_module.py");
    assert!(
        m.contains("ModuleNotFoundError: No module named 'woodwork_no_such_module'"),
        "{m}"
    );
    assert!(m.contains("missing_module.py:2)"), "{m}");
    assert!(m.contains("-m pip install woodwork_no_such_module"), "{m}");
}

#[test]
fn a_file_without_public_functions_fails_start() {
    let m = start_error("no_functions.py");
    assert!(m.contains("defines no public functions"), "{m}");
}

#[test]
fn a_missing_file_fails_start() {
    let m = start_error("does_not_exist.py");
    assert!(m.contains("does_not_exist.py is not a file"), "{m}");
}

#[tokio::test]
async fn a_missing_interpreter_fails_start_saying_what_to_install() {
    let mut s = settings("tools.py");
    s.python = "/nonexistent/python3".into();
    match PythonFunctions::new(s).start().await {
        Err(ToolError::Failed(m)) => {
            assert!(m.contains("cannot run `/nonexistent/python3`"), "{m}");
            assert!(m.contains("install Python 3"), "{m}");
        }
        other => panic!("expected a start error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_broken_after_start_is_down_with_backoff_then_recovers_when_fixed() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("functions-recover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tools.py");
    let good = "import os\n\ndef pid():\n    return os.getpid()\n\ndef die():\n    os._exit(1)\n";
    std::fs::write(&file, good).unwrap();
    let mut s = settings("tools.py");
    s.path = file.clone();
    let b = PythonFunctions::new(s);
    b.start().await.unwrap();
    std::fs::write(&file, "def pid(:\n").unwrap();
    assert!(matches!(
        b.call(req("die", Value::Null)).await,
        Err(ToolError::Unavailable(_))
    ));
    // The restart fails at import: Down with the Python error, and calls say so.
    let deadline = Instant::now() + Duration::from_secs(20);
    let down = loop {
        if let Readiness::Down(cause) = b.readiness() {
            break cause;
        }
        assert!(Instant::now() < deadline, "never reported Down");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(down.contains("SyntaxError"), "{down}");
    match b.call(req("pid", Value::Null)).await {
        Err(ToolError::Unavailable(m)) => assert!(m.contains("SyntaxError"), "{m}"),
        other => panic!("expected Unavailable while the file is broken, got {other:?}"),
    }
    std::fs::write(&file, good).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.readiness() != Readiness::Ready {
        assert!(
            Instant::now() < deadline,
            "never recovered: {:?}",
            b.readiness()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(b.call(req("pid", Value::Null)).await.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
