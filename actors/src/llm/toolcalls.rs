//! Assembling native tool calls from provider pieces: arguments streamed as JSON text fragments
//! keyed by an index (OpenAI deltas, Anthropic `input_json_delta`), ids, and argument parsing.

use super::ToolCall;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The provider's id, or a fresh one when it sent none (Ollama), so tool results can refer to it.
pub fn call_id(id: Option<String>) -> String {
    match id {
        Some(id) if !id.is_empty() => id,
        _ => format!("call_{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Parses a model's argument text; empty means no arguments. Text that is not JSON is kept as a
/// string so the agent can show the model its mistake instead of the call failing.
pub fn parse_arguments(raw: &str) -> Json {
    let raw = raw.trim();
    if raw.is_empty() {
        return Json::Object(Default::default());
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Json::String(raw.to_owned()))
}

#[derive(Debug, Default)]
struct Partial {
    id: Option<String>,
    name: String,
    arguments: String,
    /// Complete arguments given up front (Anthropic's `content_block_start.input`).
    initial: Option<Json>,
}

/// Tool calls being streamed, by the provider's index, finished in index order.
#[derive(Debug, Default)]
pub struct ToolCallAccumulator {
    calls: BTreeMap<usize, Partial>,
}

impl ToolCallAccumulator {
    /// Starts or updates call `index` with whatever this piece carries.
    pub fn update(
        &mut self,
        index: usize,
        id: Option<&str>,
        name: Option<&str>,
        arguments: Option<&str>,
    ) {
        let call = self.calls.entry(index).or_default();
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            call.id = Some(id.to_owned());
        }
        if let Some(name) = name {
            call.name.push_str(name);
        }
        if let Some(args) = arguments {
            call.arguments.push_str(args);
        }
    }

    /// Records arguments that arrived whole rather than as text.
    pub fn set_initial(&mut self, index: usize, input: Json) {
        if !input.is_null() {
            self.calls.entry(index).or_default().initial = Some(input);
        }
    }

    /// Whether any tool call was seen.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The finished calls in index order.
    pub fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_values()
            .map(|p| {
                let inputs = match (p.arguments.trim().is_empty(), p.initial) {
                    (true, Some(initial)) => initial,
                    _ => parse_arguments(&p.arguments),
                };
                ToolCall {
                    id: call_id(p.id),
                    tool: p.name,
                    action: None,
                    inputs,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_fragments_by_index() {
        let mut acc = ToolCallAccumulator::default();
        acc.update(1, Some("b"), Some("two"), Some(""));
        acc.update(0, Some("a"), Some("one"), Some("{\"x\""));
        acc.update(0, None, None, Some(": 1}"));
        let calls = acc.finish();
        assert_eq!(calls[0].id, "a");
        assert_eq!(calls[0].inputs, serde_json::json!({"x": 1}));
        assert_eq!(calls[1].tool, "two");
        assert_eq!(calls[1].inputs, serde_json::json!({}));
    }
}
