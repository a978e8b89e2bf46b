//! `api functions`: the top-level functions of a Python file as a tool, called in one persistent
//! supervised `python3` worker per file (JSON lines over its stdin/stdout). A function that
//! raises is an observation; one that hangs, floods or kills its worker costs that call only:
//! the worker's process group is killed and a fresh worker takes the next call.

mod args;
mod catalog;
mod health;
mod process;
mod settings;
mod supervise;

pub use catalog::{FunctionSpec, ParamSpec};
pub use process::WORKER_SOURCE;
pub use settings::FunctionsSettings;

use crate::observation::{clip, MAX_OBSERVATION};
use crate::{Readiness, ToolBackend, ToolError, ToolFuture, ToolRequest};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use health::Health;
use process::{Broken, Group, Worker};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Longest `shutdown` waits for an in-flight call to give the worker back after killing it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The `api functions` backend (cheap to share: all state is behind one `Arc`).
pub struct PythonFunctions {
    inner: Arc<Inner>,
}

struct Inner {
    settings: FunctionsSettings,
    /// The file's name, as messages and the description show it.
    label: String,
    /// The idle worker; a call takes it out for its exchange, so calls are serialised and a
    /// cancelled call drops (and so kills) the worker instead of leaving an unread answer.
    slot: tokio::sync::Mutex<Option<Worker>>,
    functions: RwLock<Arc<Vec<FunctionSpec>>>,
    health: Mutex<Health>,
    group: Arc<Group>,
    /// A restart task is running (at most one).
    supervising: AtomicBool,
    stopped: AtomicBool,
}

/// A call checked against one catalog: which function, and the request line to send.
struct Plan {
    catalog: Arc<Vec<FunctionSpec>>,
    function: String,
    line: Vec<u8>,
}

impl PythonFunctions {
    /// A backend for `settings.path`; nothing runs until `start()` (or the first call).
    pub fn new(settings: FunctionsSettings) -> PythonFunctions {
        let label = settings
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| settings.path.display().to_string());
        PythonFunctions {
            inner: Arc::new(Inner {
                settings,
                label,
                slot: tokio::sync::Mutex::new(None),
                functions: RwLock::new(Arc::new(Vec::new())),
                health: Mutex::new(Health::new()),
                group: Arc::new(Group::default()),
                supervising: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
            }),
        }
    }

    /// The functions the worker found, for runtimes that pass tool schemas to the model
    /// natively (`FunctionSpec::input_schema`). Empty before the first start.
    pub fn functions(&self) -> Arc<Vec<FunctionSpec>> {
        self.inner.functions()
    }
}

impl ToolBackend for PythonFunctions {
    fn description(&self) -> String {
        catalog::describe(
            &self.inner.label,
            &self.inner.functions(),
            self.inner.settings.documentation.as_deref(),
        )
    }

    fn start(&self) -> BoxFuture<'static, Result<(), ToolError>> {
        let inner = self.inner.clone();
        async move { inner.start().await }.boxed()
    }

    fn call(&self, request: ToolRequest) -> ToolFuture {
        let inner = self.inner.clone();
        async move { inner.call(request).await }.boxed()
    }

    fn readiness(&self) -> Readiness {
        self.inner.health().readiness.clone()
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        let inner = self.inner.clone();
        async move { inner.shutdown().await }.boxed()
    }
}

