//! The `Runtime` facade the server and CLI use: start from a checked config, send inputs and await
//! results or event streams, inspect health, components, sessions and the DLQ, shut down gracefully.

mod reload;
mod request;
mod shutdown;
mod startup;

pub use crate::services::RuntimeOptions;
pub use reload::{file_hash, named_files, ReloadReport};
pub use request::EventStream;
pub(crate) use request::EVENT_STREAM_CAPACITY;

use crate::bus::MessageBus;
use crate::envelope::{now_unix, Envelope, EventType};
use crate::error::RuntimeError;
use crate::router::Router;
use crate::services::Services;
use crate::session::SessionManager;
use crate::supervisor::RootSupervisor;
use crate::types::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::task::TaskTracker;

/// One config's component set: its cells, bus, router and supervisor. `serve --watch` replaces
/// the generation on a reload (`reload.rs`); the session table is shared by all generations.
pub(crate) struct Generation {
    services: Arc<Services>,
    root: actix::Addr<RootSupervisor>,
    /// 1 for the config the runtime started with, one more per applied reload.
    number: u64,
    /// The dead letters and bus counters every generation's bus shares.
    ledger: crate::bus::memory::BusLedger,
    /// Per component: a hash of its spec, routes and the files it names (what a reload diffs).
    fingerprints: std::collections::HashMap<String, u64>,
    /// A hash of the whole config, shown as the config's version.
    config_hash: u64,
    /// Turns running on this generation (a retired one stops its actors once they ended).
    turns: TaskTracker,
}

/// The generation the runtime serves, swapped whole by a reload.
type Current = parking_lot::RwLock<Arc<Generation>>;

struct Inner {
    current: Arc<Current>,
    session_manager: actix::Addr<SessionManager>,
    accepting: AtomicBool,
    /// Turns in flight (shutdown closes it and waits for them, bounded).
    turns: TaskTracker,
    started: Instant,
    /// One reload at a time (and none during shutdown); holds what reloads keep between them.
    reload: tokio::sync::Mutex<reload::ReloadState>,
}

/// A running system. Cheap to clone, `Send + Sync`: use it from any actix-web worker.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
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
/// A component another node hosts: ready while a live node hosts it, else unavailable.
fn remote_state(cluster: &crate::cluster::Cluster, name: &str) -> ComponentState {
    if cluster.reachable() && cluster.view.hosted_anywhere(name) {
        ComponentState::Ready
    } else {
        ComponentState::Unavailable
    }
}

/// A component's status with, in a cluster, where it runs (figures are this node's).
fn placed_status(services: &Services, cell: &crate::cell::ComponentCell) -> ComponentStatus {
    let mut status = cell.status();
    if let Some(c) = &services.cluster {
        let local = c.hosts(&cell.name);
        if !local {
            status.state = remote_state(c, &cell.name);
        }
        status.nodes = Some(c.view.nodes_hosting(&cell.name));
        status.local = Some(local);
    }
    status
}

impl Runtime {
    /// The generation serving now; a caller that needs one consistent component table (a turn)
    /// holds on to it.
    fn generation(&self) -> Arc<Generation> {
        self.inner.current.read().clone()
    }

    fn services(&self) -> Arc<Services> {
        self.generation().services.clone()
    }

    /// The router (request/reply to a component, bulk sends); for tools, tests and benchmarks.
    /// The current config's: after a `serve --watch` reload, a new call sees the new table.
    pub fn router(&self) -> impl std::ops::Deref<Target = Router> {
        RouterRef(self.services())
    }

    /// The bus (subscribe to events, stats) of the current config (see `reload`: subscribers
    /// of an earlier one keep getting events).
    pub fn bus(&self) -> Arc<dyn MessageBus> {
        self.services().bus.clone()
    }

    /// The number and hash of the config being served (1 = the one started with; each applied
    /// `serve --watch` reload adds one).
    pub fn config_version(&self) -> (u64, String) {
        let g = self.generation();
        (g.number, format!("{:016x}", g.config_hash))
    }

