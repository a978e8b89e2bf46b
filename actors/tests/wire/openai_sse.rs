//! OpenAI Chat Completions stream events, byte for byte as the API sends them, for scripting the
//! loopback server: text deltas, streamed tool calls, the closing `[DONE]`.

/// A JSON string literal.
pub fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// One `chat.completion.chunk` event, fields in OpenAI's order.
pub fn chunk(delta: &str, finish: Option<&str>) -> String {
    let finish = finish.map(q).unwrap_or_else(|| "null".into());
    format!(
        "data: {{\"id\":\"chatcmpl-AZ9\",\"object\":\"chat.completion.chunk\",\"created\":1718345013,\"model\":\"gpt-test\",\"system_fingerprint\":\"fp_9cb5d38cf7\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n"
    )
}

/// A streamed text answer: role, one delta per token, `stop`, `[DONE]`.
pub fn text_stream(tokens: &[&str]) -> Vec<String> {
    let mut parts = text_stream_open(tokens);
    parts.push(chunk("{}", Some("stop")));
    parts.push("data: [DONE]\n\n".into());
    parts
}

/// The first part of a streamed text answer (no `stop`, no `[DONE]`): for held streams.
pub fn text_stream_open(tokens: &[&str]) -> Vec<String> {
    let mut parts = vec![chunk(
        r#"{"role":"assistant","content":"","refusal":null}"#,
        None,
    )];
    parts.extend(
        tokens
            .iter()
            .map(|t| chunk(&format!("{{\"content\":{}}}", q(t)), None)),
    );
    parts
}

/// A streamed native tool call: `name` with `arguments` (JSON text) split in two deltas.
pub fn tool_call_stream(id: &str, name: &str, arguments: &str) -> Vec<String> {
    let (a, b) = arguments.split_at(arguments.len() / 2);
    vec![
        chunk(
            &format!(
                r#"{{"role":"assistant","content":null,"tool_calls":[{{"index":0,"id":{},"type":"function","function":{{"name":{},"arguments":""}}}}],"refusal":null}}"#,
                q(id),
                q(name)
            ),
            None,
        ),
        chunk(
            &format!(
                r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
                q(a)
            ),
            None,
        ),
        chunk(
            &format!(
                r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
                q(b)
            ),
            None,
        ),
        chunk("{}", Some("tool_calls")),
        "data: [DONE]\n\n".into(),
    ]
}

/// A whole (unstreamed) `chat.completion` body with `message` (a JSON object).
pub fn completion(message: &str, finish: &str) -> String {
    format!(
        "{{\n  \"id\": \"chatcmpl-AZ9\",\n  \"object\": \"chat.completion\",\n  \"created\": 1718345013,\n  \"model\": \"gpt-test\",\n  \"choices\": [\n    {{\n      \"index\": 0,\n      \"message\": {message},\n      \"logprobs\": null,\n      \"finish_reason\": \"{finish}\"\n    }}\n  ],\n  \"usage\": {{\n    \"prompt_tokens\": 19,\n    \"completion_tokens\": 10,\n    \"total_tokens\": 29\n  }},\n  \"system_fingerprint\": \"fp_9cb5d38cf7\"\n}}\n"
    )
}

/// A whole text answer.
pub fn text_completion(text: &str) -> String {
    completion(
        &format!(
            r#"{{"role":"assistant","content":{},"refusal":null}}"#,
            q(text)
        ),
        "stop",
    )
}
