//! `output console`: a live view of streamed turns on stdout. Streamed answers are printed chunk by
//! chunk as they arrive (flushed), with a newline when the stream ends; the assembled answer that
//! follows is then not printed again; a streamed turn's unstreamed result is printed whole. Every
//! result is logged and returned as the branch's terminal output.

use super::work::{Produced, Work};
use crate::envelope::{Envelope, EventType, MessageId};
use std::collections::VecDeque;
use std::io::Write;

/// Streams remembered at once (streams whose final answer never came are forgotten first).
const OPEN_STREAMS: usize = 64;

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
                print!("{text}");
                let _ = std::io::stdout().flush();
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
                if env
                    .correlation_id
                    .is_some_and(|id| self.printed.contains(&id))
                {
                    println!();
                }
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
                    println!("{text}");
                    let _ = std::io::stdout().flush();
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
