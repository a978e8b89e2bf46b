//! Where results go: a turn (a request that flows along routes and ends at terminal components), a
//! direct request/reply (an agent calling a tool), or a counting latch (benchmarks, bulk sends).

use crate::envelope::Envelope;
use crate::error::{CancelReason, RuntimeError};
use crate::types::{ComponentOutput, InputResponse, RuntimeEvent};
use parking_lot::Mutex;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;

/// The reply channel an envelope carries (not serialised; a broker bus maps it by correlation id).
#[derive(Clone)]
pub enum ReplyTo {
    /// Part of a routed request: terminal outputs are collected on the turn.
    Turn(Arc<Turn>),
    /// Request/reply: the handling component's result goes straight back, no onward routing.
    Direct(Arc<DirectReply>),
    /// Fire-and-count: each handled message counts the latch down.
    Latch(Arc<Latch>),
}

impl fmt::Debug for ReplyTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyTo::Turn(_) => f.write_str("Turn"),
            ReplyTo::Direct(_) => f.write_str("Direct"),
            ReplyTo::Latch(_) => f.write_str("Latch"),
        }
    }
}

impl ReplyTo {
    /// True when nobody waits for the result any more (cancelled or already answered).
    pub fn is_closed(&self) -> bool {
        match self {
            ReplyTo::Turn(t) => t.is_finished(),
            ReplyTo::Direct(d) => d.tx.lock().as_ref().is_none_or(|tx| tx.is_closed()),
            ReplyTo::Latch(_) => false,
        }
    }

    /// Reports a failure to whoever waits.
    pub fn fail(&self, err: RuntimeError) {
        match self {
            ReplyTo::Turn(t) => t.fail(err),
            ReplyTo::Direct(d) => d.answer(Err(err)),
            ReplyTo::Latch(l) => l.count_down(false),
        }
    }

    /// The turn's event stream, when the caller asked for events.
    pub fn events(&self) -> Option<&mpsc::Sender<RuntimeEvent>> {
        match self {
            ReplyTo::Turn(t) => t.events.as_ref(),
            _ => None,
        }
    }

    /// The turn, if this is one.
    pub fn turn(&self) -> Option<&Arc<Turn>> {
        match self {
            ReplyTo::Turn(t) => Some(t),
            _ => None,
        }
    }
}

/// One request flowing through the routes: counts open branches and collects terminal outputs.
pub struct Turn {
    pub session_id: Arc<str>,
    pub inputs: Arc<serde_json::Map<String, serde_json::Value>>,
    outstanding: AtomicUsize,
    finished: AtomicBool,
    outputs: Mutex<Vec<ComponentOutput>>,
    done: Mutex<Option<oneshot::Sender<Result<InputResponse, RuntimeError>>>>,
    pub(crate) events: Option<mpsc::Sender<RuntimeEvent>>,
    /// The arbiter (thread) the caller reads `events` on, for a streamed turn: a model call runs
    /// its provider I/O there, so each token goes from the provider's socket to the caller's
    /// socket without a wake-up of another thread (see `component::stream`).
    pub(crate) origin: Option<(actix_rt::ArbiterHandle, std::thread::ThreadId)>,
    /// Fired once when the turn is cancelled; model calls and tools select on it.
    cancel: CancellationToken,
    /// Set when this turn stands on this node for a turn of another node (a hop's proxy).
    relay: Option<Relay>,
}

/// The turn of another node a proxy turn stands for: its last open branch can be handed straight
/// to it (the next component's results then go to that node directly, not back through this
/// one), which saves two broker crossings per hop chain.
pub(crate) struct Relay {
    pub(crate) node: String,
    pub(crate) id: u64,
    handed: AtomicBool,
}

impl Relay {
    pub(crate) fn new(node: String, id: u64) -> Relay {
        Relay {
            node,
            id,
            handed: AtomicBool::new(false),
        }
    }
}

impl Turn {
    /// A turn with one open branch (the entry component) and its completion receiver.
    pub fn new(
        session_id: Arc<str>,
        inputs: Arc<serde_json::Map<String, serde_json::Value>>,
        events: Option<mpsc::Sender<RuntimeEvent>>,
    ) -> (
        Arc<Turn>,
        oneshot::Receiver<Result<InputResponse, RuntimeError>>,
    ) {
        Turn::with_relay(session_id, inputs, events, None)
    }

    /// A turn standing for a turn of another node (`relay`), see [`Turn::hand_over`].
    pub(crate) fn with_relay(
        session_id: Arc<str>,
        inputs: Arc<serde_json::Map<String, serde_json::Value>>,
        events: Option<mpsc::Sender<RuntimeEvent>>,
        relay: Option<Relay>,
    ) -> (
        Arc<Turn>,
        oneshot::Receiver<Result<InputResponse, RuntimeError>>,
    ) {
        let (tx, rx) = oneshot::channel();
        let turn = Arc::new(Turn {
            session_id,
            inputs,
            outstanding: AtomicUsize::new(1),
            finished: AtomicBool::new(false),
            outputs: Mutex::new(Vec::new()),
            done: Mutex::new(Some(tx)),
            // Only a streamed turn's tokens are latency-bound; a plain request gets one answer.
            origin: events
                .as_ref()
                .and_then(|_| actix_rt::Arbiter::try_current())
                .map(|a| (a, std::thread::current().id())),
            events,
            cancel: CancellationToken::new(),
            relay,
        });
        (turn, rx)
    }

