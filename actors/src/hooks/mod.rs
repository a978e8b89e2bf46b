//! Hooks and pipes (DESIGN.md §4). Pipes run in declared order before a component handles a
//! message and may replace its payload or drop it; hooks get a copy of each event a component
//! emits, run concurrently, never block or fail the pipeline, and their failures are counted.
//! Forms: `log`, `command` (JSON on stdin, JSON on stdout, a real subprocess with a timeout) and
//! Python `script_path` + `function_name` (a persistent worker per script, woodwork payload dicts).
//! and `webhook` (the payload POSTed as JSON; a pipe's JSON answer replaces it).

pub mod python;
pub mod webhook;

use crate::envelope::{now_unix, Envelope};
use python::PythonWorker;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use woodwork_parser::{Component, HookAction, HookSpec, LogLevel};

/// How long one hook or pipe command (or Python call) may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes read from a command's stdout.
const MAX_OUTPUT: usize = 1 << 20;

/// One hook or pipe, with its Python worker or parsed webhook URL when it has those forms.
#[derive(Clone)]
struct Hook {
    spec: HookSpec,
    python: Option<Arc<PythonWorker>>,
    webhook: Option<reqwest::Url>,
}

/// A component's pipes and hooks.
#[derive(Clone, Default)]
pub struct HookSet {
    pipes: Vec<Hook>,
    hooks: Vec<Hook>,
    http: reqwest::Client,
}

/// Python workers shared by every component of one runtime, one per script file.
pub type PythonWorkers = HashMap<PathBuf, Arc<PythonWorker>>;

/// What a pipe decided.
#[derive(Debug, PartialEq)]
pub enum PipeOutcome {
    /// Deliver with this payload.
    Deliver(serde_json::Value),
    /// Drop the message (the branch ends without output).
    Drop,
}

fn check_form(c: &Component, spec: &HookSpec, what: &str) -> Result<(), String> {
    match &spec.action {
        HookAction::Log { .. } | HookAction::Python { .. } => Ok(()),
        HookAction::Webhook { url } => webhook::validate(url).map(|_| ()).map_err(|e| {
            format!("component `{}` line {}: {what}: {e}", c.name, spec.span.line)
        }),
        HookAction::Command { argv } if argv.is_empty() => Err(format!(
            "component `{}` line {}: {what} `command` is empty; give the program and its arguments, e.g. command: [\"python3\", \"pipe.py\"]",
            c.name, spec.span.line
        )),
        HookAction::Command { .. } => Ok(()),
    }
}

fn matches(spec: &HookSpec, event: &str) -> bool {
    spec.event == "*" || spec.event == event
}

fn prepare(
    c: &Component,
    specs: &[HookSpec],
    what: &str,
    base_dir: &Path,
    workers: &mut PythonWorkers,
) -> Result<Vec<Hook>, String> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        check_form(c, spec, what)?;
        let python = match &spec.action {
            HookAction::Python { script_path, .. } => {
                let path = if script_path.is_absolute() {
                    script_path.clone()
                } else {
                    base_dir.join(script_path)
                };
                if !path.is_file() {
                    return Err(format!(
                        "component `{}` line {}: {what} script `{}` not found (relative paths are resolved against the .ww file's directory)",
                        c.name,
                        spec.span.line,
                        path.display()
                    ));
                }
                Some(
                    workers
                        .entry(path.clone())
                        .or_insert_with(|| Arc::new(PythonWorker::new(path)))
                        .clone(),
                )
            }
            _ => None,
        };
        let webhook = match &spec.action {
            HookAction::Webhook { url } => webhook::validate(url).ok(),
            _ => None,
        };
        out.push(Hook {
            spec: spec.clone(),
            python,
            webhook,
        });
    }
    Ok(out)
}

/// The key a plain (non-map) payload goes under in a woodwork payload dict.
fn payload_key(event: &str) -> &'static str {
    if event == "input.received" {
        "input"
    } else {
        "response"
    }
}

/// A woodwork-style payload dict for Python: map payloads as they are (with woodwork's metadata
/// added when missing), plain values under `input` / `response`.
pub fn python_payload(
    event: &str,
    payload: &serde_json::Value,
    session_id: &str,
    component: &str,
    component_type: &str,
) -> serde_json::Value {
    let mut m = match payload {
        serde_json::Value::Object(m) => m.clone(),
        other => {
            let mut m = serde_json::Map::new();
            m.insert(payload_key(event).into(), other.clone());
            m
        }
    };
    m.entry("session_id").or_insert_with(|| session_id.into());
    m.entry("component_id").or_insert_with(|| component.into());
    m.entry("component_type")
        .or_insert_with(|| component_type.into());
    m.entry("timestamp").or_insert_with(|| now_unix().into());
    serde_json::Value::Object(m)
}

