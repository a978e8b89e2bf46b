//! Several processes, one system (DESIGN.md §7): components spread over nodes joined by a broker
//! (Redis Streams or NATS JetStream, through `woodwork-broker`). Each node runs the whole runtime
//! (every node serves the whole HTTP API) but hosts only its placed components: a message for a
//! component hosted elsewhere goes into that component's queue on the broker ([`remote`]), the
//! nodes hosting it consume the queue and hand the message to their local actor ([`inbound`]), and
//! results, events and stream chunks come back on the sending node's own queue ([`pending`]).
//! Which node hosts what, and which are alive, is the registry's ([`view`]).

mod inbound;
mod model;
mod pending;
mod remote;
mod spec;
mod view;
mod wire;

pub(crate) use model::RemoteChatModel;
pub(crate) use remote::RemoteMailbox;
pub use spec::{default_node_name, sanitize, ClusterSpec};
pub use view::{ClusterView, NodeView};

use crate::services::Services;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use woodwork_broker::{Broker, QueueConfig, WorkQueue};

/// How long a message may stay unacknowledged with a consumer before another node takes it over
/// (its node is presumed dead). Longer than a typical turn; a node restarting under the same name
/// takes its own back at once.
const CLAIM_IDLE: Duration = Duration::from_secs(30);
/// Deliveries after which a hop goes to the broker's dead-letter stream instead.
const MAX_DELIVERIES: u32 = 5;
/// Entries a queue keeps when nobody consumes (older ones trimmed).
const MAX_QUEUE_LEN: u64 = 100_000;

/// A KV key made of `prefix` and `id` in lower-case hex: valid on every broker (NATS keys allow
/// few characters) whatever a user-given id holds.
pub(crate) fn hex_key(prefix: &str, id: &str) -> String {
    use std::fmt::Write;
    let mut key = String::with_capacity(prefix.len() + id.len() * 2);
    key.push_str(prefix);
    for b in id.bytes() {
        let _ = write!(key, "{b:02x}");
    }
    key
}

/// The next message of `rx`, or never when there is no receiver (a `select!` branch for an
/// optional stream of events or deltas).
pub(crate) async fn next_of<T>(rx: Option<&mut tokio::sync::mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A broker call bounded by `bound`, its error in words (a broker that stops answering must
/// not hold a turn, a start or a shutdown).
pub(crate) async fn within<T>(
    bound: Duration,
    call: impl std::future::Future<Output = Result<T, woodwork_broker::BrokerError>>,
) -> Result<T, String> {
    match tokio::time::timeout(bound, call).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "the broker did not answer within {} s",
            bound.as_secs()
        )),
    }
}

/// One node's membership of a cluster: its broker, what it hosts, the table of hops it waits on
/// and the proxies of hops it handles for others.
pub(crate) struct Cluster {
    pub(crate) spec: ClusterSpec,
    pub(crate) broker: Broker,
    /// Names of the components this node hosts.
    hosted: HashSet<String>,
    /// Queues by name (component queues `c-…`, node queues `n-…`), opened once.
    queues: Mutex<HashMap<String, Arc<dyn WorkQueue>>>,
    pub(crate) pending: pending::Pending,
    proxies: inbound::Proxies,
    /// Model calls this node's agents sent to models hosted elsewhere.
    models: model::ModelCalls,
    pub(crate) view: view::Membership,
    /// False while the broker does not answer (readiness).
    reachable: AtomicBool,
    pub(crate) tasks: TaskTracker,
    /// The consumers of the component queues (shutdown waits for them to drain).
    pub(crate) consumers: TaskTracker,
    /// Set when the node leaves (its own turns are done): no new work is taken from component
    /// queues, what is in progress finishes and is acknowledged.
    pub(crate) draining: CancellationToken,
    /// Set when the node leaves: everything stops.
    pub(crate) stop: CancellationToken,
}

