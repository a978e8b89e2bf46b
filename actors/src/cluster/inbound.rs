//! The receiving side: a node consumes the queue of each component it hosts and hands every hop
//! to its local actor, with a reply handle of the same kind as the sender's (a turn, a request, a
//! latch) whose results, events and stream chunks go back to the sending node's queue. A hop is
//! acknowledged on the broker only once its result is on its way back: a node that dies before
//! that leaves it pending, and it is handled again (by the node restarting under the same name at
//! once, or by a replica once idle past the claim bound); the sender takes the first result only.

use super::wire::{Hop, NodeMsg, ReplyKind, ReplyRoute, Work};
use super::{component_queue, node_queue, Cluster};
use crate::bus::{backoff, Address};
use crate::cell::ComponentCell;
use crate::envelope::Envelope;
use crate::error::RuntimeError;
use crate::reply::{DirectReply, Latch, Relay, ReplyTo, Turn};
use crate::runtime::EVENT_STREAM_CAPACITY;
use crate::services::Services;
use crate::types::RuntimeEvent;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use woodwork_broker::Delivery;

/// Turns this node handles for other nodes, by (sending node, hop number): a cancellation from
/// the sender finds them here.
#[derive(Default)]
pub(crate) struct Proxies {
    turns: Mutex<HashMap<(String, u64), Arc<Turn>>>,
    /// Model calls run here for agents elsewhere, by (calling node, call number).
    models: Mutex<HashMap<(String, u64), CancellationToken>>,
}

impl Cluster {
    /// Cancels the local work of hop `id` sent by `origin`, if it runs here.
    pub(crate) fn proxies_cancel(&self, origin: &str, id: u64, err: RuntimeError) {
        let turn = self
            .proxies
            .turns
            .lock()
            .get(&(origin.to_string(), id))
            .cloned();
        if let Some(t) = turn {
            tracing::debug!(origin, id, "hop cancelled by its sender");
            t.cancel_with(err);
        }
    }

    /// Cancels model call `id` of node `origin`, if it runs here.
    pub(crate) fn cancel_model_call(&self, origin: &str, id: u64) {
        if let Some(t) = self.proxies.models.lock().get(&(origin.to_string(), id)) {
            tracing::debug!(origin, id, "model call cancelled by its caller");
            t.cancel();
        }
    }
}

/// Consumes component `cell`'s queue on this node for as long as the node runs: at most the
/// mailbox capacity in progress at once, acknowledgements batched.
pub(super) fn consume_component(
    cluster: &Arc<Cluster>,
    services: &Arc<Services>,
    cell: Arc<ComponentCell>,
) {
    let cluster = cluster.clone();
    let services = services.clone();
    let consumers = cluster.consumers.clone();
    consumers.spawn_local(async move {
        let queue_name = component_queue(&cell.name);
        let capacity = services.opts.mailbox_capacity.max(1);
        // Message ids in progress here: a copy handed out again while the first is still being
        // handled (claimed back after a long handling) is skipped, not handled twice.
        let in_flight = Arc::new(InFlight::default());
        // Each hop handled here reports back with its message id and, once its result is on its
        // way, its delivery to acknowledge (None: unanswered, left pending to be handled again).
        let (done_tx, done_rx) = mpsc::channel::<(String, Option<Delivery>)>(capacity);
        let acker = acknowledge(&cluster, &queue_name, done_rx, in_flight.clone());
        let mut attempt = 0u32;
        'connect: loop {
            if cluster.stop.is_cancelled() {
                break;
            }
            let Some(mut consumer) = cluster.consumer_after(&queue_name, attempt).await else {
                attempt += 1;
                continue;
            };
            attempt += 1;
            loop {
                if cluster.draining.is_cancelled() {
                    break 'connect;
                }
                let room = capacity.saturating_sub(in_flight.len());
                if room == 0 {
                    // Wait for a hop to be acknowledged (or the node to leave).
                    tokio::select! {
                        _ = cluster.draining.cancelled() => break 'connect,
                        _ = in_flight.freed() => {}
                    }
                    continue;
                }
                let pulled = tokio::select! {
                    _ = cluster.draining.cancelled() => break 'connect,
                    p = consumer.pull(room.min(64), Duration::from_millis(500)) => p,
                };
                let deliveries = match pulled {
                    Ok(d) => d,
                    Err(e) => {
                        cluster.note_broker(false);
                        tracing::debug!(component = &*cell.name, error = %e, "pulling the component's queue failed; reconnecting");
                        continue 'connect;
                    }
                };
                attempt = 0;
                cluster.note_broker(true);
                for d in deliveries {
                    if !in_flight.insert(&d.msg_id) {
                        continue;
                    }
                    let work = match serde_json::from_slice::<Work>(&d.body) {
                        Ok(w) => w,
                        Err(e) => {
                            tracing::warn!(
                                component = &*cell.name,
                                msg_id = %d.msg_id,
                                error = %e,
                                "dropped a message this node cannot read (another version?)"
                            );
                            let _ = done_tx.send((d.msg_id.clone(), Some(d))).await;
                            continue;
                        }
                    };
                    let cluster = cluster.clone();
                    let services = services.clone();
                    let done = done_tx.clone();
                    let cell = cell.clone();
                    cluster.tasks.clone().spawn_local(async move {
                        let answered = match work {
                            Work::Hop(hop) => handle(&cluster, &services, cell.index, hop).await,
                            Work::Model(call) => serve_model_call(&cluster, &cell, call).await,
                        };
                        let _ = done.send((d.msg_id.clone(), answered.then_some(d))).await;
                    });
                }
            }
        }
        // Leaving: what was taken finishes and is acknowledged (the acknowledger ends once the
        // last hop in progress reported), bounded by the node's leave.
        drop(done_tx);
        let _ = acker.await;
    });
}

