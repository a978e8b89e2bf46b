//! Calling a model for a component, streaming its text deltas to the caller's event stream as
//! `stream.chunk` envelopes in index order (the last one `is_final`), then `stream.completed`.

use crate::envelope::{Envelope, EventType};
use crate::llm::{ChatModel, ChatRequest, ChatResponse, ModelError};
use crate::reply::Turn;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Chunks buffered between the model and the forwarder.
const CHUNK_BUFFER: usize = 64;

/// Calls `model`; when `stream_to` is given, forwards each chunk as it arrives.
pub async fn call_model(
    model: Arc<dyn ChatModel>,
    request: ChatRequest,
    parent: Envelope,
    component: Arc<str>,
    stream_to: Option<Arc<Turn>>,
) -> Result<ChatResponse, ModelError> {
    let Some(turn) = stream_to else {
        return model.chat(request, None).await;
    };
    let (tx, mut rx) = mpsc::channel::<String>(CHUNK_BUFFER);
    let stream_id: Arc<str> = Arc::from(parent.message_id.to_string());
    let chat = model.chat(request, Some(tx));
    let forward = async {
        let mut index = 0u32;
        let mut held: Option<String> = None;
        while let Some(chunk) = rx.recv().await {
            if let Some(prev) = held.replace(chunk) {
                send_chunk(&turn, &parent, &component, &stream_id, index, prev, false).await;
                index += 1;
            }
        }
        if let Some(last) = held {
            send_chunk(&turn, &parent, &component, &stream_id, index, last, true).await;
            index += 1;
        }
        index
    };
    let (mut result, count) = futures_util::future::join(chat, forward).await;
    if let Err(e) = &mut result {
        // Text already reached the caller: retrying would repeat it (DESIGN.md §4).
        e.after_first_token |= count > 0;
    }
    let (event, body) = match &result {
        Ok(_) => (
            EventType::StreamCompleted,
            serde_json::json!({ "chunks": count, "component_id": &*component }),
        ),
        Err(e) => (
            EventType::StreamFailed,
            serde_json::json!({ "error": e.to_string(), "component_id": &*component }),
        ),
    };
    let mut done = parent.forward(event, Arc::new(body), component.clone(), component);
    done.stream_id = Some(stream_id);
    done.is_final = Some(true);
    if let Some(tx) = &turn.events {
        let _ = tx.send(crate::types::RuntimeEvent::Event(done)).await;
    }
    result
}

async fn send_chunk(
    turn: &Turn,
    parent: &Envelope,
    component: &Arc<str>,
    stream_id: &Arc<str>,
    index: u32,
    text: String,
    is_final: bool,
) {
    let mut env = parent.forward(
        EventType::StreamChunk,
        Arc::new(serde_json::json!({ "chunk": text, "component_id": &**component })),
        component.clone(),
        component.clone(),
    );
    env.stream_id = Some(stream_id.clone());
    env.chunk_index = Some(index);
    env.is_final = Some(is_final);
    if let Some(tx) = &turn.events {
        // Awaiting here lets a slow reader slow the model instead of growing memory.
        let _ = tx.send(crate::types::RuntimeEvent::Event(env)).await;
    }
}
