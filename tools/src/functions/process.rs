//! One Python worker process: spawned in its own process group (so a timeout kills whatever the
//! function started too), spoken to in JSON lines with every read capped, and never left behind.

use super::catalog::FunctionSpec;
use super::settings::FunctionsSettings;
use crate::observation::MAX_OBSERVATION;
use crate::process::kill_group;
use serde::Deserialize;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

/// The worker program, embedded so nothing is fetched or installed at run time.
pub const WORKER_SOURCE: &str = include_str!("worker.py");
/// Longest stderr line logged as one record; longer lines are logged in pieces.
const MAX_LOG_LINE: u64 = 8 * 1024;
/// Longest wait for a SIGKILLed process to be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// The live worker's process group, shared with the backend so `shutdown` can kill it while a
/// call owns the worker. Holds the pid only while that pid is unreaped (so it cannot be reused).
#[derive(Default)]
pub(super) struct Group(Mutex<Option<i32>>);

impl Group {
    fn set(&self, pid: i32) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(pid);
    }

    fn kill_if(&self, pid: i32) {
        if *self.0.lock().unwrap_or_else(|p| p.into_inner()) == Some(pid) {
            kill_group(pid);
        }
    }

    fn clear_if(&self, pid: i32) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if *g == Some(pid) {
            *g = None;
        }
    }

    /// Kills the current worker's group, if there is one (shutdown).
    pub(super) fn kill_current(&self) {
        if let Some(pid) = *self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            kill_group(pid);
        }
    }
}

/// A worker's answer to one call.
#[derive(Deserialize)]
pub(super) struct Answer {
    pub ok: bool,
    #[serde(default)]
    pub text: Option<String>,
    /// Size in bytes of the whole result when the worker sent only its head.
    #[serde(default)]
    pub total: Option<usize>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Deserialize)]
struct Hello {
    ok: bool,
    #[serde(default)]
    functions: Vec<FunctionSpec>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "where")]
    location: Option<String>,
    #[serde(default)]
    missing_module: Option<String>,
}

/// Why an exchange produced no answer; each leaves the worker unusable.
pub(super) enum Broken {
    /// The request could not be written: the worker was already gone before this call.
    NotListening,
    /// End of output before a whole answer: the worker died during the call.
    Exited,
    /// The answer line was longer than the cap.
    TooLong,
    /// The answer line was not the protocol (something wrote to the worker's private pipe).
    Garbled(String),
}

enum LineError {
    Eof,
    TooLong,
}

pub(super) struct Worker {
    child: Child,
    pid: i32,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    buf: Vec<u8>,
    group: Arc<Group>,
    /// What this worker found in the file (replaced as a whole on restart, compared by pointer).
    pub functions: Arc<Vec<FunctionSpec>>,
}

