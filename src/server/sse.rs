//! Server-sent events for `POST /{component}/input?stream=true`: each runtime event becomes an SSE
//! event named by its event type (`event: stream.chunk`) with the envelope as JSON data; the stream
//! ends with `done` (the final response) or `error` then `done`. Dropping the body (the client went
//! away) drops the runtime's event stream, which cancels the turn; periodic keep-alive comments make
//! sure a hang-up is noticed even while the model is silent. A stream still open when the
//! server's drain ends closes with an `error` (503 `shutting_down`) then `done`.
//!
//! Every frame carries an `id:` from the process's one event sequence: an event's id is its
//! envelope's [`event_id`](woodwork_runtime::Envelope::event_id), the same number `/events` shows
//! for it, so a client whose turn stream dropped (which cancels the turn) can read what it missed
//! from `GET /events?session=<id>` with `Last-Event-ID`; `done` and `error` take a fresh number.
//! Opening a turn stream starts the replay buffer recording ([`crate::server::replay`]).

use crate::server::drain;
use crate::server::error::ApiError;
use crate::server::routes::input::Answer;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::time::Instant;
use woodwork_runtime::{EventStream, MessageId, RuntimeError, RuntimeEvent};

/// One SSE frame, `id: <id>` first so a client's `Last-Event-ID` can name it. `name` is
/// sanitised (no CR/LF); `data` is one line of compact JSON, written straight into the frame's
/// one buffer: going through a `serde_json::Value` first (a tree of maps and strings per
/// envelope) was 9 of the 20 µs a token spent in this process (probe on the cold path between
/// two tokens, 1 ms apart).
pub fn frame_with_id<T: serde::Serialize + ?Sized>(id: u64, name: &str, data: &T) -> Bytes {
    let mut buf = frame_head(id, name);
    end_json_frame(&mut buf, data);
    Bytes::from(buf)
}

/// Ends a frame with `data` as compact JSON (`null` if it cannot be JSON, never a broken
/// frame) and the blank line.
pub fn end_json_frame<T: serde::Serialize + ?Sized>(buf: &mut Vec<u8>, data: &T) {
    let start = buf.len();
    if serde_json::to_writer(&mut *buf, data).is_err() {
        buf.truncate(start);
        buf.extend_from_slice(b"null");
    }
    buf.extend_from_slice(b"\n\n");
}

/// The frame of a runtime envelope (the same bytes as [`frame_with_id`] with the envelope as
/// data), its JSON written by [`crate::server::sse_json`]: a streamed token is one of these.
pub fn envelope_frame(env: &woodwork_runtime::Envelope) -> Bytes {
    let mut buf = frame_head(env.event_id(), event_name(env));
    crate::server::sse_json::write_envelope(&mut buf, env);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

/// `id: <id>\nevent: <name>\ndata: `, the name without control characters.
fn frame_head(id: u64, name: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(640);
    // Writing into a Vec cannot fail.
    let _ = write!(buf, "id: {id}\nevent: ");
    if name.len() <= 64 && !name.chars().any(char::is_control) {
        buf.extend_from_slice(name.as_bytes());
    } else {
        let clean: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        buf.extend_from_slice(clean.as_bytes());
    }
    buf.extend_from_slice(b"\ndata: ");
    buf
}

/// A fresh number of the process's event sequence, for a frame that is not an envelope (`done`,
/// `error`): ids then still only grow.
pub fn fresh_id() -> u64 {
    MessageId::next().lo
}

/// The SSE event name of a runtime envelope: its event type (`stream.chunk`, `agent.thought`, …).
fn event_name(env: &woodwork_runtime::Envelope) -> &'static str {
    env.event_type.as_str()
}

/// A comment line (`: keep-alive`) is written this often. It keeps proxies with idle timeouts
/// from closing the connection during a slow model call, and it is how a client that went away
/// is noticed: actix-web only drops a pending streaming body (and so cancels the turn) when a
/// write to the closed socket fails (actix/actix-web#1313), so a hang-up is seen within about two
/// intervals.
pub const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(2);

enum Phase {
    Running,
    /// A terminal `done` frame is still to be sent.
    Closing(Bytes),
    Finished,
}

/// The response body: runtime events as SSE frames, bounded by `deadline` (then `error` 504 +
/// `done`) and by the server's drain (then `error` 503 + `done`), and carrying the request's
/// tracing span so its log lines keep the request id.
pub struct SseBody {
    events: EventStream,
    component: String,
    deadline: Pin<Box<tokio::time::Sleep>>,
    drained: Pin<Box<dyn Future<Output = ()>>>,
    keep_alive: tokio::time::Interval,
    phase: Phase,
    span: tracing::Span,
}

