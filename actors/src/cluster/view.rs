//! Who is in the cluster: this node's heartbeat in the broker's registry (every 1 s, expiring
//! 5 s after the last one) and a cached copy of every live node's record, refreshed on each beat,
//! so routing never waits for the broker to know whether a component is hosted somewhere.

use super::spec::ClusterSpec;
use super::Cluster;
use crate::services::Services;
use parking_lot::RwLock;
use serde::Serialize;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use woodwork_broker::registry::HEARTBEAT;
use woodwork_broker::{Broker, NodeRecord, Registry};

/// Most nodes read from the registry.
const MAX_NODES: usize = 1024;

/// One live node, as `/health` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeView {
    pub node: String,
    pub components: Vec<String>,
    pub heartbeat_age_ms: u64,
}

/// The cluster as this node sees it, for `/health`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterView {
    pub bus: &'static str,
    pub namespace: String,
    pub node: String,
    /// Whether the broker answered last time (false: `/readyz` answers 503).
    pub broker_reachable: bool,
    /// Hops this node sent to other nodes and still waits on.
    pub hops_in_flight: usize,
    pub nodes: Vec<NodeView>,
}

/// The registry and the cached node records.
pub(crate) struct Membership {
    registry: Registry,
    nodes: RwLock<Vec<NodeRecord>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Membership {
    /// Opens the registry bucket (the first heartbeat is sent when the node starts serving).
    pub(crate) async fn new(broker: &Broker, _spec: &ClusterSpec) -> Result<Membership, String> {
        let kv = broker
            .listed_kv("nodes", Some(woodwork_broker::registry::TTL))
            .await
            .map_err(|e| format!("cannot open the node registry: {e}"))?;
        Ok(Membership {
            registry: Registry::new(kv),
            nodes: RwLock::new(Vec::new()),
        })
    }

    /// Renews this node's record and reads everyone's.
    async fn beat(
        &self,
        node: &str,
        hosted: &[String],
    ) -> Result<(), woodwork_broker::BrokerError> {
        self.registry.heartbeat(node, hosted).await?;
        let nodes = self.registry.nodes(MAX_NODES).await?;
        *self.nodes.write() = nodes;
        Ok(())
    }

    /// Whether a live node hosts component `name`.
    pub(crate) fn hosted_anywhere(&self, name: &str) -> bool {
        self.nodes
            .read()
            .iter()
            .any(|n| n.components.iter().any(|c| c == name))
    }

    /// The live nodes hosting component `name`.
    pub(crate) fn nodes_hosting(&self, name: &str) -> Vec<String> {
        self.nodes
            .read()
            .iter()
            .filter(|n| n.components.iter().any(|c| c == name))
            .map(|n| n.node.clone())
            .collect()
    }

    /// Every live node with the age of its last heartbeat.
    pub(crate) fn nodes(&self) -> Vec<NodeView> {
        let now = now_ms();
        self.nodes
            .read()
            .iter()
            .map(|n| NodeView {
                node: n.node.clone(),
                components: n.components.clone(),
                heartbeat_age_ms: now.saturating_sub(n.heartbeat_ms),
            })
            .collect()
    }

    /// Removes this node's record (clean shutdown), so others stop routing to it at once.
    pub(crate) async fn leave(&self, node: &str) {
        if let Err(e) = self.registry.leave(node).await {
            tracing::warn!(node, error = %e, "could not remove this node's record; it expires within 5 s");
        }
    }
}

impl Cluster {
    /// Sends the first heartbeat and reads the cluster, so this node routes correctly from its
    /// first request.
    pub(crate) async fn join(&self) -> Result<(), String> {
        self.view
            .beat(&self.spec.node, &self.hosted_names())
            .await
            .map_err(|e| format!("cannot register this node: {e}"))
    }

    /// The cluster as this node sees it now.
    pub fn cluster_view(&self) -> ClusterView {
        ClusterView {
            bus: self.spec.kind(),
            namespace: self.spec.namespace.clone(),
            node: self.spec.node.clone(),
            broker_reachable: self.reachable(),
            hops_in_flight: self.pending.len(),
            nodes: self.view.nodes(),
        }
    }
}

/// Heartbeats every second until the node leaves; a failed beat marks the broker unreachable
/// (readiness) and is retried on the next one.
pub(super) fn run(cluster: &Arc<Cluster>, _services: &Arc<Services>) {
    let cluster = cluster.clone();
    let tasks = cluster.tasks.clone();
    tasks.spawn_local(async move {
        let hosted = cluster.hosted_names();
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cluster.stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let beat =
                tokio::time::timeout(HEARTBEAT, cluster.view.beat(&cluster.spec.node, &hosted))
                    .await;
            match beat {
                Ok(Ok(())) => cluster.note_broker(true),
                Ok(Err(e)) => {
                    cluster.note_broker(false);
                    tracing::debug!(error = %e, "heartbeat failed; retrying on the next beat");
                }
                Err(_) => {
                    cluster.note_broker(false);
                    tracing::debug!("heartbeat timed out; retrying on the next beat");
                }
            }
        }
    });
}
