//! The `Runtime` facade the server and CLI use: start from a checked config, send inputs and await
//! results or event streams, inspect health, components, sessions and the DLQ, shut down gracefully.

use crate::bus::{Address, InMemoryBus, MessageBus};
use crate::component::behaviour::Behaviour;
use crate::component::{ComponentActor, ComponentCell};
use crate::envelope::{now_unix, Envelope, EventType};
use crate::error::RuntimeError;
use crate::hooks::HookSet;
use crate::reply::{ReplyTo, Turn};
use crate::router::{Router, RouterActor};
use crate::services::Services;
use crate::session::{Admission, SessionManager, SessionTable};
use crate::supervisor::{RootSupervisor, ShutdownChildren};
use crate::types::*;
use actix::Actor;
use futures_util::Stream;
use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use woodwork_parser::{Config, Kind};

/// Events buffered per streamed turn (a slow reader slows the model, never grows memory).
pub const EVENT_STREAM_CAPACITY: usize = 256;

/// Tunables of one runtime.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Messages a component's mailbox holds.
    pub mailbox_capacity: usize,
    /// How long a send waits for mailbox space before `Overloaded`.
    pub send_timeout: Duration,
    /// Idle sessions are evicted after this.
    pub session_ttl: Duration,
    pub max_sessions: usize,
    /// Turns that may wait per busy session (`enqueue`).
    pub session_queue_limit: usize,
    /// Bytes of conversation memory all sessions keep together: past it the least recently
    /// active idle sessions holding memory are evicted, so sessions x window cannot grow without
    /// bound.
    pub session_memory_budget: usize,
    /// Most dead letters kept.
    pub dlq_capacity: usize,
    /// Most bytes of dead letters kept (payloads and messages): large payloads reach memory
    /// limits long before the count does.
    pub dlq_max_bytes: usize,
    /// Per child, at shutdown.
    pub shutdown_timeout: Duration,
    /// For requests that give none.
    pub default_deadline: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            mailbox_capacity: 1024,
            send_timeout: Duration::from_secs(2),
            session_ttl: Duration::from_secs(3600),
            max_sessions: 100_000,
            session_queue_limit: 64,
            session_memory_budget: crate::session::DEFAULT_MEMORY_BUDGET,
            dlq_capacity: 10_000,
            dlq_max_bytes: 64 * 1024 * 1024,
            shutdown_timeout: Duration::from_secs(5),
            default_deadline: Duration::from_secs(120),
        }
    }
}

struct Inner {
    services: Arc<Services>,
    root: actix::Addr<RootSupervisor>,
    session_manager: actix::Addr<SessionManager>,
    router_actor: actix::Addr<RouterActor>,
    accepting: AtomicBool,
    active: AtomicUsize,
    idle: Notify,
    started: Instant,
}

/// A running system. Cheap to clone, `Send + Sync`: use it from any actix-web worker.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

/// Counts a request in flight; shutdown waits for the count to reach zero.
struct ActiveGuard<'a>(&'a Inner);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Cancels the turn when the caller stops waiting for it.
struct CancelOnDrop(Arc<Turn>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.cancel();
        }
    }
}

/// A streamed turn: events, then one `Done` or `Failed`. Dropping it cancels the turn.
pub struct EventStream {
    rx: mpsc::Receiver<RuntimeEvent>,
}

impl Stream for EventStream {
    type Item = RuntimeEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RuntimeEvent>> {
        self.rx.poll_recv(cx)
    }
}

