//! `woodwork-actors run`: the real binary with piped stdin — answers streamed to stdout, `exit` /
//! end of input quit with 0, a file without `input command_line` or with errors exits 1, Ctrl-C
//! during an answer cancels it (the provider sees its connection closed) and at the prompt quits.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Hang guard (never a timing assertion).
const BOUND: Duration = Duration::from_secs(60);

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/main.ww")
}

fn write_ww(name: &str, source: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.ww", std::process::id()));
    std::fs::write(&path, source).unwrap();
    path
}

/// A running `run` process whose output is collected as it comes.
struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let b = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = from.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buf
}

impl Running {
    fn start(file: &Path) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_woodwork-actors"))
            .arg("run")
            .arg(file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn write(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) until `cond` holds on stdout.
    fn wait_stdout(&self, what: &str, cond: impl Fn(&str) -> bool) {
        let until = Instant::now() + BOUND;
        while !cond(&self.stdout()) {
            assert!(
                Instant::now() < until,
                "never saw {what}; stdout {:?} stderr {:?}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal_int(&self) {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits (bounded) for the exit code.
    fn wait(&mut self) -> i32 {
        let until = Instant::now() + BOUND;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!(
                    "run did not exit; stdout {:?} stderr {:?}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn quickstart_answers_each_line_and_exit_quits() {
    let mut run = Running::start(&quickstart());
    run.write("hello\nsecond line here\nexit\n");
    assert_eq!(run.wait(), 0, "stderr: {}", run.stderr());
    let out = run.stdout();
    assert!(out.starts_with("> "), "{out:?}");
    assert!(out.contains("echo: hello\n"), "{out:?}");
    assert!(out.contains("echo: second line here\n"), "{out:?}");
    assert_eq!(
        out.matches("echo:").count(),
        2,
        "each answer printed once: {out:?}"
    );
}

#[test]
fn end_of_input_and_semicolon_quit_cleanly() {
    let mut run = Running::start(&quickstart());
    run.write("one\n");
    run.close_stdin();
    assert_eq!(run.wait(), 0);
    assert!(run.stdout().contains("echo: one"));

    let mut run = Running::start(&quickstart());
    run.write(";\n");
    assert_eq!(run.wait(), 0);
}

#[test]
fn answers_stream_when_no_console_output_is_declared() {
    let file = write_ww(
        "noconsole",
        "model = llm mock { reply: \"alpha beta gamma\" }\nbot = agent llm { model: model }\nin = input command_line { to: bot, prompt: \"you> \" }\n",
    );
    let mut run = Running::start(&file);
    run.write("hi\n");
    run.close_stdin();
    assert_eq!(run.wait(), 0, "{}", run.stderr());
    assert_eq!(run.stdout(), "you> alpha beta gamma\nyou> \n");
}

#[test]
fn a_file_without_command_line_input_or_with_errors_exits_1() {
    let file = write_ww("noinput", "out = output console {}\n");
    let mut run = Running::start(&file);
    assert_eq!(run.wait(), 1);
    assert!(
        run.stderr().contains("input command_line"),
        "{}",
        run.stderr()
    );

    let file = write_ww("broken", "bot = agent llm { model: nowhere }\n");
    let mut run = Running::start(&file);
    assert_eq!(run.wait(), 1);
    assert!(run.stderr().contains("nowhere"), "{}", run.stderr());
}

#[test]
fn ctrl_c_at_the_prompt_quits() {
    let mut run = Running::start(&quickstart());
    run.wait_stdout("the prompt", |o| o.starts_with("> "));
    run.signal_int();
    assert_eq!(run.wait(), 0);
}

#[test]
fn ctrl_c_during_an_answer_cancels_it_and_closes_the_provider_connection() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use crate::wire::openai_sse::text_stream_open;
        let server =
            crate::wire::Server::start(vec![crate::wire::Reply::sse(
                text_stream_open(&["Once ", "upon "]),
                crate::wire::End::Hold,
            )])
            .await;
        let file = write_ww(
            "cancel",
            &format!(
                "model = llm openai {{ api_key: \"sk-test\", model: \"gpt-test\", base_url: \"{}/v1\" }}\nin = input command_line {{ to: model }}\n",
                server.url
            ),
        );
        let mut run = Running::start(&file);
        run.write("tell me a story\n");
        // The first tokens are on screen: the answer is under way.
        let guard = Instant::now();
        while !run.stdout().contains("Once upon ") {
            assert!(guard.elapsed() < BOUND, "no tokens: {:?} {:?}", run.stdout(), run.stderr());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        run.signal_int();
        server.wait_held_connection_closed().await;
        let guard = Instant::now();
        while !run.stderr().contains("answer cancelled") {
            assert!(guard.elapsed() < BOUND, "{:?}", run.stderr());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        run.write("exit\n");
        assert_eq!(run.wait(), 0, "{}", run.stderr());
    });
}
