//! Provider keys and URLs from the environment, like the SDKs (DESIGN.md §5): an `llm openai` or
//! `llm claude` with no `api_key` / `base_url` in the file takes `OPENAI_API_KEY` /
//! `OPENAI_BASE_URL` or `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL`, against real loopback servers
//! speaking each wire format; the key reaches the server in the provider's header and never the
//! logs; `check` accepts such a file when the variable is set (or under `--no-env`) and names the
//! variable to set when it is not.

use crate::common::{binary, run_bounded, write_ww, Server};
use crate::wire::Reply;
use serde_json::{json, Value};

const OPENAI_KEY: &str = "sk-env-openai-5b1d77";
const CLAUDE_KEY: &str = "sk-ant-env-claude-9c2e41";

/// Every provider variable removed, then `vars` set: the test machine's own must not leak in.
fn check(file: &std::path::Path, extra: &[&str], vars: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = binary();
    for v in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
    ] {
        cmd.env_remove(v);
    }
    cmd.arg("check").arg(file).args(extra);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run_bounded(cmd);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn system(name: &str, llm_type: &str) -> std::path::PathBuf {
    write_ww(
        name,
        &format!(
            "model = llm {llm_type} {{ streaming: false }}\nin = input command_line {{ to: model }}\n"
        ),
    )
}

async fn ask(server: &Server) -> Value {
    let res = server
        .post_json("/in/input", &json!({"input": "hello", "session_id": "s-1"}))
        .await;
    assert_eq!(res.status(), 200, "{}", server.logs());
    res.json().await.unwrap()
}

#[tokio::test]
async fn llm_openai_takes_its_key_and_url_from_the_environment() {
    let provider = crate::wire::Server::start(vec![Reply::json(
        200,
        crate::wire::openai_sse::text_completion("hi from the env server"),
    )])
    .await;
    let ww = system("env-openai", "openai");
    let base = format!("{}/v1", provider.url);
    let vars = [("OPENAI_API_KEY", OPENAI_KEY), ("OPENAI_BASE_URL", &base)];

    let (ok, out) = check(&ww, &[], &vars);
    assert!(ok, "{out}");
    assert!(!out.contains(OPENAI_KEY), "{out}");

    let server = Server::start_with(&ww, &[], &vars);
    let answer = ask(&server).await;
    assert!(
        answer["output"]
            .to_string()
            .contains("hi from the env server"),
        "{answer}"
    );
    let requests = provider.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    for path in ["/components", "/components/model", "/health"] {
        let body = server.get(path).await.text().await.unwrap();
        assert!(!body.contains(OPENAI_KEY), "{path}: {body}");
    }
    assert!(!server.logs().contains(OPENAI_KEY), "{}", server.logs());
}

#[tokio::test]
async fn llm_claude_takes_its_key_and_url_from_the_environment() {
    let provider = crate::wire::Server::start(vec![Reply::json(
        200,
        r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"hi from claude"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":3}}"#,
    )])
    .await;
    let ww = system("env-claude", "claude");
    let vars = [
        ("ANTHROPIC_API_KEY", CLAUDE_KEY),
        ("ANTHROPIC_BASE_URL", provider.url.as_str()),
    ];

    let (ok, out) = check(&ww, &[], &vars);
    assert!(ok, "{out}");
    assert!(!out.contains(CLAUDE_KEY), "{out}");

    let server = Server::start_with(&ww, &[], &vars);
    let answer = ask(&server).await;
    assert!(
        answer["output"].to_string().contains("hi from claude"),
        "{answer}"
    );
    let requests = provider.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].header("x-api-key"), Some(CLAUDE_KEY));
    for path in ["/components", "/components/model", "/health"] {
        let body = server.get(path).await.text().await.unwrap();
        assert!(!body.contains(CLAUDE_KEY), "{path}: {body}");
    }
    assert!(!server.logs().contains(CLAUDE_KEY), "{}", server.logs());
}

#[test]
fn check_names_the_variable_when_no_key_is_anywhere() {
    let claude = system("env-claude-none", "claude");
    let (ok, out) = check(&claude, &[], &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("ANTHROPIC_API_KEY"), "{out}");
    // Without the environment (CI without secrets) the file is accepted: the deployment sets it.
    let (ok, out) = check(&claude, &["--no-env"], &[]);
    assert!(ok, "{out}");

    let openai = system("env-openai-none", "openai");
    let (ok, out) = check(&openai, &[], &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("OPENAI_API_KEY"), "{out}");
    let (ok, out) = check(&openai, &["--no-env"], &[]);
    assert!(ok, "{out}");
}

#[test]
fn a_key_in_dotenv_next_to_the_file_counts_like_the_environment() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("provider-env-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ww = dir.join("main.ww");
    std::fs::write(&ww, "model = llm claude {}\n").unwrap();
    std::fs::write(
        dir.join(".env"),
        format!("ANTHROPIC_API_KEY={CLAUDE_KEY}\n"),
    )
    .unwrap();
    let (ok, out) = check(&ww, &[], &[]);
    assert!(ok, "{out}");
    assert!(!out.contains(CLAUDE_KEY), "{out}");
}
