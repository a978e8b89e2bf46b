//! The component actor: one per declared component. Handles one message at a time; long work runs
//! as spawned futures that report back, so the actor keeps serving control messages. Panics in the
//! handler or in a spawned future are caught and reported to the root supervisor, which decides
//! restart (fresh behaviour, same mailbox, after backoff) or stop; the messages in hand are
//! retried or returned to their callers as errors — never dropped silently.

mod failure;
mod restart;

pub use failure::{admit, breaker_changed, Refused};

use super::behaviour::Behaviour;
use super::events::fire_hooks;
use super::work::{Failure, Produced, Work};
use crate::bus::slots::Slot;
use crate::bus::{Mailbox, MessageBus};
use crate::cell::{ComponentCell, Deliver};
use crate::envelope::{now_unix, Envelope, EventType};
use crate::error::RuntimeError;
use crate::hooks::{PipeContext, PipeOutcome};
use crate::lifecycle::{Kill, Restart, Stop};
use crate::services::Services;
use crate::types::ComponentState;
use actix::prelude::*;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

struct InFlight {
    env: Envelope,
    permit: Option<Slot>,
    handle: SpawnHandle,
    started: Instant,
}

enum Outcome {
    Done(Result<Produced, Failure>),
    Panicked(String),
}

/// The actor.
pub struct ComponentActor {
    cell: Arc<ComponentCell>,
    services: Arc<Services>,
    behaviour: Behaviour,
    inflight: HashMap<u64, InFlight>,
    next_id: u64,
    drained: Option<oneshot::Sender<()>>,
    call_timeout: Duration,
}

/// Text of a caught panic payload.
pub fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

fn lifecycle_event(
    services: &Services,
    cell: &ComponentCell,
    event: EventType,
    extra: serde_json::Value,
) {
    if !services.bus.has_subscribers() {
        return;
    }
    let mut body = serde_json::json!({
        "component_id": &*cell.name,
        "component_type": cell.spec.type_name,
        "state": cell.state().as_str(),
        "restarts": cell.restarts(),
        "timestamp": now_unix(),
    });
    if let (serde_json::Value::Object(m), serde_json::Value::Object(x)) = (&mut body, extra) {
        m.extend(x);
    }
    let env = Envelope::new(
        Arc::from("runtime"),
        event,
        Arc::new(body),
        cell.name.clone(),
    );
    services.bus.publish(&env);
}

impl ComponentActor {
    /// An actor for `cell` running `behaviour`.
    pub fn new(cell: Arc<ComponentCell>, services: Arc<Services>, behaviour: Behaviour) -> Self {
        // An agent's work is a whole loop of model and tool calls (each bounded on its own):
        // without its own `timeout`, the request's deadline bounds it, not one call's timeout.
        let call_timeout = if cell.backends.tool.is_some() {
            // A tool backend bounds its own calls (and restarts a hung worker); the actor waits
            // a little longer so the backend's answer, not a retryable actor timeout, wins.
            cell.spec.timeout.unwrap_or(Duration::from_secs(30)) + super::tool::ACTOR_TIMEOUT_MARGIN
        } else {
            cell.spec
                .timeout
                .unwrap_or(if cell.spec.kind == woodwork_parser::Kind::Agent {
                    services.opts.default_deadline
                } else {
                    cell.breaker.spec().call_timeout
                })
        };
        ComponentActor {
            cell,
            services,
            behaviour,
            inflight: HashMap::new(),
            next_id: 0,
            drained: None,
            call_timeout,
        }
    }

    fn set_state(&self, s: ComponentState) {
        let prev = self.cell.set_state(s);
        if prev != s
            && !matches!(
                (prev, s),
                (ComponentState::Ready, ComponentState::Active)
                    | (ComponentState::Active, ComponentState::Ready)
            )
        {
            lifecycle_event(
                &self.services,
                &self.cell,
                EventType::ComponentStateChanged,
                serde_json::json!({ "from": prev.as_str() }),
            );
        }
    }

    fn component_error(&self, message: impl Into<String>) -> RuntimeError {
        RuntimeError::ComponentFailed {
            component: self.cell.name.to_string(),
            message: message.into(),
        }
    }

