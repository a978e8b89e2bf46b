//! Work queues and key-value state on an existing broker: the transport a multi-process woodwork
//! system runs on (DESIGN.md §7). Two backends behind one interface, so the bus above them is
//! written once: Redis Streams ([`redis_streams`]) and NATS JetStream ([`jetstream`]).
//!
//! A [`WorkQueue`] is at-least-once: a message stays the queue's until a consumer acknowledges it;
//! a consumer that restarts under the same name first gets back what it held unacknowledged; what
//! a dead consumer held is handed to a live one once idle past a bound; a message delivered more
//! than `max_deliveries` times goes to the queue's dead-letter queue instead; pushing the same
//! message id twice within the de-duplication window enqueues it once. A [`Kv`] holds small values
//! under keys, optionally expiring (node heartbeats, sessions).
//!
//! Knows nothing of actors or envelopes: messages are bytes.

mod error;
pub mod jetstream;
mod kv;
mod queue;
mod redis_link;
pub mod redis_streams;
pub mod registry;
mod url;

pub use error::BrokerError;
pub use kv::Kv;
pub use queue::{Consumer, DeadMessage, Delivery, QueueConfig, WorkQueue};
pub use registry::{NodeRecord, Registry};
pub use url::{BrokerKind, BrokerUrl};

use std::sync::Arc;

/// A connected broker: opens queues and key-value buckets in one namespace.
#[derive(Clone)]
pub enum Broker {
    Redis(redis_streams::RedisBroker),
    Nats(jetstream::NatsBroker),
}

impl Broker {
    /// Connects to `url` (`redis://`, `rediss://` or `nats://`); `namespace` keeps several systems
    /// apart on one broker (every key, stream and subject is prefixed with it).
    pub async fn connect(url: &str, namespace: &str) -> Result<Broker, BrokerError> {
        let parsed = BrokerUrl::parse(url)?;
        let ns = url::namespace(namespace)?;
        Ok(match parsed.kind {
            BrokerKind::Redis => {
                Broker::Redis(redis_streams::RedisBroker::connect(&parsed, ns).await?)
            }
            BrokerKind::Nats => Broker::Nats(jetstream::NatsBroker::connect(&parsed, ns).await?),
        })
    }

    /// One cheap round trip to the broker, bounded by about a second, for health checks
    /// (`/readyz`): `Err(Unavailable)` while the broker is away. Connections come back by
    /// themselves (this call also tries one at once), so a later ping succeeds once the broker
    /// is back.
    pub async fn ping(&self) -> Result<(), BrokerError> {
        match self {
            Broker::Redis(b) => b.ping().await,
            Broker::Nats(b) => b.ping().await,
        }
    }

    /// The queue `name` (created on first use), shared by every consumer that opens it.
    pub async fn queue(
        &self,
        name: &str,
        config: QueueConfig,
    ) -> Result<Arc<dyn WorkQueue>, BrokerError> {
        Ok(match self {
            Broker::Redis(b) => Arc::new(b.queue(name, config).await?),
            Broker::Nats(b) => Arc::new(b.queue(name, config).await?),
        })
    }

    /// The key-value bucket `name`; with `ttl`, every key expires that long after its last put.
    pub async fn kv(
        &self,
        name: &str,
        ttl: Option<std::time::Duration>,
    ) -> Result<Arc<dyn Kv>, BrokerError> {
        Ok(match self {
            Broker::Redis(b) => Arc::new(b.kv(name, ttl, false)?),
            Broker::Nats(b) => Arc::new(b.kv(name, ttl).await?),
        })
    }

    /// A bucket whose keys are listed often ([`Kv::keys`]: the node registry, every second):
    /// on Redis it keeps an index of its keys, so listing costs what the bucket holds rather
    /// than a scan of the whole database; on NATS a bucket lists its own keys anyway.
    pub async fn listed_kv(
        &self,
        name: &str,
        ttl: Option<std::time::Duration>,
    ) -> Result<Arc<dyn Kv>, BrokerError> {
        Ok(match self {
            Broker::Redis(b) => Arc::new(b.kv(name, ttl, true)?),
            Broker::Nats(b) => Arc::new(b.kv(name, ttl).await?),
        })
    }

    /// Removes everything this namespace holds on the broker (tests; tearing a system down).
    pub async fn purge_namespace(&self) -> Result<(), BrokerError> {
        match self {
            Broker::Redis(b) => b.purge_namespace().await,
            Broker::Nats(b) => b.purge_namespace().await,
        }
    }
}
