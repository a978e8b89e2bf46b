//! Pull-style event streams over an answer body: SSE events (OpenAI, Claude) and NDJSON lines
//! (Ollama), so each provider's streaming code is a plain `while let Some(..) = next().await` loop.

use super::http::BodyReader;
use super::lines::LineSplitter;
use super::sse::{SseDecoder, SseEvent};
use super::ModelError;
use std::collections::VecDeque;

/// SSE events of one answer.
pub struct SseStream {
    body: BodyReader,
    decoder: SseDecoder,
    ready: VecDeque<SseEvent>,
    scratch: Vec<SseEvent>,
}

impl SseStream {
    /// Decodes `body` as SSE, refusing lines over `max_line` bytes.
    pub fn new(body: BodyReader, max_line: usize) -> Self {
        SseStream {
            body,
            decoder: SseDecoder::new(max_line),
            ready: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// The next complete event, or None when the body ended (an unfinished event is dropped).
    pub async fn next(&mut self) -> Result<Option<SseEvent>, ModelError> {
        loop {
            if let Some(ev) = self.ready.pop_front() {
                return Ok(Some(ev));
            }
            let Some(chunk) = self.body.next().await? else {
                return Ok(None);
            };
            self.decoder.feed(&chunk, &mut self.scratch)?;
            self.ready.extend(self.scratch.drain(..));
        }
    }
}

/// Non-empty lines of one newline-delimited answer.
pub struct LineStream {
    body: BodyReader,
    splitter: LineSplitter,
    ready: VecDeque<Vec<u8>>,
    done: bool,
}

impl LineStream {
    /// Splits `body` into lines, refusing lines over `max_line` bytes.
    pub fn new(body: BodyReader, max_line: usize) -> Self {
        LineStream {
            body,
            splitter: LineSplitter::new(max_line),
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// The next non-empty line (a final line without newline included), or None at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, ModelError> {
        loop {
            if let Some(line) = self.ready.pop_front() {
                return Ok(Some(line));
            }
            if self.done {
                return Ok(None);
            }
            let ready = &mut self.ready;
            match self.body.next().await? {
                Some(chunk) => self.splitter.feed(&chunk, |line| {
                    if !line.iter().all(u8::is_ascii_whitespace) {
                        ready.push_back(line.to_vec());
                    }
                    Ok(())
                })?,
                None => {
                    self.done = true;
                    if let Some(last) = self.splitter.finish() {
                        if !last.iter().all(u8::is_ascii_whitespace) {
                            ready.push_back(last);
                        }
                    }
                }
            }
        }
    }
}