/// Reads a Python pipe's answer back into a payload: `None` keeps it, a dict answering a wrapped
/// plain payload gives back that field, anything else replaces it.
fn from_python(
    event: &str,
    original: &serde_json::Value,
    result: serde_json::Value,
) -> serde_json::Value {
    match result {
        serde_json::Value::Null => original.clone(),
        serde_json::Value::Object(mut m) if !original.is_object() => m
            .remove(payload_key(event))
            .unwrap_or(serde_json::Value::Object(m)),
        serde_json::Value::Object(mut m) => {
            // Keep the original's keys only: the metadata we added is not part of the payload.
            if let serde_json::Value::Object(orig) = original {
                m.retain(|k, _| {
                    orig.contains_key(k)
                        || !matches!(
                            k.as_str(),
                            "session_id" | "component_id" | "component_type" | "timestamp"
                        )
                });
            }
            serde_json::Value::Object(m)
        }
        other => other,
    }
}

/// Who a pipe runs for, so Python payloads carry woodwork's metadata.
pub struct PipeContext<'a> {
    pub event: &'a str,
    pub component: &'a str,
    pub component_type: &'a str,
    pub session_id: &'a str,
}

impl HookSet {
    /// Reads a component's hooks and pipes, refusing forms this runtime cannot run yet; Python
    /// scripts resolve against `base_dir` and share workers through `workers`.
    pub fn from_component(
        c: &Component,
        base_dir: &Path,
        workers: &mut PythonWorkers,
    ) -> Result<HookSet, String> {
        Ok(HookSet {
            pipes: prepare(c, &c.pipes, "pipe", base_dir, workers)?,
            hooks: prepare(c, &c.hooks, "hook", base_dir, workers)?,
            http: reqwest::Client::new(),
        })
    }

