//! `woodwork-actors run main.ww`: checks the file like `check`, starts the runtime and talks to the
//! file's `input command_line` on this terminal — one session, answers streamed as they are
//! generated. `exit`, `;` or end of input quits; Ctrl-C during an answer cancels it (the stream is
//! dropped, which cancels the model call) and Ctrl-C at the prompt quits.

use futures_util::StreamExt;
use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::mpsc;
use woodwork_parser::{check_file, CheckOptions, Config, Kind};
use woodwork_runtime::{EventType, InputRequest, Runtime, RuntimeEvent, RuntimeOptions};

/// Options of `run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The .ww file to run.
    pub file: PathBuf,
}

/// Longest line read from the terminal (a pasted document is cut there, not buffered forever).
const MAX_LINE: usize = 1 << 20;

pub fn run(args: RunArgs) -> ExitCode {
    let report = check_file(
        &args.file,
        &CheckOptions {
            resolve_env: true,
            env: None,
        },
    );
    let diags = report.render_text();
    if !diags.is_empty() {
        super::output::err(&diags);
    }
    if report.has_errors() {
        return ExitCode::FAILURE;
    }
    let Some(config) = report.config else {
        return ExitCode::FAILURE;
    };
    let Some(input) = config
        .components
        .iter()
        .find(|c| c.kind == Kind::Input && c.type_name == "command_line")
    else {
        super::output::err(&format!(
            "error: {} has no `input command_line` component to read this terminal\n  help: add `in = input command_line {{ to: <your agent> }}`, or use `serve` for HTTP inputs\n",
            args.file.display()
        ));
        return ExitCode::FAILURE;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let input_name = input.name.clone();
    let prompt = input.prop_str("prompt").unwrap_or("> ").to_string();
    let console_prints = reaches_console(&config, &input_name);
    actix_rt::System::new().block_on(async move {
        let rt = match Runtime::start(config, RuntimeOptions::default()).await {
            Ok(rt) => rt,
            Err(e) => {
                super::output::err(&format!("error: cannot start: {e}\n"));
                return ExitCode::FAILURE;
            }
        };
        let code = session(&rt, &input_name, &prompt, console_prints).await;
        rt.shutdown().await;
        code
    })
}

/// Whether an `output console` is reachable from the input: it prints the answers then.
fn reaches_console(config: &Config, from: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([from.to_string()]);
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(c) = config.component(&name) {
            if c.kind == Kind::Output && c.type_name == "console" {
                return true;
            }
        }
        queue.extend(config.routes_from(&name).map(str::to_string));
    }
    false
}

/// Lines from stdin on a thread (reading blocks); `None` at end of input.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(1);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        loop {
            let mut buf = Vec::new();
            match std::io::Read::take(&mut lock, MAX_LINE as u64).read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if tx.blocking_send(line).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

fn print_flush(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

async fn session(rt: &Runtime, input: &str, prompt: &str, console_prints: bool) -> ExitCode {
    let mut lines = stdin_lines();
    let session_id = format!(
        "run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    loop {
        print_flush(prompt);
        let line = tokio::select! {
            l = lines.recv() => l,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(line) = line else {
            print_flush("\n");
            return ExitCode::SUCCESS;
        };
        let line = line.trim();
        if line == "exit" || line == ";" {
            return ExitCode::SUCCESS;
        }
        if line.is_empty() {
            continue;
        }
        let req = InputRequest::text(input, line).in_session(session_id.as_str());
        let mut events = match rt.send_stream(req).await {
            Ok(s) => s,
            Err(e) => {
                super::output::err(&format!("error: {e}\n"));
                continue;
            }
        };
        let mut streamed = false;
        loop {
            tokio::select! {
                ev = events.next() => match ev {
                    Some(RuntimeEvent::Event(e)) => {
                        if !console_prints && e.event_type == EventType::StreamChunk {
                            if let Some(t) = e.payload.get("chunk").and_then(|c| c.as_str()) {
                                print_flush(t);
                                streamed = true;
                            }
                        }
                    }
                    Some(RuntimeEvent::Done(r)) => {
                        if !console_prints {
                            match (streamed, r.text()) {
                                (true, _) => print_flush("\n"),
                                (false, Some(t)) => print_flush(&format!("{t}\n")),
                                (false, None) => {}
                            }
                        }
                        break;
                    }
                    Some(RuntimeEvent::Failed(e)) => {
                        if streamed {
                            print_flush("\n");
                        }
                        super::output::err(&format!("error: {e}\n"));
                        break;
                    }
                    None => break,
                },
                _ = tokio::signal::ctrl_c() => {
                    // Dropping the stream cancels the turn and its model call.
                    drop(events);
                    print_flush("\n");
                    super::output::err("(answer cancelled; Ctrl-C again at the prompt quits)\n");
                    break;
                }
            }
        }
    }
}
