//! Operator mistakes and hostile text, against the real binary: files a `.ww` names that are not
//! regular files (a FIFO, /dev/zero) fail the start at once; a blank auth token is refused and a
//! padded one trimmed (and said so, without the token); user text cannot forge or garble log
//! lines; a cancelled streamed answer on the console does not glue itself onto the next log line.

use crate::common::{binary, client, quickstart, run_bounded, write_ww, Server};
use crate::wire::openai_sse::text_stream_open;
use futures_util::StreamExt;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Hang guard for the waits below (never a timing assertion).
const BOUND: Duration = Duration::from_secs(60);

fn scratch(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("serve-operator")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn agent_with_prompt_file(path: &Path) -> PathBuf {
    write_ww(
        "prompt-file",
        &format!(
            "model = llm mock {{}}\nbot = agent llm {{ model: model, prompt: {{ file: \"{}\" }} }}\n",
            path.display()
        ),
    )
}

/// `serve` on `ww` must exit by itself (the hang guard kills it otherwise), unsuccessfully; its
/// stderr.
fn serve_fails(ww: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = binary();
    cmd.arg("serve").arg(ww).args(["--port", "0"]).args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_bounded(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "serve started; stderr:\n{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening on"),
        "serve listened; stderr:\n{stderr}"
    );
    stderr
}