/// The message ids of the hops in progress on one component queue.
#[derive(Default)]
struct InFlight {
    ids: Mutex<HashSet<String>>,
    freed: tokio::sync::Notify,
}

impl InFlight {
    fn len(&self) -> usize {
        self.ids.lock().len()
    }

    /// False when `id` is already in progress.
    fn insert(&self, id: &str) -> bool {
        self.ids.lock().insert(id.to_string())
    }

    fn remove(&self, id: &str) {
        self.ids.lock().remove(id);
        self.freed.notify_one();
    }

    async fn freed(&self) {
        self.freed.notified().await
    }
}

/// Acknowledges each handled hop as soon as its result is on its way back (several at once when
/// they finish together), on a consumer of its own so acknowledging never waits for a pull: a
/// node killed right after answering leaves nothing answered to be handled again.
fn acknowledge(
    cluster: &Arc<Cluster>,
    queue_name: &str,
    mut done: mpsc::Receiver<(String, Option<Delivery>)>,
    in_flight: Arc<InFlight>,
) -> tokio::task::JoinHandle<()> {
    let cluster = cluster.clone();
    let queue_name = queue_name.to_string();
    tokio::task::spawn_local(async move {
        let mut acker: Option<Box<dyn woodwork_broker::Consumer>> = None;
        let mut batch = Vec::new();
        while done.recv_many(&mut batch, 256).await > 0 {
            let mut deliveries = Vec::with_capacity(batch.len());
            let mut ids = Vec::with_capacity(batch.len());
            for (id, d) in batch.drain(..) {
                ids.push(id);
                deliveries.extend(d);
            }
            if !deliveries.is_empty() {
                if acker.is_none() {
                    acker = match cluster.queue(&queue_name).await {
                        Ok(q) => q.consumer(&cluster.spec.node).await.ok(),
                        Err(_) => None,
                    };
                }
                let acked = match acker.as_mut() {
                    Some(a) => a.ack_all(&deliveries).await,
                    None => Err(woodwork_broker::BrokerError::Invalid(
                        "no connection to acknowledge on".into(),
                    )),
                };
                if let Err(e) = acked {
                    acker = None;
                    tracing::debug!(error = %e, "acknowledging hops failed; they may be handled again");
                }
            }
            for id in ids {
                in_flight.remove(&id);
            }
        }
    })
}

/// Hands one hop to the local component and sends its result back; true once the result is on
/// the sender's queue (or nobody waits for one).
async fn handle(cluster: &Arc<Cluster>, services: &Arc<Services>, index: usize, hop: Hop) -> bool {
    let Hop { mut env, reply } = hop;
    let Some(route) = reply else {
        env.reply = None;
        let _ = services.bus.send(Address(index), env).await;
        return true;
    };
    let result = match route.kind.clone() {
        ReplyKind::Turn { inputs, events } => {
            return handle_turn(cluster, services, index, env, &route, inputs, events).await
        }
        ReplyKind::Direct => {
            let (d, rx) = DirectReply::new();
            env.reply = Some(ReplyTo::Direct(d));
            deliver(services, index, env).await;
            match rx.await {
                Ok(Ok(payload)) => NodeMsg::Answer {
                    id: route.id,
                    payload,
                },
                Ok(Err(e)) => NodeMsg::Failed {
                    id: route.id,
                    error: (&e).into(),
                },
                Err(_) => dropped(route.id),
            }
        }
        ReplyKind::Latch => {
            let latch = Latch::new(1);
            env.reply = Some(ReplyTo::Latch(latch.clone()));
            deliver(services, index, env).await;
            NodeMsg::Counted {
                id: route.id,
                ok: latch.wait().await == 0,
            }
        }
    };
    send_back(cluster, &route, result).await
}

