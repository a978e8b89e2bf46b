//! Server-sent events decoding (the WHATWG `text/event-stream` format) on top of [`LineSplitter`],
//! so OpenAI-style `data:` streams and Anthropic's named `event:` streams share one parser.

use super::lines::LineSplitter;
use super::ModelError;

/// One dispatched event: its `event:` name (None means the default "message") and joined `data:`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; Anthropic names every event, OpenAI none.
    pub event: Option<String>,
    /// All `data:` lines of the event, joined with `\n`.
    pub data: String,
}

/// Incremental decoder: feed body chunks, get complete events.
#[derive(Debug)]
pub struct SseDecoder {
    lines: LineSplitter,
    event: Option<String>,
    data: String,
    has_data: bool,
    max_event: usize,
}

impl SseDecoder {
    /// `max_line` bounds one line and also one event's accumulated data.
    pub fn new(max_line: usize) -> Self {
        SseDecoder {
            lines: LineSplitter::new(max_line),
            event: None,
            data: String::new(),
            has_data: false,
            max_event: max_line,
        }
    }

    /// Feeds a chunk and appends every event it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), ModelError> {
        let SseDecoder {
            lines,
            event,
            data,
            has_data,
            max_event,
        } = self;
        lines.feed(chunk, |line| {
            if line.is_empty() {
                if *has_data {
                    out.push(SseEvent {
                        event: event.take(),
                        data: std::mem::take(data),
                    });
                    *has_data = false;
                } else {
                    *event = None;
                }
                return Ok(());
            }
            if line[0] == b':' {
                return Ok(());
            }
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(i) => {
                    let v = &line[i + 1..];
                    (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
                }
                None => (line, &b""[..]),
            };
            match field {
                b"data" => {
                    if *has_data {
                        data.push('\n');
                    }
                    // Valid UTF-8 (every real provider) is checked with the fast ASCII path of
                    // `from_utf8`; only a broken one pays for the lossy repair.
                    match std::str::from_utf8(value) {
                        Ok(text) => data.push_str(text),
                        Err(_) => data.push_str(&String::from_utf8_lossy(value)),
                    }
                    *has_data = true;
                    if data.len() > *max_event {
                        return Err(ModelError::new(
                            super::ModelErrorKind::Protocol,
                            format!("the provider sent an event larger than {max_event} bytes"),
                        ));
                    }
                }
                b"event" => *event = Some(String::from_utf8_lossy(value).into_owned()),
                _ => {}
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_named_and_multiline_events() {
        let mut d = SseDecoder::new(1024);
        let mut out = Vec::new();
        d.feed(b": ping\n\nevent: a\ndata: 1\ndata:2\n\nda", &mut out)
            .unwrap();
        d.feed(b"ta: {\"x\":1}\r\n\r\n", &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                SseEvent {
                    event: Some("a".into()),
                    data: "1\n2".into()
                },
                SseEvent {
                    event: None,
                    data: "{\"x\":1}".into()
                }
            ]
        );
    }
}
