//! The in-process bus: each component's queue is its actor mailbox, bounded by a semaphore of
//! `mailbox_capacity` slots; a send takes a slot (fast path: one atomic), waits for one up to
//! `send_timeout` when full, and the slot is released when the component finished the message.

use super::dlq::mirror::DlqMirror;
use super::dlq::{DeadLetter, DeadLetterPage, DeadLetterQueue, DeadLetterReason, DlqLimits};
use super::{Address, Mailbox, MessageBus, SendError};
use crate::envelope::{Envelope, EventType};
use crate::error::RuntimeError;
use crate::types::BusStats;
use futures_util::future::BoxFuture;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    published: AtomicU64,
    retried: AtomicU64,
    expired: AtomicU64,
    overloaded: AtomicU64,
    unavailable: AtomicU64,
    dead_lettered: AtomicU64,
    replayed: AtomicU64,
    hook_failures: AtomicU64,
    lost_events: AtomicU64,
}

/// The default bus.
pub struct InMemoryBus {
    cells: OnceLock<Arc<[Arc<dyn Mailbox>]>>,
    names: OnceLock<HashMap<String, usize>>,
    send_timeout: Duration,
    dlq: Arc<DeadLetterQueue>,
    mirror: Mirror,
    subscribers: RwLock<Vec<(Option<EventType>, mpsc::Sender<Envelope>)>>,
    has_subscribers: AtomicBool,
    counters: Arc<Counters>,
}

/// The broker's copy of the dead-letter queue, once a cluster set it (never, on one process).
type Mirror = Arc<OnceLock<DlqMirror>>;

/// What outlives one bus: its dead-letter queue (and its copy on the broker) and its counters. A
/// reload (`serve --watch`) builds a new bus for the new component table and hands it the old
/// one's ledger, so no dead letter is lost and the figures keep counting.
#[derive(Clone)]
pub(crate) struct BusLedger {
    dlq: Arc<DeadLetterQueue>,
    mirror: Mirror,
    counters: Arc<Counters>,
}

impl BusLedger {
    /// An empty ledger whose dead-letter queue stays within `dlq`.
    pub(crate) fn new(dlq: DlqLimits) -> BusLedger {
        BusLedger {
            dlq: Arc::new(DeadLetterQueue::new(dlq)),
            mirror: Arc::default(),
            counters: Arc::new(Counters::default()),
        }
    }

    /// Keeps the dead letters on `broker` too (a node of a cluster), after loading the ones it
    /// holds, so they survive restarts of this node; an error says why the broker cannot keep
    /// them. Called once, at start.
    pub(crate) async fn mirror_to(&self, broker: &woodwork_broker::Broker) -> Result<(), String> {
        let mirror = DlqMirror::open(broker, &self.dlq).await?;
        publish_dlq_gauges(&self.dlq);
        let _ = self.mirror.set(mirror);
        Ok(())
    }
}

impl InMemoryBus {
    /// A bus whose sends wait at most `send_timeout` for mailbox space, keeping its dead letters
    /// and counters in `ledger` (shared with the bus it replaces).
    pub(crate) fn with_ledger(send_timeout: Duration, ledger: BusLedger) -> InMemoryBus {
        InMemoryBus {
            cells: OnceLock::new(),
            names: OnceLock::new(),
            send_timeout,
            dlq: ledger.dlq,
            mirror: ledger.mirror,
            subscribers: RwLock::new(Vec::new()),
            has_subscribers: AtomicBool::new(false),
            counters: ledger.counters,
        }
    }

    /// Attaches the component queues (once, at start), in address order.
    pub(crate) fn attach(&self, cells: Arc<[Arc<dyn Mailbox>]>) {
        let names = cells
            .iter()
            .enumerate()
            .map(|(index, c)| (c.name().to_string(), index))
            .collect();
        let _ = self.names.set(names);
        let _ = self.cells.set(cells);
    }

    fn cell(&self, to: Address) -> Option<&Arc<dyn Mailbox>> {
        self.cells.get().and_then(|c| c.get(to.0))
    }

