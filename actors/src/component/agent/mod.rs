//! `agent llm`: woodwork's tool-using loop. Each step sends the conversation to the agent's model
//! (through the llm component's circuit breaker); the model answers `Thought:` + `Action: {json}`
//! or a native tool call — the tool component is called by the router's request/reply and its
//! observation fed back — or `Final Answer:` (streamed as it is generated), at most `max_steps`
//! steps. Malformed actions and unknown tools come back to the model as observations. `ask_user`
//! pauses the turn: the question is the turn's output and the session's next input resumes the loop.

pub mod error;
pub mod parse;
pub mod prompt;
pub mod tools;

use super::backends::Knowledge;
use super::events::Emitter;
use super::model_breaker::through_breaker;
use super::retrieval;
use super::stream::{call_model, console_routes, StreamTo};
use super::work::{Failure, Produced, Work};
use crate::cell::ComponentCell;
use crate::envelope::{Envelope, EventType};
use crate::llm::{ChatMessage, ChatModel, ChatRequest, Role, ToolCall, ToolSpec};
use crate::memory::MemoryRef;
use crate::services::Services;
use crate::session::Paused;
pub use error::AgentError;
pub use parse::parse_reply;
use serde_json::json;
use std::sync::Arc;
use tools::{Tools, ASK_USER};
use woodwork_parser::spec::Spec;

/// Default step limit.
pub const DEFAULT_MAX_STEPS: usize = woodwork_parser::schema::defaults::AGENT_MAX_STEPS as usize;

/// The system prompt and native tool specs as last rendered, with the tool list they came from.
struct Rendered {
    catalogue: String,
    system: Arc<str>,
    specs: Arc<Vec<ToolSpec>>,
}

/// What every turn of one agent shares (built once per behaviour).
struct Shared {
    name: Arc<str>,
    model: Arc<dyn ChatModel>,
    model_cell: Arc<ComponentCell>,
    tools: Tools,
    template: String,
    planning: bool,
    rendered: parking_lot::Mutex<Rendered>,
    knowledge: Option<Knowledge>,
    max_steps: usize,
    streaming: bool,
    memory: Option<MemoryRef>,
    consoles: Arc<[usize]>,
    services: Arc<Services>,
}

/// An agent's configuration, rebuilt on restart; each message runs the loop in a spawned future.
pub struct AgentBehaviour {
    shared: Arc<Shared>,
}

