//! Routing (DESIGN.md §4): the table from `to:` (explicit and inferred routes), resolved at start to
//! component queues. A hop is one bus send; a component with no outgoing route ends its branch and
//! its output goes back to the request's origin; several targets fan out.

use crate::bus::{Address, MessageBus, SendError};
use crate::cell::ComponentCell;
use crate::envelope::{Envelope, EventType};
use crate::error::RuntimeError;
use crate::reply::{DirectReply, Latch, ReplyTo};
use crate::types::ComponentOutput;
use std::collections::HashMap;
use std::sync::Arc;

/// A component's result for one message: the event it emits and its payload.
#[derive(Clone, Debug)]
pub struct Produced {
    pub event: EventType,
    pub payload: Arc<serde_json::Value>,
    /// False when the component already emitted this event itself (with woodwork's fields), so
    /// the router does not announce it twice.
    pub announce: bool,
}

impl Produced {
    pub fn new(event: EventType, payload: serde_json::Value) -> Produced {
        Produced {
            event,
            payload: Arc::new(payload),
            announce: true,
        }
    }

    /// A result pass-through components forward as is.
    pub fn shared(event: EventType, payload: Arc<serde_json::Value>) -> Produced {
        Produced {
            event,
            payload,
            announce: true,
        }
    }
}

/// The routing table and the way to reach each component.
pub struct Router {
    pub(crate) bus: Arc<dyn MessageBus>,
    cells: Arc<[Arc<ComponentCell>]>,
    names: HashMap<String, usize>,
}

impl Router {
    pub(crate) fn new(bus: Arc<dyn MessageBus>, cells: Arc<[Arc<ComponentCell>]>) -> Router {
        let names = cells
            .iter()
            .map(|c| (c.name.to_string(), c.index))
            .collect();
        Router { bus, cells, names }
    }

    /// A component by name.
    pub fn lookup(&self, name: &str) -> Option<&Arc<ComponentCell>> {
        self.names.get(name).map(|i| &self.cells[*i])
    }

    /// Every component, in start order.
    pub fn cells(&self) -> &Arc<[Arc<ComponentCell>]> {
        &self.cells
    }

    /// Names of all components, for "unknown component" errors.
    pub fn known(&self) -> Vec<String> {
        self.cells.iter().map(|c| c.name.to_string()).collect()
    }

    /// Sends `env` to component `to` now, or (queue full) from a task that waits up to the bound.
    pub(crate) fn deliver(&self, to: usize, env: Envelope) {
        match self.bus.try_send(Address(to), env) {
            Ok(()) => {}
            Err(SendError::Refused(e, env)) => {
                if let Some(r) = &env.reply {
                    r.fail(e);
                }
            }
            Err(SendError::Full(env)) => {
                let send = self.bus.send(Address(to), env);
                actix_rt::spawn(async move {
                    if let Err((e, env)) = send.await {
                        if let Some(r) = &env.reply {
                            r.fail(e);
                        }
                    }
                });
            }
        }
    }

    /// Routes a component's result: back to a direct requester, to the turn's origin when the
    /// component has no outgoing route, else to every target.
    pub(crate) fn forward(&self, from: &ComponentCell, env: &Envelope, produced: Produced) {
        let Some(reply) = &env.reply else {
            return;
        };
        match reply {
            ReplyTo::Direct(d) => d.answer(Ok(produced.payload)),
            ReplyTo::Latch(l) => {
                if from.routes.is_empty() {
                    l.count_down(true);
                } else {
                    self.fan_out(from, env, produced);
                }
            }
            ReplyTo::Turn(t) => {
                // One envelope for the turn's stream and the bus: the event keeps one id (its
                // SSE `id:`) wherever it is seen.
                let to_turn = produced.announce && t.events.is_some();
                if to_turn || (produced.announce && self.bus.has_subscribers()) {
                    let ev = env.forward(
                        produced.event,
                        produced.payload.clone(),
                        from.name.clone(),
                        from.name.clone(),
                    );
                    if to_turn {
                        t.emit(&ev);
                    }
                    self.bus.publish(&ev);
                }
                if from.routes.is_empty() {
                    let output = Arc::try_unwrap(produced.payload).unwrap_or_else(|a| (*a).clone());
                    t.complete_branch(Some(ComponentOutput {
                        component: from.name.to_string(),
                        output,
                    }));
                } else {
                    t.split(from.routes.len());
                    self.fan_out(from, env, produced);
                }
            }
        }
    }

    fn fan_out(&self, from: &ComponentCell, env: &Envelope, produced: Produced) {
        for &to in &from.routes {
            let next = env.forward(
                produced.event,
                produced.payload.clone(),
                from.name.clone(),
                self.cells[to].name.clone(),
            );
            self.deliver(to, next);
        }
    }

    /// Request/reply: `target` handles `payload` and its result comes straight back (no onward
    /// routing). Used by agents to call tools, and by benchmarks.
    pub async fn request(
        &self,
        target: &str,
        payload: serde_json::Value,
        parent: &Envelope,
    ) -> Result<Arc<serde_json::Value>, RuntimeError> {
        let cell = self
            .lookup(target)
            .ok_or_else(|| RuntimeError::UnknownComponent {
                name: target.to_string(),
                known: self.known(),
            })?;
        let mut env = parent.forward(
            EventType::ToolCall,
            Arc::new(payload),
            parent
                .target
                .clone()
                .unwrap_or_else(|| parent.sender.clone()),
            cell.name.clone(),
        );
        let (reply, rx) = DirectReply::new();
        env.reply = Some(ReplyTo::Direct(reply));
        self.bus
            .send(Address(cell.index), env)
            .await
            .map_err(|(e, _)| e)?;
        rx.await.unwrap_or_else(|_| {
            Err(RuntimeError::ComponentFailed {
                component: target.to_string(),
                message: "the request was dropped".into(),
            })
        })
    }

    /// Request/reply by queue address with a prepared envelope (no name lookup; the hot path of
    /// the request/reply benchmark).
    pub async fn call(
        &self,
        to: Address,
        mut env: Envelope,
    ) -> Result<Arc<serde_json::Value>, RuntimeError> {
        let (reply, rx) = DirectReply::new();
        env.reply = Some(ReplyTo::Direct(reply));
        match self.bus.try_send(to, env) {
            Ok(()) => {}
            Err(SendError::Refused(e, _)) => return Err(e),
            Err(SendError::Full(env)) => self.bus.send(to, env).await.map_err(|(e, _)| e)?,
        }
        rx.await.unwrap_or_else(|_| {
            Err(RuntimeError::ComponentFailed {
                component: format!("#{}", to.0),
                message: "the request was dropped".into(),
            })
        })
    }

    /// Sends `env` to `to` counted on `latch` (fire-and-count; benchmarks and bulk loads).
    pub fn send_counted(&self, to: Address, mut env: Envelope, latch: &Arc<Latch>) {
        env.reply = Some(ReplyTo::Latch(latch.clone()));
        self.deliver(to.0, env);
    }
}
