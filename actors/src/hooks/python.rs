//! Python hooks and pipes (`{ event, script_path, function_name }`): one persistent `python3`
//! worker per script file, speaking JSON lines (the request on stdin, the answer on stdout; the
//! user's prints go to stderr). Calls are serialised per worker, bounded by a timeout; a worker
//! that times out or dies is killed and started again on the next call.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex;

/// The worker program, embedded so nothing is fetched or installed at run time.
const WORKER: &str = include_str!("worker.py");
/// Longest answer line accepted from a worker.
const MAX_LINE: usize = 1 << 20;

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// One script's worker.
pub struct PythonWorker {
    script: PathBuf,
    io: Mutex<Option<Running>>,
}

impl PythonWorker {
    /// A worker for `script` (not started until first used or checked).
    pub fn new(script: PathBuf) -> PythonWorker {
        PythonWorker {
            script,
            io: Mutex::new(None),
        }
    }

    pub fn script(&self) -> &Path {
        &self.script
    }

    async fn spawn(&self, timeout: Duration) -> Result<Running, String> {
        let mut child = tokio::process::Command::new("python3")
            .arg("-u")
            .arg("-c")
            .arg(WORKER)
            .arg(&self.script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start python3 for {}: {e}", self.script.display()))?;
        let stdin = child.stdin.take().ok_or("python worker has no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("python worker has no stdout")?);
        let mut running = Running {
            child,
            stdin,
            stdout,
        };
        let hello = tokio::time::timeout(timeout, read_answer(&mut running.stdout))
            .await
            .map_err(|_| {
                format!(
                    "python worker for {} did not start in time",
                    self.script.display()
                )
            })??;
        if hello.get("ok") != Some(&serde_json::Value::Bool(true)) {
            return Err(error_text(&hello));
        }
        Ok(running)
    }

    /// Stops the worker process (at runtime shutdown); a later call would start a new one.
    pub async fn stop(&self) {
        if let Some(mut r) = self.io.lock().await.take() {
            let _ = r.child.start_kill();
            let _ = r.child.wait().await;
        }
    }

    /// Calls `function` with `payload`; `check` only verifies the function exists.
    pub async fn call(
        &self,
        function: &str,
        payload: &serde_json::Value,
        check: bool,
        timeout: Duration,
    ) -> Result<serde_json::Value, String> {
        let mut guard = self.io.lock().await;
        if guard.is_none() {
            *guard = Some(self.spawn(timeout).await?);
        }
        let Some(running) = guard.as_mut() else {
            return Err("python worker unavailable".into());
        };
        let mut line = serde_json::to_vec(&serde_json::json!({
            "fn": function,
            "payload": payload,
            "check": check,
        }))
        .map_err(|e| e.to_string())?;
        line.push(b'\n');
        let exchange = async {
            running
                .stdin
                .write_all(&line)
                .await
                .map_err(|e| format!("python worker died: {e}"))?;
            read_answer(&mut running.stdout).await
        };
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                *guard = None; // broken: start a fresh worker next time
                return Err(e);
            }
            Err(_) => {
                if let Some(mut r) = guard.take() {
                    let _ = r.child.start_kill();
                }
                return Err(format!(
                    "{}::{function} did not answer within {}s (worker restarted)",
                    self.script.display(),
                    timeout.as_secs()
                ));
            }
        };
        if answer.get("ok") == Some(&serde_json::Value::Bool(true)) {
            Ok(answer
                .get("result")
                .cloned()
                .unwrap_or(serde_json::Value::Null))
        } else {
            Err(format!(
                "{}::{function}: {}",
                self.script.display(),
                error_text(&answer)
            ))
        }
    }
}

fn error_text(v: &serde_json::Value) -> String {
    v.get("error")
        .and_then(|e| e.as_str())
        .unwrap_or("python worker failed")
        .to_string()
}

async fn read_answer(stdout: &mut BufReader<ChildStdout>) -> Result<serde_json::Value, String> {
    let mut buf = Vec::new();
    let n = (&mut *stdout)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|e| format!("python worker died: {e}"))?;
    if n == 0 {
        return Err("python worker exited".into());
    }
    if !buf.ends_with(b"\n") {
        return Err(format!("python worker answered more than {MAX_LINE} bytes"));
    }
    serde_json::from_slice(&buf).map_err(|e| format!("python worker answered invalid JSON: {e}"))
}

use tokio::io::AsyncReadExt;