/// A turn's hop: a local turn stands for the sender's; its events go back as they come, then its
/// outputs (or its failure).
async fn handle_turn(
    cluster: &Arc<Cluster>,
    services: &Arc<Services>,
    index: usize,
    mut env: Envelope,
    route: &ReplyRoute,
    inputs: Arc<serde_json::Map<String, serde_json::Value>>,
    events: bool,
) -> bool {
    let (tx, mut rx) = if events {
        let (tx, rx) = mpsc::channel(EVENT_STREAM_CAPACITY);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let relay = Relay::new(route.node.clone(), route.id);
    let (turn, mut done) = Turn::with_relay(env.session_id.clone(), inputs, tx, Some(relay));
    let key = (route.node.clone(), route.id);
    cluster
        .proxies
        .turns
        .lock()
        .insert(key.clone(), turn.clone());
    env.reply = Some(ReplyTo::Turn(turn.clone()));
    deliver(services, index, env).await;
    let result = loop {
        let event = super::next_of(rx.as_mut());
        tokio::select! {
            biased;
            Some(RuntimeEvent::Event(env)) = event => {
                let _ = cluster.push_node(&route.node, NodeMsg::Event { id: route.id, env }).await;
            }
            r = &mut done => break r,
        }
    };
    // Events sent just before the end go first.
    if let Some(rx) = rx.as_mut() {
        while let Ok(RuntimeEvent::Event(env)) = rx.try_recv() {
            let _ = cluster
                .push_node(&route.node, NodeMsg::Event { id: route.id, env })
                .await;
        }
    }
    cluster.proxies.turns.lock().remove(&key);
    if turn.handed_over() && matches!(result, Ok(Ok(_))) {
        // The branch went on to another component with the sender's own way back: its result
        // reaches the sender from there.
        return true;
    }
    let msg = match result {
        Ok(Ok(r)) => NodeMsg::Done {
            id: route.id,
            outputs: r.outputs,
        },
        Ok(Err(e)) => NodeMsg::Failed {
            id: route.id,
            error: (&e).into(),
        },
        Err(_) => dropped(route.id),
    };
    send_back(cluster, route, msg).await
}

/// Delivers `env` to the local component (waiting for mailbox room up to the bound); a refusal
/// answers its reply handle like a local send would.
async fn deliver(services: &Arc<Services>, index: usize, env: Envelope) {
    if let Err((e, env)) = services.bus.send(Address(index), env).await {
        if let Some(r) = &env.reply {
            r.fail(e);
        }
    }
}

fn dropped(id: u64) -> NodeMsg {
    NodeMsg::Failed {
        id,
        error: (&RuntimeError::ComponentFailed {
            component: "remote".into(),
            message: "the message was dropped on the node handling it".into(),
        })
            .into(),
    }
}

/// Runs an agent's model call from another node on this node's client of the model.
async fn serve_model_call(
    cluster: &Arc<Cluster>,
    cell: &Arc<ComponentCell>,
    call: super::wire::ModelCall,
) -> bool {
    let Some(model) = cell.model.clone() else {
        let done = NodeMsg::ModelDone {
            id: call.id,
            result: Err(crate::llm::ModelError::new(
                crate::llm::ModelErrorKind::Config,
                format!("`{}` is not a model", cell.name),
            )),
        };
        return send_back_to(cluster, &call.node, done).await;
    };
    let key = (call.node.clone(), call.id);
    let cancel = CancellationToken::new();
    cluster
        .proxies
        .models
        .lock()
        .insert(key.clone(), cancel.clone());
    let answered = super::model::serve_call(cluster, model, call, cancel).await;
    cluster.proxies.models.lock().remove(&key);
    cell.count_processed();
    answered
}

/// Sends a hop's result to its sender.
async fn send_back(cluster: &Arc<Cluster>, route: &ReplyRoute, msg: NodeMsg) -> bool {
    send_back_to(cluster, &route.node, msg).await
}

/// Sends a result to node `node`; retried with backoff while the broker is away (bounded: past
/// that the work is left unacknowledged, to be done again).
pub(super) async fn send_back_to(cluster: &Arc<Cluster>, node: &str, msg: NodeMsg) -> bool {
    let body = match cluster.for_node(node, msg) {
        Ok(None) => return true,
        Ok(Some(body)) => body,
        Err(e) => {
            tracing::warn!(node, error = %e, "a result cannot be encoded; dropped");
            return true;
        }
    };
    let id = crate::envelope::MessageId::next().to_string();
    for attempt in 0..8 {
        match cluster.push(&node_queue(node), &id, body.clone()).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::debug!(node, error = %e, "sending a result back failed; retrying");
                tokio::time::sleep(backoff(
                    Duration::from_millis(100),
                    Duration::from_secs(5),
                    attempt,
                ))
                .await;
            }
        }
    }
    false
}
