//! Reads a `POST /v1/chat/completions` body into what the runtime needs: the model (a component
//! name), the text of the last `user` message, `stream`, `stream_options.include_usage` and
//! `user`. Fields OpenAI defines that change nothing here (`temperature`, `max_tokens`, `tools`,
//! …) are accepted and ignored, so any SDK's requests pass; a field that would change the answer's
//! shape and cannot be honoured (`n` other than 1) is refused. Every refusal names the field.

use super::errors::OpenAiError;
use crate::server::input_body::MAX_SESSION_ID_LEN;
use serde::Deserialize;
use serde_json::Value;

/// What a request asks for, checked.
#[derive(Debug, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    /// The last `user` message's text (text parts joined by newlines).
    pub input: String,
    pub stream: bool,
    pub include_usage: bool,
    /// The session named by `user`, if any.
    pub user: Option<String>,
}

/// The fields read; the rest are skipped unparsed. `null` reads as absent, as OpenAI treats it.
#[derive(Deserialize)]
#[serde(expecting = "a JSON object like {\"model\": \"<component>\", \"messages\": [...]}")]
struct Raw {
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    messages: Option<Value>,
    #[serde(default)]
    stream: Option<Value>,
    #[serde(default)]
    stream_options: Option<Value>,
    #[serde(default)]
    user: Option<Value>,
    #[serde(default)]
    n: Option<Value>,
}

const HELP: &str = r#"send {"model": "<input, agent or llm component>", "messages": [{"role": "user", "content": "hello"}]}"#;

/// Parses and checks a body.
pub fn parse(body: &[u8]) -> Result<ChatRequest, OpenAiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(OpenAiError::invalid(
            "body",
            "empty_body",
            format!("the request body is empty: {HELP}"),
        ));
    }
    // serde would read a struct from an array too; a body must be an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(OpenAiError::invalid(
            "body",
            "malformed_body",
            format!("the request body must be a JSON object: {HELP}"),
        ));
    }
    let raw: Raw = serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        OpenAiError::invalid(
            "body",
            "malformed_body",
            format!(
                "malformed JSON body at line {} column {}: {msg}; {HELP}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let model = match raw.model {
        Some(Value::String(m)) if !m.is_empty() => m,
        Some(Value::String(_)) | None => {
            return Err(OpenAiError::invalid(
                "model",
                "missing_model",
                "`model` is missing or empty: name an input, agent or llm component \
                 (GET /v1/models lists them)",
            ))
        }
        Some(other) => return Err(wrong_type("model", "a string", &other)),
    };
    let stream = match raw.stream {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(other) => return Err(wrong_type("stream", "true or false", &other)),
    };
    let include_usage = match raw.stream_options {
        None => false,
        Some(Value::Object(o)) => match o.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(wrong_type(
                    "stream_options.include_usage",
                    "true or false",
                    other,
                ))
            }
        },
        Some(other) => return Err(wrong_type("stream_options", "an object", &other)),
    };
    match raw.n {
        None => {}
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(_) => {
            return Err(OpenAiError::invalid(
                "n",
                "unsupported_n",
                "`n` must be 1 (or left out): a pipeline run gives one answer",
            ))
        }
    }
    let user = match raw.user {
        None => None,
        Some(Value::String(u)) => Some(check_user(u)?),
        Some(other) => return Err(wrong_type("user", "a string", &other)),
    };
    let messages = match raw.messages {
        Some(Value::Array(m)) => m,
        Some(other) => return Err(wrong_type("messages", "an array of messages", &other)),
        None => {
            return Err(OpenAiError::invalid(
                "messages",
                "missing_messages",
                format!("`messages` is missing: {HELP}"),
            ))
        }
    };
    let input = last_user_text(&messages)?;
    Ok(ChatRequest {
        model,
        input,
        stream,
        include_usage,
        user,
    })
}

/// The text of the last message whose role is `user`; every message is checked to have a role.
fn last_user_text(messages: &[Value]) -> Result<String, OpenAiError> {
    let mut last = None;
    for (i, m) in messages.iter().enumerate() {
        let role = match m.get("role") {
            Some(Value::String(r)) => r.as_str(),
            Some(other) => {
                return Err(wrong_type(
                    &format!("messages[{i}].role"),
                    "a string",
                    other,
                ))
            }
            None if m.is_object() => {
                return Err(OpenAiError::invalid(
                    &format!("messages[{i}].role"),
                    "missing_role",
                    format!(
                        "messages[{i}] has no `role`: use \"user\", \"assistant\" or \"system\""
                    ),
                ))
            }
            None => return Err(wrong_type(&format!("messages[{i}]"), "an object", m)),
        };
        if role == "user" {
            last = Some(i);
        }
    }
    let Some(i) = last else {
        return Err(OpenAiError::invalid(
            "messages",
            "missing_user_message",
            "`messages` has no message with role \"user\": the pipeline runs on the last user \
             message, so send at least one",
        ));
    };
    let param = format!("messages[{i}].content");
    let text = match messages[i].get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => join_text_parts(parts, &param)?,
        Some(other) => {
            return Err(wrong_type(
                &param,
                "a string or an array of text parts",
                other,
            ))
        }
        None => {
            return Err(OpenAiError::invalid(
                &param,
                "missing_content",
                format!("{param} is missing: give the user message's text"),
            ))
        }
    };
    if text.trim().is_empty() {
        return Err(OpenAiError::invalid(
            &param,
            "empty_content",
            format!("{param} is empty: the last user message must have some text"),
        ));
    }
    Ok(text)
}