impl Inner {
    fn functions(&self) -> Arc<Vec<FunctionSpec>> {
        self.functions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn start(self: &Arc<Self>) -> Result<(), ToolError> {
        let s = &self.settings;
        let prefix = format!("api functions `{}`", s.name);
        if !s.path.is_file() {
            let e = format!(
                "{prefix}: {} is not a file; set path to the .py file that defines the functions",
                s.path.display()
            );
            self.health().start_failed(&e);
            return Err(ToolError::Failed(e));
        }
        let mut slot = tokio::time::timeout(s.start_timeout, self.slot.lock())
            .await
            .map_err(|_| ToolError::Timeout(s.start_timeout))?;
        if slot.is_some() {
            return Ok(());
        }
        let worker = self
            .start_worker()
            .await
            .map_err(|e| ToolError::Failed(format!("{prefix}: {e}")))?;
        *slot = Some(worker);
        Ok(())
    }

    /// Spawns a worker and records the outcome (catalog, readiness, backoff).
    async fn start_worker(&self) -> Result<Worker, String> {
        if self.stopped.load(Ordering::Acquire) {
            return Err("the component is shut down".into());
        }
        match Worker::spawn(&self.settings, self.group.clone()).await {
            Ok(w) => {
                *self.functions.write().unwrap_or_else(|p| p.into_inner()) = w.functions.clone();
                self.health().started();
                Ok(w)
            }
            Err(e) => {
                tracing::warn!(component = %self.settings.name, "python worker: {e}");
                self.health().start_failed(&e);
                Err(e)
            }
        }
    }

    fn plan(&self, catalog: &Arc<Vec<FunctionSpec>>, req: &ToolRequest) -> Result<Plan, ToolError> {
        let spec = catalog::resolve(&self.label, catalog, req.action.as_deref())
            .map_err(ToolError::Failed)?;
        let kwargs = args::prepare(spec, &req.inputs).map_err(ToolError::Failed)?;
        let mut line = serde_json::to_vec(&serde_json::json!({"fn": spec.name, "kwargs": kwargs}))
            .map_err(|e| ToolError::Failed(format!("inputs cannot be sent: {e}")))?;
        line.push(b'\n');
        Ok(Plan {
            catalog: catalog.clone(),
            function: spec.name.clone(),
            line,
        })
    }

    async fn call(self: Arc<Self>, req: ToolRequest) -> Result<String, ToolError> {
        let s = &self.settings;
        if self.stopped.load(Ordering::Acquire) {
            return Err(ToolError::Unavailable(format!("{} is shut down", s.name)));
        }
        // Check against the catalog we have before queueing, so bad calls fail at once.
        let known = self.functions();
        let early = if known.is_empty() {
            None
        } else {
            Some(self.plan(&known, &req)?)
        };
        let mut slot = tokio::time::timeout(s.call_timeout, self.slot.lock())
            .await
            .map_err(|_| ToolError::Timeout(s.call_timeout))?;
        let mut retried = false;
        loop {
            let mut worker = match slot.take() {
                Some(w) => w,
                None => {
                    if let Some((wait, e)) = self.health().backing_off() {
                        return Err(ToolError::Unavailable(format!(
                            "worker for {} is down ({e}); next restart in {:.1}s",
                            self.label,
                            wait.as_secs_f64()
                        )));
                    }
                    match self.start_worker().await {
                        Ok(w) => w,
                        Err(e) => {
                            self.supervise();
                            return Err(ToolError::Unavailable(format!(
                                "worker for {} cannot start: {e}",
                                self.label
                            )));
                        }
                    }
                }
            };
            let fresh;
            let plan = match &early {
                Some(p) if Arc::ptr_eq(&p.catalog, &worker.functions) => p,
                _ => match self.plan(&worker.functions, &req) {
                    Ok(p) => {
                        fresh = p;
                        &fresh
                    }
                    Err(e) => {
                        *slot = Some(worker);
                        return Err(e);
                    }
                },
            };
            let f = &plan.function;
            let outcome =
                tokio::time::timeout(s.call_timeout, worker.exchange(&plan.line, s.max_output))
                    .await;
            let broken = match outcome {
                Ok(Ok(answer)) => {
                    *slot = Some(worker);
                    drop(slot);
                    return render(answer);
                }
                Ok(Err(Broken::NotListening)) if !retried => {
                    // Died while idle, before this call: not the call's fault; retry it once.
                    let status = worker.kill().await;
                    tracing::warn!(component = %s.name, "python worker had exited ({status}) while idle; restarting it");
                    retried = true;
                    continue;
                }
                Ok(Err(b)) => Some(b),
                Err(_) => None,
            };
            let status = worker.kill().await;
            self.lost_worker();
            if self.stopped.load(Ordering::Acquire) {
                return Err(ToolError::Unavailable(format!(
                    "{} was shut down during `{f}`",
                    s.name
                )));
            }
            return Err(match broken {
                None => ToolError::Timeout(s.call_timeout),
                Some(Broken::NotListening | Broken::Exited) => ToolError::Unavailable(format!(
                    "worker for {} exited ({status}) during `{f}`; restarted",
                    self.label
                )),
                Some(Broken::TooLong) => ToolError::Failed(format!(
                    "`{f}` answered more than max_output ({} bytes); the worker was restarted",
                    s.max_output
                )),
                Some(Broken::Garbled(e)) => ToolError::Unavailable(format!(
                    "worker for {} broke the answer protocol during `{f}` ({e}); restarted",
                    self.label
                )),
            });
        }
    }

    async fn shutdown(&self) {
        self.stopped.store(true, Ordering::Release);
        self.group.kill_current();
        if let Ok(mut slot) = tokio::time::timeout(SHUTDOWN_WAIT, self.slot.lock()).await {
            if let Some(w) = slot.take() {
                w.kill().await;
            }
        }
        self.health().readiness = Readiness::Down("shut down".into());
    }
}

/// The observation for a worker's answer: the text, cut to `MAX_OBSERVATION` with a note.
fn render(answer: process::Answer) -> Result<String, ToolError> {
    if !answer.ok {
        return Err(ToolError::Failed(
            answer
                .error
                .unwrap_or_else(|| "the function failed without a message".into()),
        ));
    }
    let text = answer.text.unwrap_or_default();
    Ok(match answer.total {
        Some(total) if total > text.len() => {
            let mut head = clip(text, MAX_OBSERVATION);
            head.push_str(&format!(" …(truncated: {total} bytes in all)"));
            head
        }
        _ => clip(text, MAX_OBSERVATION),
    })
}