    /// Starts the Python workers and checks every function exists, so a typo fails the start.
    pub async fn check(&self, component: &str) -> Result<(), String> {
        for h in self.pipes.iter().chain(&self.hooks) {
            if let (Some(w), HookAction::Python { function_name, .. }) = (&h.python, &h.spec.action)
            {
                w.call(
                    function_name,
                    &serde_json::Value::Null,
                    true,
                    COMMAND_TIMEOUT,
                )
                .await
                .map_err(|e| format!("component `{component}` line {}: {e}", h.spec.span.line))?;
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.pipes.is_empty() && self.hooks.is_empty()
    }

    /// Stops this set's Python workers (shutdown).
    pub async fn stop_workers(&self) {
        for h in self.pipes.iter().chain(&self.hooks) {
            if let Some(w) = &h.python {
                w.stop().await;
            }
        }
    }

    pub fn has_pipes_for(&self, event: &str) -> bool {
        !self.pipes.is_empty() && self.pipes.iter().any(|p| matches(&p.spec, event))
    }

    pub fn has_hooks_for(&self, event: &str) -> bool {
        !self.hooks.is_empty() && self.hooks.iter().any(|h| matches(&h.spec, event))
    }

    /// Runs the matching pipes in order on `payload`.
    pub async fn run_pipes(
        &self,
        cx: PipeContext<'_>,
        mut payload: serde_json::Value,
    ) -> Result<PipeOutcome, String> {
        let event = cx.event;
        for p in self.pipes.iter().filter(|p| matches(&p.spec, event)) {
            match &p.spec.action {
                HookAction::Log { level } => log_event(*level, cx.component, event, &payload),
                HookAction::Command { argv } => {
                    match run_command(argv, &payload, COMMAND_TIMEOUT).await? {
                        None => {}
                        Some(serde_json::Value::Null) => return Ok(PipeOutcome::Drop),
                        Some(v) => payload = v,
                    }
                }
                HookAction::Python { function_name, .. } => {
                    let Some(worker) = &p.python else {
                        return Err("python pipe without a worker".into());
                    };
                    let body = python_payload(
                        event,
                        &payload,
                        cx.session_id,
                        cx.component,
                        cx.component_type,
                    );
                    let result = worker
                        .call(function_name, &body, false, COMMAND_TIMEOUT)
                        .await?;
                    payload = from_python(event, &payload, result);
                }
                HookAction::Webhook { .. } => {
                    let Some(url) = &p.webhook else {
                        return Err("webhook pipe without a URL".into());
                    };
                    match webhook::post(&self.http, url, &payload, COMMAND_TIMEOUT).await? {
                        None => {}
                        Some(serde_json::Value::Null) => return Ok(PipeOutcome::Drop),
                        Some(v) => payload = v,
                    }
                }
            }
        }
        Ok(PipeOutcome::Deliver(payload))
    }

    /// The hooks matching `env`'s event, as futures to spawn; each resolves to its failure, if any.
    pub fn hook_jobs(
        &self,
        env: &Envelope,
        component: &str,
        component_type: &str,
    ) -> Vec<futures_util::future::LocalBoxFuture<'static, Result<(), String>>> {
        let event = env.event_type.as_str();
        let mut jobs = Vec::new();
        for h in self.hooks.iter().filter(|h| matches(&h.spec, event)) {
            match &h.spec.action {
                HookAction::Log { level } => log_event(*level, component, event, &env.payload),
                HookAction::Command { argv } => {
                    let body = hook_payload(env, component, component_type);
                    let argv = argv.clone();
                    jobs.push(Box::pin(async move {
                        run_command(&argv, &body, COMMAND_TIMEOUT).await.map(|_| ())
                    })
                        as futures_util::future::LocalBoxFuture<'static, _>);
                }
                HookAction::Python { function_name, .. } => {
                    if let Some(worker) = h.python.clone() {
                        let body = python_payload(
                            event,
                            &env.payload,
                            &env.session_id,
                            component,
                            component_type,
                        );
                        let function = function_name.clone();
                        jobs.push(Box::pin(async move {
                            worker
                                .call(&function, &body, false, COMMAND_TIMEOUT)
                                .await
                                .map(|_| ())
                        }));
                    }
                }
                HookAction::Webhook { .. } => {
                    if let Some(url) = h.webhook.clone() {
                        let body = hook_payload(env, component, component_type);
                        let http = self.http.clone();
                        jobs.push(Box::pin(async move {
                            webhook::post(&http, &url, &body, COMMAND_TIMEOUT)
                                .await
                                .map(|_| ())
                        }));
                    }
                }
            }
        }
        jobs
    }
}

/// The dict a hook receives, in woodwork's field names.
pub fn hook_payload(env: &Envelope, component: &str, component_type: &str) -> serde_json::Value {
    serde_json::json!({
        "event": env.event_type.as_str(),
        "payload": &*env.payload,
        "session_id": &*env.session_id,
        "component_id": component,
        "component_type": component_type,
        "timestamp": now_unix(),
        "message_id": env.message_id,
    })
}

fn log_event(level: LogLevel, component: &str, event: &str, payload: &serde_json::Value) {
    match level {
        LogLevel::Trace => tracing::trace!(target: "woodwork::hook", component, event, %payload),
        LogLevel::Debug => tracing::debug!(target: "woodwork::hook", component, event, %payload),
        LogLevel::Info => tracing::info!(target: "woodwork::hook", component, event, %payload),
        LogLevel::Warn => tracing::warn!(target: "woodwork::hook", component, event, %payload),
        LogLevel::Error => tracing::error!(target: "woodwork::hook", component, event, %payload),
    }
}

/// Reads up to `limit` bytes into `buf` and discards the rest, so the writer never blocks on a
/// full pipe and memory stays bounded.
async fn read_bounded(
    mut r: impl tokio::io::AsyncRead + Unpin,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<()> {
    (&mut r).take(limit as u64).read_to_end(buf).await?;
    tokio::io::copy(&mut r, &mut tokio::io::sink()).await?;
    Ok(())
}

/// Runs `argv` with `input` as JSON on stdin; returns stdout parsed as JSON (`None` when empty).
pub async fn run_command(
    argv: &[String],
    input: &serde_json::Value,
    timeout: Duration,
) -> Result<Option<serde_json::Value>, String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "empty command".to_string())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let body = serde_json::to_vec(input).map_err(|e| e.to_string())?;
    let mut stdin = child.stdin.take().ok_or_else(|| "no stdin".to_string())?;
    let stdout = child.stdout.take().ok_or_else(|| "no stdout".to_string())?;
    let stderr = child.stderr.take().ok_or_else(|| "no stderr".to_string())?;
    let run = async move {
        // A command that does not read its stdin is fine: ignore a broken pipe.
        let write = async move {
            let _ = stdin.write_all(&body).await;
            drop(stdin);
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        // Read at most MAX_OUTPUT + 1 bytes of each, so a chatty command cannot grow memory.
        let read_out = read_bounded(stdout, &mut out, MAX_OUTPUT + 1);
        let read_err = read_bounded(stderr, &mut err, 4096);
        let (_, o, e) = tokio::join!(write, read_out, read_err);
        o.map_err(|e| e.to_string())?;
        e.map_err(|e| e.to_string())?;
        let status = child.wait().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((status, out, err))
    };
    let (status, stdout, stderr) = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("`{program}` did not finish within {}s", timeout.as_secs()))?
        .map_err(|e| format!("`{program}` failed: {e}"))?;
    if !status.success() {
        let err = String::from_utf8_lossy(&stderr);
        let first = err
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        return Err(format!("`{program}` exited with {status}: {first}"));
    }
    if stdout.len() > MAX_OUTPUT {
        return Err(format!("`{program}` wrote more than {MAX_OUTPUT} bytes"));
    }
    let text = String::from_utf8_lossy(&stdout);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("`{program}` did not print JSON: {e}"))
}