    /// For a proxy turn whose only open branch is leaving this node: the turn it stands for
    /// (node, hop number), to send the branch on with that turn's way back, once. None when
    /// this is no proxy, other branches are open, or the caller streams events (events would
    /// then reach the caller by two ways, in no sure order). The caller completes the branch
    /// here once the hop is on its way ([`Turn::handed_over`] tells the proxy to stay silent).
    pub(crate) fn hand_over(&self) -> Option<(&str, u64)> {
        let relay = self.relay.as_ref()?;
        if self.events.is_some()
            || self.outstanding.load(Ordering::Acquire) != 1
            || self.is_finished()
            || relay.handed.swap(true, Ordering::AcqRel)
        {
            return None;
        }
        Some((&relay.node, relay.id))
    }

    /// Whether this proxy turn handed its branch to the turn it stands for.
    pub(crate) fn handed_over(&self) -> bool {
        self.relay
            .as_ref()
            .is_some_and(|r| r.handed.load(Ordering::Acquire))
    }

    /// The caller's arbiter when it is not this thread (a streamed turn from an HTTP worker).
    pub(crate) fn origin_elsewhere(&self) -> Option<&actix_rt::ArbiterHandle> {
        self.origin
            .as_ref()
            .filter(|(_, thread)| *thread != std::thread::current().id())
            .map(|(a, _)| a)
    }

    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// A branch splits into `n` branches (fan-out to `n` targets, `n >= 1`).
    pub fn split(&self, n: usize) {
        if n > 1 {
            self.outstanding.fetch_add(n - 1, Ordering::AcqRel);
        }
    }

    /// A branch ended at a terminal component (`Some(output)`) or was dropped by a pipe (`None`).
    pub fn complete_branch(&self, output: Option<ComponentOutput>) {
        if let Some(o) = output {
            self.outputs.lock().push(o);
        }
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            let outputs = std::mem::take(&mut *self.outputs.lock());
            self.finish(Ok(InputResponse {
                session_id: self.session_id.to_string(),
                outputs,
            }));
        }
    }

    /// The whole turn fails (first failure wins).
    pub fn fail(&self, err: RuntimeError) {
        self.finish(Err(err));
    }

    fn finish(&self, result: Result<InputResponse, RuntimeError>) {
        if let Some(tx) = self.done.lock().take() {
            self.finished.store(true, Ordering::Release);
            let _ = tx.send(result);
        }
    }

    /// Cancels the turn: its model calls stop at their next await.
    pub fn cancel(&self) {
        self.cancel_with(RuntimeError::Cancelled(CancelReason::Caller));
    }

    /// Cancels the turn and answers its caller with `err` (when the turn was stopped by someone
    /// else than its caller, e.g. its session was ended, the caller is still listening).
    pub fn cancel_with(&self, err: RuntimeError) {
        self.cancel.cancel();
        self.finish(Err(err));
    }

    /// Whether the turn was cancelled, so work not yet started is skipped.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves once the turn is cancelled.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// Sends an event to the caller's stream, if it asked for one. Never blocks: a full stream
    /// loses intermediate events (counted), never the terminal result.
    pub fn emit(&self, env: &Envelope) -> bool {
        match &self.events {
            Some(tx) => tx.try_send(RuntimeEvent::Event(env.clone())).is_ok(),
            None => true,
        }
    }
}

/// What a request/reply answers.
pub type DirectResult = Result<Arc<serde_json::Value>, RuntimeError>;

/// A request/reply slot.
pub struct DirectReply {
    tx: Mutex<Option<oneshot::Sender<DirectResult>>>,
}

impl DirectReply {
    /// A slot and the receiver its answer arrives on.
    pub fn new() -> (Arc<DirectReply>, oneshot::Receiver<DirectResult>) {
        let (tx, rx) = oneshot::channel();
        (
            Arc::new(DirectReply {
                tx: Mutex::new(Some(tx)),
            }),
            rx,
        )
    }

    pub fn answer(&self, result: DirectResult) {
        if let Some(tx) = self.tx.lock().take() {
            let _ = tx.send(result);
        }
    }
}

/// Counts handled messages down to zero and wakes the waiter; counts failures too.
pub struct Latch {
    remaining: AtomicUsize,
    failed: AtomicUsize,
    notify: Notify,
}

impl Latch {
    pub fn new(n: usize) -> Arc<Latch> {
        Arc::new(Latch {
            remaining: AtomicUsize::new(n),
            failed: AtomicUsize::new(0),
            notify: Notify::new(),
        })
    }

    pub fn count_down(&self, ok: bool) {
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.notify.notify_waiters();
        }
    }

    /// Waits until every message was handled; returns how many failed.
    pub async fn wait(&self) -> usize {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.remaining.load(Ordering::Acquire) == 0 {
                return self.failed.load(Ordering::Relaxed);
            }
            notified.await;
        }
    }
}
