//! `stream: true`: the turn's events as OpenAI `chat.completion.chunk` frames (`data: {…}` lines,
//! no event names) — first the role, then a `delta.content` per `stream.chunk` token of the
//! runtime, then any text of the final answer the tokens did not carry, a chunk with
//! `finish_reason: "stop"`, the usage chunk when `stream_options.include_usage` asked for it, and
//! `data: [DONE]`. A failure after the stream started is a `data: {"error": …}` frame (the shape
//! OpenAI SDKs raise) then `[DONE]`. Dropping the body (the client went away) drops the runtime's
//! event stream, which cancels the turn; keep-alive comments make a hang-up noticed while the
//! model is silent (see [`crate::server::sse`]). Deadline and drain end it as they end the input
//! route's SSE.

use super::errors::OpenAiError;
use super::wire::{Chunk, ChunkChoice, Delta, Usage};
use crate::server::drain;
use crate::server::error::ApiError;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::time::Instant;
use woodwork_runtime::{EventStream, EventType, RuntimeError, RuntimeEvent};

/// As often as the input route's SSE (the same reasons: proxies' idle timeouts, noticing a
/// client that went away).
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(2);

const DONE: &[u8] = b"data: [DONE]\n\n";

/// One `data:` frame of compact JSON (`null` if `data` cannot be JSON, never a broken frame).
pub fn data_frame<T: serde::Serialize + ?Sized>(data: &T) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"data: ");
    crate::server::sse::end_json_frame(&mut buf, data);
    Bytes::from(buf)
}

/// What every chunk of one answer repeats.
pub struct Meta {
    pub id: String,
    pub model: String,
    pub created: u64,
    pub include_usage: bool,
    /// The user message the turn runs on (for the usage estimate).
    pub prompt: String,
}

impl Meta {
    fn chunk(&self, delta: Delta<'_>, finish_reason: Option<&'static str>) -> Bytes {
        let choices = [ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason,
        }];
        data_frame(&Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: &choices,
            usage: self.include_usage.then_some(None),
        })
    }

    fn usage_chunk(&self, usage: Usage) -> Bytes {
        data_frame(&Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: &[],
            usage: Some(Some(usage)),
        })
    }
}

#[derive(PartialEq)]
enum Phase {
    Running,
    /// The last frames are queued; the stream ends when they are sent.
    Closing,
}

/// The streaming response body (see the module doc).
pub struct ChunkBody {
    events: EventStream,
    meta: Meta,
    /// The content sent so far, to send only what the final answer adds to it.
    streamed: String,
    queued: VecDeque<Bytes>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    drained: Pin<Box<dyn Future<Output = ()>>>,
    keep_alive: tokio::time::Interval,
    phase: Phase,
    span: tracing::Span,
}

impl ChunkBody {
    pub fn new(events: EventStream, meta: Meta, deadline: Instant) -> Self {
        let first = meta.chunk(
            Delta {
                role: Some("assistant"),
                content: Some(""),
            },
            None,
        );
        ChunkBody {
            events,
            meta,
            streamed: String::new(),
            queued: VecDeque::from([first]),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            drained: Box::pin(drain::expired()),
            keep_alive: tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
            phase: Phase::Running,
            span: tracing::Span::current(),
        }
    }

    /// Queues the end of a turn that answered `text`.
    fn finish(&mut self, text: &str) {
        // Tokens stream only the model's answer; a pipeline step after it (or a component that
        // does not stream) can add to it, and that rest is sent in one piece. An answer that is
        // not a continuation of what was streamed cannot be unsent: the stream keeps what it sent.
        if let Some(rest) = text.strip_prefix(self.streamed.as_str()) {
            if !rest.is_empty() {
                let piece = self.meta.chunk(
                    Delta {
                        content: Some(rest),
                        ..Delta::default()
                    },
                    None,
                );
                self.queued.push_back(piece);
            }
        }
        self.queued
            .push_back(self.meta.chunk(Delta::default(), Some("stop")));
        if self.meta.include_usage {
            let usage = Usage::estimate(&self.meta.prompt, text);
            self.queued.push_back(self.meta.usage_chunk(usage));
        }
        self.queued.push_back(Bytes::from_static(DONE));
        self.phase = Phase::Closing;
        tracing::info!("stream done");
    }

    fn fail(&mut self, err: ApiError) {
        tracing::warn!(
            code = err.code,
            status = err.status.as_u16(),
            "stream failed: {}",
            err.message
        );
        self.queued.push_back(OpenAiError::from(err).sse_frame());
        self.queued.push_back(Bytes::from_static(DONE));
        self.phase = Phase::Closing;
    }

    /// The next frame from the runtime (or from the deadline, the drain or the keep-alive timer).
    fn poll_runtime(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.events.poll_next_unpin(cx) {
                Poll::Ready(Some(RuntimeEvent::Event(env))) => {
                    if env.event_type != EventType::StreamChunk {
                        continue;
                    }
                    let Some(text) = env.payload.get("chunk").and_then(|c| c.as_str()) else {
                        continue;
                    };
                    if text.is_empty() {
                        continue;
                    }
                    self.streamed.push_str(text);
                    let piece = self.meta.chunk(
                        Delta {
                            content: Some(text),
                            ..Delta::default()
                        },
                        None,
                    );
                    self.queued.push_back(piece);
                    return Poll::Ready(());
                }
                Poll::Ready(Some(RuntimeEvent::Done(resp))) => {
                    let text = resp.text().unwrap_or_default();
                    self.finish(&text);
                    return Poll::Ready(());
                }
                Poll::Ready(Some(RuntimeEvent::Failed(e))) => {
                    self.fail(ApiError::from(e));
                    return Poll::Ready(());
                }
                Poll::Ready(None) => {
                    self.fail(ApiError::from(RuntimeError::ComponentFailed {
                        component: self.meta.model.clone(),
                        message: "the event stream ended without a final response".into(),
                    }));
                    return Poll::Ready(());
                }
                Poll::Pending => break,
            }
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.fail(ApiError::from(RuntimeError::DeadlineExceeded {
                component: self.meta.model.clone(),
            }));
            return Poll::Ready(());
        }
        if self.drained.as_mut().poll(cx).is_ready() {
            self.fail(drain::cut_short());
            return Poll::Ready(());
        }
        if self.keep_alive.poll_tick(cx).is_ready() {
            self.queued
                .push_back(Bytes::from_static(b": keep-alive\n\n"));
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for ChunkBody {
    fn drop(&mut self) {
        if self.phase == Phase::Running {
            let _entered = self.span.enter();
            tracing::info!("client went away mid-stream; cancelling the turn");
        }
    }
}

impl Stream for ChunkBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let span = this.span.clone();
        let _entered = span.enter();
        if let Some(frame) = this.queued.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if this.phase == Phase::Closing {
            return Poll::Ready(None);
        }
        match this.poll_runtime(cx) {
            Poll::Ready(()) => Poll::Ready(this.queued.pop_front().map(Ok)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_data_lines() {
        let meta = Meta {
            id: "chatcmpl-1".into(),
            model: "bot".into(),
            created: 7,
            include_usage: false,
            prompt: String::new(),
        };
        let f = meta.chunk(
            Delta {
                content: Some("a\nb"),
                ..Delta::default()
            },
            None,
        );
        assert_eq!(
            std::str::from_utf8(&f).unwrap(),
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,\
             \"model\":\"bot\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\nb\"},\
             \"logprobs\":null,\"finish_reason\":null}]}\n\n"
        );
    }
}
