//! `output console`: a live view of streamed turns on stdout. Streamed answers are printed chunk by
//! chunk as they arrive (flushed), with a newline when the stream ends; the assembled answer that
//! follows is then not printed again; a streamed turn's unstreamed result is printed whole. Every
//! result is logged and returned as the branch's terminal output.
//!
//! A streamed answer's line stays open between chunks. Whatever else writes to the terminal first
//! ends it: another answer, or a log line (the log writer calls [`end_line_then`]), so a stream
//! that is cancelled mid-answer never glues itself onto the next line of stdout or stderr.

use super::work::{Produced, Work};
use crate::envelope::{Envelope, EventType, MessageId};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::io::Write;

/// Streams remembered at once (streams whose final answer never came are forgotten first).
const OPEN_STREAMS: usize = 64;

/// `Some(stream)` while the last line on stdout is a streamed answer without its newline (the
/// stream's correlation id, which a stray chunk may lack). One for the process: every console and
/// the log writer share the terminal.
static OPEN_LINE: Mutex<Option<Option<MessageId>>> = Mutex::new(None);

/// Runs `write` (output to stderr or stdout by someone other than a console stream) after ending
/// a streamed answer's open line, with consoles held off until it is done, so the two never
/// share a line.
pub fn end_line_then<R>(write: impl FnOnce() -> R) -> R {
    let mut open = OPEN_LINE.lock();
    if open.take().is_some() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\n").and_then(|_| out.flush());
    }
    write()
}

/// Prints a piece of stream `id`'s answer on the open line (ending another stream's line first).
fn print_piece(id: Option<MessageId>, text: &str) {
    if text.is_empty() {
        return;
    }
    let mut open = OPEN_LINE.lock();
    let mut out = std::io::stdout().lock();
    if open.is_some_and(|o| o != id) {
        let _ = out.write_all(b"\n");
    }
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    *open = if text.ends_with('\n') { None } else { Some(id) };
}

/// Ends stream `id`'s line if it is the open one (its stream completed, failed or was cut).
fn end_stream(id: Option<MessageId>) {
    let mut open = OPEN_LINE.lock();
    if *open == Some(id) {
        *open = None;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\n").and_then(|_| out.flush());
    }
}

/// Prints a whole answer on a line of its own.
fn print_line(text: &str) {
    end_line_then(|| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}").and_then(|_| out.flush());
    });
}

/// The console's state: which messages' answers were already printed as chunks.
#[derive(Default)]
pub struct Console {
    /// Correlation ids (the producing component's input message) of printed streams.
    printed: VecDeque<MessageId>,
}

impl Console {
    pub fn handle(&mut self, env: &Envelope, component: &str) -> Work {
        match env.event_type {
            EventType::StreamChunk => {
                let text = env
                    .payload
                    .get("chunk")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default();
                print_piece(env.correlation_id, text);
                if let Some(id) = env.correlation_id {
                    if !self.printed.contains(&id) {
                        if self.printed.len() >= OPEN_STREAMS {
                            self.printed.pop_front();
                        }
                        self.printed.push_back(id);
                    }
                }
                Work::Now(Ok(quiet(env)))
            }
            EventType::StreamCompleted | EventType::StreamFailed => {
                end_stream(env.correlation_id);
                Work::Now(Ok(quiet(env)))
            }
            _ => {
                let streamed = env.correlation_id.and_then(|id| {
                    self.printed
                        .iter()
                        .position(|p| *p == id)
                        .map(|i| self.printed.remove(i))
                });
                let text = env.text();
                // A streamed turn (`run`, SSE) is a live view: print it. Plain requests and bulk
                // loads only log, so a busy server never waits on stdout.
                let live = env.reply.as_ref().is_some_and(|r| r.events().is_some());
                if live && streamed.is_none() {
                    print_line(&text);
                }
                tracing::info!(target: "woodwork::output", component, "{text}");
                Work::Now(Ok(Produced::shared(
                    EventType::ComponentResponse,
                    env.payload.clone(),
                )))
            }
        }
    }
}

/// Stream pieces end here: no hooks, no routing.
fn quiet(env: &Envelope) -> Produced {
    let mut p = Produced::shared(env.event_type, env.payload.clone());
    p.announce = false;
    p
}