    /// Ends a piece of work: route the result on, or retry / dead-letter / report the failure.
    fn finish(
        &mut self,
        env: Envelope,
        result: Result<Produced, Failure>,
        started: Option<Instant>,
    ) {
        // Only spawned work is timed: a clock read costs more than a pass-through hop.
        if let Some(t) = started {
            self.cell.metrics.latency.record(t.elapsed().as_secs_f64());
        }
        match result {
            Ok(produced) => {
                self.cell.count_processed();
                if let Some(t) = self.cell.breaker.on_success() {
                    breaker_changed(&*self.services.bus, &self.cell, t);
                }
                if produced.announce && self.cell.hooks.has_hooks_for(produced.event.as_str()) {
                    let ev = env.forward(
                        produced.event,
                        produced.payload.clone(),
                        self.cell.name.clone(),
                        self.cell.name.clone(),
                    );
                    fire_hooks(&self.cell, &self.services, &ev);
                }
                self.services.router.forward(&self.cell, &env, produced);
            }
            Err(Failure::Cancelled) => {}
            Err(f) => self.failed(env, f),
        }
    }

    fn work_done(&mut self, id: u64, outcome: Outcome, ctx: &mut Context<Self>) {
        let Some(inf) = self.inflight.remove(&id) else {
            return; // cancelled by a restart; already retried or answered
        };
        match outcome {
            Outcome::Done(result) => {
                self.finish(inf.env, result, Some(inf.started));
                drop(inf.permit);
            }
            Outcome::Panicked(cause) => {
                self.on_panic(cause, Some((inf.env, inf.permit)), ctx);
                return;
            }
        }
        if self.inflight.is_empty() {
            if self.cell.state() == ComponentState::Active {
                self.set_state(ComponentState::Ready);
            }
            if let Some(tx) = self.drained.take() {
                let _ = tx.send(());
                ctx.stop();
            }
        }
    }

    /// Takes every in-flight message back (their futures cancelled).
    fn take_inflight(&mut self, ctx: &mut Context<Self>) -> Vec<(Envelope, Option<Slot>)> {
        let mut out = Vec::with_capacity(self.inflight.len());
        for (_, inf) in self.inflight.drain() {
            ctx.cancel_future(inf.handle);
            out.push((inf.env, inf.permit));
        }
        out
    }

    fn run_pipes(&mut self, env: Envelope, permit: Option<Slot>, ctx: &mut Context<Self>) {
        let hooks = self.cell.hooks.clone();
        let name = self.cell.name.clone();
        let spec = self.cell.spec.clone();
        let session = env.session_id.clone();
        let payload = (*env.payload).clone();
        let event = env.event_type;
        let fut = async move {
            let cx = PipeContext {
                event: event.as_str(),
                component: &name,
                component_type: &spec.type_name,
                session_id: &session,
            };
            AssertUnwindSafe(hooks.run_pipes(cx, payload))
                .catch_unwind()
                .await
        };
        ctx.spawn(
            actix::fut::wrap_future::<_, Self>(fut).map(move |res, act, ctx| {
                let mut env = env;
                match res {
                    Ok(Ok(PipeOutcome::Deliver(p))) => {
                        env.payload = Arc::new(p);
                        ctx.notify(Deliver {
                            env,
                            permit,
                            piped: true,
                        });
                    }
                    Ok(Ok(PipeOutcome::Drop)) => {
                        if let Some(t) = env.reply.as_ref().and_then(|r| r.turn()) {
                            t.complete_branch(None);
                        } else if let Some(r) = &env.reply {
                            r.fail(act.component_error("message dropped by a pipe"));
                        }
                    }
                    Ok(Err(e)) => {
                        act.services.bus.count_hook_failure();
                        if let Some(r) = &env.reply {
                            r.fail(act.component_error(format!("pipe failed: {e}")));
                        }
                    }
                    Err(p) => {
                        act.services.bus.count_hook_failure();
                        if let Some(r) = &env.reply {
                            r.fail(
                                act.component_error(format!("pipe panicked: {}", panic_message(p))),
                            );
                        }
                    }
                }
            }),
        );
    }
}

/// The bus reaches a component through its cell: admission (state, then breaker) and delivery
/// into the actor's mailbox.
impl Mailbox for ComponentCell {
    fn name(&self) -> &str {
        &self.name
    }

    fn admit(&self, bus: &dyn MessageBus) -> Result<(), RuntimeError> {
        let cell = self;
        match cell.state() {
            ComponentState::Failed | ComponentState::Terminated => {
                return Err(RuntimeError::ComponentFailed {
                    component: cell.name.to_string(),
                    message: format!(
                        "component is {} ({})",
                        cell.state().as_str(),
                        cell.last_failure().unwrap_or_else(|| "stopped".to_string())
                    ),
                })
            }
            _ => {}
        }
        admit(bus, cell).map_err(RuntimeError::from)
    }

    fn try_slot(&self) -> Option<Slot> {
        self.try_permit()
    }