fn build_cells(
    config: &Config,
    opts: &RuntimeOptions,
) -> Result<Vec<Arc<ComponentCell>>, RuntimeError> {
    let mut order: Vec<&str> = config.start_order.iter().map(String::as_str).collect();
    for c in &config.components {
        if !order.contains(&c.name.as_str()) {
            order.push(&c.name);
        }
    }
    let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let base_dir = config.base_dir();
    let mut workers = crate::hooks::PythonWorkers::new();
    let mut cells = Vec::with_capacity(order.len());
    for (i, name) in order.iter().enumerate() {
        let spec = config.component(name).ok_or_else(|| {
            RuntimeError::Start(format!("start_order names `{name}`, which is not declared"))
        })?;
        let mut routes = Vec::new();
        let mut routes_names = Vec::new();
        for to in config.routes_from(name) {
            let t = *index.get(to).ok_or_else(|| {
                RuntimeError::Start(format!(
                    "component `{name}` routes to `{to}`, which is not declared"
                ))
            })?;
            if !routes.contains(&t) {
                routes.push(t);
                routes_names.push(to.to_string());
            }
        }
        let model = if spec.kind == Kind::Llm {
            Some(crate::llm::build_model(spec).map_err(RuntimeError::Start)?)
        } else {
            None
        };
        let backends = crate::component::backends::build(spec, config, &base_dir)
            .map_err(RuntimeError::Start)?;
        let hooks =
            HookSet::from_component(spec, &base_dir, &mut workers).map_err(RuntimeError::Start)?;
        cells.push(Arc::new(ComponentCell::new(
            i,
            Arc::new(spec.clone()),
            routes,
            routes_names,
            model,
            backends,
            hooks,
            opts.mailbox_capacity.max(1),
        )));
    }
    Ok(cells)
}

/// Starts every tool backend (workers spawned, servers connected and listed, files embedded),
/// all at once, so a bad tool fails the start with its own message instead of the first call.
async fn start_backends(cells: &[Arc<ComponentCell>]) -> Result<(), RuntimeError> {
    let starts = cells.iter().filter_map(|c| {
        let tool = c.backends.tool.clone()?;
        let name = c.name.clone();
        Some(async move {
            tracing::info!(component = &*name, "starting tool backend");
            tool.start()
                .await
                .map_err(|e| format!("component `{name}` cannot start: {e}"))
        })
    });
    let results = futures_util::future::join_all(starts).await;
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        for c in cells {
            if let Some(t) = &c.backends.tool {
                t.shutdown().await;
            }
        }
        Err(RuntimeError::Start(errors.join("; ")))
    }
}

fn session_event(bus: &Arc<dyn MessageBus>, event: EventType, id: &str) {
    if bus.has_subscribers() {
        let env = Envelope::new(
            Arc::from(id),
            event,
            Arc::new(serde_json::json!({ "session_id": id, "timestamp": now_unix() })),
            Arc::from("sessions"),
        );
        bus.publish(&env);
    }
}

impl Runtime {
    /// Starts every component (dependency order) under the root supervisor. Must be called inside
    /// an actix System; the actors run on the calling arbiter.
    pub async fn start(config: Config, opts: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        if actix::System::try_current().is_none() {
            return Err(RuntimeError::Start(
                "Runtime::start must be called inside an actix System (e.g. #[actix_web::main])"
                    .into(),
            ));
        }
        let cells: Arc<[Arc<ComponentCell>]> = build_cells(&config, &opts)?.into();
        start_backends(&cells).await?;
        // Python hook workers start now, so a missing function fails the start, not the first call.
        for cell in cells.iter() {
            cell.hooks
                .check(&cell.name)
                .await
                .map_err(RuntimeError::Start)?;
        }
        let memory_bus = Arc::new(InMemoryBus::new(
            opts.send_timeout,
            crate::bus::DlqLimits {
                max_letters: opts.dlq_capacity,
                max_bytes: opts.dlq_max_bytes,
            },
        ));
        memory_bus.attach(cells.clone());
        let bus: Arc<dyn MessageBus> = memory_bus;
        let sessions = SessionTable::with_memory_budget(
            opts.session_ttl,
            opts.max_sessions,
            opts.session_queue_limit,
            opts.session_memory_budget,
        );
        let ended_bus = bus.clone();
        sessions.set_on_ended(Box::new(move |id| {
            session_event(&ended_bus, EventType::SessionEnded, id)
        }));
        let services = Arc::new(Services {
            router: Router::new(bus.clone(), cells.clone()),
            bus: bus.clone(),
            sessions: sessions.clone(),
            root: Default::default(),
            opts: opts.clone(),
            base_dir: config.base_dir(),
        });
        // Build every behaviour first, so a bad component fails the start before any actor runs.
        let mut behaviours = Vec::with_capacity(cells.len());
        for cell in cells.iter() {
            behaviours.push(Behaviour::build(cell, &services).map_err(RuntimeError::Start)?);
        }
        let root = RootSupervisor::new(cells.clone()).start();
        let _ = services.root.set(root.clone());
        let session_manager = SessionManager { table: sessions }.start();
        let router_actor = RouterActor {
            services: services.clone(),
        }
        .start();
        for (cell, behaviour) in cells.iter().zip(behaviours) {
            let addr = ComponentActor::new(cell.clone(), services.clone(), behaviour).start();
            let _ = cell.addr.set(addr);
            tracing::debug!(component = &*cell.name, kind = %cell.spec.kind, "component started");
        }
        Ok(Runtime {
            inner: Arc::new(Inner {
                services,
                root,
                session_manager,
                router_actor,
                accepting: AtomicBool::new(true),
                active: AtomicUsize::new(0),
                idle: Notify::new(),
                started: Instant::now(),
            }),
        })
    }

