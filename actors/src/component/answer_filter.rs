//! Which of an agent's streamed text is the answer (DESIGN.md §4 "Streaming": the joined
//! `stream.chunk` texts equal the final answer). The text after `Final Answer:` streams as it
//! arrives; a step with `Action:` streams nothing; a reply in no format at all is held back until
//! the model's reply ends — only then is it known that no `Action:` or `Final Answer:` follows —
//! and is then sent in the pieces it arrived in.

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing decides yet: pieces are held back.
    #[default]
    Undecided,
    /// After `Final Answer:`.
    Answer,
    /// An action step: nothing for the user.
    Suppress,
}

/// Feeds on text deltas, gives back the pieces to stream.
#[derive(Debug, Default)]
pub struct AnswerFilter {
    /// The reply so far while undecided.
    buf: String,
    /// Where each held-back delta ends in `buf`, to send them as they came.
    cuts: Vec<usize>,
    mode: Mode,
    started: bool,
    /// Trailing whitespace of the answer so far: sent only if more text follows, because the
    /// final answer is trimmed.
    pending_ws: String,
}

const FINAL: &str = "Final Answer:";
const ACTION: &str = "Action:";

impl AnswerFilter {
    /// The part of `delta` to stream now, if any.
    pub fn push(&mut self, delta: &str) -> Option<String> {
        match self.mode {
            Mode::Suppress => None,
            Mode::Answer => self.answer_piece(delta),
            Mode::Undecided => {
                self.buf.push_str(delta);
                self.cuts.push(self.buf.len());
                let action = self.buf.find(ACTION);
                match self.buf.find(FINAL) {
                    Some(f) if action.is_none_or(|a| a > f) => {
                        self.mode = Mode::Answer;
                        let rest = self.buf[f + FINAL.len()..].to_string();
                        self.buf.clear();
                        self.cuts.clear();
                        self.answer_piece(&rest)
                    }
                    _ if action.is_some() => {
                        self.mode = Mode::Suppress;
                        self.buf.clear();
                        self.cuts.clear();
                        None
                    }
                    _ => None,
                }
            }
        }
    }

    /// What is left to stream when the reply ended without a tool call: a reply that never
    /// decided (no format, or a thought with neither action nor answer) is the answer itself,
    /// sent in the pieces it arrived in.
    pub fn finish(&mut self) -> Vec<String> {
        if self.mode != Mode::Undecided || self.buf.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(self.cuts.len());
        let mut from = 0;
        for &to in &self.cuts {
            if to > from {
                out.push(self.buf[from..to].to_string());
            }
            from = to;
        }
        self.buf.clear();
        self.cuts.clear();
        out
    }

    fn answer_piece(&mut self, s: &str) -> Option<String> {
        let s = if self.started { s } else { s.trim_start() };
        if s.is_empty() {
            return None;
        }
        let body = s.trim_end();
        if body.is_empty() {
            self.pending_ws.push_str(s);
            return None;
        }
        self.started = true;
        let mut out = std::mem::take(&mut self.pending_ws);
        out.push_str(body);
        self.pending_ws.push_str(&s[body.len()..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> String {
        let mut f = AnswerFilter::default();
        let mut out: String = chunks.iter().filter_map(|c| f.push(c)).collect();
        out.extend(f.finish());
        out
    }

    #[test]
    fn streams_only_the_final_answer() {
        assert_eq!(
            run(&["Thought: ", "easy\nFinal ", "Answer: ", "forty ", "two\n"]),
            "forty two"
        );
    }

    #[test]
    fn suppresses_action_steps() {
        assert_eq!(
            run(&["Thought: look\n", "Action: {\"tool\": ", "\"x\"}"]),
            ""
        );
    }

    #[test]
    fn a_step_without_thought_streams_nothing() {
        // The reply that used to leak: no `Thought:` first, then an action.
        assert_eq!(
            run(&["I will ", "look it up.\n", "Action: {\"tool\": \"t\"}"]),
            ""
        );
        assert_eq!(run(&["Sure.\n", "Final Answer: ", "42"]), "42");
    }

    #[test]
    fn plain_replies_stream_whole_in_their_pieces() {
        assert_eq!(run(&["echo: ", "hello ", "there"]), "echo: hello there");
        let mut f = AnswerFilter::default();
        assert_eq!(f.push("a "), None);
        assert_eq!(f.push("b"), None);
        assert_eq!(f.finish(), vec!["a ".to_string(), "b".to_string()]);
        assert_eq!(run(&["hi"]), "hi");
    }

    #[test]
    fn joined_pieces_equal_the_parsed_answer() {
        use crate::component::agent::parse_reply;
        for reply in [
            "Thought: x\nFinal Answer:  the answer  \n",
            "plain text answer",
            "Thought: only a thought",
            "Preamble\nFinal Answer: y",
        ] {
            // Split into 3-byte deltas at char boundaries.
            let mut deltas = Vec::new();
            let mut start = 0;
            while start < reply.len() {
                let mut end = (start + 3).min(reply.len());
                while !reply.is_char_boundary(end) {
                    end += 1;
                }
                deltas.push(&reply[start..end]);
                start = end;
            }
            let p = parse_reply(reply);
            let expected = p.final_answer.unwrap_or_else(|| reply.to_string());
            assert_eq!(run(&deltas), expected, "{reply:?}");
        }
    }
}
