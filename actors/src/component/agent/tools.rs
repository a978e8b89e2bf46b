//! An agent's tools: the components named in `tools:` plus the built-in `ask_user`. Lists them for
//! the prompt and as native tool specs, and calls them through the router's request/reply. An
//! `llm` or `agent` used as a tool gets the action's inputs rendered as text.

use super::AgentError;
use crate::envelope::{payload_text, Envelope};
use crate::llm::{ToolCall, ToolSpec};
use crate::router::Router;
use serde_json::{json, Value as Json};
use std::sync::Arc;
use woodwork_parser::Kind;
use woodwork_tools::ToolBackend;

/// The built-in pseudo-tool that pauses the turn to ask the user.
pub const ASK_USER: &str = "ask_user";

/// Longest observation fed back to the model (a tool answering megabytes would blow the context).
pub const MAX_OBSERVATION: usize = 16 * 1024;

/// One tool component.
#[derive(Clone)]
pub struct Tool {
    pub name: String,
    pub kind: Kind,
    pub type_name: String,
    /// The `description:` the .ww gives, if any.
    explicit: Option<String>,
    /// The backend's own description (functions and their parameters, MCP tools), read at each
    /// use: an MCP server that restarts with other tools changes it.
    backend: Option<Arc<dyn ToolBackend>>,
}

impl Tool {
    /// What the model is told about this tool.
    pub fn description(&self) -> String {
        let own = self.backend.as_ref().map(|b| b.description());
        match (&self.explicit, own) {
            (Some(e), Some(o)) if !o.is_empty() => format!("{e}\n{o}"),
            (Some(e), _) => e.clone(),
            (None, Some(o)) if !o.is_empty() => o,
            (None, _) => default_description(self.kind, &self.type_name),
        }
    }

    /// `llm` and `agent` tools take text, not `{action, inputs}`.
    pub fn takes_text(&self) -> bool {
        matches!(self.kind, Kind::Llm | Kind::Agent)
    }
}

/// The tools of one agent.
#[derive(Clone, Default)]
pub struct Tools {
    pub tools: Vec<Tool>,
}

impl Tools {
    /// Resolves `names` to components; an unknown name is a start error.
    pub fn resolve(agent: &str, names: &[String], router: &Router) -> Result<Tools, AgentError> {
        let mut tools = Vec::with_capacity(names.len());
        for n in names {
            let cell = router.lookup(n).ok_or_else(|| AgentError::UnknownTool {
                agent: agent.to_string(),
                tool: n.clone(),
            })?;
            let spec = &cell.spec;
            tools.push(Tool {
                name: n.clone(),
                kind: spec.kind,
                type_name: spec.type_name.clone(),
                explicit: spec.prop_str("description").map(str::to_string),
                backend: cell.backends.tool.clone(),
            });
        }
        Ok(Tools { tools })
    }

    /// True when a description can change at run time (a tool has a backend).
    pub fn is_dynamic(&self) -> bool {
        self.tools.iter().any(|t| t.backend.is_some())
    }

    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Names, for "unknown tool" observations.
    pub fn names(&self) -> String {
        let mut n: Vec<&str> = self.tools.iter().map(|t| t.name.as_str()).collect();
        n.push(ASK_USER);
        n.join(", ")
    }

    /// The `{tools}` text of the prompt.
    pub fn catalogue(&self) -> String {
        let mut s = String::new();
        for t in &self.tools {
            let inputs = if t.takes_text() {
                r#"{"input": "<text>"}"#
            } else {
                r#"{"action": "<function or endpoint>", "inputs": {...}}"#
            };
            let description = t.description();
            let mut lines = description.lines();
            let first = lines.next().unwrap_or("").trim_end_matches('.');
            s.push_str(&format!(
                "- {} ({} {}): {first}. Inputs: {inputs}\n",
                t.name,
                t.kind.as_str(),
                t.type_name,
            ));
            for line in lines {
                s.push_str("    ");
                s.push_str(line);
                s.push('\n');
            }
        }
        s.push_str(&format!(
            "- {ASK_USER}: ask the user a question when only they can answer it. Inputs: {{\"question\": \"<question>\"}}\n"
        ));
        s
    }

    /// Native tool specs (for providers with tool calling).
    pub fn specs(&self) -> Vec<ToolSpec> {
        let mut specs: Vec<ToolSpec> = self
            .tools
            .iter()
            .map(|t| ToolSpec {
                name: t.name.clone(),
                description: t.description(),
                parameters: if t.takes_text() {
                    json!({
                        "type": "object",
                        "properties": { "input": { "type": "string", "description": "what to ask" } },
                        "required": ["input"]
                    })
                } else {
                    json!({
                        "type": "object",
                        "properties": {
                            "action": { "type": "string", "description": "function or endpoint, if the tool has several" },
                            "inputs": { "type": "object", "description": "the arguments" }
                        }
                    })
                },
            })
            .collect();
        specs.push(ToolSpec {
            name: ASK_USER.into(),
            description: "Ask the user a question when only they can answer it.".into(),
            parameters: json!({
                "type": "object",
                "properties": { "question": { "type": "string" } },
                "required": ["question"]
            }),
        });
        specs
    }