impl SseBody {
    pub fn new(events: EventStream, component: String, deadline: Instant) -> Self {
        crate::server::replay::touch();
        SseBody {
            events,
            component,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            drained: Box::pin(drain::expired()),
            keep_alive: tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
            phase: Phase::Running,
            span: tracing::Span::current(),
        }
    }

    fn fail(&mut self, err: ApiError) -> Bytes {
        tracing::warn!(
            code = err.code,
            status = err.status.as_u16(),
            "stream failed: {}",
            err.message
        );
        let body = err.body_json();
        let error = frame_with_id(fresh_id(), "error", &body);
        self.phase = Phase::Closing(frame_with_id(fresh_id(), "done", &body));
        error
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        if matches!(self.phase, Phase::Running) {
            let _entered = self.span.enter();
            tracing::info!("client went away mid-stream; cancelling the turn");
        }
    }
}

impl Stream for SseBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let span = this.span.clone();
        let _entered = span.enter();
        match std::mem::replace(&mut this.phase, Phase::Finished) {
            Phase::Finished => return Poll::Ready(None),
            Phase::Closing(done) => return Poll::Ready(Some(Ok(done))),
            Phase::Running => this.phase = Phase::Running,
        }
        match this.events.poll_next_unpin(cx) {
            Poll::Ready(Some(RuntimeEvent::Event(env))) => {
                Poll::Ready(Some(Ok(envelope_frame(&env))))
            }
            Poll::Ready(Some(RuntimeEvent::Done(resp))) => {
                this.phase = Phase::Finished;
                tracing::info!("stream done");
                let answer = Answer::of(&this.component, &resp);
                Poll::Ready(Some(Ok(frame_with_id(fresh_id(), "done", &answer))))
            }
            Poll::Ready(Some(RuntimeEvent::Failed(e))) => {
                Poll::Ready(Some(Ok(this.fail(ApiError::from(e)))))
            }
            Poll::Ready(None) => Poll::Ready(Some(Ok(this.fail(ApiError::from(
                RuntimeError::ComponentFailed {
                    component: this.component.clone(),
                    message: "the event stream ended without a final response".into(),
                },
            ))))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Ok(this.fail(ApiError::from(
                    RuntimeError::DeadlineExceeded {
                        component: this.component.clone(),
                    },
                ))))),
                Poll::Pending if this.drained.as_mut().poll(cx).is_ready() => {
                    Poll::Ready(Some(Ok(this.fail(drain::cut_short()))))
                }
                Poll::Pending => match this.keep_alive.poll_tick(cx) {
                    Poll::Ready(_) => {
                        Poll::Ready(Some(Ok(Bytes::from_static(b": keep-alive\n\n"))))
                    }
                    Poll::Pending => Poll::Pending,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_one_event_per_blank_line() {
        let f = frame_with_id(1, "stream.chunk\nx", &serde_json::json!({"text": "a\nb"}));
        assert_eq!(
            std::str::from_utf8(&f).unwrap(),
            "id: 1\nevent: stream.chunkx\ndata: {\"text\":\"a\\nb\"}\n\n"
        );
    }

    #[test]
    fn frames_with_an_id_name_it_first() {
        let f = frame_with_id(42, "done", &serde_json::json!({"ok": true}));
        assert_eq!(
            std::str::from_utf8(&f).unwrap(),
            "id: 42\nevent: done\ndata: {\"ok\":true}\n\n"
        );
    }

    #[test]
    fn envelope_frames_are_the_envelope_as_json() {
        let env = woodwork_runtime::Envelope::new(
            std::sync::Arc::from("s1"),
            woodwork_runtime::EventType::StreamChunk,
            std::sync::Arc::new(serde_json::json!({"chunk": "a\nb"})),
            std::sync::Arc::from("model"),
        );
        assert_eq!(
            envelope_frame(&env),
            frame_with_id(env.event_id(), "stream.chunk", &env)
        );
    }

    #[test]
    fn data_that_cannot_be_json_is_null_not_a_broken_frame() {
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), "tuple keys are not JSON object keys");
        let f = frame_with_id(2, "x", &bad);
        assert_eq!(
            std::str::from_utf8(&f).unwrap(),
            "id: 2\nevent: x\ndata: null\n\n"
        );
    }
}
