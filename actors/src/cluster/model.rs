//! An agent's model hosted by another node (DESIGN.md §7: the agent on one node, its model on
//! another): the agent's node calls a [`RemoteChatModel`], which sends the chat request to the
//! model component's queue and receives the streamed deltas and the answer on its own node queue;
//! the hosting node runs the call on its real client. Dropping the call (the turn was cancelled)
//! cancels it on the hosting node too.

use super::wire::{ModelCall, NodeMsg, Work};
use super::{component_queue, Cluster};
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ChunkSender, ModelError, ModelErrorKind};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Deltas of a remote model call held between this node's queue consumer and the call (more
/// are dropped, like a turn's stream drops events for a reader too slow).
const REMOTE_CHUNKS: usize = 64;

/// Model calls this node sent and waits on.
pub(crate) struct ModelCalls {
    calls: Mutex<HashMap<u64, Waiting>>,
    next: AtomicU64,
}

impl Default for ModelCalls {
    fn default() -> Self {
        ModelCalls {
            calls: Mutex::new(HashMap::new()),
            next: AtomicU64::new(super::pending::first_number()),
        }
    }
}

struct Waiting {
    chunks: Option<ChunkSender>,
    done: oneshot::Sender<Result<ChatResponse, ModelError>>,
}

impl ModelCalls {
    /// A streamed delta of call `id`. Never waits: a caller too slow for its stream loses deltas
    /// (the answer is whole anyway), like a turn's event stream.
    pub(crate) fn chunk(&self, id: u64, text: String) {
        if let Some(tx) = self.calls.lock().get(&id).and_then(|w| w.chunks.clone()) {
            let _ = tx.try_send(text);
        }
    }

    /// The end of call `id`.
    pub(crate) fn done(&self, id: u64, result: Result<ChatResponse, ModelError>) {
        if let Some(w) = self.calls.lock().remove(&id) {
            let _ = w.done.send(result);
        }
    }
}

/// The model client of an `llm` component another node hosts.
pub(crate) struct RemoteChatModel {
    cluster: Arc<Cluster>,
    component: Arc<str>,
    /// What the real client says of itself (`openai:gpt-4o-mini`), for logs and metrics.
    describe: String,
}

impl RemoteChatModel {
    pub(crate) fn new(cluster: Arc<Cluster>, component: Arc<str>, describe: String) -> Self {
        RemoteChatModel {
            cluster,
            component,
            describe,
        }
    }
}

/// Forgets a call (and cancels it where it runs) when its caller stops waiting first.
struct CallGuard {
    cluster: Arc<Cluster>,
    component: Arc<str>,
    id: u64,
    armed: bool,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.cluster.models.calls.lock().remove(&self.id);
        let cluster = self.cluster.clone();
        let component = self.component.clone();
        let id = self.id;
        actix_rt::spawn(async move {
            let msg = NodeMsg::CancelModel {
                origin: cluster.spec.node.clone(),
                id,
            };
            for node in cluster.view.nodes_hosting(&component) {
                let _ = cluster.push_node(&node, msg.clone()).await;
            }
        });
    }
}

fn unavailable(component: &str, why: String) -> ModelError {
    ModelError::new(
        ModelErrorKind::Connection,
        format!("model `{component}` on another node: {why}"),
    )
}

impl ChatModel for RemoteChatModel {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn chat(
        &self,
        request: ChatRequest,
        chunks: Option<ChunkSender>,
    ) -> BoxFuture<'_, Result<ChatResponse, ModelError>> {
        Box::pin(async move {
            if !self.cluster.view.hosted_anywhere(&self.component) {
                return Err(unavailable(&self.component, "no live node hosts it".into()));
            }
            // Numbered in their own table (and cancelled with their own message): a number
            // may equal a hop's.
            let id = self.cluster.models.next.fetch_add(1, Ordering::Relaxed) + 1;
            let (done, mut rx) = oneshot::channel();
            let stream = chunks.is_some();
            // The deltas arrive on this node's queue consumer; they are passed on to `chunks`
            // from within this call's own poll, as a provider's client does (the caller takes
            // deltas when the call yields, see `component::stream`).
            let (arrived, mut arriving) = match stream {
                true => {
                    let (tx, rx) = mpsc::channel::<String>(REMOTE_CHUNKS);
                    (Some(tx), Some(rx))
                }
                false => (None, None),
            };
            self.cluster.models.calls.lock().insert(
                id,
                Waiting {
                    chunks: arrived,
                    done,
                },
            );
            let mut guard = CallGuard {
                cluster: self.cluster.clone(),
                component: self.component.clone(),
                id,
                armed: true,
            };
            let work = Work::Model(ModelCall {
                request,
                stream,
                node: self.cluster.spec.node.clone(),
                id,
            });
            let body = serde_json::to_vec(&work)
                .map_err(|e| unavailable(&self.component, e.to_string()))?;
            let msg_id = crate::envelope::MessageId::next().to_string();
            let pushed = self
                .cluster
                .push(&component_queue(&self.component), &msg_id, body)
                .await;
            if let Err(e) = pushed {
                guard.armed = false;
                self.cluster.models.calls.lock().remove(&id);
                return Err(unavailable(&self.component, e.to_string()));
            }
            let answer = loop {
                let next = super::next_of(arriving.as_mut());
                tokio::select! {
                    biased;
                    Some(text) = next => {
                        if let Some(c) = &chunks {
                            let _ = c.send(text).await;
                        }
                    }
                    r = &mut rx => break r,
                }
            };
            // Deltas that came just before the answer go first.
            if let (Some(a), Some(c)) = (arriving.as_mut(), &chunks) {
                while let Ok(text) = a.try_recv() {
                    let _ = c.send(text).await;
                }
            }
            let result = answer.unwrap_or_else(|_| {
                Err(unavailable(&self.component, "the call was dropped".into()))
            });
            guard.armed = false;
            result
        })
    }
}

/// Runs a model call for another node on this node's client of `model`, sending its deltas and
/// answer back; true once the answer is on its way.
pub(super) async fn serve_call(
    cluster: &Arc<Cluster>,
    model: Arc<dyn ChatModel>,
    call: ModelCall,
    cancel: tokio_util::sync::CancellationToken,
) -> bool {
    let ModelCall {
        request,
        stream,
        node,
        id,
    } = call;
    let (tx, mut rx) = if stream {
        let (tx, rx) = mpsc::channel::<String>(64);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let chat = model.chat(request, tx);
    tokio::pin!(chat);
    let result = loop {
        let chunk = super::next_of(rx.as_mut());
        tokio::select! {
            biased;
            Some(text) = chunk => {
                let _ = cluster.push_node(&node, NodeMsg::ModelChunk { id, text }).await;
            }
            r = &mut chat => break r,
            _ = cancel.cancelled() => {
                break Err(ModelError::new(ModelErrorKind::Cancelled, "the caller cancelled the call"));
            }
        }
    };
    if let Some(rx) = rx.as_mut() {
        while let Ok(text) = rx.try_recv() {
            let _ = cluster
                .push_node(&node, NodeMsg::ModelChunk { id, text })
                .await;
        }
    }
    super::inbound::send_back_to(cluster, &node, NodeMsg::ModelDone { id, result }).await
}