    /// Overall health: unhealthy when a component failed (escalated) or was terminated while
    /// running; degraded when a breaker is not closed or a component is restarting.
    pub fn health(&self) -> HealthReport {
        let mut components = BTreeMap::new();
        let mut status = HealthStatus::Healthy;
        let running = self.inner.accepting.load(Ordering::Acquire);
        let services = self.services();
        let cluster = services.cluster.as_ref();
        for cell in self.router().cells().iter() {
            let state = match cluster {
                Some(c) if !c.hosts(&cell.name) => remote_state(c, &cell.name),
                _ => cell.reported_state(),
            };
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
            config: {
                let (generation, hash) = self.config_version();
                ConfigVersion { generation, hash }
            },
            cluster: cluster.map(|c| c.cluster_view()),
        }
    }

    /// Every component, in start order.
    pub fn components(&self) -> Vec<ComponentStatus> {
        let services = self.services();
        services
            .router
            .cells()
            .iter()
            .map(|c| placed_status(&services, c))
            .collect()
    }

    pub fn component(&self, name: &str) -> Option<ComponentStatus> {
        let services = self.services();
        services
            .router
            .lookup(name)
            .map(|c| placed_status(&services, c))
    }

    /// The cluster as this node sees it (None on one process).
    pub fn cluster(&self) -> Option<crate::cluster::ClusterView> {
        self.services().cluster.as_ref().map(|c| c.cluster_view())
    }

    /// Whether this node runs component `name` (always, on one process).
    pub fn hosts(&self, name: &str) -> bool {
        self.services()
            .cluster
            .as_ref()
            .is_none_or(|c| c.hosts(name))
    }

    /// Whether this node can take work: false while its broker does not answer (`/readyz`).
    pub fn ready(&self) -> bool {
        self.services()
            .cluster
            .as_ref()
            .is_none_or(|c| c.reachable())
    }

    pub fn session(&self, id: &str) -> Option<SessionInfo> {
        self.services().sessions.info(id)
    }

    /// The session as this node holds it, else (in a cluster) as the broker last recorded it:
    /// a session entered on another node, or before this node restarted.
    pub async fn find_session(&self, id: &str) -> Option<SessionInfo> {
        let services = self.services();
        let local = services.sessions.info(id);
        if services.cluster.is_none() {
            return local;
        }
        // Turns entered on other nodes (or before a restart) count too.
        match (local, services.memory().session(id).await) {
            (Some(mut l), Some(s)) => {
                l.turns = l.turns.max(s.turns);
                l.created_at = l.created_at.min(s.created_at);
                Some(l)
            }
            (l, s) => l.or(s),
        }
    }

    /// The `limit` most recently active sessions (most recent first) and the number of live
    /// sessions: the bounded list `GET /sessions` and the dashboard show.
    pub fn recent_sessions(&self, limit: usize) -> (usize, Vec<SessionInfo>) {
        self.services().sessions.recent(limit)
    }

    /// A session's conversation memory (bounded; what agents see as history).
    pub fn session_history(&self, id: &str) -> Vec<crate::llm::ChatMessage> {
        self.services().sessions.history(id)
    }

    /// Ends a session: a turn running in it is cancelled (its caller gets an error), its memory
    /// is dropped (on the broker too, in a cluster: the session may have run on another node),
    /// and a later input with the same id starts a new session. True if it existed here or held
    /// memory on the broker.
    pub async fn end_session(&self, id: &str) -> bool {
        let services = self.services();
        let here = services.sessions.remove(id);
        let existed = services.memory().forget(id).await || here;
        if existed {
            session_event(&self.bus(), EventType::SessionEnded, id);
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

    /// True until `shutdown` was called.
    pub fn is_accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::Acquire)
    }
}

/// The router of one generation, kept alive while borrowed.
struct RouterRef(Arc<Services>);

impl std::ops::Deref for RouterRef {
    type Target = Router;

    fn deref(&self) -> &Router {
        &self.0.router
    }
}
