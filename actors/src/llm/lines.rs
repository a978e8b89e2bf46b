//! Bounded line framing of a streamed HTTP body, shared by SSE (OpenAI, Claude) and NDJSON (Ollama):
//! a provider that never sends a newline, or sends a huge line, gets a protocol error instead of
//! growing our memory without bound.

use super::{ModelError, ModelErrorKind};

/// Default cap on one line: far above any real token event, far below a memory problem.
pub const DEFAULT_MAX_LINE: usize = 1024 * 1024;

/// Splits incoming byte chunks into lines (`\n`, `\r\n` or a lone `\r` end a line), keeping at most
/// `max_line` bytes of an unfinished line.
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    max_line: usize,
    /// A `\r` ended the previous chunk: a `\n` starting the next one belongs to it.
    pending_cr: bool,
}

impl LineSplitter {
    /// A splitter refusing lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            max_line,
            pending_cr: false,
        }
    }

    /// Feeds one chunk and calls `on_line` for every line it completes (without its terminator).
    pub fn feed(
        &mut self,
        mut chunk: &[u8],
        mut on_line: impl FnMut(&[u8]) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        if self.pending_cr {
            self.pending_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        // memchr looks at a word at a time; a byte-by-byte scan was most of a token's line framing.
        while let Some(pos) = memchr::memchr2(b'\n', b'\r', chunk) {
            let (line, rest) = chunk.split_at(pos);
            let is_cr = rest[0] == b'\r';
            let mut rest = &rest[1..];
            if is_cr {
                if rest.is_empty() {
                    self.pending_cr = true;
                } else if rest[0] == b'\n' {
                    rest = &rest[1..];
                }
            }
            if self.buf.is_empty() {
                self.check_len(line.len())?;
                on_line(line)?;
            } else {
                self.check_len(self.buf.len() + line.len())?;
                self.buf.extend_from_slice(line);
                let whole = std::mem::take(&mut self.buf);
                on_line(&whole)?;
                self.buf = whole;
                self.buf.clear();
            }
            chunk = rest;
        }
        self.check_len(self.buf.len() + chunk.len())?;
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// The unterminated last line, if the body ended without a newline.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        if self.buf.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.buf))
        }
    }

    fn check_len(&self, len: usize) -> Result<(), ModelError> {
        if len > self.max_line {
            Err(ModelError::new(
                ModelErrorKind::Protocol,
                format!(
                    "the provider sent a line longer than {} bytes; refusing to buffer it",
                    self.max_line
                ),
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> Result<Vec<String>, ModelError> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l| {
                out.push(String::from_utf8_lossy(l).into_owned());
                Ok(())
            })?;
        }
        if let Some(l) = s.finish() {
            out.push(String::from_utf8_lossy(&l).into_owned());
        }
        Ok(out)
    }

    #[test]
    fn splits_across_chunks_and_terminators() {
        let got = split(&[b"ab", b"c\r", b"\nd\re\n\nf"], 100).unwrap();
        assert_eq!(got, ["abc", "d", "e", "", "f"]);
    }

    #[test]
    fn refuses_overlong_line() {
        let err = split(&[b"0123", b"456789"], 8).unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Protocol);
    }
}
