//! What outlives a component actor's restarts: its spec, model, breaker, mailbox bound, counters,
//! restart history and last failure. The per-component supervisor state, read by `/components`.
//! A module of its own, below `component`, `router` and `services`: the router holds the cells and
//! the component actors hold the router, so the cell must depend on neither.

use crate::breaker::Breaker;
use crate::bus::slots::{Slot, Slots};
use crate::hooks::HookSet;
use crate::llm::ChatModel;
use crate::types::{BreakerState, ComponentState, ComponentStatus};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use woodwork_parser::Component;

mod link;
mod meters;

pub use link::{ActorLink, Deliver};
pub use meters::CellMetrics;

/// What a component's cell holds besides its model (built by `component::backends`); defined with
/// the cell so that the cell does not depend on the component module that builds it.
#[derive(Default, Clone)]
pub struct Backends {
    pub tool: Option<Arc<dyn woodwork_tools::ToolBackend>>,
    pub knowledge: Option<woodwork_knowledge::KnowledgeBase>,
}

/// One component's long-lived state.
pub struct ComponentCell {
    /// Position in start order.
    pub index: usize,
    pub name: Arc<str>,
    pub spec: Arc<Component>,
    /// Targets (indices into the cell table), explicit and inferred, in routing order.
    pub routes: Vec<usize>,
    pub routes_names: Vec<String>,
    /// The model of an llm component; shared with agents that use it; survives restarts.
    pub model: Option<Arc<dyn ChatModel>>,
    /// The tool backend (worker, client, server session) and knowledge base of tool components;
    /// like the model, they survive restarts and supervise their own processes.
    pub backends: Backends,
    pub hooks: Arc<HookSet>,
    /// Shared with the cell's successor when a config reload keeps the component (`successor`).
    pub breaker: Arc<Breaker>,
    pub metrics: CellMetrics,
    state: AtomicU8,
    permits: Arc<Slots>,
    capacity: usize,
    /// The counters and history below are `Arc`s so that a config reload's successor cell keeps
    /// counting on them (`/components` shows one history per component across reloads).
    restarts: Arc<AtomicU32>,
    processed: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    last_failure: Arc<Mutex<Option<String>>>,
    /// Restart times inside the intensity window.
    pub(crate) restart_log: Arc<Mutex<VecDeque<Instant>>>,
    /// The running actor, set once it is started.
    pub(crate) addr: OnceLock<ActorLink>,
}

