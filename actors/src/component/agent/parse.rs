//! Reading woodwork's reply format: `Thought: …`, then `Action: {"tool", "action", "inputs",
//! "output"}` or `Final Answer: …`. A malformed action is reported (to be fed back to the model as
//! an observation), never an error of the agent.

use crate::llm::ToolCall;

/// A model reply in woodwork's Thought / Action / Final Answer format.
#[derive(Debug, Default, PartialEq)]
pub struct ParsedReply {
    pub thought: String,
    pub action: Option<ToolCall>,
    /// `Action:` was there but unreadable: what was wrong, for the model to correct.
    pub malformed: Option<String>,
    pub final_answer: Option<String>,
}

const ACTION_SHAPE: &str =
    r#"{"tool": "<tool name>", "action": "<action>", "inputs": {...}} on one line"#;

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
    // An action written before a final answer wins: the model must see the observation first.
    let action_first = match (action_at, final_at) {
        (Some(a), Some(f)) => a < f,
        (Some(_), None) => true,
        _ => false,
    };
    if !action_first {
        if let Some(i) = final_at {
            out.final_answer = Some(text[i + "Final Answer:".len()..].trim().to_string());
        }
        return out;
    }
    let Some(i) = action_at else {
        return out;
    };
    let rest = &text[i + "Action:".len()..];
    let Some(start) = rest.find('{') else {
        out.malformed = Some(format!(
            "your Action had no JSON object; write it as {ACTION_SHAPE}"
        ));
        return out;
    };
    let mut de =
        serde_json::Deserializer::from_str(&rest[start..]).into_iter::<serde_json::Value>();
    match de.next() {
        Some(Ok(v)) => match v.get("tool").and_then(|t| t.as_str()) {
            Some(tool) if !tool.trim().is_empty() => {
                out.action = Some(ToolCall {
                    id: format!("action_{}", crate::envelope::MessageId::next()),
                    tool: tool.trim().to_string(),
                    action: v
                        .get("action")
                        .and_then(|a| a.as_str())
                        .filter(|a| !a.is_empty())
                        .map(str::to_string),
                    inputs: v
                        .get("inputs")
                        .or_else(|| v.get("args"))
                        .cloned()
                        .unwrap_or(serde_json::Value::Null),
                });
            }
            _ => {
                out.malformed = Some(format!(
                    "your Action JSON has no \"tool\" name; write it as {ACTION_SHAPE}"
                ))
            }
        },
        Some(Err(e)) => {
            out.malformed = Some(format!(
                "your Action is not valid JSON ({e}); write it as {ACTION_SHAPE}"
            ))
        }
        None => {
            out.malformed = Some(format!(
                "your Action had no JSON object; write it as {ACTION_SHAPE}"
            ))
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
        let p = parse_reply("Thought: look it up\nAction: {\"tool\": \"search\", \"action\": \"get\", \"inputs\": {\"q\": 1}, \"output\": \"r\"}");
        let a = p.action.unwrap();
        assert_eq!(a.tool, "search");
        assert_eq!(a.action.as_deref(), Some("get"));
        assert_eq!(a.inputs["q"], 1);
        assert_eq!(p.thought, "look it up");
    }

    #[test]
    fn plain_text_is_neither() {
        let p = parse_reply("hello");
        assert_eq!(p, ParsedReply::default());
    }

    #[test]
    fn malformed_actions_say_what_is_wrong() {
        let bad_json = parse_reply("Thought: x\nAction: {\"tool\": \"search\", inputs}");
        assert!(bad_json.malformed.unwrap().contains("not valid JSON"));
        let no_tool = parse_reply("Action: {\"inputs\": {}}");
        assert!(no_tool.malformed.unwrap().contains("no \"tool\""));
        let no_obj = parse_reply("Action: search for it");
        assert!(no_obj.malformed.unwrap().contains("no JSON object"));
    }

    #[test]
    fn an_action_before_a_final_answer_wins() {
        let p = parse_reply("Action: {\"tool\": \"t\"}\nObservation: made up\nFinal Answer: no");
        assert_eq!(p.action.unwrap().tool, "t");
        assert_eq!(p.final_answer, None);
    }
}
