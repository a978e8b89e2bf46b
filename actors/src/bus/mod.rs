//! The message bus (DESIGN.md §4): point-to-point delivery into component queues, publish/subscribe
//! of events, retries, TTL, a dead-letter queue and stats. Callers use the [`MessageBus`] trait only,
//! so a Redis Streams bus (stream per component, consumer groups, reply keyed by correlation id)
//! can replace the in-memory one without changing them.

pub mod dlq;
pub mod memory;
pub mod retry;
pub mod slots;

use crate::envelope::{Envelope, EventType};
use crate::error::RuntimeError;
use crate::types::BusStats;
use futures_util::future::BoxFuture;
use std::time::Duration;
use tokio::sync::mpsc;

pub use dlq::{DeadLetter, DeadLetterPage, DeadLetterReason, DlqLimits};
pub use memory::InMemoryBus;
pub use retry::backoff;

/// A resolved destination (a component queue). Resolved once at start, so a hop never hashes a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address(pub usize);

/// A component queue as the in-memory bus sees it. The bus delivers through this and never
/// reaches into the component module (the component actor implements it), so bus and
/// components do not depend on each other in both directions.
pub trait Mailbox: Send + Sync + 'static {
    /// The component's name (addresses and messages).
    fn name(&self) -> &str;

    /// Whether the destination accepts a message now (not failed or stopped, breaker closed or
    /// granting a trial); `Err` carries the error to reply with. `bus` is where a breaker
    /// transition found on the way is published.
    fn admit(&self, bus: &dyn MessageBus) -> Result<(), RuntimeError>;

    /// A mailbox slot without waiting, if one is free.
    fn try_slot(&self) -> Option<slots::Slot>;

    /// Waits for a mailbox slot (the caller bounds the wait).
    fn wait_slot(&self) -> BoxFuture<'_, Option<slots::Slot>>;

    /// Hands `env` to the component, holding `slot` until it is handled.
    fn deliver(&self, env: Envelope, slot: slots::Slot);

    /// Messages the component finished (the bus's `delivered` figure).
    fn processed(&self) -> u64;
}

/// Why a send did not go through at once.
#[derive(Debug)]
pub enum SendError {
    /// The queue is full: wait with [`MessageBus::send`] or give up.
    Full(Envelope),
    /// The destination refuses (breaker open, component failed): reply with this error.
    Refused(RuntimeError, Envelope),
}

/// The transport between components.
// The error hands the envelope back (no clone on the fast path), hence its size.
#[allow(clippy::result_large_err)]
pub trait MessageBus: Send + Sync + 'static {
    /// The queue of a component, by name.
    fn address(&self, name: &str) -> Option<Address>;

    /// Point-to-point send without waiting (the hop fast path).
    fn try_send(&self, to: Address, env: Envelope) -> Result<(), SendError>;

    /// Point-to-point send that waits for queue space up to the configured bound, then fails
    /// with `Overloaded` (backpressure; nothing dropped unannounced).
    fn send(
        &self,
        to: Address,
        env: Envelope,
    ) -> BoxFuture<'static, Result<(), (RuntimeError, Envelope)>>;

    /// Re-sends after `delay` (retry with backoff); a message that then finds no mailbox space
    /// goes to the dead-letter queue (`mailbox_full`) and its caller gets `Overloaded`.
    fn send_later(&self, to: Address, env: Envelope, delay: Duration);

    /// Publish an event to subscribers of its type (and of every type). Never blocks.
    fn publish(&self, env: &Envelope);

    /// True when anyone subscribed (lets emitters skip building payloads nobody reads).
    fn has_subscribers(&self) -> bool;

    /// Subscribe to one event type (`None`: all); the receiver is bounded by `capacity`, and a
    /// subscriber that falls behind loses events (counted) rather than slowing the pipeline.
    fn subscribe(&self, topic: Option<EventType>, capacity: usize) -> mpsc::Receiver<Envelope>;

    /// Puts a message in the dead-letter queue, `message` saying what happened in words; returns
    /// its dead-letter id, or None when the letter alone is over the queue's byte bound (counted
    /// as dropped: the queue never grows past its bounds).
    fn dead_letter(
        &self,
        env: Envelope,
        reason: DeadLetterReason,
        message: String,
    ) -> Option<String>;

    /// Every dead letter, oldest first. Copies the whole queue: for tools and tests; HTTP pages
    /// with [`MessageBus::dead_letter_page`].
    fn dead_letters(&self) -> Vec<DeadLetter>;

    /// At most `limit` letters after sequence number `after` (from the start when None), oldest
    /// first, with the total and the cursor of the next page.
    fn dead_letter_page(&self, after: Option<u64>, limit: usize) -> DeadLetterPage;

    /// One dead letter by id, left in the queue.
    fn dead_letter_by_id(&self, id: &str) -> Option<DeadLetter>;

    /// Takes one dead letter out for replay.
    fn take_dead_letter(&self, id: &str) -> Option<DeadLetter>;

    /// Counters.
    fn stats(&self) -> BusStats;

    /// Counts a hook or pipe failure (hooks never fail the pipeline, but failures are visible).
    fn count_hook_failure(&self);

    /// Counts a replayed dead letter.
    fn count_replay(&self);
}