    fn services(&self) -> &Arc<Services> {
        &self.inner.services
    }

    /// The router (request/reply to a component, bulk sends); for tools, tests and benchmarks.
    pub fn router(&self) -> &Router {
        &self.inner.services.router
    }

    /// The bus (subscribe to events, stats).
    pub fn bus(&self) -> &Arc<dyn MessageBus> {
        &self.inner.services.bus
    }

    /// The router actor's address (route envelopes from outside the component actors).
    pub fn router_actor(&self) -> &actix::Addr<RouterActor> {
        &self.inner.router_actor
    }

    fn entry(&self, name: &str) -> Result<Arc<ComponentCell>, RuntimeError> {
        let cell =
            self.router()
                .lookup(name)
                .cloned()
                .ok_or_else(|| RuntimeError::UnknownComponent {
                    name: name.to_string(),
                    known: self.router().known(),
                })?;
        if matches!(cell.spec.kind, Kind::Memory | Kind::Vm) {
            let entries: Vec<&str> = self
                .router()
                .cells()
                .iter()
                .filter(|c| matches!(c.spec.kind, Kind::Input | Kind::Agent | Kind::Llm))
                .map(|c| &*c.name)
                .collect();
            return Err(RuntimeError::Invalid(format!(
                "`{name}` ({} {}) is not an entry point: it takes no input of its own; post to one of: {}",
                cell.spec.kind,
                cell.spec.type_name,
                entries.join(", ")
            )));
        }
        Ok(cell)
    }

    /// Runs one input through the pipeline and returns every terminal output.
    pub async fn send(&self, req: InputRequest) -> Result<InputResponse, RuntimeError> {
        self.run(req, None).await
    }

