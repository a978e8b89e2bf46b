//! What every actor of one runtime shares: router (and through it the bus and the component
//! cells), the session table, the root supervisor's address and the options. The options are
//! defined here, not in `runtime`, so that what actors share does not depend on the facade.

use crate::bus::MessageBus;
use crate::lifecycle::ChildFailed;
use crate::router::Router;
use crate::session::SessionTable;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// One bundle handed to every actor at start, so none needs a global or a back pointer.
pub(crate) struct Services {
    pub(crate) router: Router,
    pub(crate) bus: Arc<dyn MessageBus>,
    pub(crate) sessions: Arc<SessionTable>,
    /// The root supervisor, asked when a component panics; set once it runs (it is started after
    /// the services exist). A recipient, so the component actors do not depend on its type.
    pub(crate) root: OnceLock<actix::Recipient<ChildFailed>>,
    pub(crate) opts: RuntimeOptions,
    /// The .ww file's directory: relative paths in the config (prompt files) start there.
    pub(crate) base_dir: std::path::PathBuf,
    /// Work a turn leaves running after its answer (webhook deliveries and their retries), one
    /// tracker for every generation: shutdown waits for it, bounded, so it is not dropped with
    /// the process.
    pub(crate) background: tokio_util::task::TaskTracker,
    /// This node's membership of a cluster (`serve --bus`); None: one process, everything local.
    pub(crate) cluster: Option<Arc<crate::cluster::Cluster>>,
}

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
    /// Join a cluster through a broker (DESIGN.md §7); None: the in-memory bus, one process.
    pub cluster: Option<crate::cluster::ClusterSpec>,
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
            cluster: None,
        }
    }
}
