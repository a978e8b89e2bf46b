//! Calling a model for a component, streaming its text deltas as `stream.chunk` envelopes in index
//! order as they arrive (closed by an empty chunk marked `is_final`), then `stream.completed` / `stream.failed`: to the caller's
//! event stream (`Runtime::send_stream`, SSE, `run`) and to the `output console` components the
//! component routes to, which print them as they arrive. Streams only when the caller asked for
//! events; agents stream only their final answer ([`AnswerFilter`]).

use super::answer_filter::AnswerFilter;
use crate::cell::ComponentCell;
use crate::envelope::{Envelope, EventType, MessageId};
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ModelError, ModelErrorKind};
use crate::reply::Turn;
use crate::services::Services;
use crate::types::RuntimeEvent;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::{mpsc, oneshot};
use woodwork_parser::Kind;

/// Chunks buffered between the model and the forwarder.
const CHUNK_BUFFER: usize = 64;

/// Where one call's chunks go.
#[derive(Clone)]
pub struct StreamTo {
    turn: Arc<Turn>,
    services: Arc<Services>,
    /// `output console` components among the routes (cell indices).
    consoles: Arc<[usize]>,
}

/// The `output console` components `cell` routes to: they get the chunks too.
pub fn console_routes(cell: &ComponentCell, services: &Services) -> Arc<[usize]> {
    let cells = services.router.cells();
    cell.routes
        .iter()
        .copied()
        .filter(|i| {
            let c = &cells[*i];
            c.spec.kind == Kind::Output && c.spec.type_name == "console"
        })
        .collect()
}

impl StreamTo {
    /// Streaming for one message: only for a routed turn whose caller asked for events (tool
    /// calls, benchmarks and plain requests get the assembled answer only).
    pub fn for_message(
        env: &Envelope,
        streaming: bool,
        services: &Arc<Services>,
        consoles: &Arc<[usize]>,
    ) -> Option<StreamTo> {
        if !streaming {
            return None;
        }
        let turn = env
            .reply
            .as_ref()
            .and_then(|r| r.turn())
            .filter(|t| t.events.is_some())?;
        Some(StreamTo {
            turn: turn.clone(),
            services: services.clone(),
            consoles: consoles.clone(),
        })
    }

    async fn send(&self, env: Envelope) {
        let feed = self.deliver(env).await;
        if let Some(env) = feed {
            self.services.bus.publish(&env);
        }
    }

    /// Sends `env` to the consoles and the caller's stream; returns the copy the event feed
    /// (`/events`) is still owed, when it records, so a token's publishing (a wake-up of the
    /// recorder, maybe on another thread) can wait until the caller's write went out.
    async fn deliver(&self, env: Envelope) -> Option<Envelope> {
        for &to in self.consoles.iter() {
            let mut copy = env.clone();
            copy.target = Some(self.services.router.cells()[to].name.clone());
            // Not part of the turn's branches: the console prints it and that is all.
            copy.reply = None;
            self.services.router.deliver(to, copy);
        }
        let feed = self.services.bus.has_subscribers().then(|| env.clone());
        if let Some(tx) = &self.turn.events {
            // Awaiting here lets a slow reader slow the model instead of growing memory.
            let _ = tx.send(RuntimeEvent::Event(env)).await;
        }
        feed
    }
}

/// One call's chunk numbering.
struct Forwarder<'a> {
    to: &'a StreamTo,
    parent: &'a Envelope,
    component: &'a Arc<str>,
    stream_id: Arc<str>,
    index: u32,
    /// Chunks sent to the caller and not yet published to the event feed (see [`Self::publish`]).
    feed: Vec<Envelope>,
}

impl Forwarder<'_> {
    /// Sends a piece at once (no holding back: a token reaches the reader as soon as it exists).
    async fn piece(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        self.chunk(text, false).await;
    }

    /// Closes a stream that sent anything with an empty chunk marked `is_final`.
    async fn finish(&mut self) {
        if self.index > 0 {
            self.chunk(String::new(), true).await;
        }
    }

    async fn chunk(&mut self, text: String, is_final: bool) {
        let mut env = self.parent.forward(
            EventType::StreamChunk,
            Arc::new(serde_json::json!({ "chunk": text, "component_id": &**self.component })),
            self.component.clone(),
            self.component.clone(),
        );
        env.stream_id = Some(self.stream_id.clone());
        env.chunk_index = Some(self.index);
        env.is_final = Some(is_final);
        self.index += 1;
        if let Some(env) = self.to.deliver(env).await {
            self.feed.push(env);
        }
    }

    /// Publishes the chunks owed to the event feed, in order. With `after_write`, first lets
    /// the tasks this thread has ready run (the caller's SSE body, woken by the chunk): the
    /// feed's recorder is then woken after the token was written to the caller, not before.
    async fn publish(&mut self, after_write: bool) {
        if self.feed.is_empty() {
            return;
        }
        if after_write {
            tokio::task::yield_now().await;
        }
        for env in self.feed.drain(..) {
            self.to.services.bus.publish(&env);
        }
    }
}

