//! The work-queue interface both backends implement, and what a consumer receives.

use crate::BrokerError;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::time::Duration;

/// How a queue behaves; the defaults suit a component's inbox.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// Entries kept at most (older ones trimmed, approximately on Redis): the queue never grows
    /// without bound when nobody consumes.
    pub max_len: u64,
    /// Deliveries after which a message goes to the dead-letter queue instead of a consumer.
    pub max_deliveries: u32,
    /// How long a delivered message may stay unacknowledged before another consumer may take it
    /// (its consumer is presumed dead). Longer than the longest handling.
    pub claim_idle: Duration,
    /// Pushing the same message id again within this window enqueues nothing; zero: ids are not
    /// checked (cheaper, for producers whose ids are unique by construction).
    pub dedupe_window: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_len: 100_000,
            max_deliveries: 5,
            claim_idle: Duration::from_secs(30),
            dedupe_window: Duration::from_secs(120),
        }
    }
}

/// One message handed to a consumer. Acknowledge it once handled, or it is delivered again.
pub struct Delivery {
    /// The id the producer gave (idempotency key).
    pub msg_id: String,
    pub body: Bytes,
    /// How many times it was delivered, this time included (1 = first).
    pub deliveries: u32,
    pub(crate) handle: Handle,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("msg_id", &self.msg_id)
            .field("bytes", &self.body.len())
            .field("deliveries", &self.deliveries)
            .finish()
    }
}

/// What the backend needs to acknowledge a delivery.
pub(crate) enum Handle {
    Redis { entry: String },
    Nats(Box<async_nats::jetstream::Message>),
}

/// A dead letter: a message delivered `max_deliveries` times without being acknowledged.
#[derive(Clone, Debug)]
pub struct DeadMessage {
    pub msg_id: String,
    pub body: Bytes,
    pub deliveries: u32,
}

/// A queue on the broker that several consumers (replicas, on several nodes) share.
pub trait WorkQueue: Send + Sync {
    /// The queue's name (without the namespace).
    fn name(&self) -> &str;

    /// Enqueues `body` under `msg_id`; false when that id was already pushed within the
    /// de-duplication window (nothing enqueued).
    fn push<'a>(&'a self, msg_id: &'a str, body: Bytes)
        -> BoxFuture<'a, Result<bool, BrokerError>>;

    /// A consumer named `name`. The same name after a restart gets back what it held
    /// unacknowledged before anything new.
    fn consumer<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Consumer>, BrokerError>>;

    /// The oldest `max` dead letters.
    fn dead_letters(&self, max: usize) -> BoxFuture<'_, Result<Vec<DeadMessage>, BrokerError>>;
}

/// One consumer of a queue.
pub trait Consumer: Send {
    /// Up to `max` messages, waiting up to `wait` when none is ready: first this consumer's own
    /// unacknowledged ones (after a restart), then ones a dead consumer left idle past
    /// `claim_idle`, then new ones. Messages past `max_deliveries` go to the dead-letter queue
    /// on the way and are not returned.
    fn pull(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, BrokerError>>;

    /// Acknowledges a handled message: it leaves the queue for good.
    fn ack<'a>(&'a mut self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), BrokerError>>;

    /// Acknowledges several handled messages in one exchange with the broker (a batch pulled
    /// together and handled together costs one round trip, not one per message).
    fn ack_all<'a>(
        &'a mut self,
        deliveries: &'a [Delivery],
    ) -> BoxFuture<'a, Result<(), BrokerError>>;
}
