//! Hooks and pipes (DESIGN.md §4). Pipes run in declared order before a component handles a
//! message and may replace its payload or drop it; hooks get a copy of each event a component
//! emits, run concurrently, never block or fail the pipeline, and their failures are counted.
//! Forms: `log`, `command` (JSON on stdin, JSON on stdout, a real subprocess in its own process
//! group with a timeout), Python `script_path` + `function_name` (a small pool of persistent
//! workers per script, woodwork payload dicts) and `webhook` (the payload POSTed as JSON; a pipe's
//! JSON answer replaces it). Every hook runs at most [`HookLimits::concurrency`] times at once:
//! an excess hook run waits up to its timeout for a slot and is then counted as a failure; an
//! excess pipe run waits up to [`limits::PIPE_SLOT_WAIT`].

pub mod command;
pub mod error;
pub mod global;
pub mod limits;
mod process;
pub mod python;
pub mod setup_error;
pub mod webhook;

use crate::envelope::{now_unix, Envelope};
pub use command::{run_command, CommandHook};
pub use error::HookError;
pub use global::GlobalHooks;
pub use limits::HookLimits;
use limits::{Slots, PIPE_SLOT_WAIT};
use python::PythonWorker;
pub use setup_error::HookSetupError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use woodwork_parser::{Component, HookAction, HookSpec, LogLevel};

/// How long one hook or pipe command (or Python call, or webhook) may run.
pub const COMMAND_TIMEOUT: Duration = limits::DEFAULT_TIMEOUT;
/// Largest Python hook script accepted (a script, not a data file).
const MAX_SCRIPT: u64 = 16 << 20;

/// How one hook or pipe runs.
#[derive(Clone)]
enum Runner {
    Log(LogLevel),
    Command(CommandHook),
    Python {
        worker: Arc<PythonWorker>,
        function: String,
        slots: Slots,
    },
    Webhook {
        url: reqwest::Url,
        slots: Slots,
    },
}

/// One hook or pipe, ready to run.
#[derive(Clone)]
struct Hook {
    /// `component `x` line N: hook`, for errors.
    what: Arc<str>,
    event: String,
    runner: Runner,
}

/// A component's pipes and hooks.
#[derive(Clone, Default)]
pub struct HookSet {
    pipes: Vec<Hook>,
    hooks: Vec<Hook>,
    http: reqwest::Client,
    limits: HookLimits,
}

/// Python workers shared by every component of one runtime, one pool per script file.
pub type PythonWorkers = HashMap<PathBuf, Arc<PythonWorker>>;

/// What a pipe decided.
#[derive(Debug, PartialEq)]
pub enum PipeOutcome {
    /// Deliver with this payload.
    Deliver(serde_json::Value),
    /// Drop the message (the branch ends without output).
    Drop,
}

fn matches(hook: &Hook, event: &str) -> bool {
    hook.event == "*" || hook.event == event
}

/// The script a Python hook names, checked to be a regular file of sane size: a FIFO or a
/// device there would otherwise hang or flood the worker at start.
fn script_file(at: &str, path: &Path) -> Result<(), HookSetupError> {
    match woodwork_tools::files::open_regular(path) {
        Ok(Some((_, meta))) if meta.len() > MAX_SCRIPT => Err(HookSetupError::ScriptTooLarge {
            at: at.to_string(),
            path: path.to_path_buf(),
            size: meta.len(),
            limit: MAX_SCRIPT,
        }),
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(HookSetupError::ScriptNotFound {
            at: at.to_string(),
            path: path.to_path_buf(),
        }),
        Err(reason) => Err(HookSetupError::ScriptUnreadable {
            at: at.to_string(),
            reason,
        }),
    }
}