/// `[{"type": "text", "text": "…"}, …]` → the texts joined by newlines. Other part types (images,
/// audio, files) are refused: the pipeline takes text, and dropping them silently would answer a
/// question the user did not ask.
fn join_text_parts(parts: &[Value], param: &str) -> Result<String, OpenAiError> {
    let mut out = String::new();
    for (j, part) in parts.iter().enumerate() {
        let at = format!("{param}[{j}]");
        match (part.get("type"), part.get("text")) {
            (Some(Value::String(t)), Some(Value::String(text))) if t == "text" => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
            (Some(Value::String(t)), _) if t == "text" => {
                return Err(OpenAiError::invalid(
                    &format!("{at}.text"),
                    "invalid_content_part",
                    format!("{at} is a text part without a string `text`"),
                ))
            }
            (Some(Value::String(t)), _) => {
                return Err(OpenAiError::invalid(
                    &at,
                    "unsupported_content_part",
                    format!(
                        "{at} is a `{}` part: only text parts are supported",
                        crate::server::error::printable(t)
                    ),
                ))
            }
            _ => {
                return Err(OpenAiError::invalid(
                    &at,
                    "invalid_content_part",
                    format!("{at} must be an object like {{\"type\": \"text\", \"text\": \"…\"}}"),
                ))
            }
        }
    }
    Ok(out)
}

/// `user` names the session, so it must be a session id (1–128 of `A-Z a-z 0-9 - _ . :`).
fn check_user(u: String) -> Result<String, OpenAiError> {
    match crate::server::input_body::check_session_id(&u, "`user`") {
        Ok(()) => Ok(u),
        Err(e) => Err(OpenAiError {
            param: Some("user".into()),
            api: {
                let mut api = e;
                api.message = format!(
                    "`user` names the session and must be 1-{MAX_SESSION_ID_LEN} characters of \
                     letters, digits, '-', '_', '.', ':' (a UUID works); leave it out for a new \
                     session per request"
                );
                api
            },
        }),
    }
}

fn wrong_type(param: &str, want: &str, got: &Value) -> OpenAiError {
    let got = woodwork_tools::shown::json_kind(got);
    OpenAiError::invalid(
        param,
        "invalid_type",
        format!("`{param}` must be {want}, not {got}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> (String, String, String) {
        let e = parse(body.as_bytes()).unwrap_err();
        assert_eq!(e.api.status, 400, "{body}");
        (
            e.param.unwrap_or_default(),
            e.api.code.to_string(),
            e.api.message,
        )
    }

    #[test]
    fn reads_the_last_user_message_and_options() {
        let r = parse(
            br#"{"model":"bot","temperature":0.2,"messages":[{"role":"system","content":"be brief"},
            {"role":"user","content":"first"},{"role":"assistant","content":"ok"},
            {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
            "stream":true,"stream_options":{"include_usage":true},"user":"u-1","n":1}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            ChatRequest {
                model: "bot".into(),
                input: "a\nb".into(),
                stream: true,
                include_usage: true,
                user: Some("u-1".into()),
            }
        );
    }

    #[test]
    fn each_refusal_names_its_field() {
        assert_eq!(err("{").0, "body");
        assert_eq!(err("[]").1, "malformed_body");
        assert_eq!(err(r#"{"messages":[]}"#).0, "model");
        assert_eq!(err(r#"{"model":"m"}"#).0, "messages");
        let (p, c, _) = err(r#"{"model":"m","messages":[{"role":"system","content":"x"}]}"#);
        assert_eq!(
            (p.as_str(), c.as_str()),
            ("messages", "missing_user_message")
        );
        let (p, _, m) =
            err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#);
        assert_eq!(p, "stream");
        assert!(m.contains("not a string"), "{m}");
        assert_eq!(
            err(r#"{"model":"m","messages":[{"role":"user","content":"  "}]}"#).1,
            "empty_content"
        );
        assert_eq!(
            err(r#"{"model":"m","messages":[{"role":"user","content":5}]}"#).0,
            "messages[0].content"
        );
        assert_eq!(
            err(r#"{"model":"m","messages":[{"content":"x"}]}"#).0,
            "messages[0].role"
        );
        assert_eq!(err(r#"{"model":"m","messages":["x"]}"#).0, "messages[0]");
        assert_eq!(
            err(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}"#).1,
            "unsupported_content_part"
        );
        assert_eq!(
            err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}"#).0,
            "n"
        );
        assert_eq!(
            err(r#"{"model":"m","messages":[{"role":"user","content":"x"}],"user":"a b"}"#).0,
            "user"
        );
        assert_eq!(
            err(r#"{"model":5,"messages":[{"role":"user","content":"x"}]}"#).0,
            "model"
        );
    }
}
