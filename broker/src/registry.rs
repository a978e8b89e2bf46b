//! Which nodes are alive and what they host (DESIGN.md §7): each node puts its record in a
//! bucket whose entries expire after the TTL and renews it every heartbeat, so a node that stops
//! (crash, SIGKILL, partition) drops out of the cluster view within the TTL without anyone having
//! to notice it.

use crate::{BrokerError, Kv};
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often a node renews its record.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a record outlives its last renewal.
pub const TTL: Duration = Duration::from_secs(5);

/// What a node says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    pub node: String,
    /// The components this node hosts.
    pub components: Vec<String>,
    /// Milliseconds since the Unix epoch at the last heartbeat (ages for `/components`).
    pub heartbeat_ms: u64,
}

impl NodeRecord {
    /// `node\ncomponent,component\nheartbeat_ms`: no JSON dependency for three fields, and a
    /// record another version cannot read is skipped, never fatal.
    fn encode(&self) -> Bytes {
        Bytes::from(format!(
            "{}\n{}\n{}",
            self.node,
            self.components.join(","),
            self.heartbeat_ms
        ))
    }

    fn decode(b: &[u8]) -> Option<NodeRecord> {
        let text = std::str::from_utf8(b).ok()?;
        let mut lines = text.splitn(3, '\n');
        let node = lines.next()?.to_string();
        let components = lines
            .next()?
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        let heartbeat_ms = lines.next()?.trim().parse().ok()?;
        Some(NodeRecord {
            node,
            components,
            heartbeat_ms,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The cluster's node records in one TTL bucket (`Broker::kv("nodes", Some(TTL))`).
#[derive(Clone)]
pub struct Registry {
    kv: Arc<dyn Kv>,
}

impl Registry {
    pub fn new(kv: Arc<dyn Kv>) -> Registry {
        Registry { kv }
    }

    /// Puts (or renews) this node's record.
    pub async fn heartbeat(&self, node: &str, components: &[String]) -> Result<(), BrokerError> {
        let record = NodeRecord {
            node: node.to_string(),
            components: components.to_vec(),
            heartbeat_ms: now_ms(),
        };
        self.kv.put(node, record.encode()).await
    }

    /// Removes this node's record at once (a clean shutdown), instead of waiting for the TTL.
    pub async fn leave(&self, node: &str) -> Result<(), BrokerError> {
        self.kv.delete(node).await
    }

    /// Every live node, sorted by name (at most `max`).
    pub async fn nodes(&self, max: usize) -> Result<Vec<NodeRecord>, BrokerError> {
        let mut out = Vec::new();
        for key in self.kv.keys(max).await? {
            if let Some(rec) = self
                .kv
                .get(&key)
                .await?
                .and_then(|b| NodeRecord::decode(&b))
            {
                out.push(rec);
            }
        }
        out.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(out)
    }

    /// Heartbeats every [`HEARTBEAT`] until `stop` resolves, then leaves. A failed heartbeat is
    /// logged and retried on the next beat (the broker may be restarting); the record expires by
    /// itself if the outage outlasts the TTL.
    pub async fn run(
        self,
        node: String,
        components: Vec<String>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {
                    if let Err(e) = self.heartbeat(&node, &components).await {
                        tracing::warn!(node = %node, error = %e, "heartbeat failed; retrying on the next beat");
                    }
                }
            }
        }
        if let Err(e) = self.leave(&node).await {
            tracing::warn!(node = %node, error = %e, "could not remove this node's record; it expires within the TTL");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_ones_are_skipped() {
        let r = NodeRecord {
            node: "a-1".into(),
            components: vec!["in".into(), "agent".into()],
            heartbeat_ms: 42,
        };
        assert_eq!(NodeRecord::decode(&r.encode()), Some(r));
        let empty = NodeRecord {
            node: "b".into(),
            components: vec![],
            heartbeat_ms: 1,
        };
        assert_eq!(NodeRecord::decode(&empty.encode()), Some(empty));
        assert_eq!(NodeRecord::decode(b"garbage"), None);
        assert_eq!(NodeRecord::decode(&[0xff, 0xfe]), None);
    }
}
