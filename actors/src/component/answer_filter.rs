//! Which of an agent's streamed text is the answer: a step that turns out to be `Thought:` +
//! `Action:` is not streamed to the user; the text after `Final Answer:` is, as it arrives; a
//! reply in no format at all (a plain answer) is streamed whole.

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    #[default]
    Undecided,
    /// No format: everything is the answer.
    Plain,
    /// After `Final Answer:`.
    Answer,
    /// An action step: nothing for the user.
    Suppress,
}

/// Feeds on text deltas, gives back the pieces to stream.
#[derive(Debug, Default)]
pub struct AnswerFilter {
    buf: String,
    mode: Mode,
    started: bool,
}

const MARKERS: [&str; 3] = ["Thought:", "Action:", "Final Answer:"];

impl AnswerFilter {
    /// The part of `delta` to stream now, if any.
    pub fn push(&mut self, delta: &str) -> Option<String> {
        match self.mode {
            Mode::Suppress => None,
            Mode::Plain => Some(delta.to_string()),
            Mode::Answer => self.answer_piece(delta.to_string()),
            Mode::Undecided => {
                self.buf.push_str(delta);
                if let Some(i) = self.buf.find("Final Answer:") {
                    if self.buf[..i].contains("Action:") {
                        self.mode = Mode::Suppress;
                        return None;
                    }
                    self.mode = Mode::Answer;
                    let rest = self.buf[i + "Final Answer:".len()..].to_string();
                    self.buf.clear();
                    return self.answer_piece(rest);
                }
                if self.buf.contains("Action:") {
                    self.mode = Mode::Suppress;
                    self.buf.clear();
                    return None;
                }
                let t = self.buf.trim_start();
                let formatted = MARKERS.iter().any(|m| t.starts_with(m) || m.starts_with(t));
                if !formatted && !t.is_empty() {
                    self.mode = Mode::Plain;
                    return Some(std::mem::take(&mut self.buf));
                }
                None
            }
        }
    }

    /// What is left to stream when the reply ended without a tool call: an undecided reply (a
    /// thought and no action or answer) is the answer itself.
    pub fn finish(&mut self) -> Option<String> {
        match self.mode {
            Mode::Undecided if !self.buf.is_empty() => Some(std::mem::take(&mut self.buf)),
            _ => None,
        }
    }

    fn answer_piece(&mut self, s: String) -> Option<String> {
        if self.started {
            return Some(s);
        }
        let t = s.trim_start();
        if t.is_empty() {
            return None;
        }
        self.started = true;
        Some(t.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> String {
        let mut f = AnswerFilter::default();
        let mut out: String = chunks.iter().filter_map(|c| f.push(c)).collect();
        if let Some(rest) = f.finish() {
            out.push_str(&rest);
        }
        out
    }

    #[test]
    fn streams_only_the_final_answer() {
        assert_eq!(
            run(&["Thought: ", "easy\nFinal ", "Answer: ", "forty ", "two"]),
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
    fn plain_replies_stream_whole() {
        assert_eq!(run(&["echo: ", "hello ", "there"]), "echo: hello there");
        assert_eq!(run(&["hi"]), "hi");
    }
}