impl ComponentCell {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        index: usize,
        spec: Arc<Component>,
        routes: Vec<usize>,
        routes_names: Vec<String>,
        model: Option<Arc<dyn ChatModel>>,
        backends: Backends,
        hooks: HookSet,
        capacity: usize,
    ) -> ComponentCell {
        let name: Arc<str> = Arc::from(spec.name.as_str());
        ComponentCell {
            index,
            metrics: CellMetrics::new(&name),
            name,
            breaker: Arc::new(Breaker::new(spec.circuit_breaker.clone())),
            spec,
            routes,
            routes_names,
            model,
            backends,
            hooks: Arc::new(hooks),
            state: AtomicU8::new(ComponentState::Initializing.to_u8()),
            permits: Slots::new(capacity),
            capacity,
            restarts: Default::default(),
            processed: Default::default(),
            failed: Default::default(),
            last_failure: Default::default(),
            restart_log: Default::default(),
            addr: OnceLock::new(),
        }
    }

    /// This component's cell in a reloaded runtime, for an unchanged component (`same_spec`:
    /// model, backends, hooks and breaker shared, so processes, connections and breaker state
    /// carry on) or a changed one (its freshly built `fresh` cell, with this one's counters and
    /// restart history). Either way the counters are shared, and a new actor and mailbox serve
    /// it at `index` with `routes` of the new table.
    pub(crate) fn successor(
        &self,
        fresh: Option<ComponentCell>,
        index: usize,
        routes: Vec<usize>,
        routes_names: Vec<String>,
    ) -> ComponentCell {
        let mut next = match fresh {
            Some(f) => f,
            None => ComponentCell {
                index,
                metrics: CellMetrics::new(&self.name),
                name: self.name.clone(),
                breaker: self.breaker.clone(),
                spec: self.spec.clone(),
                routes: Vec::new(),
                routes_names: Vec::new(),
                model: self.model.clone(),
                backends: self.backends.clone(),
                hooks: self.hooks.clone(),
                state: AtomicU8::new(ComponentState::Initializing.to_u8()),
                permits: Slots::new(self.capacity),
                capacity: self.capacity,
                restarts: Default::default(),
                processed: Default::default(),
                failed: Default::default(),
                last_failure: Default::default(),
                restart_log: Default::default(),
                addr: OnceLock::new(),
            },
        };
        next.index = index;
        next.routes = routes;
        next.routes_names = routes_names;
        next.restarts = self.restarts.clone();
        next.processed = self.processed.clone();
        next.failed = self.failed.clone();
        next.last_failure = self.last_failure.clone();
        next.restart_log = self.restart_log.clone();
        next
    }

    /// The lifecycle state (read by health and status without asking the actor).
    pub fn state(&self) -> ComponentState {
        ComponentState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// The state `/health` and `/components` show: the actor's lifecycle, except that a tool whose
    /// backend is still starting shows `initializing`, one whose worker or server is down shows
    /// `unavailable`, and a declaration this process does not run (`vm server`) `inactive` — so a
    /// component is never called ready when it cannot do its work.
    pub fn reported_state(&self) -> ComponentState {
        let state = self.state();
        if self.spec.kind == woodwork_parser::Kind::Vm {
            return ComponentState::Inactive;
        }
        if !matches!(state, ComponentState::Ready | ComponentState::Active) {
            return state;
        }
        match self.backends.tool.as_ref().map(|t| t.readiness()) {
            Some(woodwork_tools::Readiness::Starting) => ComponentState::Initializing,
            Some(woodwork_tools::Readiness::Down(_)) => ComponentState::Unavailable,
            _ => state,
        }
    }

    /// Why the backend is down, when it is (shown as the last failure).
    fn backend_down(&self) -> Option<String> {
        match self.backends.tool.as_ref().map(|t| t.readiness()) {
            Some(woodwork_tools::Readiness::Down(cause)) => Some(cause),
            _ => None,
        }
    }

    /// Sets the state; returns the previous one.
    pub(crate) fn set_state(&self, s: ComponentState) -> ComponentState {
        ComponentState::from_u8(self.state.swap(s.to_u8(), Ordering::AcqRel))
    }

    /// A mailbox slot without waiting, if one is free.
    pub(crate) fn try_permit(&self) -> Option<Slot> {
        self.permits.try_take()
    }

    /// Waits for a mailbox slot (the caller bounds the wait).
    pub(crate) async fn permit(&self) -> Option<Slot> {
        Some(self.permits.take().await)
    }

    /// Messages taken in and not yet finished.
    pub fn mailbox_depth(&self) -> usize {
        self.permits.used().min(self.capacity)
    }

    pub(crate) fn count_processed(&self) {
        self.processed.fetch_add(1, Ordering::Relaxed);
        self.metrics.processed.increment(1);
    }

    pub(crate) fn count_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.metrics.failed.increment(1);
    }

    pub(crate) fn record_failure(&self, cause: &str) {
        *self.last_failure.lock() = Some(cause.to_string());
    }

    pub(crate) fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        self.metrics.restarts.increment(1);
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// The last failure's cause (error or panic message).
    pub fn last_failure(&self) -> Option<String> {
        self.last_failure.lock().clone()
    }

    /// Where the breaker is.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// The `/components` view.
    pub fn status(&self) -> ComponentStatus {
        ComponentStatus {
            name: self.name.to_string(),
            kind: self.spec.kind.as_str().to_string(),
            type_name: self.spec.type_name.clone(),
            state: self.reported_state(),
            routes_to: self.routes_names.clone(),
            breaker: self.breaker_state(),
            restarts: self.restarts(),
            mailbox_depth: self.mailbox_depth(),
            processed: self.processed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            latency_ms: self.metrics.latency.average_ms(),
            last_failure: self.backend_down().or_else(|| self.last_failure()),
            nodes: None,
            local: None,
        }
    }
}
