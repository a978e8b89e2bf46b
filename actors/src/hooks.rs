//! Hooks and pipes (DESIGN.md §4). Pipes run in declared order before a component handles a
//! message and may replace its payload or drop it; hooks get a copy of each event a component
//! emits, run concurrently, never block or fail the pipeline, and their failures are counted.
//! Forms here: `log` and `command` (JSON on stdin, JSON on stdout, a real subprocess with a
//! timeout). Python and webhook forms are refused at start with a clear message.

use crate::envelope::{now_unix, Envelope};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use woodwork_parser::{Component, HookAction, HookSpec, LogLevel};

/// How long one hook or pipe command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes read from a command's stdout.
const MAX_OUTPUT: usize = 1 << 20;

/// A component's pipes and hooks.
#[derive(Clone, Debug, Default)]
pub struct HookSet {
    pipes: Vec<HookSpec>,
    hooks: Vec<HookSpec>,
}

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
        HookAction::Log { .. } => Ok(()),
        HookAction::Command { argv } if argv.is_empty() => Err(format!(
            "component `{}` line {}: {what} `command` is empty; give the program and its arguments, e.g. command: [\"python3\", \"pipe.py\"]",
            c.name, spec.span.line
        )),
        HookAction::Command { .. } => Ok(()),
        HookAction::Python { .. } => Err(format!(
            "component `{}` line {}: {what} with script_path/function_name (Python) is not yet supported by this runtime; use `command: [\"python3\", \"script.py\"]` or `log: \"info\"`",
            c.name, spec.span.line
        )),
        HookAction::Webhook { .. } => Err(format!(
            "component `{}` line {}: {what} with `webhook` is not yet supported by this runtime; use `command` or `log`",
            c.name, spec.span.line
        )),
    }
}

fn matches(spec: &HookSpec, event: &str) -> bool {
    spec.event == "*" || spec.event == event
}

impl HookSet {
    /// Reads a component's hooks and pipes, refusing forms this runtime cannot run yet.
    pub fn from_component(c: &Component) -> Result<HookSet, String> {
        for p in &c.pipes {
            check_form(c, p, "pipe")?;
        }
        for h in &c.hooks {
            check_form(c, h, "hook")?;
        }
        Ok(HookSet {
            pipes: c.pipes.clone(),
            hooks: c.hooks.clone(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.pipes.is_empty() && self.hooks.is_empty()
    }

    pub fn has_pipes_for(&self, event: &str) -> bool {
        !self.pipes.is_empty() && self.pipes.iter().any(|p| matches(p, event))
    }

    pub fn has_hooks_for(&self, event: &str) -> bool {
        !self.hooks.is_empty() && self.hooks.iter().any(|h| matches(h, event))
    }

    /// Runs the matching pipes in order on `payload`.
    pub async fn run_pipes(
        &self,
        event: &str,
        component: &str,
        mut payload: serde_json::Value,
    ) -> Result<PipeOutcome, String> {
        for p in self.pipes.iter().filter(|p| matches(p, event)) {
            match &p.action {
                HookAction::Log { level } => log_event(*level, component, event, &payload),
                HookAction::Command { argv } => {
                    match run_command(argv, &payload, COMMAND_TIMEOUT).await? {
                        None => {}
                        Some(serde_json::Value::Null) => return Ok(PipeOutcome::Drop),
                        Some(v) => payload = v,
                    }
                }
                _ => return Err("pipe form not supported".into()),
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
        for h in self.hooks.iter().filter(|h| matches(h, event)) {
            match &h.action {
                HookAction::Log { level } => log_event(*level, component, event, &env.payload),
                HookAction::Command { argv } => {
                    let body = hook_payload(env, component, component_type);
                    let argv = argv.clone();
                    jobs.push(Box::pin(async move {
                        run_command(&argv, &body, COMMAND_TIMEOUT).await.map(|_| ())
                    })
                        as futures_util::future::LocalBoxFuture<'static, _>);
                }
                _ => {}
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
    let run = async move {
        // A command that does not read its stdin is fine: ignore a broken pipe.
        let _ = stdin.write_all(&body).await;
        drop(stdin);
        child.wait_with_output().await
    };
    let out = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("`{program}` did not finish within {}s", timeout.as_secs()))?
        .map_err(|e| format!("`{program}` failed: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        return Err(format!("`{program}` exited with {}: {first}", out.status));
    }
    if out.stdout.len() > MAX_OUTPUT {
        return Err(format!("`{program}` wrote more than {MAX_OUTPUT} bytes"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("`{program}` did not print JSON: {e}"))
}