/// Calls `model`; with `stream_to`, forwards each chunk as it arrives (for an agent,
/// `answer_only`: only its final answer's text). Dropping this future drops the provider's.
///
/// A streamed call runs on the caller's arbiter (the HTTP worker holding the SSE response) when
/// that is another thread: the provider's socket is then read on the thread that writes the
/// tokens to the client, so a token costs no wake-up of a second thread on its way (that hop was
/// about half the added per-token latency). Only the result comes back here, once.
pub async fn call_model(
    model: Arc<dyn ChatModel>,
    request: ChatRequest,
    parent: &Envelope,
    component: &Arc<str>,
    stream_to: Option<&StreamTo>,
    answer_only: bool,
) -> Result<ChatResponse, ModelError> {
    let Some(to) = stream_to else {
        return model.chat(request, None).await;
    };
    let Some(origin) = to.turn.origin_elsewhere() else {
        return stream_call(model, request, parent, component, to, answer_only).await;
    };
    let (tx, rx) = oneshot::channel::<std::thread::Result<Result<ChatResponse, ModelError>>>();
    let (parent, component, to) = (parent.clone(), component.clone(), to.clone());
    let remote = async move {
        // A panic in the call is carried back and resumed here, on the component's side, so it
        // is the component's failure (restart per policy, message retried), as if it ran here.
        let call = AssertUnwindSafe(stream_call(
            model,
            request,
            &parent,
            &component,
            &to,
            answer_only,
        ))
        .catch_unwind();
        let mut tx = tx;
        // This side dropping its receiver (timeout, cancel, restart) drops the provider call.
        let result = tokio::select! {
            r = call => r,
            _ = tx.closed() => return,
        };
        let _ = tx.send(result);
    };
    if !origin.spawn(remote) {
        return Err(ModelError::new(
            ModelErrorKind::Cancelled,
            "the caller's thread stopped before the model call started",
        ));
    }
    match rx.await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => Err(ModelError::new(
            ModelErrorKind::Cancelled,
            "the caller's thread stopped during the model call",
        )),
    }
}

/// The streamed call itself, wherever it runs.
async fn stream_call(
    model: Arc<dyn ChatModel>,
    request: ChatRequest,
    parent: &Envelope,
    component: &Arc<str>,
    to: &StreamTo,
    answer_only: bool,
) -> Result<ChatResponse, ModelError> {
    let (tx, mut rx) = mpsc::channel::<String>(CHUNK_BUFFER);
    let mut fwd = Forwarder {
        to,
        parent,
        component,
        stream_id: Arc::from(MessageId::next().to_string()),
        index: 0,
        feed: Vec::new(),
    };
    let mut filter = answer_only.then(AnswerFilter::default);
    let mut chat = model.chat(request, Some(tx));
    // The deltas are taken with `try_recv`, never awaited: a receiver waiting on the channel
    // would have each delta wake this task again, and that second run (a re-poll of the
    // provider's body) came before the caller's SSE body got to write the token.
    let mut result = loop {
        let polled = std::future::poll_fn(|cx| match chat.poll_unpin(cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending if !rx.is_empty() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        while let Ok(delta) = rx.try_recv() {
            let piece = match &mut filter {
                Some(f) => match f.push(&delta) {
                    Some(p) => p,
                    None => continue,
                },
                None => delta,
            };
            fwd.piece(piece).await;
        }
        if let Some(r) = polled {
            break r;
        }
        fwd.publish(true).await;
    };
    if let (Ok(resp), Some(f)) = (&result, &mut filter) {
        // A reply in no format that ended without a tool call is the answer itself.
        if resp.tool_calls.is_empty() {
            for piece in f.finish() {
                fwd.piece(piece).await;
            }
        }
    }
    fwd.finish().await;
    fwd.publish(false).await;
    let count = fwd.index;
    if let Err(e) = &mut result {
        // Text already reached the caller: retrying would repeat it (DESIGN.md §4).
        e.after_first_token |= count > 0;
    }
    if count == 0 && answer_only && result.is_ok() {
        return result; // an action step: nothing was streamed, nothing to close
    }
    let (event, body) = match &result {
        Ok(_) => (
            EventType::StreamCompleted,
            serde_json::json!({ "chunks": count, "component_id": &**component }),
        ),
        Err(e) => (
            EventType::StreamFailed,
            serde_json::json!({ "error": e.to_string(), "component_id": &**component }),
        ),
    };
    let mut done = parent.forward(event, Arc::new(body), component.clone(), component.clone());
    done.stream_id = Some(fwd.stream_id.clone());
    done.is_final = Some(true);
    to.send(done).await;
    result
}
