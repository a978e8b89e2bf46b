//! The request path: an input admitted to its session, run as one turn through the pipeline
//! (bounded by its deadline), answered with every terminal output or streamed as events.

use super::{session_event, Generation, Runtime};
use crate::bus::Address;
use crate::cell::ComponentCell;
use crate::envelope::{Envelope, EventType};
use crate::error::{CancelReason, RuntimeError};
use crate::reply::{ReplyTo, Turn};
use crate::session::Admission;
use crate::types::*;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use woodwork_parser::Kind;

/// Events buffered per streamed turn (a slow reader slows the model, never grows memory).
pub const EVENT_STREAM_CAPACITY: usize = 256;
/// Cancels the turn when the caller stops waiting for it.
struct CancelOnDrop(Arc<Turn>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.cancel();
        }
    }
}

/// A streamed turn: events, then one `Done` or `Failed`. Dropping it cancels the turn.
pub struct EventStream {
    rx: mpsc::Receiver<RuntimeEvent>,
}

impl Stream for EventStream {
    type Item = RuntimeEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RuntimeEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl Runtime {
    fn entry(&self, name: &str) -> Result<Arc<ComponentCell>, RuntimeError> {
        entry_in(&self.generation(), name)
    }
}

/// The entry cell `name` of `generation`'s table (input, agent, llm, …), or why not.
fn entry_in(generation: &Generation, name: &str) -> Result<Arc<ComponentCell>, RuntimeError> {
    let router = &generation.services.router;
    let cell = router
        .lookup(name)
        .cloned()
        .ok_or_else(|| RuntimeError::UnknownComponent {
            name: name.to_string(),
            known: router.known(),
        })?;
    if matches!(cell.spec.kind, Kind::Memory | Kind::Vm) {
        let entries: Vec<&str> = router
            .cells()
            .iter()
            .filter(|c| matches!(c.spec.kind, Kind::Input | Kind::Agent | Kind::Llm))
            .map(|c| &*c.name)
            .collect();
        return Err(RuntimeError::Invalid(format!(
                "`{name}` ({} {}) is not an entry point: it takes no input of its own; post to one of: {}",
                cell.spec.kind,
                cell.spec.type_name,
                entries.join(", ")
            )));
    }
    Ok(cell)
}

impl Runtime {
    /// Runs one input through the pipeline and returns every terminal output.
    pub async fn send(&self, req: InputRequest) -> Result<InputResponse, RuntimeError> {
        self.run(req, None).await
    }

    /// Like `send`, but streams the turn's events (agent steps, token chunks) and ends with `Done`
    /// or `Failed`. Dropping the stream cancels the turn.
    pub async fn send_stream(&self, req: InputRequest) -> Result<EventStream, RuntimeError> {
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(RuntimeError::ShuttingDown);
        }
        self.entry(&req.component)?;
        let (tx, rx) = mpsc::channel(EVENT_STREAM_CAPACITY);
        let rt = self.clone();
        actix_rt::spawn(async move {
            let run = rt.run(req, Some(tx.clone()));
            tokio::select! {
                result = run => {
                    let last = match result {
                        Ok(r) => RuntimeEvent::Done(r),
                        Err(e) => RuntimeEvent::Failed(e),
                    };
                    let _ = tx.send(last).await;
                }
                _ = tx.closed() => {}
            }
        });
        Ok(EventStream { rx })
    }

    async fn run(
        &self,
        req: InputRequest,
        events: Option<mpsc::Sender<RuntimeEvent>>,
    ) -> Result<InputResponse, RuntimeError> {
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(RuntimeError::ShuttingDown);
        }
        // One generation for the whole turn: a config reload meanwhile does not change the
        // components (and queue addresses) it runs on.
        let generation = self.generation();
        let cell = entry_in(&generation, &req.component)?;
        // Counted until the turn ends: shutdown waits for it.
        let _active = self.inner.turns.token();
        // Counted on the generation it runs on too: a reload retires that generation only once
        // its turns ended, so a turn finishes on the components it started with.
        let _pinned = generation.turns.token();
        let deadline = req
            .deadline
            .unwrap_or(generation.services.opts.default_deadline);
        let entry_name = cell.name.to_string();
        let turn = self.turn(&generation, cell, req, deadline, events);
        match tokio::time::timeout(deadline, turn).await {
            Ok(r) => r,
            Err(_) => Err(RuntimeError::DeadlineExceeded {
                component: entry_name,
            }),
        }
    }

    async fn turn(
        &self,
        generation: &Generation,
        cell: Arc<ComponentCell>,
        req: InputRequest,
        deadline: Duration,
        events: Option<mpsc::Sender<RuntimeEvent>>,
    ) -> Result<InputResponse, RuntimeError> {
        let services = &generation.services;
        let policy = cell.spec.session_policy;
        let (admission, created) = services.sessions.begin(req.session_id.as_deref(), policy)?;
        // A session id this process made up now: nothing can be recorded under it yet.
        let fresh = created && req.session_id.is_none();
        let session = match admission {
            Admission::Now(t) => t,
            Admission::Queued(id, rx) => rx.await.map_err(|_| {
                RuntimeError::Cancelled(CancelReason::SessionEnded {
                    session_id: id.to_string(),
                    component: cell.name.to_string(),
                })
            })?,
        };
        if created {
            session_event(&services.bus, EventType::SessionCreated, session.id());
        }
        let session_id = session.id().clone();
        let (turn, done) = Turn::new(session.id().clone(), Arc::new(req.inputs), events);
        let _cancel = CancelOnDrop(turn.clone());
        // Registered so that ending the session (DELETE) cancels this turn.
        if !services.sessions.attach(session.id(), &turn, &cell.name) {
            return Err(RuntimeError::Cancelled(CancelReason::SessionEnded {
                session_id: session.id().to_string(),
                component: cell.name.to_string(),
            }));
        }
        let mut env = Envelope::new(
            session.id().clone(),
            EventType::InputReceived,
            Arc::new(req.input),
            Arc::from("api"),
        );
        env.target = Some(cell.name.clone());
        env.trace_id = req.trace_id.map(Arc::from);
        env.deadline = Some(env.created_at + deadline.as_secs_f64());
        env.ttl = env.ttl.min(deadline.as_secs_f64());
        env.reply = Some(ReplyTo::Turn(turn.clone()));
        // An input component announces input.received itself when it passes the input on; for
        // any other entry point the runtime announces it, so a stream shows it exactly once.
        if cell.spec.kind != woodwork_parser::Kind::Input {
            turn.emit(&env);
            // The event feed (`/events`) sees it too, without the turn's reply handle.
            if services.bus.has_subscribers() {
                let mut event = env.clone();
                event.reply = None;
                services.bus.publish(&event);
            }
        }
        services
            .bus
            .send(Address(cell.index), env)
            .await
            .map_err(|(e, _)| e)?;
        let result = done.await.unwrap_or_else(|_| {
            Err(RuntimeError::ComponentFailed {
                component: cell.name.to_string(),
                message: "the turn was dropped".into(),
            })
        });
        drop(session);
        // In a cluster the session is recorded on the broker too, before the answer goes out
        // (bounded; a broker error is logged, never the turn's), so `/sessions/{id}` finds it
        // on any node and after restarts as soon as the client has its answer.
        if services.cluster.is_some() {
            if let Some(info) = services.sessions.info(&session_id) {
                services.memory().note_turn(info, fresh).await;
            }
        }
        result
    }
}