    /// Like `send`, but streams the turn's events (agent steps, token chunks) and ends with `Done`
    /// or `Failed`. Dropping the stream cancels the turn.
    pub async fn send_stream(&self, req: InputRequest) -> Result<EventStream, RuntimeError> {
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(RuntimeError::ShuttingDown);
        }
        self.entry(&req.component)?;
        let (tx, rx) = mpsc::channel(EVENT_STREAM_CAPACITY);
        let rt = self.clone();
        actix_rt::spawn(async move {
            let run = rt.run(req, Some(tx.clone()));
            tokio::select! {
                result = run => {
                    let last = match result {
                        Ok(r) => RuntimeEvent::Done(r),
                        Err(e) => RuntimeEvent::Failed(e),
                    };
                    let _ = tx.send(last).await;
                }
                _ = tx.closed() => {}
            }
        });
        Ok(EventStream { rx })
    }

    async fn run(
        &self,
        req: InputRequest,
        events: Option<mpsc::Sender<RuntimeEvent>>,
    ) -> Result<InputResponse, RuntimeError> {
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(RuntimeError::ShuttingDown);
        }
        let cell = self.entry(&req.component)?;
        self.inner.active.fetch_add(1, Ordering::AcqRel);
        let _active = ActiveGuard(&self.inner);
        let deadline = req
            .deadline
            .unwrap_or(self.services().opts.default_deadline);
        let entry_name = cell.name.to_string();
        match tokio::time::timeout(deadline, self.turn(cell, req, deadline, events)).await {
            Ok(r) => r,
            Err(_) => Err(RuntimeError::DeadlineExceeded {
                component: entry_name,
            }),
        }
    }

    async fn turn(
        &self,
        cell: Arc<ComponentCell>,
        req: InputRequest,
        deadline: Duration,
        events: Option<mpsc::Sender<RuntimeEvent>>,
    ) -> Result<InputResponse, RuntimeError> {
        let services = self.services();
        let policy = cell.spec.session_policy;
        let (admission, created) = services.sessions.begin(req.session_id.as_deref(), policy)?;
        let session = match admission {
            Admission::Now(t) => t,
            Admission::Queued(id, rx) => rx.await.map_err(|_| RuntimeError::ComponentFailed {
                component: cell.name.to_string(),
                message: format!("session `{id}` ended while this input waited for its turn"),
            })?,
        };
        if created {
            session_event(&services.bus, EventType::SessionCreated, session.id());
        }
        let (turn, done) = Turn::new(session.id().clone(), Arc::new(req.inputs), events);
        let _cancel = CancelOnDrop(turn.clone());
        // Registered so that ending the session (DELETE) cancels this turn.
        if !services.sessions.attach(session.id(), &turn, &cell.name) {
            return Err(RuntimeError::ComponentFailed {
                component: cell.name.to_string(),
                message: format!(
                    "session `{}` was ended before this turn started",
                    session.id()
                ),
            });
        }
        let mut env = Envelope::new(
            session.id().clone(),
            EventType::InputReceived,
            Arc::new(req.input),
            Arc::from("api"),
        );
        env.target = Some(cell.name.clone());
        env.trace_id = req.trace_id.map(Arc::from);
        env.deadline = Some(env.created_at + deadline.as_secs_f64());
        env.ttl = env.ttl.min(deadline.as_secs_f64());
        env.reply = Some(ReplyTo::Turn(turn.clone()));
        // An input component announces input.received itself when it passes the input on; for
        // any other entry point the runtime announces it, so a stream shows it exactly once.
        if cell.spec.kind != woodwork_parser::Kind::Input {
            turn.emit(&env);
        }
        services
            .bus
            .send(Address(cell.index), env)
            .await
            .map_err(|(e, _)| e)?;
        let result = done.await.unwrap_or_else(|_| {
            Err(RuntimeError::ComponentFailed {
                component: cell.name.to_string(),
                message: "the turn was dropped".into(),
            })
        });
        drop(session);
        result
    }

    /// Overall health: unhealthy when a component failed (escalated) or was terminated while
    /// running; degraded when a breaker is not closed or a component is restarting.
    pub fn health(&self) -> HealthReport {
        let mut components = BTreeMap::new();
        let mut status = HealthStatus::Healthy;
        let running = self.inner.accepting.load(Ordering::Acquire);
        for cell in self.router().cells().iter() {
            let state = cell.reported_state();
            let breaker = cell.breaker_state();
            if state == ComponentState::Failed || (running && state == ComponentState::Terminated) {
                status = HealthStatus::Unhealthy;
            } else if (breaker != BreakerState::Closed
                || state == ComponentState::Unavailable
                || (running && state == ComponentState::Initializing))
                && status == HealthStatus::Healthy
            {
                status = HealthStatus::Degraded;
            }
            components.insert(
                cell.name.to_string(),
                ComponentHealth {
                    state,
                    breaker,
                    restarts: cell.restarts(),
                },
            );
        }
        HealthReport {
            status,
            components,
            bus: self.bus().stats(),
            uptime_s: self.inner.started.elapsed().as_secs(),
        }
    }

    /// Every component, in start order.
    pub fn components(&self) -> Vec<ComponentStatus> {
        self.router().cells().iter().map(|c| c.status()).collect()
    }

    pub fn component(&self, name: &str) -> Option<ComponentStatus> {
        self.router().lookup(name).map(|c| c.status())
    }

    pub fn session(&self, id: &str) -> Option<SessionInfo> {
        self.services().sessions.info(id)
    }

    /// A session's conversation memory (bounded; what agents see as history).
    pub fn session_history(&self, id: &str) -> Vec<crate::llm::ChatMessage> {
        self.services().sessions.history(id)
    }

    /// Ends a session: a turn running in it is cancelled (its caller gets an error), its memory
    /// is dropped, and a later input with the same id starts a new session. True if it existed.
    pub async fn end_session(&self, id: &str) -> bool {
        let existed = self.services().sessions.remove(id);
        if existed {
            session_event(self.bus(), EventType::SessionEnded, id);
            metrics::gauge!("woodwork_sessions_active").set(self.services().sessions.len() as f64);
        }
        existed
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        self.services().sessions.len()
    }

    /// Conversation bytes all sessions keep (bounded by `session_memory_budget`).
    pub fn session_memory_bytes(&self) -> usize {
        self.services().sessions.memory_bytes()
    }

    /// Evicts idle sessions now (the session manager also does it on its own schedule).
    pub async fn evict_idle_sessions(&self) -> usize {
        self.inner
            .session_manager
            .send(crate::session::EvictIdle)
            .await
            .unwrap_or(0)
    }

    /// Every dead letter, oldest first (a copy of the whole queue: `dead_letter_page` for HTTP).
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.bus().dead_letters()
    }

    /// At most `limit` dead letters after the cursor `after` (a letter's `seq`), oldest first.
    pub fn dead_letter_page(&self, after: Option<u64>, limit: usize) -> crate::bus::DeadLetterPage {
        self.bus().dead_letter_page(after, limit)
    }

    /// One dead letter, left in the queue.
    pub fn dead_letter(&self, id: &str) -> Option<DeadLetter> {
        self.bus().dead_letter_by_id(id)
    }

    /// Re-runs a dead letter from the component it was addressed to, in its session, with a fresh
    /// retry budget and TTL. The letter leaves the queue (it returns if it fails again).
    pub async fn replay(&self, dead_letter_id: &str) -> Result<InputResponse, RuntimeError> {
        let letter = self.bus().take_dead_letter(dead_letter_id).ok_or_else(|| {
            RuntimeError::Invalid(format!(
                "no dead letter `{dead_letter_id}`; GET /dlq lists them"
            ))
        })?;
        let target = letter
            .envelope
            .target
            .as_deref()
            .map(str::to_string)
            .ok_or_else(|| {
                RuntimeError::Invalid("the dead letter has no target component".into())
            })?;
        self.bus().count_replay();
        let req = InputRequest {
            component: target,
            input: (*letter.envelope.payload).clone(),
            inputs: serde_json::Map::new(),
            session_id: Some(letter.envelope.session_id.to_string()),
            deadline: None,
            trace_id: letter.envelope.trace_id.as_deref().map(str::to_string),
        };
        self.send(req).await
    }

    /// Stops accepting work, waits (bounded) for requests in flight, then stops the components in
    /// reverse start order, each within the shutdown timeout.
    pub async fn shutdown(&self) {
        self.inner.accepting.store(false, Ordering::Release);
        let opts = &self.services().opts;
        let drain = async {
            loop {
                let notified = self.inner.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.inner.active.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let bound = opts
            .shutdown_timeout
            .saturating_mul(self.router().cells().len().max(1) as u32);
        if tokio::time::timeout(bound, drain).await.is_err() {
            tracing::warn!("shutdown: requests still in flight after {bound:?}; stopping anyway");
        }
        let _ = self
            .inner
            .root
            .send(ShutdownChildren {
                timeout: opts.shutdown_timeout,
            })
            .await;
        for cell in self.router().cells().iter() {
            cell.hooks.stop_workers().await;
            if let Some(tool) = &cell.backends.tool {
                tool.shutdown().await;
            }
        }
    }

    /// True until `shutdown` was called.
    pub fn is_accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::Acquire)
    }
}