    /// Calls `call`'s tool and returns the observation text (errors become observations).
    pub async fn call(&self, router: &Router, call: &ToolCall, parent: &Envelope) -> String {
        let Some(tool) = self.get(&call.tool) else {
            return format!(
                "error: unknown tool `{}`; available tools: {}",
                call.tool,
                self.names()
            );
        };
        if call.inputs.is_null() {
            return format!(
                "error: malformed action: the call of `{}` has no \"inputs\"; write {{\"tool\": \"{}\", \"action\": \"<action>\", \"inputs\": {{...}}}} (use {{}} when the action takes no arguments)",
                tool.name, tool.name
            );
        }
        let body = if tool.takes_text() {
            let text = inputs_text(&call.inputs);
            if text.trim().is_empty() {
                return format!(
                    "error: malformed action: `{}` needs a request: give \"inputs\": {{\"input\": \"<text>\"}}",
                    tool.name
                );
            }
            Json::String(text)
        } else {
            let (action, inputs) = unpack(call);
            json!({ "action": action, "inputs": inputs })
        };
        let observation = match router.request(&tool.name, body, parent).await {
            Ok(v) => payload_text(&v),
            Err(e) => format!("error: tool `{}` failed: {e}", tool.name),
        };
        clip(observation)
    }
}

/// Native calls carry `{action, inputs}` as their arguments; text actions carry them apart.
fn unpack(call: &ToolCall) -> (Json, Json) {
    if call.action.is_none() {
        if let Some(m) = call.inputs.as_object() {
            if m.contains_key("inputs") || m.contains_key("action") {
                return (
                    m.get("action").cloned().unwrap_or(Json::Null),
                    m.get("inputs").cloned().unwrap_or(Json::Null),
                );
            }
        }
    }
    (
        call.action.clone().map(Json::String).unwrap_or(Json::Null),
        call.inputs.clone(),
    )
}

/// The question of an `ask_user` call.
pub fn question(call: &ToolCall) -> String {
    inputs_text(&call.inputs)
}

/// Action inputs as text for an llm / agent tool: a string as is, the one text field of an
/// object (`input`, `question`, `query`, `prompt`, `text`, or its only field), else JSON.
pub fn inputs_text(inputs: &Json) -> String {
    match inputs {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        Json::Object(m) => {
            for k in ["input", "question", "query", "prompt", "text", "message"] {
                if let Some(Json::String(s)) = m.get(k) {
                    return s.clone();
                }
            }
            if m.len() == 1 {
                if let Some(Json::String(s)) = m.values().next() {
                    return s.clone();
                }
            }
            inputs.to_string()
        }
        other => other.to_string(),
    }
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_OBSERVATION {
        let mut end = MAX_OBSERVATION;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(" …(truncated)");
    }
    s
}

fn default_description(kind: Kind, type_name: &str) -> String {
    match kind {
        Kind::Llm => "a language model; give it a self-contained request".into(),
        Kind::Agent => "another agent with its own tools; give it a self-contained task".into(),
        Kind::Api if type_name == "web" => "an HTTP API".into(),
        Kind::Api => "functions you can call".into(),
        Kind::KnowledgeBase => "a knowledge base to search".into(),
        Kind::Memory => {
            "this conversation's memory: action `read` gives the turns so far, `clear` forgets them"
                .into()
        }
        Kind::Mcp => "a Model Context Protocol server's tools".into(),
        other => format!("a {} {type_name} component", other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_render_as_text_for_model_tools() {
        assert_eq!(inputs_text(&json!("hi")), "hi");
        assert_eq!(inputs_text(&json!({"question": "why?"})), "why?");
        assert_eq!(inputs_text(&json!({"topic": "rust"})), "rust");
        assert_eq!(inputs_text(&json!({"a": 1, "b": 2})), r#"{"a":1,"b":2}"#);
    }

    #[test]
    fn native_arguments_unpack_to_action_and_inputs() {
        let call = ToolCall {
            id: "c".into(),
            tool: "t".into(),
            action: None,
            inputs: json!({"action": "get", "inputs": {"q": 1}}),
        };
        assert_eq!(unpack(&call), (json!("get"), json!({"q": 1})));
    }
}
