//! The sending side of hops to other nodes: what waits for each hop's result (a turn, a request, a
//! latch) under a number the hop carries, the consumer of this node's own queue that delivers
//! results, events and cancellations, and a sweep that tells the handling nodes when a turn was
//! cancelled here (client gone, session ended) and forgets hops nobody waits for any more.

use super::wire::NodeMsg;
use super::{node_queue, Cluster};
use crate::envelope::{now_unix, Envelope};
use crate::error::RuntimeError;
use crate::reply::ReplyTo;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often cancelled and abandoned hops are looked for.
const SWEEP_EVERY: Duration = Duration::from_millis(100);
/// Messages taken from this node's queue per pull.
const BATCH: usize = 256;

struct Entry {
    reply: ReplyTo,
    /// Unix seconds after which the hop's message expired anyway.
    expires: f64,
}

/// Hops sent from this node and not answered yet.
pub(crate) struct Pending {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            entries: Mutex::new(HashMap::new()),
            next: AtomicU64::new(first_number()),
        }
    }
}

/// Where this process's hop and call numbers start: at random, so a result for an earlier
/// process of the same node (still in its queue after a restart) never matches a new number.
pub(crate) fn first_number() -> u64 {
    rand::random::<u64>() >> 2
}

impl Pending {
    /// Records that `reply` waits for the hop of `env`; the number the hop carries.
    pub(crate) fn insert(&self, reply: ReplyTo, env: &Envelope) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let expires = env
            .deadline
            .unwrap_or(f64::MAX)
            .min(env.created_at + env.ttl);
        self.entries.lock().insert(id, Entry { reply, expires });
        id
    }

    /// Takes entry `id` out (its hop ended), if still there: a second answer (a redelivered hop
    /// handled twice) finds nothing, so a result is delivered once.
    pub(crate) fn remove(&self, id: u64) -> Option<ReplyTo> {
        self.entries.lock().remove(&id).map(|e| e.reply)
    }

    fn get(&self, id: u64) -> Option<ReplyTo> {
        self.entries.lock().get(&id).map(|e| e.reply.clone())
    }

    /// Hops in flight (health figures).
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

/// Delivers one message from this node's queue.
pub(super) fn handle(cluster: &Cluster, msg: NodeMsg) {
    let pending = &cluster.pending;
    match msg {
        NodeMsg::Event { id, env } => {
            if let Some(ReplyTo::Turn(t)) = pending.get(id) {
                t.emit(&env);
            }
        }
        NodeMsg::Done { id, outputs } => match pending.remove(id) {
            Some(ReplyTo::Turn(t)) => {
                if outputs.is_empty() {
                    t.complete_branch(None);
                } else {
                    t.split(outputs.len());
                    for o in outputs {
                        t.complete_branch(Some(o));
                    }
                }
            }
            Some(ReplyTo::Latch(l)) => l.count_down(true),
            Some(ReplyTo::Direct(d)) => d.answer(Ok(Arc::new(serde_json::Value::Null))),
            None => {}
        },
        NodeMsg::Answer { id, payload } => match pending.remove(id) {
            Some(ReplyTo::Direct(d)) => d.answer(Ok(payload)),
            Some(ReplyTo::Latch(l)) => l.count_down(true),
            Some(ReplyTo::Turn(t)) => t.complete_branch(None),
            None => {}
        },
        NodeMsg::Counted { id, ok } => {
            if let Some(r) = pending.remove(id) {
                match r {
                    ReplyTo::Latch(l) => l.count_down(ok),
                    other if !ok => other.fail(RuntimeError::ComponentFailed {
                        component: "remote".into(),
                        message: "the message failed on another node".into(),
                    }),
                    ReplyTo::Turn(t) => t.complete_branch(None),
                    ReplyTo::Direct(d) => d.answer(Ok(Arc::new(serde_json::Value::Null))),
                }
            }
        }
        NodeMsg::Failed { id, error } => {
            if let Some(r) = pending.remove(id) {
                r.fail(error.into());
            }
        }
        NodeMsg::Cancel { origin, id, error } => {
            cluster.proxies_cancel(&origin, id, error.into());
        }
        NodeMsg::ModelChunk { id, text } => cluster.models.chunk(id, text),
        NodeMsg::ModelDone { id, result } => cluster.models.done(id, result),
        NodeMsg::CancelModel { origin, id } => cluster.cancel_model_call(&origin, id),
    }
}

/// Consumes this node's queue for as long as the node runs, reconnecting with backoff.
pub(super) fn consume_node_queue(cluster: &Arc<Cluster>) {
    let cluster = cluster.clone();
    let tasks = cluster.tasks.clone();
    tasks.spawn_local(async move {
        let name = node_queue(&cluster.spec.node);
        let mut attempt = 0u32;
        'connect: while !cluster.stop.is_cancelled() {
            let Some(mut consumer) = cluster.consumer_after(&name, attempt).await else {
                attempt += 1;
                continue;
            };
            attempt += 1;
            loop {
                let pulled = tokio::select! {
                    _ = cluster.stop.cancelled() => break 'connect,
                    p = consumer.pull(BATCH, Duration::from_secs(1)) => p,
                };
                let deliveries = match pulled {
                    Ok(d) => d,
                    Err(e) => {
                        cluster.note_broker(false);
                        tracing::debug!(error = %e, "pulling this node's queue failed; reconnecting");
                        continue 'connect;
                    }
                };
                attempt = 0;
                cluster.note_broker(true);
                if deliveries.is_empty() {
                    continue;
                }
                for d in &deliveries {
                    match serde_json::from_slice::<NodeMsg>(&d.body) {
                        Ok(msg) => handle(&cluster, msg),
                        Err(e) => tracing::warn!(
                            msg_id = %d.msg_id,
                            error = %e,
                            "skipped a message this node cannot read (another version?)"
                        ),
                    }
                }
                if let Err(e) = consumer.ack_all(&deliveries).await {
                    tracing::debug!(error = %e, "acknowledging results failed; they may come again (ignored then)");
                }
            }
        }
    });
}

/// Every [`SWEEP_EVERY`]: hops of cancelled turns are cancelled where they run; hops nobody waits
/// for any more (turn answered by another branch, request dropped, expired) are forgotten.
pub(super) fn sweep(cluster: &Arc<Cluster>) {
    let cluster = cluster.clone();
    let tasks = cluster.tasks.clone();
    tasks.spawn_local(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cluster.stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = now_unix();
            let mut cancelled = Vec::new();
            cluster.pending.entries.lock().retain(|id, e| {
                let keep = match &e.reply {
                    ReplyTo::Turn(t) if t.is_cancelled() => {
                        cancelled.push(*id);
                        false
                    }
                    ReplyTo::Turn(t) => !t.is_finished(),
                    other => !other.is_closed(),
                };
                keep && now <= e.expires
            });
            for id in cancelled {
                let msg = NodeMsg::Cancel {
                    origin: cluster.spec.node.clone(),
                    id,
                    error: (&RuntimeError::Cancelled(crate::error::CancelReason::Caller)).into(),
                };
                // Every live node: the hop's branch may have gone on from the node it was sent
                // to (handed over, see `Turn::hand_over`), so its hosts alone may not hold it.
                for node in cluster.view.nodes() {
                    if let Err(e) = cluster.push_node(&node.node, msg.clone()).await {
                        tracing::debug!(node = %node.node, error = %e, "could not send a cancellation");
                    }
                }
            }
        }
    });
}