/// Readies `specs`; `owner` names where they were written in errors (`component `x``, `global`).
fn prepare(
    owner: &str,
    specs: &[HookSpec],
    what: &str,
    base_dir: &Path,
    workers: &mut PythonWorkers,
    limits: HookLimits,
) -> Result<Vec<Hook>, HookSetupError> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let at = format!("{owner} line {}: {what}", spec.span.line);
        let runner = match &spec.action {
            HookAction::Log { level } => Runner::Log(*level),
            HookAction::Command { argv } if argv.is_empty() => {
                return Err(HookSetupError::EmptyCommand { at })
            }
            HookAction::Command { argv } => {
                Runner::Command(CommandHook::new(argv.clone(), limits).with_label(at.clone()))
            }
            HookAction::Webhook { url } => Runner::Webhook {
                url: webhook::validate(url).map_err(|source| HookSetupError::WebhookUrl {
                    at: at.clone(),
                    source,
                })?,
                slots: Slots::new(limits.concurrency),
            },
            HookAction::Python {
                script_path,
                function_name,
            } => {
                let path = if script_path.is_absolute() {
                    script_path.clone()
                } else {
                    base_dir.join(script_path)
                };
                script_file(&at, &path)?;
                let worker = workers
                    .entry(path.clone())
                    .or_insert_with(|| Arc::new(PythonWorker::new(path)))
                    .clone();
                Runner::Python {
                    worker,
                    function: function_name.clone(),
                    slots: Slots::new(limits.concurrency),
                }
            }
        };
        out.push(Hook {
            what: at.into(),
            event: spec.event.clone(),
            runner,
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
/// added when missing), plain values under `input` / `response`. `event` names the event, so a
/// function registered for every event (`"file.py::function"`) can tell them apart.
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
    m.entry("event").or_insert_with(|| event.into());
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
                            "session_id"
                                | "component_id"
                                | "component_type"
                                | "timestamp"
                                | "event"
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
    /// scripts resolve against `base_dir` and share worker pools through `workers`.
    pub fn from_component(
        c: &Component,
        base_dir: &Path,
        workers: &mut PythonWorkers,
    ) -> Result<HookSet, HookSetupError> {
        Self::with_limits(c, base_dir, workers, HookLimits::default())
    }

    /// Same, with bounds other than the defaults.
    pub fn with_limits(
        c: &Component,
        base_dir: &Path,
        workers: &mut PythonWorkers,
        limits: HookLimits,
    ) -> Result<HookSet, HookSetupError> {
        Self::with_global_pipes(c, &[], base_dir, workers, limits)
    }

    /// A component's set with the file's global pipes (`pipes = [...]` at the top level) run
    /// before its own, so every message any component takes passes them first.
    pub fn with_global_pipes(
        c: &Component,
        global_pipes: &[HookSpec],
        base_dir: &Path,
        workers: &mut PythonWorkers,
        limits: HookLimits,
    ) -> Result<HookSet, HookSetupError> {
        let owner = format!("component `{}`", c.name);
        let mut pipes = prepare(
            global::OWNER,
            global_pipes,
            "pipe",
            base_dir,
            workers,
            limits,
        )?;
        pipes.extend(prepare(
            &owner, &c.pipes, "pipe", base_dir, workers, limits,
        )?);
        Ok(HookSet {
            pipes,
            hooks: prepare(&owner, &c.hooks, "hook", base_dir, workers, limits)?,
            http: reqwest::Client::new(),
            limits,
        })
    }

    /// Starts the Python workers and checks every function exists, so a typo fails the start.
    pub async fn check(&self, _component: &str) -> Result<(), HookSetupError> {
        for h in self.pipes.iter().chain(&self.hooks) {
            if let Runner::Python {
                worker, function, ..
            } = &h.runner
            {
                worker
                    .check(function)
                    .await
                    .map_err(|source| HookSetupError::Check {
                        what: h.what.to_string(),
                        source,
                    })?;
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
            if let Runner::Python { worker, .. } = &h.runner {
                worker.stop().await;
            }
        }
    }

    pub fn has_pipes_for(&self, event: &str) -> bool {
        !self.pipes.is_empty() && self.pipes.iter().any(|p| matches(p, event))
    }

    pub fn has_hooks_for(&self, event: &str) -> bool {
        !self.hooks.is_empty() && self.hooks.iter().any(|h| matches(h, event))
    }

    /// Runs the matching pipes in order on `payload`. A pipe whose slots are all taken waits for
    /// one (up to [`PIPE_SLOT_WAIT`]): it stands in the message's way and is never skipped.
    pub async fn run_pipes(
        &self,
        cx: PipeContext<'_>,
        mut payload: serde_json::Value,
    ) -> Result<PipeOutcome, HookError> {
        let event = cx.event;
        let timeout = self.limits.timeout;
        for p in self.pipes.iter().filter(|p| matches(p, event)) {
            match &p.runner {
                Runner::Log(level) => log_event(*level, cx.component, event, &payload),
                Runner::Command(cmd) => match cmd.run(&payload, PIPE_SLOT_WAIT).await? {
                    None => {}
                    Some(serde_json::Value::Null) => return Ok(PipeOutcome::Drop),
                    Some(v) => payload = v,
                },
                Runner::Python {
                    worker,
                    function,
                    slots,
                } => {
                    let _slot = slots.acquire(|| p.what.to_string(), PIPE_SLOT_WAIT).await?;
                    let body = python_payload(
                        event,
                        &payload,
                        cx.session_id,
                        cx.component,
                        cx.component_type,
                    );
                    let result = worker
                        .call(function, &body, false, timeout, PIPE_SLOT_WAIT)
                        .await?;
                    payload = from_python(event, &payload, result);
                }
                Runner::Webhook { url, slots } => {
                    let _slot = slots.acquire(|| p.what.to_string(), PIPE_SLOT_WAIT).await?;
                    match webhook::post(&self.http, url, &payload, timeout)
                        .await
                        .map_err(HookError::Webhook)?
                    {
                        None => {}
                        Some(serde_json::Value::Null) => return Ok(PipeOutcome::Drop),
                        Some(v) => payload = v,
                    }
                }
            }
        }
        Ok(PipeOutcome::Deliver(payload))
    }

    /// The hooks matching `env`'s event, as futures to spawn; each resolves to its failure, if
    /// any. A hook whose slots are all taken waits up to its timeout for one, then fails.
    pub fn hook_jobs(
        &self,
        env: &Envelope,
        component: &str,
        component_type: &str,
    ) -> Vec<futures_util::future::LocalBoxFuture<'static, Result<(), HookError>>> {
        let event = env.event_type.as_str();
        let timeout = self.limits.timeout;
        let mut jobs: Vec<futures_util::future::LocalBoxFuture<'static, _>> = Vec::new();
        for h in self.hooks.iter().filter(|h| matches(h, event)) {
            match &h.runner {
                Runner::Log(level) => log_event(*level, component, event, &env.payload),
                Runner::Command(cmd) => {
                    let body = hook_payload(env, component, component_type);
                    let cmd = cmd.clone();
                    jobs.push(Box::pin(async move {
                        cmd.run(&body, timeout).await.map(|_| ())
                    }));
                }
                Runner::Python {
                    worker,
                    function,
                    slots,
                } => {
                    let body = python_payload(
                        event,
                        &env.payload,
                        &env.session_id,
                        component,
                        component_type,
                    );
                    let (worker, function, slots) =
                        (worker.clone(), function.clone(), slots.clone());
                    let what = h.what.clone();
                    jobs.push(Box::pin(async move {
                        let _slot = slots.acquire(|| what.to_string(), timeout).await?;
                        worker
                            .call(&function, &body, false, timeout, timeout)
                            .await
                            .map(|_| ())
                    }));
                }
                Runner::Webhook { url, slots } => {
                    let body = hook_payload(env, component, component_type);
                    let (url, slots, http) = (url.clone(), slots.clone(), self.http.clone());
                    let what = h.what.clone();
                    jobs.push(Box::pin(async move {
                        let _slot = slots.acquire(|| what.to_string(), timeout).await?;
                        webhook::post(&http, &url, &body, timeout)
                            .await
                            .map(|_| ())
                            .map_err(HookError::Webhook)
                    }));
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

#[cfg(test)]
mod setup_tests;
