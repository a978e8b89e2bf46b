//! `agent llm`: woodwork's tool-using loop. Sends the conversation to its model; a native tool call
//! or an `Action: {json}` line calls the tool component by request/reply and feeds the observation
//! back; `Final Answer: <text>` or a plain reply ends the loop (at most `max_steps` steps).

use super::cell::ComponentCell;
use super::events::Emitter;
use super::stream::call_model;
use super::work::{Failure, Produced, Work};
use crate::envelope::{payload_text, Envelope, EventType};
use crate::llm::{ChatMessage, ChatModel, ChatRequest, Role, ToolCall};
use crate::services::Services;
use serde_json::json;
use std::sync::Arc;

/// Default step limit.
pub const DEFAULT_MAX_STEPS: usize = 25;

/// An agent's configuration, rebuilt on restart; each message runs the loop in a spawned future.
pub struct AgentBehaviour {
    model: Arc<dyn ChatModel>,
    tools: Arc<[String]>,
    max_steps: usize,
    streaming: bool,
    services: Arc<Services>,
    system: Option<Arc<str>>,
    /// `memory: <memory component>` declared: the session's bounded conversation window is sent
    /// with each call and each answer is remembered (woodwork agents have memory only then).
    memory: bool,
}

impl AgentBehaviour {
    pub fn new(
        cell: &Arc<ComponentCell>,
        services: &Arc<Services>,
    ) -> Result<AgentBehaviour, String> {
        let spec = &cell.spec;
        let model_name = spec
            .prop("model")
            .and_then(|v| v.as_ref_name().or_else(|| v.as_str()))
            .ok_or_else(|| format!("agent `{}` needs `model: <an llm component>`", spec.name))?;
        let model = services
            .router
            .lookup(model_name)
            .and_then(|c| c.model.clone())
            .ok_or_else(|| {
                format!(
                    "agent `{}`: model `{model_name}` is not an llm component",
                    spec.name
                )
            })?;
        let tools: Vec<String> = spec
            .prop("tools")
            .and_then(|v| v.as_list())
            .map(|l| {
                l.iter()
                    .filter_map(|t| t.as_ref_name().or_else(|| t.as_str()).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let max_steps = spec
            .prop("max_steps")
            .and_then(|v| v.as_i64())
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_MAX_STEPS);
        let system = if tools.is_empty() {
            None
        } else {
            Some(Arc::from(format!(
                "You can use these tools: {}.\nAnswer in this format:\nThought: <your reasoning>\nAction: {{\"tool\": \"<tool>\", \"action\": \"<action>\", \"inputs\": {{...}}}}\nor, when done:\nFinal Answer: <answer>",
                tools.join(", ")
            )))
        };
        Ok(AgentBehaviour {
            model,
            tools: tools.into(),
            max_steps,
            streaming: spec.streaming.unwrap_or(true),
            services: services.clone(),
            system,
            memory: spec
                .prop("memory")
                .is_some_and(|v| !matches!(v, woodwork_parser::Value::Null)),
        })
    }

    /// Runs the loop for one input.
    pub fn handle(&mut self, env: &Envelope, cell: &Arc<ComponentCell>) -> Work {
        let model = self.model.clone();
        let tools = self.tools.clone();
        let max_steps = self.max_steps;
        let services = self.services.clone();
        let system = self.system.clone();
        let memory = self.memory;
        let stream_to = if self.streaming {
            env.reply
                .as_ref()
                .and_then(|r| r.turn())
                .filter(|t| t.events.is_some())
                .cloned()
        } else {
            None
        };
        let emitter = Emitter::new(cell.clone(), services.clone(), env.clone());
        let parent = env.clone();
        let name = cell.name.clone();
        Work::Later(Box::pin(async move {
            let input = parent.text();
            let mut messages = Vec::with_capacity(4);
            if let Some(s) = &system {
                messages.push(ChatMessage::new(Role::System, &**s));
            }
            if memory {
                messages.extend(services.sessions.history(&parent.session_id));
            }
            messages.push(ChatMessage::new(Role::User, input.clone()));
            for step in 1..=max_steps {
                // Without tools the loop ends after this call: hand the messages over, no copy.
                let messages_now = if tools.is_empty() {
                    std::mem::take(&mut messages)
                } else {
                    messages.clone()
                };
                let request = ChatRequest {
                    messages: messages_now,
                    tools: Vec::new(),
                };
                let resp = call_model(
                    model.clone(),
                    request,
                    parent.clone(),
                    name.clone(),
                    stream_to.clone(),
                )
                .await
                .map_err(|e| {
                    emitter.emit(
                        EventType::AgentError,
                        || json!({ "error": e.to_string(), "step": step }),
                    );
                    Failure::Model(e)
                })?;
                let parsed = parse_reply(&resp.text);
                if !parsed.thought.is_empty() {
                    emitter.emit(
                        EventType::AgentThought,
                        || json!({ "thought": parsed.thought, "step": step }),
                    );
                }
                let call = resp.tool_calls.first().cloned().or(parsed.action);
                if let Some(call) = call {
                    emitter.emit(EventType::AgentAction, || {
                        json!({ "tool": call.tool, "action": call.action, "inputs": call.inputs, "step": step })
                    });
                    emitter.emit(
                        EventType::ToolCall,
                        || json!({ "tool": call.tool, "action": call.action, "args": call.inputs }),
                    );
                    let observation = if tools.contains(&call.tool) {
                        let body = json!({ "action": call.action, "inputs": call.inputs });
                        match services.router.request(&call.tool, body, &parent).await {
                            Ok(v) => payload_text(&v),
                            Err(e) => format!("error: {e}"),
                        }
                    } else {
                        format!(
                            "error: unknown tool `{}`; available tools: {}",
                            call.tool,
                            tools.join(", ")
                        )
                    };
                    emitter.emit(
                        EventType::ToolObservation,
                        || json!({ "tool": call.tool, "observation": observation, "step": step }),
                    );
                    if messages.is_empty() {
                        // Handed over above (no tools declared): keep at least the question.
                        messages.push(ChatMessage::new(Role::User, input.clone()));
                    }
                    let mut said = ChatMessage::new(Role::Assistant, resp.text.clone());
                    said.tool_calls = vec![call.clone()];
                    messages.push(said);
                    let mut obs =
                        ChatMessage::new(Role::Tool, format!("Observation: {observation}"));
                    obs.tool_call_id = Some(call.id.clone());
                    messages.push(obs);
                    emitter.emit(EventType::AgentStepComplete, || json!({ "step": step }));
                    continue;
                }
                let answer = parsed.final_answer.unwrap_or(resp.text);
                emitter.emit(
                    EventType::AgentResponse,
                    || json!({ "response": answer, "step": step }),
                );
                if memory {
                    services.sessions.remember(
                        &parent.session_id,
                        [
                            ChatMessage::new(Role::User, input),
                            ChatMessage::new(Role::Assistant, answer.clone()),
                        ],
                    );
                }
                let mut produced =
                    Produced::new(EventType::AgentResponse, serde_json::Value::String(answer));
                produced.announce = false;
                return Ok(produced);
            }
            let msg =
                format!("agent `{name}` stopped after {max_steps} steps without a final answer");
            emitter.emit(EventType::AgentError, || json!({ "error": msg }));
            Err(Failure::Error(msg))
        }))
    }
}

/// A model reply in woodwork's Thought / Action / Final Answer format.
#[derive(Debug, Default, PartialEq)]
pub struct ParsedReply {
    pub thought: String,
    pub action: Option<ToolCall>,
    pub final_answer: Option<String>,
}

/// Reads `Thought:`, `Action: {json}` and `Final Answer:` out of a reply; plain text is neither.
pub fn parse_reply(text: &str) -> ParsedReply {
    let mut out = ParsedReply::default();
    let final_at = text.find("Final Answer:");
    let action_at = text.find("Action:");
    let cut = [final_at, action_at].into_iter().flatten().min();
    if let Some(cut) = cut {
        out.thought = text[..cut]
            .trim()
            .trim_start_matches("Thought:")
            .trim()
            .to_string();
    }
    if let Some(i) = final_at {
        out.final_answer = Some(text[i + "Final Answer:".len()..].trim().to_string());
        return out;
    }
    if let Some(i) = action_at {
        let rest = &text[i + "Action:".len()..];
        if let Some(start) = rest.find('{') {
            let mut de =
                serde_json::Deserializer::from_str(&rest[start..]).into_iter::<serde_json::Value>();
            if let Some(Ok(v)) = de.next() {
                let tool = v.get("tool").and_then(|t| t.as_str()).map(str::to_string);
                if let Some(tool) = tool {
                    out.action = Some(ToolCall {
                        id: format!("action_{}", crate::envelope::MessageId::next()),
                        tool,
                        action: v.get("action").and_then(|a| a.as_str()).map(str::to_string),
                        inputs: v
                            .get("inputs")
                            .or_else(|| v.get("args"))
                            .cloned()
                            .unwrap_or(serde_json::Value::Null),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_final_answer_and_thought() {
        let p = parse_reply("Thought: easy\nFinal Answer: 42");
        assert_eq!(p.thought, "easy");
        assert_eq!(p.final_answer.as_deref(), Some("42"));
    }

    #[test]
    fn parses_action_json() {
        let p = parse_reply("Thought: look it up\nAction: {\"tool\": \"search\", \"action\": \"get\", \"inputs\": {\"q\": 1}}");
        let a = p.action.unwrap();
        assert_eq!(a.tool, "search");
        assert_eq!(a.action.as_deref(), Some("get"));
        assert_eq!(a.inputs["q"], 1);
    }

    #[test]
    fn plain_text_is_neither() {
        let p = parse_reply("hello");
        assert_eq!(p, ParsedReply::default());
    }
}