impl Worker {
    /// Starts the worker and reads the file's functions. The error says what failed and how to
    /// fix it, without the component's name (the caller adds it).
    pub(super) async fn spawn(s: &FunctionsSettings, group: Arc<Group>) -> Result<Worker, String> {
        let mut child = Command::new(&s.python)
            .arg("-u")
            .arg("-c")
            .arg(WORKER_SOURCE)
            .arg(&s.path)
            .arg(MAX_OBSERVATION.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run `{}`: {e}; install Python 3 or set python to an interpreter's path",
                    s.python.display()
                )
            })?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        group.set(pid);
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill_group(pid);
            return Err("the python worker was started without its pipes".into());
        };
        forward_stderr(stderr, s.name.clone());
        let mut worker = Worker {
            child,
            pid,
            stdin,
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            buf: Vec::new(),
            group,
            functions: Arc::new(Vec::new()),
        };
        let cap = s.max_output.max(1 << 20);
        let path = s.path.display();
        let read = tokio::time::timeout(
            s.start_timeout,
            read_line(&mut worker.stdout, &mut worker.buf, cap),
        )
        .await;
        let failure = match read {
            Err(_) => format!(
                "importing {path} took longer than {}s; does top-level code block or wait?",
                s.start_timeout.as_secs_f64()
            ),
            Ok(Err(LineError::TooLong)) => {
                format!("the list of functions in {path} is longer than {cap} bytes")
            }
            Ok(Err(LineError::Eof)) => {
                let status = worker.kill().await;
                return Err(format!(
                    "the python worker exited ({status}) before it had imported {path}; its \
                     stderr is in the log (is `{}` Python 3?)",
                    s.python.display()
                ));
            }
            Ok(Ok(())) => match serde_json::from_slice::<Hello>(&worker.buf) {
                Err(e) => format!("the python worker's first answer is not the protocol: {e}"),
                Ok(h) if !h.ok => import_error(s, &h),
                Ok(h) if h.functions.is_empty() => format!(
                    "{path} defines no public functions (top-level `def name(...)` whose name \
                     does not start with `_`); add one, or point path at the file that has them"
                ),
                Ok(h) => {
                    worker.functions = Arc::new(h.functions);
                    return Ok(worker);
                }
            },
        };
        worker.kill().await;
        Err(failure)
    }

    /// Sends one request line and reads its answer line (at most `cap` bytes).
    pub(super) async fn exchange(&mut self, line: &[u8], cap: usize) -> Result<Answer, Broken> {
        if self.stdin.write_all(line).await.is_err() {
            return Err(Broken::NotListening);
        }
        match read_line(&mut self.stdout, &mut self.buf, cap).await {
            Ok(()) => serde_json::from_slice(&self.buf).map_err(|e| Broken::Garbled(e.to_string())),
            Err(LineError::Eof) => Err(Broken::Exited),
            Err(LineError::TooLong) => Err(Broken::TooLong),
        }
    }

    /// Kills the worker's whole process group and reaps the worker; says how it ended
    /// (`code 3`, `signal 9`).
    pub(super) async fn kill(mut self) -> String {
        self.group.kill_if(self.pid);
        let status = tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await;
        self.group.clear_if(self.pid);
        match status {
            Ok(Ok(st)) => status_text(st),
            Ok(Err(e)) => format!("status unknown: {e}"),
            Err(_) => format!("not reaped within {}s", REAP_TIMEOUT.as_secs()),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Still unreaped (a cancelled call, a dropped backend): its pid is still ours to kill.
        if self.child.id().is_some() {
            self.group.kill_if(self.pid);
            self.group.clear_if(self.pid);
        }
    }
}

fn status_text(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("code {c}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => st.to_string(),
    }
}

fn import_error(s: &FunctionsSettings, h: &Hello) -> String {
    let error = h.error.as_deref().unwrap_or("unknown error");
    let at = h
        .location
        .as_deref()
        .map(|w| format!(" (at {w})"))
        .unwrap_or_default();
    let fix = match &h.missing_module {
        Some(m) => format!(
            "install the package that provides it for {py} (e.g. `{py} -m pip install {m}`) \
             or set python to an interpreter that has it",
            py = s.python.display()
        ),
        None => "fix the file".to_string(),
    };
    format!("cannot import {}: {error}{at}; {fix}", s.path.display())
}

/// Reads one `\n`-terminated line of at most `cap` bytes into `buf`.
async fn read_line(
    r: &mut BufReader<ChildStdout>,
    buf: &mut Vec<u8>,
    cap: usize,
) -> Result<(), LineError> {
    buf.clear();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let n = r
        .take(limit)
        .read_until(b'\n', buf)
        .await
        .map_err(|_| LineError::Eof)?;
    match buf.last() {
        Some(b'\n') => Ok(()),
        _ if n > cap => Err(LineError::TooLong),
        _ => Err(LineError::Eof),
    }
}

/// Logs what the user's code prints (the worker sends `print()` to stderr), line by line.
fn forward_stderr(stderr: ChildStderr, component: String) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return; // dropped pipe: the worker's prints fail, its calls do not
    };
    rt.spawn(async move {
        let mut r = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            line.clear();
            match (&mut r)
                .take(MAX_LOG_LINE)
                .read_until(b'\n', &mut line)
                .await
            {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end();
                    if !text.is_empty() {
                        tracing::info!(component = %component, "python: {text}");
                    }
                }
            }
        }
    });
}
