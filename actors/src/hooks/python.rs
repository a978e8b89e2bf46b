//! Python hooks and pipes (`{ event, script_path, function_name }`): a small pool of persistent
//! `python3` workers per script file, speaking JSON lines (the request on stdin, the answer on
//! stdout; the user's prints go to stderr). One call runs in one worker at a time, and the pool
//! grows on demand up to [`MAX_WORKERS`], so a slow call holds up only itself. Each worker is a
//! process group; one that times out or breaks is killed with everything it started, and the
//! next call starts a fresh one. Module-level state lives per worker.

use super::error::HookError;
use super::limits::DEFAULT_TIMEOUT;
use super::process::Group;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::Semaphore;

/// The worker program, embedded so nothing is fetched or installed at run time.
const WORKER: &str = include_str!("worker.py");
/// Longest answer line accepted from a worker.
const MAX_LINE: usize = 1 << 20;
/// Most workers (and so calls at once) per script.
pub const MAX_WORKERS: usize = 4;

/// One live worker process.
struct Running {
    group: Group,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The pool's record of live groups (this one leaves it when dropped).
    live: Arc<Mutex<HashSet<i32>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Kill before the pid can be reaped (then leave the record), see `process`.
        let mut live = self.live.lock();
        self.group.kill();
        live.remove(&self.group.pgid());
    }
}

/// One script's workers.
pub struct PythonWorker {
    script: PathBuf,
    /// Workers waiting for a call.
    idle: Mutex<Vec<Running>>,
    /// One permit per worker that may exist.
    slots: Arc<Semaphore>,
    /// Groups of every worker alive (idle or in a call), for `stop`.
    live: Arc<Mutex<HashSet<i32>>>,
    stopped: AtomicBool,
}

impl PythonWorker {
    /// A pool for `script` (no worker starts until first used or checked).
    pub fn new(script: PathBuf) -> PythonWorker {
        PythonWorker {
            script,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(MAX_WORKERS)),
            live: Arc::new(Mutex::new(HashSet::new())),
            stopped: AtomicBool::new(false),
        }
    }

    pub fn script(&self) -> &Path {
        &self.script
    }

    fn error(&self, what: String) -> HookError {
        HookError::Python(format!("{}: {what}", self.script.display()))
    }

    async fn spawn(&self, timeout: Duration) -> Result<Running, HookError> {
        let child = tokio::process::Command::new("python3")
            .arg("-u")
            .arg("-c")
            .arg(WORKER)
            .arg(&self.script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| self.error(format!("cannot start python3: {e}")))?;
        let mut group = Group::new(child);
        let (Some(stdin), Some(stdout)) = (group.child().stdin.take(), group.child().stdout.take())
        else {
            return Err(HookError::Internal(
                "a python worker's pipes were not set up",
            ));
        };
        self.live.lock().insert(group.pgid());
        let mut running = Running {
            group,
            stdin,
            stdout: BufReader::new(stdout),
            live: self.live.clone(),
        };
        let hello = tokio::time::timeout(timeout, read_answer(&mut running.stdout))
            .await
            .map_err(|_| self.error("the python worker did not start in time".into()))?
            .map_err(|e| self.error(e.to_string()))?;
        if hello.get("ok") != Some(&serde_json::Value::Bool(true)) {
            return Err(HookError::Python(error_text(&hello)));
        }
        Ok(running)
    }

    /// Stops every worker (at runtime shutdown), those in a call too; later calls fail.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let idle = std::mem::take(&mut *self.idle.lock());
        for mut r in idle {
            r.group.reap().await;
        }
        // Workers in a call: killed now, reaped when their call lets go of them.
        let mut live = self.live.lock();
        for pgid in live.drain() {
            // These leaders are unreaped: a `Running` leaves this set (under this lock) before
            // its child can be reaped.
            super::process::kill_group(pgid);
        }
    }

    /// Calls `function` with `payload`; `check` only verifies the function exists. Waits at most
    /// `slot_wait` for a free worker, then at most `timeout` for the answer.
    pub async fn call(
        &self,
        function: &str,
        payload: &serde_json::Value,
        check: bool,
        timeout: Duration,
        slot_wait: Duration,
    ) -> Result<serde_json::Value, HookError> {
        if self.stopped.load(Ordering::Acquire) {
            return Err(self.error("python workers were stopped (shutting down)".into()));
        }
        let _slot = match tokio::time::timeout(slot_wait, self.slots.clone().acquire_owned()).await
        {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(HookError::Internal("python worker slots closed")),
            Err(_) => {
                return Err(HookError::Busy {
                    what: format!("{}::{function}", self.script.display()),
                    limit: MAX_WORKERS,
                    waited: slot_wait,
                })
            }
        };
        let idle = self.idle.lock().pop();
        let mut running = match idle {
            Some(r) => r,
            None => self.spawn(timeout).await?,
        };
        let mut line = serde_json::to_vec(&serde_json::json!({
            "fn": function,
            "payload": payload,
            "check": check,
        }))
        .map_err(|e| self.error(format!("cannot encode the payload: {e}")))?;
        line.push(b'\n');
        let exchange = async {
            running
                .stdin
                .write_all(&line)
                .await
                .map_err(ExchangeError::Died)?;
            read_answer(&mut running.stdout).await
        };
        // A broken or timed-out worker is dropped here, which kills its process group.
        let answer = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => return Err(self.error(format!("{function}: {e}"))),
            Err(_) => {
                return Err(self.error(format!(
                    "{function} did not answer within {}s (its worker was killed)",
                    timeout.as_secs()
                )))
            }
        };
        if !self.stopped.load(Ordering::Acquire) {
            self.idle.lock().push(running);
        }
        if answer.get("ok") == Some(&serde_json::Value::Bool(true)) {
            Ok(answer
                .get("result")
                .cloned()
                .unwrap_or(serde_json::Value::Null))
        } else {
            Err(self.error(format!("{function}: {}", error_text(&answer))))
        }
    }

    /// Starts a worker and checks that `function` exists, so a typo fails the start.
    pub async fn check(&self, function: &str) -> Result<(), HookError> {
        self.call(
            function,
            &serde_json::Value::Null,
            true,
            DEFAULT_TIMEOUT,
            DEFAULT_TIMEOUT,
        )
        .await
        .map(|_| ())
    }
}

fn error_text(v: &serde_json::Value) -> String {
    v.get("error")
        .and_then(|e| e.as_str())
        .unwrap_or("python worker failed")
        .to_string()
}

/// Why talking to a worker failed; [`PythonWorker::error`] adds the script (and function).
#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error("the python worker died: {0}")]
    Died(#[source] std::io::Error),
    #[error("the python worker exited")]
    Exited,
    #[error("the python worker answered more than {MAX_LINE} bytes")]
    TooLong,
    #[error("the python worker answered invalid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
}

async fn read_answer(
    stdout: &mut BufReader<ChildStdout>,
) -> Result<serde_json::Value, ExchangeError> {
    let mut buf = Vec::new();
    let n = (&mut *stdout)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(ExchangeError::Died)?;
    if n == 0 {
        return Err(ExchangeError::Exited);
    }
    if !buf.ends_with(b"\n") {
        return Err(ExchangeError::TooLong);
    }
    serde_json::from_slice(&buf).map_err(ExchangeError::NotJson)
}