    fn wait_slot(&self) -> BoxFuture<'_, Option<Slot>> {
        Box::pin(self.permit())
    }

    fn deliver(&self, env: Envelope, permit: Slot) {
        let cell = self;
        if let Some(link) = cell.addr.get() {
            link.deliver.do_send(Deliver {
                env,
                permit: Some(permit),
                piped: false,
            });
        } else if let Some(reply) = &env.reply {
            reply.fail(RuntimeError::ComponentFailed {
                component: cell.name.to_string(),
                message: "component is not started".into(),
            });
        }
    }

    fn processed(&self) -> u64 {
        self.status().processed
    }
}

impl Actor for ComponentActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        self.set_state(ComponentState::Ready);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if self.cell.state() != ComponentState::Failed {
            self.set_state(ComponentState::Terminated);
        }
    }
}

impl Handler<Deliver> for ComponentActor {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        let Deliver { env, permit, piped } = msg;
        let state = self.cell.state();
        if matches!(state, ComponentState::Failed | ComponentState::Terminated) {
            if let Some(r) = &env.reply {
                r.fail(self.component_error(format!(
                    "component is {}: {}",
                    state.as_str(),
                    self.cell.last_failure().unwrap_or_else(|| "stopped".into())
                )));
            }
            return;
        }
        if env.expired_at(now_unix()) {
            self.expire(env);
            return;
        }
        if env.reply.as_ref().is_some_and(|r| r.is_closed()) {
            return; // the caller went away (and was told); nothing to answer
        }
        if !piped && self.cell.hooks.has_pipes_for(env.event_type.as_str()) {
            self.run_pipes(env, permit, ctx);
            return;
        }
        let cell = &self.cell;
        let work = std::panic::catch_unwind(AssertUnwindSafe(|| self.behaviour.handle(&env, cell)));
        match work {
            Err(p) => self.on_panic(panic_message(p), Some((env, permit)), ctx),
            Ok(Work::Now(result)) => {
                self.finish(env, result, None);
                drop(permit);
            }
            Ok(Work::Later(fut)) => {
                let started = Instant::now();
                let id = self.next_id;
                self.next_id += 1;
                let timeout = self.call_timeout;
                let turn = env.reply.as_ref().and_then(|r| r.turn()).cloned();
                let guarded = async move {
                    let run = tokio::time::timeout(timeout, AssertUnwindSafe(fut).catch_unwind());
                    let outcome = match turn {
                        None => run.await,
                        Some(t) => {
                            tokio::select! {
                                r = run => r,
                                _ = t.cancelled() => Ok(Ok(Err(Failure::Cancelled))),
                            }
                        }
                    };
                    match outcome {
                        Err(_) => Outcome::Done(Err(Failure::Timeout)),
                        Ok(Ok(r)) => Outcome::Done(r),
                        Ok(Err(p)) => Outcome::Panicked(panic_message(p)),
                    }
                };
                let handle = ctx.spawn(
                    actix::fut::wrap_future::<_, Self>(guarded)
                        .map(move |outcome, act, ctx| act.work_done(id, outcome, ctx)),
                );
                if self.inflight.is_empty() && self.cell.state() == ComponentState::Ready {
                    self.set_state(ComponentState::Active);
                }
                self.inflight.insert(
                    id,
                    InFlight {
                        env,
                        permit,
                        handle,
                        started,
                    },
                );
            }
        }
    }
}

impl Handler<Restart> for ComponentActor {
    type Result = ();

    fn handle(&mut self, msg: Restart, ctx: &mut Context<Self>) {
        if matches!(
            self.cell.state(),
            ComponentState::Failed | ComponentState::Terminated | ComponentState::ShuttingDown
        ) {
            return;
        }
        let pending = self.take_inflight(ctx);
        self.restart(
            msg.backoff,
            pending,
            &format!("sibling failed: {}", msg.cause),
            ctx,
        );
    }
}

impl Handler<Stop> for ComponentActor {
    type Result = Option<oneshot::Receiver<()>>;

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) -> Self::Result {
        if self.cell.state() != ComponentState::Failed {
            self.set_state(ComponentState::ShuttingDown);
        }
        if self.inflight.is_empty() {
            ctx.stop();
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.drained = Some(tx);
        Some(rx)
    }
}

impl Handler<Kill> for ComponentActor {
    type Result = ();

    fn handle(&mut self, _: Kill, ctx: &mut Context<Self>) {
        for (env, _) in self.take_inflight(ctx) {
            if let Some(r) = &env.reply {
                r.fail(RuntimeError::ShuttingDown);
            }
        }
        ctx.stop();
    }
}
