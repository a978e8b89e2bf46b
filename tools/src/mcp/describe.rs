//! What the model reads: the tool list as a description, and a `tools/call` result as an
//! observation.

use crate::observation;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents, Tool};
use serde_json::{Map, Value};

/// Longest tool description kept (docstrings can be pages long).
const MAX_TOOL_DESCRIPTION: usize = 2000;
/// Longest whole description: a server listing hundreds of tools must not fill the prompt.
const MAX_DESCRIPTION: usize = 64 * 1024;

/// One line per tool: `- name: description. Inputs (JSON schema): {...}`.
pub(crate) fn description(tools: &[Tool]) -> String {
    if tools.is_empty() {
        return "This MCP server lists no tools.".to_string();
    }
    let mut out = String::from(
        "MCP tools (action = the tool name; inputs = a JSON object of its arguments):\n",
    );
    for tool in tools {
        let text = tool
            .description
            .as_deref()
            .or(tool.title.as_deref())
            .unwrap_or("")
            .trim();
        let text = observation::clip(text.trim_end_matches('.').to_string(), MAX_TOOL_DESCRIPTION);
        out.push_str(&format!(
            "- {}: {}. Inputs (JSON schema): {}\n",
            tool.name,
            if text.is_empty() {
                "(no description)"
            } else {
                &text
            },
            inputs_schema(&tool.input_schema),
        ));
    }
    observation::clip(out.trim_end().to_string(), MAX_DESCRIPTION)
}

/// The schema's `properties` and `required` (and `$defs` they may refer to), compact, without
/// the per-property `title` that pydantic repeats from the name.
fn inputs_schema(schema: &Map<String, Value>) -> String {
    let mut compact = Map::new();
    let props = match schema.get("properties") {
        Some(Value::Object(props)) => {
            let mut p = props.clone();
            for v in p.values_mut() {
                if let Value::Object(o) = v {
                    o.remove("title");
                }
            }
            Value::Object(p)
        }
        _ => Value::Object(Map::new()),
    };
    compact.insert("properties".into(), props);
    for key in ["required", "$defs"] {
        if let Some(v) = schema.get(key) {
            compact.insert(key.into(), v.clone());
        }
    }
    Value::Object(compact).to_string()
}

/// The result's text items joined, with a short note for each non-text item; `Err` holds the
/// text of a result marked `isError`.
pub(crate) fn observation(result: CallToolResult) -> Result<String, String> {
    let mut parts: Vec<String> = Vec::with_capacity(result.content.len());
    for item in result.content {
        parts.push(match item {
            ContentBlock::Text(t) => t.text,
            ContentBlock::Image(i) => format!("[image: {}]", i.mime_type),
            ContentBlock::Audio(a) => format!("[audio: {}]", a.mime_type),
            ContentBlock::Resource(r) => match r.resource {
                ResourceContents::TextResourceContents { uri, text, .. } => {
                    format!("[resource: {uri}]\n{text}")
                }
                ResourceContents::BlobResourceContents { uri, .. } => format!("[resource: {uri}]"),
                _ => "[resource]".to_string(),
            },
            ContentBlock::ResourceLink(r) => format!("[resource: {}]", r.uri),
            _ => "[content of a kind this client does not show]".to_string(),
        });
    }
    let mut text = parts.join("\n");
    if text.is_empty() {
        text = match result.structured_content {
            Some(v) => observation::from_json(&v),
            None => String::new(),
        };
    }
    let text = observation::clip(text, observation::MAX_OBSERVATION);
    if result.is_error == Some(true) {
        Err(if text.is_empty() {
            "the tool reported an error without a message".to_string()
        } else {
            text
        })
    } else if text.is_empty() {
        Ok("(the tool returned no content)".to_string())
    } else {
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(v: Value) -> Tool {
        serde_json::from_value(v).expect("test tool")
    }

    #[test]
    fn each_tool_is_a_line_with_its_inputs() {
        let d = description(&[
            tool(json!({"name": "add", "description": "Add two numbers.",
                "inputSchema": {"type": "object", "title": "addArguments",
                    "properties": {"a": {"title": "A", "type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"]}})),
            tool(json!({"name": "noop", "inputSchema": {"type": "object"}})),
        ]);
        assert!(d.contains(r#"- add: Add two numbers. Inputs (JSON schema): {"properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}"#), "{d}");
        assert!(
            d.contains(r#"- noop: (no description). Inputs (JSON schema): {"properties":{}}"#),
            "{d}"
        );
    }

    #[test]
    fn results_join_text_and_note_other_items() {
        let r: CallToolResult = serde_json::from_value(json!({"content": [
            {"type": "text", "text": "one"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "resource_link", "uri": "file:///x", "name": "x"},
            {"type": "text", "text": "two"}]}))
        .expect("result");
        assert_eq!(
            observation(r).unwrap(),
            "one\n[image: image/png]\n[resource: file:///x]\ntwo"
        );
        let e: CallToolResult = serde_json::from_value(json!({"content": [
            {"type": "text", "text": "bad input"}], "isError": true}))
        .expect("result");
        assert_eq!(observation(e).unwrap_err(), "bad input");
        let s: CallToolResult =
            serde_json::from_value(json!({"content": [], "structuredContent": {"n": 1}}))
                .expect("result");
        assert_eq!(observation(s).unwrap(), r#"{"n":1}"#);
    }
}