    /// Checks the destination is accepting; `Err` carries the error to reply with. A refusal by
    /// an open breaker is counted (`rejected_unavailable`).
    fn admit(&self, cell: &dyn Mailbox) -> Result<(), RuntimeError> {
        let admitted = cell.admit(self);
        if let Err(RuntimeError::Unavailable { .. }) = &admitted {
            self.counters.unavailable.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }
}

#[allow(clippy::result_large_err)]
impl MessageBus for InMemoryBus {
    fn address(&self, name: &str) -> Option<Address> {
        self.names.get()?.get(name).copied().map(Address)
    }

    fn try_send(&self, to: Address, env: Envelope) -> Result<(), SendError> {
        let Some(cell) = self.cell(to) else {
            return Err(SendError::Refused(
                RuntimeError::Invalid(format!("no component queue #{}", to.0)),
                env,
            ));
        };
        if let Err(e) = self.admit(&**cell) {
            return Err(SendError::Refused(e, env));
        }
        match cell.try_slot() {
            Some(permit) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                cell.deliver(env, permit);
                Ok(())
            }
            None => Err(SendError::Full(env)),
        }
    }

    fn send(
        &self,
        to: Address,
        env: Envelope,
    ) -> BoxFuture<'static, Result<(), (RuntimeError, Envelope)>> {
        let env = match self.try_send(to, env) {
            Ok(()) => return Box::pin(async { Ok(()) }),
            Err(SendError::Refused(e, env)) => return Box::pin(async move { Err((e, env)) }),
            Err(SendError::Full(env)) => env,
        };
        let Some(cell) = self.cell(to).cloned() else {
            return Box::pin(async move {
                Err((RuntimeError::Invalid("no such component queue".into()), env))
            });
        };
        let bound = self.send_timeout;
        let counters = self.counters.clone();
        Box::pin(async move {
            match tokio::time::timeout(bound, cell.wait_slot()).await {
                Ok(Some(permit)) => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    cell.deliver(env, permit);
                    Ok(())
                }
                _ => {
                    counters.overloaded.fetch_add(1, Ordering::Relaxed);
                    Err((
                        RuntimeError::Overloaded {
                            retry_after: Duration::from_secs(1),
                        },
                        env,
                    ))
                }
            }
        })
    }

    fn send_later(&self, to: Address, env: Envelope, delay: Duration) {
        self.counters.retried.fetch_add(1, Ordering::Relaxed);
        let Some(cell) = self.cell(to).cloned() else {
            return;
        };
        let bound = self.send_timeout;
        let counters = self.counters.clone();
        let dlq = self.dlq.clone();
        let mirror = self.mirror.clone();
        actix_rt::spawn(async move {
            tokio::time::sleep(delay).await;
            match tokio::time::timeout(bound, cell.wait_slot()).await {
                Ok(Some(permit)) => cell.deliver(env, permit),
                _ => {
                    counters.overloaded.fetch_add(1, Ordering::Relaxed);
                    let reply = env.reply.clone();
                    let message = format!(
                        "no room in `{}`'s mailbox for a retry within {} ms",
                        cell.name(),
                        bound.as_millis()
                    );
                    let kept = (&*dlq, mirror.get());
                    store(kept, &counters, env, DeadLetterReason::MailboxFull, message);
                    if let Some(r) = reply {
                        r.fail(RuntimeError::Overloaded {
                            retry_after: Duration::from_secs(1),
                        });
                    }
                }
            }
        });
    }

    fn publish(&self, env: &Envelope) {
        if !self.has_subscribers.load(Ordering::Acquire) {
            return;
        }
        self.counters.published.fetch_add(1, Ordering::Relaxed);
        let mut closed = false;
        for (topic, tx) in self.subscribers.read().iter() {
            if topic.is_none_or(|t| t == env.event_type) {
                match tx.try_send(env.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.counters.lost_events.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => closed = true,
                }
            }
        }
        if closed {
            let mut subs = self.subscribers.write();
            subs.retain(|(_, tx)| !tx.is_closed());
            self.has_subscribers
                .store(!subs.is_empty(), Ordering::Release);
        }
    }

    fn has_subscribers(&self) -> bool {
        self.has_subscribers.load(Ordering::Acquire)
    }

    fn subscribe(&self, topic: Option<EventType>, capacity: usize) -> mpsc::Receiver<Envelope> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        self.subscribers.write().push((topic, tx));
        self.has_subscribers.store(true, Ordering::Release);
        rx
    }

    fn dead_letter(
        &self,
        env: Envelope,
        reason: DeadLetterReason,
        message: String,
    ) -> Option<String> {
        store(
            (&self.dlq, self.mirror.get()),
            &self.counters,
            env,
            reason,
            message,
        )
    }

    fn dead_letters(&self) -> Vec<DeadLetter> {
        self.dlq.list()
    }

    fn dead_letter_page(&self, after: Option<u64>, limit: usize) -> DeadLetterPage {
        self.dlq.page(after, limit)
    }

    fn dead_letter_by_id(&self, id: &str) -> Option<DeadLetter> {
        self.dlq.get(id)
    }

    fn take_dead_letter(&self, id: &str) -> Option<DeadLetter> {
        let letter = self.dlq.take(id);
        if let (Some(l), Some(m)) = (&letter, self.mirror.get()) {
            m.delete(&l.id);
        }
        publish_dlq_gauges(&self.dlq);
        letter
    }

    fn stats(&self) -> BusStats {
        let c = &self.counters;
        let dlq = self.dlq.figures();
        let delivered = self
            .cells
            .get()
            .map(|cells| cells.iter().map(|c| c.processed()).sum())
            .unwrap_or(0);
        BusStats {
            sent: c.sent.load(Ordering::Relaxed),
            delivered,
            published: c.published.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            expired: c.expired.load(Ordering::Relaxed),
            overloaded: c.overloaded.load(Ordering::Relaxed),
            rejected_unavailable: c.unavailable.load(Ordering::Relaxed),
            dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
            dlq_len: dlq.letters,
            dlq_bytes: dlq.bytes,
            dlq_dropped: dlq.dropped,
            replayed: c.replayed.load(Ordering::Relaxed),
            hook_failures: c.hook_failures.load(Ordering::Relaxed),
        }
    }

    fn count_hook_failure(&self) {
        self.counters.hook_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn count_replay(&self) {
        self.counters.replayed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Dead-letters `env` (counted, logged, gauges refreshed, and on the broker when `dlq` has a
/// mirror: the kept letter put, the ones dropped for room deleted); the id, or None if it was
/// over the byte bound on its own.
fn store(
    (dlq, mirror): (&DeadLetterQueue, Option<&DlqMirror>),
    counters: &Counters,
    env: Envelope,
    reason: DeadLetterReason,
    message: String,
) -> Option<String> {
    counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
    if reason == DeadLetterReason::TtlExpired {
        counters.expired.fetch_add(1, Ordering::Relaxed);
    }
    tracing::warn!(
        message_id = %env.message_id,
        session_id = %env.session_id,
        reason = reason.as_str(),
        %message,
        "dead-lettered"
    );
    let message_id = env.message_id;
    let pushed = dlq.push(env, reason, message);
    if let Some(m) = mirror {
        for id in &pushed.evicted {
            m.delete(id);
        }
        if let Some(letter) = pushed.id.as_deref().and_then(|id| dlq.get(id)) {
            m.put(&letter);
        }
    }
    if pushed.id.is_none() {
        tracing::warn!(%message_id, "dead letter over the queue's byte bound on its own: not kept");
    } else if pushed.dropped > 0 {
        tracing::warn!(
            dropped = pushed.dropped,
            "dead-letter queue full (letters or bytes): dropped its oldest letters"
        );
    }
    if pushed.dropped > 0 {
        metrics::counter!("woodwork_dlq_dropped_total").increment(pushed.dropped);
    }
    publish_dlq_gauges(dlq);
    pushed.id
}

/// `woodwork_dlq_letters` and `woodwork_dlq_bytes`, so the queue's memory is on the dashboard.
fn publish_dlq_gauges(dlq: &DeadLetterQueue) {
    let f = dlq.figures();
    metrics::gauge!("woodwork_dlq_letters").set(f.letters as f64);
    metrics::gauge!("woodwork_dlq_bytes").set(f.bytes as f64);
}
