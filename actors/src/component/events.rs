//! Emitting component events (agent.thought, tool.call, …): to the caller's event stream, to bus
//! subscribers and to the component's hooks. The payload is only built when someone listens.

use crate::cell::ComponentCell;
use crate::envelope::{now_unix, Envelope, EventType};
use crate::services::Services;
use std::sync::Arc;

/// Emits events on behalf of one component for one incoming message.
#[derive(Clone)]
pub struct Emitter {
    cell: Arc<ComponentCell>,
    services: Arc<Services>,
    parent: Envelope,
}

impl Emitter {
    /// An emitter for the events caused by `parent`.
    pub fn new(cell: Arc<ComponentCell>, services: Arc<Services>, parent: Envelope) -> Emitter {
        Emitter {
            cell,
            services,
            parent,
        }
    }

    /// True when the caller streams events, someone subscribed, or a hook wants `event`.
    pub fn wanted(&self, event: EventType) -> bool {
        self.parent
            .reply
            .as_ref()
            .is_some_and(|r| r.events().is_some())
            || self.services.bus.has_subscribers()
            || self.cell.hooks.has_hooks_for(event.as_str())
    }

    /// Emits `event` with `fields` plus woodwork's `timestamp`, `component_id`, `component_type`.
    pub fn emit(&self, event: EventType, fields: impl FnOnce() -> serde_json::Value) {
        if !self.wanted(event) {
            return;
        }
        let mut payload = fields();
        if let serde_json::Value::Object(m) = &mut payload {
            m.insert("timestamp".into(), now_unix().into());
            m.insert("component_id".into(), (*self.cell.name).into());
            m.insert(
                "component_type".into(),
                self.cell.spec.type_name.clone().into(),
            );
        }
        let env = self.parent.forward(
            event,
            Arc::new(payload),
            self.cell.name.clone(),
            self.cell.name.clone(),
        );
        publish(&self.cell, &self.services, &env);
    }
}

/// Sends an event envelope to the caller's stream, the bus and the component's hooks.
pub fn publish(cell: &Arc<ComponentCell>, services: &Arc<Services>, env: &Envelope) {
    if let Some(t) = env.reply.as_ref().and_then(|r| r.turn()) {
        t.emit(env);
    }
    services.bus.publish(env);
    fire_hooks(cell, services, env);
}

/// Runs the component's hooks for `env` concurrently; failures are counted, never propagated.
pub fn fire_hooks(cell: &Arc<ComponentCell>, services: &Arc<Services>, env: &Envelope) {
    if !cell.hooks.has_hooks_for(env.event_type.as_str()) {
        return;
    }
    for job in cell.hooks.hook_jobs(env, &cell.name, &cell.spec.type_name) {
        let services = services.clone();
        let name = cell.name.clone();
        actix_rt::spawn(async move {
            if let Err(e) = job.await {
                services.bus.count_hook_failure();
                tracing::warn!(component = &*name, error = %e, "hook failed");
            }
        });
    }
}