impl AgentBehaviour {
    pub fn new(
        cell: &Arc<ComponentCell>,
        services: &Arc<Services>,
    ) -> Result<AgentBehaviour, AgentError> {
        let spec = &cell.spec;
        let agent = || spec.name.to_string();
        let a = match spec.spec()? {
            Spec::Agent(a) => a,
            _ => return Err(AgentError::MissingModel { agent: agent() }),
        };
        let model_name = a
            .model
            .as_deref()
            .ok_or_else(|| AgentError::MissingModel { agent: agent() })?;
        let model_cell = services
            .router
            .lookup(model_name)
            .filter(|c| c.model.is_some())
            .cloned()
            .ok_or_else(|| AgentError::NotAModel {
                agent: agent(),
                model: model_name.to_string(),
            })?;
        let model = model_cell
            .model
            .clone()
            .ok_or_else(|| AgentError::NoClient {
                agent: agent(),
                model: model_name.to_string(),
            })?;
        if a.tools.iter().any(|n| n == &spec.name) {
            return Err(AgentError::OwnTool { agent: agent() });
        }
        let tools = Tools::resolve(&spec.name, &a.tools, &services.router)?;
        let max_steps = a
            .max_steps
            .filter(|n| *n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(DEFAULT_MAX_STEPS);
        let planning = a.planning;
        let template = prompt::template(spec, &services.base_dir)?;
        let catalogue = tools.catalogue();
        let rendered = Rendered {
            system: prompt::render(&template, &catalogue, planning).into(),
            specs: Arc::new(tools.specs()),
            catalogue,
        };
        // The agent's own knowledge base, else its model's.
        let knowledge = match retrieval::knowledge_of(spec, &services.router)? {
            Some(k) => Some(k),
            None => retrieval::knowledge_of(&model_cell.spec, &services.router)?,
        };
        // The agent's own memory, else its model's.
        let lookup = |n: &str| services.router.lookup(n).map(|c| &*c.spec);
        let memory = match MemoryRef::of(spec, lookup)? {
            Some(m) => Some(m),
            None => MemoryRef::of(&model_cell.spec, lookup)?,
        };
        Ok(AgentBehaviour {
            shared: Arc::new(Shared {
                name: cell.name.clone(),
                model,
                model_cell,
                tools,
                template,
                planning,
                rendered: parking_lot::Mutex::new(rendered),
                knowledge,
                max_steps,
                streaming: spec.streaming.unwrap_or(true),
                memory,
                consoles: console_routes(cell, services),
                services: services.clone(),
            }),
        })
    }

    /// Runs (or resumes) the loop for one input.
    pub fn handle(&mut self, env: &Envelope, cell: &Arc<ComponentCell>) -> Work {
        let shared = self.shared.clone();
        let emitter = Emitter::new(cell.clone(), shared.services.clone(), env.clone());
        let parent = env.clone();
        Work::Later(Box::pin(async move { run(shared, emitter, parent).await }))
    }
}

impl Shared {
    /// The system prompt and tool specs for this turn: re-rendered only when a tool's
    /// description changed (an MCP server came back with other tools).
    fn prompt(&self) -> (Arc<str>, Arc<Vec<ToolSpec>>) {
        if self.tools.is_dynamic() {
            let catalogue = self.tools.catalogue();
            let mut r = self.rendered.lock();
            if r.catalogue != catalogue {
                r.system = prompt::render(&self.template, &catalogue, self.planning).into();
                r.specs = Arc::new(self.tools.specs());
                r.catalogue = catalogue;
            }
            return (r.system.clone(), r.specs.clone());
        }
        let r = self.rendered.lock();
        (r.system.clone(), r.specs.clone())
    }
}

/// Where the loop starts: fresh, or resumed after `ask_user` with the user's answer.
async fn begin(
    s: &Shared,
    parent: &Envelope,
    emitter: &Emitter,
    system: &str,
) -> (Vec<ChatMessage>, usize, String) {
    let text = parent.text();
    let in_turn = parent.reply.as_ref().is_some_and(|r| r.turn().is_some());
    if in_turn {
        if let Some(p) = s.services.sessions.resume(&parent.session_id, &s.name) {
            let mut messages = p.messages;
            emitter.emit(
                EventType::ToolObservation,
                || json!({ "tool": ASK_USER, "observation": text, "step": p.step }),
            );
            push_observation(&mut messages, &p.call, p.native, &text);
            emitter.emit(EventType::AgentStepComplete, || json!({ "step": p.step }));
            return (messages, p.step + 1, p.input);
        }
    }
    let mut messages = Vec::with_capacity(4);
    messages.push(ChatMessage::new(Role::System, system));
    if let Some(kb) = &s.knowledge {
        messages.extend(retrieval::context_message(kb, &s.name, &text).await);
    }
    if let Some(m) = &s.memory {
        messages.extend(s.services.memory().recall(parent, m).await);
    }
    messages.push(ChatMessage::new(Role::User, text.clone()));
    (messages, 1, text)
}

fn push_observation(messages: &mut Vec<ChatMessage>, call: &ToolCall, native: bool, obs: &str) {
    if native {
        let mut m = ChatMessage::new(Role::Tool, obs);
        m.tool_call_id = Some(call.id.clone());
        messages.push(m);
    } else {
        messages.push(ChatMessage::new(Role::User, format!("Observation: {obs}")));
    }
}

async fn run(s: Arc<Shared>, emitter: Emitter, parent: Envelope) -> Result<Produced, Failure> {
    let (system, specs) = s.prompt();
    let (mut messages, first, input) = begin(&s, &parent, &emitter, &system).await;
    let stream_to = StreamTo::for_message(&parent, s.streaming, &s.services, &s.consoles);
    let can_ask = parent.reply.as_ref().is_some_and(|r| r.turn().is_some());
    for step in first..=s.max_steps {
        let request = ChatRequest {
            messages: messages.clone(),
            tools: (*specs).clone(),
        };
        let call = call_model(
            s.model.clone(),
            request,
            &parent,
            &s.name,
            stream_to.as_ref(),
            true,
        );
        let resp = match through_breaker(&s.model_cell, &*s.services.bus, call).await {
            Ok(r) => r,
            Err(f) => {
                emitter.emit(
                    EventType::AgentError,
                    || json!({ "error": f.to_string(), "step": step }),
                );
                return Err(f);
            }
        };
        let mut parsed = parse_reply(&resp.text);
        let native = !resp.tool_calls.is_empty();
        if native && parsed.thought.is_empty() {
            // Text next to a native tool call is the model's reasoning.
            let t = resp.text.trim();
            parsed.thought = t.strip_prefix("Thought:").unwrap_or(t).trim().to_string();
        }
        if !parsed.thought.is_empty() {
            emitter.emit(
                EventType::AgentThought,
                || json!({ "thought": parsed.thought, "step": step }),
            );
        }
        let calls: Vec<ToolCall> = if native {
            resp.tool_calls.clone()
        } else {
            parsed.action.clone().into_iter().collect()
        };
        if calls.is_empty() {
            if let Some(problem) = &parsed.malformed {
                let observation = format!("error: {problem}");
                emitter.emit(
                    EventType::ToolObservation,
                    || json!({ "tool": null, "observation": observation, "step": step }),
                );
                messages.push(ChatMessage::new(Role::Assistant, resp.text));
                messages.push(ChatMessage::new(
                    Role::User,
                    format!("Observation: {observation}"),
                ));
                emitter.emit(EventType::AgentStepComplete, || json!({ "step": step }));
                continue;
            }
            let answer = parsed.final_answer.unwrap_or(resp.text);
            return Ok(finish(&s, &emitter, &parent, &input, answer, step).await);
        }
        let mut said = ChatMessage::new(Role::Assistant, resp.text.clone());
        if native {
            said.tool_calls = calls.clone();
        }
        messages.push(said);
        for (i, call) in calls.iter().enumerate() {
            emitter.emit(EventType::AgentAction, || {
                json!({
                    "action": { "tool": call.tool, "action": call.action, "inputs": call.inputs },
                    "tool": call.tool,
                    "args": call.inputs,
                    "step": step
                })
            });
            emitter.emit(EventType::ToolCall, || {
                json!({ "tool": call.tool, "action": call.action, "args": call.inputs, "step": step })
            });
            if call.tool == ASK_USER && can_ask {
                // Calls after the question cannot run before the user answers: say so.
                for later in &calls[i + 1..] {
                    push_observation(
                        &mut messages,
                        later,
                        native,
                        "not run: you asked the user first; call it again if still needed",
                    );
                }
                let question = tools::question(call);
                s.services.sessions.pause(
                    &parent.session_id,
                    &s.name,
                    Paused {
                        messages,
                        step,
                        call: call.clone(),
                        native,
                        input,
                    },
                );
                let mut produced = Produced::new(
                    EventType::AgentResponse,
                    json!({ "ask_user": question, "response": question }),
                );
                produced.announce = true;
                return Ok(produced);
            }
            let observation = if call.tool == ASK_USER {
                "error: ask_user is not available here (this agent runs as another agent's tool); answer with what you know".to_string()
            } else {
                s.tools.call(&s.services.router, call, &parent).await
            };
            emitter.emit(
                EventType::ToolObservation,
                || json!({ "tool": call.tool, "observation": observation, "step": step }),
            );
            push_observation(&mut messages, call, native, &observation);
        }
        emitter.emit(EventType::AgentStepComplete, || json!({ "step": step }));
    }
    let msg = format!(
        "agent `{}` stopped after {} steps without a final answer (raise `max_steps` or simplify the task)",
        s.name, s.max_steps
    );
    emitter.emit(
        EventType::AgentError,
        || json!({ "error": msg, "step": s.max_steps }),
    );
    Err(Failure::Error(msg))
}

/// The final answer: announced with woodwork's fields, remembered when the agent has memory.
async fn finish(
    s: &Shared,
    emitter: &Emitter,
    parent: &Envelope,
    input: &str,
    answer: String,
    step: usize,
) -> Produced {
    emitter.emit(
        EventType::AgentResponse,
        || json!({ "response": answer, "step": step }),
    );
    if let Some(m) = &s.memory {
        s.services.memory().record(parent, m, input, &answer).await;
    }
    let mut produced = Produced::new(EventType::AgentResponse, serde_json::Value::String(answer));
    produced.announce = false;
    produced
}