#[test]
fn a_fifo_as_prompt_file_fails_the_start_at_once() {
    let dir = scratch("fifo");
    let fifo = dir.join("prompt.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    let stderr = serve_fails(&agent_with_prompt_file(&fifo), &[], &[]);
    assert!(stderr.contains(&fifo.display().to_string()), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    assert!(stderr.contains("FIFO"), "{stderr}");
}

#[test]
fn dev_zero_as_prompt_file_fails_the_start_at_once() {
    let stderr = serve_fails(&agent_with_prompt_file(Path::new("/dev/zero")), &[], &[]);
    assert!(stderr.contains("/dev/zero"), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn a_regular_prompt_file_still_works_and_an_oversized_one_is_refused() {
    let dir = scratch("big");
    let big = dir.join("big.md");
    std::fs::write(&big, "x".repeat((1 << 20) + 1)).unwrap();
    let stderr = serve_fails(&agent_with_prompt_file(&big), &[], &[]);
    assert!(stderr.contains("the limit is"), "{stderr}");
    let ok = dir.join("ok.md");
    std::fs::write(&ok, "Be brief. {tools}").unwrap();
    let server = Server::start(&agent_with_prompt_file(&ok), &[]);
    assert!(!server.base.is_empty());
}

#[test]
fn an_empty_or_blank_auth_token_is_refused_at_start() {
    let ww = quickstart();
    for flag in ["", "   ", "\t\n"] {
        let stderr = serve_fails(&ww, &["--auth-token", flag], &[]);
        assert!(stderr.contains("auth token"), "{flag:?}: {stderr}");
        assert!(stderr.contains("empty"), "{flag:?}: {stderr}");
    }
    for env in ["", "  "] {
        let stderr = serve_fails(&ww, &[], &[("WOODWORK_AUTH_TOKEN", env)]);
        assert!(stderr.contains("WOODWORK_AUTH_TOKEN"), "{env:?}: {stderr}");
        assert!(stderr.contains("empty"), "{env:?}: {stderr}");
    }
}

#[tokio::test]
async fn a_token_with_surrounding_whitespace_is_trimmed_and_said_so_without_the_token() {
    const TOKEN: &str = "tok-7c2e-padded";
    // The classic: a secret file written with `echo`, so the value ends in a newline.
    let padded = format!("  {TOKEN}\n");
    let server = Server::start_with(&quickstart(), &[], &[("WOODWORK_AUTH_TOKEN", &padded)]);
    let res = client()
        .get(server.url("/health"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the trimmed token is the one that works");
    assert_eq!(server.get("/health").await.status(), 401);
    server.wait_for_log(&["auth token", "trimmed"]).await;
    assert!(!server.logs().contains(TOKEN), "the token was logged");
}

#[test]
fn a_token_with_control_characters_inside_is_refused() {
    let stderr = serve_fails(&quickstart(), &["--auth-token", "ab\u{7}cd"], &[]);
    assert!(stderr.contains("control character"), "{stderr}");
    assert!(!stderr.contains("ab\u{7}cd"), "the token was printed");
}

/// Input that tries to forge a log line, and to smuggle NUL, ESC and C1 bytes into the log.
const HOSTILE: &str =
    "x\nERROR forged line\r\n\u{0}nul \u{1b}[31mred\u{1b}[0m \u{85}nel \u{2028}ls end";

#[tokio::test]
async fn user_text_cannot_forge_or_garble_text_log_lines() {
    let server = Server::start(&quickstart(), &["--log-format", "text"]);
    let res = server
        .post_json("/in/input", &json!({ "input": HOSTILE }))
        .await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        v["output"],
        format!("echo: {HOSTILE}"),
        "the answer is untouched"
    );
    // The console logs the answer: wait for that line, escaped.
    server.wait_for_log(&["woodwork::output", "ls end"]).await;
    let logs = server.logs();
    for line in logs.lines() {
        assert!(
            !line.starts_with("ERROR forged line"),
            "a forged log line: {line:?}"
        );
        assert!(!line.starts_with("nul"), "a forged log line: {line:?}");
    }
    let line = logs
        .lines()
        .find(|l| l.contains("woodwork::output") && l.contains("ls end"))
        .unwrap();
    // The text is all there, on one line, its controls spelled out (ESC may be spelled `\x1b`
    // by the formatter itself).
    assert!(line.contains(r"x\nERROR forged line\r\n\0nul "), "{line:?}");
    assert!(line.contains(r" \u{85}nel \u{2028}ls end"), "{line:?}");
    for bad in ['\0', '\u{1b}', '\u{85}', '\u{2028}', '\r'] {
        assert!(!logs.contains(bad), "{bad:?} reached the log");
    }
}

#[tokio::test]
async fn json_logs_stay_valid_json_and_keep_the_text() {
    let server = Server::start(&quickstart(), &["--log-format", "json"]);
    let res = server
        .post_json("/in/input", &json!({ "input": HOSTILE }))
        .await;
    assert_eq!(res.status(), 200);
    server.wait_for_log(&["woodwork::output"]).await;
    let mut found = false;
    for line in server.logs().lines() {
        if line.starts_with("listening on ") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line:?}"));
        if v["target"] == "woodwork::output" {
            assert_eq!(v["message"], format!("echo: {HOSTILE}"));
            found = true;
        }
    }
    assert!(found, "no output log line");
}

/// A server whose stdout and stderr go to one file, as under a terminal, systemd or docker: the
/// order of its writes across the two streams is kept.
struct Merged {
    child: Child,
    file: PathBuf,
    base: String,
}

impl Merged {
    fn start(ww: &Path) -> Merged {
        let file = scratch("merged").join("out.log");
        let out = std::fs::File::create(&file).unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = binary();
        cmd.arg("serve")
            .arg(ww)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd.spawn().unwrap();
        let mut m = Merged {
            child,
            file,
            base: String::new(),
        };
        let until = Instant::now() + BOUND;
        loop {
            if let Some(addr) = m
                .text()
                .lines()
                .find_map(|l| l.strip_prefix("listening on "))
            {
                m.base = addr.trim().to_string();
                break;
            }
            assert!(Instant::now() < until, "no `listening on`:\n{}", m.text());
            std::thread::sleep(Duration::from_millis(20));
        }
        m
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.file).unwrap_or_default()).to_string()
    }

    async fn wait_for(&self, needle: &str) {
        let until = Instant::now() + BOUND;
        while !self.text().contains(needle) {
            assert!(
                Instant::now() < until,
                "never saw {needle:?}:\n{}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Merged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_cancelled_streamed_answer_on_the_console_ends_its_line() {
    // The model streams the start of an answer, then holds the connection open.
    let provider = crate::wire::Server::start(vec![crate::wire::Reply::sse(
        text_stream_open(&["Final Answer: ", "once ", "upon "]),
        crate::wire::End::Hold,
    )])
    .await;
    let ww = write_ww(
        "console-cancel",
        &format!(
            r#"brain = llm openai {{
    api_key: "sk-test-key"
    model: "gpt-test"
    base_url: "{}/v1"
}}
assistant = agent llm {{ model: brain }}
in = input command_line {{ to: assistant }}
out = output console {{}}
"#,
            provider.url
        ),
    );
    let server = Merged::start(&ww);
    let res = client()
        .post(format!("{}/in/input?stream=true", server.base))
        .json(&json!({"input": "tell me a story"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(BOUND, async {
        while !seen.contains("upon") {
            let bytes = body.next().await.expect("stream ended early").unwrap();
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    })
    .await
    .expect("hang guard: no chunk");
    // The console printed the partial answer (no newline yet: more may come).
    server.wait_for("once upon").await;
    drop(body); // the client goes away mid-answer: the turn is cancelled
    provider.wait_held_connection_closed().await;
    server.wait_for("client went away").await;
    let text = server.text();
    let partial: Vec<&str> = text.lines().filter(|l| l.contains("once upon")).collect();
    assert!(!partial.is_empty(), "{text}");
    for line in partial {
        assert_eq!(line.trim_end(), "once upon", "glued output:\n{text}");
    }
}