/// Component queues de-duplicate by message id (a producer's retry is not handled twice); node
/// queues do not (every result and event has a fresh id), which saves a key per message.
fn queue_config(name: &str) -> QueueConfig {
    QueueConfig {
        max_len: MAX_QUEUE_LEN,
        max_deliveries: MAX_DELIVERIES,
        claim_idle: CLAIM_IDLE,
        dedupe_window: if name.starts_with("n-") {
            Duration::ZERO
        } else {
            QueueConfig::default().dedupe_window
        },
    }
}

/// The queue of component `name`.
fn component_queue(name: &str) -> String {
    format!("c-{name}")
}

/// The queue of node `node`: results and events of the hops it sent, cancellations of the hops
/// it handles.
fn node_queue(node: &str) -> String {
    format!("n-{node}")
}

impl Cluster {
    /// Connects to the broker and checks the placement against the config's components.
    pub(crate) async fn connect(
        spec: ClusterSpec,
        components: &[String],
    ) -> Result<Arc<Cluster>, String> {
        let hosted = spec.hosted(components)?;
        let broker = tokio::time::timeout(
            Duration::from_secs(10),
            Broker::connect(&spec.url, &spec.namespace),
        )
        .await
        .map_err(|_| {
            format!(
                "the broker at {} did not answer within 10 s; start it or fix --bus",
                spec.shown_url()
            )
        })?
        .map_err(|e| format!("cannot use the broker at {}: {e}", spec.shown_url()))?;
        let view = view::Membership::new(&broker, &spec).await?;
        let cluster = Arc::new(Cluster {
            spec,
            broker,
            hosted,
            queues: Mutex::new(HashMap::new()),
            pending: pending::Pending::default(),
            proxies: inbound::Proxies::default(),
            models: model::ModelCalls::default(),
            view,
            reachable: AtomicBool::new(true),
            tasks: TaskTracker::new(),
            consumers: TaskTracker::new(),
            draining: CancellationToken::new(),
            stop: CancellationToken::new(),
        });
        // Open every queue this node pushes to or consumes now, so a broker refusing one fails
        // the start with its own message.
        for name in components {
            cluster
                .queue(&component_queue(name))
                .await
                .map_err(|e| format!("cannot open the queue of `{name}`: {e}"))?;
        }
        cluster
            .queue(&node_queue(&cluster.spec.node))
            .await
            .map_err(|e| format!("cannot open this node's queue: {e}"))?;
        Ok(cluster)
    }

    /// Whether this node runs component `name` itself.
    pub(crate) fn hosts(&self, name: &str) -> bool {
        self.hosted.contains(name)
    }

