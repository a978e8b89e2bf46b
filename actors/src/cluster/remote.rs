//! A component hosted by another node, as this node's bus sees it: a mailbox whose delivery is a
//! push onto the component's queue on the broker. Bounded like a local mailbox (a slot per push in
//! progress), refused as unreachable (503) while the broker does not answer or no live node
//! hosts the component.

use super::wire::{Hop, ReplyKind, ReplyRoute, Work};
use super::{component_queue, Cluster};
use crate::bus::slots::{Slot, Slots};
use crate::bus::{Mailbox, MessageBus};
use crate::envelope::Envelope;
use crate::error::RuntimeError;
use crate::reply::ReplyTo;
use futures_util::future::BoxFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The queue of a component this node does not host.
pub(crate) struct RemoteMailbox {
    name: Arc<str>,
    /// Its queue's name, made once rather than per push.
    queue: Arc<str>,
    cluster: Arc<Cluster>,
    slots: Arc<Slots>,
    pushed: AtomicU64,
}

impl RemoteMailbox {
    pub(crate) fn new(name: Arc<str>, cluster: Arc<Cluster>, capacity: usize) -> RemoteMailbox {
        RemoteMailbox {
            queue: Arc::from(component_queue(&name)),
            name,
            cluster,
            slots: Slots::new(capacity),
            pushed: AtomicU64::new(0),
        }
    }

    fn unreachable(&self, cause: &str) -> RuntimeError {
        RuntimeError::Unreachable {
            component: self.name.to_string(),
            cause: cause.to_string(),
        }
    }
}

impl Mailbox for RemoteMailbox {
    fn name(&self) -> &str {
        &self.name
    }

    fn admit(&self, _bus: &dyn MessageBus) -> Result<(), RuntimeError> {
        if !self.cluster.reachable() {
            Err(self.unreachable("the broker does not answer"))
        } else if !self.cluster.view.hosted_anywhere(&self.name) {
            Err(self.unreachable("no live node hosts it"))
        } else {
            Ok(())
        }
    }

    fn try_slot(&self) -> Option<Slot> {
        self.slots.try_take()
    }

    fn wait_slot(&self) -> BoxFuture<'_, Option<Slot>> {
        Box::pin(async move { Some(self.slots.take().await) })
    }

    fn deliver(&self, mut env: Envelope, slot: Slot) {
        let reply = env.reply.take();
        // A proxy turn's last branch goes on with the way back of the turn it stands for.
        let handed = match &reply {
            Some(ReplyTo::Turn(t)) => t.hand_over().map(|(node, id)| ReplyRoute {
                node: node.to_string(),
                id,
                kind: ReplyKind::Turn {
                    inputs: t.inputs.clone(),
                    events: false,
                },
            }),
            _ => None,
        };
        let is_handed = handed.is_some();
        let route = handed.or_else(|| {
            reply.as_ref().map(|r| {
                let kind = match r {
                    ReplyTo::Turn(t) => ReplyKind::Turn {
                        inputs: t.inputs.clone(),
                        events: t.events.is_some(),
                    },
                    ReplyTo::Direct(_) => ReplyKind::Direct,
                    ReplyTo::Latch(_) => ReplyKind::Latch,
                };
                let id = self.cluster.pending.insert(r.clone(), &env);
                ReplyRoute {
                    node: self.cluster.spec.node.clone(),
                    id,
                    kind,
                }
            })
        });
        // This node's entry for the hop (a handed-over branch has none here).
        let entry = if is_handed {
            None
        } else {
            route.as_ref().map(|r| r.id)
        };
        let msg_id = env.message_id.to_string();
        let body = match serde_json::to_vec(&Work::Hop(Hop { env, reply: route })) {
            Ok(b) => b,
            Err(e) => {
                fail_unsent(
                    &self.cluster,
                    entry,
                    reply,
                    RuntimeError::Invalid(format!(
                        "the message for `{}` cannot be encoded: {e}",
                        self.name
                    )),
                );
                return;
            }
        };
        self.pushed.fetch_add(1, Ordering::Relaxed);
        let cluster = self.cluster.clone();
        let name = self.name.clone();
        let queue = self.queue.clone();
        actix_rt::spawn(async move {
            let pushed = cluster.push(&queue, &msg_id, body).await;
            drop(slot);
            match pushed {
                // The branch is the other node's now: this proxy's part is done, silently.
                Ok(()) if is_handed => {
                    if let Some(ReplyTo::Turn(t)) = &reply {
                        t.complete_branch(None);
                    }
                }
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(component = &*name, error = %e, "could not queue a message for another node");
                    fail_unsent(
                        &cluster,
                        entry,
                        reply,
                        RuntimeError::Unreachable {
                            component: name.to_string(),
                            cause: e.to_string(),
                        },
                    );
                }
            }
        });
    }

    fn processed(&self) -> u64 {
        self.pushed.load(Ordering::Relaxed)
    }
}

/// Answers a hop that never left with `err`: whoever waits on this node's `entry` for it, or,
/// for a handed-over branch (no entry here), the proxy turn `reply` itself.
fn fail_unsent(cluster: &Cluster, entry: Option<u64>, reply: Option<ReplyTo>, err: RuntimeError) {
    let waiting = match entry {
        Some(id) => cluster.pending.remove(id),
        None => reply,
    };
    if let Some(r) = waiting {
        r.fail(err);
    }
}