    /// The hosted components, sorted (registry record, logs).
    pub(crate) fn hosted_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.hosted.iter().cloned().collect();
        v.sort();
        v
    }

    /// Queue `name`, opened on first use and kept.
    async fn queue(&self, name: &str) -> Result<Arc<dyn WorkQueue>, woodwork_broker::BrokerError> {
        if let Some(q) = self.queues.lock().get(name) {
            return Ok(q.clone());
        }
        let q = self.broker.queue(name, queue_config(name)).await?;
        Ok(self
            .queues
            .lock()
            .entry(name.to_string())
            .or_insert(q)
            .clone())
    }

    /// A consumer of queue `name` under this node's name, once the backoff that `attempt`
    /// failures call for has passed; None when the node stops meanwhile or the broker refuses
    /// (noted for readiness, logged; the caller tries again).
    pub(crate) async fn consumer_after(
        &self,
        name: &str,
        attempt: u32,
    ) -> Option<Box<dyn woodwork_broker::Consumer>> {
        if attempt > 0 {
            let wait =
                crate::bus::backoff(Duration::from_millis(100), Duration::from_secs(5), attempt);
            tokio::select! {
                _ = self.stop.cancelled() => return None,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let consumer = match self.queue(name).await {
            Ok(q) => q.consumer(&self.spec.node).await,
            Err(e) => Err(e),
        };
        match consumer {
            Ok(c) => Some(c),
            Err(e) => {
                self.note_broker(false);
                tracing::debug!(queue = name, error = %e, "cannot consume the queue yet");
                None
            }
        }
    }

    /// Sends `msg` to node `node`'s queue (results, events, cancellations); handled at once,
    /// without the broker, when `node` is this one (a hop this node sent came back to a
    /// component it hosts).
    pub(crate) async fn push_node(
        &self,
        node: &str,
        msg: wire::NodeMsg,
    ) -> Result<(), woodwork_broker::BrokerError> {
        let Some(body) = self.for_node(node, msg)? else {
            return Ok(());
        };
        let id = crate::envelope::MessageId::next().to_string();
        self.push(&node_queue(node), &id, body).await
    }

    /// `msg` encoded for node `node`'s queue, or None once handled here (`node` is this one).
    pub(crate) fn for_node(
        &self,
        node: &str,
        msg: wire::NodeMsg,
    ) -> Result<Option<Vec<u8>>, woodwork_broker::BrokerError> {
        if node == self.spec.node {
            pending::handle(self, msg);
            return Ok(None);
        }
        serde_json::to_vec(&msg)
            .map(Some)
            .map_err(|e| woodwork_broker::BrokerError::Invalid(e.to_string()))
    }

    /// Pushes `body` onto queue `queue`, once more on a fresh connection when the first try
    /// finds the connection broken (the broker restarted since it was last used).
    pub(crate) async fn push(
        &self,
        queue: &str,
        msg_id: &str,
        body: Vec<u8>,
    ) -> Result<(), woodwork_broker::BrokerError> {
        let body = bytes::Bytes::from(body);
        let mut pushed = Ok(false);
        for _ in 0..2 {
            pushed = match self.queue(queue).await {
                Ok(q) => q.push(msg_id, body.clone()).await,
                Err(e) => Err(e),
            };
            match &pushed {
                Err(e) if e.is_transient() => continue,
                _ => break,
            }
        }
        self.note_broker(pushed.is_ok());
        pushed.map(|_| ())
    }

    /// Records whether the broker answered, for readiness.
    pub(crate) fn note_broker(&self, ok: bool) {
        let was = self.reachable.swap(ok, Ordering::AcqRel);
        if was && !ok {
            tracing::warn!(bus = %self.spec.shown_url(), "the broker stopped answering; retrying with backoff");
        } else if !was && ok {
            tracing::info!(bus = %self.spec.shown_url(), "the broker answers again");
        }
    }

    /// Whether the broker answered last time it was asked (`/readyz`).
    pub fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Acquire)
    }

    /// Starts consuming this node's queues, the registry heartbeat and the pending-table sweep.
    pub(crate) fn start(self: &Arc<Self>, services: &Arc<Services>) {
        for cell in services.router.cells().iter() {
            if self.hosts(&cell.name) {
                inbound::consume_component(self, services, cell.clone());
            }
        }
        pending::consume_node_queue(self);
        pending::sweep(self);
        view::run(self, services);
        tracing::info!(
            node = %self.spec.node,
            namespace = %self.spec.namespace,
            bus = %self.spec.shown_url(),
            hosts = %self.hosted_names().join(","),
            "joined the cluster"
        );
    }

    /// Leaves the cluster: the hops in progress here finish and are acknowledged (bounded by
    /// `within`; what is left is handled again by the next node taking the queue), then
    /// everything stops and this node's registry record is removed.
    pub(crate) async fn leave(&self, within: Duration) {
        self.draining.cancel();
        // A component queue's consumer ends once everything it took was answered and
        // acknowledged.
        self.consumers.close();
        if tokio::time::timeout(within, self.consumers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "leaving with hops still in progress; they will be handled again elsewhere"
            );
        }
        self.stop.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(within, self.tasks.wait()).await;
        self.view.leave(&self.spec.node).await;
    }
}
